"""Per-channel and pooled pixel mean/std of a dataset, 0-255 scale.

Prints ``dict(mean=[...], std=[...])`` ready to paste into
``DomainDataPreprocessor(domain_norm=dict(<domain>=...))`` (or any
``ClsDataPreprocessor``): once per channel, and once pooled over the three
channels (the single value the DL4ALL paper normalises with, repeated).
Statistics are exact over all pixels of all images (not an average of
per-image values). Channel order is RGB, for ``to_rgb=True``; pass
``--bgr`` for preprocessors with ``to_rgb=False``.

Examples::

    # every image under a folder (recursively)
    python tools/analysis_tools/compute_mean_std.py --data-root data/adp
    # only the training images of a split
    python tools/analysis_tools/compute_mean_std.py --data-root data/cnmc \
        --ann-file data/cnmc/splits/fold_0/train.txt
    # the DL4ALL reference's statistics: train + val images, centre-cropped
    # (ADP 272, C-NMC 450) and resized to 224; use the pooled line
    python tools/analysis_tools/compute_mean_std.py --data-root data/cnmc \
        --ann-file data/cnmc/splits/reference/train.txt \
        data/cnmc/splits/reference/val.txt --center-crop 450 --resize 224
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from dl4all_mm.datasets.splits import IMG_EXTENSIONS


def list_images(data_root: str, ann_file: Optional[str] = None) -> List[str]:
    """Images listed in ``ann_file`` (``relative/path [label]`` lines,
    relative to ``data_root``), or every image under ``data_root``."""
    if ann_file:
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'--ann-file {ann_file!r} not found')
        paths = []
        with open(ann_file, encoding='utf-8') as f:
            for line in f:
                line = line.strip()
                if line:
                    parts = line.rsplit(' ', 1)
                    if len(parts) == 2 and parts[1].lstrip('-').isdigit():
                        line = parts[0]
                    paths.append(osp.join(data_root, line))
        return paths
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'--data-root {data_root!r} not found')
    paths = []
    for dirpath, dirnames, files in os.walk(data_root):
        dirnames.sort()
        paths.extend(
            osp.join(dirpath, n) for n in sorted(files)
            if n.lower().endswith(IMG_EXTENSIONS) and not n.startswith('.'))
    return paths


def compute_mean_std(paths: Sequence[str],
                     resize: Optional[int] = None,
                     bgr: bool = False,
                     center_crop: Optional[int] = None) -> Dict[str, list]:
    """Exact mean/std over every pixel of ``paths``.

    Args:
        paths (Sequence[str]): Image files (read as 8-bit colour).
        resize (int, optional): Resize each image to ``resize`` x
            ``resize`` (bilinear) first, e.g. the network input size.
        bgr (bool): Report channels in BGR instead of RGB order.
        center_crop (int, optional): Crop the central ``center_crop`` x
            ``center_crop`` pixels first (torchvision's ``CenterCrop``
            offsets, before ``resize``), as the reference does.

    Returns:
        dict: ``mean``/``std`` (3 values each) and ``pooled_mean``/
        ``pooled_std`` (one value over all channels), 0-255 scale, plus
        ``num_images`` and ``num_pixels`` (per channel).
    """
    if not paths:
        raise ValueError('No image to compute statistics on')
    total = np.zeros(3)
    total_sq = np.zeros(3)
    count = 0
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{path}: not a readable image')
        if center_crop:
            img = _center_crop(img, center_crop, path)
        if resize:
            img = cv2.resize(
                img, (resize, resize), interpolation=cv2.INTER_LINEAR)
        pix = img.reshape(-1, 3).astype(np.float64)
        total += pix.sum(0)
        total_sq += (pix**2).sum(0)
        count += len(pix)
    if not bgr:
        total, total_sq = total[::-1], total_sq[::-1]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0))
    pooled_mean = total.sum() / (3 * count)
    pooled_std = np.sqrt(max(total_sq.sum() / (3 * count) - pooled_mean**2, 0))
    return dict(
        mean=mean.tolist(),
        std=std.tolist(),
        pooled_mean=float(pooled_mean),
        pooled_std=float(pooled_std),
        num_images=len(paths),
        num_pixels=int(count))


def _center_crop(img: np.ndarray, size: int, path: str) -> np.ndarray:
    """The central ``size`` x ``size`` pixels (offsets rounded as
    torchvision's ``CenterCrop``)."""
    h, w = img.shape[:2]
    if h < size or w < size:
        raise ValueError(f'{path}: {w}x{h} is smaller than --center-crop '
                         f'{size}')
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img[top:top + size, left:left + size]


def format_norm(mean: Sequence[float], std: Sequence[float]) -> str:
    """``dict(mean=[...], std=[...])`` with 3 decimals."""
    fmt = ', '.join
    return (f'dict(mean=[{fmt(f"{v:.3f}" for v in mean)}], '
            f'std=[{fmt(f"{v:.3f}" for v in std)}])')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Compute, print and optionally save the statistics."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', required=True)
    parser.add_argument(
        '--ann-file',
        nargs='+',
        default=None,
        help='use only the images of these annotation files (e.g. train '
        'and val, as the reference)')
    parser.add_argument(
        '--resize',
        type=int,
        default=None,
        help='resize every image to NxN first')
    parser.add_argument(
        '--center-crop',
        type=int,
        default=None,
        help='crop the central NxN pixels first (before --resize)')
    parser.add_argument(
        '--max-images',
        type=int,
        default=None,
        help='seeded random subset of this size')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--bgr', action='store_true', help='BGR channel order (to_rgb=False)')
    parser.add_argument('--out', default=None, help='also write JSON here')
    args = parser.parse_args(argv)

    paths = [p for ann in (args.ann_file or [None])
             for p in list_images(args.data_root, ann)]
    if args.max_images and len(paths) > args.max_images:
        rng = np.random.RandomState(args.seed)
        keep = np.sort(rng.choice(len(paths), args.max_images, False))
        paths = [paths[i] for i in keep]
    stats = compute_mean_std(paths, args.resize, args.bgr, args.center_crop)
    order = 'BGR (to_rgb=False)' if args.bgr else 'RGB (to_rgb=True)'
    print(f'{stats["num_images"]} images, {stats["num_pixels"]} pixels per '
          f'channel; 0-255 scale, channel order {order}')
    print('# per channel')
    print(format_norm(stats['mean'], stats['std']))
    print('# pooled over channels (DL4ALL paper)')
    print(format_norm([stats['pooled_mean']] * 3, [stats['pooled_std']] * 3))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(stats, channel_order=order[:3]), f, indent=1)
    return stats


if __name__ == '__main__':
    main()
