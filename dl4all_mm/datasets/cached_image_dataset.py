"""Opt-in in-memory cache of decoded, resized images for small datasets."""
import copy
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

#: Transforms whose output depends only on their input (cacheable).
DETERMINISTIC = ('LoadImageFromFile', 'Resize', 'ResizeEdge', 'CenterCrop')
_RANDOM_HINTS = ('Random', 'Augment', 'Jitter', 'Mix', 'Erasing', 'Rotate')
_UNITS = {'': 1, 'K': 2**10, 'M': 2**20, 'G': 2**30}


def parse_bytes(value: Union[int, float, str]) -> int:
    """``'512M'``, ``'2GiB'``, ``'1.5G'`` or a number of bytes -> bytes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip().upper().replace('IB', '').rstrip('B')
    unit = text[-1:] if text[-1:] in _UNITS else ''
    try:
        number = float(text[:len(text) - len(unit)])
    except ValueError:
        raise ValueError(f'max_bytes={value!r} is not a size such as '
                         "'512M' or '2G'") from None
    return int(number * _UNITS[unit])


@DATASETS.register_module()
class CachedImageDataset:
    """Wrap a dataset and keep the output of its deterministic pipeline
    prefix (decode + resize) in memory.

    The first ``num_cached`` transforms of the wrapped dataset's pipeline
    (by default the longest leading run of :data:`DETERMINISTIC` transforms,
    e.g. ``LoadImageFromFile`` + ``Resize``) run once per sample, in the
    main process, when the wrapper is initialised; the remaining transforms
    (random augmentations, ``PackInputs``) still run on every access, so
    every epoch sees fresh augmentations. The images live in one flat
    buffer, by default in shared memory, so dataloader workers read them
    without copying (``fork``) or receive a handle instead of a copy
    (``spawn``/``forkserver``). Samples beyond ``max_bytes`` are not cached
    and go through the whole pipeline as usual. Under DDP every rank holds
    its own cache.

    Args:
        dataset (dict | Dataset): The dataset (config) to wrap; it needs a
            ``pipeline`` whose first transform loads the image.
        max_bytes (int | str): Memory budget of the cache, e.g. ``'1G'``.
            Defaults to ``'2G'``.
        num_cached (int, optional): Number of leading transforms to cache;
            None picks the deterministic prefix automatically.
        num_threads (int): Threads decoding while the cache fills.
        shared_memory (bool): Keep the buffer in shared memory.
        lazy_init (bool): Defer filling the cache to :meth:`full_init`.

    Example:
        >>> dataset = dict(
        ...     type='CachedImageDataset', max_bytes='1G',
        ...     dataset=dict(type='CustomDataset', data_root='data/bccd',
        ...                  pipeline=[dict(type='LoadImageFromFile'),
        ...                            dict(type='Resize', scale=96),
        ...                            dict(type='RandomFlip', prob=0.5),
        ...                            dict(type='PackInputs')]))
    """

    def __init__(self,
                 dataset: Union[dict, Any],
                 max_bytes: Union[int, str] = '2G',
                 num_cached: Optional[int] = None,
                 num_threads: int = 4,
                 shared_memory: bool = True,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.max_bytes = parse_bytes(max_bytes)
        if self.max_bytes < 0:
            raise ValueError(f'max_bytes must be >= 0, got {max_bytes!r}')
        self.num_threads = max(1, int(num_threads))
        self.shared_memory = shared_memory
        transforms = list(
            getattr(getattr(dataset, 'pipeline', None), 'transforms', []))
        self.num_cached = _check_prefix(transforms, num_cached,
                                        type(dataset).__name__)
        self.prefix = transforms[:self.num_cached]
        self.rest = transforms[self.num_cached:]
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # -- cache filling --------------------------------------------------
    def full_init(self) -> None:
        """Initialise the wrapped dataset and fill the cache."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        start = time.perf_counter()
        images, self._meta = self._decode_within_budget()
        sizes = np.array([img.nbytes for img in images], dtype=np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(
            np.int64)
        self._shapes = [img.shape for img in images]
        self._dtypes = [img.dtype.str for img in images]
        # A torch tensor, so that torch's multiprocessing pickler sends a
        # shared-memory buffer to spawned workers as a handle, not a copy.
        self._buffer = torch.empty(int(self._offsets[-1]), dtype=torch.uint8)
        if self.shared_memory and self._buffer.numel():
            self._buffer.share_memory_()
        flat = self._buffer.numpy()
        for i, img in enumerate(images):
            flat[self._offsets[i]:self._offsets[i + 1]] = np.ascontiguousarray(
                img).view(np.uint8).reshape(-1)
        self.fill_seconds = time.perf_counter() - start
        self._fully_initialized = True
        if self.num_cached_samples < len(self):
            print_log(
                f'CachedImageDataset: max_bytes={self.max_bytes} holds only '
                f'{self.num_cached_samples}/{len(self)} samples; the others '
                'are decoded on every access.',
                logger='current',
                level=logging.WARNING)
        print_log(
            f'CachedImageDataset: cached {self.num_cached_samples}/'
            f'{len(self)} samples of {type(self.dataset).__name__} '
            f'({self.nbytes / 2**20:.1f} MiB of {self.max_bytes / 2**20:.0f}'
            f' MiB) in {self.fill_seconds:.1f} s; transforms cached: '
            f'{[type(t).__name__ for t in self.prefix]}',
            logger='current')

    def _decode_within_budget(self) -> tuple:
        """Run the prefix on samples in order until the budget is spent."""
        images: List[np.ndarray] = []
        metas: List[dict] = []
        used, chunk = 0, 16 * self.num_threads
        with ThreadPoolExecutor(self.num_threads) as pool:
            for first in range(0, len(self.dataset), chunk):
                idx = range(first, min(first + chunk, len(self.dataset)))
                for results in pool.map(self._run_prefix, idx):
                    img = results.pop('img')
                    if used + img.nbytes > self.max_bytes:
                        return images, metas
                    used += img.nbytes
                    images.append(img)
                    metas.append(results)
        return images, metas

    def _run_prefix(self, idx: int) -> dict:
        info = self.dataset.get_data_info(idx)
        results = _apply(self.prefix, info)
        if results is None or not isinstance(results.get('img'), np.ndarray):
            raise ValueError(
                f'CachedImageDataset: the cached transforms '
                f'{[type(t).__name__ for t in self.prefix]} gave no image '
                f'array for sample {idx} ({info.get("img_path")!r})')
        return results

    # -- access ---------------------------------------------------------
    @property
    def num_cached_samples(self) -> int:
        """Number of samples held in the cache."""
        return len(self._shapes) if self._fully_initialized else 0

    @property
    def nbytes(self) -> int:
        """Bytes of image data held in the cache."""
        return int(self._buffer.numel()) if self._fully_initialized else 0

    def cached_image(self, idx: int) -> np.ndarray:
        """Read-only view of the cached image of sample ``idx``."""
        flat = self._buffer.numpy()
        img = flat[self._offsets[idx]:self._offsets[idx + 1]].view(
            np.dtype(self._dtypes[idx])).reshape(self._shapes[idx])
        img.flags.writeable = False
        return img

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Cached prefix output (a copy) through the remaining transforms."""
        if idx >= self.num_cached_samples:
            return self.dataset.prepare_data(idx)
        results = copy.deepcopy(self._meta[idx])
        results['img'] = self.cached_image(idx).copy()
        return _apply(self.rest, results)

    def __getitem__(self, idx: int) -> dict:
        self.full_init()
        test_mode = getattr(self.dataset, 'test_mode', False)
        for _ in range(getattr(self.dataset, 'max_refetch', 1000) + 1):
            data = self.prepare_data(idx)
            if data is not None:
                return data
            if test_mode:
                break
            idx = random.randrange(len(self))
        raise RuntimeError(f'CachedImageDataset: the pipeline returned None '
                           f'for sample {idx} (test_mode={test_mode})')

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def metainfo(self) -> dict:
        """Metainfo of the wrapped dataset."""
        return copy.deepcopy(self.dataset.metainfo)

    def get_data_info(self, idx: int) -> dict:
        """Annotation of sample ``idx`` (from the wrapped dataset)."""
        return self.dataset.get_data_info(idx)

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found normally: delegate the
        # wrapped dataset's (``CLASSES``, ``get_gt_labels``, ...).
        if name.startswith('__') or 'dataset' not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__['dataset'], name)


def _apply(transforms: List[Callable], results: dict) -> Optional[dict]:
    for transform in transforms:
        results = transform(results)
        if results is None:
            return None
    return results


def _check_prefix(transforms: List[Callable], num_cached: Optional[int],
                  dataset_name: str) -> int:
    """Validate (or pick) how many leading transforms are cached."""
    names = [type(t).__name__ for t in transforms]
    if not names or 'Load' not in names[0]:
        raise ValueError(f'CachedImageDataset: the pipeline of '
                         f'{dataset_name} must start with an image loader '
                         f'(e.g. LoadImageFromFile), got {names}')
    if num_cached is None:
        num_cached = 0
        while num_cached < len(names) and names[num_cached] in DETERMINISTIC:
            num_cached += 1
        return max(1, num_cached)
    if not 1 <= num_cached <= len(names):
        raise ValueError(f'CachedImageDataset: num_cached={num_cached} must '
                         f'be in [1, {len(names)}] for pipeline {names}')
    for name in names[:num_cached]:
        if any(hint in name
               for hint in _RANDOM_HINTS) or name.startswith('Pack'):
            raise ValueError(
                f'CachedImageDataset: num_cached={num_cached} would cache '
                f'{name!r}, which is random or packs the sample; cache only '
                f'the deterministic prefix of {names}')
    return num_cached
