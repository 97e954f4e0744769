"""DL4ALLRunner: the work-dir check, and the runner our configs select."""
import multiprocessing as mp
import os
import os.path as osp
import shutil
import tempfile

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS

from dl4all_mm.engine.runners import (DL4ALLRunner, WorkDirError,
                                      check_writable_dir)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def test_work_dir_under_a_file(tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    work_dir = str(blocker / 'work')
    with pytest.raises(WorkDirError) as err:
        check_writable_dir(work_dir)
    assert work_dir in str(err.value) and 'not writable' in str(err.value)
    with pytest.raises(WorkDirError, match='work_dir'):
        DL4ALLRunner(model=torch.nn.Linear(1, 1), work_dir=work_dir)


def _probe_as_nobody(paths, queue):
    results = []
    try:
        if os.geteuid() == 0:
            os.setuid(65534)  # root may write anywhere; drop privileges
        for path in paths:
            try:
                check_writable_dir(path)
                results.append('writable')
            except WorkDirError as err:
                results.append(str(err))
    except Exception as err:  # noqa: BLE001
        results.append(f'unexpected {type(err).__name__}: {err}')
    queue.put(results)


def test_read_only_work_dir():
    base = tempfile.mkdtemp()
    writable, read_only = osp.join(base, 'rw'), osp.join(base, 'ro')
    os.mkdir(writable)
    os.mkdir(read_only)
    os.chmod(base, 0o755)
    os.chmod(writable, 0o777)
    os.chmod(read_only, 0o555)
    try:
        ctx = mp.get_context('fork')
        queue = ctx.Queue()
        proc = ctx.Process(
            target=_probe_as_nobody, args=([writable, read_only], queue))
        proc.start()
        results = queue.get(timeout=60)
        proc.join(timeout=60)
    finally:
        os.chmod(read_only, 0o755)
        shutil.rmtree(base)
    assert results[0] == 'writable', results
    assert 'not writable' in results[1] and read_only in results[1], results
    assert 'Permission denied' in results[1], results


def test_default_runtime_selects_it(tmp_path):
    """``runner_type`` in default_runtime.py, as mmpretrain's and our
    tools/train.py build it (mmengine's RUNNERS, no default scope yet)."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    cfg.merge_from_dict(
        dict(model=dict(type='mmpretrain.ImageClassifier',
                        backbone=dict(type='mmpretrain.ResNet', depth=18)),
             work_dir=str(tmp_path)))
    runner = RUNNERS.build(cfg)
    assert type(runner) is DL4ALLRunner


def test_build_param_scheduler_drops_idle_ones(tmp_path):
    """Idle scheduler configs are dropped (with the warning) where mmengine
    builds them, the loop leaves the configs alone, built schedulers (a
    resume) pass unchanged, and without a built loop mmengine decides."""
    from mmengine.optim import _ParamScheduler

    from tests.test_reliability.tiny_runner import runner_cfg, write_images
    write_images(str(tmp_path))
    cfg = runner_cfg(str(tmp_path / 'work'), str(tmp_path), max_epochs=2)
    scheds = [dict(type='ConstantLR', by_epoch=True, begin=2),
              dict(type='LinearLR', by_epoch=False, begin=0, end=3),
              dict(type='StepLR', by_epoch=False, begin=10, step_size=1)]
    runner = DL4ALLRunner(**cfg, param_scheduler=[dict(s) for s in scheds])
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    # the loop is not built yet: mmengine builds as it is (no default end)
    unbuilt = runner.build_param_scheduler([dict(scheds[1])])
    assert isinstance(unbuilt[0], _ParamScheduler)
    loop = runner.train_loop
    assert runner.param_schedulers == scheds
    assert loop.max_iters == 10
    with pytest.warns(UserWarning) as rec:
        built = runner.build_param_scheduler(runner.param_schedulers)
    messages = [str(w.message) for w in rec
                if 'never act' in str(w.message)]
    assert len(messages) == 2
    assert 'param_scheduler[0] (ConstantLR) begins at epoch 2' in \
        messages[0] and messages[0].endswith('is dropped')
    assert 'param_scheduler[2] (StepLR) begins at iteration 10' in \
        messages[1]
    assert [type(s).__name__ for s in built] == ['LinearLR']
    assert runner.build_param_scheduler(built) == built
    with pytest.raises(ValueError, match=r'end=1 must be larger than '
                       r'begin=1'):
        runner.build_param_scheduler(
            [dict(type='LinearLR', by_epoch=True, begin=1, end=1)])
