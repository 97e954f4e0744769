"""Batches for DL4ALL's reference warm-up: one pass over each domain."""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from torch.utils.data import Sampler


class DomainPassBatchSampler(Sampler):
    """One pass over each domain in turn, in domain-pure batches.

    The reference warm-up (``functions/warmup.py`` of the authors' code)
    iterates the source training loader once, then the target training
    loader once, each with its training batch size and ``drop_last=True``.
    This sampler yields exactly that for an
    :class:`InterleavedDatasetWrapper`: for every domain of ``domains`` in
    order, ``size // (batch_size * world_size)`` batches (one batch, with
    indices repeated, when the domain is smaller than a global batch) of a
    permutation seeded by ``seed``, the epoch and the domain; rank ``r``
    takes the ``r``-th slice of each global batch, so every rank yields the
    same number of batches of the same domain at every step.

    Args:
        ranges (dict): Domain -> ``(start, stop)`` index range in the
            wrapper (``InterleavedDatasetWrapper.domain_ranges``).
        batch_sizes (dict): Per-rank batch size of each domain.
        domains (sequence of str): Domains to pass over, in order.
        seed (int): Seed shared by every rank.
        rank (int): This rank. Defaults to 0.
        world_size (int): Number of ranks. Defaults to 1.
        shuffle (bool): Shuffle each domain. Defaults to True.
        sampler (Sampler, optional): The main loader's sampler, exposed as
            ``sampler`` for mmengine's ``DistSamplerSeedHook``.
    """

    def __init__(self,
                 ranges: Dict[str, Tuple[int, int]],
                 batch_sizes: Dict[str, int],
                 domains: Sequence[str],
                 seed: int,
                 rank: int = 0,
                 world_size: int = 1,
                 shuffle: bool = True,
                 sampler: Optional[Sampler] = None) -> None:
        missing = [d for d in domains if d not in ranges or d not in
                   batch_sizes]
        if missing:
            raise KeyError(f'domains {missing} have no index range or batch '
                           f'size; ranges: {list(ranges)}, batch_sizes: '
                           f'{list(batch_sizes)}')
        self.ranges = dict(ranges)
        self.batch_sizes = {d: int(batch_sizes[d]) for d in domains}
        self.domains = list(domains)
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        # the main loader's sampler: mmengine's DistSamplerSeedHook sets its
        # epoch through ``batch_sampler.sampler`` (nothing else uses it)
        self.sampler = sampler
        self.epoch = 0
        self._skip = 0

    def num_batches(self, domain: str) -> int:
        """Batches of ``domain`` in one pass."""
        start, stop = self.ranges[domain]
        global_batch = self.batch_sizes[domain] * self.world_size
        return max(1, (stop - start) // global_batch)

    def set_epoch(self, epoch: int) -> None:
        """Reseed the permutations for ``epoch``."""
        self.epoch = epoch

    def skip(self, num_batches: int) -> None:
        """Skip the first ``num_batches`` batches of the next iteration."""
        self._skip = num_batches

    def _domain_batches(self, domain_idx: int, domain: str) -> List[List[int]]:
        start, stop = self.ranges[domain]
        size = stop - start
        bs = self.batch_sizes[domain]
        num = self.num_batches(domain)
        rng = np.random.default_rng(
            [self.seed % 2**32, self.epoch, domain_idx, 1])
        perm = rng.permutation(size) if self.shuffle else np.arange(size)
        stream = np.resize(perm, num * bs * self.world_size) + start
        return stream.reshape(num, self.world_size, bs)[:, self.rank].tolist()

    def __iter__(self) -> Iterator[List[int]]:
        order = [
            batch for i, d in enumerate(self.domains)
            for batch in self._domain_batches(i, d)
        ]
        skip, self._skip = self._skip, 0
        return iter(order[skip:])

    def __len__(self) -> int:
        return sum(self.num_batches(d) for d in self.domains)
