"""Predict images with a trained classifier; optionally explain them.

Example::

    python tools/infer.py configs/dl4all/CONFIG.py work_dirs/x/epoch_30.pth \\
        data/new_images/ one_more.png --out preds.csv --cam-dir cams/

Writes one CSV row per image: ``path``, ``pred_label``, ``pred_class``,
``pred_score`` (the predicted class's probability), ``prob_<class>`` for
every class of the target head, and ``cam_path`` with ``--cam-dir``.
Folders are searched recursively for images.
"""
import argparse
import sys

from mmengine.config import DictAction


def parse_args(argv=None) -> argparse.Namespace:
    """Command line of ``tools/infer.py``."""
    from dl4all_mm.apis import METHODS
    parser = argparse.ArgumentParser(
        description='Predict images (target head of a DL4ALL model, or a '
        'plain mmpretrain classifier) into a CSV file, with optional '
        'Grad-CAM overlays.')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'inputs', nargs='+', help='image files and/or folders (recursive)')
    parser.add_argument('--out', required=True, help='output CSV file')
    parser.add_argument(
        '--cam-dir',
        help='write a Grad-CAM overlay (PNG) of the predicted class per '
        'image into this folder')
    parser.add_argument(
        '--target-layers',
        nargs='+',
        help='Grad-CAM layers by module name, e.g. backbone.layer4 '
        '(default: chosen automatically: last stage of CNNs, the norm '
        'before the last attention block of ViTs)')
    parser.add_argument(
        '--cam-method',
        default='gradcam',
        choices=sorted(METHODS),
        help='Grad-CAM variant (default: gradcam)')
    parser.add_argument(
        '--device',
        default=None,
        help='device, e.g. cpu or cuda:0 (default: cuda if available)')
    parser.add_argument(
        '--batch-size', type=int, default=8, help='images per forward pass')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='fully unpickle the checkpoint (may run code: only for files '
        'you trust); by default it is loaded weights-only')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def main(argv=None) -> int:
    """Run inference; return the process exit code."""
    args = parse_args(argv)
    from dl4all_mm.apis import DL4ALLInferencer, save_csv
    from dl4all_mm.engine.runners import (register_safe_loader,
                                          trust_checkpoints)
    register_safe_loader()
    if args.trust_checkpoint:
        trust_checkpoints()
    inferencer = DL4ALLInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        trust_checkpoint=args.trust_checkpoint,
        cfg_options=args.cfg_options)
    records = inferencer.infer(
        args.inputs,
        batch_size=args.batch_size,
        cam_dir=args.cam_dir,
        target_layers=args.target_layers,
        cam_method=args.cam_method,
        progress=not args.no_progress)
    save_csv(records, args.out)
    head = f' (head: {inferencer.eval_domain})' \
        if inferencer.eval_domain else ''
    print(f'{len(records)} predictions{head} written to {args.out}')
    if args.cam_dir:
        print(f'Grad-CAM overlays (layers {inferencer.cam_layers}) written '
              f'to {args.cam_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
