"""One classification head per domain, with DL4ALL's loss weighting."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmpretrain.models.heads import MultiTaskHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import MultiTaskDataSample


class _GradScale:
    """Tensor hook multiplying a head parameter's gradient by its domain's
    current scale (a picklable callable, so deep copies keep working)."""

    def __init__(self, scales: Dict[str, float], domain: str) -> None:
        self.scales = scales
        self.domain = domain

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        scale = self.scales.get(self.domain, 1.0)
        return grad if scale == 1.0 else grad * scale


@MODELS.register_module()
class DomainMultiTaskHead(MultiTaskHead):
    """``MultiTaskHead`` with one sub-head per domain, as DL4ALL uses.

    Extends mmpretrain's ``MultiTaskHead`` (each domain's loss is averaged
    over the samples labelled for that domain) with:

    - ``loss_weights``: the loss of domain ``d`` is multiplied by
      ``loss_weights[d]`` (the paper: 0.5 source, 0.5 target).
    - ``grad_rescale``: the gradient of domain ``d``'s head parameters is
      multiplied by ``sum_k B_k / B_d``, the step's total batch size over the
      domain's batch size (the reference code's head-gradient rescaling).
    - A domain absent from a batch still touches its head with a zero-valued
      term, so every parameter gets a gradient and DDP works without
      ``find_unused_parameters=True``.

    Args:
        task_heads (dict): Domain name -> head config (any mmpretrain head:
            ``LinearClsHead``, ``MultiLabelLinearClsHead``, ...).
        loss_weights (dict, optional): Domain -> weight. Defaults to
            ``1 / number of domains`` each.
        grad_rescale (bool): Rescale head gradients. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
        **kwargs: Arguments shared by every sub-head.
    """

    def __init__(self,
                 task_heads: dict,
                 loss_weights: Optional[Dict[str, float]] = None,
                 grad_rescale: bool = False,
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(task_heads, init_cfg=init_cfg, **kwargs)
        self.domains: List[str] = list(self.task_heads)
        if loss_weights is None:
            loss_weights = {d: 1.0 / len(self.domains) for d in self.domains}
        unknown = sorted(set(loss_weights) - set(self.domains))
        if unknown:
            raise KeyError(f'loss_weights name unknown domains {unknown}; '
                           f'the heads are {self.domains}')
        self.loss_weights = {
            d: float(loss_weights.get(d, 1.0))
            for d in self.domains
        }
        self.grad_rescale = grad_rescale
        self.grad_scales: Dict[str, float] = {d: 1.0 for d in self.domains}
        if grad_rescale:
            for d, head in self.task_heads.items():
                for param in head.parameters():
                    param.register_hook(_GradScale(self.grad_scales, d))

    def set_domain_batch_sizes(self, sizes: Dict[str, int]) -> None:
        """Set the gradient scales from the step's per-domain batch sizes."""
        total = sum(sizes.values())
        for d in self.domains:
            size = sizes.get(d, 0)
            self.grad_scales[d] = total / size if size else 1.0

    @staticmethod
    def count_domains(data_samples: Sequence[MultiTaskDataSample]
                      ) -> Dict[str, int]:
        """Number of samples labelled for each task in a batch."""
        counts: Dict[str, int] = {}
        for sample in data_samples:
            for task in sample.tasks:
                counts[task] = counts.get(task, 0) + 1
        return counts

    def loss(self,
             feats: Tuple[torch.Tensor],
             data_samples: List[MultiTaskDataSample],
             domain_batch_sizes: Optional[Dict[str, int]] = None,
             **kwargs) -> dict:
        """Weighted per-domain losses.

        Args:
            feats (tuple[Tensor]): Backbone/neck features.
            data_samples (list[MultiTaskDataSample]): Domain-tagged samples.
            domain_batch_sizes (dict, optional): Per-domain batch sizes of
                the whole step, when the model forwards the domains of one
                step separately; counted from ``data_samples`` otherwise.

        Returns:
            dict: ``{domain}_loss`` (weighted) and ``{domain}_mask_size``.
        """
        counts = self.count_domains(data_samples)
        if self.grad_rescale:
            self.set_domain_batch_sizes(domain_batch_sizes or counts)
        losses = super().loss(feats, data_samples, **kwargs)
        for d, head in self.task_heads.items():
            weight = self.loss_weights[d]
            for key in [k for k in losses if k.startswith(f'{d}_')]:
                if 'loss' in key[len(d) + 1:]:
                    losses[key] = losses[key] * weight
            if not counts.get(d):
                losses[f'{d}_loss'] = losses[f'{d}_loss'] + _zero_touch(head)
        return losses


def _zero_touch(module: torch.nn.Module) -> torch.Tensor:
    """A zero that depends on every trainable parameter of ``module``."""
    terms = [p.view(-1)[0] * 0 for p in module.parameters() if p.requires_grad]
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum()
