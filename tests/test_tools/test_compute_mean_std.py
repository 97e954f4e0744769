import contextlib
import importlib.util
import io
import json
import os
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

import cv2
import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'compute_mean_std',
    osp.join(REPO, 'tools', 'analysis_tools', 'compute_mean_std.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def write_rgb(path, rgb, size):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = rgb[::-1]  # cv2 writes BGR
    cv2.imwrite(path, img)


class TestComputeMeanStd(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        # 16 pixels of (10, 20, 30) and 4 of (50, 60, 70), RGB
        write_rgb(osp.join(self.tmp, 'a', 'x.png'), (10, 20, 30), 4)
        write_rgb(osp.join(self.tmp, 'b', 'y.bmp'), (50, 60, 70), 2)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_tool(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            stats = tool.main(['--data-root', self.tmp, *args])
        return stats, out.getvalue().splitlines()

    def test_exact_values(self):
        stats, lines = self.run_tool('--out', osp.join(self.tmp, 's.json'))
        np.testing.assert_allclose(stats['mean'], [18, 28, 38])
        np.testing.assert_allclose(stats['std'], [16, 16, 16])
        # pooled over the 60 values of the three channels
        values = np.repeat([10, 20, 30, 50, 60, 70], [16, 16, 16, 4, 4, 4])
        self.assertAlmostEqual(stats['pooled_mean'], values.mean())
        self.assertAlmostEqual(stats['pooled_std'], values.std())
        self.assertEqual(stats['num_images'], 2)
        self.assertEqual(stats['num_pixels'], 20)
        # the printed dicts paste into DomainDataPreprocessor(domain_norm=)
        dicts = [eval(line) for line in lines if line.startswith('dict(')]
        self.assertEqual(dicts[0],
                         dict(mean=[18.0, 28.0, 38.0], std=[16.0, 16.0, 16.0]))
        self.assertEqual(dicts[1]['mean'], [28.0] * 3)
        self.assertAlmostEqual(dicts[1]['std'][0], values.std(), places=3)
        with open(osp.join(self.tmp, 's.json')) as f:
            self.assertEqual(json.load(f)['channel_order'], 'RGB')

    def test_options(self):
        stats, _ = self.run_tool('--bgr')
        np.testing.assert_allclose(stats['mean'], [38, 28, 18])
        with open(osp.join(self.tmp, 'ann.txt'), 'w') as f:
            f.write('b/y.bmp 3\n')
        stats, _ = self.run_tool('--ann-file', osp.join(self.tmp, 'ann.txt'))
        np.testing.assert_allclose(stats['mean'], [50, 60, 70])
        np.testing.assert_allclose(stats['std'], [0, 0, 0], atol=1e-6)
        stats, _ = self.run_tool('--resize', '8')
        self.assertEqual(stats['num_pixels'], 128)
        np.testing.assert_allclose(stats['mean'], [30, 40, 50])
        stats, _ = self.run_tool('--max-images', '1')
        self.assertEqual(stats['num_images'], 1)

    def test_errors(self):
        open(osp.join(self.tmp, 'a', 'broken.png'), 'w').close()
        with self.assertRaisesRegex(ValueError, 'broken.png'):
            self.run_tool()
        with self.assertRaisesRegex(FileNotFoundError, 'nowhere'):
            tool.main(['--data-root', osp.join(self.tmp, 'nowhere')])
        os.makedirs(osp.join(self.tmp, 'void'))
        with self.assertRaisesRegex(ValueError, 'No image'):
            tool.main(['--data-root', osp.join(self.tmp, 'void')])


class TestReferenceStatistics(TestCase):
    """The DL4ALL reference normalises each dataset by one mean/std over
    all channels of its train + val images after ``CenterCrop``: the pooled
    line of ``--ann-file train val --center-crop N``."""

    def test_train_plus_val_center_crop(self):
        import torch
        from torchvision.transforms import functional as TF
        tmp = tempfile.mkdtemp()
        try:
            rng = np.random.default_rng(0)
            imgs = {}
            for name, size in (('t.png', (7, 6)), ('v.png', (6, 8))):
                img = rng.integers(0, 255, size + (3, )).astype(np.uint8)
                cv2.imwrite(osp.join(tmp, name), img)
                imgs[name] = img[..., ::-1]  # RGB
            for split, name in (('train', 't.png'), ('val', 'v.png')):
                with open(osp.join(tmp, f'{split}.txt'), 'w') as f:
                    f.write(f'{name} 0\n')
            with contextlib.redirect_stdout(io.StringIO()):
                stats = tool.main([
                    '--data-root', tmp, '--ann-file',
                    osp.join(tmp, 'train.txt'), osp.join(tmp, 'val.txt'),
                    '--center-crop', '5'])
            crops = [
                TF.center_crop(torch.from_numpy(img.copy()).permute(2, 0, 1),
                               [5, 5]).numpy().astype(np.float64)
                for img in imgs.values()
            ]
            values = np.concatenate([c.ravel() for c in crops])
            self.assertEqual(stats['num_images'], 2)
            self.assertEqual(stats['num_pixels'], 50)
            self.assertAlmostEqual(stats['pooled_mean'], values.mean())
            self.assertAlmostEqual(stats['pooled_std'], values.std())
            with self.assertRaisesRegex(ValueError, 'smaller than'):
                with contextlib.redirect_stdout(io.StringIO()):
                    tool.main(['--data-root', tmp, '--center-crop', '7'])
        finally:
            shutil.rmtree(tmp)
