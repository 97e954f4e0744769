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
``classes``, ``config``, ``checkpoint`` and wall times at the top level,
the same for target-only under ``target_only``. Each method trains in
``WORK_DIR/dl4all`` and ``WORK_DIR/target_only``.
"""
import argparse
import glob
import json
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import dl4all_mm  # noqa: E402,F401

DEMO_CONFIG = 'configs/dl4all/dl4all_efficientnet-lite0_demo_pbc2bccd.py'
BASELINE_CONFIG = (
    'configs/baselines/target-only_efficientnet-lite0_demo_bccd.py')
METHODS = (('dl4all', 'DL4ALL'), ('target_only', 'target-only'))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments.

    Args:
        argv: The arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: ``config``, ``baseline_config``, ``work_dir``,
        ``cfg_options`` (DL4ALL) and ``baseline_cfg_options``.
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
    return parser.parse_args(argv)


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


def run_method(name: str, config: str, options: Optional[dict],
               work_dir: str) -> Dict:
    """Train a config, test its best checkpoint on the target test split.

    Args:
        name: The method's key (``dl4all``, ``target_only``); names the
            run's experiment and work sub-directory.
        config: Config file.
        options: ``--cfg-options`` style overrides, or None.
        work_dir: The demo's work directory.

    Returns:
        dict: ``config``, ``checkpoint``, ``classes``, ``target_accuracy``,
        ``balanced_accuracy`` (mean per-class recall), ``per_class_recall``
        (class -> recall), ``confusion_matrix`` (rows: truth), and
        ``train_wall_s``, ``test_wall_s``, ``wall_s`` (seconds).
    """
    run_dir = osp.join(work_dir, name)
    cfg = load_cfg(config, options, run_dir)
    stamp = time.strftime('%Y%m%d_%H%M%S')
    start = time.time()
    train = cfg.copy()
    # distinct names: two runners (logger, visualizer) in one process
    train.experiment_name = f'{name}_train_{stamp}'
    RUNNERS.build(train).train()  # the config's runner_type
    train_s = time.time() - start

    checkpoint = best_checkpoint(run_dir)
    test_start = time.time()
    tcfg = test_cfg(cfg, checkpoint)
    tcfg.experiment_name = f'{name}_test_{stamp}'
    tester = RUNNERS.build(tcfg)
    metrics = tester.test()
    test_s = time.time() - test_start

    classes = list(tester.test_dataloader.dataset.metainfo['classes'])
    recall = [float(r) for r in metrics['single-label/recall_classwise']]
    return dict(
        config=config,
        checkpoint=checkpoint,
        classes=classes,
        target_accuracy=float(metrics['accuracy/top1']) / 100,
        per_class_recall={c: r / 100
                          for c, r in zip(classes, recall)},
        balanced_accuracy=sum(recall) / len(recall) / 100,
        confusion_matrix=metrics['confusion_matrix/result'].tolist(),
        train_wall_s=round(train_s, 1),
        test_wall_s=round(test_s, 1),
        wall_s=round(time.time() - start, 1),
    )


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


def side_by_side(results: Dict[str, Dict]) -> List[str]:
    """The test results of the methods as a table, one column a method.

    Args:
        results: Method key -> :func:`run_method` result, in
            :data:`METHODS` order where present.

    Returns:
        list[str]: The table's lines.
    """
    keys = [k for k, _ in METHODS if k in results]
    titles = dict(METHODS)
    classes = results[keys[0]]['classes']
    width = max([len('balanced accuracy')] +
                [len(f'recall {c}') for c in classes])
    rows = [('balanced accuracy', 'balanced_accuracy', '{:.3f}'),
            ('accuracy', 'target_accuracy', '{:.3f}')]

    def line(label: str, cells: List[str]) -> str:
        return f'  {label:<{width}}' + ''.join(f' {c:>12}' for c in cells)

    lines = [line('', [titles[k] for k in keys])]
    for label, key, fmt in rows:
        lines.append(line(label, [fmt.format(results[k][key]) for k in keys]))
    for c in classes:
        lines.append(
            line(f'recall {c}',
                 [f'{results[k]["per_class_recall"][c]:.3f}' for k in keys]))
    lines.append(
        line('wall time (s)', [f'{results[k]["wall_s"]:.0f}' for k in keys]))
    return lines


def report(results: Dict[str, Dict], out: str) -> str:
    """The printed report: the side-by-side table and each method's
    confusion matrix.

    Args:
        results: Method key -> :func:`run_method` result.
        out: Path of the written summary.

    Returns:
        str: The report.
    """
    titles = dict(METHODS)
    first = next(iter(results.values()))
    n_test = sum(sum(row) for row in first['confusion_matrix'])
    lines = [
        '', '=== Demo: PBC -> BCCD white cells, held-out target test split '
        f'({n_test} images) ==='
    ]
    lines += side_by_side(results)
    for key, result in results.items():
        lines.append(f'{titles[key]} confusion matrix '
                     '(rows = truth, columns = prediction):')
        for c, row in zip(result['classes'], result['confusion_matrix']):
            lines.append(f'  {c:<12} {row}')
    lines.append(f'wrote {out}')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> Dict:
    """Run the demo.

    Args:
        argv: The arguments; ``sys.argv[1:]`` when None.

    Returns:
        dict: The summary written to ``WORK_DIR/summary.json``.
    """
    args = parse_args(argv)
    start = time.time()
    results = dict(
        dl4all=run_method('dl4all', args.config, args.cfg_options,
                          args.work_dir),
        target_only=run_method('target_only', args.baseline_config,
                               args.baseline_cfg_options, args.work_dir))
    summary = make_summary(results)
    summary['total_wall_s'] = round(time.time() - start, 1)
    out = osp.join(args.work_dir, 'summary.json')
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    print(report(results, out))
    print(f'total {summary["total_wall_s"]:.0f} s')
    return summary


if __name__ == '__main__':
    main()
