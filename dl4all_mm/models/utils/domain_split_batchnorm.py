"""BatchNorm over consecutive domain blocks of one batch."""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
from torch.nn.modules.batchnorm import _BatchNorm


def _split_bn_forward(self: _BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """The layer's own forward once per domain block, blocks concatenated.

    Calling the class's forward per block keeps every BatchNorm flavour
    (SyncBatchNorm, ``momentum=None``, ``num_batches_tracked``) exactly as
    it behaves with separate domain forwards.
    """
    forward = type(self).forward
    if not self.training or sum(self._domain_sizes) != x.size(0):
        return forward(self, x)
    return torch.cat(
        [forward(self, part) for part in x.split(self._domain_sizes)])


@contextmanager
def domain_split_batchnorm(modules: Sequence[Optional[torch.nn.Module]],
                           sizes: List[int]) -> Iterator[None]:
    """Within the context, the BatchNorm layers of ``modules`` treat the
    batch as consecutive domain blocks of ``sizes`` rows: each block is
    normalised with its own batch statistics and updates the running
    statistics once, in order.

    One forward of the whole batch under this context computes the same as
    one forward per domain (every other layer of a CNN works per sample),
    but launches every op once and computes every weight gradient once.
    """
    bns = [
        m for module in modules if module is not None
        for m in module.modules() if isinstance(m, _BatchNorm)
    ]
    for bn in bns:
        bn._domain_sizes = list(sizes)
        bn.forward = _split_bn_forward.__get__(bn)
    try:
        yield
    finally:
        for bn in bns:
            del bn.forward, bn._domain_sizes
