import copy
from unittest import TestCase

import torch
import torch.nn as nn

from dl4all_mm.models.utils import domain_split_batchnorm


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 6),
        nn.BatchNorm1d(6))


class TestDomainSplitBatchNorm(TestCase):

    def check_blocks(self, sizes):
        torch.manual_seed(0)
        split_model = small_cnn().train()
        plain_model = copy.deepcopy(split_model)
        # blocks with clearly different statistics
        x = torch.cat([
            torch.randn(n, 3, 6, 6) * (k + 1) + 3 * k
            for k, n in enumerate(sizes)
        ]).requires_grad_()
        with domain_split_batchnorm([split_model], sizes):
            out = split_model(x)
        # reference: one plain forward per domain, in order
        ref = torch.cat([plain_model(part) for part in x.split(sizes)])
        torch.testing.assert_close(out, ref)
        grad_out = torch.randn_like(out)
        (g_split, ) = torch.autograd.grad(out, x, grad_out)
        (g_ref, ) = torch.autograd.grad(ref, x, grad_out)
        torch.testing.assert_close(g_split, g_ref)
        for (name, b1), b2 in zip(split_model.named_buffers(),
                                  plain_model.buffers()):
            torch.testing.assert_close(b1, b2, msg=name)
        # and it differs from normalising the whole batch at once
        whole = copy.deepcopy(plain_model)
        self.assertFalse(torch.allclose(whole(x), ref, atol=1e-3))

    def test_unequal_blocks_equal_separate_forwards(self):
        for sizes in ([8, 24], [3, 5], [24, 8], [2, 3, 4]):
            with self.subTest(sizes=sizes):
                self.check_blocks(sizes)

    def test_sizes_not_adding_up_raise(self):
        model = small_cnn().train()
        with domain_split_batchnorm([model], [3, 4]):
            with self.assertRaisesRegex(ValueError,
                                        r'\[3, 4\] add up to 7.*8 rows'):
                model(torch.randn(8, 3, 6, 6))
        # outside the context, and in eval mode, plain BatchNorm
        model(torch.randn(8, 3, 6, 6))
        with domain_split_batchnorm([model], [3, 4]):
            model.eval()
            model(torch.randn(8, 3, 6, 6))
