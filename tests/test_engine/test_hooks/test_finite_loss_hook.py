"""FiniteLossHook: a NaN/inf loss stops training with the iteration and the
domain named, and the last good checkpoint stays the latest."""
import math
import os.path as osp
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.hooks import FiniteLossHook
from dl4all_mm.engine.hooks.finite_loss_hook import (NonFiniteLossError,
                                                     _non_finite)
from tests.test_reliability import tiny_runner


class _PoisonTargetHead(Hook):
    """Set the target head's weights to NaN before iteration ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            model = getattr(runner.model, 'module', runner.model)
            with torch.no_grad():
                model.head.task_heads['target'].fc.weight.fill_(math.nan)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    work_dir = str(tmp_path / 'work')
    cfg = tiny_runner.runner_cfg(
        work_dir, root, max_epochs=2, ckpt_interval=3, max_keep_ckpts=1,
        custom_hooks=[_PoisonTargetHead(at=6),
                      dict(type='FiniteLossHook')])
    runner = Runner(**cfg)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert 'iteration 6 (epoch 2, batch 0)' in message
    assert "domain(s) with a non-finite loss: ['target']" in message
    assert "domains in the batch: ['source', 'target']" in message
    last = osp.join(work_dir, 'iter_3.pth')
    assert f'the last good checkpoint is {last}' in message
    # the broken weights (in memory) were never written
    assert not torch.isfinite(
        runner.model.head.task_heads['target'].fc.weight).all()
    assert not osp.exists(osp.join(work_dir, 'iter_6.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == last
    state = _load_checkpoint(last)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())


def _fake_runner(amp: bool = False):
    from mmengine.optim import AmpOptimWrapper
    wrapper = mock.MagicMock(spec=AmpOptimWrapper if amp else object)
    hub = mock.MagicMock()
    hub.get_info.return_value = None
    return SimpleNamespace(
        iter=9, epoch=0, optim_wrapper=wrapper, message_hub=hub,
        work_dir='/nonexistent', model=torch.nn.Linear(1, 1),
        logger=mock.MagicMock())


def test_finite_losses_pass_and_other_keys_are_ignored():
    hook = FiniteLossHook()
    runner = _fake_runner()
    hook._bad_streak = 3
    outputs = dict(loss=torch.tensor(1.0), source_loss=torch.tensor(0.5),
                   accuracy=torch.tensor(math.nan))
    assert hook.after_train_iter(runner, 0, None, outputs) is None
    # a finite step resets the streak; the NaN accuracy is not a loss
    assert hook._bad_streak == 0
    assert _non_finite(outputs) == {}
    assert _non_finite(dict(target_loss=torch.tensor(math.nan))) != {}


@pytest.mark.parametrize('value', [math.inf, -math.inf, math.nan])
def test_inf_and_nan_float_losses(value):
    with pytest.raises(NonFiniteLossError, match='iteration 10') as err:
        FiniteLossHook().after_train_iter(_fake_runner(), 3, None,
                                          dict(loss=value))
    assert 'no checkpoint was saved yet' in str(err.value)


def test_patience_under_amp():
    hook = FiniteLossHook()
    runner = _fake_runner(amp=True)
    bad = dict(loss=torch.tensor(math.inf))
    for _ in range(10):  # the grad scaler skips these steps
        hook.after_train_iter(runner, 0, None, bad)
    hook.after_train_iter(runner, 0, None, dict(loss=torch.tensor(1.0)))
    for _ in range(10):  # a finite loss reset the streak
        hook.after_train_iter(runner, 0, None, bad)
    with pytest.raises(NonFiniteLossError):
        hook.after_train_iter(runner, 0, None, bad)
    with pytest.raises(ValueError, match='patience'):
        FiniteLossHook(patience=-1)
