"""Build the embedded demo data (``data/demo``) from ``../shared/data``.

Source domain: a PBC subset (Acevedo et al. 2020, CC BY 4.0), ``--per-class``
images of each of the 8 classes, resized to ``--pbc-size`` px.
Target domain: the BCCD white-cell crops (MIT licence), resized so that the
longer side is ``--bccd-size`` px; classes with fewer than ``--min-images``
images are dropped (Basophil has 3). The target is split, stratified and
seeded, into train/val/test annotation files (``splits/{train,val,test}.txt``,
mmpretrain's ``relative/path label`` lines).

Usage::

    python tools/dataset_converters/build_demo_data.py \
        --shared ../shared/data --out data/demo
"""
import argparse
import csv
import os
import os.path as osp
import random
from collections import defaultdict
from typing import Dict, List

import cv2

PBC_ATTRIBUTION = """# PBC subset — attribution (CC BY 4.0)

Images in `pbc/` are a subset of the PBC dataset of normal peripheral blood
cells, resized to {size} px:

Acevedo A., Merino A., Alférez S., Molina Á., Boldú L., Rodellar J.
"A dataset of microscopic peripheral blood cell images for development of
automatic recognition systems". Data in Brief 30:105474, 2020.
doi:10.17632/snkd93bnjr.1 — licensed under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/). Changes: subset of {n} images
per class, centre-cropped and resized.
"""

BCCD_LICENSE = """MIT License

Copyright (c) 2017 shenggan

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.

Source: BCCD Dataset, https://github.com/Shenggan/BCCD_Dataset; white-cell
crops by https://github.com/apple2373/BCCD. Images in `bccd_wbc/` are those
crops, resized (longer side {size} px).
"""


def read_manifest(folder: str) -> Dict[str, List[str]]:
    """Class -> sorted relative paths, from a shared folder's manifest."""
    path = osp.join(folder, 'manifest.csv')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: --shared must point to '
                                'the shared data folder (../shared/data)')
    by_class = defaultdict(list)
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            by_class[row['label']].append(row['path'])
    return {k: sorted(v) for k, v in sorted(by_class.items())}


def resize_copy(src: str, dst: str, size: int, square: bool) -> None:
    """Write ``src`` resized (square, or longer side = size) as JPEG."""
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'Cannot decode image {src}')
    h, w = img.shape[:2]
    if square:
        new = (size, size)
    else:
        scale = size / max(h, w)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = cv2.resize(img, new, interpolation=cv2.INTER_AREA)
    os.makedirs(osp.dirname(dst), exist_ok=True)
    cv2.imwrite(dst, img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def split_stratified(by_class: Dict[str, List[str]], ratios: List[float],
                     seed: int) -> List[List[tuple]]:
    """Per-class seeded split into len(ratios) parts of (path, label)."""
    rng = random.Random(seed)
    parts: List[List[tuple]] = [[] for _ in ratios]
    for label, (_, paths) in enumerate(sorted(by_class.items())):
        paths = list(paths)
        rng.shuffle(paths)
        n = len(paths)
        cuts = [round(n * sum(ratios[:i + 1])) for i in range(len(ratios))]
        start = 0
        for i, stop in enumerate(cuts):
            parts[i] += [(p, label) for p in paths[start:stop]]
            start = stop
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shared', default='../shared/data')
    parser.add_argument('--out', default='data/demo')
    parser.add_argument('--per-class', type=int, default=100)
    parser.add_argument('--pbc-size', type=int, default=64)
    parser.add_argument('--bccd-size', type=int, default=96)
    parser.add_argument('--min-images', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    pbc = read_manifest(osp.join(args.shared, 'pbc'))
    for label, paths in pbc.items():
        for rel in sorted(rng.sample(paths, min(args.per_class,
                                                len(paths)))):
            resize_copy(
                osp.join(args.shared, 'pbc', rel),
                osp.join(args.out, 'pbc', rel), args.pbc_size, square=True)
    with open(osp.join(args.out, 'pbc', 'ATTRIBUTION.md'), 'w') as f:
        f.write(PBC_ATTRIBUTION.format(size=args.pbc_size,
                                       n=args.per_class))

    bccd = read_manifest(osp.join(args.shared, 'bccd_wbc'))
    kept = {k: v for k, v in bccd.items() if len(v) >= args.min_images}
    for paths in kept.values():
        for rel in paths:
            resize_copy(
                osp.join(args.shared, 'bccd_wbc', rel),
                osp.join(args.out, 'bccd_wbc', rel), args.bccd_size,
                square=False)
    with open(osp.join(args.out, 'bccd_wbc', 'LICENSE'), 'w') as f:
        f.write(BCCD_LICENSE.format(size=args.bccd_size))
    split_dir = osp.join(args.out, 'bccd_wbc', 'splits')
    os.makedirs(split_dir, exist_ok=True)
    names = ('train', 'val', 'test')
    for name, part in zip(names,
                          split_stratified(kept, [0.6, 0.2, 0.2],
                                           args.seed)):
        with open(osp.join(split_dir, f'{name}.txt'), 'w') as f:
            f.writelines(f'{p} {label}\n' for p, label in sorted(part))
        print(f'bccd_wbc {name}: {len(part)} images')
    with open(osp.join(args.out, 'bccd_wbc', 'classes.txt'), 'w') as f:
        f.writelines(f'{c}\n' for c in sorted(kept))
    dropped = sorted(set(bccd) - set(kept))
    print(f'pbc: {sum(min(args.per_class, len(v)) for v in pbc.values())} '
          f'images, {len(pbc)} classes; bccd_wbc classes {sorted(kept)}, '
          f'dropped {dropped}')


if __name__ == '__main__':
    main()
