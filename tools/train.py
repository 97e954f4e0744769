"""Train a dl4all_mm (or any mmpretrain) config.

Same flags as mmpretrain's ``tools/train.py``, plus ``--trust-checkpoint``
(allow full unpickling of the ``--resume``/``load_from`` file),
``--tensorboard`` (also log to TensorBoard, in ``WORK_DIR/<timestamp>/
vis_data``) and a check that the config's data exist before anything is
built.
"""
import argparse
import os
import os.path as osp
import sys
from copy import deepcopy

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import dl4all_mm  # noqa: E402,F401  (registers components)
from dl4all_mm.engine.runners import (  # noqa: E402
    register_safe_loader, trust_checkpoints)
from dl4all_mm.utils import check_data_paths  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by actual / base batch size')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--no-persistent-workers', action='store_true')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow full unpickling of the checkpoint to resume/load from '
        '(only for files you trust: unpickling can run code)')
    parser.add_argument(
        '--tensorboard',
        action='store_true',
        help='also log scalars to TensorBoard (event files under '
        'WORK_DIR/<timestamp>/vis_data; needs `pip install tensorboard`)')
    parser.add_argument(
        '--skip-data-check',
        action='store_true',
        help='do not check that the data paths of the config exist')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if getattr(args, 'tensorboard', False):
        add_tensorboard(cfg)

    defaults = ConfigDict(
        pin_memory=torch.cuda.is_available(),
        persistent_workers=True,
        collate_fn=dict(type='default_collate'))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        loader = deepcopy(defaults)
        loader.update(cfg[field])
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False
        cfg[field] = loader
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def add_tensorboard(cfg: Config) -> Config:
    """Add mmengine's ``TensorboardVisBackend`` to ``cfg.visualizer``.

    Raises:
        SystemExit: The ``tensorboard`` package is not installed.
    """
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        sys.exit('--tensorboard needs the tensorboard package: pip install '
                 "tensorboard (or pip install -e '.[tensorboard]')")
    if cfg.get('visualizer', None) is None:
        cfg.visualizer = dict(type='UniversalVisualizer')
    backends = list(cfg.visualizer.get('vis_backends', None) or [])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    cfg.visualizer.vis_backends = backends
    return cfg


def main() -> None:
    args = parse_args()
    register_safe_loader()  # also for configs without DL4ALLRunner
    if args.trust_checkpoint:
        trust_checkpoints()
    cfg = merge_args(Config.fromfile(args.config), args)
    if not args.skip_data_check:
        try:
            check_data_paths(cfg)
        except FileNotFoundError as err:
            sys.exit(f'{args.config}: {err}')
    runner = RUNNERS.build(cfg)  # the config's runner_type, or Runner
    runner.train()


if __name__ == '__main__':
    main()
