"""The checkpoint trust policy: weights-only loading through mmengine's
``CheckpointLoader`` scheme, trusted opt-in, corrupt files named."""
import io
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from dl4all_mm.engine.runners import checkpoint_loader as ckpt_loader
from dl4all_mm.engine.runners import DL4ALLRunner
from tests.test_reliability import tiny_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


class RunsCode:
    """Unpickling this object creates ``marker`` (stands for any code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").close()', ))


@pytest.fixture
def safe_loader(monkeypatch):
    """mmengine's local scheme is our loader during the test (as under a
    DL4ALLRunner or our configs' custom_imports), untrusted."""
    monkeypatch.setitem(CheckpointLoader._schemes, '',
                        ckpt_loader.load_from_local)
    monkeypatch.setenv(ckpt_loader.TRUST_ENV, '0')  # restored afterwards


@pytest.fixture
def untrusted(tmp_path, safe_loader):
    """A checkpoint whose full unpickling runs code, and its marker."""
    marker = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'evil.pth')
    torch.save(
        dict(
            state_dict=dict(w=torch.zeros(1)),
            meta=dict(payload=RunsCode(marker))), path)
    return path, marker


def _mmengine_checkpoint(path: str) -> None:
    buf = HistoryBuffer()
    buf.update(1.5)
    torch.save(
        dict(
            state_dict=dict(w=torch.ones(2)),
            message_hub=dict(log_scalars=dict(loss=buf)),
            meta=dict(seed=np.int64(3), arr=np.arange(3), epoch=1)), path)


def test_mmengine_checkpoint_loads_safely(tmp_path, safe_loader):
    path = str(tmp_path / 'ok.pth')
    _mmengine_checkpoint(path)
    ckpt = _load_checkpoint(path)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))
    assert ckpt['meta']['seed'] == 3
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.5


def test_mmengine_own_loader_refuses_its_checkpoints(tmp_path, monkeypatch):
    """Control: the bug the scheme works around (mmengine 0.10.7 with
    torch >= 2.6: its own checkpoints do not load)."""
    from mmengine.runner.checkpoint import load_from_local
    monkeypatch.setitem(CheckpointLoader._schemes, '', load_from_local)
    path = str(tmp_path / 'ok.pth')
    _mmengine_checkpoint(path)
    with pytest.raises(Exception, match='HistoryBuffer'):
        _load_checkpoint(path)


class _GetAttr:
    """Pickles as ``getattr(obj, name)``."""

    def __init__(self, obj, name: str) -> None:
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj,name', [(np.ndarray, 'tofile'),
                                      (HistoryBuffer, '__init__'),
                                      (HistoryBuffer, '__class__')])
def test_getattr_is_limited_to_history_buffer_methods(tmp_path, safe_loader,
                                                      obj, name):
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(ok=_GetAttr(HistoryBuffer, 'mean')), path)
    assert _load_checkpoint(path)['ok'] is HistoryBuffer.mean
    torch.save(dict(bad=_GetAttr(obj, name)), path)
    with pytest.raises(ckpt_loader.UntrustedCheckpointError, match='getattr'):
        _load_checkpoint(path)


def test_untrusted_checkpoint_refused_by_every_loader(untrusted):
    path, marker = untrusted
    model = torch.nn.Linear(1, 1)
    loaders = [
        lambda: _load_checkpoint(path),
        lambda: load_checkpoint(model, path),
        lambda: ckpt_loader.load_checkpoint_file(path),
    ]
    for load in loaders:
        with pytest.raises(ckpt_loader.UntrustedCheckpointError) as err:
            load()
        assert path in str(err.value)
        assert '--trust-checkpoint' in str(err.value)
        assert ckpt_loader.TRUST_ENV in str(err.value)
    assert not osp.exists(marker)


@pytest.mark.parametrize('mode', ['load_from', 'resume'])
def test_runner_refuses_untrusted_checkpoint(untrusted, tmp_path, mode):
    path, marker = untrusted
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    cfg = tiny_runner.runner_cfg(
        str(tmp_path / 'work'), root, max_epochs=1, load_from=path,
        resume=mode == 'resume')
    runner = DL4ALLRunner(**cfg)
    with pytest.raises(ckpt_loader.UntrustedCheckpointError):
        runner.train()
    with pytest.raises(ckpt_loader.UntrustedCheckpointError):
        runner.load_checkpoint(path)
    with pytest.raises(ckpt_loader.UntrustedCheckpointError):
        runner.resume(path)
    assert not osp.exists(marker)


def test_trusted_opt_in_runs_the_payload(untrusted):
    """The crafted file really runs code when fully unpickled: the refusal
    above is what protects the user."""
    path, marker = untrusted
    ckpt_loader.load_checkpoint_file(path, trusted=True)
    assert osp.exists(marker)
    os.remove(marker)
    ckpt_loader.trust_checkpoints()
    try:
        assert ckpt_loader.checkpoints_trusted()
        _load_checkpoint(path)
        assert osp.exists(marker)
    finally:
        ckpt_loader.trust_checkpoints(False)
    assert not ckpt_loader.checkpoints_trusted()


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
        with pytest.raises(ckpt_loader.CorruptCheckpointError) as err:
            ckpt_loader.load_checkpoint_file(path, trusted=trusted)
        assert path in str(err.value) and 'truncated' in str(err.value)


def test_missing_checkpoint_named(tmp_path, safe_loader):
    path = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(path)


def test_registered_by_the_runner_and_the_configs(tmp_path, monkeypatch):
    from mmengine.runner.checkpoint import load_from_local
    monkeypatch.setitem(CheckpointLoader._schemes, '', load_from_local)
    assert not ckpt_loader.safe_loader_registered()
    DL4ALLRunner(model=torch.nn.Linear(1, 1), work_dir=str(tmp_path))
    assert ckpt_loader.safe_loader_registered()

    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_',
                 'default_runtime.py'))
    assert 'dl4all_mm.engine.runners.use_safe_loader' in \
        cfg.custom_imports['imports']
