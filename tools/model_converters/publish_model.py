"""Prepare a checkpoint for publishing, like mmpretrain's own tool.

Same command line and output as mmpretrain's
``tools/model_converters/publish_model.py`` (drops the optimizer, schedulers
and message hub, keeps ``meta`` with ``dataset_meta``, names the file
``OUT_<date>-<sha256[:8]>.pth``), but reads the checkpoint with dl4all_mm's
safe loader: mmpretrain's calls ``torch.load`` without ``weights_only``,
which torch >= 2.6 refuses for mmengine checkpoints. The published file
holds only tensors and plain containers, so it loads with
``torch.load(weights_only=True)`` anywhere.

Example::

    python tools/model_converters/publish_model.py \\
        work_dirs/demo/best_diagnostic_balanced_accuracy_epoch_30.pth \\
        work_dirs/demo/dl4all_resnet18_demo.pth
"""
import argparse
import datetime
import hashlib
import os
import os.path as osp
import sys
import warnings
from collections import OrderedDict
from typing import List, Optional

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
from dl4all_mm.engine.runners import load_checkpoint_file  # noqa: E402

#: Training state that a published checkpoint does not need.
DROPPED_KEYS = ('optimizer', 'param_schedulers', 'hook_msgs', 'message_hub')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command line of ``publish_model.py``."""
    parser = argparse.ArgumentParser(
        description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename')
    parser.add_argument(
        '--no-ema',
        action='store_true',
        help='Use keys in `ema_state_dict` (no-ema keys).')
    parser.add_argument(
        '--dataset-type',
        type=str,
        help='dataset class whose METAINFO fills meta.dataset_meta when the '
        'checkpoint has none (e.g. "ImageNet")')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='fully unpickle the input checkpoint (may run code: only for '
        'files you trust); by default it is loaded weights-only')
    return parser.parse_args(argv)


def process_checkpoint(in_file: str,
                       out_file: str,
                       no_ema: bool = False,
                       dataset_type: Optional[str] = None,
                       trust: bool = False) -> str:
    """Write the published checkpoint; return its path."""
    import mmpretrain
    checkpoint = load_checkpoint_file(
        in_file, map_location='cpu', trusted=trust or None)
    for key in DROPPED_KEYS:
        checkpoint.pop(key, None)
    if 'state_dict' not in checkpoint:  # converted from another repository
        checkpoint = dict(state_dict=checkpoint)
    meta = dict(checkpoint.get('meta') or {})
    meta.setdefault('mmpretrain_version', mmpretrain.__version__)
    if not meta.get('dataset_meta') and dataset_type is not None:
        from mmpretrain.registry import DATASETS
        meta['dataset_meta'] = dict(
            getattr(DATASETS.get(dataset_type), 'METAINFO', {}))
    meta.setdefault('dataset_meta', {})
    if not meta['dataset_meta']:
        warnings.warn(f'{in_file}: missing dataset meta information '
                      '(class names); pass --dataset-type')
    checkpoint['meta'] = meta

    if 'ema_state_dict' in checkpoint:
        ema = OrderedDict()
        for key, value in checkpoint.pop('ema_state_dict').items():
            if key.startswith('module.'):
                ema[key[len('module.'):]] = value
        unknown = sorted(set(ema) - set(checkpoint['state_dict']))
        if unknown:
            raise KeyError(f'{in_file}: ema_state_dict keys not in '
                           f'state_dict: {unknown[:5]}')
        if no_ema:
            print('The input checkpoint has EMA weights, and drop the EMA '
                  'weights.')
            checkpoint['state_dict'].update(ema)
        else:
            print('The input checkpoint has EMA weights, and use the EMA '
                  'weights.')

    out_dir = osp.dirname(osp.abspath(out_file))
    temp = osp.join(out_dir, 'temp_' + osp.basename(out_file))
    torch.save(checkpoint, temp)
    with open(temp, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()[:8]
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    date = datetime.datetime.now().strftime('%Y%m%d')
    final = f'{stem}_{date}-{sha}.pth'
    os.replace(temp, final)
    return final


def main(argv: Optional[List[str]] = None) -> int:
    """Publish ``in_file``; return the exit code."""
    args = parse_args(argv)
    out_dir = osp.dirname(osp.abspath(args.out_file))
    if not osp.isdir(out_dir):
        raise ValueError(f'Directory {out_dir} does not exist, please '
                         'generate it manually.')
    final = process_checkpoint(args.in_file, args.out_file, args.no_ema,
                               args.dataset_type, args.trust_checkpoint)
    print(f'Successfully generated the publish-ckpt as {final}.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
