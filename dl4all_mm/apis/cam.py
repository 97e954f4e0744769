"""Grad-CAM for the target head of a classifier (``grad-cam`` package).

Follows mmpretrain's ``tools/visualization/vis_cam.py``: the CAM explains
the logits of the head that predicts (the ``eval_domain`` head of a
:class:`DomainImageClassifier`, the head of a plain ``ImageClassifier``) and
ViT-like token outputs are reshaped to feature maps.
"""
import math
from collections import Counter
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.utils.dl_utils import is_norm

try:
    import pytorch_grad_cam as grad_cam
    from pytorch_grad_cam.utils.image import show_cam_on_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
except ImportError:  # pragma: no cover
    grad_cam = None

#: Grad-CAM variants with the standard constructor: name -> class name.
METHODS = {
    'gradcam': 'GradCAM',
    'gradcam++': 'GradCAMPlusPlus',
    'xgradcam': 'XGradCAM',
    'hirescam': 'HiResCAM',
    'layercam': 'LayerCAM',
    'eigencam': 'EigenCAM',
    'eigengradcam': 'EigenGradCAM',
}


def target_head(model: nn.Module) -> nn.Module:
    """The head that predicts untagged images (the target domain's)."""
    head = model.head
    domain = getattr(model, 'eval_domain', None)
    if domain is not None and hasattr(head, 'task_heads'):
        return head.task_heads[domain]
    return head


class TargetHeadLogits(nn.Module):
    """Normalised image batch -> logits of the target head."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.head = target_head(model)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Backbone (and neck) features through the target head."""
        return self.head(self.model.extract_feat(inputs))


def get_layers(model: nn.Module, names: Sequence[str]) -> List[nn.Module]:
    """Modules of ``model`` by their ``named_modules`` names."""
    modules = dict(model.named_modules())
    missing = [name for name in names if name not in modules]
    if missing:
        choices = [n for n in modules if n.startswith(('backbone', 'neck'))]
        raise KeyError(f'No layer named {missing} in the model; choose from '
                       f'(last 40 shown): {choices[-40:]}')
    return [modules[name] for name in names]


def auto_target_layers(model: nn.Module, inputs: torch.Tensor) -> List[str]:
    """Pick a Grad-CAM target layer in the backbone.

    ViT-like backbones (mmpretrain's, with ``num_extra_tokens``): as
    ``vis_cam.py``, the last norm layer before the final attention block
    when a class token predicts, else the last norm layer. Other backbones
    (ResNet, ConvNeXt, EfficientNet, MobileNet, TIMM CNNs...): the module
    finishing last in a probe forward pass with a 4D (N, C, H, W) output of
    more than one pixel, run once, i.e. the output of the last stage.
    """
    backbone = model.backbone
    extra = getattr(backbone, 'num_extra_tokens', None)
    if extra is not None:
        norms = [
            n for n, m in backbone.named_modules(prefix='backbone')
            if is_norm(m)
        ]
        out_type = getattr(backbone, 'out_type', 'avg_featmap')
        if (out_type == 'cls_token' or extra > 0) and len(norms) >= 3:
            return [norms[-3]]
        if norms:
            return [norms[-1]]
    order: List[tuple] = []
    calls: Counter = Counter()

    def record(name: str):

        def hook(module, args, output):
            calls[name] += 1
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                order.append((name, output.shape[-2] * output.shape[-1]))

        return hook

    handles = [
        m.register_forward_hook(record(name))
        for name, m in backbone.named_modules(prefix='backbone')
    ]
    try:
        with torch.no_grad():
            backbone(inputs[:1])
    finally:
        for handle in handles:
            handle.remove()
    once = [(n, area) for n, area in order if calls[n] == 1]
    if not once:
        raise ValueError(f'{type(backbone).__name__} gives no 4D feature '
                         'map to explain; name the target layers '
                         '(--target-layers)')
    spatial = [n for n, area in once if area > 1]
    return [spatial[-1] if spatial else once[-1][0]]


class TargetHeadCAM:
    """Grad-CAM maps of the target head, one per image of a batch.

    Args:
        model (nn.Module): An mmpretrain classifier (``backbone``, ``head``,
            ``extract_feat``), e.g. :class:`DomainImageClassifier`.
        target_layers (list[str], optional): Layer names to explain.
            Defaults to :func:`auto_target_layers` on the first batch.
        method (str): One of :data:`METHODS`. Defaults to ``'gradcam'``.
        eigen_smooth (bool): First principal component smoothing.
    """

    def __init__(self,
                 model: nn.Module,
                 target_layers: Optional[Sequence[str]] = None,
                 method: str = 'gradcam',
                 eigen_smooth: bool = False) -> None:
        if grad_cam is None:  # pragma: no cover
            raise ImportError('Grad-CAM needs `pip install grad-cam`')
        if method.lower() not in METHODS:
            raise ValueError(f'Unknown CAM method {method!r}; choose from '
                             f'{sorted(METHODS)}')
        self.model = model
        self.method = method.lower()
        self.eigen_smooth = eigen_smooth
        self.layer_names = list(target_layers) if target_layers else None
        if self.layer_names:
            get_layers(model, self.layer_names)  # fail early on bad names
        self.net = TargetHeadLogits(model)
        self._cam = None

    def _build(self, inputs: torch.Tensor) -> None:
        if not self.layer_names:
            self.layer_names = auto_target_layers(self.model, inputs)
        layers = get_layers(self.model, self.layer_names)
        cam_class = getattr(grad_cam, METHODS[self.method])
        self._cam = cam_class(
            model=self.net,
            target_layers=layers,
            reshape_transform=self.reshape)

    def reshape(self, tensor: torch.Tensor) -> torch.Tensor:
        """Token outputs (N, L, C) -> (N, C, H, W) without extra tokens."""
        if tensor.dim() == 4:
            return tensor
        if tensor.dim() != 3:
            raise ValueError(f'Cannot explain a layer output of shape '
                             f'{tuple(tensor.shape)} ({self.layer_names})')
        length = tensor.size(1)
        extra = getattr(self.model.backbone, 'num_extra_tokens', None)
        if extra is None:
            extra = length - math.isqrt(length)**2
        side = math.isqrt(length - extra)
        if side * side != length - extra:
            raise ValueError(
                f'{length} tokens minus {extra} extra tokens is not a '
                f'square feature map ({self.layer_names})')
        tensor = tensor[:, extra:, :].reshape(tensor.size(0), side, side, -1)
        return tensor.permute(0, 3, 1, 2)

    def __call__(self, inputs: torch.Tensor,
                 labels: Sequence[int]) -> np.ndarray:
        """CAMs (N, H, W) in [0, 1] of class ``labels[i]`` for image i."""
        if self._cam is None:
            self._build(inputs)
        targets = [ClassifierOutputTarget(int(label)) for label in labels]
        try:
            with torch.enable_grad():
                maps = self._cam(
                    input_tensor=inputs,
                    targets=targets,
                    eigen_smooth=self.eigen_smooth)
        finally:
            self.net.zero_grad(set_to_none=True)
        return maps

    def release(self) -> None:
        """Remove the hooks from the model."""
        if self._cam is not None:
            self._cam.activations_and_grads.release()
            self._cam = None


def cam_overlay(image: torch.Tensor, cam: np.ndarray) -> np.ndarray:
    """Overlay a CAM on a pipeline image (C, H, W, 0-255, BGR as loaded),
    as ``vis_cam.py`` does; returns a BGR uint8 image."""
    img = image.detach().cpu().numpy().transpose(1, 2, 0)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    img = np.clip(img[..., :3].astype(np.float32) / 255, 0, 1)
    height, width = img.shape[:2]
    cam = np.asarray(cam, dtype=np.float32)[:height, :width]
    if cam.shape != (height, width):
        cam = cv2.resize(cam, (width, height))
    return show_cam_on_image(img, np.clip(cam, 0, 1), use_rgb=False)
