"""BatchNorm over consecutive domain blocks of one batch."""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
from torch.nn.modules.batchnorm import _BatchNorm


def _split_bn_forward(self: _BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """The layer's own forward once per domain block, blocks concatenated
    (``domain_sizes`` None: the plain forward)."""
    forward = self._plain_bn_class.forward
    sizes = self.domain_sizes
    if sizes is None or not self.training:
        return forward(self, x)
    if sum(sizes) != x.size(0):
        raise ValueError(
            f'domain_split_batchnorm: the domain blocks {list(sizes)} add up '
            f'to {sum(sizes)} rows, but this {type(self).__name__} gets an '
            f'input of {x.size(0)} rows (shape {tuple(x.shape)}); normalising '
            'it in one piece would mix the domains. Use '
            'split_batchnorm=False for a model whose BatchNorm inputs are '
            'not laid out as (batch, ...)')
    return torch.cat([forward(self, part) for part in x.split(sizes)])


_SPLIT_CLASSES = {}


def _split_class(cls: type) -> type:
    """``cls`` with the split forward (one subclass per BN class), kept in
    this module's namespace so that a pickled model finds it again."""
    if cls not in _SPLIT_CLASSES:
        name = f'DomainSplit{cls.__name__}'
        split = type(name, (cls, ), {
            'forward': _split_bn_forward,
            '_plain_bn_class': cls,
            '__module__': __name__,
        })
        _SPLIT_CLASSES[cls] = globals()[name] = split
    return _SPLIT_CLASSES[cls]


for _cls in (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d,
             torch.nn.BatchNorm3d, torch.nn.SyncBatchNorm):
    _split_class(_cls)


@contextmanager
def domain_split_batchnorm(modules: Sequence[Optional[torch.nn.Module]],
                           sizes: List[int]) -> Iterator[None]:
    """Within the context, the BatchNorm layers of ``modules`` treat the
    batch as consecutive domain blocks of ``sizes`` rows: each block is
    normalised with its own batch statistics and updates the running
    statistics once, in order. One forward of the whole batch then computes
    the same as one forward per domain (every other layer of a CNN works per
    sample) but launches every op once and computes every weight gradient
    once.

    The layers get a subclass with a split-aware forward the first time
    (kept afterwards: same parameters, buffers and state_dict keys; deep
    copies keep working), and the context only sets and resets their
    ``domain_sizes`` attribute, which torch.compile can trace (deleting an
    instance ``forward`` inside a compiled ``train_step`` cannot). A layer
    whose input does not have ``sum(sizes)`` rows raises ``ValueError``
    instead of normalising the domains together.
    """
    bns = [
        m for module in modules if module is not None
        for m in module.modules() if isinstance(m, _BatchNorm)
    ]
    for bn in bns:
        if not hasattr(bn, '_plain_bn_class'):
            bn.__class__ = _split_class(type(bn))
        bn.domain_sizes = list(sizes)
    try:
        yield
    finally:
        for bn in bns:
            bn.domain_sizes = None
