"""Tests of tools/analysis_tools/plot_run.py on a real (tiny) run."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import tempfile
import unittest

import cv2
import numpy as np
import torch

import dl4all_mm  # noqa: F401
from tests.conftest import tiny_resnet, tint
from tests.conftest import write_images as write_noise_images

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'plot_run', osp.join(ROOT, 'tools', 'analysis_tools', 'plot_run.py'))
plot_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plot_run)

PNGS = [
    'loss.png', 'lr.png', 'val_metrics.png', 'confusion_matrix.png', 'roc.png'
]


def _write_class_folders(root: str, classes, per_class: int, seed: int):
    items = [(f'{name}/{i}.png', c) for c, name in enumerate(classes)
             for i in range(per_class)]
    # a learnable colour cue
    write_noise_images(root, items, size=24, seed=seed, high=60,
                       offset=tint, legacy_rng=True)


def _tiny_run_cfg(data: str, work_dir: str) -> dict:
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    dataset = dict(type='CustomDataset', pipeline=pipeline)
    target = dict(dataset, data_root=osp.join(data, 'tgt'))
    loader = dict(
        batch_size=4,
        num_workers=0,
        dataset=target,
        sampler=dict(type='DefaultSampler', shuffle=False))
    norm = dict(mean=[100.] * 3, std=[60.] * 3)
    head = dict(type='LinearClsHead', in_channels=64)
    return dict(
        default_scope='mmpretrain',
        work_dir=work_dir,
        model=dict(
            type='DomainImageClassifier',
            backbone=dict(
                tiny_resnet()),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='DomainMultiTaskHead',
                task_heads=dict(
                    source=dict(head, num_classes=3),
                    target=dict(head, num_classes=2))),
            data_preprocessor=dict(
                type='DomainDataPreprocessor',
                domain_norm=dict(source=norm, target=norm))),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='DomainBatchSampler', schedule='paired'),
            dataset=dict(
                type='InterleavedDatasetWrapper',
                datasets=dict(
                    source=dict(dataset, data_root=osp.join(data, 'src')),
                    target=target))),
        val_dataloader=loader,
        test_dataloader=loader,
        val_evaluator=dict(type='Accuracy', topk=(1, )),
        test_evaluator=[
            dict(type='Accuracy', topk=(1, )),
            dict(type='ConfusionMatrix'),
            dict(
                type='DumpResults',
                out_file_path=osp.join(work_dir, 'test_preds.pkl'))
        ],
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        param_scheduler=dict(
            type='StepLR', by_epoch=True, step_size=1, gamma=0.5),
        train_cfg=dict(type='DomainTrainLoop', max_epochs=2, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', interval=1)),
        visualizer=dict(
            type='UniversalVisualizer',
            vis_backends=[dict(type='LocalVisBackend')]),
        log_level='WARNING',
        randomness=dict(seed=0))


class TestPlotRunOnTinyRun(unittest.TestCase):
    """Train 2 epochs of a tiny DL4ALL model, test it, plot everything."""

    @classmethod
    def setUpClass(cls):
        from mmengine.config import Config
        from mmengine.runner import Runner
        cls.tmp = tempfile.TemporaryDirectory()
        data = osp.join(cls.tmp.name, 'data')
        _write_class_folders(osp.join(data, 'src'), ['a', 'b', 'c'], 4, 0)
        _write_class_folders(osp.join(data, 'tgt'), ['normal', 'ALL'], 4, 1)
        cls.work_dir = osp.join(cls.tmp.name, 'work')
        runner = Runner.from_cfg(Config(_tiny_run_cfg(data, cls.work_dir)))
        runner.train()
        cls.test_metrics = runner.test()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_scalars_per_domain(self):
        train, val = plot_run.load_scalars(self.work_dir)
        keys = set().union(*train)
        self.assertTrue({'loss', 'source_loss', 'target_loss', 'lr'} <= keys)
        self.assertEqual([r['step'] for r in val], [1, 2])  # epochs
        self.assertIn('accuracy/top1', val[0])
        lrs = sorted({r['lr'] for r in train})
        self.assertEqual(len(lrs), 2)  # StepLR halved it after epoch 1

    def test_plots_and_confusion_matrix(self):
        out = osp.join(self.tmp.name, 'plots')
        code = plot_run.main([self.work_dir, '--out-dir', out])
        self.assertEqual(code, 0)
        for name in PNGS:
            img = cv2.imread(osp.join(out, name))
            self.assertIsNotNone(img, name)
            self.assertGreater(img.std(), 5, name)  # not a blank canvas
        # Matrix from the dumped predictions == the logged metric.
        scores, labels = plot_run.load_predictions(
            osp.join(self.work_dir, 'test_preds.pkl'))
        self.assertEqual(scores.shape, (8, 2))
        np.testing.assert_allclose(scores.sum(1), 1, atol=1e-5)
        self.assertEqual(sorted(labels.tolist()), [0] * 4 + [1] * 4)
        matrix = np.zeros((2, 2), int)
        np.add.at(matrix, (labels, scores.argmax(1)), 1)
        logged = self.test_metrics['confusion_matrix/result']
        np.testing.assert_array_equal(matrix, np.asarray(logged))
        self.assertEqual(
            plot_run.load_test_metrics(
                self.work_dir)['confusion_matrix/result'],
            np.asarray(logged).tolist())
        # Class names come from the target domain of the checkpoint meta.
        # (loaded weights-only: Runner checkpoints must not need trust)
        self.assertEqual(
            plot_run.checkpoint_classes(self.work_dir, None),
            ['ALL', 'normal'])
        self.assertEqual(
            plot_run.checkpoint_classes(self.work_dir, 'source'),
            ['a', 'b', 'c'])


class TestPlotRunFromLogsOnly(unittest.TestCase):
    """A run without test_preds.pkl: the confusion matrix comes from the
    logged ``diagnostic/confusion_matrix`` (validation, then test) and one
    line says what the ROC curve needs."""

    @classmethod
    def setUpClass(cls):
        from mmengine.config import Config
        from mmengine.runner import Runner
        cls.tmp = tempfile.TemporaryDirectory()
        data = osp.join(cls.tmp.name, 'data')
        _write_class_folders(osp.join(data, 'src'), ['a', 'b', 'c'], 2, 0)
        _write_class_folders(osp.join(data, 'tgt'), ['normal', 'ALL'], 2, 1)
        cls.work_dir = osp.join(cls.tmp.name, 'work')
        cfg = _tiny_run_cfg(data, cls.work_dir)
        cfg['train_cfg']['max_epochs'] = 1
        cfg['val_evaluator'] = dict(type='DiagnosticMetric')
        cfg['test_evaluator'] = dict(type='DiagnosticMetric')
        cfg['log_level'] = 'INFO'  # metrics reach the text log
        cls.runner = Runner.from_cfg(Config(cfg))
        cls.runner.train()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def _plot(self, out: str) -> str:
        import contextlib
        import io
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = plot_run.main([self.work_dir, '--out-dir', out])
        self.assertEqual(code, 0)
        return stdout.getvalue()

    def test_matrix_from_validation_then_test_logs(self):
        self.assertFalse(
            osp.exists(osp.join(self.work_dir, 'test_preds.pkl')))
        out = osp.join(self.tmp.name, 'val_plots')
        printed = self._plot(out)
        self.assertTrue(osp.isfile(osp.join(out, 'confusion_matrix.png')))
        self.assertFalse(osp.exists(osp.join(out, 'roc.png')))
        matrix, source = plot_run.logged_confusion_matrix(self.work_dir)
        self.assertEqual(np.asarray(matrix).sum(), 4)  # 4 target images
        self.assertIn('validation epoch 1', source)
        lines = [ln for ln in printed.splitlines() if 'ROC' in ln]
        self.assertEqual(len(lines), 1, printed)
        self.assertIn('tools/test.py', lines[0])
        self.assertIn('--out', lines[0])

        metrics = self.runner.test()
        matrix, source = plot_run.logged_confusion_matrix(self.work_dir)
        self.assertEqual(source, 'test, diagnostic/confusion_matrix')
        np.testing.assert_array_equal(
            matrix, metrics['diagnostic/confusion_matrix'])
        out = osp.join(self.tmp.name, 'test_plots')
        self.assertIn('test, diagnostic/confusion_matrix', self._plot(out))
        self.assertTrue(osp.isfile(osp.join(out, 'confusion_matrix.png')))


class TestPlotRunInputs(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name

    def _log(self, run: str, records):
        vis = osp.join(self.dir, run, 'vis_data')
        os.makedirs(vis)
        with open(osp.join(vis, f'{run}.json'), 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in records)

    def test_resumed_runs_replace_repeated_steps(self):
        self._log('20240101_000000', [
            dict(lr=0.1, loss=1.0, step=1),
            dict(lr=0.1, loss=0.9, step=2),
            dict(lr=0.1, loss=0.8, step=3), {
                'accuracy/top1': 50.,
                'step': 1
            }
        ])
        self._log('20240101_010000', [
            dict(lr=0.05, loss=0.7, step=3),
            dict(lr=0.05, loss=0.6, step=4), {
                'accuracy/top1': 60.,
                'step': 2
            }
        ])
        train, val = plot_run.load_scalars(self.dir)
        self.assertEqual([(r['step'], r['loss']) for r in train], [(1, 1.0),
                                                                   (2, 0.9),
                                                                   (3, 0.7),
                                                                   (4, 0.6)])
        self.assertEqual([r['accuracy/top1'] for r in val], [50., 60.])
        out = osp.join(self.dir, 'p')
        self.assertEqual(plot_run.main([self.dir, '--out-dir', out]), 0)
        self.assertEqual(
            sorted(os.listdir(out)), ['loss.png', 'lr.png', 'val_metrics.png'])

    def test_bad_inputs(self):
        with self.assertRaisesRegex(FileNotFoundError, 'nowhere'):
            plot_run.main([osp.join(self.dir, 'nowhere')])
        self.assertEqual(plot_run.main([self.dir]), 1)  # nothing to plot
        self.assertFalse(osp.exists(osp.join(self.dir, 'plots')))
        vis = osp.join(self.dir, '20240101_000000', 'vis_data')
        os.makedirs(vis)
        with open(osp.join(vis, 'scalars.json'), 'w') as f:
            f.write('{broken\n')
        with self.assertRaisesRegex(ValueError, 'line 1'):
            plot_run.load_scalars(self.dir)

    def test_predictions_pickle_is_loaded_safely(self):
        from mmengine.fileio import dump
        good = osp.join(self.dir, 'good.pkl')
        dump([
            dict(
                pred_score=torch.tensor([0.3, 0.7]),
                gt_label=torch.tensor([1]),
                img_path='x.png')
        ], good)
        scores, labels = plot_run.load_predictions(good)
        np.testing.assert_allclose(scores, [[0.3, 0.7]])
        self.assertEqual(labels.tolist(), [1])
        evil = osp.join(self.dir, 'evil.pkl')
        with open(evil, 'wb') as f:
            pickle.dump([dict(pred_score=_Evil())], f)
        with self.assertRaisesRegex(ValueError, 'posix.getcwd|os.getcwd'):
            plot_run.load_predictions(evil)
        with self.assertRaisesRegex(ValueError, 'lacks'):
            plot_run.load_predictions(evil, trust=True)
        with self.assertRaisesRegex(FileNotFoundError, 'missing.pkl'):
            plot_run.main(
                [self.dir, '--preds',
                 osp.join(self.dir, 'missing.pkl')])


class _Evil:
    """Unpickles into a call of ``os.getcwd`` (harmless stand-in)."""

    def __reduce__(self):
        return (os.getcwd, ())


if __name__ == '__main__':
    unittest.main()
