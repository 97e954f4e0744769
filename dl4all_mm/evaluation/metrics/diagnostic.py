"""Diagnostic scores of a single-label classifier, from labels and scores.

The arithmetic behind :class:`DiagnosticMetric`, kept free of any
distributed or registry machinery so that tools (the protocol runner, plots)
can call it on plain tensors.
"""
import math
import warnings
from typing import Dict, List, Optional

import torch
from mmpretrain.evaluation.metrics import (Accuracy, AveragePrecision,
                                           ConfusionMatrix, SingleLabelMetric)
from sklearn.metrics import roc_auc_score


def _auc(positive: torch.Tensor, score: torch.Tensor) -> float:
    """ROC AUC of ``score`` for the boolean ``positive``; NaN when only one
    of the two groups is present."""
    n_pos = int(positive.sum())
    if n_pos == 0 or n_pos == positive.numel():
        return math.nan
    return float(roc_auc_score(positive.numpy(), score.double().numpy()))


def diagnostic_scores(target: torch.Tensor,
                      pred_label: torch.Tensor,
                      num_classes: int,
                      pred_score: Optional[torch.Tensor] = None,
                      positive_index: int = 1) -> Dict[str, object]:
    """Compute the diagnostic metrics of single-label predictions.

    Every value is a fraction in [0, 1] (mmpretrain's own metrics report
    percentages). Macro averages run over the classes present in ``target``
    (a class absent from the evaluated split has no recall to average); the
    per-class lists cover all ``num_classes`` classes.

    Args:
        target (Tensor): Ground-truth labels, shape ``(N,)``.
        pred_label (Tensor): Predicted labels, shape ``(N,)``.
        num_classes (int): Number of classes ``C``.
        pred_score (Tensor, optional): Class scores ``(N, C)``; needed for
            ``auc`` and ``ap``.
        positive_index (int): The positive class of a binary task (ALL).

    Returns:
        dict: ``accuracy``, ``balanced_accuracy``, ``macro_precision``,
        ``macro_recall``, ``macro_specificity``, ``macro_f1``, ``auc`` and
        ``ap`` (with scores), ``recall_classwise``, ``precision_classwise``,
        ``f1_classwise``, ``specificity_classwise``, ``support_classwise``
        and ``confusion_matrix`` (rows: truth, columns: prediction); for a
        binary task also ``sensitivity``, ``specificity``, ``precision`` and
        ``f1`` of the positive class. For binary tasks ``auc``/``ap`` are
        those of the positive class's score, for multi-class tasks the macro
        one-vs-rest averages over the classes present.

    Raises:
        ValueError: Empty input, mismatched shapes, or labels outside
            ``[0, num_classes)``.
    """
    target = torch.as_tensor(target).flatten().long()
    pred_label = torch.as_tensor(pred_label).flatten().long()
    n = target.numel()
    if n == 0:
        raise ValueError('diagnostic_scores got no samples')
    if pred_label.numel() != n:
        raise ValueError(f'{pred_label.numel()} predictions for {n} targets')
    for name, labels in (('gt_label', target), ('pred_label', pred_label)):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.numel():
            raise ValueError(f'{name} value {int(bad[0])} is outside the '
                             f'{num_classes} classes [0, {num_classes})')
    if pred_score is not None and tuple(pred_score.shape) != (n, num_classes):
        raise ValueError(f'pred_score has shape {tuple(pred_score.shape)}, '
                         f'expected ({n}, {num_classes})')

    cm = ConfusionMatrix.calculate(pred_label, target, num_classes).long()
    accuracy = float(Accuracy.calculate(pred_label, target)) / 100
    precision, recall, f1, support = SingleLabelMetric.calculate(
        pred_label, target, average=None, num_classes=num_classes)
    precision, recall, f1 = (precision / 100, recall / 100, f1 / 100)
    tp = cm.diag()
    fp = cm.sum(0) - tp
    tn = n - cm.sum(1) - cm.sum(0) + tp
    specificity = tn.double() / (tn + fp).clamp(min=1)
    present = support > 0

    def macro(values: torch.Tensor) -> float:
        return float(values[present].double().mean())

    out: Dict[str, object] = dict(
        accuracy=accuracy,
        balanced_accuracy=macro(recall),
        macro_precision=macro(precision),
        macro_recall=macro(recall),
        macro_specificity=macro(specificity),
        macro_f1=macro(f1),
    )
    if num_classes == 2:
        if positive_index not in (0, 1):
            raise ValueError(f'positive_index={positive_index} is not a '
                             'class of a binary task (0 or 1)')
        pos, neg = positive_index, 1 - positive_index
        out.update(
            sensitivity=float(recall[pos]),
            specificity=float(recall[neg]),
            precision=float(precision[pos]),
            f1=float(f1[pos]))
    if pred_score is not None:
        score = pred_score.detach().float().cpu()
        onehot = torch.nn.functional.one_hot(target, num_classes)
        if num_classes == 2:
            pos = positive_index
            out['auc'] = _auc(target == pos, score[:, pos])
            out['ap'] = float(
                AveragePrecision.calculate(score[:, pos:pos + 1],
                                           onehot[:, pos:pos + 1])) / 100
        else:
            aucs = [_auc(target == k, score[:, k]) for k in range(num_classes)]
            aucs = [a for a in aucs if not math.isnan(a)]
            out['auc'] = sum(aucs) / len(aucs) if aucs else math.nan
            keep = present.nonzero().flatten()
            out['ap'] = float(
                AveragePrecision.calculate(score[:, keep], onehot[:,
                                                                  keep])) / 100
        if math.isnan(out['auc']):
            warnings.warn('ROC AUC is undefined: the evaluated samples hold '
                          'a single class; reporting NaN')
    out.update(
        recall_classwise=_floats(recall),
        precision_classwise=_floats(precision),
        f1_classwise=_floats(f1),
        specificity_classwise=_floats(specificity),
        support_classwise=[int(v) for v in support],
        confusion_matrix=cm.tolist())
    return out


def _floats(values: torch.Tensor) -> List[float]:
    """A tensor as a list of Python floats."""
    return [float(v) for v in values]
