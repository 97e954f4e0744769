"""Every shipped training config gives its parameters the learning rates
it states: the backbone (and neck) the base lr, the heads x5 (issue 11
item 9: a bare ``'head'`` key also matched timm EfficientNet's backbone
``conv_head``)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import dl4all_mm  # noqa: F401  (registers the components)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'dl4all', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'baselines', '*.py')))
HEAD_LR_MULT = 5.0


def build_model(cfg: Config):
    backbone = cfg.model.backbone
    backbone.pop('init_cfg', None)  # no checkpoint files in tests
    if 'pretrained_imagenet' in backbone:
        backbone.pretrained_imagenet = False
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_heads_x5_backbone_base_lr(path):
    cfg = Config.fromfile(path)
    model = build_model(cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lr_of[id(p)] = group['lr']
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any(n.startswith('backbone.') for n in names)
    heads = [n for n in names if n.startswith('head.')]
    assert heads, 'no head parameters'
    wrong = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        want = base_lr * (HEAD_LR_MULT if name.startswith('head.') else 1)
        if lr_of[id(p)] != pytest.approx(want):
            wrong[name] = (lr_of[id(p)], want)
    assert not wrong, f'(lr, expected) of {len(wrong)} parameters: ' + \
        repr(dict(list(wrong.items())[:8]))


def test_efficientnet_conv_head_is_backbone():
    """The parameter that a bare 'head' key caught: timm's conv_head."""
    path = osp.join(REPO, 'configs', 'dl4all',
                    'dl4all-self_efficientnet-lite0_in1k-pre_adp2cnmc.py')
    cfg = Config.fromfile(path)
    model = build_model(cfg)
    conv_head = [n for n, _ in model.named_parameters() if 'conv_head' in n]
    assert conv_head and all(n.startswith('backbone.') for n in conv_head)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    params = dict(model.named_parameters())
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            if any(p is params[n] for n in conv_head):
                assert group['lr'] == pytest.approx(
                    cfg.optim_wrapper.optimizer.lr)
