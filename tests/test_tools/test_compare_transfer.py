"""``tools/compare_transfer.py`` on generated folders: bad inputs fail
before training with the culprit named; a tiny comparison runs, reports
and resumes."""
import hashlib
import io
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

from tests.test_evaluation.test_transfer.fixtures import (make_task,
                                                          write_images)

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))
import compare_transfer  # noqa: E402

CLASS_MAP = 'Benign=normal;Early,Pre=ALL'


def _run(argv):
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        code = compare_transfer.main(argv)
    return code, out.getvalue(), err.getvalue()


class TestBadInputs(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.paths = make_task(self.tmp)
        self.work = osp.join(self.tmp, 'work')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def args(self, *extra):
        return ['--source', self.paths['source'], '--target',
                self.paths['target'], '--class-map', CLASS_MAP,
                '--target-sizes', '8,16', '--img-size', '32',
                '--work-dir', self.work, '--no-progress', *extra]

    def assert_fails(self, argv, *needles):
        with mock.patch('dl4all_mm.evaluation.transfer.compare.'
                        'execute_protocol') as train:
            code, _, err = _run(argv)
        self.assertEqual(code, 2, err)
        train.assert_not_called()
        for needle in needles:
            self.assertIn(needle, err)

    def test_dry_run_lists_every_run(self):
        code, out, err = _run(self.args('--dry-run', '--seeds', '0,1'))
        self.assertEqual(code, 0, err)
        # 7 methods x 2 sizes x 5 draws (default) x 2 repeats
        self.assertIn('140 runs (dry run', out)
        self.assertIn('n16/d4/runs/dl4all-greedy/seed1004-foldn16-d4', out)
        self.assertTrue(osp.isfile(osp.join(self.work, 'data',
                                            'train_n16_d4.txt')))

    def test_empty_class_folder(self):
        os.makedirs(osp.join(self.paths['target'], 'Pro'))
        self.assert_fails(self.args(), osp.join(self.paths['target'], 'Pro'),
                          'holds no image')

    def test_target_class_missing_from_the_test_set(self):
        test = osp.join(self.tmp, 'test')
        write_images(test, dict(Benign=5), seed=5)
        self.assert_fails(self.args('--target-test', test),
                          'test split holds no image', 'ALL')

    def test_group_regex_that_matches_nothing(self):
        self.assert_fails(self.args('--group-regex', r'patient-(\d+)'),
                          r'patient-(\d+)', 'matches nothing')

    def test_fewer_target_images_than_a_size(self):
        argv = self.args()
        argv[argv.index('8,16')] = '8,500'
        self.assert_fails(argv, 'target size 500', 'training split has only')

    def test_unreadable_image(self):
        bad = osp.join(self.paths['target'], 'Early', 'broken.png')
        with open(bad, 'wb') as f:
            f.write(b'not an image')
        self.assert_fails(self.args(), 'unreadable image', bad)

    def test_bad_values(self):
        self.assert_fails(self.args('--methods', 'fine-tune'), 'fine-tune')
        self.assert_fails(self.args('--recipe', 'momentum=0.5'), 'momentum')
        self.assert_fails(self.args('--class-map', 'Benign'), 'Benign')


class TestEndToEnd(unittest.TestCase):

    def test_tiny_comparison_reports_and_resumes(self):
        """The defaults (--selection last, draws, --seeds 0) end to end:
        2 draws x 2 sizes x 2 methods, every record with its draw, files
        and labels; the last checkpoint tested, no validation run."""
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            work = osp.join(tmp, 'work')
            argv = ['--source', paths['source'], '--target',
                    paths['target'], '--class-map', CLASS_MAP,
                    '--group-regex', r'/(P\d+)_', '--target-sizes', '8,all',
                    '--methods', 'target-only,dl4all-joint', '--draws', '2',
                    '--iters', '4', '--img-size', '32', '--backbone',
                    'resnet18', '--recipe', 'lr=0.01',
                    '--no-progress', '--work-dir', work]
            code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            self.assertEqual(len(records), 8)
            sizes = sorted({r['target_size'] for r in records})
            self.assertEqual(sizes[0], 8)
            for r in records:
                self.assertGreater(r['n_test'], 0)
                self.assertIsNotNone(r['metrics']['balanced_accuracy'])
                self.assertEqual(r['seed'], r['draw'])  # repeat 0
                self.assertEqual(r['fold'],
                                 f"n{r['target_size']}-d{r['draw']}")
                self.assertEqual(r['selection'], 'last')
                self.assertEqual(r['labels_used'], r['target_size'])
                self.assertEqual(r['validations'], 0)
                self.assertEqual(sum(r['train_counts']), r['target_size'])
                name = f"train_n{r['target_size']}_d{r['draw']}.txt"
                with open(osp.join(work, 'data', name), 'rb') as f:
                    self.assertEqual(r['train_sha256'],
                                     hashlib.sha256(f.read()).hexdigest())
            self.assertEqual({r['draw'] for r in records}, {0, 1})
            with open(osp.join(work, 'results.md')) as f:
                report = f.read()
            self.assertIn('| dl4all-joint | target-only |', report)
            self.assertIn('| 8 | dl4all-joint | target-only |', report)
            self.assertIn('## 8 target images', report)
            self.assertIn('### dl4all-joint minus target-only (points)',
                          report)
            self.assertIn('Labels used: n (the target size)', report)
            self.assertIn('--selection last', report)
            self.assertTrue(osp.getsize(osp.join(work,
                                                 'learning_curve.png')) > 0)
            with open(osp.join(work, 'command.txt')) as f:
                self.assertIn('--target-sizes 8,all', f.read())
            for method, last in (('target-only', 'iter_4.pth'),
                                 ('dl4all-joint', None)):
                run = osp.join(work, 'n8', 'd1', 'runs', method,
                               'seed1-foldn8-d1')
                stage = osp.join(run, 'stage0')
                self.assertFalse([n for n in os.listdir(stage)
                                  if n.startswith('best_')])
                with open(osp.join(run, 'result.json')) as f:
                    result = json.load(f)['stages'][-1]
                self.assertIsNone(result['best_checkpoint'])
                self.assertEqual(result['tested'], result['checkpoint'])
                if last:
                    self.assertTrue(result['tested'].endswith(last))
                with open(osp.join(run, 'log.txt')) as f:
                    log = f.read()
                self.assertNotIn('Epoch(val)', log)
                self.assertNotIn('Iter(val)', log)
                if method == 'dl4all-joint':  # BN re-estimated at the end
                    self.assertIn('Re-estimated BatchNorm statistics', log)
            # resume: nothing is trained again
            with mock.patch('dl4all_mm.evaluation.launchers.local.'
                            'subprocess_executor') as train:
                code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            train.assert_not_called()
            with open(osp.join(work, 'results.json')) as f:
                self.assertEqual(json.load(f), records)


class TestBudgetVal(unittest.TestCase):

    def test_budget_val_selects_on_the_held_out_labels(self):
        """``--selection budget-val``: both methods validate 4 times on
        ``bval_n16_d0.txt`` and test their best checkpoint."""
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            work = osp.join(tmp, 'work')
            argv = ['--source', paths['source'], '--target',
                    paths['target'], '--class-map', CLASS_MAP,
                    '--target-sizes', '16', '--draws', '1',
                    '--selection', 'budget-val',
                    '--methods', 'target-only,dl4all-joint',
                    '--iters', '8', '--img-size', '32', '--backbone',
                    'resnet18', '--recipe', 'lr=0.01',
                    '--no-progress', '--work-dir', work]
            code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            self.assertEqual(len(records), 2)
            with open(osp.join(work, 'data', 'fit_n16_d0.txt'), 'rb') as f:
                fit = f.read()
            for r in records:
                self.assertEqual(r['selection'], 'budget-val')
                self.assertEqual(r['labels_used'], 16)
                self.assertEqual(r['validations'], 4)
                self.assertEqual(r['train_sha256'],
                                 hashlib.sha256(fit).hexdigest())
                self.assertEqual(sum(r['train_counts']), 12)  # 16 - 4
                run = osp.join(work, 'n16', 'd0', 'runs', r['method'],
                               'seed0-foldn16-d0')
                with open(osp.join(run, 'result.json')) as f:
                    result = json.load(f)['stages'][-1]
                self.assertTrue(result['best_checkpoint'])
                self.assertEqual(result['tested'], result['best_checkpoint'])
                with open(osp.join(run, 'log.txt')) as f:
                    log = f.read()
                self.assertEqual(log.count('(val)'), 4, r['method'])


class TestHelp(unittest.TestCase):
    """``--help`` documents every option; every value option has an
    example."""

    def test_every_option_has_help_and_an_example(self):
        import argparse
        parsers = []
        real = argparse.ArgumentParser.parse_args

        def grab(parser, args=None, namespace=None):
            parsers.append(parser)
            return real(parser, args, namespace)

        with mock.patch.object(argparse.ArgumentParser, 'parse_args', grab):
            compare_transfer.parse_args(
                ['--source', 's', '--target', 't', '--work-dir', 'w'])
        options = [a for a in parsers[0]._actions
                   if a.option_strings and a.dest != 'help']
        self.assertGreater(len(options), 20)
        for action in options:
            name = action.option_strings[-1]
            self.assertTrue(action.help, f'{name} has no help')
            if action.nargs != 0:  # takes a value
                self.assertIn('e.g.', action.help, f'{name}: no example')
