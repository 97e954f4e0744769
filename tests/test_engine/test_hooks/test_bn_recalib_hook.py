import tempfile
from unittest import TestCase
from unittest.mock import PropertyMock, patch

import torch
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.hooks import DomainBNRecalibHook
from tests.test_reliability.tiny_runner import runner_cfg, write_images


class TestDomainBNRecalibHook(TestCase):

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        write_images(self.tmp.name)
        cfg = runner_cfg(f'{self.tmp.name}/work', self.tmp.name,
                         max_epochs=1)
        cfg['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', interval=100)
        self.runner = Runner(**cfg)
        self.runner.train()

    def tearDown(self):
        self.tmp.cleanup()

    def test_statistics_are_the_target_average(self):
        hook = DomainBNRecalibHook(num_batches=3, batch_size=2)
        model = self.runner.model
        bn = model.backbone.bn1
        bn.running_mean.fill_(7.)
        bn.running_var.fill_(7.)
        hook.recalibrate(self.runner)
        # Manual: mean over the same target batches of conv1's outputs.
        means, count = 0, 0
        with torch.no_grad():
            for data in hook._loader(self.runner):
                domains = {s.metainfo['domain']
                           for s in data['data_samples']}
                self.assertEqual(domains, {'target'})
                x = model.data_preprocessor(data, False)['inputs']
                feat = model.backbone.conv1(x)
                means += feat.mean(dim=(0, 2, 3))
                count += 1
        self.assertEqual(count, 3)
        torch.testing.assert_close(bn.running_mean, means / count)
        self.assertEqual(bn.momentum, 0.1)  # restored

    def test_runs_before_validation_and_at_the_end(self):
        hook = DomainBNRecalibHook(num_batches=1)
        calls = []
        hook.recalibrate = lambda runner: calls.append(runner.epoch)
        loop = self.runner.train_loop
        loop.val_interval = 5
        loop._epoch = 1  # epoch 2 ends: no validation, not the last
        loop._max_epochs = 10
        with patch.object(Runner, 'val_loop', new_callable=PropertyMock,
                          return_value=object()):
            hook.after_train_epoch(self.runner)
            self.assertEqual(calls, [])
            loop._epoch = 4  # epoch 5 ends: validation follows
            hook.after_train_epoch(self.runner)
            loop._epoch = 9  # the last epoch
            hook.after_train_epoch(self.runner)
        self.assertEqual(len(calls), 2)

    def test_unknown_domain(self):
        with self.assertRaisesRegex(KeyError, 'nope'):
            DomainBNRecalibHook(domain='nope').recalibrate(self.runner)
