"""mmpretrain's ``ImageClassificationInferencer`` (the stock API) on every
shipped config predicts what ``tools/infer.py`` predicts."""
import csv
import importlib.util
import os.path as osp
import tempfile
import unittest

import numpy as np
from mmengine.config import Config
from mmpretrain.apis import ImageClassificationInferencer

from .stock import (DEMO_IMAGES, ROOT, SHIPPED_CONFIGS,
                    cached_package_configs, tiny_checkpoint, tiny_config)

_spec = importlib.util.spec_from_file_location(
    'infer_tool', osp.join(ROOT, 'tools', 'infer.py'))
infer_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(infer_tool)

IMAGES = [DEMO_IMAGES[0], DEMO_IMAGES[-1]]  # two classes, two sizes


def _not_inferable(cfg: Config) -> str:
    """Why the stock inferencer cannot take a config at all ('' if it
    can): it needs a test split and one prediction per image."""
    if not cfg.get('test_dataloader'):
        return 'no test split (source pre-training stage)'
    if cfg.model.type == 'ImageClassifier' and 'task_heads' in cfg.model.head:
        return 'stock ImageClassifier + MultiTaskHead: no single prediction'
    return ''


class TestStockInferencer(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def _compare(self, shipped: str, cfg: Config) -> None:
        config = tiny_config(shipped, self.tmp.name, cfg)
        ckpt = tiny_checkpoint(config, osp.join(self.tmp.name, 'tiny.pth'))
        inferencer = ImageClassificationInferencer(
            model=config, pretrained=ckpt, device='cpu')
        stock = inferencer(IMAGES)
        out = osp.join(self.tmp.name, 'preds.csv')
        code = infer_tool.main([
            config, ckpt, *IMAGES, '--out', out, '--device', 'cpu',
            '--no-progress'
        ])
        self.assertEqual(code, 0)
        with open(out, encoding='utf-8') as f:
            rows = {r['path']: r for r in csv.DictReader(f)}
        for path, pred in zip(IMAGES, stock):
            row = rows[path]
            probs = [float(v) for k, v in row.items() if k.startswith('prob_')]
            self.assertEqual(pred['pred_label'], int(row['pred_label']))
            np.testing.assert_allclose(pred['pred_scores'], probs, atol=2e-6)

    def test_every_shipped_config(self):
        self.assertGreaterEqual(len(SHIPPED_CONFIGS), 10)
        compared = 0
        with cached_package_configs():
            for shipped in SHIPPED_CONFIGS:
                cfg = Config.fromfile(shipped)
                if _not_inferable(cfg):
                    continue
                with self.subTest(config=osp.relpath(shipped, ROOT)):
                    self._compare(shipped, cfg)
                    compared += 1
        self.assertGreaterEqual(compared, 10)

    def test_loader_accepts_a_decoded_image(self):
        """What the inferencer feeds after dropping the file loader."""
        from dl4all_mm.datasets.transforms import LoadImageFromFileRobust
        img = np.zeros((5, 7, 3), np.uint8)
        out = LoadImageFromFileRobust(to_float32=True)(
            dict(img=img, ori_shape=(5, 7)))
        self.assertEqual(out['img'].dtype, np.float32)
        self.assertEqual(out['img_shape'], (5, 7))
        gray = LoadImageFromFileRobust(color_type='grayscale')(dict(img=img))
        self.assertEqual(gray['img'].shape, (5, 7))
        with self.assertRaisesRegex(KeyError, 'img_path.*img'):
            LoadImageFromFileRobust()(dict(foo=1))


if __name__ == '__main__':
    unittest.main()
