"""Shared helpers of the stock-client tests: mmpretrain's own tool scripts
(shipped in the installed package under ``mmpretrain/.mim/tools``), the
demo config and tiny random-weight checkpoints of shipped configs."""
import contextlib
import functools
import glob
import os
import os.path as osp
import subprocess
import sys
from typing import Iterator, List, Optional
from unittest import mock

import mmpretrain
import torch
from mmengine.config import Config

from tests.conftest import TINY_RESNET_CHANNELS, tiny_resnet

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STOCK_TOOLS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
DEMO_CONFIG = osp.join(ROOT, 'configs', 'dl4all',
                       'dl4all_resnet18_demo_pbc2bccd.py')
DEMO_IMAGES = sorted(
    glob.glob(osp.join(ROOT, 'data', 'demo', 'bccd_wbc', '*', '*.jpg')))
SHIPPED_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'dl4all', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'baselines', '*.py')))

_TINY_BACKBONE = tiny_resnet(_delete_=True)
_TINY_CHANNELS = TINY_RESNET_CHANNELS


def tiny_config(config: str,
                folder: str,
                cfg: Optional[Config] = None) -> str:
    """Write a config inheriting ``config`` (pipelines, preprocessor, heads'
    classes) whose backbone is a tiny random ResNet; return its path.
    ``cfg``: ``config`` already loaded."""
    cfg = cfg or Config.fromfile(config)
    head = cfg.model.head
    if 'task_heads' in head:
        head_override = dict(task_heads={
            name: dict(in_channels=_TINY_CHANNELS)
            for name in head.task_heads
        })
    else:
        head_override = dict(in_channels=_TINY_CHANNELS)
    model = dict(
        backbone=_TINY_BACKBONE,
        neck=dict(type='GlobalAveragePooling'),
        head=head_override,
        init_cfg=None)
    if 'neck' in cfg.model:  # replace (None or a dict), else add
        model['neck']['_delete_'] = True
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'tiny_' + osp.basename(config))
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f'_base_ = [{osp.abspath(config)!r}]\nmodel = {model!r}\n')
    return path


@contextlib.contextmanager
def cached_package_configs() -> Iterator[None]:
    """Parse mmpretrain's model-zoo metafiles once while loading many
    ``mmpretrain::`` configs (mmengine re-reads ~170 YAML files per
    config; test speed only)."""
    from mmengine.config import utils as cfg_utils
    cached = functools.lru_cache(maxsize=None)(cfg_utils._get_cfg_metainfo)
    with mock.patch.object(cfg_utils, '_get_cfg_metainfo', cached):
        yield


def tiny_checkpoint(config: str, out: str, seed: int = 0) -> str:
    """Save random weights of ``config``'s model as an mmengine-style
    checkpoint (``state_dict``, ``meta`` and a ``message_hub`` holding a
    ``HistoryBuffer``, as the CheckpointHook saves: mmengine 0.10.7's own
    loader refuses it under torch >= 2.6, the safe loader our configs'
    ``custom_imports`` register loads it); return ``out``."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    import dl4all_mm  # noqa: F401
    init_default_scope('mmpretrain')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    # Larger random head weights so predictions differ between images.
    for name, param in model.named_parameters():
        if 'head' in name:
            torch.nn.init.normal_(param, std=1.0)
    from mmengine.logging import HistoryBuffer
    history = HistoryBuffer()
    history.update(0.5)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta={},
            message_hub=dict(log_scalars=dict(loss=history))), out)
    return out


def run_stock_tool(tool: str,
                   args: List[str],
                   timeout: int = 300,
                   env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run mmpretrain's ``tools/<tool>`` with this Python in the repository
    root (where the configs' relative data paths point)."""
    full_env = dict(os.environ, MPLBACKEND='Agg', **(env or {}))
    return subprocess.run([sys.executable,
                           osp.join(STOCK_TOOLS, tool)] + args,
                          cwd=ROOT,
                          env=full_env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
