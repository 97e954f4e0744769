"""Does DL4ALL beat ordinary transfer learning on my data, and at how many
target labels?

Trains every method (linear probe, target-only fine-tuning, LP-FT,
sequential transfer, stock mixed multi-task, DL4ALL joint and Greedy) with
the same backbone, init, input size, augmentation, optimizer, steps and
validation schedule on nested target training subsets of each size, for
each label draw (each draw its own subsets of the training pool, the same
for every method) and repeat, and reports test balanced accuracy with paired
tests::

    python tools/compare_transfer.py --source SRC --target TGT \\
        --class-map 'Benign=normal;Early,Pre,Pro=ALL' \\
        --target-sizes 24,48,96,all --draws 5 --work-dir work_dirs/compare

``--selection last`` (default) tests each run's last checkpoint and uses
no validation image; ``budget-val`` selects on a quarter of the n labels
held out of training; ``extra-val`` on the validation split (n + its size
labels used). ``SRC``/``TGT`` are folders with one sub-folder per class or
annotation files (``relative/path label`` lines, paths relative to
``--*-root``). Without ``--target-test`` the target is split group-wise
(``--group-regex``) into train/val/test (seed 0, whatever the draws).
Writes ``results.json``, ``results.md``, ``learning_curve.png`` and every
run's work dir under ``--work-dir``; re-running the same command skips
finished runs. See README.md, "Does DL4ALL beat transfer learning on my
data?".
"""
import argparse
import shlex
import sys
from typing import List, Optional

from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.compare import (CompareOptions,
                                                   run_comparison)
from dl4all_mm.evaluation.transfer.cli_values import (
    check_values, parse_numbers, parse_recipe, parse_sizes, parse_split)
from dl4all_mm.evaluation.transfer.data_options import check_norm
from dl4all_mm.evaluation.transfer.draws import parse_draws
from dl4all_mm.evaluation.transfer.image_set import InputError
from dl4all_mm.evaluation.transfer.recipes import check_class_weights
from dl4all_mm.evaluation.transfer.task import TaskInputs

DEFAULT_METHODS = ('linear-probe,target-only,lp-ft,sequential,mixed,'
                   'dl4all-joint,dl4all-greedy')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    methods = '\n'.join(f'  {k:<24} {v[1]}' for k, v in tm.METHODS.items())
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f'methods:\n{methods}')
    p.add_argument('--source', required=True, help='source images: a '
                   'folder with one sub-folder per class, or an annotation '
                   'file of "relative/path label" lines, e.g. '
                   '--source /data/lab_A')
    p.add_argument('--target', required=True, help='target images, same '
                   'forms, e.g. --target "/data/My Lab/labelled"')
    p.add_argument('--target-test', help='a separate target test set (then '
                   'the target is split into train/val only), e.g. '
                   '--target-test /data/lab_B_test')
    p.add_argument('--source-root', help='folder the paths of a --source '
                   'annotation file are relative to (default: its folder), '
                   'e.g. --source-root /data/lab_A/images')
    p.add_argument('--target-root', help='the same for --target, e.g. '
                   '--target-root /data/lab_B/images')
    p.add_argument('--target-test-root', help='the same for --target-test, '
                   'e.g. --target-test-root /data/lab_B_test/images')
    p.add_argument('--class-map', help='merge/rename target classes (train '
                   "and test), NEW classes in this order, e.g. "
                   "'Benign=normal;Early,Pre,Pro=ALL' or 'x=A,y=A,z=B'")
    p.add_argument('--group-regex', help='patient/slide id of a target '
                   'image: group 1 (else the match) of this regex searched '
                   'in "class folder/file name"; whole groups go to one '
                   r"split, e.g. --group-regex '/(P\d+)_'")
    p.add_argument('--source-labels', default='folders',
                   help='"folders" (default) or "self:REGEX" (DL4ALL Self '
                   'labels: group 1 of REGEX in the file name), e.g. '
                   r"--source-labels 'self:^(\w+)_'")
    p.add_argument('--source-limit', type=int, help='use a stratified '
                   'subset of this many source images (a budget), e.g. '
                   '--source-limit 2400')
    p.add_argument('--split', default='60,20,20', help='target train,val,'
                   'test percentages adding up to 100 (train,val with '
                   '--target-test), default 60,20,20, e.g. --split 70,15,15')
    p.add_argument('--backbone', default='efficientnet-lite0',
                   help=f'one of {sorted(tm.BACKBONE_SPECS)} or a config '
                   'file defining `backbone` and `channels`, e.g. '
                   '--backbone resnet18')
    p.add_argument('--pretrained', help='backbone checkpoint (mmpretrain, '
                   '"backbone." prefix) or "none" (random init); default: '
                   "EfficientNet-Lite0's offline ImageNet weights, others "
                   'random, e.g. --pretrained none')
    p.add_argument('--img-size', type=int, default=96, help='square input '
                   'size in pixels, 16 to 1024 (default 96), e.g. '
                   '--img-size 128')
    p.add_argument('--allow-large-images', action='store_true',
                   help='allow --img-size up to 4096 (slow, much memory)')
    p.add_argument('--target-sizes', default='24,48,96,all', help='nested '
                   'target training subset sizes (images; "all" = the whole '
                   'training split), default 24,48,96,all, e.g. '
                   '--target-sizes 24,240')
    p.add_argument('--methods', default=DEFAULT_METHODS, help='comma-'
                   'separated methods (listed below), default all but '
                   'dl4all-greedy-samebatch, '
                   'e.g. --methods target-only,dl4all-joint')
    p.add_argument('--draws', default='5', help='label draws: draw d '
                   'trains every method on its own stratified subsets of '
                   'the target training pool (nested across sizes), '
                   'default 5; one count, or one per target size, e.g. '
                   '--draws 10 or --draws 10,10,5,5')
    p.add_argument('--seeds', default='0', help='repeats of every run '
                   '(distinct numbers below 1000 each; run seed = 1000 * '
                   'repeat + draw), default 0 (one run per method, size '
                   'and draw), e.g. --seeds 0,1')
    p.add_argument('--selection', default='last', help='which checkpoint '
                   'is tested: "last" (default: a fixed schedule, no '
                   'validation images), "budget-val" (the best on a '
                   'stratified quarter of the n labels, held out of '
                   'training) or "extra-val" (the best on the validation '
                   'split: n + its size labels used), e.g. --selection '
                   'budget-val')
    p.add_argument('--decision', default='argmax',
                   choices=('argmax', 'prior', 'cv'),
                   help='decision rule of the reported balanced accuracy, '
                   'the same for every method, from each run\'s '
                   'predictions.csv: argmax (default; what a lab deploys), '
                   'prior (logit adjustment by the training-label priors) '
                   'or cv (binary: the threshold cross-validated on the n '
                   'training labels, cv_threshold.json), e.g. --decision '
                   'prior')
    p.add_argument('--iters', type=int, default=300,
                   help='optimizer steps of 32 images per run, e.g. '
                   '--iters 1200')
    p.add_argument('--lr-search', help='candidate learning rates, e.g. '
                   '0.003,0.01,0.03: for every target size and draw each '
                   'fine-tuned method picks its (lr, norm) from these x '
                   '--search-norms by in-budget cross-validation on that '
                   "draw's n training labels (no validation or test image; "
                   'lr_search.json)')
    p.add_argument('--search-norms', help='norm modes --lr-search tries '
                   '(default all three; --norm X: X only), e.g. '
                   '--search-norms channel-domain,scalar-domain')
    p.add_argument('--recipe', nargs='+', default=[], metavar='KEY=VALUE',
                   help='recipe knobs of every method, e.g. lr=0.01 '
                   'warmup=0 batch=8,24')
    p.add_argument('--norm', help='normalisation of every method: '
                   '"pretrained" (the backbone\'s constants), '
                   '"scalar-domain" (one mean/std per domain from its '
                   'training images, the authors\') or "channel-domain" '
                   '(per-channel, per domain); default: scalar-domain for '
                   'the DL4ALL methods, channel-domain for the others, '
                   'e.g. --norm pretrained')
    p.add_argument('--class-weights', default='authors', help='"authors" '
                   '(default: every head weighted N / max(n_c, 10) by its '
                   'training labels, DL4ALL\'s rule, for every method) or '
                   '"none" (plain cross-entropy for every method), e.g. '
                   '--class-weights none')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'),
                   help='where runs train, e.g. --device cuda')
    # launcher options (--launcher local|slurm, --jobs, Slurm resources)
    from dl4all_mm.evaluation.launchers.cli import add_launcher_args
    add_launcher_args(p)
    p.add_argument('--run-timeout', type=float, help='seconds per run, e.g. '
                   '--run-timeout 3600')
    p.add_argument('--dry-run', action='store_true', help='check the data, '
                   'print each split (images, classes, groups) and each '
                   'size\'s subset per class, list the runs; train nothing')
    p.add_argument('--no-progress', action='store_true',
                   help='no progress bars (e.g. in batch jobs)')
    p.add_argument('--work-dir', required=True, help='where data/, runs and '
                   'the report go; the same command there again resumes, '
                   'e.g. --work-dir work_dirs/compare')
    p.add_argument('--overwrite', action='store_true', help='replace a '
                   'work folder that holds another task (other inputs, '
                   'options or split); its finished runs train again')
    p.add_argument('--allow-source-overlap', choices=('drop',),
                   help='"drop": leave out the source images whose content '
                   'is also a target validation/test image (default: '
                   'refuse, naming them), e.g. --allow-source-overlap drop')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    try:
        check_values(args)
        split = parse_split(args.split, bool(args.target_test))
        inputs = TaskInputs(
            source=args.source, target=args.target,
            target_test=args.target_test, source_root=args.source_root,
            target_root=args.target_root,
            target_test_root=args.target_test_root,
            class_map=args.class_map, group_regex=args.group_regex,
            source_labels=args.source_labels,
            sizes=parse_sizes(args.target_sizes),
            split=split,
            source_limit=args.source_limit, img_size=args.img_size,
            source_overlap=args.allow_source_overlap or 'refuse',
            draws=parse_draws(args.draws), selection=args.selection)
        opts = CompareOptions(
            methods=args.methods.split(','),
            seeds=parse_numbers(args.seeds, '--seeds'), iters=args.iters,
            backbone=args.backbone, pretrained=args.pretrained,
            device=args.device, jobs=args.jobs,
            recipe=parse_recipe(args.recipe),
            lr_search=parse_numbers(args.lr_search or '', '--lr-search',
                                    float),
            search_norms=args.search_norms and [
                check_norm(n) for n in args.search_norms.split(',')],
            run_timeout=args.run_timeout, progress=not args.no_progress,
            overwrite=args.overwrite, decision=args.decision,
            norm=None if args.norm is None else check_norm(args.norm),
            class_weights=check_class_weights(args.class_weights),
            command='python tools/compare_transfer.py ' + shlex.join(argv))
        warning = tm.random_features_warning(  # a probe of random features
            opts.methods, tm.backbone_spec(args.backbone, args.pretrained,
                                           args.img_size))
        if warning:
            print(warning, file=sys.stderr)
        # launcher: bad options exit 2 (LaunchError is a ValueError)
        from dl4all_mm.evaluation.launchers.cli import build_launcher
        opts.launcher = build_launcher(args, args.run_timeout,
                                       not args.no_progress)
        # end launcher
        if args.device == 'cuda':
            import torch
            if not torch.cuda.is_available():
                raise InputError('--device cuda but torch sees no GPU')
        return run_comparison(inputs, opts, args.work_dir, args.dry_run)
    except (InputError, ValueError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except OSError as err:  # unreadable file or folder: name it
        where = err.filename or ''
        print(f'error: {where}: {err.strerror or err}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
