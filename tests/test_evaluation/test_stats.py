"""The report's statistics against hand-computed small cases: Holm, the
bootstrap CIs (reproducible from their seed), the weighted metrics of the
resamples, the pairing of runs into draws."""
import unittest

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from dl4all_mm.evaluation.bootstrap import (RunScores, bootstrap_mean_ci,
                                            hierarchical_bootstrap_ci,
                                            run_metric)
from dl4all_mm.evaluation.protocol import holm, paired_units


def run(labels, decided, p1):
    p1 = np.asarray(p1, dtype=float)
    return RunScores(np.asarray(labels), np.asarray(decided),
                     np.c_[1 - p1, p1])


class TestHolm(unittest.TestCase):

    def test_hand_computed(self):
        # sorted 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06),
        # 0.04 (x1 = 0.04 -> kept monotone: 0.06)
        out = holm([0.01, 0.04, 0.03, 0.005])
        for got, want in zip(out, [0.03, 0.06, 0.06, 0.02]):
            self.assertAlmostEqual(got, want)

    def test_untested_and_capped(self):
        out = holm([None, 0.02, 0.5])  # family of 2
        self.assertIsNone(out[0])
        self.assertAlmostEqual(out[1], 0.04)
        self.assertAlmostEqual(out[2], 0.5)
        self.assertEqual(holm([0.6, 0.7]), [1.0, 1.0])
        self.assertEqual(holm([]), [])


class TestWeightedMetrics(unittest.TestCase):
    """One value per weight row, equal to the metric of the resample
    (image i repeated w_i times)."""

    def test_against_sklearn_on_resamples(self):
        rng = np.random.default_rng(0)
        labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
        scores = rng.dirichlet(np.ones(3), size=10)
        scores[4] = scores[1]  # a tie across classes
        r = RunScores(labels, scores.argmax(1), scores)
        binary = run(labels > 0, (scores[:, 0] < 0.4).astype(int),
                     np.round(1 - scores[:, 0], 1))  # ties
        weights = rng.integers(0, 3, size=(4, 10))
        weights[:, [0, 3, 7]] += 1  # every class present
        for row, w in zip(range(4), weights):
            idx = np.repeat(np.arange(10), w)
            self.assertAlmostEqual(
                run_metric(r, 'balanced_accuracy', weights)[row],
                balanced_accuracy_score(labels[idx], r.decided[idx]))
            self.assertAlmostEqual(
                run_metric(binary, 'auc', weights)[row],
                roc_auc_score(binary.labels[idx], binary.scores[idx, 1]))
            ovr = np.mean([roc_auc_score(labels[idx] == k, scores[idx, k])
                           for k in range(3)])
            self.assertAlmostEqual(run_metric(r, 'auc', weights)[row], ovr)
        # one class only: AUC undefined, balanced accuracy its recall
        only = np.zeros((1, 10))
        only[0, :3] = 1
        self.assertTrue(np.isnan(run_metric(binary, 'auc', only)[0]))
        with self.assertRaisesRegex(ValueError, 'macro_f1'):
            run_metric(r, 'macro_f1')


class TestBootstrap(unittest.TestCase):

    def test_units_only_hand_computed(self):
        # values 0 and 1: resample means 0, 0.5, 1 with probability 1/4,
        # 1/2, 1/4, so the 2.5 and 97.5 percentiles are 0 and 1
        ci = bootstrap_mean_ci([0.0, 1.0], n_boot=4000, seed=1)
        self.assertEqual((ci['mean'], ci['low'], ci['high']), (0.5, 0, 1))
        ci = bootstrap_mean_ci([0.2, 0.2, 0.2])
        self.assertAlmostEqual(ci['low'], 0.2)
        self.assertAlmostEqual(ci['high'], 0.2)
        one = bootstrap_mean_ci([0.3, None])
        self.assertEqual((one['mean'], one['low'], one['n_units']),
                         (0.3, None, 1))

    def test_images_within_a_draw(self):
        # one draw, two images of class 1: a gets image 0 right, b none.
        # a's balanced accuracy on a resample = the share of image 0:
        # 0, 1/2, 1 with probability 1/4, 1/2, 1/4
        a = run([1, 1], [1, 0], [0.9, 0.2])
        b = run([1, 1], [0, 0], [0.1, 0.2])
        ci = hierarchical_bootstrap_ci([([a], [b])], 'balanced_accuracy',
                                       n_boot=4000, seed=0)
        self.assertEqual((ci['mean'], ci['low'], ci['high']), (0.5, 0, 1))
        self.assertEqual(ci['n_units'], 1)

    def test_draws_are_resampled(self):
        # draw 0: a right and b wrong on every image (difference 1 in any
        # resample); draw 1: a and b identical (difference 0)
        a0, b0 = run([0, 1, 1], [0, 1, 1], [.2, .8, .9]), run(
            [0, 1, 1], [1, 0, 0], [.8, .3, .2])
        same = run([0, 1], [0, 0], [.4, .3])
        units = [([a0], [b0]), ([same], [same])]
        ci = hierarchical_bootstrap_ci(units, 'balanced_accuracy',
                                       n_boot=4000, seed=5)
        self.assertEqual((ci['mean'], ci['low'], ci['high']), (0.5, 0, 1))
        # repeats within a draw are averaged before the mean over draws
        half = run([0, 1, 1], [0, 0, 0], [.2, .3, .2])  # BA 0.5
        ci = hierarchical_bootstrap_ci([([a0, half], [b0, b0])],
                                       'balanced_accuracy', n_boot=200)
        self.assertAlmostEqual(ci['mean'], 0.75)

    def test_reproducible_from_its_seed(self):
        rng = np.random.default_rng(3)
        labels = rng.integers(0, 2, 40)
        units = []
        for _ in range(4):
            ra, rb = (run(labels, (p > .5).astype(int), p) for p in
                      rng.random((2, 40)))
            units.append(([ra], [rb]))
        for metric in ('balanced_accuracy', 'auc'):
            one = hierarchical_bootstrap_ci(units, metric, 500, seed=7)
            self.assertEqual(one, hierarchical_bootstrap_ci(units, metric,
                                                            500, seed=7))
            self.assertNotEqual(one, hierarchical_bootstrap_ci(
                units, metric, 500, seed=8))
            self.assertLessEqual(one['low'], one['mean'])
            self.assertLessEqual(one['mean'], one['high'])
        self.assertEqual(bootstrap_mean_ci([.1, .5, .7], seed=2),
                         bootstrap_mean_ci([.1, .5, .7], seed=2))

    def test_runs_of_a_unit_share_their_images(self):
        a, b = run([0, 1], [0, 1], [.1, .9]), run([1, 1], [1, 1], [.6, .9])
        with self.assertRaisesRegex(ValueError, 'same images'):
            hierarchical_bootstrap_ci([([a], [b])], 'auc')
        with self.assertRaisesRegex(ValueError, 'at least one'):
            hierarchical_bootstrap_ci([], 'auc')


class TestPairedUnits(unittest.TestCase):

    def test_repeats_grouped_by_draw(self):
        def rec(method, draw, seed):
            return dict(method=method, draw=draw, seed=seed, fold='n24')
        records = [rec(m, d, 1000 * k + d) for m in ('a', 'b')
                   for d in (0, 1, 10) for k in (0, 1)]
        records.append(rec('a', 2, 2))  # no partner: left out
        units = paired_units(records, 'a', 'b')
        self.assertEqual([u[0] for u in units],
                         [('draw', 0), ('draw', 1), ('draw', 10)])
        self.assertEqual([r['seed'] for r in units[1][1]], [1, 1001])
        # older records without draws: one unit per seed/fold
        old = [dict(method=m, seed=s, fold=None) for m in 'ab'
               for s in (2, 10)]
        self.assertEqual([u[0] for u in paired_units(old, 'a', 'b')],
                         [('run', 2, None), ('run', 10, None)])


if __name__ == '__main__':
    unittest.main()
