"""tools/train.py (--resume and load_from), tools/test.py and tools/infer.py
refuse a checkpoint whose unpickling would run code; --trust-checkpoint
opts in. The tools run in-process (runpy) with their real command lines."""
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader, load_from_local

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.runners import checkpoint_loader as ckpt_loader
from tests.test_engine.test_runners.test_checkpoint_loader import RunsCode
from tests.test_reliability import tiny_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A tiny config file, its data, and a code-running checkpoint."""
    monkeypatch.setenv(ckpt_loader.TRUST_ENV, '0')  # restored afterwards
    # mmengine's own local loader: each tool must register ours itself
    monkeypatch.setitem(CheckpointLoader._schemes, '', load_from_local)
    monkeypatch.setenv('LOCAL_RANK', '0')  # the tools set it
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    tiny_runner.write_images(root, {'target': (2, 2)}, split='val')
    cfg = tiny_runner.runner_cfg(str(tmp_path / 'work'), root,
                                 max_epochs=1, val=True)
    cfg.update(
        test_dataloader=cfg['val_dataloader'],
        test_cfg=dict(),
        test_evaluator=cfg['val_evaluator'])
    config = str(tmp_path / 'tiny_config.py')
    Config(cfg).dump(config)
    marker = str(tmp_path / 'code_ran')
    evil = str(tmp_path / 'evil.pth')
    torch.save(
        dict(
            state_dict=dict(w=torch.zeros(1)),
            meta=dict(payload=RunsCode(marker))), evil)
    return dict(config=config, evil=evil, marker=marker, root=root,
                work=str(tmp_path / 'work'))


def _tool(monkeypatch, name, *args):
    path = osp.join(REPO, 'tools', name)
    # A renamed or removed tool fails here (a skip would silently drop the
    # security check it stands for).
    assert osp.isfile(path), (
        f'tools/{name} does not exist: this test covers its refusal of '
        'untrusted checkpoints; update the test if the tool moved')
    monkeypatch.setattr(sys, 'argv', [path, *args])
    runpy.run_path(path, run_name='__main__')


def test_train_resume_refuses(setup, monkeypatch):
    with pytest.raises(ckpt_loader.UntrustedCheckpointError, match='--trust'):
        _tool(monkeypatch, 'train.py', setup['config'], '--work-dir',
              setup['work'], '--resume', setup['evil'])
    assert not osp.exists(setup['marker'])


def test_train_load_from_refuses(setup, monkeypatch):
    with pytest.raises(ckpt_loader.UntrustedCheckpointError):
        _tool(monkeypatch, 'train.py', setup['config'], '--work-dir',
              setup['work'], '--cfg-options', f'load_from={setup["evil"]}')
    assert not osp.exists(setup['marker'])


def test_test_refuses(setup, monkeypatch):
    with pytest.raises(ckpt_loader.UntrustedCheckpointError):
        _tool(monkeypatch, 'test.py', setup['config'], setup['evil'],
              '--work-dir', setup['work'])
    assert not osp.exists(setup['marker'])


def test_infer_refuses(setup, monkeypatch, tmp_path):
    image = osp.join(setup['root'], 'target', 'val_0.png')
    with pytest.raises(ckpt_loader.UntrustedCheckpointError):
        _tool(monkeypatch, 'infer.py', setup['config'], setup['evil'], image,
              '--out', str(tmp_path / 'preds.csv'), '--no-progress')
    assert not osp.exists(setup['marker'])


def test_trust_flag_opts_in(setup, monkeypatch):
    """With --trust-checkpoint the file is fully unpickled: the payload
    runs (which is why it is off by default)."""
    _tool(monkeypatch, 'test.py', setup['config'], setup['evil'],
          '--work-dir', setup['work'], '--trust-checkpoint')
    assert osp.exists(setup['marker'])
    assert ckpt_loader.checkpoints_trusted()
