"""Cut ALL-IDB1 smear fields into cell patches around the blast centroids.

Blast patches are centred on each ``.xyc`` centroid; negative patches are
centred at seeded random points at least ``--min-dist`` px from every
centroid (they hold normal cells, other blood elements or background: the
``.xyc`` files mark blasts only). A patch that would cross the border is
shifted inside the field. The output is an mmpretrain-style folder::

    OUT/
    ├── normal/ImNNN_L_nKK.png
    ├── blast/ImNNN_1_bKK.png
    ├── ann.txt        "blast/Im001_1_b00.png 1" (0 normal, 1 blast)
    ├── classes.txt    normal, blast
    └── patches.csv    patch,label,source,x,y

Use it with ``CustomDataset(data_root=OUT, ann_file='ann.txt',
classes=['normal', 'blast'])``, and split it by source field so that the
patches of one field never straddle train and test::

    python tools/dataset_converters/make_splits.py --dataset folder \
        --data-root OUT --out-dir OUT/splits --classes normal,blast \
        --group-regex '(Im\\d+)_'
"""
import argparse
import csv
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from dl4all_mm.datasets import ALLIDB1Dataset
from dl4all_mm.datasets.splits import ALLIDB_CLASSES


def crop(img: np.ndarray, x: int, y: int, size: int) -> np.ndarray:
    """``size`` x ``size`` patch centred on (x, y), shifted inside."""
    h, w = img.shape[:2]
    if size > min(h, w):
        raise ValueError(f'--patch-size {size} exceeds the field ({w}x{h})')
    x0 = min(max(x - size // 2, 0), w - size)
    y0 = min(max(y - size // 2, 0), h - size)
    return img[y0:y0 + size, x0:x0 + size]


def negative_centres(shape: Tuple[int, int], centroids: Sequence, n: int,
                     min_dist: float,
                     rng: np.random.RandomState) -> List[Tuple[int, int]]:
    """Up to ``n`` random points at least ``min_dist`` from every
    centroid (1000 tries per point)."""
    h, w = shape
    cents = np.asarray(centroids, dtype=float).reshape(-1, 2)
    points = []
    for _ in range(n * 1000):
        if len(points) == n:
            break
        p = np.array([rng.randint(0, w), rng.randint(0, h)], dtype=float)
        if not len(cents) or np.hypot(*(cents - p).T).min() >= min_dist:
            points.append((int(p[0]), int(p[1])))
    return points


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Write the patches; returns one record per patch."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data-root', required=True, help='folder holding ALL_IDB1/{im,xyc}')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--patch-size',
        type=int,
        default=257,
        help='side in px (ALL-IDB2 crops are 257)')
    parser.add_argument(
        '--neg-per-image',
        type=int,
        default=None,
        help='negatives per field (default: as many as its '
        'blasts, at least 1)')
    parser.add_argument(
        '--min-dist',
        type=float,
        default=None,
        help='min distance of a negative centre to any '
        'centroid (default: patch size / 2)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    min_dist = args.min_dist if args.min_dist is not None \
        else args.patch_size / 2

    dataset = ALLIDB1Dataset(data_root=args.data_root, serialize_data=False)
    for cls in ALLIDB_CLASSES:
        os.makedirs(osp.join(args.out_dir, cls), exist_ok=True)
    rng = np.random.RandomState(args.seed)
    records = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{info["img_path"]}: not a readable image')
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        cents = info['centroids']
        n_neg = args.neg_per_image if args.neg_per_image is not None \
            else max(len(cents), 1)
        negs = negative_centres(img.shape[:2], cents, n_neg, min_dist, rng)
        if len(negs) < n_neg:
            print(f'WARNING: {stem}: only {len(negs)} of {n_neg} negative '
                  f'centres {min_dist} px away from every blast')
        jobs = [(1, f'b{k:02d}', c) for k, c in enumerate(cents)]
        jobs += [(0, f'n{k:02d}', c) for k, c in enumerate(negs)]
        for label, tag, (x, y) in jobs:
            rel = f'{ALLIDB_CLASSES[label]}/{stem}_{tag}.png'
            cv2.imwrite(
                osp.join(args.out_dir, rel),
                crop(img, int(x), int(y), args.patch_size))
            records.append(dict(patch=rel, label=label, source=stem, x=x, y=y))
    with open(osp.join(args.out_dir, 'ann.txt'), 'w') as f:
        f.writelines(f'{r["patch"]} {r["label"]}\n' for r in records)
    with open(osp.join(args.out_dir, 'classes.txt'), 'w') as f:
        f.writelines(c + '\n' for c in ALLIDB_CLASSES)
    with open(osp.join(args.out_dir, 'patches.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, ['patch', 'label', 'source', 'x', 'y'])
        writer.writeheader()
        writer.writerows(records)
    n_blast = sum(r['label'] for r in records)
    print(f'{len(dataset)} fields -> {n_blast} blast and '
          f'{len(records) - n_blast} normal patches in {args.out_dir}')
    return records


if __name__ == '__main__':
    main()
