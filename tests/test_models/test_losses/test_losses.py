from unittest import TestCase

import torch
from mmpretrain.registry import MODELS

import dl4all_mm  # noqa: F401


class TestMultiLabelSoftMarginLoss(TestCase):

    def setUp(self):
        torch.manual_seed(0)
        self.score = torch.randn(5, 4)
        self.label = (torch.rand(5, 4) > 0.5).float()
        self.w = [0.5, 2.0, 1.0, 7.0]

    def test_equals_torch(self):
        for w in (None, self.w):
            loss = MODELS.build(
                dict(type='MultiLabelSoftMarginLoss', class_weight=w))
            want = torch.nn.MultiLabelSoftMarginLoss(
                weight=None if w is None else torch.tensor(w))(
                    self.score, self.label)
            torch.testing.assert_close(loss(self.score, self.label), want)
            # as mmpretrain's heads call it
            torch.testing.assert_close(
                loss(self.score, self.label, avg_factor=5), want)

    def test_hand_computed(self):
        loss = MODELS.build(dict(type='MultiLabelSoftMarginLoss',
                                 class_weight=[1.0, 3.0], loss_weight=0.5))
        score = torch.tensor([[0.0, 2.0]])
        label = torch.tensor([[1.0, 0.0]])
        sig = torch.sigmoid
        want = 0.5 * -(1.0 * torch.log(sig(torch.tensor(0.))) +
                       3.0 * torch.log(1 - sig(torch.tensor(2.)))) / 2
        torch.testing.assert_close(loss(score, label), want)

    def test_weight_set_later_and_errors(self):
        loss = MODELS.build(dict(type='MultiLabelSoftMarginLoss'))
        plain = loss(self.score, self.label)
        loss.class_weight = self.w
        self.assertFalse(torch.allclose(loss(self.score, self.label), plain))
        loss.class_weight = [1.0]
        with self.assertRaisesRegex(ValueError, '1 class weights for 4'):
            loss(self.score, self.label)
        with self.assertRaisesRegex(ValueError, 'label shape'):
            loss(self.score, torch.zeros(5))


class TestWeightedCrossEntropyLoss(TestCase):

    def test_equals_torch_weighted_mean(self):
        torch.manual_seed(0)
        score = torch.randn(6, 3)
        label = torch.tensor([0, 1, 2, 2, 1, 2])
        w = [3.0, 1.0, 0.25]
        loss = MODELS.build(
            dict(type='WeightedCrossEntropyLoss', class_weight=w))
        want = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))(
            score, label)
        got = loss(score, label, avg_factor=6)
        torch.testing.assert_close(got, want)
        # hand: sum_i w_yi CE_i / sum_i w_yi, not / N
        ce = torch.nn.functional.cross_entropy(score, label,
                                               reduction='none')
        wy = torch.tensor(w)[label]
        torch.testing.assert_close(got, (wy * ce).sum() / wy.sum())
        self.assertFalse(torch.allclose(got, (wy * ce).mean()))
        mm = MODELS.build(dict(type='CrossEntropyLoss', class_weight=w))
        self.assertFalse(torch.allclose(got, mm(score, label)))
        # without weights: the plain mean, as mmpretrain's
        plain = MODELS.build(dict(type='WeightedCrossEntropyLoss'))
        torch.testing.assert_close(plain(score, label),
                                   MODELS.build(dict(type='CrossEntropyLoss'))
                                   (score, label))
