"""Label draws and model selection inside the label budget (issue 22,
items 1-2): the written files and protocols of ``compare_transfer.py
--dry-run`` (nothing trains)."""
import glob
import hashlib
import json
import os.path as osp
import shutil
import tempfile
import unittest
from unittest import mock

from mmengine.config import Config

from dl4all_mm.evaluation.protocol_file import load_protocol
from dl4all_mm.evaluation.protocol_runner import expand_protocol
from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.draws import budget_val_split
from dl4all_mm.evaluation.transfer.image_set import InputError
from dl4all_mm.evaluation.transfer.schedule import val_schedule
from tests.test_tools.test_compare_transfer import CLASS_MAP, _run

from .fixtures import make_task

METHODS = 'target-only,sequential,mixed,dl4all-joint,dl4all-greedy'


def _rows(path):
    with open(path) as f:
        return [line.rstrip('\n').rsplit(' ', 1) for line in f]


class DrawCase(unittest.TestCase):
    """Generated folders (train pool 42: normal 18, ALL 24; val 14; test
    14); ``plan(selection)`` dry-runs 3 draws of sizes 8, 16, 24."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.paths = make_task(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def args(self, work, *extra):
        return ['--source', self.paths['source'], '--target',
                self.paths['target'], '--class-map', CLASS_MAP,
                '--target-sizes', '8,16,24', '--img-size', '32',
                '--draws', '3', '--methods', METHODS, '--work-dir', work,
                '--no-progress', *extra]

    def plan(self, selection):
        work = osp.join(self.tmp, selection)
        if not osp.exists(work):
            code, out, err = _run(self.args(work, '--dry-run', '--selection',
                                            selection))
            self.assertEqual(code, 0, out + err)
        return work

    def files(self, work, name):
        return [p for p, _ in _rows(osp.join(work, 'data', name))]

    def protocol(self, work, size, draw):
        path = osp.join(work, f'n{size}', f'd{draw}', 'protocol.json')
        protocol = load_protocol(path)
        return protocol, expand_protocol(protocol, path)


class TestDraws(DrawCase):

    def test_each_draw_its_own_nested_subsets(self):
        work = self.plan('last')
        subsets = {(n, d): set(self.files(work, f'train_n{n}_d{d}.txt'))
                   for n in (8, 16, 24) for d in range(3)}
        for d in range(3):  # nested across sizes within a draw
            self.assertTrue(subsets[(8, d)] < subsets[(16, d)] <
                            subsets[(24, d)])
            for n in (8, 16, 24):
                self.assertEqual(len(subsets[(n, d)]), n)
        for n in (8, 16, 24):  # different files per draw
            self.assertEqual(len({frozenset(subsets[(n, d)])
                                  for d in range(3)}), 3, n)
        with open(osp.join(work, 'data', 'task.json')) as f:
            self.assertNotIn('draws', json.load(f))  # more draws: resume

    def test_draws_per_size(self):
        """``--draws 3,2,1``: 3 draws at 8, 2 at 16, 1 at 24; draw d is the
        same subset as with one count, so nesting within a draw holds."""
        work = osp.join(self.tmp, 'per_size')
        code, out, err = _run(self.args(work, '--dry-run', '--draws',
                                        '3,2,1'))
        self.assertEqual(code, 0, out + err)
        dirs = sorted(osp.relpath(p, work) for p in glob.glob(
            osp.join(work, 'n*', 'd*')))
        self.assertEqual(dirs, ['n16/d0', 'n16/d1', 'n24/d0', 'n8/d0',
                                'n8/d1', 'n8/d2'])
        same = self.plan('last')
        for n, d in (('8', 2), ('16', 1), ('24', 0)):
            name = f'train_n{n}_d{d}.txt'
            self.assertEqual(self.files(work, name), self.files(same, name))
        code, out, err = _run(self.args(osp.join(self.tmp, 'bad'),
                                        '--dry-run', '--draws', '3,2'))
        self.assertEqual(code, 2)
        self.assertIn('--draws 3,2: 2 counts for 3 target sizes', err)
        code, out, err = _run(self.args(osp.join(self.tmp, 'bad'),
                                        '--dry-run', '--draws', '3,x'))
        self.assertEqual(code, 2)
        self.assertIn("--draws '3,x'", err)

    def test_every_method_trains_on_the_draws_files(self):
        work = self.plan('last')
        for d in range(3):
            for n in (8, 24):
                protocol, runs = self.protocol(work, n, d)
                train = osp.join(work, 'data', f'train_n{n}_d{d}.txt')
                self.assertEqual(protocol['seeds'], [d])  # repeat 0
                self.assertEqual(protocol['folds'], [f'n{n}-d{d}'])
                self.assertEqual(len(runs), 5)
                for run in runs:
                    self.assertEqual(run.seed, d)
                    read = {v for s in run.stages
                            for k, v in s['cfg_options'].items()
                            if k.endswith('.ann_file')}
                    targets = {v for v in read if 'train_n' in v or
                               'fit_n' in v}
                    self.assertEqual(targets, {osp.abspath(train)},
                                     run.method)
                fields = protocol['record_fields']
                self.assertEqual(fields['draw'], d)
                self.assertEqual(fields['selection'], 'last')
                self.assertEqual(fields['labels_used'], n)
                with open(train, 'rb') as f:
                    self.assertEqual(fields['train_sha256'],
                                     hashlib.sha256(f.read()).hexdigest())
                labels = [int(i) for _, i in _rows(train)]
                self.assertEqual(fields['train_counts'],
                                 [labels.count(0), labels.count(1)])

    def test_no_validation_or_test_image_in_training(self):
        for selection in ('last', 'budget-val', 'extra-val'):
            work = self.plan(selection)
            held = set(self.files(work, 'val.txt')) | set(
                self.files(work, 'test.txt'))
            self.assertEqual(len(held), 28)
            for n in (8, 16, 24):
                for d in range(3):
                    names = [f'train_n{n}_d{d}.txt']
                    if selection == 'budget-val':
                        names += [f'fit_n{n}_d{d}.txt',
                                  f'bval_n{n}_d{d}.txt']
                    for name in names:
                        self.assertFalse(
                            held & set(self.files(work, name)), name)

    def test_repeats_give_run_seeds(self):
        work = osp.join(self.tmp, 'repeats')
        code, out, err = _run(self.args(work, '--dry-run', '--seeds', '0,2',
                                        '--methods', 'target-only'))
        self.assertEqual(code, 0, out + err)
        protocol, runs = self.protocol(work, 16, 1)
        self.assertEqual(protocol['seeds'], [1, 2001])
        self.assertIn('n16/d1/runs/target-only/seed2001-foldn16-d1', out)
        self.assertIn('target size 16 draw 2: normal', out)  # counts


class TestSelection(DrawCase):

    def stage_cfgs(self, runs):
        """Each run's final stage config as the worker merges it."""
        out = {}
        for run in runs:
            stage = run.stages[-1]
            cfg = Config.fromfile(stage['config'])
            cfg.merge_from_dict(stage['cfg_options'])
            out[run.method] = cfg
        return out

    def test_last_validates_nothing(self):
        work = self.plan('last')
        _, runs = self.protocol(work, 16, 1)
        for method, cfg in self.stage_cfgs(runs).items():
            for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
                self.assertIsNone(cfg.get(key), method)
            self.assertIsNone(cfg.default_hooks.checkpoint.save_best)

    def test_budget_val_holds_out_a_quarter_of_the_budget(self):
        work = self.plan('budget-val')
        for n in (8, 16, 24):
            for d in range(3):
                train = _rows(osp.join(work, 'data', f'train_n{n}_d{d}.txt'))
                fit = _rows(osp.join(work, 'data', f'fit_n{n}_d{d}.txt'))
                bval = _rows(osp.join(work, 'data', f'bval_n{n}_d{d}.txt'))
                self.assertEqual(sorted(fit + bval), sorted(train))
                self.assertFalse({p for p, _ in fit} & {p for p, _ in bval})
                for c in ('0', '1'):
                    n_c = sum(1 for _, i in train if i == c)
                    held = sum(1 for _, i in bval if i == c)
                    self.assertEqual(held, max(2, round(n_c / 4)))
                    self.assertGreater(n_c - held, 0)
                protocol, runs = self.protocol(work, n, d)
                fields = protocol['record_fields']
                self.assertEqual(fields['labels_used'], n)
                self.assertEqual(fields['selection'], 'budget-val')
                self.assertEqual(sum(fields['train_counts']), len(fit))
                if n == 24 and d == 0:
                    cfgs = self.stage_cfgs(runs)
        path = osp.join(work, 'data', 'bval_n24_d0.txt')
        for method, cfg in cfgs.items():
            self.assertIn(path, repr(cfg.val_dataloader), method)
            self.assertIn(osp.join(work, 'data', 'fit_n24_d0.txt'),
                          repr(cfg.train_dataloader), method)
            self.assertNotIn('val.txt', repr(cfg.val_dataloader), method)

    def test_extra_val_counts_the_validation_labels(self):
        work = self.plan('extra-val')
        protocol, runs = self.protocol(work, 8, 2)
        self.assertEqual(protocol['record_fields']['labels_used'], 8 + 14)
        self.assertIn('every result used n + 14 labelled target images',
                      ' '.join(protocol['notes']))
        for method, cfg in self.stage_cfgs(runs).items():
            self.assertIn(osp.join(work, 'data', 'val.txt'),
                          repr(cfg.val_dataloader), method)

    def test_every_method_validates_on_one_schedule(self):
        """4 validations at the same fractions of every budget where the
        arithmetic allows (DL4ALL: epochs after its warm-up epoch)."""
        for iters, n in ((300, 24), (300, 240), (120, 96), (40, 16)):
            counts = {m: tm.validation_count(m, iters, tm.recipe_of(m), n, 4)
                      for m in METHODS.split(',')}
            self.assertEqual(set(counts.values()), {4}, (iters, n, counts))
        # the loop rule: validate after unit u >= val_begin when
        # u % interval == 0 or u is the last unit
        for total, warmup in ((300, 0), (9, 1), (120, 1), (13, 1), (5, 0)):
            interval, begin, points = val_schedule(total, warmup, 4)
            loop = [u for u in range(warmup + 1, total + 1)
                    if u >= begin and (u % interval == 0 or u == total)]
            self.assertEqual(points, loop)
            self.assertEqual(points[-1], total)
            self.assertLessEqual(len(points), 4)
        self.assertEqual(val_schedule(300, 0, 4)[2], [75, 150, 225, 300])
        self.assertEqual(val_schedule(9, 1, 4)[2], [4, 6, 8, 9])


class TestBadInputs(DrawCase):

    def assert_fails(self, argv, *needles):
        with mock.patch('dl4all_mm.evaluation.transfer.compare.'
                        'execute_protocol') as train:
            code, out, err = _run(argv)
        self.assertEqual(code, 2, out + err)
        train.assert_not_called()
        self.assertNotIn('Traceback', err)
        for needle in needles:
            self.assertIn(needle, err)

    def test_each_bad_value(self):
        work = osp.join(self.tmp, 'bad')
        self.assert_fails(self.args(work, '--draws', '0'), '--draws 0')
        self.assert_fails(self.args(work, '--selection', 'best'),
                          "--selection 'best'", 'budget-val')
        self.assert_fails(self.args(work, '--seeds', '1000'),
                          "--seeds '1000'")
        argv = self.args(work)
        argv[argv.index('8,16,24')] = '8,43'
        self.assert_fails(argv, 'target size 43', 'has only 42 images')
        argv = self.args(work, '--selection', 'budget-val')
        argv[argv.index('8,16,24')] = '4,16'  # normal 2, ALL 2
        self.assert_fails(argv, 'target size 4', "class 'normal'",
                          'budget-val')
        self.assertFalse(osp.exists(osp.join(work, 'n4')))

    def test_budget_val_split_names_size_and_class(self):
        with self.assertRaisesRegex(InputError, r"size 10 \(draw 3\).*'b'"):
            budget_val_split([0] * 8 + [1] * 2, 10, 3, ['a', 'b'])
        fit, held = budget_val_split([0] * 8 + [1] * 3, 11, 3, ['a', 'b'])
        self.assertEqual((len(fit), len(held)), (7, 4))
