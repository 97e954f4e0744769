"""DL4ALL Regular/Self: all domains of a batch, one optimizer step."""
from typing import Dict, Optional

import torch

from dl4all_mm.registry import TRAIN_STEPS
from .base_step import BaseTrainStep


@TRAIN_STEPS.register_module()
class JointStep(BaseTrainStep):
    """Every domain of the batch is forwarded (domain-pure BatchNorm, see
    :class:`DomainImageClassifier`), the head sums the weighted losses, one
    optimizer step: the model's own ``train_step``, as in mmengine.

    During a ``FrozenBackboneWarmup`` epoch the same forward and loss run,
    with the frozen modules left out of the step.

    Args:
        refresh_bn (str, optional): A domain whose part of the batch, after
            the forward and before the backward pass, is forwarded once more
            without gradients in train mode: BatchNorm running statistics
            take one more momentum update with that part's batch
            statistics; the loss and the gradients do not change. This is
            the authors' per-iteration refresh with the target batch
            (``pretrainBN_singleBatch`` between the source and the target
            forward, ``1a``/``1b`` ``train_model_val``, run under CUDA).
            Defaults to None (ours: no refresh; the momentum re-estimation
            before each validation overwrites running statistics anyway).
    """

    def __init__(self, refresh_bn: Optional[str] = None) -> None:
        super().__init__()
        self.refresh_bn_domain = refresh_bn

    def bind(self, runner) -> None:
        """Check that ``refresh_bn`` names a head."""
        super().bind(runner)
        domains = list(self.module.domains)
        if self.refresh_bn_domain is not None and \
                self.refresh_bn_domain not in domains:
            raise KeyError(f'JointStep: refresh_bn={self.refresh_bn_domain!r}'
                           f' is not one of the model heads {domains}')

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        if self.frozen is None and self.refresh_bn_domain is None:
            return self.model.train_step(
                data_batch, optim_wrapper=self.optim_wrapper)
        data = self.preprocess(data_batch)
        loss, log_vars = self.forward(data)
        part = self._part(data, self.refresh_bn_domain)
        if part is not None:
            self.refresh_bn(part)
        self.update(loss)
        return log_vars

    def _part(self, data: dict, domain: Optional[str]) -> Optional[dict]:
        """``domain``'s rows of a preprocessed batch (None if absent)."""
        if domain is None:
            return None
        idx = self.module.domain_groups(data['data_samples']).get(domain)
        if idx is None:
            return None
        return self._select(data, idx)
