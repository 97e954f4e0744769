"""The one group-allocation rule (:func:`split_groups`): the learning
curve's committed split is pinned; ``make_folds`` allocates with it."""
import hashlib
import json
import os.path as osp
import unittest

import numpy as np

from dl4all_mm.datasets.group_split import group_ids, split_groups
from dl4all_mm.datasets.splits import make_folds

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARIA = osp.join(osp.dirname(ROOT), 'shared', 'data', 'all_aria')
if not osp.isdir(ARIA):
    ARIA = '/work/shared/data/all_aria'
# sha256 of the split's relative file names (json, sorted keys)
LEARNING_CURVE_SPLIT = ('590b4d5df05e5d4623b61f002cafeedf'
                        'd239310c4fc9d7de18df96ebf304d4a5')


class TestSplitGroups(unittest.TestCase):

    @unittest.skipUnless(osp.isdir(ARIA), 'needs ../shared/data/all_aria')
    def test_learning_curve_split_is_pinned(self):
        """The split of docs/results.md's learning curve (60/20/20, seed 0:
        1,439 / 480 / 480 images, 2,369 groups): the same files."""
        from dl4all_mm.evaluation.transfer.image_set import (
            apply_class_map, parse_class_map, read_image_set)
        aria = read_image_set(ARIA, None, '--target')
        aria = apply_class_map(aria, parse_class_map(
            'Benign=normal;Early,Pre,Pro=ALL'), '--target')
        groups = group_ids(aria.paths)
        parts = split_groups(aria.indices(), groups, (0.6, 0.2, 0.2), 0)
        self.assertEqual({k: len(v) for k, v in parts.items()},
                         dict(train=1439, val=480, test=480))
        self.assertEqual(len(set(groups)), 2369)
        files = {k: [osp.relpath(aria.paths[i], ARIA) for i in v]
                 for k, v in parts.items()}
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode())
        self.assertEqual(digest.hexdigest(), LEARNING_CURVE_SPLIT)

    def test_at_least_one_group_per_class(self):
        # class 1: two groups of 10 and a 5% share: the half-fits rule takes
        # none, the guarantee takes one (and keeps one for the first split)
        labels = [0] * 40 + [1] * 20
        groups = list(range(40)) + [100] * 10 + [101] * 10
        parts = split_groups(labels, groups, (0.95, 0.05), 0, ('a', 'b'))
        self.assertEqual({labels[i] for i in parts['b']}, {0, 1})
        self.assertEqual({labels[i] for i in parts['a']}, {0, 1})
        parts = split_groups(labels, groups, (1.0, 0.0), 0, ('a', 'b'))
        self.assertEqual(parts['b'], [])

    def test_make_folds_allocates_with_split_groups(self):
        labels = np.repeat([0, 1], [40, 60])
        groups = (np.arange(100) // 4).astype(str)
        folds = make_folds(labels, groups, 'holdout', 2, val_ratio=0.2,
                           seed=5, test_ratio=0.3)
        for k, fold in enumerate(folds):
            test = split_groups(labels.tolist(), groups.tolist(),
                                (0.7, 0.3), 5 + k, ('rest', 'held'))['held']
            self.assertEqual(fold['test'].tolist(), test)
            rest = np.setdiff1d(np.arange(100), fold['test'])
            val = split_groups(labels[rest].tolist(), groups[rest].tolist(),
                               (0.8, 0.2), 1005 + k, ('train', 'val'))['val']
            self.assertEqual(fold['val'].tolist(), rest[val].tolist())
            self.assertEqual(sorted(np.concatenate(list(fold.values()))),
                             list(range(100)))
