"""Data of the PBC -> all_aria benchmark (``benchmarks/transfer.py``):
the target splits, an external test set and compact pre-resized copies."""
import csv
import os
import os.path as osp
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from dl4all_mm.evaluation.transfer import splits

SOURCE, TARGET = 'pbc', 'all_aria'
#: all_aria folder -> binary target label (0 = normal, 1 = ALL).
ARIA_LABELS = {'Benign': 0, 'Early': 1, 'Pre': 1, 'Pro': 1}
TARGET_CLASSES = ('normal', 'ALL')
SPLIT_SEED = 0  # fixed: every run and method sees the same splits
N_TRAIN, N_VAL = 240, 300
Row = Tuple[str, int]


def read_manifest(folder: str) -> List[dict]:
    """Rows (``path``, ``label``, ``sha256_of_source_file``) of
    ``folder/manifest.csv``; a clear error when it is missing or bad."""
    path = osp.join(folder, 'manifest.csv')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: --data-root must hold {SOURCE}/ and '
            f'{TARGET}/, each with a manifest.csv (path,label,...)')
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    if not rows or not {'path', 'label'} <= set(rows[0]):
        raise ValueError(f'{path}: needs a header with `path` and `label` '
                         'and at least one row')
    return rows


def aria_rows(aria_root: str) -> List[Tuple[str, str, str]]:
    """``(relative path, folder class, content id)`` of every all_aria
    image; the content id is the manifest's ``sha256_of_source_file`` (the
    set holds byte-identical copies under other names), else the path."""
    rows = []
    for i, row in enumerate(read_manifest(aria_root), start=2):
        if row['label'] not in ARIA_LABELS:
            raise ValueError(
                f'{osp.join(aria_root, "manifest.csv")} line {i}: label '
                f'{row["label"]!r} is not one of {sorted(ARIA_LABELS)}')
        content = (row.get('sha256_of_source_file') or '').strip()
        rows.append((row['path'], row['label'], content or row['path']))
    return rows


def _allocate(counts: Dict[str, int], n: int) -> Dict[str, int]:
    """Largest-remainder split of ``n`` proportional to ``counts``."""
    total = sum(counts.values())
    exact = {k: n * c / total for k, c in counts.items()}
    out = {k: int(v) for k, v in exact.items()}
    order = sorted(counts, key=lambda k: (out[k] - exact[k], k))
    for k in order[:n - sum(out.values())]:
        out[k] += 1
    return out


Group = List[Tuple[str, str]]


def _take(groups: List[Group], n: int, what: str) -> Tuple[list, list]:
    """The first groups, in order, that fill exactly ``n`` images (a group
    that does not fit waits for the next split); the rest."""
    taken: List[Group] = []
    rest: List[Group] = []
    size = 0
    for group in groups:
        if size + len(group) <= n:
            taken.append(group)
            size += len(group)
        else:
            rest.append(group)
    if size != n:
        raise ValueError(f'cannot fill {n} {what} images with whole groups '
                         f'of identical images ({size} fit)')
    return taken, rest


def make_splits(rows: Sequence[tuple],
                n_train: int = N_TRAIN,
                n_val: int = N_VAL,
                seed: int = SPLIT_SEED) -> Dict[str, List[Row]]:
    """Seeded train/val/test split, stratified by all_aria's four folders
    (hence by the binary label); labels returned as 0 = normal, 1 = ALL.

    Rows are ``(path, folder class)`` or ``(path, folder class, content
    id)``: images with the same content id (byte-identical copies) always
    land in the same split, stratified under the class of the first one.
    """
    if n_train + n_val >= len(rows):
        raise ValueError(f'n_train={n_train} + n_val={n_val} leave no test '
                         f'images of {len(rows)}')
    rng = np.random.default_rng(seed)
    groups: Dict[str, Group] = {}
    for row in sorted(rows):
        key = row[2] if len(row) > 2 and row[2] else row[0]
        groups.setdefault(key, []).append((row[0], row[1]))
    by_class: Dict[str, List[Group]] = {}
    for members in groups.values():
        by_class.setdefault(members[0][1], []).append(members)
    counts = {k: sum(map(len, v)) for k, v in by_class.items()}
    n_tr, n_va = _allocate(counts, n_train), _allocate(counts, n_val)
    out: Dict[str, List[Row]] = dict(train=[], val=[], test=[])
    for cls, class_groups in sorted(by_class.items()):
        order = [class_groups[i] for i in rng.permutation(len(class_groups))]
        train, rest = _take(order, n_tr[cls], f'{cls} training')
        val, test = _take(rest, n_va[cls], f'{cls} validation')
        for name, part in dict(train=train, val=val, test=test).items():
            out[name] += [(p, ARIA_LABELS[c]) for g in part for p, c in g]
    return {k: sorted(v) for k, v in out.items()}


def duplicate_groups(rows: Sequence[tuple]) -> int:
    """Number of content ids shared by two or more rows."""
    counts = Counter(row[2] for row in rows if len(row) > 2 and row[2])
    return sum(1 for n in counts.values() if n > 1)


def write_ann(path: str, rows: Sequence[Row]) -> None:
    """mmpretrain annotation file: ``relative/path label`` per line."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{p} {label}\n' for p, label in rows)


def read_test_ann(ann_file: str, root: str) -> List[Row]:
    """Check an external test annotation file (``relative/path label``,
    label 0 = normal, 1 = ALL; paths relative to ``root``)."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'--test-ann {ann_file} not found')
    if not osp.isdir(root):
        raise NotADirectoryError(f'--test-root {root} is not a folder')
    rows: List[Row] = []
    with open(ann_file, encoding='utf-8') as f:
        for i, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or parts[1] not in ('0', '1'):
                raise ValueError(
                    f'{ann_file} line {i}: {line.strip()!r} is not '
                    '`relative/path label` with label 0 (normal) or 1 (ALL)')
            if not osp.isfile(osp.join(root, parts[0])):
                raise FileNotFoundError(
                    f'{ann_file} line {i}: image {parts[0]!r} not found '
                    f'under --test-root {root}')
            rows.append((parts[0], int(parts[1])))
    if not rows:
        raise ValueError(f'{ann_file} lists no image')
    return rows


def class_weights(rows: Sequence[Row], num_classes: int = 2) -> List[float]:
    """Inverse-frequency weights ``n / (K * n_c)`` of a training split."""
    return splits.class_weights([label for _, label in rows], num_classes)


def _resize_one(job: Tuple[str, str, int, int]) -> int:
    import cv2
    src, dst, size, quality = job
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'cannot decode image {src}')
    # bilinear, as the configs' Resize(scale=(96, 96)) does
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f'cannot encode {dst}')
    os.makedirs(osp.dirname(dst), exist_ok=True)
    with open(dst, 'wb') as f:
        f.write(buf.tobytes())
    return len(buf)


def prepare_data(data_root: str,
                 out: str,
                 size: int = 96,
                 quality: Optional[Dict[str, int]] = None,
                 threads: int = 2) -> Dict[str, int]:
    """Write ``size`` px JPEG copies of every image of ``pbc/`` and
    ``all_aria/`` (same layout and ``manifest.csv``) under ``out``.

    Returns:
        dict: bytes of image data written per folder.
    """
    quality = quality or {SOURCE: 65, TARGET: 75}
    if osp.abspath(out) == osp.abspath(data_root):
        raise ValueError('--prepare-data must name a new folder, not '
                         '--data-root')
    written = {}
    for folder in (SOURCE, TARGET):
        rows = read_manifest(osp.join(data_root, folder))
        jobs = []
        for row in rows:
            src = osp.join(data_root, folder, row['path'])
            row['path'] = osp.splitext(row['path'])[0] + '.jpg'
            jobs.append((src, osp.join(out, folder, row['path']), size,
                         quality[folder]))
        start = time.time()
        with ThreadPoolExecutor(max(1, threads)) as pool:
            written[folder] = int(sum(pool.map(_resize_one, jobs)))
        with open(osp.join(out, folder, 'manifest.csv'), 'w', newline='',
                  encoding='utf-8') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f'{folder}: {len(rows)} images -> {size} px JPEG (quality '
              f'{quality[folder]}), {written[folder] / 2**20:.1f} MiB, '
              f'{time.time() - start:.0f} s')
    return written

