from unittest import TestCase
from unittest.mock import patch

from mmengine.dataset import DefaultSampler

import dl4all_mm  # noqa: F401
from dl4all_mm.datasets import DomainBatchSampler

MODULE = 'dl4all_mm.datasets.samplers.domain_batch_sampler'


class FakeWrapper:
    """Stands in for InterleavedDatasetWrapper: only the index layout."""

    def __init__(self, sizes, main_domain=None):
        self.sizes = sizes
        self.main_domain = main_domain or list(sizes)[-1]
        start, self.domain_ranges = 0, {}
        for name, size in sizes.items():
            self.domain_ranges[name] = (start, start + size)
            start += size

    def __len__(self):
        return sum(self.sizes.values())

    def domain_of(self, idx):
        for name, (start, stop) in self.domain_ranges.items():
            if start <= idx < stop:
                return name


def build(sizes, rank=0, world_size=1, batch_size=2, main_domain=None,
          **kwargs):
    dataset = FakeWrapper(sizes, main_domain)
    with patch(f'{MODULE}.get_dist_info', return_value=(rank, world_size)):
        sampler = DefaultSampler(dataset, shuffle=False)
        return DomainBatchSampler(sampler, batch_size, seed=7, **kwargs)


def domains(dataset, batch):
    return [dataset.domain_of(i) for i in batch]


class TestDomainBatchSampler(TestCase):

    def test_paired_batches(self):
        sampler = build(dict(source=20, target=6), batch_size=2)
        batches = list(sampler)
        self.assertEqual(len(batches), len(sampler))
        self.assertEqual(len(batches), 3)  # until the target is exhausted
        for batch in batches:
            self.assertEqual(
                domains(sampler.dataset, batch),
                ['source', 'source', 'target', 'target'])
        targets = [i for b in batches for i in b[2:]]
        self.assertEqual(sorted(targets), list(range(20, 26)))

    def test_alternate_and_ratio(self):
        sampler = build(dict(source=20, target=8), schedule='alternate')
        seq = [domains(sampler.dataset, b)[0] for b in sampler]
        self.assertEqual(seq, ['source', 'target'] * 4)
        sampler = build(
            dict(source=12, target=8),
            schedule='ratio',
            ratios=dict(source=3, target=1),
            epoch_length='shortest')
        seq = [domains(sampler.dataset, b)[0] for b in sampler]
        self.assertEqual(seq, (['source'] * 3 + ['target']) * 2)
        self.assertEqual(len(sampler), 8)

    def test_epoch_length_policies(self):
        sizes = dict(source=20, target=6)
        self.assertEqual(len(build(sizes, epoch_length='shortest')), 3)
        self.assertEqual(len(build(sizes, epoch_length='longest')), 10)
        self.assertEqual(len(build(sizes, epoch_length='source')), 10)
        self.assertEqual(len(build(sizes, epoch_length=4)), 4)
        with self.assertRaisesRegex(ValueError, 'epoch_length'):
            build(sizes, epoch_length='nope')

    def test_longest_cycles_the_short_domain(self):
        sampler = build(dict(source=20, target=6), epoch_length='longest')
        targets = [i for b in sampler for i in b[2:]]
        self.assertEqual(len(targets), 20)
        # Each cycle is a full permutation of the target domain.
        self.assertEqual(sorted(targets[:6]), list(range(20, 26)))
        self.assertEqual(sorted(targets[6:12]), list(range(20, 26)))

    def test_batch_sizes(self):
        sampler = build(
            dict(source=30, target=10),
            batch_sizes=dict(source=3, target=1))
        batch = next(iter(sampler))
        self.assertEqual(
            domains(sampler.dataset, batch), ['source'] * 3 + ['target'])
        sampler = build(
            dict(source=30, target=10), batch_size=8,
            batch_sizes='proportional')
        self.assertEqual(sampler.batch_sizes, dict(source=6, target=2))
        # Proportional sizes run out together.
        self.assertEqual(len(build(dict(source=30, target=10), batch_size=8,
                                   batch_sizes='proportional',
                                   epoch_length='shortest')),
                         len(build(dict(source=30, target=10), batch_size=8,
                                   batch_sizes='proportional',
                                   epoch_length='longest')))
        with self.assertRaisesRegex(KeyError, 'missing'):
            build(dict(source=30, target=10), batch_sizes=dict(source=3))

    def test_main_fixed_batch_sizes(self):
        # target (main) keeps 8; source ceil(8 * 1000 / 300) = ceil(26.67)
        sampler = build(dict(source=1000, target=300), batch_size=8,
                        batch_sizes='main_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=27, target=8))
        batch = next(iter(sampler))
        self.assertEqual(
            domains(sampler.dataset, batch), ['source'] * 27 + ['target'] * 8)
        # an exact multiple is not rounded up; the source then runs out
        # with the target (epoch 'main' = 'longest' = 'shortest')
        sampler = build(dict(source=96, target=32), batch_size=8,
                        batch_sizes='main_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=24, target=8))
        self.assertEqual(len(sampler), 4)
        self.assertEqual(
            len(build(dict(source=96, target=32), batch_size=8,
                      batch_sizes='main_fixed', epoch_length='shortest')), 4)
        # a smaller other domain gets a smaller batch, at least 1
        sampler = build(dict(source=5, target=300), batch_size=8,
                        batch_sizes='main_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=1, target=8))
        # the dataset's main_domain decides, not the domain order; the
        # smaller set is rounded down (8 * 300 / 1000 = 2.4)
        sampler = build(dict(source=1000, target=300), batch_size=8,
                        batch_sizes='main_fixed', main_domain='source')
        self.assertEqual(sampler.batch_sizes, dict(source=8, target=2))

    def test_reference_adp_cnmc_epoch(self):
        """The reference's ADP / C-NMC training sizes (9894 / 7463): its
        computeBatchSize gives 8 C-NMC + ceil(8 * 9894 / 7463) = 11 ADP
        images, and its loop stops when either loader runs out: ADP's
        9894 // 11 = 899 batches, before C-NMC's 7463 // 8 = 932."""
        sizes = dict(source=9894, target=7463)
        sampler = build(sizes, batch_size=8, batch_sizes='main_fixed',
                        epoch_length='shortest')
        self.assertEqual(sampler.batch_sizes, dict(source=11, target=8))
        self.assertEqual(len(sampler), 899)
        batches = list(sampler)
        self.assertEqual(len(batches), 899)
        for batch in batches[:3] + batches[-3:]:
            self.assertEqual(domains(sampler.dataset, batch),
                             ['source'] * 11 + ['target'] * 8)
        # within the epoch no image is drawn twice (no cycling)
        flat = [i for b in batches for i in b]
        self.assertEqual(len(flat), len(set(flat)))
        # 'main' runs the target's 932 rounds, cycling the source
        self.assertEqual(len(build(sizes, batch_size=8,
                                   batch_sizes='main_fixed',
                                   epoch_length='main')), 932)

    def test_reference_source_smaller(self):
        """Source the smaller set: floor(8 * 7463 / 9894) = floor(6.03) = 6
        source images; the target (9894 // 8 = 1236 batches) runs out
        before the source (7463 // 6 = 1243)."""
        sizes = dict(source=7463, target=9894)
        sampler = build(sizes, batch_size=8, batch_sizes='main_fixed',
                        epoch_length='shortest')
        self.assertEqual(sampler.batch_sizes, dict(source=6, target=8))
        self.assertEqual(len(sampler), 1236)
        # 8 * 70 / 100 = 5.6 -> 5 (floor), 8 * 130 / 100 = 10.4 -> 11 (ceil)
        self.assertEqual(build(dict(source=70, target=100), batch_size=8,
                               batch_sizes='main_fixed').batch_sizes,
                         dict(source=5, target=8))
        self.assertEqual(build(dict(source=130, target=100), batch_size=8,
                               batch_sizes='main_fixed').batch_sizes,
                         dict(source=11, target=8))

    def test_largest_fixed_batch_sizes(self):
        # the reference's computeBatchSize: the longer set keeps 8, the
        # shorter one gets 8 * N / N_longest, rounded up for the target
        sampler = build(dict(source=9894, target=7463), batch_size=8,
                        batch_sizes='largest_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=8, target=7))
        # ... and down for the source (8 * 7463 / 9894 = 6.03)
        sampler = build(dict(source=7463, target=9894), batch_size=8,
                        batch_sizes='largest_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=6, target=8))
        sampler = build(dict(source=50, target=50), batch_size=8,
                        batch_sizes='largest_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=8, target=8))
        sampler = build(dict(source=10, target=1000), batch_size=8,
                        batch_sizes='largest_fixed')
        self.assertEqual(sampler.batch_sizes, dict(source=1, target=8))
        with self.assertRaisesRegex(ValueError, 'main_fixed'):
            build(dict(source=10, target=10), batch_sizes='fixed')

    def test_ranks_identical_schedule_disjoint_indices(self):
        sizes = dict(source=23, target=9)
        for world_size in (2, 3):
            per_rank = [
                list(build(sizes, rank=r, world_size=world_size,
                           schedule='alternate', epoch_length='longest'))
                for r in range(world_size)
            ]
            lengths = {len(b) for b in per_rank}
            self.assertEqual(len(lengths), 1)
            for step in zip(*per_rank):
                seqs = {tuple(domains(FakeWrapper(sizes), b)) for b in step}
                self.assertEqual(len(seqs), 1)  # same domain on every rank
                flat = [i for b in step for i in b]
                self.assertEqual(len(flat), len(set(flat)))  # disjoint

    def test_domain_smaller_than_world_size(self):
        sizes = dict(source=10, target=1)
        per_rank = [
            list(build(sizes, rank=r, world_size=3, batch_size=1,
                       epoch_length='source'))
            for r in range(3)
        ]
        self.assertEqual({len(b) for b in per_rank}, {3})

    def test_epoch_reseeding(self):
        sampler = build(dict(source=40, target=40), shuffle=True)
        first = list(sampler)
        self.assertEqual(first, list(sampler))  # same epoch, same order
        sampler.set_epoch(1)
        self.assertNotEqual(first, list(sampler))
        # The sampler's epoch (set by DistSamplerSeedHook) wins.
        sampler.sampler.set_epoch(0)
        self.assertEqual(first, list(sampler))

    def test_skip_for_mid_epoch_resume(self):
        sampler = build(dict(source=40, target=40), shuffle=True)
        full = list(sampler)
        sampler.skip(3)
        self.assertEqual(list(sampler), full[3:])
        self.assertEqual(list(sampler), full)  # skip applies once

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, 'schedule'):
            build(dict(source=4, target=4), schedule='zigzag')
        with self.assertRaisesRegex(ValueError, 'ratios'):
            build(dict(source=4, target=4), schedule='ratio')
        with self.assertRaisesRegex(TypeError, 'InterleavedDatasetWrapper'):
            DomainBatchSampler(DefaultSampler([1, 2], shuffle=False), 2)
