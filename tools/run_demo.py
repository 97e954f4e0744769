"""The embedded demo: DL4ALL against target-only fine-tuning on data/demo.

Trains ``configs/dl4all/dl4all_efficientnet-lite0_demo_pbc2bccd.py`` (DL4ALL;
source: PBC subset, target: BCCD white cells) and
``configs/baselines/target-only_efficientnet-lite0_demo_bccd.py`` (the same
EfficientNet-Lite0 ImageNet init, input size, augmentation, optimizer and
number of optimizer steps, on the target alone). Each run keeps the
checkpoint with the best target validation balanced accuracy, which is
tested on the held-out target test split. Prints both results side by side
and writes ``WORK_DIR/summary.json``: DL4ALL's ``target_accuracy``,
``balanced_accuracy``, ``per_class_recall``, ``confusion_matrix``,
``classes``, ``config``, ``checkpoint``, ``seed``, ``steps`` and wall times
at the top level, the same for target-only under ``target_only``, and the
``threads`` used. Each method trains in ``WORK_DIR/dl4all`` and
``WORK_DIR/target_only``.

Deterministic: both configs fix ``randomness = dict(seed=0,
deterministic=True)`` (model init, samplers, augmentation, loader workers)
and both runs use ``--threads`` (default 1) intra-op threads, so the same
command on the same machine prints the same table; the thread count, the
deterministic-algorithm flags and ``CUBLAS_WORKSPACE_CONFIG`` are restored
when the demo ends. Quiet: mmengine's logs go to each run's log file
(``WORK_DIR/METHOD/TIMESTAMP/TIMESTAMP.log``, named on the terminal), the
terminal shows one progress bar per method and the table; ``--verbose``
shows the full logs. Errors print in full either way.
"""
import argparse
import glob
import json
import os.path as osp
import sys
import time
import warnings
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
with warnings.catch_warnings():
    # mmcv-lite lacks compiled ops on purpose (README, "Install")
    warnings.filterwarnings('ignore', 'Fail to import ``MultiScaleDeform')
    from dl4all_mm.apis.demo_report import (  # noqa: E402,F401
        DEMO_METHODS, report, side_by_side)
    from dl4all_mm.engine import DL4ALLRunner, QuietRunner  # noqa: E402
    from dl4all_mm.utils import fixed_threads  # noqa: E402

DEMO_CONFIG = 'configs/dl4all/dl4all_efficientnet-lite0_demo_pbc2bccd.py'
BASELINE_CONFIG = (
    'configs/baselines/target-only_efficientnet-lite0_demo_bccd.py')
METHODS = DEMO_METHODS
# Intra-op threads of both runs: the README's numbers are for this count
# (one thread: the same numbers on any core count, and no thread contention
# when other jobs share the CPU).
THREADS = 1


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments.

    Args:
        argv: The arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: ``config``, ``baseline_config``, ``work_dir``,
        ``cfg_options`` (DL4ALL), ``baseline_cfg_options``, ``threads`` and
        ``verbose``.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG, help='DL4ALL config')
    parser.add_argument(
        '--baseline-config',
        default=BASELINE_CONFIG,
        help='target-only config (same backbone, init and budget)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the DL4ALL config, key=value')
    parser.add_argument(
        '--baseline-cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the target-only config, key=value')
    parser.add_argument(
        '--threads',
        type=int,
        default=THREADS,
        help='intra-op threads of both runs (the README\'s numbers are for '
        f'{THREADS}; another count gives other, equally valid numbers)')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='print the full mmengine logs instead of progress bars')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def best_checkpoint(work_dir: str) -> str:
    """The ``save_best`` checkpoint of a run, else its latest one.

    Args:
        work_dir: The run's work directory.

    Returns:
        str: Path of the checkpoint.

    Raises:
        FileNotFoundError: The run saved no checkpoint.
    """
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
    if best:
        return best[-1]
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            return f.read().strip()
    raise FileNotFoundError(f'No checkpoint found in {work_dir}')


def test_cfg(cfg: Config, checkpoint: str) -> Config:
    """The config that tests ``checkpoint`` with per-class metrics.

    Args:
        cfg: The training config.
        checkpoint: The checkpoint to load.

    Returns:
        Config: A copy of ``cfg`` with accuracy, per-class recall and
        confusion-matrix test metrics.
    """
    cfg = cfg.copy()
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.test_evaluator = [
        dict(type='Accuracy', topk=(1, )),
        dict(type='SingleLabelMetric', items=['recall'], average=None),
        dict(type='ConfusionMatrix'),
    ]
    return cfg


def load_cfg(path: str, options: Optional[dict], work_dir: str) -> Config:
    """A config with command-line overrides and its work directory.

    Args:
        path: Config file.
        options: ``--cfg-options`` style overrides, or None.
        work_dir: The run's work directory.

    Returns:
        Config: The merged config.
    """
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    return cfg


def build_runner(cfg: Config, verbose: bool) -> Runner:
    """A :class:`DL4ALLRunner` (``verbose``) or a :class:`QuietRunner`.

    On CUDA, operations without a deterministic kernel (the backward of
    global average pooling) warn instead of failing; CPU runs stay fully
    deterministic.

    Args:
        cfg: The run's config.
        verbose: Log to the terminal too.

    Returns:
        Runner: The runner, its randomness set.
    """
    runner = (DL4ALLRunner if verbose else QuietRunner).from_cfg(cfg)
    if (torch.cuda.is_available()
            and torch.are_deterministic_algorithms_enabled()):
        torch.use_deterministic_algorithms(True, warn_only=True)
    return runner


def run_method(name: str,
               config: str,
               options: Optional[dict],
               work_dir: str,
               verbose: bool = False) -> Dict:
    """Train a config, test its best checkpoint on the target test split.

    Unless ``verbose``, the terminal gets the path of the run's log file and
    a progress bar (mmengine's records go to the log file); on an error, the
    log file's path, and the exception propagates.

    Args:
        name: The method's key (``dl4all``, ``target_only``); names the
            run's experiment and work sub-directory.
        config: Config file.
        options: ``--cfg-options`` style overrides, or None.
        work_dir: The demo's work directory.
        verbose: Print the full mmengine logs. Defaults to False.

    Returns:
        dict: ``config``, ``checkpoint``, ``classes``, ``target_accuracy``,
        ``balanced_accuracy`` (mean per-class recall), ``per_class_recall``
        (class -> recall), ``confusion_matrix`` (rows: truth), ``seed``,
        ``steps`` (optimizer steps), ``backbone``, ``init``, and
        ``train_wall_s``, ``test_wall_s``, ``wall_s`` (seconds).
    """
    title = dict(METHODS).get(name, name)
    run_dir = osp.join(work_dir, name)
    cfg = load_cfg(config, options, run_dir)
    stamp = time.strftime('%Y%m%d_%H%M%S')
    start = time.time()
    train = cfg.copy()
    # distinct names: two runners (logger, visualizer) in one process
    train.experiment_name = f'{name}_train_{stamp}'
    if not verbose:
        train.custom_hooks = list(train.get('custom_hooks', [])) + [
            dict(type='TrainProgressBarHook', label=title)
        ]
    runner = None
    try:
        runner = build_runner(train, verbose)
        if not verbose:
            print(f'{title}: full log in {runner.logger.log_file}')
        runner.train()
        steps = runner.iter
        train_s = time.time() - start
        checkpoint = best_checkpoint(run_dir)
        test_start = time.time()
        tcfg = test_cfg(cfg, checkpoint)
        tcfg.experiment_name = f'{name}_test_{stamp}'
        runner = build_runner(tcfg, verbose)
        metrics = runner.test()
    except Exception:
        log = f'; full log: {runner.logger.log_file}' if runner else ''
        print(f'\n{title} failed{log}', file=sys.stderr, flush=True)
        raise
    test_s = time.time() - test_start

    classes = list(runner.test_dataloader.dataset.metainfo['classes'])
    recall = [float(r) for r in metrics['single-label/recall_classwise']]
    backbone = cfg.model.backbone
    return dict(
        config=config,
        checkpoint=checkpoint,
        classes=classes,
        target_accuracy=float(metrics['accuracy/top1']) / 100,
        per_class_recall={c: r / 100
                          for c, r in zip(classes, recall)},
        balanced_accuracy=sum(recall) / len(recall) / 100,
        confusion_matrix=metrics['confusion_matrix/result'].tolist(),
        seed=cfg.get('randomness', {}).get('seed'),
        steps=steps,
        backbone=backbone.type,
        init=_init_name(backbone),
        train_wall_s=round(train_s, 1),
        test_wall_s=round(test_s, 1),
        wall_s=round(time.time() - start, 1),
    )


def _init_name(backbone: dict) -> str:
    """How a backbone config is initialised, in words."""
    if backbone.get('pretrained_imagenet'):
        return 'ImageNet weights'
    return 'its init_cfg' if backbone.get('init_cfg') else 'random init'


def make_summary(results: Dict[str, Dict]) -> Dict:
    """``summary.json``'s content: DL4ALL at the top level (the keys of the
    earlier DL4ALL-only demo, plus ``wall_s``), target-only under
    ``target_only``.

    Args:
        results: Method key -> :func:`run_method` result.

    Returns:
        dict: The summary.
    """
    summary = dict(results['dl4all'])
    summary['target_only'] = dict(results['target_only'])
    return summary


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    """Run the demo.

    Args:
        argv: The arguments; ``sys.argv[1:]`` when None.

    Returns:
        dict: The summary written to ``WORK_DIR/summary.json``.
    """
    args = parse_args(argv)
    start = time.time()
    runs = (('dl4all', args.config, args.cfg_options),
            ('target_only', args.baseline_config, args.baseline_cfg_options))
    with fixed_threads(args.threads), warnings.catch_warnings():
        if not args.verbose:  # mmengine imports it for `mmpretrain::` bases
            warnings.filterwarnings('ignore', 'pkg_resources is deprecated')
        results = {
            key: run_method(key, config, options, args.work_dir,
                            args.verbose)
            for key, config, options in runs
        }
    summary = make_summary(results)
    summary['threads'] = args.threads
    summary['total_wall_s'] = round(time.time() - start, 1)
    out = osp.join(args.work_dir, 'summary.json')
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    print(report(results, out))
    walls = ', '.join(f'{title} {results[key]["wall_s"]:.0f} s'
                      for key, title in METHODS)
    plural = 's' if args.threads > 1 else ''
    print(f'wall time: {walls}, total {summary["total_wall_s"]:.0f} s '
          f'({args.threads} intra-op thread{plural})')
    return summary


if __name__ == '__main__':
    main()
