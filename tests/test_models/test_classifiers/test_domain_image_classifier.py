from unittest import TestCase
from unittest.mock import patch

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample, MultiTaskDataSample

import dl4all_mm  # noqa: F401


def tagged(domain, label):
    s = MultiTaskDataSample(metainfo=dict(domain=domain))
    s.set_field(DataSample().set_gt_label(label), domain)
    return s


def build(**kwargs):
    cfg = dict(
        type='DomainImageClassifier',
        backbone=dict(
            type='ResNet', depth=18, base_channels=8, stem_channels=8,
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='DomainMultiTaskHead',
            task_heads=dict(
                source=dict(type='LinearClsHead', num_classes=3,
                            in_channels=64),
                target=dict(type='LinearClsHead', num_classes=2,
                            in_channels=64))))
    cfg.update(kwargs)
    return MODELS.build(cfg)


class TestDomainImageClassifier(TestCase):

    def setUp(self):
        torch.manual_seed(0)
        self.inputs = torch.rand(4, 3, 16, 16)
        self.samples = [tagged('source', 0), tagged('source', 2),
                        tagged('target', 1), tagged('target', 0)]

    def test_backbone_sees_one_domain_at_a_time(self):
        model = build()
        seen = []
        with patch.object(model, 'extract_feat',
                          side_effect=lambda x: (seen.append(x.shape[0]) or
                                                 (torch.rand(x.shape[0], 64),
                                                  ))):
            losses = model.loss(self.inputs, self.samples)
        self.assertEqual(seen, [2, 2])
        self.assertIn('source_loss', losses)
        self.assertIn('target_loss', losses)

    def test_domain_pure_loss_equals_separate_forwards(self):
        model = build()
        model.train()
        losses = model.loss(self.inputs, self.samples)
        # Same as forwarding each domain on its own through the head.
        src = model.head.loss(model.extract_feat(self.inputs[:2]),
                              self.samples[:2],
                              domain_batch_sizes=dict(source=2, target=2))
        self.assertAlmostEqual(losses['source_loss'].item(),
                               src['source_loss'].item(), places=5)

    def test_interleaved_order_is_grouped(self):
        model = build()
        mixed = [self.samples[i] for i in (0, 2, 1, 3)]
        groups = model.domain_groups(mixed)
        self.assertEqual(groups, dict(source=[0, 2], target=[1, 3]))
        model.loss(self.inputs, mixed)  # non-contiguous rows work

    def test_mixed_batch_forward(self):
        model = build(domain_pure_forward=False)
        with patch.object(model, 'extract_feat',
                          wraps=model.extract_feat) as extract:
            model.loss(self.inputs, self.samples)
        self.assertEqual(extract.call_count, 1)

    def test_predict_plain_samples_uses_eval_domain(self):
        model = build().eval()
        preds = model.predict(self.inputs)
        self.assertIsInstance(preds[0], DataSample)
        self.assertEqual(preds[0].pred_score.shape, (2, ))
        preds = build(eval_domain='source').eval().predict(self.inputs)
        self.assertEqual(preds[0].pred_score.shape, (3, ))
        multi = build().eval().predict(self.inputs, self.samples)
        self.assertIsInstance(multi[0], MultiTaskDataSample)

    def test_errors(self):
        with self.assertRaisesRegex(KeyError, 'eval_domain'):
            build(eval_domain='nope')
        with self.assertRaisesRegex(TypeError, 'multi-task head'):
            build(head=dict(type='LinearClsHead', num_classes=2,
                            in_channels=64))
        with self.assertRaisesRegex(KeyError, "domain 'elsewhere'"):
            build().loss(self.inputs[:1], [tagged('elsewhere', 0)])
