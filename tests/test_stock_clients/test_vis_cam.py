"""mmpretrain's ``tools/visualization/vis_cam.py`` on the demo config, and
the ``mode='tensor'`` output it relies on."""
import os.path as osp
import tempfile
import unittest

import cv2
import torch

from tests.conftest import tiny_resnet
from .stock import (DEMO_CONFIG, DEMO_IMAGES, run_stock_tool,
                    tiny_checkpoint, tiny_config)


class TestStockVisCam(unittest.TestCase):

    def test_writes_a_cam_image(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = tiny_config(DEMO_CONFIG, tmp)
            ckpt = tiny_checkpoint(config, osp.join(tmp, 'tiny.pth'))
            out = osp.join(tmp, 'cam.png')
            proc = run_stock_tool('visualization/vis_cam.py', [
                DEMO_IMAGES[0], config, ckpt, '--device', 'cpu',
                '--save-path', out
            ])
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
            img = cv2.imread(out)
            self.assertIsNotNone(img, proc.stdout[-2000:])
            self.assertGreater(img.std(), 5)  # an overlay, not a blank


class TestTensorOutput(unittest.TestCase):
    """``DomainImageClassifier(mode='tensor')``: one tensor by default."""

    def _model(self, **kwargs):
        from mmpretrain.registry import MODELS
        import dl4all_mm  # noqa: F401
        head = dict(type='LinearClsHead', in_channels=64)
        return MODELS.build(
            dict(
                type='DomainImageClassifier',
                backbone=tiny_resnet(),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='DomainMultiTaskHead',
                    task_heads=dict(
                        source=dict(head, num_classes=3),
                        target=dict(head, num_classes=2))),
                **kwargs)).eval()

    def test_eval_head_all_heads_and_features(self):
        x = torch.rand(2, 3, 32, 32)
        model = self._model()
        with torch.no_grad():
            logits = model(x)
            feats = model.extract_feat(x)
            self.assertIsInstance(logits, torch.Tensor)
            torch.testing.assert_close(
                logits, model.head.task_heads['target'](feats))
            model.tensor_output = 'all'
            heads = model(x, mode='tensor')
            self.assertEqual(set(heads), {'source', 'target'})
            self.assertEqual(tuple(heads['source'].shape), (2, 3))
            torch.testing.assert_close(heads['target'], logits)
            model.tensor_output = 'feats'
            torch.testing.assert_close(model(x)[0], feats[0])
        source = self._model(eval_domain='source')
        self.assertEqual(tuple(source(x).shape), (2, 3))
        with self.assertRaisesRegex(ValueError, "tensor_output='both'"):
            self._model(tensor_output='both')


if __name__ == '__main__':
    unittest.main()
