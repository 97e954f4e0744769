"""SIGKILL during training and during checkpoint writing, then resume.

Each training runs in a child process (``tiny_runner``) that kills itself
with SIGKILL at a chosen point: mid-epoch after an iteration, or halfway
through writing a checkpoint file.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.runners import CorruptCheckpointError, DL4ALLRunner
from tests.test_reliability import tiny_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TIMEOUT = 300


def _child(jobs, timeout=TIMEOUT):
    """Run ``tiny_runner`` jobs in a fresh single-thread process."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, '-m', 'tests.test_reliability.tiny_runner',
         json.dumps(jobs)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _job(tmp_path, root, name, **kwargs):
    return dict(work_dir=str(tmp_path / name), data_root=root,
                record=str(tmp_path / f'{name}.jsonl'), **kwargs)


def _schedule(records):
    return {r['iter']: (r['epoch'], r['batch_idx'], r['domains'], r['paths'])
            for r in records if 'val' not in r}


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path):
    """3 epochs x 5 iterations, checkpoints every 3 iterations. The run is
    killed after iteration 8 (epoch 2, batch 2); the resume starts from
    iter_6 (epoch 2, batch 0), so it must skip one trained batch of the
    epoch. Resumed and uninterrupted runs (same process settings, one
    thread, deterministic) must agree bitwise: schedule and weights."""
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    cfg = dict(max_epochs=3, ckpt_interval=3)
    killed = _job(tmp_path, root, 'crash', kill_at=8, cfg=cfg)
    result = _child([killed])
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    with open(osp.join(killed['work_dir'], 'last_checkpoint')) as f:
        assert f.read().endswith('iter_6.pth')

    resumed = dict(killed, kill_at=None, resume=True,
                   record=str(tmp_path / 'resumed.jsonl'),
                   save_final=str(tmp_path / 'resumed.pth'))
    full = _job(tmp_path, root, 'full', cfg=cfg,
                save_final=str(tmp_path / 'full.pth'))
    result = _child([resumed, full])
    assert result.returncode == 0, result.stderr[-3000:]

    before = _schedule(tiny_runner.read_records(killed['record']))
    after = _schedule(tiny_runner.read_records(resumed['record']))
    reference = _schedule(tiny_runner.read_records(full['record']))
    assert sorted(reference) == list(range(1, 16))
    assert sorted(before) == list(range(1, 9))
    assert sorted(after) == list(range(7, 16))  # same total: 15
    assert after[7][:2] == (1, 1)  # continues mid-epoch at batch 1
    for it, step in {**before, **after}.items():
        assert step == reference[it], f'iteration {it} differs'

    weights = torch.load(resumed['save_final'])
    expected = torch.load(full['save_final'])
    assert weights.keys() == expected.keys()
    for key in expected:
        assert torch.equal(weights[key], expected[key]), key


def _kill_during_second_save(tmp_path, root, name):
    job = _job(tmp_path, root, name, kill_in_save=2,
               cfg=dict(max_epochs=2, ckpt_interval=3, max_keep_ckpts=1))
    result = _child([job])
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    work_dir = job['work_dir']
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return work_dir, f.read()


def test_sigkill_while_writing_checkpoint_keeps_last_good(tmp_path):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    work_dir, latest = _kill_during_second_save(tmp_path, root, 'ours')
    # the interrupted iter_6.pth was never renamed into place, and the
    # checkpoint it would have replaced (max_keep_ckpts=1) is still there
    assert latest == osp.join(work_dir, 'iter_3.pth')
    assert not osp.exists(osp.join(work_dir, 'iter_6.pth'))
    assert _load_checkpoint(latest)['meta']['iter'] == 3
    partial = [f for f in os.listdir(work_dir) if '.tmp' in f]
    assert [f.split('.tmp')[0] for f in partial] == ['iter_6.pth']
    cfg = tiny_runner.runner_cfg(work_dir, root, max_epochs=2,
                                 ckpt_interval=3, max_keep_ckpts=1,
                                 resume=True)
    runner = DL4ALLRunner(**cfg)
    runner.train()
    assert runner.iter == 10
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        == ['iter_10.pth']


def test_upstream_save_loses_every_checkpoint(tmp_path, monkeypatch):
    """Control: the same fault with mmengine's own saving (here an
    exception in the middle of the write, in-process) leaves only a
    truncated iter_6.pth, and last_checkpoint names a deleted file."""
    from mmengine.fileio.backends import local_backend
    calls = [0]

    def faulty_open(path, mode='r', *args, **kwargs):
        if 'w' in mode and str(path).endswith('.pth'):
            calls[0] += 1
            if calls[0] == 2:
                raise _Killed(path)
        return open(path, mode, *args, **kwargs)

    class _Killed(KeyboardInterrupt):

        def __init__(self, path):  # write half a checkpoint, then stop
            with open(path, 'wb') as f:
                f.write(b'PK\x03\x04' + b'\0' * 100)
            super().__init__(path)

    monkeypatch.setattr(local_backend, 'open', faulty_open, raising=False)
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    work_dir = str(tmp_path / 'upstream')
    cfg = tiny_runner.runner_cfg(work_dir, root, max_epochs=2,
                                 ckpt_interval=3, max_keep_ckpts=1)
    cfg['default_hooks']['checkpoint']['type'] = 'CheckpointHook'
    with pytest.raises(KeyboardInterrupt):
        Runner(**cfg).train()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        latest = f.read()
    assert latest == osp.join(work_dir, 'iter_3.pth')
    assert not osp.exists(latest)
    with pytest.raises(CorruptCheckpointError, match='iter_6.pth'):
        _load_checkpoint(osp.join(work_dir, 'iter_6.pth'))


@pytest.mark.parametrize('kill_at,resume_from', [(8, 6), (17, 15)],
                         ids=['in-warmup', 'after-warmup'])
def test_greedy_reference_with_warmup_resumes_exactly(tmp_path, kill_at,
                                                      resume_from):
    """Reference warm-up (6 source + 5 target batches, then a fresh
    optimizer) and reference Greedy, whose ``best_loss`` spans the whole run.
    Killed inside the warm-up or mid-epoch after it (before an iteration
    that only the saved ``best_loss`` undoes); the resumed run must
    take the same greedy decisions and end with the same weights, bitwise,
    as the uninterrupted one."""
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    train_cfg = dict(type='DomainTrainLoop', max_epochs=3, warmup_epochs=1,
                     strategy='greedy')
    cfg = dict(max_epochs=3, ckpt_interval=3, train_cfg=train_cfg)
    killed = _job(tmp_path, root, 'crash', kill_at=kill_at, cfg=cfg)
    result = _child([killed])
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    with open(osp.join(killed['work_dir'], 'last_checkpoint')) as f:
        assert f.read().endswith(f'iter_{resume_from}.pth')
    resumed = dict(killed, kill_at=None, resume=True,
                   record=str(tmp_path / 'resumed.jsonl'),
                   save_final=str(tmp_path / 'resumed.pth'))
    full = _job(tmp_path, root, 'full', cfg=cfg,
                save_final=str(tmp_path / 'full.pth'))
    result = _child([resumed, full])
    assert result.returncode == 0, result.stderr[-3000:]

    def kept(path):
        return {r['iter']: r.get('greedy_kept')
                for r in tiny_runner.read_records(path) if 'val' not in r}

    after, reference = kept(resumed['record']), kept(full['record'])
    assert sorted(reference) == list(range(1, 22))  # 11 warm-up + 2 x 5
    assert sorted(after) == list(range(resume_from + 1, 22))
    assert all(reference[i] is None for i in range(1, 12))  # warm-up
    main = [reference[i] for i in range(max(12, resume_from + 1), 22)]
    assert 0.0 in main and 1.0 in main  # both branches after the resume
    if resume_from > 11:
        # undone with the saved best_loss, kept if it restarted at +inf
        assert reference[resume_from + 1] == 0.0
    for it, decision in after.items():
        assert decision == reference[it], f'iteration {it} differs'
    weights = torch.load(resumed['save_final'])
    expected = torch.load(full['save_final'])
    for key in expected:
        assert torch.equal(weights[key], expected[key]), key
