"""Which images the reference code draws, written from its rules (not from
the plugin's sampler).

The reference (AngeloUNIMI/DL4ALL, read, never copied) builds one
``DataLoader(shuffle=True, drop_last=True)`` per dataset and:

- sizes the batches with ``util/computeBatchSize.py`` (Self, Greedy: the
  target keeps the base size, the source ``base * N_s / N_t`` rounded up
  when the source is the larger set, down when it is the smaller) or
  ``util/uniformBatchSize.py`` (Regular: the base size for both);
- trains until *either* loader runs out (``functions/train_model_val.py``:
  ``next()`` on both iterators, ``break`` on the first ``StopIteration``);
- warms up with one pass over the source loader, then one over the
  target's (``functions/warmup.py``);
- before each validation forwards the target training loader's first
  batches (``functions/pretrainBN.py``: batch numbers -1..100, i.e. up to
  101 batches, fewer if the loader ends first).

Only the shuffling is taken from the plugin: a ``DataLoader``'s order
cannot be reproduced without its random state, so :class:`Shuffles` holds
the permutations each shuffled pass draws, from the plugin's documented
seeding (``DomainBatchSampler``: ``numpy.random.default_rng([seed, epoch,
domain index])``; ``DomainPassBatchSampler``: ``[..., 1]``;
``DomainBNRecalibHook``: ``torch.randperm`` seeded with ``seed + epoch``).
"""
import math
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

Batches = List[List[int]]


def compute_batch_size(n_source: int, n_target: int,
                       base: int) -> Tuple[int, int]:
    """Self/Greedy batch sizes ``(source, target)`` from the set sizes."""
    if n_source > n_target:
        return math.ceil(base * n_source / n_target), base
    if n_source < n_target:
        return math.floor(base * n_source / n_target), base
    return base, base


def uniform_batch_size(base: int) -> Tuple[int, int]:
    """Regular: the same size for both sets."""
    return base, base


def drop_last_batches(order: Sequence[int], batch_size: int) -> Batches:
    """A ``DataLoader(drop_last=True)`` over ``order``."""
    full = len(order) // batch_size
    return [
        list(order[k * batch_size:(k + 1) * batch_size]) for k in range(full)
    ]


def paired_epoch(source: Batches,
                 target: Batches) -> List[Tuple[List[int], List[int]]]:
    """Both loaders advanced together until either runs out."""
    pairs = []
    source_it, target_it = iter(source), iter(target)
    while True:
        try:
            s = next(source_it)
            t = next(target_it)
        except StopIteration:
            break
        pairs.append((s, t))
    return pairs


def bn_batches(order: Sequence[int], batch_size: int,
               num_batches: int) -> Batches:
    """pretrainBN: the first ``num_batches`` batches of a fresh pass over
    the target training loader, stopping early at its end."""
    return drop_last_batches(order, batch_size)[:num_batches]


class Shuffles:
    """The permutations of the plugin's shuffled passes (see the module
    docstring); indices are local to each domain."""

    def __init__(self, sizes: Dict[str, int], seed: int,
                 bn_seed: int) -> None:
        self.sizes = sizes
        self.domains = list(sizes)
        self.seed = seed
        self.bn_seed = bn_seed

    def main(self, domain: str, epoch: int) -> List[int]:
        rng = np.random.default_rng(
            [self.seed % 2**32, epoch, self.domains.index(domain)])
        return rng.permutation(self.sizes[domain]).tolist()

    def warmup(self, domain: str, epoch: int) -> List[int]:
        rng = np.random.default_rng(
            [self.seed % 2**32, epoch, self.domains.index(domain), 1])
        return rng.permutation(self.sizes[domain]).tolist()

    def bn(self, domain: str, epoch: int) -> List[int]:
        generator = torch.Generator().manual_seed(self.bn_seed + epoch)
        return torch.randperm(self.sizes[domain],
                              generator=generator).tolist()
