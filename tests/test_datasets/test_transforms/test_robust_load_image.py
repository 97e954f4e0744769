"""Tests of LoadImageFromFileRobust: odd formats decode like mmcv, bad
files raise errors naming them, and the skip policy counts and reports."""
import logging

import cv2
import mmcv
import numpy as np
import pytest
from mmpretrain.registry import DATASETS, TRANSFORMS
from PIL import Image

import dl4all_mm  # noqa: F401
from dl4all_mm.datasets.transforms import (ImageLoadError, MissingImageError,
                                           TooManyBadImagesError,
                                           robust_load_image)

RGB = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)


def _load(path, **kwargs):
    transform = TRANSFORMS.build(dict(type='LoadImageFromFileRobust',
                                      **kwargs))
    return transform(dict(img_path=str(path)))['img']


def _mmcv(path):
    with open(path, 'rb') as f:
        return mmcv.imfrombytes(f.read(), flag='color', backend='cv2')


def _write(tmp_path, kind):
    """Write one image of ``kind``; return (path, expected BGR)."""
    bgr = RGB[..., ::-1]
    gray = RGB[..., 0]
    if kind == 'tiff16':
        path = tmp_path / 'a.tif'
        cv2.imwrite(str(path), bgr.astype(np.uint16) * 257)
        return path, bgr
    if kind == 'tiff16_gray':
        path = tmp_path / 'g.tif'
        cv2.imwrite(str(path), gray.astype(np.uint16) * 257)
        return path, np.repeat(gray[..., None], 3, axis=2)
    if kind == 'rgba_png':
        path = tmp_path / 'a.png'
        Image.fromarray(np.dstack([RGB, np.full(RGB.shape[:2], 255,
                                                np.uint8)])).save(path)
        return path, bgr
    if kind == 'gray_png':
        path = tmp_path / 'g.png'
        Image.fromarray(gray, 'L').save(path)
        return path, np.repeat(gray[..., None], 3, axis=2)
    if kind == 'palette_png':
        path = tmp_path / 'p.png'
        img = Image.fromarray(RGB).convert('P')
        img.save(path)
        return path, np.asarray(img.convert('RGB'))[..., ::-1]
    if kind == 'cmyk_jpeg':
        path = tmp_path / 'c.jpg'
        Image.fromarray(RGB).convert('CMYK').save(path, quality=100)
        return path, bgr
    if kind == 'gif':  # OpenCV cannot decode GIF: the Pillow fallback
        path = tmp_path / 'a.gif'
        img = Image.fromarray(RGB).convert('P')
        img.save(path)
        return path, np.asarray(img.convert('RGB'))[..., ::-1]
    if kind == 'float_tiff':  # nor float TIFF
        path = tmp_path / 'f.tif'
        Image.fromarray(gray.astype(np.float32) / 255, 'F').save(path)
        return path, np.repeat(gray[..., None], 3, axis=2)
    raise ValueError(kind)


@pytest.mark.parametrize('kind', [
    'tiff16', 'tiff16_gray', 'rgba_png', 'gray_png', 'palette_png',
    'cmyk_jpeg', 'gif', 'float_tiff'
])
def test_formats_decode_to_8bit_bgr(tmp_path, kind):
    path, expected = _write(tmp_path, kind)
    img = _load(path)
    assert img.dtype == np.uint8 and img.shape == (8, 10, 3)
    tolerance = 2 if kind == 'cmyk_jpeg' else 0  # JPEG rounding
    assert np.abs(img.astype(int) - expected.astype(int)).max() <= tolerance
    reference = _mmcv(path)
    if reference is not None:  # where mmcv decodes, we equal it exactly
        assert np.array_equal(img, reference)


def test_grayscale_and_float32(tmp_path):
    path, expected = _write(tmp_path, 'rgba_png')
    gray = _load(path, color_type='grayscale')
    assert gray.shape == (8, 10)
    img = _load(path, to_float32=True)
    assert img.dtype == np.float32
    with pytest.raises(ValueError, match='color_type'):
        _load(path, color_type='unchanged')


def _bad_file(tmp_path, kind):
    good = cv2.imencode('.jpg', RGB)[1].tobytes()
    path = tmp_path / f'{kind}.jpg'
    if kind == 'missing':
        return path, MissingImageError, 'does not exist'
    data = dict(
        truncated_jpeg=good[:len(good) // 2],
        truncated_png=cv2.imencode('.png', RGB)[1].tobytes()[:200],
        empty=b'',
        garbage=b'this is not an image' * 20)[kind]
    path.write_bytes(data)
    reason = dict(
        truncated_jpeg='truncated',
        truncated_png='truncated',
        empty='empty',
        garbage='not an image')[kind]
    return path, ImageLoadError, reason


@pytest.mark.parametrize(
    'kind', ['missing', 'truncated_jpeg', 'truncated_png', 'empty', 'garbage'])
def test_bad_file_named(tmp_path, kind):
    path, error, reason = _bad_file(tmp_path, kind)
    with pytest.raises(error) as err:
        _load(path)
    assert str(path) in str(err.value) and reason in str(err.value)
    assert err.value.path == str(path)
    if kind == 'missing':
        assert isinstance(err.value, FileNotFoundError)


def _dataset(tmp_path, num_good, num_bad, test_mode=False, **kwargs):
    """A CustomDataset whose first ``num_bad`` files are truncated."""
    lines = []
    for i in range(num_good + num_bad):
        name = f'img_{i}.png'
        data = cv2.imencode('.png', RGB)[1].tobytes()
        (tmp_path / name).write_bytes(data[:100] if i < num_bad else data)
        lines.append(f'{name} {i % 2}')
    (tmp_path / 'ann.txt').write_text('\n'.join(lines) + '\n')
    return DATASETS.build(
        dict(
            type='CustomDataset',
            data_root=str(tmp_path),
            ann_file='ann.txt',
            classes=['a', 'b'],
            test_mode=test_mode,
            pipeline=[
                dict(
                    type='LoadImageFromFileRobust',
                    skip_bad_images=True,
                    **kwargs),
                dict(type='PackInputs', meta_keys=('img_path',
                                                   'substituted_for'))
            ]))


def test_skip_substitutes_and_reports(tmp_path, monkeypatch):
    dataset = _dataset(tmp_path, num_good=9, num_bad=1, min_loads=10,
                       max_bad_fraction=0.2)
    logged = []
    monkeypatch.setattr(robust_load_image, 'print_log',
                        lambda msg, **kwargs: logged.append((msg, kwargs)))
    sample = dataset[0]['data_samples']
    bad = str(tmp_path / 'img_0.png')
    assert sample.img_path != bad
    # the random substitute may hit the bad file again: each time counts
    assert set(sample.substituted_for) == {bad}
    transform = dataset.pipeline.transforms[0]
    assert transform.num_bad == len(logged) == len(sample.substituted_for)
    assert list(transform.bad_files) == [bad]
    assert 'truncated' in transform.bad_files[bad]
    message, kwargs = logged[0]
    assert bad in message and '1 of 1 loads' in message
    assert kwargs['level'] == logging.WARNING
    # later samples carry no substitution record
    assert 'substituted_for' not in dataset[1]['data_samples']


def test_skip_fails_above_fraction(tmp_path):
    dataset = _dataset(tmp_path, num_good=2, num_bad=8, min_loads=5,
                       max_bad_fraction=0.2)
    with pytest.raises(TooManyBadImagesError) as err:
        for i in range(10):
            dataset[i]
    message = str(err.value)
    assert 'max_bad_fraction=0.2' in message and 'img_' in message


def test_skip_substitutes_within_the_same_domain(tmp_path):
    (tmp_path / 'source').mkdir()
    (tmp_path / 'target').mkdir()
    source = _dataset(tmp_path / 'source', num_good=4, num_bad=0)
    target = _dataset(tmp_path / 'target', num_good=4, num_bad=1,
                      min_loads=100)
    wrapper = DATASETS.build(
        dict(type='InterleavedDatasetWrapper',
             datasets=dict(source=source, target=target)))
    start, _ = wrapper.domain_ranges['target']
    for _ in range(5):
        sample = wrapper[start]['data_samples']
        assert sample.metainfo['domain'] == 'target'
        assert str(tmp_path / 'target') in sample.metainfo['img_path']


def test_test_mode_never_skips(tmp_path):
    dataset = _dataset(tmp_path, num_good=3, num_bad=1, test_mode=True)
    with pytest.raises(Exception, match='should not get `None`'):
        dataset[0]
