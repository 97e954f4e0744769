"""The probe baselines of the comparison: ``linear-probe`` (the probe
config, the comparison's data and class weights, no augmentation) and
``lp-ft`` (the probe, then target-only from the probe's whole model for the
whole budget); a tiny run of both through tools/compare_transfer.py."""
import dataclasses
import glob
import io
import json
import os.path as osp
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

import torch
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS

from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.data_options import task_data
from dl4all_mm.evaluation.transfer.image_set import InputError
from .fixtures import make_task
from .test_methods import DATA, _cfg

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', '..',
                            'tools'))
import compare_transfer  # noqa: E402

CLASS_MAP = 'Benign=normal;Early,Pre=ALL'


def _run(argv) -> tuple:
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        code = compare_transfer.main(argv)
    return code, out.getvalue(), err.getvalue()


def _augments(pipeline) -> list:
    return [t['type'] for t in pipeline
            if t['type'] in ('RandomFlip', 'Rotate', 'RandomResizedCrop')]


class TestProbeStages(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        ann = osp.join(self.tmp.name, 'train_n24.txt')
        with open(ann, 'w') as f:  # 2 normal, 22 ALL
            f.writelines(f'/d/img{i}.png {int(i >= 2)}\n' for i in range(24))
        self.data = dataclasses.replace(DATA, target_ann=ann)

    def tearDown(self):
        self.tmp.cleanup()

    def test_linear_probe_stage(self):
        recipe = tm.recipe_of('linear-probe')
        (stage, ) = tm.stages('linear-probe', 100, 'efficientnet-lite0',
                              recipe, [3.0, 0.6], 24, self.data)
        self.assertEqual(stage['data_layout'], 'single')
        cfg = _cfg(stage, task_data(self.data))
        self.assertEqual(cfg.train_cfg.type, 'LinearProbeLoop')
        self.assertEqual(cfg.train_cfg.class_weight, [3.0, 0.6])
        self.assertEqual(len(cfg.train_cfg.c_grid), 10)
        train = cfg.train_dataloader
        self.assertEqual(train.dataset.ann_file, self.data.target_ann)
        self.assertEqual(train.sampler, dict(type='DefaultSampler',
                                             shuffle=False))
        # the test pipeline at the task's size: no augmentation
        self.assertEqual(train.dataset.pipeline,
                         cfg.test_dataloader.dataset.pipeline)
        self.assertEqual(_augments(train.dataset.pipeline), [])
        self.assertIn(('Resize', (64, 64)), [
            (t['type'], tuple(t.get('scale', ()))) for t in
            train.dataset.pipeline])
        self.assertEqual(cfg.model.backbone.type, 'EfficientNetLite0')
        self.assertTrue(cfg.model.backbone.pretrained_imagenet)
        self.assertEqual(cfg.model.data_preprocessor.mean, [100.0] * 3)
        self.assertEqual(cfg.model.head.num_classes, 2)
        off = tm.stages('linear-probe', 100, 'resnet18',
                        tm.recipe_of('linear-probe', dict(class_weight=0)),
                        [3.0, 0.6], 24)[0]
        self.assertIsNone(off['cfg_options']['train_cfg.class_weight'])

    def test_lp_ft_fine_tunes_the_probe_for_the_whole_budget(self):
        recipe = tm.recipe_of('lp-ft')
        self.assertEqual(recipe, tm.recipe_of('target-only'))
        probe, tune = tm.stages('lp-ft', 100, 'efficientnet-lite0', recipe,
                                [3.0, 0.6], 24, self.data)
        only = tm.stages('target-only', 100, 'efficientnet-lite0', recipe,
                         [3.0, 0.6], 24, self.data)[0]
        self.assertEqual(probe, tm.stages('linear-probe', 100,
                                          'efficientnet-lite0', recipe,
                                          [3.0, 0.6], 24, self.data)[0])
        # target-only's stage (budget, recipe, data) + the probe's model
        self.assertEqual(tune['config'], only['config'])
        self.assertEqual(tune['data_layout'], 'single')
        self.assertEqual(tune['cfg_options'].pop('load_from'),
                         '{prev_checkpoint}')
        self.assertEqual(tune['cfg_options'], only['cfg_options'])
        self.assertEqual(tune['cfg_options']['train_cfg.max_iters'], 100)
        self.assertEqual(tm.STAGE_KINDS['lp-ft'], ('single', 'single'))
        cfg = _cfg(dict(tune, cfg_options=dict(tune['cfg_options'],
                                               load_from='/x.pth')),
                   task_data(self.data))
        self.assertEqual(cfg.load_from, '/x.pth')
        self.assertEqual(cfg.model.head.loss.class_weight, [3.0, 0.6])

    def test_a_class_with_one_image_is_refused(self):
        with open(self.data.target_ann, 'w') as f:
            f.write('/d/a.png 0\n/d/b.png 1\n/d/c.png 1\n')
        for method in tm.PROBES:
            with self.assertRaisesRegex(
                    InputError, "class 'normal' has 1 image.*3 target "
                    'training images'):
                tm.stages(method, 100, 'resnet18', tm.recipe_of(method),
                          [1.0, 1.0], 3, self.data)
        # the other methods need no cross-validation
        tm.stages('target-only', 100, 'resnet18',
                  tm.recipe_of('target-only'), [1.0, 1.0], 3, self.data)

    def test_random_features_warning(self):
        lite = tm.backbone_spec('efficientnet-lite0')
        self.assertIsNone(tm.random_features_warning(['linear-probe'], lite))
        none = tm.backbone_spec('efficientnet-lite0', pretrained='none')
        for methods in (['linear-probe'], ['target-only', 'lp-ft']):
            text = tm.random_features_warning(methods, none)
            self.assertIn('--pretrained none', text)
            self.assertIn('random features', text)
            self.assertIn(methods[-1], text)
        self.assertIsNone(tm.random_features_warning(['target-only'], none))
        self.assertIn('not given', tm.random_features_warning(
            ['lp-ft'], tm.backbone_spec('resnet18')))


class Snapshot(Hook):
    """The model's state when training starts (initialised and loaded)."""

    def before_train(self, runner) -> None:
        self.state = {k: v.clone() for k, v in
                      runner.model.state_dict().items()}


class TestProbeEndToEnd(unittest.TestCase):

    def test_too_few_images_of_a_class_exit_2_before_training(self):
        from unittest import mock
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            argv = ['--source', paths['source'], '--target',
                    paths['target'], '--class-map', CLASS_MAP,
                    '--target-sizes', '3', '--methods', 'target-only,lp-ft',
                    '--seeds', '0', '--img-size', '32', '--no-progress',
                    '--work-dir', osp.join(tmp, 'work')]
            with mock.patch('dl4all_mm.evaluation.transfer.compare.'
                            'execute_protocol') as train:
                code, out, err = _run(argv)
            self.assertEqual(code, 2, out + err)
            train.assert_not_called()
            self.assertIn("class 'normal' has 1 image(s) among the 3 target "
                          'training images', err)

    def test_tiny_comparison_of_the_probes(self):
        from dl4all_mm.evaluation.protocol_worker import _config
        from dl4all_mm.evaluation.run_spec import RunSpec
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            work = osp.join(tmp, 'work')
            argv = ['--source', paths['source'], '--target',
                    paths['target'], '--class-map', CLASS_MAP,
                    '--target-sizes', '12', '--draws', '1',
                    '--methods', 'linear-probe,lp-ft', '--seeds', '0',
                    '--iters', '2', '--img-size', '32', '--backbone',
                    'resnet18', '--pretrained', 'none', '--recipe',
                    'lr=0.01', '--no-progress', '--work-dir', work]
            code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            # the bad input is said, not refused
            self.assertIn('linear-probe, lp-ft with --pretrained none', err)
            self.assertIn('random features', err)
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            self.assertEqual(sorted(r['method'] for r in records),
                             ['linear-probe', 'lp-ft'])
            for r in records:
                self.assertIsNotNone(r['metrics']['balanced_accuracy'])
            # C chosen on the training images of the size only
            (search, ) = glob.glob(osp.join(
                work, '**', 'linear-probe', '*', 'stage0',
                'linear_probe_search.json'), recursive=True)
            with open(search) as f:
                search = json.load(f)
            (train, ) = glob.glob(osp.join(work, 'data', 'train_n12*.txt'))
            with open(train) as f:
                train_files = sorted(line.rsplit(' ', 1)[0]
                                     for line in f if line.strip())
            self.assertEqual(sorted(search['images']), train_files)
            self.assertEqual(sorted(p for fold in search['folds']
                                    for p in fold), train_files)
            self.assertIn(search['C'], search['C_grid'])
            # lp-ft: stage 2 starts from the probe's model, head included
            (spec_path, ) = glob.glob(osp.join(
                work, '**', 'lp-ft', '*', 'spec.json'), recursive=True)
            run_dir = osp.dirname(spec_path)
            with open(spec_path) as f:
                spec = json.load(f)
            spec.pop('run_dir', None)
            run = RunSpec(**spec)
            with open(osp.join(run_dir, 'stage0', 'done.json')) as f:
                probe_ckpt = json.load(f)['checkpoint']
            probe = torch.load(probe_ckpt, map_location='cpu',
                               weights_only=False)['state_dict']
            cfg = _config(run, 1, osp.join(tmp, 'again'), probe_ckpt,
                          run_dir)
            self.assertEqual(cfg.load_from, probe_ckpt)
            runner = RUNNERS.build(cfg)
            snap = Snapshot()
            runner.register_hook(snap)
            runner.train()
            for key in ('head.fc.weight', 'head.fc.bias',
                        'backbone.conv1.weight', 'backbone.bn1.running_mean'):
                self.assertTrue(torch.equal(snap.state[key], probe[key]),
                                key)
            # binary probe: logits [0, w.x + b]
            self.assertEqual(float(probe['head.fc.weight'][0].abs().sum()),
                             0.0)
            self.assertGreater(float(
                probe['head.fc.weight'][1].abs().sum()), 0.0)


if __name__ == '__main__':
    unittest.main()
