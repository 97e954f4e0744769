"""Tests of the Grad-CAM helpers of :mod:`dl4all_mm.apis.cam`."""
import tempfile
import unittest

import cv2
import numpy as np
import torch
from mmpretrain.registry import MODELS

from dl4all_mm.apis import (TargetHeadCAM, TargetHeadLogits,
                            auto_target_layers, cam_overlay)
from tests.conftest import tiny_resnet
from .tiny_fixtures import DOMAIN_CONFIG, build_model, write_config


def plain_model(backbone: dict, channels: int, neck: bool = True):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling') if neck else None,
            head=dict(
                type='LinearClsHead', num_classes=2,
                in_channels=channels))).eval()


class TestTargetHeadCAM(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with tempfile.TemporaryDirectory() as tmp:
            cls.model = build_model(write_config(tmp, DOMAIN_CONFIG))
        torch.manual_seed(1)
        cls.inputs = torch.randn(3, 3, 96, 96)

    def test_logits_are_the_target_head(self):
        logits = TargetHeadLogits(self.model)(self.inputs)
        self.assertEqual(logits.shape, (3, 2))  # target: 2, source: 3
        with torch.no_grad():
            preds = self.model(self.inputs, mode='predict')
        scores = torch.stack([p.pred_score for p in preds])
        torch.testing.assert_close(logits.softmax(-1), scores)

    def test_gradcam_equals_class_activation_map(self):
        # With global average pooling and a linear head, Grad-CAM on the
        # last stage is the CAM of Zhou et al.: relu(sum_k w_ck A_k).
        labels = [0, 1, 1]
        cam = TargetHeadCAM(self.model, ['backbone.layer4'])
        maps = cam(self.inputs, labels)
        cam.release()
        self.assertEqual(maps.shape, (3, 96, 96))
        with torch.no_grad():
            feats = self.model.backbone(self.inputs)[-1].numpy()
        weight = self.model.head.task_heads['target'].fc.weight.detach()
        for i, label in enumerate(labels):
            ref = np.maximum(
                np.tensordot(weight[label].numpy(), feats[i], axes=1), 0)
            ref = cv2.resize(ref.astype(np.float32), (96, 96))
            ref = (ref - ref.min()) / (ref.max() - ref.min() + 1e-12)
            np.testing.assert_allclose(maps[i], ref, atol=1e-3)
        self.assertFalse(np.allclose(maps[0], maps[1]))

    def test_hooks_released_and_grads_cleared(self):
        cam = TargetHeadCAM(self.model)
        cam(self.inputs[:1], [1])
        self.assertEqual(cam.layer_names, ['backbone.layer4'])
        layer = self.model.backbone.layer4
        self.assertTrue(layer._forward_hooks)
        cam.release()
        self.assertFalse(layer._forward_hooks)
        self.assertTrue(all(p.grad is None for p in self.model.parameters()))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(KeyError, 'backbone.layer9'):
            TargetHeadCAM(self.model, ['backbone.layer9'])
        with self.assertRaisesRegex(ValueError, 'gradcam'):
            TargetHeadCAM(self.model, method='magic')


class TestAutoTargetLayers(unittest.TestCase):
    """The automatic layer is the last stage (CNNs) or the norm before the
    last attention block (ViT), and CAMs come out at input size."""

    CASES = [
        ('resnet',
         tiny_resnet(), 64, True, 64, 'backbone.layer4'),
        ('resnet-32px',
         tiny_resnet(), 64, True, 32,
         'backbone.layer3'),  # layer4 is 1x1 there: nothing to localise
        ('convnext',
         dict(
             type='ConvNeXt',
             arch=dict(depths=[1, 1, 1, 1],
                       channels=[8, 16, 32,
                                 64])), 64, False, 64, 'backbone.stages.3'),
        ('mobilenet-v2', dict(type='MobileNetV2', widen_factor=0.25), 1280,
         True, 64, 'backbone.conv2'),
        ('mobilenet-v3', dict(type='MobileNetV3', arch='small'), 576, True, 64,
         'backbone.layer12'),
        ('efficientnet', dict(type='EfficientNet',
                              arch='b0'), 1280, True, 64, 'backbone.layers.6'),
        ('vit',
         dict(
             type='VisionTransformer',
             img_size=32,
             patch_size=8,
             arch=dict(
                 embed_dims=32,
                 num_layers=2,
                 num_heads=2,
                 feedforward_channels=64)), 32, False, 32,
         'backbone.layers.1.ln1'),
    ]

    def test_backbones(self):
        for name, backbone, channels, neck, size, layer in self.CASES:
            with self.subTest(name):
                model = plain_model(backbone, channels, neck)
                inputs = torch.randn(2, 3, size, size)
                self.assertEqual(auto_target_layers(model, inputs), [layer])
                cam = TargetHeadCAM(model)
                maps = cam(inputs, [0, 1])
                cam.release()
                self.assertEqual(maps.shape, (2, size, size))
                self.assertTrue(np.isfinite(maps).all())
                self.assertGreaterEqual(maps.min(), 0)
                self.assertLessEqual(maps.max(), 1 + 1e-6)


class TestOverlay(unittest.TestCase):

    def test_overlay_follows_the_map(self):
        image = torch.full((3, 20, 30), 128, dtype=torch.uint8)
        cam = np.zeros((24, 32), np.float32)  # padded batch: cropped
        cam[:, :15] = 1
        out = cam_overlay(image, cam)
        self.assertEqual(out.shape, (20, 30, 3))
        self.assertEqual(out.dtype, np.uint8)
        hot, cold = out[10, 5], out[10, 25]
        self.assertGreater(int(hot[2]), int(cold[2]))  # red where cam = 1
        self.assertGreater(int(cold[0]), int(hot[0]))  # blue where cam = 0
        gray = cam_overlay(
            torch.zeros((1, 8, 8), dtype=torch.uint8),
            np.ones((4, 4), np.float32))
        self.assertEqual(gray.shape, (8, 8, 3))


if __name__ == '__main__':
    unittest.main()
