from unittest import TestCase

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample, MultiTaskDataSample

import dl4all_mm  # noqa: F401


def samples(domains, labels):
    out = []
    for domain, label in zip(domains, labels):
        s = MultiTaskDataSample(metainfo=dict(domain=domain))
        s.set_field(DataSample().set_gt_label(label), domain)
        out.append(s)
    return out


def build(**kwargs):
    cfg = dict(
        type='DomainMultiTaskHead',
        task_heads=dict(
            source=dict(type='LinearClsHead', num_classes=3, in_channels=4),
            target=dict(type='LinearClsHead', num_classes=2, in_channels=4)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


class TestDomainMultiTaskHead(TestCase):

    def setUp(self):
        torch.manual_seed(0)
        self.feats = (torch.rand(4, 4), )

    def test_masking_and_weights(self):
        head = build(loss_weights=dict(source=0.25, target=2.0))
        data = samples(['source', 'source', 'target', 'target'], [0, 2, 1, 0])
        losses = head.loss(self.feats, data)
        ce = torch.nn.functional.cross_entropy
        src = head.task_heads['source'](self.feats)[:2]
        tgt = head.task_heads['target'](self.feats)[2:]
        self.assertAlmostEqual(
            losses['source_loss'].item(),
            0.25 * ce(src, torch.tensor([0, 2])).item(), places=5)
        self.assertAlmostEqual(
            losses['target_loss'].item(),
            2.0 * ce(tgt, torch.tensor([1, 0])).item(), places=5)
        self.assertEqual(losses['source_mask_size'].item(), 2)

    def test_default_weights_are_equal(self):
        head = build()
        self.assertEqual(head.loss_weights, dict(source=0.5, target=0.5))

    def test_unknown_domain_in_weights(self):
        with self.assertRaisesRegex(KeyError, 'unknown domains'):
            build(loss_weights=dict(sauce=1.0))

    def test_absent_domain_touches_every_head(self):
        head = build()
        losses = head.loss(self.feats, samples(['source'] * 4, [0, 1, 2, 0]))
        self.assertEqual(losses['target_loss'].item(), 0)
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        for name, p in head.named_parameters():
            self.assertIsNotNone(p.grad, name)
        tgt = head.task_heads['target']
        self.assertTrue(all((p.grad == 0).all() for p in tgt.parameters()))

    def _head_grads(self, grad_rescale, sizes=None):
        torch.manual_seed(0)
        head = build(grad_rescale=grad_rescale)
        data = samples(['source'] * 3 + ['target'], [0, 1, 2, 1])
        losses = head.loss(self.feats, data, domain_batch_sizes=sizes)
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        return {n: p.grad.clone() for n, p in head.named_parameters()}

    def test_gradient_rescale(self):
        plain = self._head_grads(False)
        scaled = self._head_grads(True)
        for name, grad in plain.items():
            factor = 4 / 3 if '.source.' in name else 4 / 1
            torch.testing.assert_close(scaled[name], grad * factor)
        # Sizes given by the model (domains forwarded separately) win.
        given = self._head_grads(True, sizes=dict(source=8, target=8))
        for name, grad in plain.items():
            torch.testing.assert_close(given[name], grad * 2)

    def test_gradient_rescale_leaves_backbone_gradient(self):
        feats = torch.rand(4, 4, requires_grad=True)
        grads = []
        for rescale in (False, True):
            torch.manual_seed(0)
            head = build(grad_rescale=rescale)
            feats.grad = None
            data = samples(['source', 'source', 'target', 'target'],
                           [0, 1, 1, 0])
            losses = head.loss((feats, ), data)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            grads.append(feats.grad.clone())
        torch.testing.assert_close(grads[0], grads[1])

    def test_predict_sets_every_domain(self):
        head = build()
        preds = head.predict(self.feats, samples(['target'] * 4, [0] * 4))
        self.assertEqual(len(preds), 4)
        self.assertEqual(preds[0].target.pred_score.shape, (2, ))
        self.assertEqual(preds[0].source.pred_score.shape, (3, ))
        self.assertFalse(preds[0].source.eval_mask)

    def test_multilabel_subhead(self):
        head = MODELS.build(
            dict(
                type='DomainMultiTaskHead',
                task_heads=dict(
                    source=dict(
                        type='MultiLabelLinearClsHead',
                        num_classes=5,
                        in_channels=4),
                    target=dict(
                        type='LinearClsHead', num_classes=2,
                        in_channels=4))))
        data = samples(['source', 'source', 'target', 'target'],
                       [[0, 3], [1], 1, 0])
        losses = head.loss(self.feats, data)
        # mmpretrain's default multi-label loss (CrossEntropyLoss with
        # use_sigmoid): binary cross-entropy summed over the classes,
        # averaged over the 2 source samples (the sub-head sees only them),
        # times the default loss weight 1 / (2 domains)
        src = self.feats[0][:2] @ head.task_heads['source'].fc.weight.T + \
            head.task_heads['source'].fc.bias
        y = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0]])
        p = torch.sigmoid(src)
        bce = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
        torch.testing.assert_close(losses['source_loss'],
                                   0.5 * bce.sum(1).mean())
        self.assertEqual(int(losses['source_mask_size']), 2)

    def test_multilabel_source_loss_hand_computed(self):
        """The Regular source head: weighted MultiLabelSoftMarginLoss times
        the domain's loss weight; the target: weighted cross-entropy."""
        w_src, w_tgt = [1.0, 2.0, 0.5, 4.0, 1.5], [3.0, 0.5]
        head = MODELS.build(
            dict(
                type='DomainMultiTaskHead',
                loss_weights=dict(source=0.3, target=0.7),
                task_heads=dict(
                    source=dict(
                        type='MultiLabelLinearClsHead',
                        num_classes=5,
                        in_channels=4,
                        loss=dict(type='MultiLabelSoftMarginLoss',
                                  class_weight=w_src)),
                    target=dict(
                        type='LinearClsHead', num_classes=2, in_channels=4,
                        loss=dict(type='WeightedCrossEntropyLoss',
                                  class_weight=w_tgt)))))
        data = samples(['source', 'source', 'target', 'target'],
                       [[0, 3], [1], 1, 0])
        losses = head.loss(self.feats, data)
        src, tgt = head.task_heads['source'], head.task_heads['target']
        with torch.no_grad():
            x = self.feats[0]
            # hand computation from the heads' linear layers
            z = x[:2] @ src.fc.weight.T + src.fc.bias
            y = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0]])
            per = -(y * torch.log(torch.sigmoid(z)) +
                    (1 - y) * torch.log(1 - torch.sigmoid(z)))
            want_src = 0.3 * (per * torch.tensor(w_src)).mean(1).mean()
            zt = x[2:] @ tgt.fc.weight.T + tgt.fc.bias
            logp = torch.log_softmax(zt, 1)
            ce = torch.stack([-logp[0, 1], -logp[1, 0]])
            wy = torch.tensor([w_tgt[1], w_tgt[0]])
            want_tgt = 0.7 * (wy * ce).sum() / wy.sum()
        torch.testing.assert_close(losses['source_loss'], want_src)
        torch.testing.assert_close(losses['target_loss'], want_tgt)
