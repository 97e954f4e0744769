"""File-name parsing and leak-free split helpers for the field's datasets.

Pure functions shared by the dataset classes (``cnmc.py``, ``adp.py``,
``allidb1.py``, ``allidb2.py``), ``tools/dataset_converters/make_splits.py``
and the tests. Nothing here reads an image.
"""
import os
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .group_split import split_groups

DOCS = 'see docs/datasets.md'
#: The image files every reader of the package accepts (lower case).
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')

CNMC_CLASSES = ('hem', 'all')
CNMC_PATTERN = 'UID_<patient>_<image>_<cell>_<all|hem>.bmp'
_CNMC_RE = re.compile(r'^UID_(?P<patient>[Hh]?\d+)_(?P<image>\d+)_'
                      r'(?P<cell>\d+)_(?P<label>all|hem)\.bmp$')

ALLIDB_CLASSES = ('normal', 'blast')
ALLIDB_PATTERN = 'Im<NNN>_<0|1>.{ext}'
_ALLIDB_RE = re.compile(r'^(?P<image>Im\d+)_(?P<label>[01])\.(?P<ext>\w+)$')

ADP_PATTERN = '<slide>.png_crop_<n>.png (slide id = text before the first .)'


def parse_cnmc_name(name: str, path: Optional[str] = None) -> dict:
    """Parse a C-NMC training cell name, e.g. ``UID_H14_3_2_hem.bmp``.

    Args:
        name (str): The base name.
        path (str, optional): Full path, only for the error message.

    Returns:
        dict: ``patient_id`` (``'11'``, ``'H14'``; a lower-case ``h`` as in
        the real ``UID_h3_...`` files is upper-cased), ``image_no``,
        ``cell_no`` and ``label`` (``'all'`` or ``'hem'``).
    """
    match = _CNMC_RE.match(name)
    if match is None:
        raise ValueError(
            f'{path or name}: file name does not match the C-NMC pattern '
            f'{CNMC_PATTERN} (e.g. UID_11_10_1_all.bmp, UID_H14_3_2_hem.bmp)'
            f'; {DOCS}')
    return dict(
        patient_id=match['patient'].upper(),
        image_no=int(match['image']),
        cell_no=int(match['cell']),
        label=match['label'])


def parse_allidb_name(name: str, ext: str, path: Optional[str] = None) -> dict:
    """Parse an ALL-IDB name ``ImNNN_L.<ext>`` (L = 1 blast, 0 normal).

    Returns:
        dict: ``image_id`` (``'Im001'``) and ``label`` (0 or 1).
    """
    match = _ALLIDB_RE.match(name)
    if match is None or match['ext'].lower() != ext:
        raise ValueError(
            f'{path or name}: file name does not match the ALL-IDB pattern '
            f'{ALLIDB_PATTERN.format(ext=ext)} (e.g. Im001_1.{ext}); {DOCS}')
    return dict(image_id=match['image'], label=int(match['label']))


def adp_slide_id(name: str, path: Optional[str] = None) -> str:
    """Slide id of an ADP patch: ``001.png_crop_16.png`` -> ``001``."""
    slide = name.split('.')[0]
    if not slide or '.' not in name:
        raise ValueError(f'{path or name}: file name does not match the ADP '
                         f'pattern {ADP_PATTERN}; {DOCS}')
    return slide


def first_existing(root: str, candidates: Sequence[str], what: str,
                   layout: str) -> str:
    """First ``root/candidate`` that exists, else a FileNotFoundError that
    names every path tried and the expected layout."""
    tried = [osp.join(root, c) if c else root for c in candidates]
    for path in tried:
        if osp.exists(path):
            return path
    raise FileNotFoundError(
        f'{what} not found under data_root {root!r}: none of '
        f'{[osp.normpath(p) for p in tried]} exists. Expected layout: '
        f'{layout}; {DOCS}')


def list_images(folder: str, layout: str) -> List[str]:
    """Sorted image file names (non-recursive, hidden files skipped).

    Raises FileNotFoundError if the folder is missing and ValueError if it
    holds no image, both naming the folder and the expected layout.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'Folder {folder!r} not found. Expected '
                                f'layout: {layout}; {DOCS}')
    names = sorted(
        n for n in os.listdir(folder)
        if not n.startswith('.') and n.lower().endswith(IMG_EXTENSIONS))
    if not names:
        raise ValueError(f'Folder {folder!r} holds no image. Expected '
                         f'layout: {layout}; {DOCS}')
    return names


def read_ann_file(path: str,
                  with_label: bool = True) -> List[Tuple[str, Optional[int]]]:
    """Read mmpretrain annotation lines ``relative/path label``.

    Args:
        path (str): The annotation file.
        with_label (bool): Require the label column. Without it, a line is
            ``relative/path`` with an optional integer label.

    Returns:
        list[tuple]: ``(relative_path, label or None)`` per non-empty line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Annotation file {path!r} not found (lines "relative/path '
            'label"; write it with tools/dataset_converters/make_splits.py; '
            f'{DOCS})')
    items = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.rsplit(' ', 1)
            label = None
            if len(parts) == 2 and re.fullmatch(r'-?\d+', parts[1]):
                line, label = parts[0], int(parts[1])
            elif with_label:
                raise ValueError(f'{path}:{lineno}: expected "relative/path '
                                 f'label" (integer label), got {line!r}')
            items.append((line, label))
    return items


def check_files_exist(paths: Sequence[str], source: str) -> None:
    """Raise FileNotFoundError naming the first missing files of ``paths``.
    """
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} image(s) listed by {source} do not exist, e.g. '
            f'{missing[:3]}; {DOCS}')


def group_holdout(labels: Sequence[int], groups: Sequence, ratio: float,
                  seed: int) -> np.ndarray:
    """Hold out about ``ratio`` of the samples of each class, whole groups
    at a time, by the one allocation rule (:func:`.group_split.split_groups`,
    which ``tools/compare_transfer.py`` splits with).

    Returns:
        np.ndarray: Boolean mask of the held-out samples.
    """
    if not 0 <= ratio < 1:
        raise ValueError(f'ratio must be in [0, 1), got {ratio}')
    held = np.zeros(len(labels), dtype=bool)
    if len(labels):
        parts = split_groups(np.asarray(labels, dtype=int).tolist(),
                             np.asarray(groups).astype(str).tolist(),
                             (1 - ratio, ratio), seed, ('rest', 'held'))
        held[parts['held']] = True
    return held


def make_folds(
        labels: Sequence[int],
        groups: Sequence,
        protocol: str,
        n_folds: int = 5,
        val_ratio: float = 0.1,
        seed: int = 0,
        test_ratio: float = 0.2,
        official: Optional[Sequence[str]] = None
) -> List[Dict[str, np.ndarray]]:
    """Split sample indices into folds of ``train``/``val``/``test``.

    Args:
        labels (Sequence[int]): Class index per sample (stratification).
        groups (Sequence): Group (patient, slide, image) per sample.
        protocol (str): ``'patient-kfold'`` (``StratifiedGroupKFold``:
            every group in exactly one split of each fold, every sample in
            exactly one test fold), ``'official'`` (test fold k = the
            samples whose ``official`` fold is the k-th distinct one),
            ``'image-kfold'`` (``StratifiedKFold`` over images, groups
            ignored: leaks) or ``'holdout'`` (``n_folds`` seeded repeats of
            a stratified group hold-out of ``test_ratio``).
        n_folds (int): Folds (repeats for ``holdout``).
        val_ratio (float): Part of each fold's non-test samples held out,
            whole groups at a time (samples for ``image-kfold``), as val.
        seed (int): Seed of every random choice.
        test_ratio (float): Test part for ``holdout``.
        official (Sequence[str], optional): Official fold per sample.

    Returns:
        list[dict]: Per fold, sorted index arrays ``train``, ``val``,
        ``test``.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    labels = np.asarray(labels, dtype=int)
    groups = np.asarray(groups).astype(str)
    index = np.arange(len(labels))
    if protocol == 'image-kfold':
        groups = index.astype(str)
    n_groups = len(np.unique(groups))
    if protocol == 'holdout':
        if n_folds < 1 or not 0 < test_ratio < 1:
            raise ValueError(f'holdout needs folds >= 1 (got {n_folds}) and '
                             f'0 < test_ratio < 1 (got {test_ratio})')
    elif protocol != 'official' and not 2 <= n_folds <= n_groups:
        raise ValueError(f'{protocol} with {n_folds} folds needs 2 <= folds '
                         f'<= number of groups ({n_groups})')
    if protocol in ('patient-kfold', 'image-kfold'):
        # one image per group: StratifiedKFold, same folds and much faster
        per_image = n_groups == len(labels)
        cls = StratifiedKFold if per_image else StratifiedGroupKFold
        kfold = cls(n_splits=n_folds, shuffle=True, random_state=seed)
        split = kfold.split(index, labels, None if per_image else groups)
        tests = [t for _, t in split]
    elif protocol == 'official':
        if official is None:
            raise ValueError('protocol official needs the official folds')
        official = np.asarray(official)
        tests = [np.flatnonzero(official == f) for f in np.unique(official)]
    elif protocol == 'holdout':
        tests = [
            index[group_holdout(labels, groups, test_ratio, seed + k)]
            for k in range(n_folds)
        ]
    else:
        raise ValueError(f'Unknown protocol {protocol!r}')
    folds = []
    for k, test in enumerate(tests):
        rest = np.setdiff1d(index, test)
        val_mask = group_holdout(labels[rest], groups[rest], val_ratio,
                                 seed + 1000 + k)
        folds.append(
            dict(
                train=rest[~val_mask], val=rest[val_mask], test=np.sort(test)))
    return folds


def leaking_groups(fold: Dict[str, np.ndarray], groups: Sequence) -> List[str]:
    """Groups that appear in more than one split of ``fold``."""
    groups = np.asarray(groups).astype(str)
    seen = Counter()
    for idx in fold.values():
        seen.update(set(groups[idx].tolist()))
    return sorted(g for g, n in seen.items() if n > 1)


def summarize_split(idx: np.ndarray, labels: Sequence[int], groups: Sequence,
                    classes: Optional[Sequence[str]]) -> dict:
    """Counts of one split: images, per class (by name) and per group."""
    labels = np.asarray(labels)[idx].tolist()
    groups = np.asarray(groups).astype(str)[idx].tolist()
    per_class = Counter(classes[c] if classes else str(c) for c in labels)
    return dict(
        num_images=len(idx),
        num_groups=len(set(groups)),
        per_class=dict(sorted(per_class.items())),
        per_group=dict(sorted(Counter(groups).items())))
