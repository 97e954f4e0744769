import tempfile
from unittest import TestCase
from unittest.mock import patch

import torch
from mmengine.runner import Runner
from mmpretrain.structures import DataSample, MultiTaskDataSample

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.hooks import DomainClassWeightHook
from dl4all_mm.engine.hooks.class_weight_hook import compute_class_weights
from tests.test_reliability.tiny_runner import (dataset_cfg, model_cfg,
                                                runner_cfg, write_images)

MODULE = 'dl4all_mm.engine.hooks.class_weight_hook'


class TestComputeClassWeights(TestCase):

    def test_single_label_hand_computed(self):
        labels = [0] * 30 + [1] * 12 + [2] * 3
        # N = 45: 45/30, 45/12, 45/max(3, 10)
        self.assertEqual(compute_class_weights(labels, 3),
                         [1.5, 3.75, 4.5])
        self.assertEqual(compute_class_weights(labels, 3, min_count=1),
                         [1.5, 3.75, 15.0])
        # a class never seen gets N / min_count
        self.assertEqual(compute_class_weights(labels, 4)[3], 4.5)

    def test_multi_label_hand_computed(self):
        labels = [[0, 2]] * 20 + [[1]] * 15 + [[0]] * 5
        # N = 40; counts 25, 15, 20
        self.assertEqual(compute_class_weights(labels, 3),
                         [40 / 25, 40 / 15, 2.0])

    def test_label_outside_head(self):
        with self.assertRaisesRegex(ValueError, 'sample 1.*3 classes'):
            compute_class_weights([0, 3], 3)


class TestDomainClassWeightHook(TestCase):

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        # source: 12 images over 3 classes (4 each), target: 10 over 2 (5
        # each); make the target imbalanced: 8 of class 0, 2 of class 1
        write_images(self.tmp.name, {'source': (12, 3), 'target': (10, 2)})
        with open(f'{self.tmp.name}/target_train.txt') as f:
            lines = [ln.split() for ln in f.read().split('\n') if ln]
        with open(f'{self.tmp.name}/target_train.txt', 'w') as f:
            f.write('\n'.join(f'{p} {int(i >= 8)}'
                              for i, (p, _) in enumerate(lines)) + '\n')

    def tearDown(self):
        self.tmp.cleanup()

    def runner(self, hook, target_loss='WeightedCrossEntropyLoss',
               val=False):
        model = model_cfg()
        model['head']['task_heads']['target']['loss'] = dict(
            type=target_loss)
        cfg = runner_cfg(f'{self.tmp.name}/work', self.tmp.name,
                         max_epochs=1, custom_hooks=[hook], model=model,
                         val=val)
        return Runner(**cfg)

    def test_sets_reference_weights_from_training_labels(self):
        hook = DomainClassWeightHook(min_count=1)
        runner = self.runner(hook)
        with patch.object(runner.logger, 'info') as info:
            runner.train()
        heads = runner.model.head.task_heads
        # target: N = 10, 8 x class 0, 2 x class 1
        self.assertEqual(heads['target'].loss_module.class_weight,
                         [10 / 8, 10 / 2])
        self.assertEqual(heads['source'].loss_module.class_weight,
                         [3.0, 3.0, 3.0])
        logged = ' '.join(str(c.args[0]) for c in info.call_args_list)
        self.assertIn('target class weights', logged)
        self.assertIn('1.25, 5', logged)

    def test_train_plus_val_as_the_reference(self):
        """``extra_datasets``: the reference's ``computeClassWeights``
        counts train + val: ``w_c = (N_tr + N_val) / max(n_c^tr + n_c^val,
        floor)``."""
        root = self.tmp.name
        # val: target 6 images (labels 0,1,0,1,0,1), source 5 (0,1,2,0,1)
        write_images(root, {'target': (6, 2), 'source': (5, 3)}, seed=1,
                     split='val')
        hook = DomainClassWeightHook(min_count=1, extra_datasets=dict(
            target='val', source=[dataset_cfg(root, 'source', 'val')]))
        runner = self.runner(hook, val=True)
        runner.train()
        heads = runner.model.head.task_heads
        # target: train 8 x 0, 2 x 1; val 3 x 0, 3 x 1 -> N 16, n 11, 5
        self.assertEqual(heads['target'].loss_module.class_weight,
                         [16 / 11, 16 / 5])
        # source: train 4 of each class; val 2, 2, 1 -> N 17, n 6, 6, 5
        self.assertEqual(heads['source'].loss_module.class_weight,
                         [17 / 6, 17 / 6, 17 / 5])
        self.assertEqual(hook.class_weights['target'], compute_class_weights(
            [0] * 8 + [1] * 2 + [0, 1] * 3, 2, min_count=1))
        with self.assertRaisesRegex(KeyError, "extra_datasets has domain "
                                    "'source'"):
            self.runner(DomainClassWeightHook(
                domains=['target'], extra_datasets=dict(source='val')),
                val=True).train()
        with self.assertRaisesRegex(TypeError, "holds 'test'"):
            self.runner(DomainClassWeightHook(
                extra_datasets=dict(target='test')), val=True).train()

    def test_weights_change_the_loss(self):
        hook = DomainClassWeightHook(domains=['target'])
        runner = self.runner(hook)
        runner.train()
        head = runner.model.head.task_heads['target']
        self.assertIsNone(runner.model.head.task_heads[
            'source'].loss_module.class_weight)
        # reference floor: max(n_c, 10) -> 10/10, 10/10
        self.assertEqual(head.loss_module.class_weight, [1.0, 1.0])
        hook.min_count = 1
        hook.before_train(runner)
        feats = (torch.randn(4, 64), )
        samples = []
        for label in (0, 0, 0, 1):
            s = MultiTaskDataSample(metainfo=dict(domain='target'))
            s.set_field(DataSample().set_gt_label(label), 'target')
            samples.append(s)
        weighted = runner.model.head.loss(feats, samples)['target_loss']
        score = head(feats)
        label = torch.tensor([0, 0, 0, 1])
        w = torch.tensor([1.25, 5.0])
        want = torch.nn.CrossEntropyLoss(weight=w)(score, label)
        weight = runner.model.head.loss_weights['target']
        torch.testing.assert_close(weighted, weight * want)
        head.loss_module.class_weight = None
        plain = runner.model.head.loss(feats, samples)['target_loss']
        self.assertFalse(torch.allclose(weighted, plain))

    def test_identical_on_every_rank_and_on_resume(self):
        hook = DomainClassWeightHook(min_count=1)
        runner = self.runner(hook)
        # a non-zero rank takes rank 0's broadcast, not its own count
        sent = [{'source': [1.0, 2.0, 3.0], 'target': [4.0, 5.0]}]

        def broadcast(objs, src=0):
            self.assertEqual(src, 0)
            objs[:] = sent

        with patch(f'{MODULE}.get_dist_info', return_value=(1, 2)), \
                patch(f'{MODULE}.broadcast_object_list',
                      side_effect=broadcast):
            runner.train()
        self.assertEqual(runner.model.head.task_heads[
            'target'].loss_module.class_weight, [4.0, 5.0])
        # a resumed run recomputes the same weights before training
        resumed = self.runner(DomainClassWeightHook(min_count=1))
        resumed._resume = True
        resumed._load_from = None
        resumed.train()
        self.assertEqual(resumed.model.head.task_heads[
            'target'].loss_module.class_weight, [1.25, 5.0])

    def test_errors(self):
        runner = self.runner(DomainClassWeightHook(domains=['nope']))
        with self.assertRaisesRegex(KeyError, "'nope'"):
            runner.train()
        runner = self.runner(DomainClassWeightHook(), target_loss='FocalLoss')
        with self.assertRaisesRegex(TypeError, 'FocalLoss has no'):
            runner.train()
        with self.assertRaisesRegex(ValueError, 'min_count'):
            DomainClassWeightHook(min_count=0)
