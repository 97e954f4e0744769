from unittest import TestCase
from unittest.mock import patch

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample, MultiTaskDataSample

import dl4all_mm  # noqa: F401


def tagged(domain):
    s = MultiTaskDataSample(metainfo=dict(domain=domain))
    s.set_field(DataSample().set_gt_label(0), domain)
    return s


class TestDomainDataPreprocessor(TestCase):

    def build(self, **kwargs):
        cfg = dict(
            type='DomainDataPreprocessor',
            domain_norm=dict(
                source=dict(mean=[10, 20, 30], std=[2, 4, 5]),
                target=dict(mean=100, std=10)))
        cfg.update(kwargs)
        return MODELS.build(cfg)

    def test_normalises_each_domain_with_its_own_stats(self):
        pre = self.build()
        inputs = torch.full((3, 3, 2, 2), 110, dtype=torch.uint8)
        out = pre(dict(inputs=inputs,
                       data_samples=[tagged('source'), tagged('target'),
                                     tagged('source')]))['inputs']
        torch.testing.assert_close(out[0, :, 0, 0],
                                   torch.tensor([50., 22.5, 16.]))
        torch.testing.assert_close(out[1], torch.ones(3, 2, 2))
        torch.testing.assert_close(out[2], out[0])

    def test_tagged_samples_not_copied_on_cpu(self):
        """On CPU the samples are passed through (the parent's ``.to`` would
        deep-copy every metainfo and move nothing)."""
        pre = self.build()
        samples = [tagged('source'), tagged('target')]
        out = pre(dict(inputs=torch.zeros((2, 3, 2, 2), dtype=torch.uint8),
                       data_samples=samples), True)
        self.assertIs(out['data_samples'], samples)
        self.assertEqual(int(out['data_samples'][1].target.gt_label), 0)
        with patch('torch.device') as device:  # any non-CPU device: cast
            device.return_value.type = 'cuda'
            pre._device = device('cuda')
            with patch.object(type(pre), 'cast_data',
                              side_effect=lambda x: list(x)) as cast:
                out = pre(dict(inputs=torch.zeros((2, 3, 2, 2)),
                               data_samples=samples))
        self.assertIn(samples, [c.args[0] for c in cast.call_args_list])
        self.assertIsNot(out['data_samples'], samples)

    def test_untagged_samples_use_default_domain(self):
        inputs = torch.full((2, 3, 2, 2), 110, dtype=torch.uint8)
        out = self.build()(dict(inputs=inputs))['inputs']
        torch.testing.assert_close(out, torch.ones(2, 3, 2, 2))
        samples = [DataSample().set_gt_label(0)] * 2
        out = self.build(default_domain='source')(
            dict(inputs=inputs, data_samples=samples))['inputs']
        torch.testing.assert_close(out[0, :, 0, 0],
                                   torch.tensor([50., 22.5, 16.]))

    def test_to_rgb_before_normalising(self):
        pre = self.build(to_rgb=True)
        inputs = torch.zeros(1, 3, 1, 1, dtype=torch.uint8)
        inputs[0, 0] = 10  # blue in BGR -> last channel in RGB
        out = pre(dict(inputs=inputs, data_samples=[tagged('source')]))
        self.assertAlmostEqual(out['inputs'][0, 2, 0, 0].item(), -4.0)

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, 'not a global `mean`'):
            self.build(mean=[1, 2, 3], std=[1, 1, 1])
        with self.assertRaisesRegex(KeyError, 'needs `std`'):
            MODELS.build(dict(type='DomainDataPreprocessor',
                              domain_norm=dict(target=dict(mean=1))))
        with self.assertRaisesRegex(KeyError, "'other' has no statistics"):
            self.build()(dict(inputs=torch.zeros(1, 3, 1, 1),
                              data_samples=[tagged('other')]))
