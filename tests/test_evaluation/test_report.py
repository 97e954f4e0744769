"""The one report renderer: learning curve, verdicts, per-size tables, and
the committed records of docs/ rendered again."""
import glob
import json
import os.path as osp
import tempfile
import unittest

from dl4all_mm.evaluation.protocol import METRIC_KEYS
from dl4all_mm.evaluation.report import (main, plain_verdict,
                                         render_markdown, verdict,
                                         write_results)

DOCS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'docs')


def _records(size, method, values):
    return [dict(method=method, seed=s, fold=f'n{size}', target_size=size,
                 wall_s=1.0, metrics={k: v for k in METRIC_KEYS})
            for s, v in enumerate(values)]


RECORDS = (_records(24, 'target-only', [0.70, 0.72, 0.71]) +
           _records(24, 'dl4all-joint', [0.80, 0.83, 0.79]) +
           _records(48, 'target-only', [0.80, 0.90, 0.85]) +
           _records(48, 'dl4all-joint', [0.82, 0.88, 0.86]) +
           _records(96, 'target-only', [0.95, 0.96, 0.94]) +
           _records(96, 'dl4all-joint', [0.85, 0.86, 0.84]))
METHODS = ['target-only', 'dl4all-joint']


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
        self.assertEqual(plain_verdict([]),
                         'No DL4ALL method was compared with a baseline.')

    def test_report_content(self):
        text = render_markdown(RECORDS, ['dl4all-joint'], 'title',
                               ['a note'], methods=METHODS)
        lines = text.splitlines()
        self.assertEqual(lines[:3], ['# title', '', '- a note'])
        # the learning curve: balanced accuracy per size, (runs)
        self.assertIn('| target-only | 71.00 ± 1.00 (3) | 85.00 ± 5.00 (3) '
                      '| 95.00 ± 1.00 (3) |', lines)
        self.assertIn('| 24 | dl4all-joint | target-only | +9.67 | 2.08 | '
                      '0.00822 | 0.25 | beats |', lines)
        self.assertIn('| 96 | dl4all-joint | target-only | -10.00 | 1.00 | '
                      'n/a | 0.25 | loses to |', lines)
        self.assertIn('dl4all-joint beats target-only at 24 (target images) '
                      'by more than the seed spread; everywhere else it ties '
                      'or loses.', lines)
        # per size: every metric, then the paired rows
        self.assertIn('## 48 target images', lines)
        self.assertIn('| dl4all-joint | 3 | ' + ' | '.join(
            ['85.33 ± 3.06'] * 6) + ' | 1 |', lines)
        self.assertIn('### dl4all-joint minus target-only (points)', lines)
        self.assertIn('| 1 | n48 | ' + ' | '.join(['-2.00'] * 6) + ' |',
                      lines)
        self.assertEqual(text.count('### dl4all-joint minus target-only'), 3)

    def test_write_results_and_plot(self):
        with tempfile.TemporaryDirectory() as tmp:
            js, md = osp.join(tmp, 'results.json'), osp.join(tmp, 'r.md')
            write_results(RECORDS, js, md, ['dl4all-joint'], title='t',
                          methods=METHODS)
            with open(js) as f:
                self.assertEqual(json.load(f), RECORDS)
            with open(md) as f:
                self.assertEqual(
                    f.read(), render_markdown(RECORDS, ['dl4all-joint'],
                                              title='t', methods=METHODS))
            with open(osp.join(tmp, 'learning_curve.png'), 'rb') as f:
                self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')


class TestCommittedRecords(unittest.TestCase):
    """docs/results_*.json render again; the tables of docs/results.md
    are the renderer's rows."""

    def _render(self, name: str) -> list:
        with tempfile.TemporaryDirectory() as tmp:
            out = osp.join(tmp, 'r.md')
            self.assertEqual(main([osp.join(DOCS, name), '--md', out]), 0)
            with open(out) as f:
                return f.read().splitlines()

    def test_every_record_file_renders(self):
        files = sorted(glob.glob(osp.join(DOCS, 'results_*.json')))
        self.assertGreaterEqual(len(files), 5)
        for path in files:
            lines = self._render(osp.basename(path))
            self.assertIn('## DL4ALL minus each baseline (paired by seed, '
                          'balanced accuracy)', lines)

    def test_documented_tables_are_recomputed(self):
        with open(osp.join(DOCS, 'results.md')) as f:
            doc = f.read().splitlines()
        curve = self._render('results_pbc2aria_efficientnet-lite0_curve.json')
        rows = [line for line in doc if line.startswith(
            ('| target-only | 60.96', '| dl4all-greedy | 67.27'))]
        self.assertEqual(len(rows), 2)
        for row in rows:
            self.assertIn(row, curve)
        steps = self._render('results_pbc2aria_resnet18_1200steps.json')
        rows = [line for line in doc if line.startswith(
            ('| target-only | 3 | 96.07', '| dl4all-joint | 3 | 96.22'))]
        self.assertGreaterEqual(len(rows), 2)
        for row in rows:
            self.assertIn(row, steps)
