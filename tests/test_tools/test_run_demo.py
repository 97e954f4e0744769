"""tools/run_demo.py: DL4ALL and target-only fine-tuning train with the same
backbone, init, input size, augmentation, optimizer and budget; a tiny run
of both on the embedded demo data prints them side by side and writes
summary.json."""
import contextlib
import importlib.util
import io
import json
import os
import os.path as osp
import tempfile
from unittest import TestCase, skipUnless

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
        classes=CLASSES,
        balanced_accuracy=ba,
        target_accuracy=acc,
        per_class_recall=dict(zip(CLASSES, recalls)),
        confusion_matrix=[[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0],
                          [0, 0, 0, 5]],
        wall_s=wall)


def options(pairs: dict) -> list:
    return [f'{k}={v}' for k, v in pairs.items()]


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
        self.assertEqual(rows['wall time (s)'], ['61', '52'])
        text = self.tool.report(results, 'x/summary.json')
        self.assertIn('(20 images)', text)
        self.assertIn('target-only confusion matrix', text)

    @skipUnless(osp.exists(DEMO), 'embedded demo data missing')
    def test_tiny_run_prints_and_writes_both_methods(self):
        with tempfile.TemporaryDirectory() as tmp:
            argv = ['--work-dir', tmp, '--cfg-options'] + options(
                TINY_DL4ALL) + ['--baseline-cfg-options'] + options(
                    TINY_TARGET_ONLY)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                returned = self.tool.main(argv)
            with open(osp.join(tmp, 'summary.json')) as f:
                summary = json.load(f)
            self.assertEqual(summary, json.loads(json.dumps(returned)))
            base = summary.pop('target_only')
            for method, result in (('dl4all', summary),
                                   ('target_only', base)):
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
            text = out.getvalue()
            header = [l for l in text.splitlines()
                      if l.split() == ['DL4ALL', 'target-only']]
            self.assertEqual(len(header), 1, text)
            ba = [l for l in text.splitlines()
                  if l.strip().startswith('balanced accuracy')]
            self.assertEqual(ba[-1].split()[-2:], [
                f'{summary["balanced_accuracy"]:.3f}',
                f'{base["balanced_accuracy"]:.3f}'
            ], text)
