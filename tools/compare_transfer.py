"""Does DL4ALL beat ordinary transfer learning on my data, and at how many
target labels?

Trains every method (target-only fine-tuning, sequential transfer, stock
mixed multi-task, DL4ALL joint and Greedy) with the same backbone, init,
input size, augmentation, optimizer, steps and model selection (best
validation balanced accuracy) on nested target training subsets of each
size, for each seed, and reports test balanced accuracy with paired tests::

    python tools/compare_transfer.py --source SRC --target TGT \\
        --class-map 'Benign=normal;Early,Pre,Pro=ALL' \\
        --target-sizes 24,48,96,all --work-dir work_dirs/compare

``SRC``/``TGT`` are folders with one sub-folder per class or annotation
files (``relative/path label`` lines, paths relative to ``--*-root``).
Without ``--target-test`` the target is split group-wise (``--group-regex``)
into train/val/test. Writes ``results.json``, ``results.md``,
``learning_curve.png`` and every run's work dir under ``--work-dir``;
re-running the same command skips finished runs. See README.md, "Does
DL4ALL beat transfer learning on my data?".
"""
import argparse
import shlex
import sys
from typing import List, Optional

from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.compare import (CompareOptions,
                                                   run_comparison)
from dl4all_mm.evaluation.transfer.executor import share_cores
from dl4all_mm.evaluation.transfer.image_set import InputError
from dl4all_mm.evaluation.transfer.task import TaskInputs, parse_sizes

DEFAULT_METHODS = 'target-only,sequential,mixed,dl4all-joint,dl4all-greedy'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    methods = '\n'.join(f'  {k:<24} {v[1]}' for k, v in tm.METHODS.items())
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f'methods:\n{methods}')
    p.add_argument('--source', required=True, help='source folder or '
                   'annotation file')
    p.add_argument('--target', required=True, help='target folder or '
                   'annotation file')
    p.add_argument('--target-test', help='a separate target test set')
    p.add_argument('--source-root', help='image folder of --source (ann)')
    p.add_argument('--target-root', help='image folder of --target (ann)')
    p.add_argument('--target-test-root', help='image folder of '
                   '--target-test (ann)')
    p.add_argument('--class-map', help="merge/rename target classes, e.g. "
                   "'Benign=normal;Early,Pre,Pro=ALL' (train and test)")
    p.add_argument('--group-regex', help='patient/slide id of a target '
                   'image: group 1 (else the match) of this regex in '
                   '"folder/file name"; whole groups per split')
    p.add_argument('--source-labels', default='folders',
                   help='"folders" or "self:REGEX" (DL4ALL Self labels: '
                   'group 1 of REGEX in the file name)')
    p.add_argument('--source-limit', type=int, help='use a stratified '
                   'subset of this many source images (budget)')
    p.add_argument('--split', default='60,20,20', help='target train/val/'
                   'test percentages (train/val only with --target-test)')
    p.add_argument('--backbone', default='efficientnet-lite0',
                   help=f'one of {sorted(tm.BACKBONE_SPECS)} or a config '
                   'file defining `backbone` and `channels`')
    p.add_argument('--pretrained', help='backbone checkpoint (mmpretrain, '
                   '"backbone." prefix) or "none" (random init); default: '
                   "EfficientNet-Lite0's offline ImageNet weights, others "
                   'random')
    p.add_argument('--img-size', type=int, default=96)
    p.add_argument('--target-sizes', default='24,48,96,all')
    p.add_argument('--methods', default=DEFAULT_METHODS)
    p.add_argument('--seeds', default='0,1,2')
    p.add_argument('--iters', type=int, default=300,
                   help='optimizer steps of 32 images per run')
    p.add_argument('--lr-search', help='candidate learning rates, e.g. '
                   '0.003,0.01,0.03: each method picks its best on the '
                   'validation split (first seed, largest size) first')
    p.add_argument('--recipe', nargs='+', default=[], metavar='KEY=VALUE',
                   help='recipe knobs of every method, e.g. lr=0.01 '
                   'warmup=0 batch=8,24')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    # launcher options (--launcher local|slurm, --jobs, Slurm resources)
    from dl4all_mm.evaluation.launchers.cli import add_launcher_args
    add_launcher_args(p)
    p.add_argument('--run-timeout', type=float, help='seconds per run')
    p.add_argument('--dry-run', action='store_true', help='check the data '
                   'and list the runs; train nothing')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--overwrite', action='store_true', help='replace a '
                   'work folder that holds another task (other inputs, '
                   'options or split); its finished runs train again')
    p.add_argument('--allow-source-overlap', choices=('drop',),
                   help='"drop": leave out the source images whose content '
                   'is also a target validation/test image (default: '
                   'refuse, naming them)')
    return p.parse_args(argv)


def _recipe(items: List[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition('=')
        try:
            parts = [float(v) for v in value.split(',')]
        except ValueError:
            parts = None
        if not sep or not parts:
            raise InputError(f'--recipe {item!r} is not KEY=NUMBER[,NUMBER]')
        out[key] = tuple(parts) if len(parts) > 1 else parts[0]
    tm.recipe_of('target-only', out)  # unknown keys fail here
    return out


def _numbers(text: str, what: str, kind=int) -> list:
    try:
        return [kind(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise InputError(f'{what} {text!r}: expected comma-separated '
                         'numbers') from None


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    try:
        split = _numbers(args.split, '--split', float)
        inputs = TaskInputs(
            source=args.source, target=args.target,
            target_test=args.target_test, source_root=args.source_root,
            target_root=args.target_root,
            target_test_root=args.target_test_root,
            class_map=args.class_map, group_regex=args.group_regex,
            source_labels=args.source_labels,
            sizes=parse_sizes(args.target_sizes),
            split=[v / sum(split) for v in split] if split else split,
            source_limit=args.source_limit, img_size=args.img_size,
            source_overlap=args.allow_source_overlap or 'refuse')
        opts = CompareOptions(
            methods=args.methods.split(','),
            seeds=_numbers(args.seeds, '--seeds'), iters=args.iters,
            backbone=args.backbone, pretrained=args.pretrained,
            device=args.device, jobs=args.jobs,
            recipe=_recipe(args.recipe),
            lr_search=_numbers(args.lr_search or '', '--lr-search', float),
            run_timeout=args.run_timeout, progress=not args.no_progress,
            overwrite=args.overwrite,
            command='python tools/compare_transfer.py ' + shlex.join(argv))
        # launcher: bad options exit 2 (LaunchError is a ValueError)
        from dl4all_mm.evaluation.launchers.cli import build_launcher
        opts.launcher = build_launcher(args, args.run_timeout,
                                       not args.no_progress)
        # end launcher
        if args.device == 'cuda':
            import torch
            if not torch.cuda.is_available():
                raise InputError('--device cuda but torch sees no GPU')
        if args.launcher == 'local':
            share_cores(opts.jobs)
        return run_comparison(inputs, opts, args.work_dir, args.dry_run)
    except (InputError, ValueError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
