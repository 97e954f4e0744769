"""``make_splits.py --protocol adp-reference``: the reference code's ADP
splits (``dl4all_mm/datasets/adp_reference_splits.py``) on generated
ADP trees."""
import contextlib
import io
import os
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

import numpy as np

from dl4all_mm.datasets import ADPDataset
from dl4all_mm.datasets.adp_reference_splits import (proba_mass_folds,
                                                     ratio_split,
                                                     reference_fold_split)
from tests.fixtures.field_datasets import make_adp_tree
from tests.test_tools.test_make_splits import load_tool

make_splits = load_tool('tools/dataset_converters/make_splits.py')
SLIDES = [f'{i:03d}' for i in range(1, 8)]


class TestReferenceFolds(TestCase):

    def test_hand_worked(self):
        # share = (.5, .5); rows 0, 1 seed folds 0, 1; row 2 ([1, 0]) goes
        # where class 0 is short (fold 1); row 3 ([0, 1]) to fold 0; row 4
        # ([1, 1]) ties (both folds at the global share) -> first fold
        labels = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]])
        self.assertEqual(proba_mass_folds(labels, 2), [[0, 3, 4], [1, 2]])

    def test_fold_9_test_8_val(self):
        rng = np.random.default_rng(0)
        labels = (rng.random((200, 9)) < 0.3).astype(int)
        labels[:, 0] = 1  # no empty row
        folds = proba_mass_folds(labels, 10)
        parts = reference_fold_split(labels, 10)
        self.assertEqual(parts['test'], sorted(folds[9]))
        self.assertEqual(parts['val'], sorted(folds[8]))
        self.assertEqual(sorted(parts['train'] + parts['val'] +
                                parts['test']), list(range(200)))
        self.assertEqual(len(parts['train']),
                         sum(len(f) for f in folds[:8]))
        # row k seeds fold k; the rule balances the folds' label shares,
        # not their sizes (a fold seeded by a one-class row may stay tiny)
        self.assertEqual([f[0] for f in folds], list(range(10)))
        share = labels.sum(0) / labels.sum()
        for fold in folds:
            if len(fold) >= 10:
                fold_share = labels[fold].sum(0) / labels[fold].sum()
                self.assertLess(np.abs(fold_share - share).max(), 0.05)
        self.assertLess(min(map(len, folds)), 5)

    def test_self_ratio_split_matches_splitfolders(self):
        """The library the reference called, on a folder per slide."""
        import splitfolders
        tmp = tempfile.mkdtemp()
        try:
            names = {}
            for s, n in zip(SLIDES, (1, 3, 7, 10, 11, 23, 40)):
                os.makedirs(osp.join(tmp, 'in', s))
                names[s] = [f'{s}.png_crop_{k}.png' for k in range(n)]
                for name in names[s]:
                    open(osp.join(tmp, 'in', s, name), 'w').close()
            with contextlib.redirect_stderr(io.StringIO()):
                splitfolders.ratio(osp.join(tmp, 'in'),
                                   output=osp.join(tmp, 'out'), seed=42,
                                   ratio=(.7, .2, .1))
            got = ratio_split(names, seed=42)
            for split in ('train', 'val', 'test'):
                want = sorted(
                    f for s in SLIDES
                    for f in os.listdir(osp.join(tmp, 'out', split, s)))
                self.assertEqual(got[split], want, split)
            self.assertEqual(len(got['train']), 0 + 2 + 4 + 7 + 7 + 16 + 28)
        finally:
            shutil.rmtree(tmp)


class TestMakeSplitsAdpReference(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        make_adp_tree(self.tmp, slides=SLIDES, crops=range(1, 6))
        self.out = osp.join(self.tmp, 'splits', 'reference')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_tool(self, level):
        with contextlib.redirect_stdout(io.StringIO()):
            return make_splits.main([
                '--dataset', 'adp', '--data-root', self.tmp, '--out-dir',
                self.out, '--protocol', 'adp-reference', '--adp-level', level
            ])

    def lines(self, split):
        with open(osp.join(self.out, f'{split}.txt')) as f:
            return [line.rsplit(' ', 1)[0] for line in f.read().splitlines()]

    def test_level_folds(self):
        summary = self.run_tool('3')
        self.assertEqual(summary['num_images'], 35)
        parts = {s: self.lines(s) for s in ('train', 'val', 'test')}
        full = ADPDataset(data_root=self.tmp, level=3)
        onehot = np.zeros((len(full), len(full.metainfo['classes'])))
        for i in range(len(full)):
            onehot[i, full.get_data_info(i)['gt_label']] = 1
        want = reference_fold_split(onehot)
        rels = [osp.relpath(full.get_data_info(i)['img_path'], self.tmp)
                for i in range(len(full))]
        for split in parts:
            self.assertEqual(parts[split], [rels[i] for i in want[split]])
        # the configs read the training part back through ADPDataset
        train = ADPDataset(data_root=self.tmp, level=3,
                           ann_file='splits/reference/train.txt')
        self.assertEqual(len(train), len(parts['train']))
        self.assertEqual(len(parts['train']) + len(parts['val']) +
                         len(parts['test']), 35)

    def test_self_split(self):
        summary = self.run_tool('self')
        # 5 images a slide: int(3.5) = 3 train, int(1.0) = 1 val, 1 test
        self.assertEqual((summary['train'], summary['val'], summary['test']),
                         (21, 7, 7))
        train = ADPDataset(data_root=self.tmp, level='self',
                           ann_file='splits/reference/train.txt')
        self.assertEqual(len(train), 21)
        self.assertEqual(len(train.metainfo['classes']), 7)

    def test_only_for_adp(self):
        with self.assertRaises(SystemExit), \
                contextlib.redirect_stderr(io.StringIO()):
            make_splits.main(['--dataset', 'cnmc', '--data-root', self.tmp,
                              '--out-dir', self.out, '--protocol',
                              'adp-reference'])
