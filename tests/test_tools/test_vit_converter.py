"""``tools/model_converters/pytorch_pretrained_vit_to_mmpretrain.py``: a
pytorch_pretrained_vit ``ViT`` (the package of the reference's ViT folders)
converted and loaded into mmpretrain's ``VisionTransformer`` through
``init_cfg`` gives the same class-token features (a small random ViT: no
download)."""
import contextlib
import io
import os.path as osp
import tempfile

import pytest
import torch
from mmpretrain.registry import MODELS

from tests.test_tools.test_make_splits import load_tool

tool = load_tool(
    'tools/model_converters/pytorch_pretrained_vit_to_mmpretrain.py')
ARCH = dict(embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=96)


def test_converted_vit_gives_the_same_features(monkeypatch):
    ppv = pytest.importorskip('pytorch_pretrained_vit')
    # 0.0.7 reads an undefined global when no pretrained name is given
    monkeypatch.setattr(ppv.model, 'resize_positional_embedding', False,
                        raising=False)
    torch.manual_seed(0)
    theirs = ppv.ViT(patches=16, dim=64, ff_dim=96, num_heads=4,
                     num_layers=2, image_size=48, num_classes=10)
    with torch.no_grad():  # non-trivial norms, tokens and biases
        for name, p in theirs.named_parameters():
            if 'norm' in name or p.dim() < 2 or 'token' in name:
                p.normal_(0.1, 0.5)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = osp.join(tmp, 'B_16.pth'), osp.join(tmp, 'mm.pth')
        torch.save(theirs.state_dict(), src)
        with contextlib.redirect_stdout(io.StringIO()):
            tool.main([src, dst])
        ours = MODELS.build(dict(
            type='VisionTransformer', arch=ARCH, img_size=48, patch_size=16,
            drop_rate=0.1, out_type='cls_token',
            init_cfg=dict(type='Pretrained', checkpoint=dst)))
        ours.init_weights()
        converted = torch.load(dst)['state_dict']
    assert set(converted) == set(ours.state_dict())
    theirs.fc = torch.nn.Identity()  # features: norm(x)[:, 0]
    theirs.eval()
    ours.eval()
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[-1], theirs(x), rtol=1e-4,
                                   atol=1e-5)


def test_unknown_key_is_named():
    with pytest.raises(KeyError, match="'transformer.extra'"):
        tool.convert({'transformer.extra': torch.zeros(1)})
    with pytest.raises(KeyError, match='only'):
        tool.convert({'transformer.blocks.0.attn.proj_q.weight':
                      torch.zeros(1)})
