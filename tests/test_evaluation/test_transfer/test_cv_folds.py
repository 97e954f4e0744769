"""In-budget cross-validation folds and the ``--decision cv`` threshold,
on hand-computed cases."""
import os.path as osp
import tempfile
import unittest

from dl4all_mm.evaluation.transfer.cv_folds import (check_fold_files,
                                                    in_budget_folds,
                                                    read_ann,
                                                    write_fold_files)
from dl4all_mm.evaluation.decision import balanced_accuracy, decide
from dl4all_mm.evaluation.transfer.cv_threshold import cv_threshold
from dl4all_mm.evaluation.transfer.image_set import InputError

CLASSES = ['normal', 'ALL']


class TestFolds(unittest.TestCase):

    def check_partition(self, labels, k):
        folds = in_budget_folds(labels, 24, CLASSES, seed=3)
        self.assertEqual(len(folds), k)
        held_all = sorted(i for _, held in folds for i in held)
        self.assertEqual(held_all, list(range(len(labels))))
        for train, held in folds:
            self.assertEqual(sorted(train + held), list(range(len(labels))))
            self.assertFalse(set(train) & set(held))
            for c in (0, 1):  # stratified: floor or ceil of the share
                share = labels.count(c) / k
                got = sum(labels[i] == c for i in held)
                self.assertIn(got, (int(share), -int(-share // 1)))
        return folds

    def test_k_rule_and_stratification(self):
        self.check_partition([0] * 5 + [1] * 19, 4)  # min(4, 5)
        self.check_partition([1] * 10 + [0] * 3, 3)  # min(4, 3)
        self.check_partition([0, 1, 1, 0, 1, 1], 2)  # smallest class 2

    def test_deterministic_from_the_seed(self):
        labels = [0] * 8 + [1] * 16
        self.assertEqual(in_budget_folds(labels, 24, CLASSES, 1),
                         in_budget_folds(labels, 24, CLASSES, 1))
        self.assertNotEqual(in_budget_folds(labels, 24, CLASSES, 1),
                            in_budget_folds(labels, 24, CLASSES, 2))

    def test_a_class_with_one_image_is_named(self):
        with self.assertRaisesRegex(InputError,
                                    "target size 48: class 'normal' has 1"):
            in_budget_folds([0] + [1] * 47, 48, CLASSES, 0)
        with self.assertRaisesRegex(InputError, "class 'ALL' has 0"):
            in_budget_folds([0] * 4, 4, CLASSES, 0)

    def test_groups_stay_in_one_fold(self):
        labels = [0] * 6 + [1] * 12
        groups = [i // 2 for i in range(18)]  # 3 normal, 6 ALL pairs
        folds = in_budget_folds(labels, 18, CLASSES, 0, groups)
        self.assertEqual(len(folds), 3)  # min(4, 3 normal groups)
        for _, held in folds:
            self.assertEqual(len(held), 6)  # 1 normal and 2 ALL pairs
            self.assertEqual(sum(labels[i] == 0 for i in held), 2)
            for i in held:
                self.assertIn(i ^ 1, held)  # its pair too
        self.assertEqual(in_budget_folds(labels, 18, CLASSES, 5),
                         in_budget_folds(labels, 18, CLASSES, 5,
                                         list(range(18))))
        with self.assertRaisesRegex(InputError, "class 'normal' has 1 "
                                    'group'):
            in_budget_folds(labels, 18, CLASSES, 0, [0] * 6 + list(
                range(1, 13)))

    def test_fold_files_refuse_val_and_test_images(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = [f'/img/t{i} x.png' for i in range(8)]  # a space
            labels = [0, 0, 0, 1, 1, 1, 1, 1]
            files = write_fold_files(paths, labels, in_budget_folds(
                labels, 8, CLASSES, 0), osp.join(tmp, 'folds'))
            self.assertEqual(len(files), 3)
            held = sorted(r for _, h in files for r in read_ann(h))
            self.assertEqual(held, sorted(zip(paths, labels)))
            val = osp.join(tmp, 'val.txt')
            with open(val, 'w') as f:
                f.write('/img/v0.png 0\n')
            check_fold_files(files, paths, [val])  # clean: no error
            with open(val, 'a') as f:
                f.write(f'{paths[5]} 1\n')  # a training image also in val
            with self.assertRaisesRegex(ValueError, 'in ' + val):
                check_fold_files(files, paths, [val])
            with self.assertRaisesRegex(ValueError, 'not one of'):
                check_fold_files(files, paths[:-1], [])


class TestThreshold(unittest.TestCase):

    def test_hand_computed_cases(self):
        # cuts 0.05 .225 .375 .6 .9 -> BA .5 .75 .5 .75 .5: the best cut
        # nearest 0.5 is 0.6
        t, ba = cv_threshold([0, 0, 1, 1], [[.9, .1], [.6, .4], [.65, .35],
                                            [.2, .8]])
        self.assertAlmostEqual(t, 0.6)
        self.assertAlmostEqual(ba, 0.75)
        # argmax calls every image ALL (BA .5); the midpoint of .8 and .9
        # separates the classes
        t, ba = cv_threshold([0, 0, 0, 1, 1], [[1 - p, p] for p in (
            .7, .75, .8, .9, .95)])
        self.assertAlmostEqual(t, 0.85)
        self.assertEqual(ba, 1.0)
        # cuts .4 and .6 tie on BA and on distance to .5: the smaller
        t, ba = cv_threshold([0, 0, 1, 1], [[1 - p, p] for p in (
            .3, .5, .5, .7)])
        self.assertAlmostEqual(t, 0.4)
        self.assertAlmostEqual(ba, 0.75)
        # one rule on both sides: decide('cv') is p1 >= t
        self.assertEqual(decide([[.2, .8], [.6, .4], [.5, .5]], 'cv',
                                threshold=0.5).tolist(), [1, 0, 1])
        self.assertEqual(balanced_accuracy([0, 0, 1], [0, 1, 1], 2), 0.75)

    def test_bad_inputs(self):
        with self.assertRaisesRegex(InputError, 'has 3 classes'):
            cv_threshold([0, 1, 2, 0], [[.2, .3, .5]] * 4)
        with self.assertRaisesRegex(InputError, 'class 0 has 1 image'):
            cv_threshold([0, 1, 1, 1], [[.5, .5]] * 4)
        with self.assertRaisesRegex(InputError, r'outside \[0, 1\]'):
            cv_threshold([0, 0, 1, 1], [[.5, 1.5]] * 4)
