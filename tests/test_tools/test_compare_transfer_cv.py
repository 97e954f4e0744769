"""``tools/compare_transfer.py --lr-search`` / ``--decision cv``: the
in-budget cross-validation on generated folders (tiny ResNet-18 runs)."""
import glob
import io
import json
import os.path as osp
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

from tests.test_evaluation.test_transfer.fixtures import make_task

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))
import compare_transfer  # noqa: E402

CLASS_MAP = 'Benign=normal;Early,Pre=ALL'
METHODS = ('target-only', 'dl4all-joint')
LRS = (0.001, 0.002)


def _run(argv):
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        code = compare_transfer.main(argv)
    return code, out.getvalue(), err.getvalue()


def _images(path):
    with open(path) as f:
        return {line.rsplit(' ', 1)[0] for line in f if line.strip()}


def _lrs(cfg_options):
    return {v for k, v in cfg_options.items() if k.endswith('optimizer.lr')}


class TestLrSearch(unittest.TestCase):
    """Sizes 8 and 16, 2 draws at 8 and 1 at 16, 2 methods, 2 lrs x one
    norm (``--search-norms``), with ``--decision cv``."""

    def test_search_per_size_and_draw_thresholds_and_rerun(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            work = osp.join(tmp, 'work')
            argv = ['--source', paths['source'], '--target',
                    paths['target'], '--class-map', CLASS_MAP,
                    '--target-sizes', '8,16', '--draws', '2,1',
                    '--methods', ','.join(METHODS), '--iters', '2',
                    '--img-size', '32', '--backbone', 'resnet18',
                    '--recipe', 'bn_recalib=0', '--lr-search',
                    ','.join(map(str, LRS)), '--search-norms',
                    'channel-domain', '--decision', 'cv', '--jobs', '2',
                    '--no-progress', '--work-dir', work]
            code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            with open(osp.join(work, 'lr_search.json')) as f:
                searches = json.load(f)['searches']
            keys = [(s['size'], s['draw']) for s in searches]
            self.assertEqual(keys, [(8, 0), (8, 1), (16, 0)])
            data = osp.join(work, 'data')
            forbidden = _images(osp.join(data, 'val.txt')) | _images(
                osp.join(data, 'test.txt'))
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            for search in searches:
                size, draw = search['size'], search['draw']
                self.assertEqual(search['grid'], [
                    dict(lr=lr, norm='channel-domain') for lr in LRS])
                train = _images(osp.join(data, f'train_n{size}_d{draw}.txt'))
                files = glob.glob(osp.join(work, 'lr_search',
                                           f'n{size}_d{draw}', 'folds',
                                           '*.txt'))
                self.assertEqual(len(files), 2 * search['k'])
                for path in files:  # only the draw's n training labels
                    self.assertTrue(_images(path) <= train, path)
                    self.assertFalse(_images(path) & forbidden, path)
                with open(osp.join(work, f'n{size}', f'd{draw}',
                                   'protocol.json')) as f:
                    protocol = json.load(f)
                stages = {m['name']: m['stages'] for m in
                          protocol['methods']}
                self.assertEqual(sorted(search['methods']), sorted(METHODS))
                for method, entry in search['methods'].items():
                    self.assertEqual(len(entry['candidates']), len(LRS))
                    for cand in entry['candidates']:
                        self.assertEqual(len(cand['fold_scores']),
                                         search['k'])
                        self.assertTrue(all(0 <= s <= 1 for s in
                                            cand['fold_scores']))
                    best = max(entry['candidates'], key=lambda c: (
                        c['pooled'], -c['candidate']['lr']))
                    self.assertEqual(entry['choice'], best['candidate'])
                    # the real runs use the choice
                    self.assertIn(entry['choice']['lr'],
                                  _lrs(stages[method][-1]['cfg_options']))
                    mine = [r for r in records if (
                        r['method'], r['target_size'], r['draw']) == (
                            method, size, draw)]
                    self.assertEqual(len(mine), 1)
                    self.assertEqual(mine[0]['norm'], 'channel-domain')
                    self.assertEqual(mine[0]['lr'], entry['choice']['lr'])
                    self.assertEqual(mine[0]['cv_threshold'],
                                     entry['threshold'])
                    self.assertTrue(0 <= mine[0]['cv_threshold'] <= 1)
            with open(osp.join(work, 'n8', 'd1', 'results.md')) as f:
                self.assertNotIn('lack what the cv rule needs', f.read())
            with open(osp.join(work, 'results.md')) as f:
                report = f.read()
            self.assertIn('Decision rule: cv', report)
            self.assertNotIn('lack what the cv rule needs', report)
            self.assertIn('In-budget cross-validation', report)
            self.assertNotIn('validation split', report.split(
                'Learning rates:')[1].split('\n')[0])
            specs = sorted(glob.glob(osp.join(work, '**', 'spec.json'),
                                     recursive=True))
            stamps = [osp.getmtime(p) for p in specs]
            code, out, err = _run(argv)  # the same command: nothing trains
            self.assertEqual(code, 0, out + err)
            self.assertEqual([osp.getmtime(p) for p in specs], stamps)
            self.assertEqual(sorted(glob.glob(osp.join(
                work, '**', 'spec.json'), recursive=True)), specs)


class TestDecisionCv(unittest.TestCase):
    """``--decision cv`` without ``--lr-search``: one candidate, the
    recipe as it is (probes included)."""

    def test_threshold_of_the_recipe(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            work = osp.join(tmp, 'work')
            code, out, err = _run([
                '--source', paths['source'], '--target', paths['target'],
                '--class-map', CLASS_MAP, '--target-sizes', '8', '--draws',
                '1', '--methods', 'linear-probe', '--iters', '2',
                '--img-size', '32', '--backbone', 'resnet18', '--pretrained',
                'none', '--decision', 'cv', '--no-progress', '--work-dir',
                work])
            self.assertEqual(code, 0, out + err)
            self.assertFalse(osp.exists(osp.join(work, 'lr_search.json')))
            with open(osp.join(work, 'cv_threshold.json')) as f:
                search = json.load(f)['searches'][0]
            self.assertEqual(search['grid'], [{}])
            entry = search['methods']['linear-probe']
            with open(osp.join(work, 'results.json')) as f:
                record, = json.load(f)
            self.assertEqual(record['cv_threshold'], entry['threshold'])
            for report in ('results.md', 'n8/d0/results.md'):
                with open(osp.join(work, report)) as f:
                    self.assertNotIn('lack what the cv rule needs', f.read())


class TestBadInputs(unittest.TestCase):
    """A class with < 2 images at a size: exit 2 naming size and class
    before anything trains."""

    def test_one_image_of_a_class(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            for flags in (['--lr-search', '0.01'], ['--decision', 'cv']):
                with mock.patch('dl4all_mm.evaluation.transfer.cv_search.'
                                'execute_protocol') as search, mock.patch(
                        'dl4all_mm.evaluation.transfer.compare.'
                        'execute_protocol') as train:
                    code, out, err = _run([
                        '--source', paths['source'], '--target',
                        paths['target'], '--class-map', CLASS_MAP,
                        '--target-sizes', '3,8', '--draws', '1',
                        '--methods', 'target-only', '--img-size', '32',
                        '--backbone', 'resnet18', '--work-dir',
                        osp.join(tmp, 'work'), *flags])
                self.assertEqual(code, 2, out + err)
                self.assertRegex(err, r'target size 3 \(draw 0\): class '
                                 r"'\w+' has 1 training image")
                self.assertIn(flags[0], err)
                search.assert_not_called()
                train.assert_not_called()

    def test_decision_cv_needs_a_binary_target(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)  # no --class-map: 3 target classes
            with mock.patch('dl4all_mm.evaluation.transfer.compare.'
                            'execute_protocol') as train:
                code, out, err = _run([
                    '--source', paths['source'], '--target', paths['target'],
                    '--target-sizes', '12', '--draws', '1', '--methods',
                    'target-only', '--decision', 'cv', '--work-dir',
                    osp.join(tmp, 'work')])
            self.assertEqual(code, 2, out + err)
            self.assertIn('--decision cv needs a binary target; this one '
                          'has 3 classes', err)
            train.assert_not_called()

    def test_search_norms_needs_lr_search(self):
        code, _, err = _run(['--source', 's', '--target', 't', '--work-dir',
                             'w', '--search-norms', 'pretrained'])
        self.assertEqual(code, 2)
        self.assertIn('--search-norms', err)


if __name__ == '__main__':
    unittest.main()
