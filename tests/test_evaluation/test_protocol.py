"""Aggregation of protocol records: metric mapping, mean ± std, paired
tests and the markdown report, against hand-computed values."""
import json
import math
import os.path as osp
import tempfile
from unittest import TestCase

from dl4all_mm.evaluation.protocol import (MULTICLASS_NOTE, compare,
                                           paired_test, standard_metrics,
                                           summarize)
from dl4all_mm.evaluation.report import render_markdown, write_results


def record(method, seed, acc, bal=None, auc=0.5, fold=None):
    bal = acc if bal is None else bal
    return dict(
        method=method,
        seed=seed,
        fold=fold,
        metrics=dict(
            accuracy=acc,
            balanced_accuracy=bal,
            macro_f1=acc,
            sensitivity=acc,
            specificity=acc,
            auc=auc),
        wall_s=10.0)


class TestStandardMetrics(TestCase):

    def test_binary_and_multiclass(self):
        binary = {
            'diagnostic/accuracy': 0.9,
            'diagnostic/balanced_accuracy': 0.8,
            'diagnostic/macro_f1': 0.7,
            'diagnostic/sensitivity': 0.95,
            'diagnostic/specificity': 0.65,
            'diagnostic/macro_recall': 0.8,
            'diagnostic/macro_specificity': 0.8,
            'diagnostic/auc': float('nan'),
        }
        out = standard_metrics(binary)
        self.assertEqual(out['sensitivity'], 0.95)
        self.assertEqual(out['specificity'], 0.65)
        self.assertIsNone(out['auc'])
        multi = {k: v for k, v in binary.items() if 'sensitivity' not in k}
        multi['diagnostic/macro_recall'] = 0.6
        multi['diagnostic/macro_specificity'] = 0.85
        out = standard_metrics(multi)
        self.assertEqual((out['sensitivity'], out['specificity']), (0.6, 0.85))
        with self.assertRaisesRegex(KeyError, "'target/accuracy'"):
            standard_metrics(binary, prefix='target')


class TestPairedTest(TestCase):

    def test_small_samples(self):
        out = paired_test([0.1])
        self.assertEqual(out['n'], 1)
        self.assertIsNone(out['wilcoxon_p'])
        self.assertIsNone(out['ttest_p'])
        self.assertIn('< 2', out['note'])
        out = paired_test([0.0, 0.0, 0.0])
        self.assertEqual((out['wilcoxon_p'], out['ttest_p']), (1.0, 1.0))

    def test_values(self):
        # 4 positive differences: exact signed-rank two-sided p = 2 / 2**4;
        # paired t: mean .025, sd .0129099, t = 3.873 with 3 df -> p .0305
        out = paired_test([0.01, 0.02, 0.03, 0.04])
        self.assertAlmostEqual(out['mean'], 0.025)
        self.assertAlmostEqual(out['wilcoxon_p'], 0.125)
        self.assertAlmostEqual(out['ttest_p'], 0.0305, places=4)
        # constant non-zero difference: no t-test, signed-rank 2 / 2**3
        out = paired_test([0.02, 0.02, 0.02])
        self.assertIsNone(out['ttest_p'])
        self.assertAlmostEqual(out['wilcoxon_p'], 0.25)
        self.assertIn('constant', out['note'])
        # None differences (an undefined metric) are left out
        self.assertEqual(paired_test([0.1, None, 0.2])['n'], 2)


class TestSummaries(TestCase):

    def setUp(self):
        self.records = [
            record('dl4all', 0, 0.90, auc=None),
            record('dl4all', 1, 0.80),
            record('target-only', 0, 0.85),
            record('target-only', 1, 0.70),
            record('target-only', 2, 0.60),  # no dl4all partner
        ]

    def test_summarize(self):
        out = summarize(self.records)
        self.assertEqual(list(out), ['dl4all', 'target-only'])
        acc = out['dl4all']['accuracy']
        self.assertAlmostEqual(acc['mean'], 0.85)
        # sample std of (0.9, 0.8): sqrt(2 * 0.05**2 / 1)
        self.assertAlmostEqual(acc['std'], math.sqrt(0.005))
        self.assertEqual(out['dl4all']['auc']['n'], 1)
        self.assertIsNone(out['dl4all']['auc']['std'])
        self.assertEqual(out['target-only']['runs'], 3)
        self.assertAlmostEqual(out['target-only']['wall_s'], 30.0)

    def test_compare_pairs_by_seed_and_fold(self):
        cmp = compare(self.records, 'dl4all', 'target-only')
        self.assertEqual([r['seed'] for r in cmp['rows']], [0, 1])
        self.assertAlmostEqual(cmp['rows'][0]['diff']['accuracy'], 0.05)
        self.assertAlmostEqual(cmp['rows'][1]['diff']['accuracy'], 0.10)
        self.assertIsNone(cmp['rows'][0]['diff']['auc'])
        self.assertEqual(cmp['tests']['auc']['n'], 1)
        self.assertAlmostEqual(cmp['tests']['accuracy']['mean'], 0.075)
        self.assertAlmostEqual(cmp['tests']['accuracy']['wilcoxon_p'], 0.5)

    def test_markdown(self):
        text = render_markdown(
            self.records, ['dl4all'], title='T', notes=[MULTICLASS_NOTE])
        self.assertIn('# T', text)
        self.assertIn(MULTICLASS_NOTE, text)
        # dl4all accuracy 85.00 ± 7.07; target-only 71.67 ± 12.58
        self.assertIn('| dl4all | 2 | 85.00 ± 7.07 |', text)
        self.assertIn('| target-only | 3 | 71.67 ± 12.58 |', text)
        self.assertIn('50.00 ± n/a (n=1)', text)  # dl4all auc
        self.assertIn('## dl4all minus target-only (points)', text)
        self.assertIn('| 0 | - | +5.00 |', text)
        self.assertIn('| 1 | - | +10.00 |', text)
        self.assertIn('| **mean** | | +7.50 |', text)
        # the declared contrast: diffs 0.05, 0.10 (t p 0.205, Wilcoxon
        # 0.5); the AUC has one pair only
        self.assertIn('| - | dl4all | target-only | best ordinary, '
                      'target-only | balanced accuracy | +7.50 | [+5.00, '
                      '+10.00] | 2 | 0.205 | 0.205 | 0.5 | no detectable '
                      'difference |', text)
        self.assertIn('| AUC | +0.00 | n/a | 1 | n/a | n/a | n/a | not '
                      'tested: fewer than 2 units |', text)
        self.assertIn('Test-split metrics in %', text)

    def test_markdown_names_the_split_of_its_records(self):
        val = [dict(r, eval_split='val') for r in self.records]
        text = render_markdown(val, ['dl4all'])
        self.assertIn('Validation-split metrics in %', text)
        self.assertNotIn('Test-split', text)
        mixed = val[:1] + self.records[1:]
        self.assertIn('Test/val-split metrics in %',
                      render_markdown(mixed, ['dl4all']))

    def test_write_results_validates(self):
        with tempfile.TemporaryDirectory() as tmp:
            js, md = osp.join(tmp, 'r.json'), osp.join(tmp, 'r.md')
            write_results(self.records, js, md, ['dl4all'])
            with open(js) as f:
                self.assertEqual(json.load(f), self.records)
            bad = [record('x', 0, 91.0)]  # a percentage, not a fraction
            with self.assertRaisesRegex(ValueError, 'outside'):
                write_results(bad, js, md, [])
            missing = [dict(record('x', 0, 0.5), metrics=dict(accuracy=1))]
            with self.assertRaisesRegex(KeyError, 'balanced_accuracy'):
                write_results(missing, js, md, [])
