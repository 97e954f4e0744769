"""Image classifier that forwards each domain of a batch separately."""
from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample, MultiTaskDataSample

from ..utils import domain_split_batchnorm


#: Values of ``DomainImageClassifier(tensor_output=...)``.
TENSOR_OUTPUTS = ('eval', 'all', 'feats')


@MODELS.register_module()
class DomainImageClassifier(ImageClassifier):
    """``ImageClassifier`` for DL4ALL's multi-domain training.

    Training batches hold domain-tagged samples (see
    :class:`InterleavedDatasetWrapper`). With ``domain_pure_forward`` (the
    default, as in DL4ALL) BatchNorm only ever sees one domain at a time:
    when the domains come in consecutive blocks (the paired schedule), one
    forward runs with every BatchNorm layer normalising each block on its
    own (:func:`domain_split_batchnorm`, the same computation as separate
    forwards, about 10 % faster at 96 px); otherwise, or with
    ``split_batchnorm=False``, the backbone runs once per domain. The head
    (a :class:`DomainMultiTaskHead`) adds the weighted per-domain losses.
    With ``domain_pure_forward=False`` the batch goes through in one piece,
    as in stock mixed-batch multi-task training.

    Prediction on plain (untagged) samples uses the ``eval_domain`` head and
    returns ordinary :class:`DataSample` objects, so mmpretrain's datasets,
    metrics, ``tools/test.py`` and inferencers work unchanged on the target.

    ``mode='tensor'`` returns the ``eval_domain`` head's logits, one tensor
    as from a plain ``ImageClassifier``, so tools that expect one (e.g.
    mmpretrain's ``vis_cam.py``, ``get_flops.py``, ONNX export) work. With
    ``tensor_output='all'`` it returns ``{domain: logits}`` of every head,
    and with ``'feats'`` the backbone/neck features.

    Args:
        eval_domain (str, optional): Head used to predict untagged samples.
            Defaults to the head's last domain (the target).
        domain_pure_forward (bool): BatchNorm sees one domain at a time.
        split_batchnorm (bool): Achieve that with one forward and
            per-domain BatchNorm blocks when possible. Defaults to True.
        tensor_output (str): What ``mode='tensor'`` returns: ``'eval'``
            (the ``eval_domain`` head's logits, default), ``'all'`` (a
            ``{domain: logits}`` dict of every head) or ``'feats'`` (the
            ``extract_feat`` output).
        **kwargs: ``ImageClassifier`` arguments (``backbone``, ``neck``,
            ``head``, ``data_preprocessor``, ...).
    """

    def __init__(self,
                 *args,
                 eval_domain: Optional[str] = None,
                 domain_pure_forward: bool = True,
                 split_batchnorm: bool = True,
                 tensor_output: str = 'eval',
                 **kwargs) -> None:
        if tensor_output not in TENSOR_OUTPUTS:
            raise ValueError(f'DomainImageClassifier: tensor_output='
                             f'{tensor_output!r}; expected one of '
                             f'{TENSOR_OUTPUTS}')
        super().__init__(*args, **kwargs)
        if not hasattr(self.head, 'task_heads'):
            raise TypeError('DomainImageClassifier needs a multi-task head '
                            '(e.g. DomainMultiTaskHead), got '
                            f'{type(self.head).__name__}')
        self.domains: List[str] = list(self.head.task_heads)
        self.eval_domain = eval_domain or self.domains[-1]
        if self.eval_domain not in self.domains:
            raise KeyError(f'eval_domain {self.eval_domain!r} is not one of '
                           f'the heads {self.domains}')
        self.domain_pure_forward = domain_pure_forward
        self.split_batchnorm = split_batchnorm
        self.tensor_output = tensor_output

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """``ImageClassifier.forward``; ``mode='tensor'`` returns what
        ``tensor_output`` selects (by default one tensor: the
        ``eval_domain`` head's logits)."""
        if mode != 'tensor':
            return super().forward(inputs, data_samples, mode)
        feats = self.extract_feat(inputs)
        if self.tensor_output == 'feats':
            return feats
        if self.tensor_output == 'all':
            return self.head(feats)
        return self.head.task_heads[self.eval_domain](feats)

    def domain_groups(self, data_samples: List[MultiTaskDataSample]
                      ) -> Dict[str, List[int]]:
        """Sample indices of each domain present, in head order."""
        groups: Dict[str, List[int]] = {}
        for i, sample in enumerate(data_samples):
            domain = sample.metainfo.get('domain')
            if domain is None:
                tasks = list(sample.tasks)
                domain = tasks[0] if len(tasks) == 1 else None
            if domain not in self.domains:
                raise KeyError(
                    f'Sample {sample.metainfo.get("img_path", i)!r} has '
                    f'domain {domain!r}, which has no head; heads: '
                    f'{self.domains}')
            groups.setdefault(domain, []).append(i)
        return {d: groups[d] for d in self.domains if d in groups}

    def loss(self, inputs: torch.Tensor,
             data_samples: List[MultiTaskDataSample]) -> dict:
        """Weighted per-domain losses, each domain forwarded on its own."""
        if not self.domain_pure_forward:
            return self.head.loss(self.extract_feat(inputs), data_samples)
        groups = self.domain_groups(data_samples)
        sizes = {d: len(idx) for d, idx in groups.items()}
        order = [i for idx in groups.values() for i in idx]
        if self.split_batchnorm and order == list(range(len(order))):
            modules = [self.backbone, getattr(self, 'neck', None)]
            with domain_split_batchnorm(modules, list(sizes.values())):
                feats = self.extract_feat(inputs)
            return self.head.loss(feats, data_samples,
                                  domain_batch_sizes=sizes)
        losses: Dict[str, torch.Tensor] = {}
        for idx in groups.values():
            x, samples = _select(inputs, data_samples, idx)
            feats = self.extract_feat(x)
            part = self.head.loss(feats, samples, domain_batch_sizes=sizes)
            for key, value in part.items():
                losses[key] = losses[key] + value if key in losses else value
        return losses

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List] = None,
                **kwargs) -> List:
        """Predict with every head for domain-tagged samples, else with the
        ``eval_domain`` head (returning plain :class:`DataSample`)."""
        feats = self.extract_feat(inputs)
        if data_samples and isinstance(data_samples[0], MultiTaskDataSample):
            return self.head.predict(feats, data_samples, **kwargs)
        head = self.head.task_heads[self.eval_domain]
        return head.predict(feats, data_samples, **kwargs)


def _select(inputs: torch.Tensor, data_samples: List[DataSample],
            idx: List[int]) -> Tuple[torch.Tensor, List[DataSample]]:
    """Rows ``idx`` of a batch; a view when they are contiguous."""
    if len(idx) == len(data_samples):
        return inputs, data_samples
    start, stop = idx[0], idx[-1] + 1
    if stop - start == len(idx):
        return inputs[start:stop], data_samples[start:stop]
    index = torch.as_tensor(idx, device=inputs.device)
    return inputs[index], [data_samples[i] for i in idx]
