"""Issue 22 item 5: normalisation as a recipe knob (``--norm``), one
class-weighting rule for every method (``--class-weights``), mixed's
per-domain statistics and BatchNorm re-estimation, the lr rule."""
import glob
import os.path as osp
import shutil
import tempfile
import unittest
from unittest import mock

import numpy as np
from mmengine.config import Config

from dl4all_mm.engine.hooks.bn_recalib_hook import DomainBNRecalibHook
from dl4all_mm.engine.hooks.class_weight_hook import DomainClassWeightHook
from dl4all_mm.evaluation.protocol_data import dataset_options
from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.compare import (CompareOptions,
                                                   _recipes, method_fields)
from dl4all_mm.evaluation.transfer.data_options import (TaskData,
                                                        domain_norm,
                                                        task_data)
from dl4all_mm.evaluation.transfer.recipes import (PRETRAINED_LR,
                                                   recipe_notes)
from dl4all_mm.evaluation.transfer.stats import mean_std, scalar_mean_std
from dl4all_mm.evaluation.transfer.task import class_weights
from tests.test_evaluation.test_transfer.fixtures import write_images

SRC = ([200.0, 180.0, 160.0], [40.0, 30.0, 20.0])
TGT = ([100.0, 110.0, 120.0], [20.0, 25.0, 30.0])
DATA = TaskData(
    source_ann='/d/source.txt', source_classes=['a', 'b', 'c'],
    target_ann='/d/train_n24.txt', val_ann='/d/val.txt',
    test_ann='/d/test.txt', target_classes=['normal', 'ALL'],
    source_norm=SRC, target_norm=TGT, img_size=64, n_source=300,
    n_target=24, source_weights=[3.0, 1.5, 0.5])
#: scalar statistics of SRC and TGT, by hand: m = mean of the channel
#: means, s^2 = mean of (s_c^2 + (m_c - m)^2)
SRC_SCALAR = (180.0, np.sqrt((1600 + 400 + 900 + 0 + 400 + 400) / 3))
TGT_SCALAR = (110.0, np.sqrt((400 + 100 + 625 + 0 + 900 + 100) / 3))
LABELS = [0] * 4 + [1] * 20  # 24 images: 4 normal, 20 ALL
METHODS = ('target-only', 'sequential', 'mixed', 'dl4all-joint',
           'dl4all-greedy')


def _cfgs(method, recipe, backbone='efficientnet-lite0', weights=None):
    """The merged config of every stage of ``method`` on DATA."""
    spec = tm.backbone_spec(backbone)
    out = []
    for stage in tm.stages(method, 100, spec, recipe,
                           weights or class_weights(LABELS, 2), 24, DATA):
        cfg = Config.fromfile(stage['config'])
        cfg.merge_from_dict({**dataset_options(stage['data_layout'],
                                               task_data(DATA)),
                             **stage['cfg_options']})
        out.append(cfg)
    return out


def _norms(cfg):
    """``{domain: (mean, std)}`` the stage's data preprocessor applies."""
    pre = cfg.model.data_preprocessor
    if 'domain_norm' in pre:
        assert pre.type == 'DomainDataPreprocessor', pre.type
        assert pre.get('mean') is None and pre.get('std') is None, pre
        return {d: (list(v['mean']), list(v['std']))
                for d, v in pre.domain_norm.items()}
    return {'all': (list(pre.mean), list(pre.std))}


class TestStatistics(unittest.TestCase):

    def test_scalar_from_channels_is_exact(self):
        rng = np.random.default_rng(0)
        pixels = rng.uniform(0, 255, (5, 7, 9, 3)) * [1.0, 0.6, 0.3]
        flat = pixels.reshape(-1, 3)
        m, s = scalar_mean_std(flat.mean(0), flat.std(0))
        self.assertAlmostEqual(m, pixels.mean(), places=9)
        self.assertAlmostEqual(s, pixels.std(), places=9)
        self.assertEqual(domain_norm('scalar-domain', SRC),
                         ([round(SRC_SCALAR[0], 2)] * 3,
                          [round(SRC_SCALAR[1], 2)] * 3))
        self.assertEqual(domain_norm('channel-domain', SRC), SRC)
        self.assertIsNone(domain_norm('pretrained', SRC))
        with self.assertRaisesRegex(ValueError, "'zscore'"):
            domain_norm('zscore', SRC)

    def test_scalar_and_channel_stats_of_images(self):
        import cv2
        tmp = tempfile.mkdtemp()
        try:
            write_images(tmp, dict(a=3, b=4), size=20, seed=3)
            paths = sorted(glob.glob(osp.join(tmp, '*', '*.png')))
            mean, std = mean_std(paths, 16)
            img = np.stack([cv2.resize(cv2.imread(p), (16, 16),
                                       interpolation=cv2.INTER_LINEAR)
                            for p in paths])[..., ::-1].astype(np.float64)
            flat = img.reshape(-1, 3)
            # per-channel: as numpy over every pixel (2-decimal rounding)
            np.testing.assert_allclose(mean, flat.mean(0), atol=0.006)
            np.testing.assert_allclose(std, flat.std(0), atol=0.006)
            # scalar: one mean/std over every pixel and channel
            (m, *_), (s, *_) = domain_norm('scalar-domain', (mean, std))
            self.assertAlmostEqual(m, img.mean(), delta=0.02)
            self.assertAlmostEqual(s, img.std(), delta=0.02)
        finally:
            shutil.rmtree(tmp)


class TestNormModes(unittest.TestCase):

    def test_defaults(self):
        for method in METHODS:
            want = ('scalar-domain' if method.startswith('dl4all') else
                    'channel-domain')
            self.assertEqual(tm.recipe_of(method)['norm'], want, method)
        with self.assertRaisesRegex(ValueError, "--norm 'z' is unknown"):
            tm.recipe_of('mixed', dict(norm='z'))

    def test_domain_modes_per_method_kind(self):
        scalar = {k: ([round(v[0], 2)] * 3, [round(v[1], 2)] * 3)
                  for k, v in (('source', SRC_SCALAR),
                               ('target', TGT_SCALAR))}
        for norm, want in (('channel-domain', dict(source=SRC, target=TGT)),
                           ('scalar-domain', scalar)):
            for method in METHODS:
                cfgs = _cfgs(method, tm.recipe_of(method, dict(norm=norm)))
                got = [_norms(c) for c in cfgs]
                if method == 'target-only':
                    self.assertEqual(got, [{'all': want['target']}])
                elif method == 'sequential':  # source, then target
                    self.assertEqual(got, [{'all': want['source']},
                                           {'all': want['target']}])
                else:  # mixed (stock ImageClassifier) and DL4ALL
                    self.assertEqual(got, [want], f'{method} {norm}')
                if method == 'mixed':
                    self.assertEqual(cfgs[0].model.type, 'ImageClassifier')

    def test_pretrained_is_the_backbones_constants(self):
        lite = ([127.5] * 3, [127.5] * 3)
        for method in METHODS:
            recipe = tm.recipe_of(method, dict(norm='pretrained'))
            for cfg in _cfgs(method, recipe):
                for stats in _norms(cfg).values():
                    self.assertEqual(stats, lite, method)
            # ResNet has no constants of its own here: the config's
            for stage in tm.stages(method, 100, 'resnet18', recipe,
                                   [1.0, 1.0], 24, DATA):
                plain = Config.fromfile(stage['config'])
                cfg = Config.fromfile(stage['config'])
                cfg.merge_from_dict(stage['cfg_options'])
                self.assertEqual(_norms(cfg), _norms(plain), method)


class _Labels:
    """A dataset of class indices (what DomainClassWeightHook reads)."""

    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, i):
        return dict(gt_label=self.labels[i])


class TestClassWeights(unittest.TestCase):

    def test_one_rule_for_every_method(self):
        head = mock.Mock(num_classes=2)
        hook = DomainClassWeightHook()
        dl4all = hook._domain_weights('target', [_Labels(LABELS)], head)
        self.assertEqual(dl4all, [2.4, 1.2])  # 24 / max(4, 10), 24 / 20
        self.assertEqual(class_weights(LABELS, 2), dl4all)
        for method in METHODS:
            cfgs = _cfgs(method, tm.recipe_of(method))
            last = cfgs[-1]
            if method.startswith('dl4all'):
                hooks = [h for h in last.custom_hooks
                         if h['type'] == 'DomainClassWeightHook']
                self.assertEqual(hooks, [dict(type='DomainClassWeightHook')])
                loss = last.model.head.task_heads.target.loss
                self.assertEqual(loss.type, 'WeightedCrossEntropyLoss')
                continue
            heads = last.model.head.get('task_heads')
            loss = heads.target.loss if heads else last.model.head.loss
            self.assertEqual(loss, dict(type='WeightedCrossEntropyLoss',
                                        class_weight=dl4all), method)
            if method == 'sequential':  # the source stage: its labels
                self.assertEqual(cfgs[0].model.head.loss,
                                 dict(type='WeightedCrossEntropyLoss',
                                      class_weight=[3.0, 1.5, 0.5]))
            if method == 'mixed':  # the source head: the hook, its labels
                self.assertIn(dict(type='DomainClassWeightHook',
                                   domains=['source']), last.custom_hooks)
                self.assertEqual(heads.source.loss.type,
                                 'WeightedCrossEntropyLoss')

    def test_none_everywhere(self):
        opts = CompareOptions(methods=METHODS, class_weights='none')
        recipes = _recipes(opts, {})
        for method in METHODS:
            for cfg in _cfgs(method, recipes[method]):
                self.assertNotIn('DomainClassWeightHook',
                                 [h['type'] for h in cfg.custom_hooks])
                head = cfg.model.head
                for loss in ([h.loss for h in head.task_heads.values()]
                             if 'task_heads' in head else [head.loss]):
                    self.assertIsNone(loss.get('class_weight'), method)
        self.assertEqual(method_fields(recipes, opts)['mixed'],
                         dict(lr=recipes['mixed']['lr'],
                              norm='channel-domain', class_weights='none'))
        notes = ' '.join(recipe_notes(recipes, 'none'))
        self.assertIn('plain cross-entropy for every method', notes)
        self.assertIn('dl4all-joint scalar-domain', notes)
        with self.assertRaisesRegex(ValueError, "'some'"):
            _recipes(CompareOptions(methods=METHODS, class_weights='some'),
                     {})


class TestMixedBatchNorm(unittest.TestCase):

    def test_recalibrated_on_target_batches(self):
        cfg = _cfgs('mixed', tm.recipe_of('mixed'))[0]
        hooks = [h for h in cfg.custom_hooks
                 if h['type'] == 'DomainBNRecalibHook']
        # capped at one pass over the 24 target training images
        self.assertEqual(hooks, [dict(type='DomainBNRecalibHook',
                                      domain='target', mode='momentum',
                                      num_batches=3, batch_size=8)])
        off = _cfgs('mixed', tm.recipe_of('mixed', dict(bn_recalib=0)))[0]
        self.assertNotIn('DomainBNRecalibHook',
                         [h['type'] for h in off.custom_hooks])

    def test_iteration_based_loop_recalibrates_before_validation(self):
        from mmengine.runner import IterBasedTrainLoop
        hook = DomainBNRecalibHook(domain='target')
        loop = mock.MagicMock(spec=IterBasedTrainLoop, val_begin=1,
                              val_interval=5, max_iters=12)
        runner = mock.Mock(train_loop=loop, val_loop=object())
        steps = []
        with mock.patch.object(hook, 'recalibrate',
                               lambda r: steps.append(r.iter + 1)):
            for i in range(12):
                runner.iter = i
                hook.after_train_iter(runner, i)
            hook.after_train_epoch(runner)  # iteration-based: no extra
        self.assertEqual(steps, [5, 10, 12])
        runner.val_loop = None  # selection without validation: the end
        steps.clear()
        with mock.patch.object(hook, 'recalibrate',
                               lambda r: steps.append(r.iter + 1)):
            for i in range(12):
                runner.iter = i
                hook.after_train_iter(runner, i)
        self.assertEqual(steps, [12])


class TestLearningRateRule(unittest.TestCase):

    def test_rule(self):
        lite = _recipes(CompareOptions(methods=METHODS), {})
        self.assertEqual({r['lr'] for r in lite.values()}, {PRETRAINED_LR})
        scratch = _recipes(CompareOptions(methods=METHODS,
                                          pretrained='none'), {})
        self.assertEqual({m: r['lr'] for m, r in scratch.items()},
                         {m: tm.recipe_of(m)['lr'] for m in METHODS})
        resnet = _recipes(CompareOptions(methods=METHODS,
                                         backbone='resnet18'), {})
        self.assertEqual(resnet['target-only']['lr'], 0.1)
        forced = _recipes(CompareOptions(methods=METHODS,
                                         recipe=dict(lr=0.01)),
                          {'mixed': 0.03})
        self.assertEqual(forced['target-only']['lr'], 0.01)
        self.assertEqual(forced['mixed']['lr'], 0.03)
        # a search's pick of several knobs (lr, norm) per method
        both = _recipes(CompareOptions(methods=METHODS), {
            'mixed': dict(lr=0.01, norm='pretrained')})
        self.assertEqual((both['mixed']['lr'], both['mixed']['norm']),
                         (0.01, 'pretrained'))
        self.assertEqual(both['dl4all-joint']['norm'], 'scalar-domain')
        # the rule reaches both sequential stages
        stages = tm.stages('sequential', 100, 'efficientnet-lite0',
                           lite['sequential'], [1.0, 1.0], 24, DATA)
        for stage in stages:
            self.assertEqual(
                stage['cfg_options']['optim_wrapper.optimizer.lr'], 0.003)
