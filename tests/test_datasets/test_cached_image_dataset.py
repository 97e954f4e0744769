"""Tests of CachedImageDataset (decoded, resized images kept in memory)."""
import os
import os.path as osp
import pickle
import tempfile
import unittest

import cv2
import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

import dl4all_mm  # noqa: F401
from dl4all_mm.datasets import CachedImageDataset, InterleavedDatasetWrapper
from dl4all_mm.datasets.cached_image_dataset import parse_bytes
from tests.conftest import write_images as write_noise_images

SIZE = 8


def write_images(root: str, num: int = 6, seed: int = 0) -> str:
    """``num`` PNGs of different sizes in two class folders."""
    write_noise_images(root, [(f'c{i % 2}/{i}.png', i % 2)
                              for i in range(num)],
                       size=lambda i: (10 + i, 12 + i), seed=seed,
                       dtype=np.uint8)
    return root


def pipeline(flip_prob: float = 0.5) -> list:
    return [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(SIZE, SIZE)),
        dict(type='RandomFlip', prob=flip_prob, direction='horizontal'),
        dict(type='PackInputs'),
    ]


def custom(root: str, **kwargs) -> dict:
    return dict(
        type='CustomDataset',
        data_root=root,
        pipeline=kwargs.pop('pipeline', pipeline()),
        **kwargs)


class TestCachedImageDataset(unittest.TestCase):

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = write_images(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_cache_equals_uncached_pipeline(self):
        plain = CachedImageDataset(custom(self.root), max_bytes=0).dataset
        ds = CachedImageDataset(custom(self.root, pipeline=pipeline(1.0)))
        ref = CachedImageDataset(
            custom(self.root, pipeline=pipeline(1.0)), max_bytes=0)
        self.assertEqual(ds.num_cached, 2)  # LoadImageFromFile + Resize
        self.assertEqual(len(ds), 6)
        self.assertEqual(ds.num_cached_samples, 6)
        self.assertEqual(ds.nbytes, 6 * SIZE * SIZE * 3)
        self.assertEqual(ref.num_cached_samples, 0)
        self.assertEqual(ds.metainfo['classes'], plain.metainfo['classes'])
        for i in range(len(ds)):
            a, b = ds[i], ref[i]
            torch.testing.assert_close(a['inputs'], b['inputs'])
            self.assertEqual(a['data_samples'].gt_label.tolist(),
                             b['data_samples'].gt_label.tolist())
            self.assertEqual(a['data_samples'].img_path,
                             b['data_samples'].img_path)
        # The flipped outputs did not write into the cache.
        img = cv2.resize(
            cv2.imread(ds.get_data_info(0)['img_path']), (SIZE, SIZE),
            interpolation=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(ds.cached_image(0), img)
        self.assertFalse(ds.cached_image(0).flags.writeable)

    def test_random_transforms_still_run_per_access(self):
        ds = CachedImageDataset(custom(self.root))
        seen = {ds[0]['inputs'].numpy().tobytes() for _ in range(40)}
        self.assertEqual(len(seen), 2)  # flipped and not flipped

    def test_budget_caches_a_prefix_of_the_samples(self):
        ds = CachedImageDataset(custom(self.root), max_bytes=3 * SIZE**2 * 3)
        self.assertEqual(ds.num_cached_samples, 3)
        self.assertEqual(ds.nbytes, 3 * SIZE**2 * 3)
        for i in range(len(ds)):  # uncached samples decode as usual
            self.assertEqual(tuple(ds[i]['inputs'].shape), (3, SIZE, SIZE))

    def test_workers_read_the_cache_without_decoding(self):
        ds = CachedImageDataset(custom(self.root))
        self.assertTrue(ds._buffer.is_shared())
        for info in (ds.get_data_info(i) for i in range(len(ds))):
            os.remove(info['img_path'])  # a decode would now fail
        loader = DataLoader(
            ds, batch_size=2, num_workers=2, collate_fn=pseudo_collate)
        batches = list(loader)
        self.assertEqual(sum(len(b['inputs']) for b in batches), 6)

    def test_pickles_for_spawned_workers(self):
        # spawn/forkserver workers receive the dataset pickled.
        ds = CachedImageDataset(custom(self.root, pipeline=pipeline(1.0)))
        for info in (ds.get_data_info(i) for i in range(len(ds))):
            os.remove(info['img_path'])
        copy = pickle.loads(pickle.dumps(ds))
        self.assertEqual(copy.num_cached_samples, 6)
        torch.testing.assert_close(copy[5]['inputs'], ds[5]['inputs'])

    def test_inside_interleaved_wrapper(self):
        wrapper = InterleavedDatasetWrapper(
            datasets=dict(
                source=dict(
                    type='CachedImageDataset', dataset=custom(self.root)),
                target=custom(self.root)))
        self.assertEqual(len(wrapper), 12)
        sample = wrapper[1]['data_samples']
        self.assertEqual(sample.metainfo['domain'], 'source')
        self.assertEqual(wrapper[7]['data_samples'].metainfo['domain'],
                         'target')

    def test_bad_configs_raise_clear_errors(self):
        no_loader = custom(self.root, pipeline=pipeline()[1:])
        with self.assertRaisesRegex(ValueError, 'must start with an image'):
            CachedImageDataset(no_loader, lazy_init=True)
        with self.assertRaisesRegex(ValueError, 'RandomFlip'):
            CachedImageDataset(custom(self.root), num_cached=3, lazy_init=True)
        with self.assertRaisesRegex(ValueError, r'num_cached=9'):
            CachedImageDataset(custom(self.root), num_cached=9, lazy_init=True)
        with self.assertRaisesRegex(ValueError, "max_bytes='lots'"):
            CachedImageDataset(custom(self.root), max_bytes='lots')

    def test_parse_bytes(self):
        self.assertEqual(parse_bytes('512M'), 512 * 2**20)
        self.assertEqual(parse_bytes('2GiB'), 2 * 2**30)
        self.assertEqual(parse_bytes('1.5k'), 1536)
        self.assertEqual(parse_bytes(100), 100)


if __name__ == '__main__':
    unittest.main()
