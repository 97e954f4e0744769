"""Test a checkpoint of a dl4all_mm (or any mmpretrain) config.

Same flags as mmpretrain's ``tools/test.py`` (``--out`` dumps predictions),
plus ``--trust-checkpoint``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import dl4all_mm  # noqa: E402,F401
from dl4all_mm.engine.runners import (  # noqa: E402
    register_safe_loader, trust_checkpoints)
from dl4all_mm.utils import check_data_paths  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help="what --out holds: 'pred' (default) or 'metrics'")
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='allow full unpickling of the checkpoint (trusted files only)')
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


def main() -> None:
    args = parse_args()
    register_safe_loader()  # also for configs without DL4ALLRunner
    if args.trust_checkpoint:
        trust_checkpoints()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    try:
        check_data_paths(cfg, splits=('test_dataloader', ))
    except FileNotFoundError as err:
        sys.exit(f'{args.config}: {err}')
    runner = RUNNERS.build(cfg)  # the config's runner_type, or Runner
    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    main()
