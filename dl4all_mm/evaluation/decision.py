"""Decision rules applied to a run's ``predictions.csv``, and the metrics
of the report recomputed from it.

Rules (the same for every method; ``--decision``):

- ``argmax``: the class of the highest probability (what a lab deploys);
- ``prior``: logit adjustment by the training-label priors (Menon et al.,
  ICLR 2021): the argmax of ``log p - log prior``, ``prior`` = the record's
  ``train_counts`` normalised;
- ``cv`` (binary targets): class 1 when ``p(class 1) >= t``, ``t`` = the
  record's ``cv_threshold`` (chosen by in-budget cross-validation,
  :func:`.transfer.cv_threshold.cv_threshold`, with this same rule).
"""
import csv
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .bootstrap import weighted_balanced_accuracy

DECISIONS = ('argmax', 'prior', 'cv')


@dataclass
class Predictions:
    """The test predictions of one run.

    Attributes:
        images (list[str]): Image names, in dataset order.
        labels (np.ndarray): Ground-truth class indices, shape ``(N,)``.
        scores (np.ndarray): Class probabilities, shape ``(N, C)``.
        classes (list[str]): Class names (the CSV header).
    """
    images: List[str]
    labels: np.ndarray
    scores: np.ndarray
    classes: List[str]


def read_predictions(path: str) -> Predictions:
    """Read a ``predictions.csv`` (header ``image,label,<classes>``).

    Raises:
        ValueError: A malformed header or row (names the file and line).
    """
    with open(path, encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:2] != ['image', 'label'] or len(rows[0]) < 4:
        raise ValueError(f'{path}: header must be image,label,<class 0>,'
                         f'<class 1>,...; got {rows[0] if rows else None}')
    classes = rows[0][2:]
    images, labels, scores = [], [], []
    for line, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != len(rows[0]):
                raise ValueError(f'{len(row)} cells, header has '
                                 f'{len(rows[0])}')
            label = int(row[1])
            if not 0 <= label < len(classes):
                raise ValueError(f'label {label} outside [0, '
                                 f'{len(classes)})')
            scores.append([float(v) for v in row[2:]])
        except ValueError as err:
            raise ValueError(f'{path} line {line}: {err}') from err
        images.append(row[0])
        labels.append(label)
    if not images:
        raise ValueError(f'{path} holds no prediction')
    return Predictions(images, np.asarray(labels, dtype=np.int64),
                       np.asarray(scores, dtype=np.float64), classes)


def balanced_accuracy(labels: Sequence[int], decided: Sequence[int],
                      num_classes: int) -> float:
    """Mean recall over the classes present in ``labels``."""
    return float(weighted_balanced_accuracy(
        np.asarray(labels), np.asarray(decided), np.ones(len(labels)),
        num_classes)[0])


def decide(scores: np.ndarray,
           rule: str = 'argmax',
           train_counts: Optional[Sequence[float]] = None,
           threshold: Optional[float] = None) -> np.ndarray:
    """Predicted classes of ``scores`` (``(N, C)`` probabilities).

    Args:
        scores (np.ndarray): Class probabilities.
        rule (str): One of :data:`DECISIONS`.
        train_counts (sequence, optional): Training labels per class
            (``prior``).
        threshold (float, optional): Threshold on ``p(class 1)`` (``cv``).

    Raises:
        ValueError: Unknown rule, or what the rule needs is missing or
            invalid (a class without training label under ``prior``).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if rule == 'argmax':
        return scores.argmax(1)
    if rule == 'prior':
        counts = np.asarray(train_counts if train_counts is not None else [],
                            dtype=np.float64)
        if counts.shape != (scores.shape[1], ) or (counts <= 0).any():
            raise ValueError('decision prior needs a positive training '
                             f'count per class ({scores.shape[1]} classes);'
                             f' got train_counts={train_counts}')
        with np.errstate(divide='ignore'):
            adjusted = np.log(scores) - np.log(counts / counts.sum())
        return adjusted.argmax(1)
    if rule == 'cv':
        if scores.shape[1] != 2:
            raise ValueError('decision cv is for binary targets; the '
                             f'predictions hold {scores.shape[1]} classes')
        if threshold is None or not 0.0 <= float(threshold) <= 1.0:
            raise ValueError('decision cv needs a threshold in [0, 1]; got '
                             f'cv_threshold={threshold}')
        return (scores[:, 1] >= float(threshold)).astype(np.int64)
    raise ValueError(f'unknown decision rule {rule!r}; rules: {DECISIONS}')


def record_decisions(record: dict, preds: Predictions,
                     rule: str) -> np.ndarray:
    """:func:`decide` with what ``record`` holds for ``rule``; errors name
    the record."""
    try:
        return decide(preds.scores, rule, record.get('train_counts'),
                      record.get('cv_threshold'))
    except ValueError as err:
        raise ValueError(f'record of {record.get("method")!r} seed '
                         f'{record.get("seed")} size '
                         f'{record.get("target_size")}: {err}') from err


def resolve(path: str, folder: str) -> str:
    """``path`` (a record's ``predictions``) as an absolute path, a
    relative one being relative to ``folder``."""
    return path if osp.isabs(path) else osp.normpath(osp.join(folder, path))
