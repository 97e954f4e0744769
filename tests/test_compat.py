"""Tests of dl4all_mm.compat: safe/trusted checkpoint loading, atomic
checkpoint writing and the work-dir check."""
import io
import multiprocessing as mp
import os
import os.path as osp
import shutil
import tempfile

import numpy as np
import pytest
import torch
from mmengine.fileio.backends import local_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

import dl4all_mm  # noqa: F401
from dl4all_mm import compat
from tests.test_reliability import tiny_runner


class _RunsCode:
    """Unpickling this object creates ``marker`` (stands for any code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").close()', ))


@pytest.fixture
def untrusted(tmp_path, monkeypatch):
    """A checkpoint whose full unpickling runs code, and its marker."""
    monkeypatch.setenv(compat.TRUST_ENV, '0')  # restored afterwards
    marker = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'evil.pth')
    torch.save(
        dict(
            state_dict=dict(w=torch.zeros(1)),
            meta=dict(payload=_RunsCode(marker))), path)
    return path, marker


def test_mmengine_checkpoint_loads_safely(tmp_path, monkeypatch):
    monkeypatch.setenv(compat.TRUST_ENV, '0')  # restored afterwards
    buf = HistoryBuffer()
    buf.update(1.5)
    path = str(tmp_path / 'ok.pth')
    torch.save(
        dict(
            state_dict=dict(w=torch.ones(2)),
            message_hub=dict(log_scalars=dict(loss=buf)),
            meta=dict(seed=np.int64(3), arr=np.arange(3), epoch=1)), path)
    ckpt = _load_checkpoint(path)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))
    assert ckpt['meta']['seed'] == 3
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.5


class _GetAttr:
    """Pickles as ``getattr(obj, name)``."""

    def __init__(self, obj, name: str) -> None:
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj,name', [(np.ndarray, 'tofile'),
                                      (HistoryBuffer, '__init__'),
                                      (HistoryBuffer, '__class__')])
def test_getattr_is_limited_to_history_buffer_methods(tmp_path, obj, name):
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(ok=_GetAttr(HistoryBuffer, 'mean')), path)
    assert _load_checkpoint(path)['ok'] is HistoryBuffer.mean
    torch.save(dict(bad=_GetAttr(obj, name)), path)
    with pytest.raises(compat.UntrustedCheckpointError, match='getattr'):
        _load_checkpoint(path)


def test_untrusted_checkpoint_refused_by_every_loader(untrusted, tmp_path):
    path, marker = untrusted
    model = torch.nn.Linear(1, 1)
    loaders = [
        lambda: _load_checkpoint(path),
        lambda: load_checkpoint(model, path),
        lambda: compat.load_checkpoint_file(path),
    ]
    for load in loaders:
        with pytest.raises(compat.UntrustedCheckpointError) as err:
            load()
        assert path in str(err.value)
        assert '--trust-checkpoint' in str(err.value)
        assert compat.TRUST_ENV in str(err.value)
    assert not osp.exists(marker)


@pytest.mark.parametrize('mode', ['load_from', 'resume'])
def test_runner_refuses_untrusted_checkpoint(untrusted, tmp_path, mode):
    path, marker = untrusted
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    cfg = tiny_runner.runner_cfg(
        str(tmp_path / 'work'), root, max_epochs=1, load_from=path,
        resume=mode == 'resume')
    runner = Runner(**cfg)
    with pytest.raises(compat.UntrustedCheckpointError):
        runner.train()
    with pytest.raises(compat.UntrustedCheckpointError):
        runner.load_checkpoint(path)
    with pytest.raises(compat.UntrustedCheckpointError):
        runner.resume(path)
    assert not osp.exists(marker)


def test_trusted_opt_in_runs_the_payload(untrusted, monkeypatch):
    """The crafted file really runs code when fully unpickled: the refusal
    above is what protects the user."""
    path, marker = untrusted
    compat.load_checkpoint_file(path, trusted=True)
    assert osp.exists(marker)
    os.remove(marker)
    compat.trust_checkpoints()
    try:
        assert compat.checkpoints_trusted()
        _load_checkpoint(path)
        assert osp.exists(marker)
    finally:
        compat.trust_checkpoints(False)
    assert not compat.checkpoints_trusted()


@pytest.mark.parametrize('content', ['half', 'empty', 'garbage'])
def test_corrupt_checkpoint_named(tmp_path, content):
    good = io.BytesIO()
    torch.save(dict(state_dict=dict(w=torch.ones(100))), good)
    data = dict(
        half=good.getvalue()[:len(good.getvalue()) // 2],
        empty=b'',
        garbage=b'not a checkpoint' * 10)[content]
    path = str(tmp_path / 'bad.pth')
    with open(path, 'wb') as f:
        f.write(data)
    for trusted in (False, True):
        with pytest.raises(compat.CorruptCheckpointError) as err:
            compat.load_checkpoint_file(path, trusted=trusted)
        assert path in str(err.value) and 'truncated' in str(err.value)


def test_missing_checkpoint_named(tmp_path):
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(path)


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


def test_upstream_save_leaves_truncated_file(tmp_path, monkeypatch):
    """Control: mmengine's own save, interrupted, truncates the file."""
    path = str(tmp_path / 'iter_1.pth')
    compat.save_checkpoint(dict(w=torch.ones(100)), path)
    monkeypatch.setattr(local_backend, 'open', _faulty_open, raising=False)
    with pytest.raises(KeyboardInterrupt):
        compat._ORIGINALS['save_checkpoint'](dict(w=torch.zeros(100)), path)
    assert osp.getsize(path) == _FaultyFile.limit
    with pytest.raises(compat.CorruptCheckpointError):
        compat.load_checkpoint_file(path)


def test_atomic_save_keeps_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'iter_1.pth')
    compat.save_checkpoint(dict(w=torch.ones(100)), path)
    monkeypatch.setattr(compat, 'open', _faulty_open, raising=False)
    with pytest.raises((KeyboardInterrupt, RuntimeError)):  # torch wraps it
        compat.save_checkpoint(dict(w=torch.zeros(100)), path)
    assert torch.equal(compat.load_checkpoint_file(path)['w'], torch.ones(100))
    assert os.listdir(tmp_path) == ['iter_1.pth']  # no temporary left
    monkeypatch.undo()
    compat.save_checkpoint(dict(w=torch.zeros(100)), path)
    assert torch.equal(
        compat.load_checkpoint_file(path)['w'], torch.zeros(100))


def test_saves_go_through_the_atomic_writer():
    import mmengine.runner as mm_runner
    import mmengine.runner.checkpoint as mm_checkpoint
    import mmengine.runner.runner as mm_runner_module
    for module in (mm_runner, mm_checkpoint, mm_runner_module):
        assert module.save_checkpoint is compat.save_checkpoint


def test_work_dir_under_a_file(tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    work_dir = str(blocker / 'work')
    with pytest.raises(compat.WorkDirError) as err:
        compat.check_writable_dir(work_dir)
    assert work_dir in str(err.value) and 'not writable' in str(err.value)
    with pytest.raises(compat.WorkDirError, match='work_dir'):
        Runner(model=torch.nn.Linear(1, 1), work_dir=work_dir)


def _probe_as_nobody(paths, queue):
    results = []
    try:
        if os.geteuid() == 0:
            os.setuid(65534)  # root may write anywhere; drop privileges
        for path in paths:
            try:
                compat.check_writable_dir(path)
                results.append('writable')
            except compat.WorkDirError as err:
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


# --- which patches apply, and turning them off ---------------------------

_MMENGINE_ATTRS = """
import json, sys
import mmengine.dist.utils as du
import mmengine.runner.checkpoint as ck
from mmengine.dataset import BaseDataset
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
def where(func):  # the file defining the function (wraps copies names)
    return func.__code__.co_filename.split('site-packages/')[-1]
def snapshot():
    return dict(init_dist=where(du._init_dist_pytorch),
                save=where(ck.save_checkpoint),
                hook=where(CheckpointHook._save_checkpoint_with_step),
                runner=where(Runner.__init__),
                serialize=where(BaseDataset._serialize_data),
                loader=where(ck.CheckpointLoader._schemes['']))
before = snapshot()
import dl4all_mm
from dl4all_mm import compat
after = snapshot()
status = compat.patch_status()
compat.remove_patches()
print(json.dumps(dict(before=before, after=after, status=status,
                      removed=snapshot())))
"""


def _import_in_subprocess(**env) -> dict:
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, '-c', _MMENGINE_ATTRS],
                          env=dict(os.environ, **env),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_patches_apply_where_upstream_is_broken_and_can_be_undone():
    out = _import_in_subprocess(DL4ALL_DISABLE_PATCHES='')
    assert set(out['status']) == set(compat.PATCHES)
    assert set(out['status'].values()) == {'applied'}  # pinned mmengine
    assert all(v.startswith('mmengine') for v in out['before'].values())
    assert all(v.endswith('dl4all_mm/compat.py')
               for v in out['after'].values()), out['after']
    assert out['removed'] == out['before']


def test_patches_can_be_turned_off_by_environment():
    out = _import_in_subprocess(DL4ALL_DISABLE_PATCHES='all')
    assert out['after'] == out['before']
    assert all(s.startswith('disabled') for s in out['status'].values())
    out = _import_in_subprocess(
        DL4ALL_DISABLE_PATCHES='work_dir_check,empty_dataset_error')
    assert out['after']['runner'] == out['before']['runner']
    assert out['after']['serialize'] == out['before']['serialize']
    assert out['after']['loader'].endswith('dl4all_mm/compat.py')
    assert out['status']['work_dir_check'].startswith('disabled')


def test_unknown_patch_name(monkeypatch):
    monkeypatch.setenv(compat.DISABLE_ENV, 'safe_checkpoint_loading,nope')
    with pytest.raises(ValueError, match="DL4ALL_DISABLE_PATCHES.*'nope'"):
        compat.disabled_patches()


def test_each_bug_is_detected_on_the_pinned_stack():
    for name, patch in compat.PATCHES.items():
        assert patch.needed(), name


def test_a_fixed_upstream_is_left_alone(monkeypatch):
    """A patch whose upstream bug is gone is not applied."""

    def fixed_serialize(self):  # what a fixed mmengine would do
        if not self.data_list:
            raise ValueError('dataset is empty')

    def fixed_loader(filename, map_location=None):
        return torch.load(filename, map_location, weights_only=True)

    patch = compat.PATCHES['empty_dataset_error']
    monkeypatch.setitem(compat._ORIGINALS, 'serialize', fixed_serialize)
    monkeypatch.setitem(compat._ORIGINALS, 'load_from_local', fixed_loader)
    assert not patch.needed()
    assert not compat.PATCHES['safe_checkpoint_loading'].needed()
    monkeypatch.setattr(patch, 'status', 'not applied')
    monkeypatch.setattr(patch, 'apply', lambda: pytest.fail('applied'))
    status = compat.apply_patches(['empty_dataset_error'])
    assert status['empty_dataset_error'].startswith('not needed')
