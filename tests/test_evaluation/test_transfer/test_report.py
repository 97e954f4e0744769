"""The learning-curve report: verdicts, table and plot."""
import os.path as osp
import tempfile
import unittest

from dl4all_mm.evaluation.transfer.report import (plain_verdict, render,
                                                  verdict, write_report)


def _records(size, method, values):
    return [dict(method=method, seed=s, fold=f'n{size}', target_size=size,
                 wall_s=1.0, metrics=dict(balanced_accuracy=v))
            for s, v in enumerate(values)]


RECORDS = (_records(24, 'target-only', [0.70, 0.72, 0.71]) +
           _records(24, 'dl4all-joint', [0.80, 0.83, 0.79]) +
           _records(48, 'target-only', [0.80, 0.90, 0.85]) +
           _records(48, 'dl4all-joint', [0.82, 0.88, 0.86]) +
           _records(96, 'target-only', [0.95, 0.96, 0.94]) +
           _records(96, 'dl4all-joint', [0.85, 0.86, 0.84]))


class TestReport(unittest.TestCase):

    def test_verdict_against_the_seed_spread(self):
        rows = [r for r in RECORDS if r['target_size'] == 24]
        v = verdict(rows, 'dl4all-joint', 'target-only')
        self.assertEqual(v['word'], 'beats')
        self.assertAlmostEqual(v['diff'], 0.0967, places=3)
        self.assertEqual(v['n'], 3)
        rows = [r for r in RECORDS if r['target_size'] == 48]
        self.assertEqual(verdict(rows, 'dl4all-joint', 'target-only')['word'],
                         'ties with')
        rows = [r for r in RECORDS if r['target_size'] == 96]
        self.assertEqual(verdict(rows, 'dl4all-joint', 'target-only')['word'],
                         'loses to')
        one = _records(24, 'a', [0.9]) + _records(24, 'b', [0.5])
        self.assertIn('one seed', verdict(one, 'a', 'b')['word'])

    def test_report_and_plain_verdict(self):
        text = render(RECORDS, ['target-only', 'dl4all-joint'],
                      ['dl4all-joint'], 'title', ['a note'])
        self.assertIn('| target-only | 71.00 ± 1.00 (3) |', text)
        self.assertIn('| 24 | dl4all-joint | target-only | +9.67 |', text)
        self.assertIn('dl4all-joint beats target-only at 24 (target images)',
                      text)
        self.assertEqual(
            plain_verdict([]),
            'No DL4ALL method was compared with a baseline.')
        with tempfile.TemporaryDirectory() as tmp:
            write_report(RECORDS, ['target-only', 'dl4all-joint'],
                         ['dl4all-joint'], tmp, 'title')
            for name in ('results.json', 'results.md', 'learning_curve.png'):
                self.assertGreater(osp.getsize(osp.join(tmp, name)), 0)
