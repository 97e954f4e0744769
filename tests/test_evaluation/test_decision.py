"""Decision rules on predictions (hand-computed cases) and reading
predictions.csv."""
import math
import os.path as osp
import tempfile
import unittest

import numpy as np

from dl4all_mm.evaluation.decision import (decide, read_predictions,
                                           record_decisions, resolve)

SCORES = np.array([[0.3, 0.7], [0.1, 0.9], [0.8, 0.2], [0.45, 0.55]])


class TestRules(unittest.TestCase):

    def test_argmax(self):
        self.assertEqual(decide(SCORES).tolist(), [1, 1, 0, 1])

    def test_prior_hand_computed(self):
        # 4 normal, 20 ALL: prior (1/6, 5/6). Row 0: log(0.3 * 6) = 0.588 >
        # log(0.7 * 6 / 5) = -0.174 -> class 0; row 1: log(0.6) = -0.511 <
        # log(1.08) = 0.077 -> class 1; row 3: log(2.7) > log(0.66) -> 0
        self.assertEqual(decide(SCORES, 'prior', [4, 20]).tolist(),
                         [0, 1, 0, 0])
        # balanced priors change nothing
        self.assertEqual(decide(SCORES, 'prior', [7, 7]).tolist(),
                         decide(SCORES).tolist())
        # three classes: argmax of p / prior
        three = np.array([[0.5, 0.3, 0.2]])
        self.assertEqual(decide(three, 'prior', [10, 5, 1]).tolist(), [2])
        for bad in (None, [4], [0, 20]):
            with self.assertRaisesRegex(ValueError, 'train_counts'):
                decide(SCORES, 'prior', bad)

    def test_cv_threshold(self):
        # class 1 when p(class 1) >= t
        self.assertEqual(decide(SCORES, 'cv', threshold=0.55).tolist(),
                         [1, 1, 0, 1])
        self.assertEqual(decide(SCORES, 'cv', threshold=0.8).tolist(),
                         [0, 1, 0, 0])
        with self.assertRaisesRegex(ValueError, 'cv_threshold=None'):
            decide(SCORES, 'cv')
        with self.assertRaisesRegex(ValueError, 'binary'):
            decide(np.ones((2, 3)) / 3, 'cv', threshold=0.5)
        with self.assertRaisesRegex(ValueError, "unknown decision rule 'x'"):
            decide(SCORES, 'x')

    def test_errors_name_the_record(self):
        preds = type('P', (), dict(scores=SCORES))
        record = dict(method='lp-ft', seed=3, target_size=24)
        with self.assertRaisesRegex(ValueError, "'lp-ft' seed 3 size 24"):
            record_decisions(record, preds, 'prior')
        self.assertEqual(record_decisions(dict(record, cv_threshold=0.8),
                                          preds, 'cv').tolist(),
                         [0, 1, 0, 0])


class TestReadPredictions(unittest.TestCase):

    def write(self, text):
        path = osp.join(self.tmp.name, 'p.csv')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_reads(self):
        path = self.write('image,label,normal,"ALL, blast"\n'
                          'a/1.jpg,0,0.75,0.25\nb/2.jpg,1,1e-08,1\n')
        p = read_predictions(path)
        self.assertEqual(p.classes, ['normal', 'ALL, blast'])
        self.assertEqual(p.images, ['a/1.jpg', 'b/2.jpg'])
        self.assertEqual(p.labels.tolist(), [0, 1])
        self.assertTrue(math.isclose(p.scores[1, 0], 1e-8))

    def test_bad_files_name_file_and_line(self):
        for text, msg in (('img,label,a,b\n', 'header'),
                          ('image,label,a,b\n', 'no prediction'),
                          ('image,label,a,b\nx,2,0.5,0.5\n', 'line 2.*label'),
                          ('image,label,a,b\nx,1,0.5\n', 'line 2.*cells')):
            with self.assertRaisesRegex(ValueError, msg):
                read_predictions(self.write(text))

    def test_resolve(self):
        self.assertEqual(resolve('/x/p.csv', '/y'), '/x/p.csv')
        self.assertEqual(resolve('runs/a/../b/p.csv', '/y'),
                         '/y/runs/b/p.csv')


if __name__ == '__main__':
    unittest.main()
