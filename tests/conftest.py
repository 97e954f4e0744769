"""Shared fixtures and helpers of the dl4all_mm tests: the tiny ResNet, the
generated images, and the checkpoint loader every test runs with."""
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import pytest

from dl4all_mm.engine.runners import register_safe_loader

#: Output channels of :func:`tiny_resnet` (its last stage).
TINY_RESNET_CHANNELS = 64

Size = Union[int, Tuple[int, int]]


def tiny_resnet(**overrides) -> dict:
    """A ResNet-18 with 8 stem and base channels, last stage only
    (:data:`TINY_RESNET_CHANNELS` channels): the tests' tiny backbone."""
    cfg = dict(
        type='ResNet',
        depth=18,
        stem_channels=8,
        base_channels=8,
        out_indices=(3, ))
    cfg.update(overrides)
    return cfg


def noise_image(rng: Union[np.random.Generator, np.random.RandomState],
                size: Size,
                high: int = 256,
                offset: Union[int, np.ndarray] = 0,
                dtype: type = np.int64) -> np.ndarray:
    """A ``size`` (side or (h, w)) BGR uint8 image: uniform integer noise in
    ``[0, high)`` drawn as ``dtype`` from ``rng`` (a ``Generator`` or a
    legacy ``RandomState``) plus ``offset`` (broadcast over the pixels),
    clipped."""
    h, w = (size, size) if isinstance(size, int) else size
    draw = rng.integers if hasattr(rng, 'integers') else rng.randint
    img = draw(0, high, (h, w, 3), dtype=dtype) + offset
    return np.clip(img, 0, 255).astype(np.uint8)


def tint(label: int, amount: int = 150) -> np.ndarray:
    """Offset adding ``amount`` to channel ``label % 3``: a colour cue a
    tiny model can learn."""
    offset = np.zeros(3, np.int64)
    offset[label % 3] = amount
    return offset


def write_images(root: str,
                 items: Sequence[Tuple[str, int]],
                 size: Union[Size, Callable[[int], Size]] = 16,
                 seed: int = 0,
                 high: int = 256,
                 offset: Optional[Callable[[int], np.ndarray]] = None,
                 legacy_rng: bool = False,
                 dtype: type = np.int64) -> List[str]:
    """Write one :func:`noise_image` PNG per ``(relative path, label)`` of
    ``items`` under ``root``, in order, from one random generator.

    Args:
        root (str): Folder the paths are relative to (created as needed).
        items (Sequence[tuple]): ``(relative path, label)`` pairs.
        size: Side, (h, w), or a function of the item's index giving one.
        seed (int): Seed of ``numpy.random.default_rng`` (or of
            ``RandomState`` with ``legacy_rng``).
        high (int): Noise values are in ``[0, high)``.
        offset (callable, optional): ``label -> offset`` added to the noise
            (e.g. :func:`tint`).
        legacy_rng (bool): Draw from ``numpy.random.RandomState``.
        dtype (type): Integer type the noise is drawn as (it changes the
            random stream, not the range).

    Returns:
        list[str]: The written files' full paths.
    """
    rng = np.random.RandomState(seed) if legacy_rng else \
        np.random.default_rng(seed)
    paths = []
    for i, (rel, label) in enumerate(items):
        side = size(i) if callable(size) else size
        img = noise_image(rng, side, high,
                          offset(label) if offset is not None else 0, dtype)
        path = osp.join(root, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        if not cv2.imwrite(path, img):
            raise OSError(f'could not write {path}')
        paths.append(path)
    return paths


@pytest.fixture(autouse=True, scope='session')
def safe_checkpoint_loader():
    """mmengine loads local checkpoints with our trust policy in every test,
    as it does under a DL4ALLRunner or a config of ours (its custom_imports
    register the loader): tests build plain Runners from inline dicts, and
    under torch >= 2.6 mmengine 0.10.7's own loader refuses mmengine
    checkpoints. Tests of the upstream behaviour put mmengine's loader back
    with ``monkeypatch``."""
    register_safe_loader()
    yield
