import copy
import math
import tempfile
import warnings
from unittest import TestCase
from unittest.mock import patch

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.runners import DL4ALLRunner
from tests.test_reliability.tiny_runner import runner_cfg, write_images


def make_runner(tmp, runner_cls=Runner, **overrides):
    write_images(tmp)
    overrides.setdefault('max_epochs', 1)
    cfg = runner_cfg(f'{tmp}/work', tmp, **overrides)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=100)
    cfg['randomness'] = dict(seed=0)
    return runner_cls(**cfg)


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
                type='DomainTrainLoop', max_epochs=2, warmup_epochs=1,
                warmup_mode='frozen_backbone'))
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
                type='DomainTrainLoop', max_epochs=1, strategy='greedy',
                greedy_rule='same_batch'))
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
        parts = loop.step.split(batch)
        loop.step.step(parts['target'])
        expected_model = params(model)
        expected_optim = copy.deepcopy(optim.state_dict())

        model.load_state_dict(start_model)
        optim.load_state_dict(copy.deepcopy(start_optim))
        # The source step makes the target loss worse -> undo.
        with patch.object(loop.step, 'loss_of',
                          side_effect=[torch.tensor(1.), torch.tensor(2.)]):
            log = loop.step(batch)
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
        parts = loop.step.split(batch)
        loop.step.step(parts['source'])
        expected = params(model)
        model.load_state_dict(start)
        optim.load_state_dict(start_optim)
        with patch.object(loop.step, 'loss_of',
                          side_effect=[torch.tensor(2.), torch.tensor(1.)]):
            log = loop.step(batch)
        self.assertEqual(log['greedy_kept'].item(), 1)
        # BatchNorm buffers of the no-grad evaluations are not kept either.
        assert_states_equal(self, params(model), expected)

    def test_loss_of_leaves_buffers(self):
        runner, loop, batch = self._trained_greedy_runner()
        before = params(runner.model)
        loop.step.loss_of(loop.step.split(batch)['target'])
        assert_states_equal(self, params(runner.model), before)

    def test_alternate_steps_once_per_domain(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(
                type='DomainTrainLoop', max_epochs=1, strategy='alternate'))
        runner.train()
        loop = runner.train_loop
        batch = next(iter(loop.dataloader))
        with patch.object(loop.step, 'step', wraps=loop.step.step) as step:
            loop.step(batch)
        domains = [
            {s.metainfo['domain']
             for s in call.args[0]['data_samples']}
            for call in step.call_args_list
        ]
        self.assertEqual(domains, [{'source'}, {'target'}])


class TestGreedySameBatchDropout(TestCase):
    """The same_batch rule's before/after forwards replay one random state:
    with no parameter change in between, a dropout-heavy model measures the
    same loss twice, so the source step is never kept by chance."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        torch.set_num_threads(1)

    def tearDown(self):
        self.tmp.cleanup()

    def test_comparison_is_not_decided_by_dropout(self):
        from tests.test_parity.test_runner_parity import ParityCNN  # noqa
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(
                type='DomainTrainLoop', max_epochs=1, strategy='greedy',
                greedy_rule='same_batch'))
        runner.model.backbone = ParityCNN(drop=0.9)
        heads = runner.model.head.task_heads
        for head in heads.values():
            head.fc = torch.nn.Linear(4, head.fc.out_features)
        runner.model.train()
        runner.optim_wrapper = runner.build_optim_wrapper(
            runner.optim_wrapper)
        loop = runner.train_loop
        losses = []
        original = loop.step.loss_of

        def record(*args, **kwargs):
            losses.append(original(*args, **kwargs))
            return losses[-1]

        kept = []
        with patch.object(loop.step, 'step', return_value={}), \
                patch.object(loop.step, 'loss_of', side_effect=record):
            for batch in loop.dataloader:
                kept.append(
                    loop.step(batch)['greedy_kept'])
        self.assertEqual(len(losses), 2 * len(kept))
        for before, after in zip(losses[::2], losses[1::2]):
            self.assertEqual(before.item(), after.item())
        self.assertEqual([k.item() for k in kept], [0.0] * len(kept))
        # the masks differ between iterations (dropout is really on)
        self.assertGreater(len({x.item() for x in losses[::2]}), 1)


class TestWarmupAndSchedulers(TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        torch.set_num_threads(1)

    def tearDown(self):
        self.tmp.cleanup()

    def _train(self, **train_cfg):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(type='DomainTrainLoop', **train_cfg),
            param_scheduler=[
                dict(type='LinearLR', by_epoch=False, start_factor=0.5,
                     begin=0, end=4)
            ])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            runner.train()
        return runner, [str(w.message) for w in caught]

    def test_no_upstream_warning_in_either_warmup(self):
        for mode in ('reference', 'frozen_backbone'):
            runner, caught = self._train(
                max_epochs=2, warmup_epochs=1, warmup_mode=mode)
            overridden = [m for m in caught if 'overridden' in m]
            self.assertEqual(overridden, [], mode)
            # the schedulers' counting wrapper is still the step
            self.assertTrue(
                getattr(runner.optim_wrapper.step, '_with_counter', False))

    def test_reference_warmup_counts_passes_and_skips_validation(self):
        runner = make_runner(
            self.tmp.name,
            val=True,
            train_cfg=dict(type='DomainTrainLoop', max_epochs=2,
                           warmup_epochs=1, val_interval=1))
        write_images(self.tmp.name, {'target': (4, 2)}, seed=1, split='val')
        loop = runner.train_loop
        # 12 source + 10 target images, batch 2: 6 + 5, then 5 per epoch
        self.assertEqual(loop.epoch_length(0), 11)
        self.assertEqual(loop.max_iters, 16)
        validated = []

        class Val(Hook):

            def after_val_epoch(self, runner, metrics=None):
                validated.append(runner.epoch)

        runner.register_hook(Val())
        momentum = []

        class Momentum(Hook):

            def after_train_epoch(self, runner):
                momentum.append(len(runner.optim_wrapper.optimizer.state))

        runner.register_hook(Momentum(), priority='HIGHEST')
        lengths = []  # what the logger's "[epoch][i/len]" divides by

        class Lengths(Hook):

            def before_train_epoch(self, runner):
                lengths.append(len(runner.train_dataloader))

        runner.register_hook(Lengths())
        recalibrated = []
        runner.register_custom_hooks(
            [dict(type='DomainBNRecalibHook', num_batches=1)])
        bn_hook = [h for h in runner.hooks
                   if type(h).__name__ == 'DomainBNRecalibHook'][0]
        bn_hook.recalibrate = lambda runner: recalibrated.append(
            runner.epoch)
        runner.train()
        self.assertEqual(runner.iter, 16)
        self.assertEqual(validated, [2])  # not after the warm-up epoch
        self.assertEqual(lengths, [11, 5])
        self.assertEqual(recalibrated, [1])  # only before the validation
        self.assertEqual(momentum[0], 0)  # fresh optimizer after warm-up
        self.assertGreater(momentum[1], 0)

    def test_reference_warmup_moves_only_heads(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(type='DomainTrainLoop', max_epochs=2,
                           warmup_epochs=1))
        snapshots = []

        class Snap(Hook):

            def before_train(self, runner):
                snapshots.append(params(runner.model))

            def after_train_epoch(self, runner):
                snapshots.append(params(runner.model))

        runner.register_hook(Snap(), priority='LOWEST')
        runner.train()
        before, after_warmup = snapshots[:2]
        for name, value in before.items():
            if not value.is_floating_point():
                continue
            changed = not torch.equal(value, after_warmup[name])
            if 'running' in name:
                self.assertTrue(changed, f'{name}: BN not in train mode')
            elif name.startswith('head'):
                self.assertTrue(changed, f'{name} frozen during warm-up')
            else:
                self.assertFalse(changed, f'{name} moved during warm-up')

    def test_scheduler_beginning_after_the_end_is_dropped(self):
        scheds = [dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                       convert_to_iter_based=True)]
        runner = make_runner(
            self.tmp.name, DL4ALLRunner,
            train_cfg=dict(type='DomainTrainLoop', max_epochs=1),
            param_scheduler=copy.deepcopy(scheds))
        runner.train_loop  # the loop leaves the runner's schedulers alone
        self.assertEqual(runner.param_schedulers, scheds)
        with self.assertWarnsRegex(UserWarning, r'begins at epoch 1.*'
                                   r'max_epochs=1.*dropped'):
            runner.train()
        self.assertEqual(runner.iter, 5)
        self.assertEqual(runner.param_schedulers, [])

    def test_idle_scheduler_with_another_runner_is_an_error(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(type='DomainTrainLoop', max_epochs=1),
            param_scheduler=[
                dict(type='CosineAnnealingLR', by_epoch=True, begin=1)
            ])
        with self.assertRaisesRegex(
                ValueError, r'param_scheduler\[0\] \(CosineAnnealingLR\) '
                r'begins at epoch 1.*max_epochs=1.*never act; set '
                r"runner_type='mmpretrain.DL4ALLRunner'"):
            runner.train_loop

    def test_converted_scheduler_shifted_past_reference_warmup(self):
        for runner_cls in (Runner, DL4ALLRunner):
            with self.subTest(runner=runner_cls.__name__):
                self._converted_scheduler_shifted(runner_cls)
                self.tmp.cleanup()
                self.tmp = tempfile.TemporaryDirectory()

    def _converted_scheduler_shifted(self, runner_cls):
        runner = make_runner(
            self.tmp.name, runner_cls,
            train_cfg=dict(type='DomainTrainLoop', max_epochs=3,
                           warmup_epochs=1),
            # DL4ALLRunner drops the first: the shift finds the second
            param_scheduler=([dict(type='ConstantLR', by_epoch=True, begin=3)]
                             if runner_cls is DL4ALLRunner else []) + [
                dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                     eta_min=0.0, convert_to_iter_based=True)])
        lrs = []

        class Lr(Hook):

            def before_train_iter(self, runner, batch_idx, data_batch=None):
                lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

        runner.register_hook(Lr())
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            runner.train()
        self.assertEqual(len(runner.param_schedulers), 1)
        sched = runner.param_schedulers[0]
        # warm-up: 11 iterations, then 2 epochs of 5
        self.assertEqual((sched.begin, sched.end), (11, 21))
        self.assertEqual(lrs[:12], [0.05] * 12)
        self.assertLess(lrs[12], 0.05)
        self.assertAlmostEqual(lrs[-1], 0.05 * (1 + math.cos(
            math.pi * 9 / 10)) / 2)

    def test_converted_scheduler_inside_reference_warmup_is_refused(self):
        runner = make_runner(
            self.tmp.name,
            train_cfg=dict(type='DomainTrainLoop', max_epochs=3,
                           warmup_epochs=1),
            param_scheduler=[
                dict(type='LinearLR', by_epoch=True, begin=0, end=2,
                     convert_to_iter_based=True)
            ])
        with self.assertRaisesRegex(ValueError, 'warmup_epochs=1'):
            runner.train_loop

    def test_invalid_rule_and_mode_named(self):
        for field in ('greedy_rule', 'warmup_mode'):
            with self.assertRaisesRegex(ValueError, f'{field}=.bogus'):
                make_runner(
                    self.tmp.name,
                    train_cfg={'type': 'DomainTrainLoop', 'max_epochs': 2,
                               field: 'bogus'}).train_loop


DEMO = 'configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py'


class TestDemoConfigShortRuns(TestCase):
    """Issue 12 item 5 with the real demo config (its cosine schedule
    begins at epoch 1), as ``--cfg-options`` would set it."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        torch.set_num_threads(1)

    def tearDown(self):
        self.tmp.cleanup()

    def _runner(self, **options):
        import uuid

        from mmengine.config import Config
        cfg = Config.fromfile(DEMO)
        cfg.merge_from_dict({
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'train_dataloader.batch_sampler.epoch_length': 2,
            'val_dataloader.num_workers': 0,
            'val_dataloader.persistent_workers': False,
            'default_hooks.checkpoint': None,
            **options
        })
        cfg.custom_hooks = [h for h in cfg.custom_hooks
                            if h['type'] != 'DomainBNRecalibHook']
        cfg.work_dir = self.tmp.name
        cfg.experiment_name = f'demo_{uuid.uuid4().hex[:8]}'
        cfg.log_level = 'WARNING'
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)  # as tools/train.py: its runner_type

    def test_no_warmup_one_epoch_runs(self):
        runner = self._runner(**{'train_cfg.warmup_epochs': 0,
                                 'train_cfg.max_epochs': 1,
                                 'val_dataloader.dataset.indices': 8})
        with self.assertWarnsRegex(UserWarning, 'dropped'):
            runner.train()
        self.assertEqual(runner.iter, 2)

    def test_warmup_as_long_as_training_is_refused_in_our_words(self):
        with self.assertRaisesRegex(ValueError,
                                    'warmup_epochs=1 must be in'):
            self._runner(**{'train_cfg.warmup_epochs': 1,
                            'train_cfg.max_epochs': 1}).train()
