"""In-budget cross-validation folds: stratified k-fold over the n training
labels of one target size and draw, and their annotation files.

Used by the learning-rate / normalisation search (:mod:`.cv_search`), the
linear probe's C and ``--decision cv``: every fold holds only images of the
run's own training subset, never a validation or test image
(:func:`check_fold_files` refuses one).
"""
import os
import os.path as osp
from collections import Counter
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .image_set import InputError

#: At most this many folds (fewer when a class has fewer images).
MAX_FOLDS = 4


def _units(labels: List[int], groups: Optional[Sequence]) -> List[tuple]:
    """``(label, members)`` of each unit dealt to a fold: an image, or a
    group (labelled by its most frequent label, the smaller on a tie)."""
    if groups is None:
        return [(v, [i]) for i, v in enumerate(labels)]
    if len(groups) != len(labels):
        raise ValueError(f'{len(groups)} group ids for {len(labels)} labels')
    members = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    out = []
    for idx in members.values():
        counts = Counter(labels[i] for i in idx)
        out.append((min(counts, key=lambda c: (-counts[c], c)), idx))
    return out


def in_budget_folds(labels: Sequence[int], size_name: object,
                    classes: Sequence[str], seed: int,
                    groups: Optional[Sequence] = None
                    ) -> List[Tuple[List[int], List[int]]]:
    """Stratified k-fold over ``labels`` (the n training labels),
    ``k = min(4, smallest class count)``.

    Each class's images (or groups) are shuffled with ``seed`` and dealt
    round-robin to the folds, continuing the count from class to class, so
    every fold holds ``floor`` or ``ceil`` of each class's share and the
    fold sizes differ by at most one per class. Deterministic from
    ``seed``.

    Args:
        labels (Sequence[int]): Class index of each training image.
        size_name (object): The target size (e.g. ``24``), named in errors.
        classes (Sequence[str]): Class names, in index order.
        seed (int): Shuffling seed (the draw's).
        groups (Sequence, optional): A group id per image (patient, slide,
            identical files: :func:`dl4all_mm.datasets.group_split.
            group_ids`); a group stays in one fold, k counts groups.

    Returns:
        list[tuple[list[int], list[int]]]: ``(train_idx, held_idx)`` per
        fold, sorted index lists into ``labels``; the held-out parts
        partition ``range(len(labels))``.

    Raises:
        InputError: a class has fewer than 2 training images (or groups;
            names the size and the class), or a label is not a class index.
    """
    labels = [int(v) for v in labels]
    bad = sorted({v for v in labels if not 0 <= v < len(classes)})
    if bad:
        raise InputError(f'target size {size_name}: label(s) {bad} are not '
                         f'indices of the classes {list(classes)}')
    units = _units(labels, groups)
    counts = Counter(v for v, _ in units)
    what = 'training image(s)' if groups is None else \
        'group(s) of training images (a group stays in one fold)'
    for c, name in enumerate(classes):
        if counts[c] < 2:
            raise InputError(
                f'target size {size_name}: class {name!r} has {counts[c]} '
                f'{what}; in-budget cross-validation needs at least 2 per '
                'class (use a larger size or drop the option)')
    k = min(MAX_FOLDS, min(counts[c] for c in range(len(classes))))
    rng = np.random.default_rng(seed)
    fold_of = [0] * len(labels)
    dealt = 0
    for c in range(len(classes)):
        mine = [idx for v, idx in units if v == c]
        for u in rng.permutation(len(mine)):
            for i in mine[int(u)]:
                fold_of[i] = dealt % k
            dealt += 1
    out = []
    for f in range(k):
        held = [i for i in range(len(labels)) if fold_of[i] == f]
        train = [i for i in range(len(labels)) if fold_of[i] != f]
        out.append((train, held))
    return out


def read_ann(path: str) -> List[Tuple[str, int]]:
    """``(image path, label)`` of each line of an annotation file (the path
    is everything before the last space, as mmpretrain splits it)."""
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.strip():
                image, label = line.rsplit(' ', 1)
                rows.append((image, int(label)))
    return rows


def write_fold_files(paths: Sequence[str], labels: Sequence[int],
                     folds: Sequence[Tuple[List[int], List[int]]],
                     out_dir: str) -> List[Tuple[str, str]]:
    """Write ``out_dir/fold{f}_train.txt`` and ``fold{f}_held.txt``
    (``path label`` lines, the task's annotation format) of every fold.

    Returns:
        list[tuple[str, str]]: absolute ``(train file, held-out file)``.
    """
    os.makedirs(out_dir, exist_ok=True)
    out = []
    for f, parts in enumerate(folds):
        files = []
        for part, idx in zip(('train', 'held'), parts):
            path = osp.abspath(osp.join(out_dir, f'fold{f}_{part}.txt'))
            text = ''.join(f'{paths[i]} {int(labels[i])}\n' for i in idx)
            if not osp.exists(path) or _text(path) != text:
                with open(path, 'w', encoding='utf-8') as fh:
                    fh.write(text)  # unchanged files keep their time
            files.append(path)
        out.append(tuple(files))
    return out


def _text(path: str) -> str:
    with open(path, encoding='utf-8') as f:
        return f.read()


def check_fold_files(fold_files: Iterable[Tuple[str, str]],
                     train_paths: Sequence[str],
                     forbidden_anns: Sequence[str]) -> None:
    """Every image of every fold file is one of ``train_paths`` and none is
    listed in ``forbidden_anns`` (the validation and test annotation
    files); each fold's train and held-out parts are disjoint.

    Raises:
        ValueError: names the fold file and the offending image.
    """
    allowed = {osp.abspath(p) for p in train_paths}
    forbidden = {}
    for ann in forbidden_anns:
        for image, _ in read_ann(ann):
            forbidden.setdefault(osp.abspath(image), ann)
    for train_file, held_file in fold_files:
        seen = {}
        for path in (train_file, held_file):
            for image, _ in read_ann(path):
                key = osp.abspath(image)
                if key in forbidden:
                    raise ValueError(f'{path}: image {image} is in '
                                     f'{forbidden[key]} (a validation or '
                                     'test image in a cross-validation fold)')
                if key not in allowed:
                    raise ValueError(f'{path}: image {image} is not one of '
                                     'the training images of this size')
                if seen.setdefault(key, path) != path:
                    raise ValueError(f'{path}: image {image} is in both '
                                     f'{train_file} and {held_file}')
