"""Per-domain pixel statistics from training images."""
from typing import List, Sequence, Tuple

import numpy as np


def mean_std(paths: Sequence[str], img_size: int, max_images: int = 400,
             seed: int = 0) -> Tuple[List[float], List[float]]:
    """RGB mean and std (0-255) of up to ``max_images`` images resized to
    ``img_size`` (bilinear, as the pipelines' ``Resize``), a seeded sample.

    Only the training images of a domain are passed in, so no validation
    or test pixel enters the normalisation.
    """
    import cv2
    if not paths:
        raise ValueError('mean_std needs at least one image')
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(paths))[:max_images]
    total = np.zeros(3)
    square = np.zeros(3)
    count = 0
    for i in sorted(pick):
        img = cv2.imread(paths[i], cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot decode image {paths[i]}')
        img = cv2.resize(img, (img_size, img_size),
                         interpolation=cv2.INTER_LINEAR)
        pixels = img[..., ::-1].reshape(-1, 3).astype(np.float64)  # RGB
        total += pixels.sum(0)
        square += (pixels**2).sum(0)
        count += len(pixels)
    mean = total / count
    std = np.sqrt(np.maximum(square / count - mean**2, 1e-6))
    return ([round(float(v), 2) for v in mean],
            [round(float(v), 2) for v in std])


def scalar_mean_std(mean: Sequence[float], std: Sequence[float]
                    ) -> Tuple[float, float]:
    """One mean and std over every pixel and channel, derived exactly from
    per-channel statistics of equal pixel counts (the channels of one set
    of images): ``m = mean_c m_c``, ``s^2 = mean_c (s_c^2 + (m_c - m)^2)``
    (the authors' scalar per-dataset normalisation)."""
    means = np.asarray(mean, dtype=np.float64)
    stds = np.asarray(std, dtype=np.float64)
    if means.shape != stds.shape or means.ndim != 1 or not means.size:
        raise ValueError(f'scalar_mean_std: mean {list(mean)} and std '
                         f'{list(std)} must be equal-length, non-empty')
    m = float(means.mean())
    return m, float(np.sqrt(np.mean(stds**2 + (means - m)**2)))
