import copy
import tempfile
from unittest import TestCase
from unittest.mock import patch

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from tests.test_reliability.tiny_runner import runner_cfg, write_images


def make_runner(tmp, **overrides):
    write_images(tmp)
    overrides.setdefault('max_epochs', 1)
    cfg = runner_cfg(f'{tmp}/work', tmp, **overrides)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=100)
    cfg['randomness'] = dict(seed=0)
    return Runner(**cfg)


def params(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_states_equal(test, a, b):
    test.assertEqual(a.keys(), b.keys())
    for k in a:
        test.assertTrue(torch.equal(a[k], b[k]), k)


class TestDomainTrainLoop(TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        torch.set_num_threads(1)

    def tearDown(self):
        self.tmp.cleanup()

    def test_joint_counts_iterations(self):
        runner = make_runner(self.tmp.name, max_epochs=2)
        loop = runner.train_loop
        # 10 target images, batch 2 -> 5 paired iterations an epoch.
        self.assertEqual(len(loop.dataloader), 5)
        self.assertEqual(loop.max_iters, 10)
        runner.train()
        self.assertEqual(runner.iter, 10)
        self.assertEqual(runner.epoch, 2)

    def test_unknown_strategy_and_warmup(self):
        with self.assertRaisesRegex(ValueError, 'strategy'):
            make_runner(
                self.tmp.name,
                train_cfg=dict(
                    type='DomainTrainLoop', max_epochs=1,
                    strategy='zigzag')).train_loop
        with self.assertRaisesRegex(ValueError, 'warmup_epochs'):
            make_runner(
                self.tmp.name,
                train_cfg=dict(
                    type='DomainTrainLoop', max_epochs=1,
                    warmup_epochs=1)).train_loop

    def test_warmup_freezes_backbone_only(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(
                type='DomainTrainLoop', max_epochs=2, warmup_epochs=1))
        model = runner.model
        snapshots = []

        class Snap(Hook):

            def before_train(self, runner):
                snapshots.append(params(model))

            def after_train_epoch(self, runner):
                snapshots.append(params(model))

        runner.register_hook(Snap(), priority='LOWEST')
        runner.train()
        before, after_warmup, after_all = snapshots
        for name, value in before.items():
            if not value.is_floating_point():
                continue
            changed = not torch.equal(value, after_warmup[name])
            if name.startswith('backbone') and 'running' not in name:
                self.assertFalse(changed, f'{name} moved during warm-up')
            if name.startswith('head'):
                self.assertTrue(changed, f'{name} frozen during warm-up')
        moved = [
            n for n in before if n.startswith('backbone.conv1')
            and not torch.equal(after_warmup[n], after_all[n])
        ]
        self.assertTrue(moved, 'backbone never trained after warm-up')
        # The optimizer step is the class method again after warm-up.
        self.assertNotIn('step', vars(runner.optim_wrapper))

    def _trained_greedy_runner(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(
                type='DomainTrainLoop', max_epochs=1, strategy='greedy'))
        runner.train()  # builds everything; momentum buffers are filled
        loop = runner.train_loop
        batch = next(iter(loop.dataloader))
        return runner, loop, batch

    def test_greedy_undo_restores_model_and_optimizer_exactly(self):
        runner, loop, batch = self._trained_greedy_runner()
        model, optim = runner.model, runner.optim_wrapper
        start_model = params(model)
        start_optim = copy.deepcopy(optim.state_dict())

        # Reference: from the same state, one step on the target part only.
        parts = loop._split(batch)
        loop._step(parts['target'])
        expected_model = params(model)
        expected_optim = copy.deepcopy(optim.state_dict())

        model.load_state_dict(start_model)
        optim.load_state_dict(copy.deepcopy(start_optim))
        # The source step makes the target loss worse -> undo.
        with patch.object(loop, '_loss_of',
                          side_effect=[torch.tensor(1.), torch.tensor(2.)]):
            log = loop._greedy_step(batch)
        self.assertEqual(log['greedy_kept'].item(), 0)
        assert_states_equal(self, params(model), expected_model)
        got = optim.state_dict()['state']
        for key, state in expected_optim['state'].items():
            self.assertTrue(
                torch.equal(state['momentum_buffer'],
                            got[key]['momentum_buffer']))

    def test_greedy_keeps_improving_source_step(self):
        runner, loop, batch = self._trained_greedy_runner()
        model, optim = runner.model, runner.optim_wrapper
        start = params(model)
        start_optim = copy.deepcopy(optim.state_dict())
        parts = loop._split(batch)
        loop._step(parts['source'])
        expected = params(model)
        model.load_state_dict(start)
        optim.load_state_dict(start_optim)
        with patch.object(loop, '_loss_of',
                          side_effect=[torch.tensor(2.), torch.tensor(1.)]):
            log = loop._greedy_step(batch)
        self.assertEqual(log['greedy_kept'].item(), 1)
        # BatchNorm buffers of the no-grad evaluations are not kept either.
        assert_states_equal(self, params(model), expected)

    def test_loss_of_leaves_buffers(self):
        runner, loop, batch = self._trained_greedy_runner()
        before = params(runner.model)
        loop._loss_of(loop._split(batch)['target'])
        assert_states_equal(self, params(runner.model), before)

    def test_alternate_steps_once_per_domain(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(
                type='DomainTrainLoop', max_epochs=1, strategy='alternate'))
        runner.train()
        loop = runner.train_loop
        batch = next(iter(loop.dataloader))
        with patch.object(loop, '_step', wraps=loop._step) as step:
            loop._alternate_step(batch)
        domains = [
            {s.metainfo['domain']
             for s in call.args[0]['data_samples']}
            for call in step.call_args_list
        ]
        self.assertEqual(domains, [{'source'}, {'target'}])
