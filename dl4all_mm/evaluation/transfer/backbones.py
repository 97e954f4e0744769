"""The backbones a comparison can use, as config options.

A backbone is a name of :data:`BACKBONE_SPECS` or a config file;
:func:`backbone_options` turns it into the options that replace the method
configs' ResNet-18 (random init) and size the heads.
"""
import os.path as osp
from typing import List, Optional


#: Backbones by name: the model's ``backbone`` (and ``neck``) and the
#: feature channels the heads read. ``efficientnet-lite0`` loads its
#: ImageNet weights offline; the others start from random init unless a
#: checkpoint is given (``pretrained``).
BACKBONE_SPECS = {
    'resnet18': dict(backbone=dict(type='ResNet', depth=18, num_stages=4,
                                   out_indices=(3, ), style='pytorch'),
                     channels=512),
    'resnet50': dict(backbone=dict(type='ResNet', depth=50, num_stages=4,
                                   out_indices=(3, ), style='pytorch'),
                     channels=2048),
    'efficientnet-lite0': dict(backbone=dict(type='EfficientNetLite0'),
                               channels=1280),
    'vit-b16': dict(backbone=dict(type='VisionTransformer', arch='b',
                                  patch_size=16, drop_rate=0.1),
                    channels=768, neck=None),
}


def backbone_spec(name: str, pretrained: Optional[str] = None,
                  img_size: Optional[int] = None) -> dict:
    """The backbone of ``--backbone``: a name of :data:`BACKBONE_SPECS` or
    a config file defining ``backbone`` (a model dict), ``channels`` (the
    heads' input features) and optionally ``neck``.

    Args:
        pretrained (str, optional): A checkpoint path whose backbone
            weights carry the ``backbone.`` prefix (any mmpretrain
            classifier checkpoint), ``'none'`` for random init, None for the
            default (EfficientNet-Lite0's ImageNet weights, else random).
        img_size (int, optional): Input size (ViT's position embedding).
    """
    if name in BACKBONE_SPECS:
        spec = dict(BACKBONE_SPECS[name], name=name)
        spec['backbone'] = dict(spec['backbone'])
    elif name.endswith('.py'):
        from mmengine.config import Config
        cfg = Config.fromfile(name)
        if 'backbone' not in cfg or 'channels' not in cfg:
            raise ValueError(f'--backbone {name}: the file must define '
                             '`backbone` (a model dict) and `channels`')
        spec = dict(name=name, backbone=dict(cfg.backbone),
                    channels=int(cfg.channels))
        if 'neck' in cfg:
            spec['neck'] = cfg.neck
    else:
        raise ValueError(f'--backbone {name!r}: expected one of '
                         f'{sorted(BACKBONE_SPECS)} or a config file')
    if pretrained not in (None, 'none') and not osp.isfile(pretrained):
        raise ValueError(f'--pretrained {pretrained}: no such checkpoint')
    if spec['backbone']['type'] == 'EfficientNetLite0':
        spec['backbone']['pretrained_imagenet'] = pretrained is None
    if spec['backbone']['type'] == 'VisionTransformer' and img_size:
        spec['backbone']['img_size'] = img_size
    spec['pretrained'] = pretrained
    return spec


def backbone_options(backbone, head_keys: List[str], norm_keys: List[str],
              init_checkpoint: Optional[str] = None) -> dict:
    """Options swapping the configs' ResNet-18 (random init) for
    ``backbone`` (a name or a :func:`backbone_spec`); ``init_checkpoint``
    (sequential stage 2) loads a previous stage's backbone."""
    spec = backbone_spec(backbone) if isinstance(backbone, str) else backbone
    pretrained = spec.get('pretrained')
    checkpoint = init_checkpoint or (
        pretrained if pretrained not in (None, 'none') else None)
    if spec['name'] == 'resnet18':  # the configs' own backbone
        if init_checkpoint is not None:  # the stage-2 config's init_cfg
            return {'model.backbone.init_cfg.checkpoint': init_checkpoint}
        if checkpoint is None:
            return {}
        return {'model.backbone.init_cfg': dict(
            type='Pretrained', prefix='backbone.', checkpoint=checkpoint)}
    model = dict(spec['backbone'], _delete_=True)
    if checkpoint is not None:
        model['init_cfg'] = dict(type='Pretrained', prefix='backbone.',
                                 checkpoint=checkpoint)
        if model['type'] == 'EfficientNetLite0':
            model['pretrained_imagenet'] = False
    opts = {'model.backbone': model}
    if 'neck' in spec:
        opts['model.neck'] = spec['neck']
    opts.update({k: spec['channels'] for k in head_keys})
    if model['type'] in ('EfficientNetLite0', 'VisionTransformer'):
        for key in norm_keys:  # their ImageNet weights: mean = std = 127.5
            opts[f'{key}.mean'] = [127.5] * 3
            opts[f'{key}.std'] = [127.5] * 3
    return opts


def is_pretrained(spec: dict) -> bool:
    """Whether the backbone of ``spec`` (:func:`backbone_spec`) starts from
    trained weights: a ``--pretrained`` checkpoint or EfficientNet-Lite0's
    offline ImageNet weights."""
    return spec.get('pretrained') not in (None, 'none') or bool(
        spec['backbone'].get('pretrained_imagenet'))
