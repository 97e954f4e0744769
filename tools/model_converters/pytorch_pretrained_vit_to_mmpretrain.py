"""Convert a ``pytorch_pretrained_vit`` checkpoint (the package the DL4ALL
reference's ViT folders load: ``ViT('B_16_imagenet1k', pretrained=True)``,
``B_16_imagenet1k.pth``) to mmpretrain ``VisionTransformer`` backbone keys.

The attention's separate ``proj_q``/``proj_k``/``proj_v`` become one
``qkv`` (rows q, k, v; heads in the same order), the blocks' ``norm1``/
``norm2``/``pwff`` become ``ln1``/``ln2``/``ffn``, the final ``norm``
becomes ``ln1``; the ImageNet classifier (``fc``, ``pre_logits``) is
dropped. The output loads with
``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (no prefix) on a
``VisionTransformer(arch='b', img_size=384, patch_size=16)`` backbone.

Example::

    python tools/model_converters/pytorch_pretrained_vit_to_mmpretrain.py \\
        checkpoints/B_16_imagenet1k.pth \\
        checkpoints/B_16_imagenet1k_mmpretrain.pth
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import torch

_RENAMES = (
    (r'^patch_embedding\.', 'patch_embed.projection.'),
    (r'^positional_embedding\.pos_embedding$', 'pos_embed'),
    (r'^class_token$', 'cls_token'),
    (r'^norm\.', 'ln1.'),
    (r'^transformer\.blocks\.(\d+)\.proj\.', r'layers.\1.attn.proj.'),
    (r'^transformer\.blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^transformer\.blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^transformer\.blocks\.(\d+)\.pwff\.fc1\.',
     r'layers.\1.ffn.layers.0.0.'),
    (r'^transformer\.blocks\.(\d+)\.pwff\.fc2\.', r'layers.\1.ffn.layers.1.'),
)
_QKV = re.compile(r'^transformer\.blocks\.(\d+)\.attn\.proj_([qkv])\.'
                  r'(weight|bias)$')
_DROPPED = re.compile(r'^(fc|pre_logits)\.')


def convert(state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict':
    """mmpretrain ``VisionTransformer`` keys of a pytorch_pretrained_vit
    ``ViT`` state dict.

    Raises:
        KeyError: On a key this converter does not know, or a block
            missing one of its q/k/v projections.
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    qkv: Dict[tuple, Dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        if _DROPPED.match(key):
            continue
        match = _QKV.match(key)
        if match:
            block, part, kind = match.groups()
            qkv.setdefault((int(block), kind), {})[part] = value
            continue
        for pattern, repl in _RENAMES:
            new, n = re.subn(pattern, repl, key)
            if n:
                out[new] = value
                break
        else:
            raise KeyError(f'pytorch_pretrained_vit key {key!r} is unknown '
                           'to this converter')
    for (block, kind), parts in sorted(qkv.items()):
        if set(parts) != {'q', 'k', 'v'}:
            raise KeyError(f'block {block}: attention {kind} has only '
                           f'{sorted(parts)} of q, k, v')
        out[f'layers.{block}.attn.qkv.{kind}'] = torch.cat(
            [parts['q'], parts['k'], parts['v']], dim=0)
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Read SRC, write DST as ``{'state_dict': ...}``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='pytorch_pretrained_vit .pth file')
    parser.add_argument('dst', help='mmpretrain backbone checkpoint to write')
    args = parser.parse_args(argv)
    state = torch.load(args.src, map_location='cpu')
    state = state.get('state_dict', state)
    converted = convert(state)
    torch.save(dict(state_dict=converted), args.dst)
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
