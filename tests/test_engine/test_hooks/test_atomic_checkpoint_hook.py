"""AtomicCheckpointHook and the atomic_local file backend: an interrupted
save keeps the previous checkpoint; rotation removes the oldest last."""
import io
import os
import os.path as osp

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import local_backend
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

from dl4all_mm.engine.runners import CorruptCheckpointError
from dl4all_mm.fileio import AtomicLocalBackend, atomic_local_backend
from tests.test_reliability import tiny_runner


class _FaultyFile(io.FileIO):
    """A file whose writes stop (raise) after ``limit`` bytes."""
    limit = 64

    def write(self, data):
        room = self.limit - self.tell()
        if len(data) > room:
            super().write(bytes(data)[:max(room, 0)])
            raise KeyboardInterrupt('simulated kill while writing')
        return super().write(data)


def _faulty_open(path, mode='r', *args, **kwargs):
    if 'w' in mode and '.pth' in osp.basename(str(path)):
        return _FaultyFile(path, 'wb')
    return open(path, mode, *args, **kwargs)


ATOMIC = dict(backend='atomic_local')


def test_backend_is_registered():
    assert isinstance(get_file_backend('x', backend_args=ATOMIC),
                      AtomicLocalBackend)


def test_upstream_save_leaves_truncated_file(tmp_path, monkeypatch):
    """Control: mmengine's own local backend, interrupted, truncates."""
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint(dict(w=torch.ones(100)), path)
    monkeypatch.setattr(local_backend, 'open', _faulty_open, raising=False)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(dict(w=torch.zeros(100)), path)
    assert osp.getsize(path) == _FaultyFile.limit
    with pytest.raises(CorruptCheckpointError):
        _load_checkpoint(path)


def test_atomic_save_keeps_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint(dict(w=torch.ones(100)), path, backend_args=ATOMIC)
    monkeypatch.setattr(atomic_local_backend, 'open', _faulty_open,
                        raising=False)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(dict(w=torch.zeros(100)), path, backend_args=ATOMIC)
    assert torch.equal(_load_checkpoint(path)['w'], torch.ones(100))
    assert os.listdir(tmp_path) == ['iter_1.pth']  # no temporary left
    monkeypatch.undo()
    save_checkpoint(dict(w=torch.zeros(100)), path, backend_args=ATOMIC)
    assert torch.equal(_load_checkpoint(path)['w'], torch.zeros(100))


def _train(tmp_path, hook_type, max_keep_ckpts, **hook_kwargs):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    work_dir = str(tmp_path / hook_type)
    cfg = tiny_runner.runner_cfg(work_dir, root, max_epochs=2,
                                 ckpt_interval=3,
                                 max_keep_ckpts=max_keep_ckpts)
    cfg['default_hooks']['checkpoint'].update(type=hook_type, **hook_kwargs)
    runner = Runner(**cfg)
    runner.train()
    return runner, work_dir


def test_hook_writes_through_the_atomic_backend(tmp_path, monkeypatch):
    written = []
    put = AtomicLocalBackend.put

    def recording_put(self, obj, filepath):
        written.append(osp.basename(str(filepath)))
        return put(self, obj, filepath)

    monkeypatch.setattr(AtomicLocalBackend, 'put', recording_put)
    runner, work_dir = _train(tmp_path, 'AtomicCheckpointHook', 2)
    assert written == ['iter_3.pth', 'iter_6.pth', 'iter_9.pth',
                       'iter_10.pth']
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        == ['iter_10.pth', 'iter_9.pth']
    assert runner.message_hub.get_info('keep_ckpt_ids') == [9, 10]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work_dir, 'iter_10.pth')


def test_explicit_backend_args_are_kept(tmp_path):
    runner, _ = _train(tmp_path, 'AtomicCheckpointHook', -1,
                       backend_args=dict(backend='local'))
    hook = [h for h in runner.hooks if type(h).__name__ ==
            'AtomicCheckpointHook'][0]
    assert type(hook.file_backend) is local_backend.LocalBackend


@pytest.mark.parametrize('hook_type,kept_during_save', [
    ('CheckpointHook', []), ('AtomicCheckpointHook', ['iter_3.pth'])])
def test_rotation_removes_the_oldest_last(tmp_path, monkeypatch, hook_type,
                                          kept_during_save):
    """While iter_6.pth is written (max_keep_ckpts=1), mmengine's hook has
    already deleted iter_3.pth; ours still has it."""
    seen = {}
    save = Runner.save_checkpoint

    def spying_save(self, out_dir, filename, *args, **kwargs):
        if filename == 'iter_6.pth':
            seen['files'] = sorted(
                f for f in os.listdir(out_dir) if f.endswith('.pth'))
        return save(self, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(Runner, 'save_checkpoint', spying_save)
    _, work_dir = _train(tmp_path, hook_type, 1)
    assert seen['files'] == kept_during_save
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        == ['iter_10.pth']
