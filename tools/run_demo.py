"""The embedded demo: train DL4ALL on data/demo, test the best checkpoint.

Trains ``configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py`` (source: PBC
subset, target: BCCD white cells), selects the checkpoint with the best target
validation accuracy, evaluates it on the held-out target test split, prints a
summary and writes ``WORK_DIR/summary.json`` (``target_accuracy``,
``per_class_recall``, ``confusion_matrix``, ``classes``, wall times).
"""
import argparse
import glob
import json
import os.path as osp
import sys
import time

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import dl4all_mm  # noqa: E402,F401

DEMO_CONFIG = 'configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value')
    return parser.parse_args()


def best_checkpoint(work_dir: str) -> str:
    """The ``save_best`` checkpoint, else the latest one."""
    best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
    if best:
        return best[-1]
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            return f.read().strip()
    raise FileNotFoundError(f'No checkpoint found in {work_dir}')


def test_cfg(cfg: Config, checkpoint: str) -> Config:
    """The config that tests ``checkpoint`` with per-class metrics."""
    cfg = cfg.copy()
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.test_evaluator = [
        dict(type='Accuracy', topk=(1, )),
        dict(type='SingleLabelMetric', items=['recall'], average=None),
        dict(type='ConfusionMatrix'),
    ]
    return cfg


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir

    start = time.time()
    Runner.from_cfg(cfg.copy()).train()
    train_s = time.time() - start

    checkpoint = best_checkpoint(args.work_dir)
    start = time.time()
    tester = Runner.from_cfg(test_cfg(cfg, checkpoint))
    metrics = tester.test()
    test_s = time.time() - start

    classes = list(tester.test_dataloader.dataset.metainfo['classes'])
    recall = metrics['single-label/recall_classwise']
    summary = dict(
        config=args.config,
        checkpoint=checkpoint,
        classes=classes,
        target_accuracy=metrics['accuracy/top1'] / 100,
        per_class_recall={
            c: r / 100
            for c, r in zip(classes, recall)
        },
        balanced_accuracy=sum(recall) / len(recall) / 100,
        confusion_matrix=metrics['confusion_matrix/result'].tolist(),
        train_wall_s=round(train_s, 1),
        test_wall_s=round(test_s, 1),
    )
    out = osp.join(args.work_dir, 'summary.json')
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)

    print('\n=== DL4ALL demo (PBC -> BCCD white cells), held-out test ===')
    print(f'target accuracy:   {summary["target_accuracy"]:.3f}')
    print(f'balanced accuracy: {summary["balanced_accuracy"]:.3f}')
    for c, r in summary['per_class_recall'].items():
        print(f'  recall {c:<12} {r:.3f}')
    print('confusion matrix (rows = truth, columns = prediction):')
    for c, row in zip(classes, summary['confusion_matrix']):
        print(f'  {c:<12} {row}')
    print(f'train {train_s:.0f} s, test {test_s:.0f} s; wrote {out}')


if __name__ == '__main__':
    main()
