"""Image loading that names the bad file and never skips one silently."""
import io
import logging
from typing import Dict, List, Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS
from PIL import Image, ImageOps

COLOR_TYPES = ('color', 'grayscale')


class ImageLoadError(OSError):
    """An image file could not be read or decoded.

    Attributes:
        path (str): The file.
        reason (str): What is wrong with it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'Cannot load image {path!r}: {reason}')
        self.path = path
        self.reason = reason


class MissingImageError(ImageLoadError, FileNotFoundError):
    """An image listed by the dataset does not exist."""


class TooManyBadImagesError(RuntimeError):
    """More unreadable images than ``max_bad_fraction`` allows."""


@TRANSFORMS.register_module()
class LoadImageFromFileRobust(BaseTransform):
    """Load an image as 8-bit BGR, like mmcv's ``LoadImageFromFile``, with
    clear errors and an explicit policy for unreadable files.

    Decoding is mmcv's (OpenCV ``IMREAD_COLOR``: 16-bit images scaled to 8
    bits, alpha dropped, grayscale replicated, CMYK converted, EXIF
    orientation applied), so results equal mmcv's wherever mmcv succeeds.
    Files OpenCV cannot decode (GIF, float TIFF, ...) are decoded with
    Pillow. A missing, empty, truncated or corrupt file raises
    :class:`ImageLoadError` (:class:`MissingImageError` for a missing one)
    naming the file and the reason; mmcv raises an ``AssertionError``.

    With ``skip_bad_images=True`` an unreadable image is logged as a warning
    (file, reason, running count) and the transform returns ``None``:
    mmengine's ``BaseDataset`` then loads another random sample of the same
    dataset, i.e. of the same domain, so batch sizes and the domain schedule
    stay fixed. The substitute's results carry ``substituted_for`` (the
    skipped paths). Once ``min_loads`` images have been loaded, more than
    ``max_bad_fraction`` of them bad raises :class:`TooManyBadImagesError`
    listing the files. Counts are kept per process (each dataloader worker
    counts the images it loads). Test-mode datasets never substitute:
    mmengine raises there, so evaluation cannot silently drop a sample;
    use the default ``skip_bad_images=False`` in val/test pipelines.

    Args:
        to_float32 (bool): Return a float32 image. Defaults to False.
        color_type (str): ``'color'`` (HxWx3 BGR) or ``'grayscale'`` (HxW).
        imdecode_backend (str): mmcv decoding backend. Defaults to ``'cv2'``.
        backend_args (dict, optional): mmengine file backend arguments.
        skip_bad_images (bool): Skip unreadable images. Defaults to False.
        max_bad_fraction (float): Largest tolerated fraction of bad loads.
        min_loads (int): Loads before the fraction is enforced.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 skip_bad_images: bool = False,
                 max_bad_fraction: float = 0.01,
                 min_loads: int = 100) -> None:
        if color_type not in COLOR_TYPES:
            raise ValueError(f'color_type={color_type!r}; expected one of '
                             f'{COLOR_TYPES}')
        if not 0 <= max_bad_fraction <= 1:
            raise ValueError('max_bad_fraction must be in [0, 1], got '
                             f'{max_bad_fraction}')
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args.copy() if backend_args else None
        self.skip_bad_images = skip_bad_images
        self.max_bad_fraction = max_bad_fraction
        self.min_loads = max(1, int(min_loads))
        self.num_loads = 0
        self.bad_files: Dict[str, str] = {}
        self.num_bad = 0
        self._pending: List[str] = []

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']``.

        Results that hold an already-decoded ``img`` and no ``img_path``
        (mmpretrain's inferencers and ``browse_dataset.py`` feed arrays
        after dropping ``LoadImageFromFile``) pass through, converted to
        ``color_type`` and ``to_float32`` like a loaded file.

        Raises:
            KeyError: Neither ``img_path`` nor ``img`` is given.
        """
        if 'img_path' not in results:
            if 'img' not in results:
                raise KeyError(
                    f'{type(self).__name__} needs results[\'img_path\'] (a '
                    "file to load) or results['img'] (a decoded image); got "
                    f'keys {sorted(results)}')
            return self._from_array(results)
        path = results['img_path']
        self.num_loads += 1
        try:
            img = self.load(path)
        except ImageLoadError as err:
            if not self.skip_bad_images:
                raise
            return self._skip(err)
        if self.to_float32:
            img = img.astype(np.float32)
        if self._pending:
            results['substituted_for'] = self._pending
            self._pending = []
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _from_array(self, results: dict) -> dict:
        """Finish results whose ``img`` is already decoded."""
        img = np.asarray(results['img'])
        if self.color_type == 'grayscale' and img.ndim == 3:
            img = mmcv.bgr2gray(img)
        elif self.color_type == 'color' and img.ndim == 2:
            img = mmcv.gray2bgr(img)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results.setdefault('ori_shape', img.shape[:2])
        return results

    def load(self, path: str) -> np.ndarray:
        """Read and decode one file.

        Raises:
            ImageLoadError: Naming ``path`` and what is wrong with it.
        """
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as err:
            raise MissingImageError(path, 'the file does not exist') from err
        except OSError as err:
            raise ImageLoadError(path, f'cannot read the file ({err})') \
                from err
        if not data:
            raise ImageLoadError(path, 'the file is empty (0 bytes)')
        try:
            img = mmcv.imfrombytes(
                data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception:  # noqa: BLE001 - every decoder failure -> Pillow
            img = None
        if img is None:
            img = _decode_with_pillow(path, data, self.color_type)
        return img

    def _skip(self, err: ImageLoadError) -> None:
        """Count and report a bad image; fail above the allowed fraction."""
        self.num_bad += 1
        self.bad_files.setdefault(err.path, err.reason)
        self._pending.append(err.path)
        fraction = self.num_bad / self.num_loads
        print_log(
            f'Skipped unreadable image {err.path!r} ({err.reason}); a '
            'random sample of the same dataset replaces it. Bad images so '
            f'far in this process: {self.num_bad} of {self.num_loads} loads '
            f'({fraction:.1%}; max_bad_fraction={self.max_bad_fraction}).',
            logger='current',
            level=logging.WARNING)
        if self.num_loads >= self.min_loads and \
                fraction > self.max_bad_fraction:
            names = ', '.join(f'{p!r} ({r})'
                              for p, r in list(self.bad_files.items())[:10])
            raise TooManyBadImagesError(
                f'{self.num_bad} of {self.num_loads} image loads '
                f'({fraction:.1%}) failed, more than max_bad_fraction='
                f'{self.max_bad_fraction}; {len(self.bad_files)} distinct '
                f'bad files, first: {names}')
        return None

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', "
                f"imdecode_backend='{self.imdecode_backend}', "
                f'skip_bad_images={self.skip_bad_images}, '
                f'max_bad_fraction={self.max_bad_fraction}, '
                f'min_loads={self.min_loads})')


def _decode_with_pillow(path: str, data: bytes,
                        color_type: str) -> np.ndarray:
    """Decode what OpenCV cannot, or raise naming why the file is bad."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            bgr = _pil_to_bgr(img)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            EOFError) as err:
        text = str(err)
        if 'truncated' in text.lower() or isinstance(err, EOFError):
            reason = f'the file is truncated ({text})'
        elif isinstance(err, Image.UnidentifiedImageError):
            reason = 'not an image in a known format (corrupt or truncated)'
        else:
            reason = f'the image data is corrupt ({type(err).__name__}: ' \
                f'{text})'
        raise ImageLoadError(path, reason) from err
    if color_type == 'grayscale':
        return mmcv.bgr2gray(bgr)
    return bgr


def _pil_to_bgr(img: Image.Image) -> np.ndarray:
    """8-bit BGR array of a Pillow image of any mode."""
    if img.mode in ('I', 'F') or img.mode.startswith('I;16'):
        arr = np.asarray(img).astype(np.float64)
        if img.mode == 'F' and arr.size and np.nanmax(arr) <= 1.0:
            arr = arr * 255.0
        elif img.mode != 'F':
            arr = arr / 256.0  # 16-bit to 8-bit, as OpenCV does
        gray = np.clip(np.rint(np.nan_to_num(arr)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))
    rgb = np.asarray(img.convert('RGB'))
    return np.ascontiguousarray(rgb[..., ::-1])
