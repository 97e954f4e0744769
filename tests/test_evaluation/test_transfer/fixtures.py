"""Small generated image folders for the transfer-comparison tests."""
import os
import os.path as osp

import cv2
import numpy as np


def write_images(root: str, counts: dict, size: int = 24, seed: int = 0,
                 patients: int = 0) -> None:
    """``root/<class>/<name>.png`` images, a colour per class plus noise;
    with ``patients``, names carry ``P<k>_`` prefixes (k < patients)."""
    rng = np.random.default_rng(seed)
    for c, (cls, n) in enumerate(sorted(counts.items())):
        os.makedirs(osp.join(root, cls), exist_ok=True)
        for i in range(n):
            img = np.full((size, size, 3), 60 + 60 * c, np.uint8)
            img = np.clip(img + rng.integers(0, 40, img.shape), 0,
                          255).astype(np.uint8)
            prefix = f'P{(i + 7 * c) % patients}_' if patients else ''
            cv2.imwrite(osp.join(root, cls, f'{prefix}{cls}_{i:03d}.png'),
                        img)


def make_task(tmp: str) -> dict:
    """Source (3 classes) and target (folders Benign/Early/Pre: merged to
    normal vs ALL) folders under ``tmp``; returns their paths."""
    source, target = osp.join(tmp, 'src'), osp.join(tmp, 'tgt')
    write_images(source, dict(a=12, b=12, c=12), seed=1)
    write_images(target, dict(Benign=30, Early=20, Pre=20), seed=2,
                 patients=10)
    return dict(source=source, target=target)
