"""ADP train/val/test splits as the DL4ALL reference code draws them.

Regular and Greedy (``1a``/``1c``/``2a``/``2c`` ``pytorch_*_adp_plus_cnmc.py``)
split ADP into 10 multi-label-stratified folds with ``proba_mass_split``
(``util/proba_mass_split.py``, called through
``getIndexesCrossValMultiLab`` on the level's label vectors in CSV row
order) and use fold 9 as test, fold 8 as val and folds 0-7 for training
(``num_iterations = 1``). The fold assignment is deterministic: the first
``n_folds`` rows go to folds ``0..n_folds-1``; every later row goes to the
fold whose label distribution most needs it, i.e. the fold ``k`` that
minimises ``(y - 0.5) . (share_k - share)``, where ``share_k`` is fold
``k``'s label distribution so far and ``share`` the whole set's (the first
such fold on ties). It balances the folds' label distributions, not their
sizes: the folds, hence the training part, can be far from 10 % / 80 %.

Self (``1b``/``2b``) splits ADP per image with ``splitfolders.ratio(...,
seed=42, ratio=(.7, .2, .1))`` on one folder per slide: per slide, the
sorted file names are shuffled by Python's ``random`` seeded with 42, and the
first ``int(0.7 n)`` are train, the next ``int(0.2 n)`` val, the rest test.
"""
import random
from typing import Dict, List, Sequence

import numpy as np

SPLITS = ('train', 'val', 'test')


def proba_mass_folds(labels: np.ndarray, n_folds: int) -> List[List[int]]:
    """Multi-label stratified folds (row indices) of ``labels`` (N, C)."""
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 2 or len(labels) < n_folds:
        raise ValueError(f'proba_mass_folds: need an (N >= {n_folds}, C) '
                         f'0/1 matrix, got shape {labels.shape}')
    share = labels.sum(axis=0)
    share = share / share.sum()
    counts = np.zeros((n_folds, labels.shape[1]))
    folds: List[List[int]] = [[] for _ in range(n_folds)]
    for i, row in enumerate(labels):
        if i < n_folds:
            k = i
        else:
            with np.errstate(divide='ignore', invalid='ignore'):
                offset = counts / counts.sum(axis=1, keepdims=True) - share
            k = int(np.argmin(offset @ (row - 0.5)))
        counts[k] += row
        folds[k].append(i)
    return folds


def reference_fold_split(labels: np.ndarray,
                         n_folds: int = 10) -> Dict[str, List[int]]:
    """Regular/Greedy: test = last fold, val = the one before, train =
    the rest (row indices, sorted)."""
    folds = proba_mass_folds(labels, n_folds)
    test, val = n_folds - 1, n_folds - 2
    train = [i for k, f in enumerate(folds) if k not in (test, val)
             for i in f]
    return dict(train=sorted(train), val=sorted(folds[val]),
                test=sorted(folds[test]))


def ratio_split(names_by_class: Dict[str, Sequence[str]], seed: int = 42,
                ratios: Sequence[float] = (0.7, 0.2, 0.1)
                ) -> Dict[str, List[str]]:
    """Self: the per-class shuffled ratio split (file names)."""
    out: Dict[str, List[str]] = {s: [] for s in SPLITS}
    for names in names_by_class.values():
        rng = random.Random(seed)
        files = sorted(names)
        rng.shuffle(files)
        n_train = int(ratios[0] * len(files))
        n_val = int(ratios[1] * len(files))
        out['train'] += files[:n_train]
        out['val'] += files[n_train:n_train + n_val]
        out['test'] += files[n_train + n_val:]
    return {s: sorted(v) for s, v in out.items()}
