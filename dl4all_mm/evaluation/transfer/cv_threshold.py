"""``--decision cv``: the threshold on p(class 1) that maximises balanced
accuracy over pooled in-budget cross-validation predictions.

Rule: the report's, :func:`..decision.decide` (``'cv'``): class 1 when
``p1 >= threshold``, else class 0; the threshold is chosen with that same
function. The candidate thresholds are the midpoints between neighbouring
distinct values of ``{0, every p1, 1}``, so a threshold never equals a
pooled score; cutting below every score (all
class 1) or above every score (all class 0) is a candidate too, at
balanced accuracy 0.5. Ties (several cuts reach the best balanced
accuracy): the cut nearest 0.5, i.e. the least departure from argmax;
then the smaller one.
"""
from typing import Sequence, Tuple

import numpy as np

from ..decision import balanced_accuracy, decide
from .image_set import InputError


def _check(labels: np.ndarray, scores: np.ndarray, where: str) -> None:
    if scores.ndim != 2 or len(scores) != len(labels):
        raise InputError(f'{where}: scores of shape {scores.shape} for '
                         f'{len(labels)} labels (expected N x classes)')
    if scores.shape[1] != 2:
        raise InputError(f'{where}: --decision cv needs a binary task; this '
                         f'one has {scores.shape[1]} classes')
    bad = sorted({int(v) for v in labels if v not in (0, 1)})
    if bad:
        raise InputError(f'{where}: label(s) {bad} are not 0 or 1')
    for c in (0, 1):
        count = int(np.sum(labels == c))
        if count < 2:
            raise InputError(f'{where}: class {c} has {count} image(s); '
                             '--decision cv needs at least 2 of each class')
    p1 = scores[:, 1]
    if not np.all(np.isfinite(p1)) or np.any((p1 < 0) | (p1 > 1)):
        raise InputError(f'{where}: p(class 1) outside [0, 1]')


def cv_threshold(labels: Sequence[int], scores: Sequence[Sequence[float]],
                 where: str = 'cross-validation predictions'
                 ) -> Tuple[float, float]:
    """The threshold on p(class 1) maximising balanced accuracy.

    Args:
        labels (Sequence[int]): True class (0 or 1) of each image.
        scores (Sequence[Sequence[float]]): Class probabilities, N x 2.
        where (str): What the predictions are, named in errors.

    Returns:
        tuple[float, float]: ``(threshold, balanced accuracy there)``.

    Raises:
        InputError: not 2 classes (names the number), a class with fewer
            than 2 images, or probabilities outside [0, 1].
    """
    labels = np.asarray([int(v) for v in labels])
    scores = np.asarray(scores, dtype=np.float64)
    _check(labels, scores, where)
    p1 = scores[:, 1]
    values = np.unique(np.concatenate([[0.0, 1.0], p1]))
    cuts = (values[:-1] + values[1:]) / 2
    best = None
    for cut in cuts:
        score = balanced_accuracy(labels, decide(scores, 'cv',
                                                  threshold=cut), 2)
        key = (-round(score, 12), abs(cut - 0.5), cut)
        if best is None or key < best[0]:
            best = (key, float(cut), score)
    return best[1], best[2]
