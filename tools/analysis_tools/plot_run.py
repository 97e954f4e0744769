"""Plot a training run: curves, confusion matrix and ROC curve as PNGs.

Reads what mmengine writes into a work dir and, for the confusion matrix
and ROC curve, the test predictions dumped by mmpretrain's
``tools/test.py --out``. See ``--help``.
"""
import argparse
import ast
import os
import os.path as osp
import re
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

from dl4all_mm.apis.run_logs import (load_predictions, load_scalars,
                                     load_test_metrics, run_dirs)

EPILOG = """\
inputs read from WORK_DIR:
  <timestamp>/vis_data/*.json   training scalars (losses per domain, lr) and
                                validation metrics, one JSON object a line
                                (mmengine's LoggerHook); every run of the
                                work dir, in time order (resumed runs too)
  <timestamp>/<timestamp>.json  test metrics (tools/test.py)
  test_preds.pkl                test predictions, for the confusion matrix
                                and the ROC curve (or --preds FILE)

saving the test predictions (mmpretrain's DumpResults, a list of dicts with
pred_score, pred_label, gt_label per image):
  python tools/test.py CONFIG WORK_DIR/best_*.pth --work-dir WORK_DIR \\
      --out WORK_DIR/test_preds.pkl
  or add dict(type='DumpResults', out_file_path='WORK_DIR/test_preds.pkl')
  to test_evaluator.
Without predictions the confusion matrix comes from the logs: the latest
test run's `diagnostic/confusion_matrix` (DiagnosticMetric) or
`confusion_matrix/result` (ConfusionMatrix), else the last validation one in
<timestamp>/<timestamp>.log; the ROC curve needs the predictions, and one
line says so.

outputs (--out-dir, default WORK_DIR/plots): loss.png, lr.png,
val_metrics.png, confusion_matrix.png, roc.png (those with data).
"""
NOT_METRICS = {'data_time', 'time', 'step', 'epoch', 'iter', 'memory', 'eta'}
_VAL_MATRIX = re.compile(r'Epoch\(val\)\s*\[(\d+)\].*?'
                         r'(\S*confusion_matrix\S*): (\[\[[-\d\s,.\[\]]*\]\])')


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``plot_run.py``."""
    parser = argparse.ArgumentParser(
        description='Draw training curves (losses per domain, lr, '
        'validation metrics), the test confusion matrix and ROC curve of '
        'an mmengine work dir as PNG files.',
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir', help='work dir of the run')
    parser.add_argument('--out-dir', help='default: WORK_DIR/plots')
    parser.add_argument(
        '--preds',
        help='test predictions (.pkl of DumpResults); default: '
        'WORK_DIR/test_preds.pkl if it exists')
    parser.add_argument(
        '--classes',
        nargs='+',
        help='class names (default: the checkpoint '
        'named in WORK_DIR/last_checkpoint, else class indices)')
    parser.add_argument(
        '--domain',
        help='domain whose classes to read from a multi-domain '
        'checkpoint (default: its last domain, the target)')
    parser.add_argument(
        '--pos-label',
        type=int,
        default=1,
        help='positive class of a binary ROC curve (default: 1, e.g. ALL)')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='fully unpickle the checkpoint read for class names (may run '
        'code); by default it is loaded weights-only')
    parser.add_argument(
        '--trust-pickle',
        action='store_true',
        help='fully unpickle --preds (may run code); by default only '
        'tensors, arrays and containers are accepted')
    return parser.parse_args(argv)


def checkpoint_classes(work_dir: str,
                       domain: Optional[str],
                       trust: bool = False) -> Optional[List[str]]:
    """Class names in the meta of the checkpoint of ``last_checkpoint``
    (None if there is none or it cannot be loaded weights-only)."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        ckpt = f.read().strip()
    if not osp.isfile(ckpt):  # written relative to another cwd
        ckpt = osp.join(work_dir, osp.basename(ckpt))
    if not osp.isfile(ckpt):
        return None
    from dl4all_mm.apis import classes_from_meta
    from dl4all_mm.engine.runners import (UntrustedCheckpointError,
                                          load_checkpoint_file)
    try:
        checkpoint = load_checkpoint_file(
            ckpt, map_location='cpu', trusted=trust or None)
    except UntrustedCheckpointError:
        print(f'Class names: {ckpt} cannot be loaded weights-only; pass '
              '--trust-checkpoint or --classes (using indices)')
        return None
    meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
    domains = meta.get('domains') or [None]
    return classes_from_meta(meta, domain or domains[-1])


def _is_matrix_key(key: str) -> bool:
    return key == 'confusion_matrix/result' or key.endswith(
        '/confusion_matrix') or key == 'confusion_matrix'


def logged_confusion_matrix(
        work_dir: str) -> Tuple[Optional[List[List[float]]], str]:
    """``(matrix, where)`` from the logs of a work dir: the latest test
    metrics (``<ts>/<ts>.json``), else the last validation epoch in the
    text logs (``<ts>/<ts>.log``); ``(None, '')`` when neither has one."""
    metrics = load_test_metrics(work_dir)
    for key in sorted(metrics, key=lambda k: not k.startswith('diagnostic')):
        if _is_matrix_key(key) and isinstance(metrics[key], list):
            return metrics[key], f'test, {key}'
    for run in reversed(run_dirs(work_dir)):
        log = osp.join(run, osp.basename(run) + '.log')
        if not osp.isfile(log):
            continue
        found = None
        with open(log, encoding='utf-8', errors='replace') as f:
            for line in f:
                match = _VAL_MATRIX.search(line)
                if match:
                    found = match
        if found:
            epoch, key, text = found.groups()
            return ast.literal_eval(text), f'validation epoch {epoch}, {key}'
    return None, ''


def _save(fig, out_dir: str, name: str, written: List[str]) -> None:
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, name)
    fig.savefig(path, dpi=100, bbox_inches='tight')
    plt.close(fig)
    written.append(path)


def plot_curves(train: List[dict], val: List[dict], out_dir: str,
                written: List[str]) -> None:
    """``loss.png``, ``lr.png`` and ``val_metrics.png``."""
    import matplotlib.pyplot as plt
    for name, pick, ylabel in (('loss.png', lambda k: 'loss' in k, 'loss'),
                               ('lr.png', lambda k: k == 'lr' or k.endswith(
                                   ('.lr', '_lr')) and k != 'base_lr',
                                'learning rate')):
        keys = sorted({k for r in train for k in r if pick(k)})
        if not keys:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        for key in keys:
            pts = [(r['step'], r[key]) for r in train if key in r]
            ax.plot(*zip(*pts), label=key)
        ax.set(xlabel='iteration', ylabel=ylabel, title=ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
        _save(fig, out_dir, name, written)
    keys = sorted({
        k
        for r in val
        for k, v in r.items()
        if k not in NOT_METRICS and isinstance(v, (int, float))
    })
    if not keys:
        return
    by_epoch = any('epoch' in r for r in train)
    cols = min(3, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.5 * cols, 3.5 * rows), squeeze=False)
    from matplotlib.ticker import MaxNLocator
    for ax, key in zip(axes.flat, keys):
        pts = [(r['step'], r[key]) for r in val if key in r]
        ax.plot(*zip(*pts), marker='o')
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(title=f'val {key}', xlabel='epoch' if by_epoch else 'iteration')
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    fig.tight_layout()
    _save(fig, out_dir, 'val_metrics.png', written)


def plot_confusion(matrix: np.ndarray,
                   classes: Sequence[str],
                   out_dir: str,
                   written: List[str],
                   source: str = '') -> None:
    """``confusion_matrix.png`` drawn by mmpretrain's ConfusionMatrix;
    ``source`` (e.g. ``'validation epoch 30'``) goes into the title."""
    import torch
    from mmpretrain.evaluation import ConfusionMatrix
    fig = ConfusionMatrix.plot(
        torch.as_tensor(matrix),
        include_values=True,
        classes=list(classes),
        show=False)
    if source:
        fig.axes[0].set_title(f'Confusion matrix ({source})')
    _save(fig, out_dir, 'confusion_matrix.png', written)


def plot_roc(scores: np.ndarray, labels: np.ndarray, classes: Sequence[str],
             pos_label: int, out_dir: str, written: List[str]) -> None:
    """``roc.png``: the positive class if binary, else one-vs-rest."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import auc, roc_curve
    num = scores.shape[1]
    if not 0 <= pos_label < num:
        raise ValueError(f'--pos-label {pos_label} is not a class index '
                         f'(0..{num - 1})')
    fig, ax = plt.subplots(figsize=(6, 6))
    drawn = 0
    for c in ([pos_label] if num == 2 else range(num)):
        truth = labels == c
        if truth.all() or not truth.any():
            continue  # undefined: one class only
        fpr, tpr, _ = roc_curve(truth, scores[:, c])
        ax.plot(fpr, tpr, label=f'{classes[c]} (AUC = {auc(fpr, tpr):.3f})')
        drawn += 1
    if not drawn:
        plt.close(fig)
        print('No ROC curve: the test labels hold a single class.')
        return
    ax.plot([0, 1], [0, 1], '--', color='grey', label='chance')
    ax.set(
        xlabel='false positive rate',
        ylabel='true positive rate',
        title='ROC (test)' if num == 2 else 'ROC (test, one-vs-rest)',
        xlim=(0, 1),
        ylim=(0, 1.01))
    ax.legend(loc='lower right')
    _save(fig, out_dir, 'roc.png', written)


def main(argv=None) -> int:
    """Draw every plot the work dir has data for; return the exit code."""
    args = parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    if not osp.isdir(args.work_dir):
        raise FileNotFoundError(f'Work dir {args.work_dir!r} does not exist')
    out_dir = args.out_dir or osp.join(args.work_dir, 'plots')
    written: List[str] = []
    train, val = load_scalars(args.work_dir)
    plot_curves(train, val, out_dir, written)

    preds = args.preds or osp.join(args.work_dir, 'test_preds.pkl')
    if args.preds and not osp.isfile(preds):
        raise FileNotFoundError(f'--preds {preds} does not exist')
    scores = labels = None
    if osp.isfile(preds):
        scores, labels = load_predictions(preds, args.trust_pickle)
        matrix, source = None, 'test predictions'
    else:
        matrix, source = logged_confusion_matrix(args.work_dir)
    num = scores.shape[1] if scores is not None else \
        len(matrix) if matrix else 0
    classes = args.classes or (num and checkpoint_classes(
        args.work_dir, args.domain, args.trust_checkpoint))
    if num and (not classes or len(classes) != num):
        if classes:
            print(f'Ignoring {len(classes)} class names for {num} classes')
        classes = [str(i) for i in range(num)]
    if scores is not None:
        if labels.max() >= num:
            raise ValueError(f'{preds}: label {labels.max()} but only {num} '
                             'scores per image')
        matrix = np.zeros((num, num), dtype=np.int64)
        np.add.at(matrix, (labels, scores.argmax(1)), 1)
        plot_roc(scores, labels, classes, args.pos_label, out_dir, written)
    if matrix is not None:
        plot_confusion(
            np.asarray(matrix), classes, out_dir, written,
            source='' if scores is not None else source)
    if scores is None:
        drawn = f'confusion matrix from the logs ({source}); the ROC ' \
            'curve needs' if matrix is not None else \
            'the confusion matrix and ROC curve need'
        print(f'No test predictions in {preds}: {drawn} them: python '
              f'tools/test.py CONFIG CHECKPOINT --work-dir {args.work_dir} '
              f'--out {preds}')
    if not written:
        print(f'Nothing to plot in {args.work_dir}: no vis_data logs, '
              'test metrics or predictions found.')
        return 1
    for path in written:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
