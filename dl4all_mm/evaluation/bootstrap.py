"""Bootstrap confidence intervals of the report.

- :func:`hierarchical_bootstrap_ci`: the mean difference between two
  methods, resampling the draws (the pairing unit) with replacement and,
  within each sampled draw, the test images with replacement (the same
  resampled images for both methods), the metric recomputed from the
  runs' predictions;
- :func:`bootstrap_mean_ci`: the mean of per-unit values, resampling the
  units only (the learning curve; records without predictions).

Both are percentile intervals, reproducible from ``seed``. The weighted
metrics take a ``(R, N)`` matrix of image weights (resampling counts): one
value per row, so thousands of resamples cost a few array operations.
"""
import functools
import warnings
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

#: Metrics recomputed from predictions.
RESAMPLED = ('balanced_accuracy', 'auc')


@dataclass
class RunScores:
    """One run's test predictions under a decision rule.

    Attributes:
        labels (np.ndarray): True classes, ``(N,)``.
        decided (np.ndarray): Classes under the decision rule, ``(N,)``.
        scores (np.ndarray): Class probabilities, ``(N, C)``.
    """
    labels: np.ndarray
    decided: np.ndarray
    scores: np.ndarray


def weighted_balanced_accuracy(labels: np.ndarray, decided: np.ndarray,
                               weights: np.ndarray,
                               num_classes: int) -> np.ndarray:
    """Mean recall over the classes of positive weight, per weight row.

    Args:
        labels, decided (np.ndarray): True and predicted classes ``(N,)``.
        weights (np.ndarray): Image weights ``(R, N)`` (or ``(N,)``).
        num_classes (int): Number of classes.

    Returns:
        np.ndarray: ``(R,)`` balanced accuracies.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    onehot = (labels[:, None] == np.arange(num_classes)).astype(np.float64)
    support = w @ onehot
    correct = w @ (onehot * (decided == labels)[:, None])
    present = support > 0
    recall = np.where(present, correct / np.where(present, support, 1.0), 0)
    return recall.sum(1) / present.sum(1)


def _weighted_auc(positive: np.ndarray, score: np.ndarray,
                  w: np.ndarray) -> np.ndarray:
    """ROC AUC of ``score`` for the boolean ``positive`` per weight row
    (ties count one half); NaN where a row weighs one group only.

    Per positive image: the weight of the negatives scored below it (plus
    half of those tied), from a cumulative sum over the sorted negatives.
    """
    positive = np.asarray(positive, dtype=bool)
    pos, neg = np.flatnonzero(positive), np.flatnonzero(~positive)
    if not pos.size or not neg.size:
        return np.full(len(w), np.nan)
    neg = neg[np.argsort(score[neg], kind='stable')]
    cum = np.zeros((len(w), neg.size + 1))
    np.cumsum(w[:, neg], axis=1, out=cum[:, 1:])
    lo = np.searchsorted(score[neg], score[pos], 'left')
    hi = np.searchsorted(score[neg], score[pos], 'right')
    below = cum[:, lo]
    if (hi != lo).any():
        below += 0.5 * (cum[:, hi] - below)
    wp = w[:, pos]
    num = np.einsum('ij,ij->i', wp, below)
    den = wp.sum(1) * cum[:, -1]
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_auc(labels: np.ndarray, scores: np.ndarray,
                 weights: np.ndarray) -> np.ndarray:
    """ROC AUC per weight row: of class 1's score for two classes, else
    the macro one-vs-rest mean over the classes with both groups weighed
    (as :func:`~.metrics.diagnostic_scores`)."""
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if scores.shape[1] == 2:
        return _weighted_auc(labels == 1, scores[:, 1], w)
    aucs = np.stack([_weighted_auc(labels == k, scores[:, k], w)
                     for k in range(scores.shape[1])])
    with warnings.catch_warnings():  # a row without any defined AUC: NaN
        warnings.simplefilter('ignore', RuntimeWarning)
        return np.nanmean(aucs, axis=0)


def run_metric(run: RunScores, metric: str,
               weights: Optional[np.ndarray] = None) -> np.ndarray:
    """``metric`` (one of :data:`RESAMPLED`) of ``run`` per weight row
    (all ones when ``weights`` is None: the plain metric)."""
    if weights is None:
        weights = np.ones((1, len(run.labels)))
    if metric == 'balanced_accuracy':
        return weighted_balanced_accuracy(run.labels, run.decided, weights,
                                          run.scores.shape[1])
    if metric == 'auc':
        return weighted_auc(run.labels, run.scores, weights)
    raise ValueError(f'cannot resample metric {metric!r}; metrics: '
                     f'{RESAMPLED}')


Unit = Tuple[Sequence[RunScores], Sequence[RunScores]]


def _unit_diff(unit: Unit, metric: str, weights: np.ndarray) -> np.ndarray:
    """Mean over repeats of method a minus that of method b, per row."""
    a, b = unit
    return (np.mean([run_metric(r, metric, weights) for r in a], axis=0) -
            np.mean([run_metric(r, metric, weights) for r in b], axis=0))


def _check(units: Sequence[Unit]) -> None:
    if not units:
        raise ValueError('the bootstrap needs at least one unit')
    for k, (a, b) in enumerate(units):
        if not a or not b:
            raise ValueError(f'unit {k} lacks the runs of one method')
        first = a[0].labels
        for run in list(a) + list(b):
            if len(run.labels) != len(first) or (run.labels != first).any():
                raise ValueError(f'unit {k}: the runs were not tested on '
                                 'the same images (labels differ)')


@functools.lru_cache(maxsize=1)
def _plan(seed: int, n_boot: int, sizes: Tuple[int, ...]) -> tuple:
    """The resamples of :func:`hierarchical_bootstrap_ci`: which unit
    each of the ``n_boot x K`` slots takes, and per unit the image counts
    of each slot that took it (float32 rows). A pure function of its
    arguments, kept for the next contrast of the same shape."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sizes), size=(n_boot, len(sizes)))
    weights = []
    for k, n in enumerate(sizes):
        rows = int((picks == k).sum())
        # row r resamples n images: counts via one bincount over r * n + i
        flat = (rng.integers(0, n, size=(rows, n)) +
                n * np.arange(rows)[:, None]).ravel()
        weights.append(np.bincount(flat, minlength=rows * n).reshape(
            rows, n).astype(np.float32))
    return picks, weights


def hierarchical_bootstrap_ci(units: Sequence[Unit], metric: str,
                              n_boot: int = 2000, seed: int = 0,
                              level: float = 0.95) -> Dict[str, object]:
    """Percentile CI of the mean over units (draws) of the difference
    ``a - b`` in ``metric``.

    Each bootstrap sample draws ``K = len(units)`` units with replacement;
    each drawn copy resamples its test images with replacement (the same
    images for every run of the unit, both methods); the unit's difference
    is the mean over its repeats of a minus the mean of b.

    Args:
        units (sequence): Per unit ``(runs of a, runs of b)``, each run a
            :class:`RunScores` on the same test images.
        metric (str): One of :data:`RESAMPLED`.
        n_boot (int): Bootstrap samples.
        seed (int): Seed of the generator (same seed, same interval).
        level (float): Coverage of the interval.

    Returns:
        dict: ``mean`` (the plain mean difference), ``low``, ``high``,
        ``n_units``, ``n_boot`` (samples with a defined value).
    """
    _check(units)
    picks, weights = _plan(seed, n_boot,
                           tuple(len(u[0][0].labels) for u in units))
    diffs = np.empty((n_boot, len(units)))
    for k, unit in enumerate(units):
        where = np.nonzero(picks == k)
        if len(where[0]):
            diffs[where] = _unit_diff(unit, metric, weights[k])
    with np.errstate(invalid='ignore'):
        stat = diffs.mean(1)
    stat = stat[~np.isnan(stat)]
    mean = float(np.mean([_unit_diff(u, metric, None)[0] for u in units]))
    tail = 100 * (1 - level) / 2
    low, high = (np.percentile(stat, [tail, 100 - tail]) if stat.size else
                 (np.nan, np.nan))
    return dict(mean=mean, low=_num(low), high=_num(high), n_units=len(units),
                n_boot=int(stat.size))


def bootstrap_mean_ci(values: Sequence[float], n_boot: int = 2000,
                      seed: int = 0,
                      level: float = 0.95) -> Dict[str, object]:
    """Percentile CI of the mean of ``values`` (one per unit), resampling
    the units with replacement; ``low``/``high`` are None for fewer than
    two units (no spread to resample)."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    out: Dict[str, object] = dict(
        mean=float(v.mean()) if v.size else None, low=None, high=None,
        n_units=int(v.size), n_boot=0)
    if v.size < 2:
        return out
    rng = np.random.default_rng(seed)
    stat = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(stat, [tail, 100 - tail])
    return dict(out, low=float(low), high=float(high), n_boot=n_boot)


def _num(value) -> Optional[float]:
    value = float(value)
    return None if np.isnan(value) else value
