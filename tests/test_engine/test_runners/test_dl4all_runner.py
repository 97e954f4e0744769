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
