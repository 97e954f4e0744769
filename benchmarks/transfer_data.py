"""Compact pre-resized copies of the PBC -> all_aria data
(``benchmarks/transfer.py --prepare-data``); splitting is
``tools/compare_transfer.py``'s (:mod:`dl4all_mm.datasets.group_split`)."""
import csv
import os
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

SOURCE, TARGET = 'pbc', 'all_aria'


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


def drop_ambiguous(folder: str, rows: List[dict]) -> List[dict]:
    """``rows`` less every image whose file content also sits under another
    class (PBC holds one: ``EO_225902.jpg`` under eosinophil is
    ``BNE_191112.jpg`` under neutrophil); ``compare_transfer.py`` refuses
    such a source, and neither label can be trusted. Prints what it
    drops."""
    from dl4all_mm.datasets.leakage import file_sha256
    labels: Dict[str, set] = {}
    digests = [file_sha256(osp.join(folder, r['path'])) for r in rows]
    for row, digest in zip(rows, digests):
        labels.setdefault(digest, set()).add(row['label'])
    keep = [r for r, d in zip(rows, digests) if len(labels[d]) == 1]
    for row, digest in zip(rows, digests):
        if len(labels[digest]) > 1:
            print(f'{folder}: left out {row["path"]}: the same file is '
                  f'labelled {sorted(labels[digest])}')
    return keep


def prepare_data(data_root: str,
                 out: str,
                 size: int = 96,
                 quality: Optional[Dict[str, int]] = None,
                 threads: int = 2) -> Dict[str, int]:
    """Write ``size`` px JPEG copies of every image of ``pbc/`` and
    ``all_aria/`` (same layout and ``manifest.csv``) under ``out``, less
    the images labelled twice (:func:`drop_ambiguous`).

    Returns:
        dict: bytes of image data written per folder.
    """
    quality = quality or {SOURCE: 65, TARGET: 75}
    if osp.abspath(out) == osp.abspath(data_root):
        raise ValueError('--prepare-data must name a new folder, not '
                         '--data-root')
    written = {}
    for folder in (SOURCE, TARGET):
        rows = drop_ambiguous(osp.join(data_root, folder),
                              read_manifest(osp.join(data_root, folder)))
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

