from unittest import TestCase

import torch
from mmpretrain.registry import MODELS

import dl4all_mm  # noqa: F401
from dl4all_mm.models.backbones.efficientnet_lite0 import (
    lite0_weights_path, map_lite0_state_dict)


class TestEfficientNetLite0(TestCase):

    def test_loads_the_packaged_imagenet_weights(self):
        source = torch.load(lite0_weights_path(), weights_only=True)
        model = MODELS.build(dict(type='EfficientNetLite0'))
        state = model.timm_model.state_dict()
        # Every tensor of the file (but the classifier) lands in the model.
        self.assertEqual(len(source) - 2, len(state))
        torch.testing.assert_close(state['conv_stem.weight'],
                                   source['_conv_stem.weight'])
        torch.testing.assert_close(state['conv_head.weight'],
                                   source['_conv_head.weight'])
        model.eval()
        out = model(torch.zeros(1, 3, 64, 64))
        self.assertEqual(out[0].shape, (1, 1280, 2, 2))

    def test_random_init_differs(self):
        model = MODELS.build(
            dict(type='EfficientNetLite0', pretrained_imagenet=False))
        source = torch.load(lite0_weights_path(), weights_only=True)
        self.assertFalse(
            torch.equal(model.timm_model.state_dict()['conv_stem.weight'],
                        source['_conv_stem.weight']))

    def test_shape_mismatch_is_reported(self):
        target = {'conv.weight': torch.zeros(2, 2)}
        with self.assertRaisesRegex(ValueError, 'Shape mismatch'):
            map_lite0_state_dict({'_conv.weight': torch.zeros(3, 2)}, target)
