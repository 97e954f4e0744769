"""Domain-pure batches on a schedule that every rank follows identically."""
import math
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

SCHEDULES = ('paired', 'alternate', 'ratio')


@DATA_SAMPLERS.register_module()
class DomainBatchSampler(Sampler):
    """Batch sampler that interleaves the domains of an
    :class:`InterleavedDatasetWrapper`.

    Each domain is shuffled on its own (a permutation seeded by ``seed``,
    the epoch and the domain), and a domain that runs out before the epoch
    ends starts a fresh permutation (cycling). Each *round* draws, for every
    domain ``d``, ``ratios[d]`` global batches of ``batch_sizes[d] *
    world_size`` indices; rank ``r`` takes the ``r``-th slice of each, so the
    ranks' indices are disjoint, every rank yields the same number of batches
    and sees the same domain at the same step.

    Schedules (what one yielded batch holds):

    - ``paired``: one batch of every domain, concatenated in domain order
      (the paper: one source and one target batch per iteration; the model
      forwards each domain separately).
    - ``alternate``: one domain per batch, S, T, S, T, ...
    - ``ratio``: one domain per batch, ``ratios[d]`` batches of domain ``d``
      per round (e.g. ``dict(source=3, target=1)``: S, S, S, T, ...).

    Args:
        sampler (Sampler): The sampler mmengine builds from the dataloader's
            ``sampler`` config; only its ``dataset`` (an
            :class:`InterleavedDatasetWrapper`) and ``epoch`` are used.
        batch_size (int): Dataloader batch size; the per-domain batch size
            when ``batch_sizes`` is None, the sum to split when it is
            ``'proportional'``.
        schedule (str): ``'paired'``, ``'alternate'`` or ``'ratio'``.
        batch_sizes (dict | str, optional): Per-rank batch size of each
            domain, or a rule giving them from the domains' lengths ``N_d``
            so that all domains run out together:

            - ``'proportional'``: sizes proportional to ``N_d``, at least 1,
              summing to about ``batch_size``.
            - ``'main_fixed'``: the DL4ALL reference code's rule
              (``util/computeBatchSize.py`` of the ViT Self folder, called
              by the Self and Greedy scripts): the dataset's
              ``main_domain`` (the target) takes ``batch_size``, every
              other domain ``batch_size * N_d / N_main`` rounded up when it
              is the larger set (``ceil``), down (at least 1) when it is the
              smaller one (``floor``), ``batch_size`` when equal.
            - ``'largest_fixed'``: the other copy of that file in the
              reference repository (``1a_PyTorch_CNN_Regular``, whose
              script calls ``uniformBatchSize`` instead): the longest
              domain takes ``batch_size``, every other domain
              ``batch_size * N_d / N_longest``, rounded up for the main
              domain and down (at least 1) for the others; equal lengths
              give ``batch_size`` each.
        ratios (dict, optional): Batches per round of each domain, for
            ``schedule='ratio'``.
        epoch_length (str | int): Rounds per epoch: ``'shortest'`` (until
            the first domain runs out, as the reference code's loop, which
            stops when either loader is exhausted), ``'main'`` (until the
            dataset's ``main_domain``, the target, is exhausted; the other
            domains start a fresh permutation when they run out), a domain
            name, ``'longest'``, or an int.
        shuffle (bool): Shuffle each domain. Defaults to True.
        seed (int, optional): Shared seed; synced from rank 0 if None.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 schedule: str = 'paired',
                 batch_sizes: Union[Dict[str, int], str, None] = None,
                 ratios: Optional[Dict[str, int]] = None,
                 epoch_length: Union[str, int] = 'main',
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        self.sampler = sampler
        self.dataset = getattr(sampler, 'dataset', sampler)
        if not hasattr(self.dataset, 'domain_ranges'):
            raise TypeError(
                'DomainBatchSampler needs an InterleavedDatasetWrapper as '
                f'the dataset, got {type(self.dataset).__name__}')
        if schedule not in SCHEDULES:
            raise ValueError(f'schedule={schedule!r}; expected one of '
                             f'{SCHEDULES}')
        self.schedule = schedule
        self.ranges = self.dataset.domain_ranges
        self.domains: List[str] = list(self.ranges)
        sizes = {d: stop - start for d, (start, stop) in self.ranges.items()}
        main = getattr(self.dataset, 'main_domain', self.domains[-1])
        self.batch_sizes = _resolve_batch_sizes(batch_sizes, batch_size,
                                                sizes, main)
        self.ratios = self._resolve_ratios(ratios)
        self.rank, self.world_size = get_dist_info()
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self._skip = 0
        self.num_rounds = self._resolve_epoch_length(epoch_length, sizes)

    def _resolve_ratios(self, ratios: Optional[Dict[str,
                                                    int]]) -> Dict[str, int]:
        if self.schedule != 'ratio':
            return {d: 1 for d in self.domains}
        if not ratios:
            raise ValueError("schedule='ratio' needs `ratios`, e.g. "
                             'dict(source=3, target=1)')
        _check_domains('ratios', ratios, self.domains)
        if any(int(r) < 1 for r in ratios.values()):
            raise ValueError(f'every ratio must be >= 1, got {ratios}')
        return {d: int(ratios[d]) for d in self.domains}

    def _resolve_epoch_length(self, epoch_length: Union[str, int],
                              sizes: Dict[str, int]) -> int:
        if isinstance(epoch_length, int):
            if epoch_length < 1:
                raise ValueError(f'epoch_length must be >= 1, got '
                                 f'{epoch_length}')
            return epoch_length
        rounds = {
            d: sizes[d] // (self.batch_sizes[d] * self.world_size *
                            self.ratios[d])
            for d in self.domains
        }
        if epoch_length == 'main':
            epoch_length = getattr(self.dataset, 'main_domain',
                                   self.domains[-1])
        if epoch_length == 'shortest':
            num = min(rounds.values())
        elif epoch_length == 'longest':
            num = max(rounds.values())
        elif epoch_length in rounds:
            num = rounds[epoch_length]
        else:
            raise ValueError(
                f'epoch_length={epoch_length!r}; expected an int, "main", '
                f'"shortest", "longest" or a domain of {self.domains}')
        return max(1, num)

    def set_epoch(self, epoch: int) -> None:
        """Reseed the schedule for ``epoch`` (also the wrapped sampler's,
        which mmengine's ``DistSamplerSeedHook`` sets directly)."""
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def skip(self, num_batches: int) -> None:
        """Skip the first ``num_batches`` batches of the next iteration
        (resuming mid-epoch without loading the skipped data)."""
        self._skip = num_batches

    def _domain_stream(self, domain_idx: int, global_batch: int,
                       num_batches: int) -> np.ndarray:
        """Global index stream of one domain for this epoch, cycled.

        Each cycle is a fresh permutation cut to whole global batches, so no
        global batch holds an index twice (the ranks' indices at a step are
        disjoint) unless the domain is smaller than one global batch.
        """
        start, stop = self.ranges[self.domains[domain_idx]]
        size = stop - start
        usable = size - size % global_batch if size >= global_batch \
            else size
        needed = global_batch * num_batches
        cycles = math.ceil(needed / usable)
        rng = np.random.default_rng(
            [self.seed % 2**32, self.epoch, domain_idx])
        perms = [
            rng.permutation(size) if self.shuffle else np.arange(size)
            for _ in range(cycles)
        ]
        stream = np.concatenate([p[:usable] for p in perms])
        return stream[:needed] + start

    def _domain_batches(self) -> Dict[str, List[List[int]]]:
        """This rank's batches of every domain, in draw order."""
        batches = {}
        for i, d in enumerate(self.domains):
            bs, n = self.batch_sizes[d], self.num_rounds * self.ratios[d]
            stream = self._domain_stream(i, bs * self.world_size, n)
            stream = stream.reshape(n, self.world_size, bs)[:, self.rank]
            batches[d] = stream.tolist()
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        epoch = getattr(self.sampler, 'epoch', None)
        if epoch is not None:
            self.epoch = epoch
        per_domain = self._domain_batches()
        order: List[List[int]] = []
        for r in range(self.num_rounds):
            if self.schedule == 'paired':
                order.append(
                    [i for d in self.domains for i in per_domain[d][r]])
                continue
            for d in self.domains:
                k = self.ratios[d]
                order.extend(per_domain[d][r * k:(r + 1) * k])
        skip, self._skip = self._skip, 0
        return iter(order[skip:])

    def __len__(self) -> int:
        per_round = 1 if self.schedule == 'paired' else sum(
            self.ratios.values())
        return self.num_rounds * per_round


def _check_domains(field: str, mapping: dict, domains: Sequence[str]) -> None:
    unknown = sorted(set(mapping) - set(domains))
    missing = sorted(set(domains) - set(mapping))
    if unknown or missing:
        raise KeyError(f'{field} must name exactly the domains {list(domains)}'
                       f'; unknown: {unknown}, missing: {missing}')


BATCH_SIZE_RULES = ('proportional', 'main_fixed', 'largest_fixed')


def _resolve_batch_sizes(batch_sizes: Union[Dict[str, int], str, None],
                         batch_size: int,
                         sizes: Dict[str, int],
                         main: Optional[str] = None) -> Dict[str, int]:
    """Per-domain batch sizes from the config value (``main``: the main
    domain, the target)."""
    if batch_sizes is None:
        return {d: int(batch_size) for d in sizes}
    if batch_sizes == 'main_fixed':
        if main not in sizes:
            raise ValueError(f"batch_sizes='main_fixed': the main domain "
                             f'{main!r} is not one of {list(sizes)}')
        return {d: _main_fixed(batch_size, n, sizes[main])
                for d, n in sizes.items()}
    if batch_sizes == 'largest_fixed':
        longest = max(sizes.values())
        out = {}
        for d, n in sizes.items():
            if n == longest:
                out[d] = int(batch_size)
            elif d == main:
                out[d] = math.ceil(batch_size * n / longest)
            else:
                out[d] = max(1, math.floor(batch_size * n / longest))
        return out
    if batch_sizes == 'proportional':
        total = sum(sizes.values())
        return {
            d: max(1, round(batch_size * n / total))
            for d, n in sizes.items()
        }
    if isinstance(batch_sizes, dict):
        _check_domains('batch_sizes', batch_sizes, list(sizes))
        if any(int(b) < 1 for b in batch_sizes.values()):
            raise ValueError(f'batch sizes must be >= 1, got {batch_sizes}')
        return {d: int(batch_sizes[d]) for d in sizes}
    raise ValueError(f'batch_sizes={batch_sizes!r}; expected None, a dict '
                     f'of domain -> size, or one of {BATCH_SIZE_RULES}')


def _main_fixed(batch_size: int, size: int, main_size: int) -> int:
    """Batch size of a domain of ``size`` images next to the main domain's
    ``main_size`` (which takes ``batch_size``): rounded up when the domain
    is larger, down (at least 1) when it is smaller."""
    if size == main_size:
        return int(batch_size)
    exact = batch_size * size / main_size
    if size > main_size:
        return math.ceil(exact)
    return max(1, math.floor(exact))
