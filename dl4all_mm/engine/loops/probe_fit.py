"""The logistic regression of :class:`LinearProbeLoop`: its regularisation
chosen by stratified k-fold cross-validation on the training images only,
the refit, and the refit written into a linear head.

scikit-learn's ``LogisticRegression`` (L2, lbfgs; multinomial for more than
two classes) on the pooled features, standardised by a ``StandardScaler``
fitted on the same images; the scaler is folded into the head, so the
model's softmax equals the pipeline's ``predict_proba``.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

#: Default grid of the inverse regularisation strength ``C``.
DEFAULT_C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 10))


def n_folds(labels: Sequence[int], classes: Sequence[str],
            where: str = 'training images') -> int:
    """k of the in-budget k-fold: ``min(4, smallest class count)``.

    Raises:
        InputError: a class has fewer than 2 images (names it and the
            count); k-fold cross-validation needs 2 per class.
    """
    from dl4all_mm.evaluation.transfer.image_set import InputError
    counts = np.bincount(np.asarray(labels, dtype=np.int64),
                         minlength=len(classes))
    for index, count in enumerate(counts):
        if count < 2:
            raise InputError(
                f'linear probe: class {classes[index]!r} has {int(count)} '
                f'image(s) among the {where}; choosing C by stratified '
                'cross-validation needs at least 2 per class')
    return int(min(4, counts.min()))


def make_estimator(c: float,
                   class_weight: Optional[Dict[int, float]],
                   standardize: bool = True,
                   max_iter: int = 1000):
    """The probe's estimator: (``StandardScaler`` +) ``LogisticRegression``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    lr = LogisticRegression(C=c, class_weight=class_weight,
                            max_iter=max_iter)
    return make_pipeline(StandardScaler(), lr) if standardize else \
        make_pipeline(lr)


def search_c(features: np.ndarray, labels: np.ndarray, grid: Sequence[float],
             k: int, seed: int, class_weight: Optional[Dict[int, float]],
             standardize: bool = True, max_iter: int = 1000) -> dict:
    """Score every ``C`` of ``grid`` by stratified k-fold cross-validation
    (balanced accuracy on each held-out fold) of the training images.

    Returns:
        dict: ``folds`` (held-out indices per fold), ``scores`` (per C, one
        score per fold), ``mean`` (per C) and ``C`` (the best mean; the
        smaller, more regularised C on a tie).
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = list(splitter.split(features, labels))
    scores: List[List[float]] = []
    for c in grid:
        row = []
        for fit_idx, held_idx in folds:
            est = make_estimator(c, class_weight, standardize, max_iter)
            est.fit(features[fit_idx], labels[fit_idx])
            row.append(float(balanced_accuracy_score(
                labels[held_idx], est.predict(features[held_idx]))))
        scores.append(row)
    means = [float(np.mean(row)) for row in scores]
    best = max(range(len(grid)), key=lambda i: (means[i], -grid[i]))
    return dict(folds=[held.tolist() for _, held in folds], scores=scores,
                mean=means, C=float(grid[best]))


def head_params(estimator, num_classes: int) -> tuple:
    """``(weight, bias)`` (float64) of a linear layer whose softmax equals
    ``estimator.predict_proba``; binary: logits ``[0, w.x + b]``."""
    lr = estimator[-1]
    coef, intercept = lr.coef_.astype(np.float64), \
        lr.intercept_.astype(np.float64)
    if len(estimator) > 1:  # fold the scaler: w (x - m) / s + b
        scaler = estimator[0]
        coef = coef / scaler.scale_[None, :]
        intercept = intercept - coef @ scaler.mean_
    classes = lr.classes_.tolist()
    if classes != list(range(num_classes)):
        raise ValueError(f'linear probe: the head has {num_classes} '
                         f'classes but the training labels are {classes}')
    if num_classes == 2:  # softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]
        coef = np.concatenate([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return coef, intercept


def write_head(fc: nn.Linear, weight: np.ndarray, bias: np.ndarray) -> None:
    """Copy ``weight`` and ``bias`` into ``fc`` (its dtype and device)."""
    if tuple(fc.weight.shape) != weight.shape:
        raise ValueError(f'linear probe: the head fc is '
                         f'{tuple(fc.weight.shape)}, the fit '
                         f'{weight.shape}')
    with torch.no_grad():
        fc.weight.copy_(torch.as_tensor(weight))
        fc.bias.copy_(torch.as_tensor(bias))
