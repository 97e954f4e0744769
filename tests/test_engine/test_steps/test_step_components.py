"""The step and warm-up components, configured as components."""
import os
import os.path as osp
import subprocess
import sys
import tempfile
import warnings

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from dl4all_mm.engine import (AlternateStep, FrozenBackboneWarmup,
                              GreedyStep, HeadWarmupStep, JointStep,
                              ReferenceWarmup)
from dl4all_mm.registry import TRAIN_STEPS, WARMUPS
from tests.test_engine.golden_runs import COMPONENT_RUNS, FIXTURE
from tests.test_reliability.tiny_runner import runner_cfg, write_images

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


@pytest.fixture(scope='module')
def golden_and_trained(tmp_path_factory):
    """The golden weights and the same runs configured with
    ``train_cfg.step``/``train_cfg.warmup`` (fresh one-thread child)."""
    golden = torch.load(FIXTURE)
    if golden['torch'] != str(torch.__version__):
        pytest.skip(f'golden weights recorded with torch {golden["torch"]}, '
                    f'this is {torch.__version__}')
    out = str(tmp_path_factory.mktemp('steps') / 'weights.pth')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, '-m', 'tests.test_engine.golden_runs', out,
         '--components'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return golden['weights'], torch.load(out)['weights']


@pytest.mark.parametrize('name', sorted(COMPONENT_RUNS))
def test_components_equal_old_flags_bitwise(golden_and_trained, name):
    golden, trained = golden_and_trained
    assert trained[name].keys() == golden[name].keys()
    for key, value in golden[name].items():
        assert torch.equal(trained[name][key], value), f'{name}: {key}'


def test_registered():
    for name, cls in (('JointStep', JointStep), ('GreedyStep', GreedyStep),
                      ('AlternateStep', AlternateStep),
                      ('HeadWarmupStep', HeadWarmupStep)):
        assert TRAIN_STEPS.get(name) is cls
    assert WARMUPS.get('ReferenceWarmup') is ReferenceWarmup
    assert WARMUPS.get('FrozenBackboneWarmup') is FrozenBackboneWarmup
    with pytest.raises(KeyError, match="'Zigzag'.*GreedyStep"):
        TRAIN_STEPS.build(dict(type='Zigzag'))
    with pytest.raises(ValueError, match="rule='bogus'"):
        TRAIN_STEPS.build(dict(type='GreedyStep', rule='bogus'))


def _runner(tmp, **train_cfg):
    write_images(tmp)
    cfg = runner_cfg(f'{tmp}/work', tmp, max_epochs=2,
                     train_cfg=dict(type='DomainTrainLoop', max_epochs=2,
                                    **train_cfg))
    return Runner(**cfg)


def test_components_chosen_by_train_cfg():
    with tempfile.TemporaryDirectory() as tmp:
        loop = _runner(tmp, strategy='greedy', greedy_rule='same_batch',
                       warmup_epochs=1,
                       warmup_mode='frozen_backbone').train_loop
        assert isinstance(loop.step, GreedyStep)
        assert loop.step.rule == 'same_batch'
        assert (loop.step.source_domain, loop.step.target_domain) == (
            'source', 'target')
        assert isinstance(loop.warmup, FrozenBackboneWarmup)
        assert not loop.reference_warmup
        loop = _runner(tmp, step=dict(type='AlternateStep'),
                       warmup_epochs=1).train_loop
        assert isinstance(loop.step, AlternateStep)
        assert isinstance(loop.warmup, ReferenceWarmup)
        assert isinstance(loop.warmup.step, HeadWarmupStep)
        assert loop.reference_warmup
        assert _runner(tmp).train_loop.warmup is None


def test_step_wins_over_old_flags_with_a_warning():
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(
            record=True) as caught:
        warnings.simplefilter('always')
        loop = _runner(tmp, strategy='joint',
                       step=dict(type='GreedyStep')).train_loop
    assert isinstance(loop.step, GreedyStep)
    assert any("old flags ['strategy'] are ignored" in str(w.message)
               for w in caught)


def test_bad_components_are_named():
    with tempfile.TemporaryDirectory() as tmp:
        with pytest.raises(KeyError, match="target_domain='tgt'"):
            _runner(tmp, step=dict(type='GreedyStep',
                                   target_domain='tgt')).train_loop
        with pytest.raises(AttributeError, match=r"frozen=\('trunk',\)"):
            _runner(tmp, warmup_epochs=1, warmup=dict(
                type='FrozenBackboneWarmup', frozen=('trunk', ))).train_loop


def test_frozen_warmup_sets_and_clears_the_steps_frozen_params():
    with tempfile.TemporaryDirectory() as tmp:
        runner = _runner(tmp, warmup_epochs=1,
                         warmup_mode='frozen_backbone')
        loop = runner.train_loop
        seen = []
        original = loop.step.__class__.__call__

        def call(step, data_batch):
            seen.append(None if step.frozen is None else len(step.frozen))
            return original(step, data_batch)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(JointStep, '__call__', call)
            runner.train()
        backbone = len(list(runner.model.backbone.parameters()))
        assert seen == [backbone] * 5 + [None] * 5
        assert loop.step.frozen is None


def test_frozen_warmup_skips_the_backbone_backward_and_restores_it():
    """Outside DDP, the frozen backbone's gradients are not computed at
    all during the warm-up epoch (``requires_grad`` off), and are again
    afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        runner = _runner(tmp, warmup_epochs=1,
                         warmup_mode='frozen_backbone')
        runner.train_loop  # build the model's runner state
        backbone = list(runner.model.backbone.parameters())
        head = list(runner.model.head.parameters())
        grads = {0: 0, 1: 0}  # backbone gradients computed, by epoch
        flags = {0: set(), 1: set()}  # backbone/head requires_grad seen

        def count(grad):
            grads[runner.epoch] += 1
            return grad

        for p in backbone:
            p.register_hook(count)

        class Flags(Hook):

            def before_train_iter(self, runner, batch_idx, data_batch=None):
                flags[runner.epoch].add(
                    (tuple(p.requires_grad for p in backbone),
                     tuple(p.requires_grad for p in head)))

        runner.register_hook(Flags())
        runner.train()
        assert grads[0] == 0
        assert grads[1] == 5 * len(backbone)
        off, on = (False, ) * len(backbone), (True, ) * len(head)
        assert flags == {0: {(off, on)}, 1: {((True, ) * len(backbone), on)}}
        assert all(p.requires_grad for p in runner.model.parameters())
        assert runner.train_loop.step.frozen is None


def test_reference_options_are_checked_and_named():
    """The options restoring the authors' idle warm-up head and
    per-iteration BatchNorm refresh (parity: tests/test_parity)."""
    warmup = WARMUPS.build(dict(type='ReferenceWarmup',
                                idle_head='reference'))
    assert warmup.step.idle_head == 'reference'
    assert WARMUPS.build(dict(type='ReferenceWarmup')).step.idle_head == \
        'frozen'
    with pytest.raises(ValueError, match="idle_head='torch'"):
        WARMUPS.build(dict(type='ReferenceWarmup', idle_head='torch'))
    with pytest.raises(TypeError, match='needs a step with an idle_head'):
        WARMUPS.build(dict(type='ReferenceWarmup', idle_head='reference',
                           step=dict(type='JointStep')))
    with tempfile.TemporaryDirectory() as tmp:
        loop = _runner(tmp, step=dict(type='JointStep',
                                      refresh_bn='target')).train_loop
        assert loop.step.refresh_bn_domain == 'target'
        with pytest.raises(KeyError, match="refresh_bn='tgt'"):
            _runner(tmp, step=dict(type='JointStep',
                                   refresh_bn='tgt')).train_loop
