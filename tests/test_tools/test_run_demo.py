"""tools/run_demo.py: DL4ALL and target-only fine-tuning train with the same
backbone, init, input size, augmentation, optimizer and budget; a tiny run
of both on the embedded demo data prints them side by side and writes
summary.json; it repeats exactly (metrics and final weights) and another
seed changes it; the terminal gets progress bars and the table, the log
files the rest; errors print in full."""
import contextlib
import importlib.util
import io
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
from unittest import TestCase, skipUnless

import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'data', 'demo', 'bccd_wbc', 'splits', 'train.txt')
CLASSES = ['Eosinophil', 'Lymphocyte', 'Monocyte', 'Neutrophil']
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
NO_WORKERS = {
    key: value
    for loader in LOADERS
    for key, value in ((f'{loader}.num_workers', 0),
                       (f'{loader}.persistent_workers', False))
}
# DL4ALL: one epoch of 2 paired steps; target-only: 2 steps of 16 images.
TINY_DL4ALL = dict(NO_WORKERS, **{
    'train_dataloader.batch_sampler.epoch_length': 2,
    'train_cfg.max_epochs': 1,
    'custom_hooks.3.num_batches': 2,
})
TINY_TARGET_ONLY = dict(NO_WORKERS, **{
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 2,
    'default_hooks.checkpoint.interval': 2,
})


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'run_demo', osp.join(ROOT, 'tools', 'run_demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_result(ba: float, acc: float, recalls, wall: float) -> dict:
    return dict(
        backbone='EfficientNetLite0',
        init='ImageNet weights',
        steps=208,
        classes=CLASSES,
        balanced_accuracy=ba,
        target_accuracy=acc,
        per_class_recall=dict(zip(CLASSES, recalls)),
        confusion_matrix=[[5, 0, 0, 0], [0, 4, 0, 0], [0, 0, 5, 0],
                          [0, 0, 0, 5]],
        wall_s=wall)


def options(pairs: dict) -> list:
    return [f'{k}={v}' for k, v in pairs.items()]


def tiny_argv(work_dir: str, **extra) -> list:
    """The tiny demo's arguments; ``extra`` adds to both configs' options."""
    return ['--work-dir', work_dir, '--cfg-options'] + options(
        dict(TINY_DL4ALL, **extra)) + ['--baseline-cfg-options'] + options(
            dict(TINY_TARGET_ONLY, **extra))


def final_weights(run_dir: str) -> dict:
    """The state dict of a run's last checkpoint."""
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        path = f.read().strip()
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def metrics(result: dict) -> dict:
    keys = ('balanced_accuracy', 'target_accuracy', 'per_class_recall',
            'confusion_matrix')
    return {k: result[k] for k in keys}


class TestRunDemo(TestCase):

    def setUp(self):
        self.cwd = os.getcwd()
        os.chdir(ROOT)  # configs use paths relative to the repository
        self.tool = load_tool()

    def tearDown(self):
        os.chdir(self.cwd)

    def test_same_init_input_augmentation_optimizer_and_budget(self):
        dl4all = Config.fromfile(osp.join(ROOT, self.tool.DEMO_CONFIG))
        base = Config.fromfile(osp.join(ROOT, self.tool.BASELINE_CONFIG))
        for cfg in (dl4all, base):
            self.assertEqual(cfg.model.backbone.type, 'EfficientNetLite0')
            self.assertTrue(cfg.model.backbone.pretrained_imagenet)
            self.assertEqual(cfg.default_hooks.checkpoint.save_best,
                             'diagnostic/balanced_accuracy')
        self.assertEqual(dl4all.img_size, base.img_size)
        target = dl4all.train_dataloader.dataset.datasets.target
        self.assertEqual(target.pipeline, base.train_dataloader.dataset.pipeline)
        self.assertEqual(target.ann_file,
                         base.train_dataloader.dataset.ann_file)
        for loader in ('val_dataloader', 'test_dataloader'):
            self.assertEqual(dl4all[loader].dataset, base[loader].dataset)
        self.assertIn({'type': 'Resize', 'scale': (base.img_size, ) * 2},
                      target.pipeline)
        self.assertEqual(dl4all.optim_wrapper, base.optim_wrapper)
        # optimizer steps and images per step (DL4ALL: 8 + 8, 26 steps an
        # epoch over the 209 target training images, no warm-up epoch)
        steps_per_epoch = 209 // dl4all.train_dataloader.batch_size
        self.assertEqual(dl4all.train_cfg.warmup_epochs, 0)
        self.assertEqual(dl4all.train_cfg.max_epochs * steps_per_epoch,
                         base.train_cfg.max_iters)
        self.assertEqual(2 * dl4all.train_dataloader.batch_size,
                         base.train_dataloader.batch_size)
        self.assertEqual(dl4all.train_cfg.val_interval * steps_per_epoch,
                         base.train_cfg.val_interval)
        for cfg in (dl4all, base):
            cosine, = cfg.param_scheduler
            self.assertEqual((cosine.type, cosine.begin, cosine.eta_min),
                             ('CosineAnnealingLR', 0, 1e-4))

    def test_both_demo_configs_are_deterministic(self):
        for path in (self.tool.DEMO_CONFIG, self.tool.BASELINE_CONFIG):
            cfg = Config.fromfile(osp.join(ROOT, path))
            self.assertEqual(cfg.randomness, dict(seed=0, deterministic=True),
                             path)

    def test_side_by_side_table(self):
        results = dict(
            dl4all=fake_result(0.875, 0.9, [1.0, 0.75, 0.5, 1.25], 61),
            target_only=fake_result(0.625, 0.7, [0.25, 0.5, 0.75, 1.0], 52))
        lines = self.tool.side_by_side(results)
        self.assertEqual(lines[0].split(), ['DL4ALL', 'target-only'])
        rows = {l.rsplit(maxsplit=2)[0].strip(): l.split()[-2:]
                for l in lines[1:]}
        self.assertEqual(rows['balanced accuracy'], ['0.875', '0.625'])
        self.assertEqual(rows['accuracy'], ['0.900', '0.700'])
        self.assertEqual(rows['recall Monocyte'], ['0.500', '0.750'])
        self.assertEqual(rows['recall Neutrophil'], ['1.250', '1.000'])
        self.assertEqual(len(rows), 6)  # no wall time: it varies
        text = self.tool.report(results, 'x/summary.json')
        self.assertIn('(19 images)', text)
        self.assertIn('target-only confusion matrix', text)
        notes = text.splitlines()[-4:-1]
        self.assertIn('EfficientNetLite0 from ImageNet weights', notes[0])
        self.assertIn('208 optimizer steps each', notes[0])
        self.assertIn('19 test images, 4 of them Lymphocyte', notes[1])
        self.assertIn('recall by 0.250 and the balanced accuracy by 0.062',
                      notes[1])
        self.assertIn('python tools/compare_transfer.py --source '
                      'data/demo/pbc', notes[2])
        self.assertIn('--seeds 0,1,2,3,4', notes[2])


@skipUnless(osp.exists(DEMO), 'embedded demo data missing')
class TestTinyDemo(TestCase):
    """Three tiny demos: seed 0 twice (the first with its terminal output
    captured), then seed 1."""

    @classmethod
    def setUpClass(cls):
        cls.cwd = os.getcwd()
        os.chdir(ROOT)  # configs use paths relative to the repository
        cls.tool = load_tool()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dirs = [osp.join(cls.tmp.name, n) for n in ('a', 'b', 'seed1')]
        cls.state = (torch.get_num_threads(),
                     torch.are_deterministic_algorithms_enabled())
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cls.returned = cls.tool.main(tiny_argv(cls.dirs[0]))
        cls.terminal = out.getvalue() + err.getvalue()
        cls.state_after = (torch.get_num_threads(),
                           torch.are_deterministic_algorithms_enabled())
        with contextlib.redirect_stdout(io.StringIO()):
            cls.again = cls.tool.main(tiny_argv(cls.dirs[1]))
            # one method is enough to show that the comparison can fail
            with cls.tool.fixed_threads(cls.tool.THREADS):
                cls.seed1 = cls.tool.run_method(
                    'target_only', cls.tool.BASELINE_CONFIG,
                    dict(TINY_TARGET_ONLY, **{'randomness.seed': 1}),
                    cls.dirs[2])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        os.chdir(cls.cwd)

    def test_prints_and_writes_both_methods(self):
        tmp = self.dirs[0]
        with open(osp.join(tmp, 'summary.json')) as f:
            summary = json.load(f)
        self.assertEqual(summary, json.loads(json.dumps(self.returned)))
        self.assertEqual(summary['threads'], self.tool.THREADS)
        base = summary.pop('target_only')
        for method, result in (('dl4all', summary), ('target_only', base)):
            self.assertEqual(result['classes'], CLASSES)
            self.assertEqual(list(result['per_class_recall']), CLASSES)
            recall = list(result['per_class_recall'].values())
            self.assertAlmostEqual(result['balanced_accuracy'],
                                   sum(recall) / 4)
            matrix = result['confusion_matrix']
            self.assertEqual(sum(map(sum, matrix)), 70)  # test split
            correct = sum(matrix[i][i] for i in range(4))
            self.assertAlmostEqual(result['target_accuracy'],
                                   correct / 70, places=4)
            self.assertEqual((result['seed'], result['steps']), (0, 2))
            self.assertGreater(result['wall_s'], 0)
            self.assertGreaterEqual(
                result['wall_s'],
                result['train_wall_s'] + result['test_wall_s'] - 0.2)
            self.assertTrue(
                result['checkpoint'].startswith(osp.join(tmp, method)))
            self.assertTrue(osp.isfile(result['checkpoint']))
        self.assertEqual(summary['config'], self.tool.DEMO_CONFIG)
        self.assertEqual(base['config'], self.tool.BASELINE_CONFIG)
        self.assertGreaterEqual(summary['total_wall_s'],
                                summary['wall_s'] + base['wall_s'] - 0.2)
        text = self.terminal
        header = [l for l in text.splitlines()
                  if l.split() == ['DL4ALL', 'target-only']]
        self.assertEqual(len(header), 1, text)
        ba = [l for l in text.splitlines()
              if l.strip().startswith('balanced accuracy')]
        self.assertEqual(ba[-1].split()[-2:], [
            f'{summary["balanced_accuracy"]:.3f}',
            f'{base["balanced_accuracy"]:.3f}'
        ], text)

    def test_same_command_same_metrics_and_weights(self):
        for key in ('dl4all', 'target_only'):
            first = self.returned if key == 'dl4all' else self.returned[key]
            again = self.again if key == 'dl4all' else self.again[key]
            self.assertEqual(metrics(first), metrics(again), key)
            weights = final_weights(osp.join(self.dirs[0], key))
            weights_again = final_weights(osp.join(self.dirs[1], key))
            self.assertEqual(list(weights), list(weights_again))
            for name, tensor in weights.items():
                self.assertTrue(torch.equal(tensor, weights_again[name]),
                                f'{key}: {name} differs between two runs')

    def test_another_seed_other_weights(self):
        # the comparison above can fail: seed 1 trains other weights
        weights = final_weights(osp.join(self.dirs[0], 'target_only'))
        other = final_weights(osp.join(self.dirs[2], 'target_only'))
        self.assertEqual(list(weights), list(other))
        self.assertFalse(
            all(torch.equal(t, other[n]) for n, t in weights.items()))
        self.assertEqual(self.seed1['seed'], 1)

    def test_quiet_terminal_full_log_files(self):
        lines = self.terminal.splitlines()
        bars = [l for l in lines if ' steps  ' in l]
        self.assertTrue(any(l.startswith('DL4ALL ') for l in bars), lines)
        self.assertTrue(
            any(l.startswith('target-only ') for l in bars), lines)
        self.assertLess(len(lines) - len(bars), 40, self.terminal)
        for noise in ('System environment', 'Hooks will be executed',
                      'Epoch(train)', 'Iter(train)', 'Saving checkpoint',
                      'Config:', 'UserWarning'):
            self.assertNotIn(noise, self.terminal)
        logs = [l.split('full log in ', 1)[1] for l in lines
                if 'full log in ' in l]
        self.assertEqual(len(logs), 2, self.terminal)
        for path in logs:
            with open(path) as f:
                log = f.read()
            self.assertIn('Hooks will be executed', log)
            self.assertIn('Saving checkpoint', log)
        self.assertIn('For an answer (5 seeds, paired tests): python '
                      'tools/compare_transfer.py', self.terminal)

    def test_global_state_restored(self):
        self.assertEqual(self.state_after, self.state)


@skipUnless(osp.exists(DEMO), 'embedded demo data missing')
class TestDemoErrors(TestCase):

    def run_tool(self, *extra):
        with tempfile.TemporaryDirectory() as tmp:
            argv = tiny_argv(tmp)
            argv.insert(argv.index('--baseline-cfg-options'),
                        'train_dataloader.dataset.datasets.target.ann_file='
                        'splits/no_such_split.txt')
            return subprocess.run(
                [sys.executable, 'tools/run_demo.py', *argv, *extra],
                cwd=ROOT, capture_output=True, text=True, timeout=600,
                env=dict(os.environ, PYTHONPATH=ROOT))

    def test_error_prints_in_full(self):
        proc = self.run_tool()
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('Traceback (most recent call last)', proc.stderr)
        self.assertIn('no_such_split.txt', proc.stderr)
        self.assertRegex(proc.stderr, r'DL4ALL failed; full log: \S+\.log')
        self.assertNotIn('System environment', proc.stdout)

    def test_verbose_prints_the_logs(self):
        proc = self.run_tool('--verbose')
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('System environment', proc.stdout)
        self.assertIn('Hooks will be executed', proc.stdout)
        self.assertIn('no_such_split.txt', proc.stderr)
