import copy
from unittest import TestCase
from unittest.mock import patch

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample, MultiTaskDataSample

import dl4all_mm  # noqa: F401
from tests.conftest import tiny_resnet


def tagged(domain, label):
    s = MultiTaskDataSample(metainfo=dict(domain=domain))
    s.set_field(DataSample().set_gt_label(label), domain)
    return s


def build(**kwargs):
    cfg = dict(
        type='DomainImageClassifier',
        backbone=tiny_resnet(),
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
        model = build(split_batchnorm=False)
        seen = []
        with patch.object(model, 'extract_feat',
                          side_effect=lambda x: (seen.append(x.shape[0]) or
                                                 (torch.rand(x.shape[0], 64),
                                                  ))):
            losses = model.loss(self.inputs, self.samples)
        self.assertEqual(seen, [2, 2])
        self.assertIn('source_loss', losses)
        self.assertIn('target_loss', losses)

    def test_split_batchnorm_equals_separate_forwards(self):
        results = []
        for split in (True, False):
            torch.manual_seed(0)
            model = build(split_batchnorm=split, head=dict(
                type='DomainMultiTaskHead',
                grad_rescale=True,
                task_heads=dict(
                    source=dict(type='LinearClsHead', num_classes=3,
                                in_channels=64),
                    target=dict(type='LinearClsHead', num_classes=2,
                                in_channels=64))))
            model.train()
            losses = model.loss(self.inputs, self.samples)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            results.append((
                {k: v.detach() for k, v in losses.items()},
                {n: p.grad.clone() for n, p in model.named_parameters()},
                {n: b.clone() for n, b in model.named_buffers()}))
        (l1, g1, b1), (l2, g2, b2) = results
        for key in l1:
            torch.testing.assert_close(l1[key], l2[key])
        for name in g1:
            torch.testing.assert_close(g1[name], g2[name], rtol=1e-4,
                                       atol=1e-6, msg=name)
        for name in b1:
            torch.testing.assert_close(b1[name], b2[name], msg=name)
        # Outside a split forward the layers behave as plain BatchNorm, and
        # a model with split layers still deep-copies.
        model = build()
        model.loss(self.inputs, self.samples)
        bn = model.backbone.bn1
        self.assertIsNone(bn.domain_sizes)
        self.assertIsInstance(bn, torch.nn.BatchNorm2d)
        import copy
        self.assertIsNone(copy.deepcopy(model).backbone.bn1.domain_sizes)

    def test_split_batchnorm_normalises_each_block(self):
        from dl4all_mm.models.utils import domain_split_batchnorm
        bn = torch.nn.BatchNorm2d(1).train()
        x = torch.cat([torch.zeros(2, 1, 1, 1), torch.ones(2, 1, 1, 1) * 5])
        x[1] += 2
        x[3] += 2
        with domain_split_batchnorm([bn], [2, 2]):
            out = bn(x)
        # Each block is normalised with its own mean: +-1 in both blocks.
        torch.testing.assert_close(out.flatten().abs(),
                                   torch.ones(4), rtol=1e-3, atol=1e-3)
        self.assertEqual(int(bn.num_batches_tracked), 2)

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


class TestInterleavedLoss(TestCase):

    def test_interleaved_batch_equals_per_domain_forwards(self):
        """Rows S, T, S, T, T (non-contiguous): the loss and gradients
        equal those of one forward per domain, each on its own rows."""
        torch.manual_seed(0)
        inputs = torch.rand(5, 3, 16, 16)
        order = ['source', 'target', 'source', 'target', 'target']
        labels = [0, 1, 2, 0, 1]
        data = [tagged(d, y) for d, y in zip(order, labels)]
        model = build().train()
        ref = copy.deepcopy(model)
        losses = model.loss(inputs, data)
        self.assertEqual({k for k in losses if 'loss' in k},
                         {'source_loss', 'target_loss'})
        (losses['source_loss'] + losses['target_loss']).backward()
        # per-domain forwards through the plain model, by hand
        want = {}
        for d in ('source', 'target'):
            idx = [i for i, o in enumerate(order) if o == d]
            feats = ref.extract_feat(inputs[idx])
            head = ref.head.task_heads[d]
            score = head(feats)
            ce = torch.nn.functional.cross_entropy(
                score, torch.tensor([labels[i] for i in idx]))
            want[f'{d}_loss'] = ref.head.loss_weights[d] * ce
        for key, value in want.items():
            torch.testing.assert_close(losses[key], value, msg=key)
        sum(want.values()).backward()
        for (name, p), q in zip(model.named_parameters(),
                                ref.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4,
                                       atol=1e-6, msg=name)
        for (name, b), c in zip(model.named_buffers(), ref.buffers()):
            torch.testing.assert_close(b, c, msg=name)
