"""The one report renderer: learning curve with CIs, declared contrasts
with their verdicts, per-size tables, records with and without
predictions, and the committed records of docs/ rendered again."""
import csv
import glob
import json
import os
import os.path as osp
import tempfile
import unittest

import numpy as np

from dl4all_mm.evaluation.curve_plot import figure_title
from dl4all_mm.evaluation.protocol import METRIC_KEYS
from dl4all_mm.evaluation.report import (load_records, main, plain_verdict,
                                         render_markdown, write_results)
from dl4all_mm.evaluation.verdicts import disagreements

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
LABELS = np.array([0] * 10 + [1] * 30)


def _write_predictions(path, p1):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['image', 'label', 'normal', 'ALL'])
        for i, (y, p) in enumerate(zip(LABELS, p1)):
            w.writerow([f'img{i}.jpg', y, '%.8g' % (1 - p), '%.8g' % p])


def _predicted_records(folder, draws=4, size=24):
    """Three methods on ``draws`` draws, 40 test images (10 normal):
    dl4all-joint ranks and decides well, linear-probe ranks well but calls
    everything ALL at argmax, target-only is weak."""
    rng = np.random.default_rng(0)
    sign = 2 * LABELS - 1
    records = []
    for d in range(draws):
        for method, shift, bias, sd in (('target-only', 0.3, 0.5, 1.0),
                                        ('linear-probe', 2.0, 3.2, 0.5),
                                        ('dl4all-joint', 2.0, 0.0, 1.0)):
            p1 = 1 / (1 + np.exp(-(shift * sign + bias +
                                   rng.normal(0, sd, 40))))
            path = osp.join(folder, f'n{size}', f'd{d}', method, 'p.csv')
            os.makedirs(osp.dirname(path))
            _write_predictions(path, p1)
            records.append(dict(
                method=method, seed=d, fold=f'n{size}-d{d}', draw=d,
                target_size=size, wall_s=1.0, predictions=path,
                train_counts=[4, 20], labels_used=size + 8 * (d == 0),
                metrics={k: 0.5 for k in METRIC_KEYS}))
    return records


class TestOlderRecords(unittest.TestCase):
    """Records without draws or predictions: seeds are the units."""

    def test_report_content(self):
        text = render_markdown(RECORDS, ['dl4all-joint'], 'title',
                               ['a note'], methods=METHODS)
        lines = text.splitlines()
        self.assertEqual(lines[:3], ['# title', '', '- a note'])
        self.assertIn('- Decision rule: argmax.', lines)
        self.assertTrue(any('carry no label draw' in line for line in lines))
        self.assertTrue(any(line.startswith('- 18 of 18 records have no '
                                            'predictions.csv')
                            for line in lines))
        # the learning curve: mean [bootstrap CI over seeds] (units)
        self.assertIn('## Test balanced accuracy (%): mean [95 % CI] '
                      '(seeds/folds)', lines)
        self.assertIn('| target-only | 71.00 [70.00, 72.00] (3) | 85.00 '
                      '[80.00, 90.00] (3) | 95.00 [94.00, 96.00] (3) |',
                      lines)
        # one unit draw at 24 and 48 (< 10)
        self.assertEqual(sum(line.startswith('Warning: 1 label draw(s) at')
                             for line in lines), 2)
        # 24: diffs 10, 11, 8 points, t p 0.00822; Holm over the 4 tests
        # (96: a constant difference, no t-test) -> 0.0329 < 0.05 and the
        # CI [8, 11] excludes 0: higher
        self.assertIn('| 24 | dl4all-joint | target-only | best ordinary, '
                      'target-only | balanced accuracy | +9.67 | [+8.00, '
                      '+11.00] | 3 | 0.00822 | 0.0329 | 0.25 | higher |',
                      lines)
        self.assertIn('| 48 | dl4all-joint | target-only | best ordinary, '
                      'target-only | AUC | +0.33 | [-2.00, +2.00] | 3 | '
                      '0.808 | 1 | 1 | no detectable difference |', lines)
        self.assertIn('| 96 | dl4all-joint | target-only | best ordinary, '
                      'target-only | AUC | -10.00 | [-10.00, -10.00] | 3 | '
                      'n/a | n/a | 0.25 | not tested: constant difference: '
                      't-test undefined |', lines)
        self.assertIn('## 48 target images', lines)
        self.assertIn('| dl4all-joint | 3 | ' + ' | '.join(
            ['85.33 ± 3.06'] * 6) + ' | 1 |', lines)
        self.assertIn('### dl4all-joint minus target-only (points)', lines)
        self.assertIn('| 1 | n48 | ' + ' | '.join(['-2.00'] * 6) + ' |',
                      lines)
        self.assertEqual(text.count('### dl4all-joint minus target-only'), 3)

    def test_plain_verdict(self):
        self.assertEqual(plain_verdict([]),
                         'No DL4ALL method was compared with a baseline.')
        c = dict(method='a', baseline='b', metric='auc', size=24,
                 word='higher', mean=0.05, low=0.01, high=0.09)
        self.assertEqual(plain_verdict([c]),
                         'a is higher than b in AUC at 24 target images '
                         '(+5.00 points, 95 % CI [+1.00, +9.00]). Every '
                         'other declared contrast: no detectable '
                         'difference.')

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

    def test_figure_title(self):
        title = ('Transfer comparison: /home/lab/data/pbc -> '
                 '/home/lab/data/all_aria/ (efficientnet-lite0, ImageNet '
                 '(offline), 96 px, 300 steps)')
        text = figure_title(title)
        self.assertNotIn('/home', text)
        self.assertTrue(text.startswith('Transfer comparison: pbc -> '
                                        'all_aria (efficientnet-lite0,'))
        self.assertTrue(all(len(line) <= 64 for line in text.split('\n')))
        self.assertGreater(text.count('\n'), 0)


class TestPredictedRecords(unittest.TestCase):
    """Records with draws and predictions.csv: metrics recomputed under
    the decision rule, CIs resampling draws and test images."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.records = _predicted_records(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_contrasts_and_rules(self):
        text = render_markdown(self.records, ['dl4all-joint'], 't')
        lines = text.splitlines()
        self.assertIn('- Decision rule: argmax.', lines)
        self.assertIn('- Unit of the statistics: the label draw (each draw '
                      'its own labelled images, the same for every method);'
                      ' units = draws.', lines)
        self.assertFalse(any('have no predictions.csv' in x for x in lines))
        self.assertIn('Warning: 4 label draw(s) at 24 target images (< 10):'
                      ' which images a lab labels moves results most at '
                      'small sizes; treat these intervals as optimistic.',
                      lines)
        self.assertIn('resampling draws and test images', text)
        self.assertIn('## Test AUC (%): mean [95 % CI] (draws)', lines)
        # extra labels of draw 0 printed beside the results
        self.assertIn('(4; labels used 32)', text)
        rows = [x for x in lines if x.startswith('| 24 | dl4all-joint |')]
        # best ordinary by balanced accuracy at argmax: target-only
        # (linear-probe calls everything ALL: 50.00)
        self.assertEqual([x.split(' | ')[2:5] for x in rows],
                         [['target-only', 'best ordinary, target-only',
                           'balanced accuracy'],
                          ['target-only', 'best ordinary, target-only',
                           'AUC']])
        self.assertTrue(any(x.startswith('| linear-probe | 51.25 [') for x in
                            lines))
        for row in rows:
            self.assertTrue(row.endswith('| higher |'), row)
        # the prior rule (logit adjustment by 4 normal / 20 ALL) rescues
        # linear-probe's threshold: it becomes the best ordinary baseline
        prior = render_markdown(self.records, ['dl4all-joint'], 't',
                                decision='prior').splitlines()
        self.assertIn('- Decision rule: prior.', prior)
        rows = [x for x in prior if x.startswith('| 24 | dl4all-joint |')]
        self.assertEqual([x.split(' | ')[2:4] for x in rows],
                         [['linear-probe', 'best ordinary']] * 2 +
                         [['target-only', 'target-only']] * 2)
        self.assertIn('balanced accuracy (prior rule)', rows[0])
        self.assertTrue(rows[0].endswith('| no detectable difference |'))
        self.assertTrue(rows[2].endswith('| higher |'))

    def test_cv_rule_needs_a_threshold(self):
        # without cv_threshold: no balanced accuracy (never the argmax
        # value in its place), the AUC stays, and the report says why
        text = render_markdown(self.records, ['dl4all-joint'],
                               decision='cv')
        self.assertIn('- 12 records lack what the cv rule needs: no '
                      "balanced accuracy for them (first: record of "
                      "'target-only' seed 0 size 24: decision cv needs a "
                      'threshold in [0, 1]; got cv_threshold=None).', text)
        self.assertNotIn('| balanced accuracy (cv rule) |', text)
        self.assertIn('| AUC |', text)
        for r in self.records:
            r['cv_threshold'] = 0.5
        text = render_markdown(self.records, ['dl4all-joint'],
                               decision='cv')
        self.assertIn('| balanced accuracy (cv rule) |', text)
        self.assertNotIn('lack what', text)

    def test_relative_paths_round_trip(self):
        work = osp.join(self.tmp.name, 'work')
        os.makedirs(work)
        js, md = osp.join(work, 'results.json'), osp.join(work, 'r.md')
        write_results(self.records, js, md, ['dl4all-joint'], title='t')
        with open(js) as f:
            stored = json.load(f)
        self.assertEqual(stored[0]['predictions'], '../n24/d0/target-only/'
                         'p.csv')
        loaded = load_records(js)
        self.assertEqual(loaded, self.records)
        out = osp.join(self.tmp.name, 'again.md')
        self.assertEqual(main([js, '--references', 'dl4all-joint', '--title',
                               't', '--md', out]), 0)
        with open(md) as f, open(out) as g:
            self.assertEqual(f.read(), g.read())

    def test_mixed_old_and_new_records(self):
        old = [dict(r, predictions=None) for r in self.records
               if r['method'] == 'target-only']
        new = [r for r in self.records if r['method'] != 'target-only']
        text = render_markdown(old + new, ['dl4all-joint'])
        self.assertIn('4 of 12 records have no predictions.csv', text)
        self.assertIn('resampling draws / draws and test images', text)
        # a rule other than argmax: no recorded argmax value mixed in
        prior = render_markdown(old + new, ['dl4all-joint'],
                                decision='prior')
        self.assertIn('no balanced accuracy under the prior rule for them',
                      prior)
        self.assertIn('| target-only |  |', prior)  # no value at 24


class TestDisagreements(unittest.TestCase):
    """The report names contrasts whose lead holds in one metric only."""

    def test_named(self):
        def c(metric, word, mean, size=24, base='target-only'):
            return dict(size=size, method='dl4all-joint', baseline=base,
                        metric=metric, word=word, mean=mean)
        out = disagreements([
            c('balanced_accuracy', 'higher', 0.08),
            c('auc', 'no detectable difference', 0.002),
            c('balanced_accuracy', 'no detectable difference', 0.03, 48),
            c('auc', 'no detectable difference', -0.01, 48),
            c('balanced_accuracy', 'higher', 0.05, 96),
            c('auc', 'higher', 0.02, 96),
            c('balanced_accuracy', 'lower', -0.05, 96, 'lp-ft'),
            c('auc', 'not tested: fewer than 2 units', 0.0, 96, 'lp-ft')])
        self.assertEqual(out, [
            'dl4all-joint vs target-only at 24: balanced accuracy says '
            'higher, AUC says no detectable difference',
            'dl4all-joint vs target-only at 48: the mean differences have '
            'opposite signs (balanced accuracy +3.00, AUC -1.00 points)',
            'dl4all-joint vs lp-ft at 96: balanced accuracy says lower, AUC '
            'says not tested: fewer than 2 units'])


class TestCommittedRecords(unittest.TestCase):
    """docs/results_*.json (no draws, no predictions) render again; the
    curve means of docs/results.md are the renderer's."""

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
            self.assertIn('## Declared contrasts: each DL4ALL method minus '
                          'the best ordinary baseline and minus '
                          'target-only', lines)
            self.assertTrue(any('carry no label draw' in x for x in lines))

    def test_documented_tables_are_recomputed(self):
        with open(osp.join(DOCS, 'results.md')) as f:
            doc = f.read().splitlines()
        curve = self._render('results_pbc2aria_efficientnet-lite0_curve.json')
        for start in ('| target-only | 60.96', '| dl4all-greedy | 67.27'):
            self.assertEqual(len([x for x in doc if x.startswith(start)]),
                             1)
            self.assertEqual(len([x for x in curve if x.startswith(
                start + ' [')]), 1, start)
        steps = self._render('results_pbc2aria_resnet18_1200steps.json')
        rows = [line for line in doc if line.startswith(
            ('| target-only | 3 | 96.07', '| dl4all-joint | 3 | 96.22'))]
        self.assertGreaterEqual(len(rows), 2)
        for row in rows:
            self.assertIn(row, steps)


if __name__ == '__main__':
    unittest.main()
