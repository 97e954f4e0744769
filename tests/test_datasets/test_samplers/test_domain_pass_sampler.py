"""DomainPassBatchSampler: the reference warm-up's batches."""
import pytest

from dl4all_mm.datasets.samplers import DomainPassBatchSampler

# a wrapper with 10 source images (indices 0-9) and 7 target ones (10-16)
RANGES = {'source': (0, 10), 'target': (10, 17)}
SIZES = {'source': 3, 'target': 2}


def sampler(**kwargs):
    args = dict(ranges=RANGES, batch_sizes=SIZES,
                domains=['source', 'target'], seed=5)
    args.update(kwargs)
    return DomainPassBatchSampler(**args)


def domain_of(index):
    return 'source' if index < 10 else 'target'


def test_one_pass_per_domain_in_order_last_partial_dropped():
    batches = list(sampler())
    # floor(10 / 3) = 3 source batches, then floor(7 / 2) = 3 target ones
    assert [len(b) for b in batches] == [3, 3, 3, 2, 2, 2]
    assert [{domain_of(i) for i in b} for b in batches] == \
        [{'source'}] * 3 + [{'target'}] * 3
    for domain, part in (('source', batches[:3]), ('target', batches[3:])):
        flat = [i for b in part for i in b]
        assert len(set(flat)) == len(flat)  # no repeat within a pass
        start, stop = RANGES[domain]
        assert all(start <= i < stop for i in flat)
    assert len(sampler()) == 6


def test_order_follows_domains_argument():
    batches = list(sampler(domains=['target', 'source']))
    assert [domain_of(b[0]) for b in batches] == ['target'] * 3 + \
        ['source'] * 3


def test_seeded_by_seed_and_epoch():
    a, b = sampler(), sampler()
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(sampler(seed=6)) != list(a)
    a.set_epoch(1)
    assert list(a) == list(b)


def test_no_shuffle_is_in_order():
    batches = list(sampler(shuffle=False))
    assert batches[:3] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert batches[3:] == [[10, 11], [12, 13], [14, 15]]


def test_ranks_take_disjoint_slices_of_the_same_global_batches():
    ranks = [list(sampler(rank=r, world_size=2)) for r in range(2)]
    # floor(10 / 6) = 1 source, floor(7 / 4) = 1 target batch per rank
    assert [len(r) for r in ranks] == [2, 2]
    for step in range(2):
        a, b = ranks[0][step], ranks[1][step]
        assert domain_of(a[0]) == domain_of(b[0])
        assert not set(a) & set(b)


def test_domain_smaller_than_a_global_batch_gives_one_batch():
    s = sampler(ranges={'source': (0, 2), 'target': (2, 3)},
                batch_sizes={'source': 3, 'target': 2})
    batches = list(s)
    assert [len(b) for b in batches] == [3, 2]
    assert set(batches[0]) == {0, 1}  # indices repeated to fill it
    assert batches[1] == [2, 2]


def test_skip_applies_to_the_next_iteration_only():
    s = sampler()
    full = list(s)
    s.skip(4)
    assert list(s) == full[4:]
    assert list(s) == full


def test_exposes_the_main_sampler_for_dist_seed_hook():
    main = object()
    assert sampler(sampler=main).sampler is main


def test_missing_domain_named():
    with pytest.raises(KeyError, match=r"\['other'\]"):
        sampler(domains=['source', 'other'])
