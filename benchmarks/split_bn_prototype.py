"""Prototype (benchmarks only) of a faster domain-pure forward.

``DomainImageClassifier.loss`` forwards every domain of a batch through the
backbone on its own, so that BatchNorm sees one domain at a time. Two
half-size forwards cost more than one full-size forward: every weight
gradient is computed (and accumulated) once per domain, and every op is
launched once per domain. This prototype runs ONE forward over the whole
batch while each BatchNorm layer normalises each domain's rows with that
domain's own batch statistics and updates its running statistics once per
domain in the same order, i.e. the same computation as separate forwards
(up to float rounding). ``python benchmarks/split_bn_prototype.py`` checks
the equivalence; ``overhead.py --modes ...,dl4all_splitbn`` measures it.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List

import torch
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm


def _split_bn_forward(self: _BatchNorm, x: torch.Tensor) -> torch.Tensor:
    if not self.training or sum(self._domain_sizes) != x.size(0):
        return type(self).forward(self, x)
    momentum = 0.0 if self.momentum is None else self.momentum
    outs = []
    for part in x.split(self._domain_sizes):
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        outs.append(
            F.batch_norm(part, self.running_mean, self.running_var,
                         self.weight, self.bias, True, momentum, self.eps))
    return torch.cat(outs)


@contextmanager
def domain_split_batchnorm(model: torch.nn.Module,
                           sizes: List[int]) -> Iterator[None]:
    """Within the context, BatchNorm layers of ``model`` treat the batch as
    consecutive domain blocks of ``sizes`` rows."""
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    for bn in bns:
        bn._domain_sizes = list(sizes)
        bn.forward = _split_bn_forward.__get__(bn)
    try:
        yield
    finally:
        for bn in bns:
            del bn.forward, bn._domain_sizes


def split_bn_loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
    """Drop-in ``DomainImageClassifier.loss`` using one forward."""
    groups = self.domain_groups(data_samples)
    order = [i for idx in groups.values() for i in idx]
    if not self.domain_pure_forward or order != list(range(len(order))):
        return type(self).loss(self, inputs, data_samples)
    sizes: Dict[str, int] = {d: len(idx) for d, idx in groups.items()}
    with domain_split_batchnorm(self.backbone, list(sizes.values())):
        feats = self.extract_feat(inputs)
    return self.head.loss(feats, data_samples, domain_batch_sizes=sizes)


def patch_classifier() -> None:
    """Make every ``DomainImageClassifier`` use :func:`split_bn_loss`."""
    from dl4all_mm.models.classifiers import DomainImageClassifier
    DomainImageClassifier.loss = split_bn_loss


def _check() -> None:
    """Same losses, gradients and BN statistics as separate forwards."""
    from mmpretrain.structures import DataSample

    import dl4all_mm  # noqa: F401
    from dl4all_mm.datasets import to_domain_sample
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    cfg = dict(
        type='DomainImageClassifier',
        backbone=dict(
            type='ResNet',
            depth=18,
            base_channels=8,
            stem_channels=8,
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='DomainMultiTaskHead',
            grad_rescale=True,
            task_heads=dict(
                source=dict(
                    type='LinearClsHead', num_classes=3, in_channels=64),
                target=dict(
                    type='LinearClsHead', num_classes=2, in_channels=64))))
    # Two builds, not copy.deepcopy: a deep copy of mmpretrain's
    # MultiTaskHead keeps calling the original sub-heads' ``loss``.
    ref, new = MODELS.build(cfg), MODELS.build(cfg)
    new.load_state_dict(ref.state_dict())
    x = torch.randn(10, 3, 32, 32)
    samples = [
        to_domain_sample(DataSample().set_gt_label(i % 2),
                         'source' if i < 6 else 'target') for i in range(10)
    ]
    ref_losses = ref.loss(x, samples)
    new_losses = split_bn_loss(new, x, samples)
    for key in ref_losses:
        torch.testing.assert_close(new_losses[key], ref_losses[key])
    sum(v for k, v in ref_losses.items() if 'loss' in k).backward()
    sum(v for k, v in new_losses.items() if 'loss' in k).backward()
    worst = 0.0
    for (name, a), b in zip(ref.named_parameters(), new.parameters()):
        rel = float((b.grad - a.grad).norm() / a.grad.norm().clamp_min(1e-12))
        worst = max(worst, rel)
        assert rel < 1e-4, f'{name}: relative gradient difference {rel:.2e}'
    for (name, a), b in zip(ref.named_buffers(), new.buffers()):
        torch.testing.assert_close(b, a, msg=name)
    print('split-BN forward == separate domain forwards: losses, BN buffers '
          f'and gradients match (worst relative gradient difference '
          f'{worst:.1e})')


if __name__ == '__main__':
    _check()
