"""Write leak-free train/val/test annotation files for a dataset.

Writes ``OUT/fold_<k>/{train,val,test}.txt`` (mmpretrain annotation lines
``relative/path label``, relative to ``--data-root``) and ``OUT/splits.json``
(options, per file the counts per class and per group, leakage checks).

Protocols:
    patient-kfold  every group (C-NMC patient, ADP slide, --group-regex
                   match) in exactly one split of each fold; test folds
                   stratified by class (scikit-learn StratifiedGroupKFold);
                   every image in exactly one test fold. The default.
    official       C-NMC's own fold_0..fold_2 as the test folds.
    image-kfold    images split regardless of patients, as the DL4ALL
                   reference code does: LEAKS, for reproduction only.
    holdout        --folds seeded repeats of a stratified group hold-out of
                   --test-ratio (e.g. the ALL-IDB2 random 50/50 protocol).
    adp-reference  ADP only: the DL4ALL reference code's one split, written
                   to OUT/{train,val,test}.txt: --adp-level 3 or 1
                   (Regular, Greedy): 10 multi-label folds of that level's
                   labels, fold 9 test, 8 val, 0-7 train; --adp-level self:
                   per slide 70/20/10 of the images (seed 42). Images of a
                   slide land in several splits (ADP is only the source).
    cnmc-reference C-NMC only: the DL4ALL reference code's one split, written
                   to OUT/{train,val,test}.txt: per class 70/20/10 of the
                   training folds' images (split-folders' ratio, seed 42):
                   LEAKS patients, for reproduction only.
Val is --val-ratio of each fold's non-test part, whole groups at a time.

Example::

    python tools/dataset_converters/make_splits.py --dataset cnmc \
        --data-root data/cnmc --out-dir data/cnmc/splits \
        --protocol patient-kfold --folds 5 --val-ratio 0.1 --seed 0
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from typing import List, Optional, Sequence

import numpy as np

from dl4all_mm.datasets import ADPDataset, ALLIDB2Dataset, CNMC2019Dataset
from dl4all_mm.datasets.reference_split_files import (
    write_adp_reference, write_cnmc_reference)
from dl4all_mm.datasets.splits import (DOCS, IMG_EXTENSIONS, leaking_groups,
                                       make_folds, summarize_split)

PROTOCOLS = ('patient-kfold', 'official', 'image-kfold', 'holdout',
             'adp-reference', 'cnmc-reference')
LEAK_WARNING = (
    'WARNING: image-kfold splits images, not patients: cells of one patient '
    'land in both train and test, which inflates test scores (leakage). It '
    'exists only to reproduce the DL4ALL reference code; use patient-kfold '
    'for results.')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--dataset',
        required=True,
        choices=('cnmc', 'allidb2', 'adp', 'folder'))
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--protocol', default='patient-kfold', choices=PROTOCOLS)
    parser.add_argument(
        '--folds',
        type=int,
        default=5,
        help='folds (repeats for holdout); official: 3')
    parser.add_argument(
        '--val-ratio',
        type=float,
        default=0.1,
        help='part of the non-test data held out as val')
    parser.add_argument(
        '--test-ratio',
        type=float,
        default=0.2,
        help='test part of each holdout repeat')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--group-regex',
        default=None,
        help='folder (or override): regex whose first group '
        'is the group id, searched in the relative path')
    parser.add_argument(
        '--classes',
        default=None,
        help='folder: comma-separated class folders in label '
        'order (default: sorted folder names)')
    parser.add_argument(
        '--adp-level',
        default='3',
        choices=('1', '3', 'self'),
        help='adp-reference: labels the split follows (3 Regular, '
        '1 Greedy, self Self)')
    args = parser.parse_args(argv)
    if args.protocol == 'official' and args.dataset != 'cnmc':
        parser.error('--protocol official exists only for --dataset cnmc')
    if args.protocol == 'adp-reference' and args.dataset != 'adp':
        parser.error('--protocol adp-reference exists only for --dataset adp')
    if args.protocol == 'cnmc-reference' and args.dataset != 'cnmc':
        parser.error('--protocol cnmc-reference exists only for --dataset '
                     'cnmc')
    return args


def scan_folder(
    root: str,
    classes: Optional[List[str]] = None,
    exclude: Sequence[str] = ()) -> tuple:
    """``root/<class>/**/<image>``: records and class names. Folders in
    ``exclude`` (e.g. the output folder) are no class."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'--data-root {root!r} not found; {DOCS}')
    exclude = {osp.abspath(e) for e in exclude}
    found = sorted(
        d for d in os.listdir(root)
        if osp.isdir(osp.join(root, d)) and not d.startswith('.')
        and osp.abspath(osp.join(root, d)) not in exclude)
    classes = classes or found
    missing = [c for c in classes if c not in found]
    if missing or not classes:
        raise FileNotFoundError(
            f'Class folders {missing or classes} not found in {root!r} '
            f'(expected <data-root>/<class>/<images>); {DOCS}')
    records = []
    for label, cls in enumerate(classes):
        n_before = len(records)
        for dirpath, dirnames, files in os.walk(osp.join(root, cls)):
            dirnames.sort()
            for name in sorted(files):
                if name.lower().endswith(IMG_EXTENSIONS):
                    rel = osp.relpath(osp.join(dirpath, name), root)
                    records.append(dict(rel=rel, label=label, group=rel))
        if len(records) == n_before:
            raise ValueError(f'Class folder {osp.join(root, cls)!r} holds no '
                             f'image ({", ".join(IMG_EXTENSIONS)}); {DOCS}')
    return records, classes


def collect(args: argparse.Namespace) -> tuple:
    """Records ``rel``/``label``/``group`` (+ ``fold``) and class names."""
    root = args.data_root
    if args.dataset == 'folder':
        classes = args.classes.split(',') if args.classes else None
        records, classes = scan_folder(root, classes, [args.out_dir])
    else:
        if args.dataset == 'cnmc':
            dataset = CNMC2019Dataset(data_root=root, serialize_data=False)
            key = 'patient_id'
        elif args.dataset == 'allidb2':
            dataset = ALLIDB2Dataset(data_root=root, serialize_data=False)
            key = 'image_id'
        else:
            dataset = ADPDataset(
                data_root=root, level='self', serialize_data=False)
            key = 'slide_id'
        classes = list(dataset.metainfo['classes'])
        records = []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            records.append(
                dict(
                    rel=osp.relpath(info['img_path'], root),
                    label=int(info['gt_label']),
                    group=str(info[key]),
                    fold=info.get('fold')))
    if args.group_regex:
        regex = re.compile(args.group_regex)
        for rec in records:
            match = regex.search(rec['rel'])
            if match is None or not match.groups():
                raise ValueError(
                    f'{rec["rel"]}: --group-regex {args.group_regex!r} does '
                    'not match (or has no capture group)')
            rec['group'] = match.group(1)
    elif args.dataset in ('folder', 'allidb2'):
        print(f'NOTE: {args.dataset} has no patient ids; every image is its '
              'own group (pass --group-regex to group images).')
    return records, classes


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Write the split files; returns the ``splits.json`` content."""
    args = parse_args(argv)
    if args.protocol == 'adp-reference':
        return write_adp_reference(args.data_root, args.out_dir,
                                   args.adp_level)
    if args.protocol == 'cnmc-reference':
        print(LEAK_WARNING.replace('image-kfold splits', 'cnmc-reference '
                                   'splits'), file=sys.stderr)
        return write_cnmc_reference(args.data_root, args.out_dir)
    if args.protocol == 'image-kfold':
        print(LEAK_WARNING, file=sys.stderr)
    records, classes = collect(args)
    labels = np.array([r['label'] for r in records])
    groups = np.array([r['group'] for r in records])
    # ADP Self classes are the slides themselves: split slides unstratified.
    strat = np.zeros_like(labels) if args.dataset == 'adp' else labels
    folds = make_folds(
        strat,
        groups,
        args.protocol,
        n_folds=args.folds,
        val_ratio=args.val_ratio,
        seed=args.seed,
        test_ratio=args.test_ratio,
        official=[r['fold']
                  for r in records] if args.protocol == 'official' else None)

    summary = dict(
        dataset=args.dataset,
        data_root=args.data_root,
        protocol=args.protocol,
        folds=len(folds),
        val_ratio=args.val_ratio,
        test_ratio=args.test_ratio if args.protocol == 'holdout' else None,
        seed=args.seed,
        group_regex=args.group_regex,
        classes=classes,
        num_images=len(records),
        num_groups=len(set(groups.tolist())))
    for k, fold in enumerate(folds):
        leaks = leaking_groups(fold, groups)
        if leaks and args.protocol != 'image-kfold':
            raise RuntimeError(f'fold_{k}: groups in two splits: {leaks[:5]}')
        out = osp.join(args.out_dir, f'fold_{k}')
        os.makedirs(out, exist_ok=True)
        entry = dict(groups_in_two_splits=len(leaks))
        for split in ('train', 'val', 'test'):
            idx = fold[split]
            with open(osp.join(out, f'{split}.txt'), 'w') as f:
                f.writelines(f'{records[i]["rel"]} {records[i]["label"]}\n'
                             for i in idx)
            entry[split] = summarize_split(idx, labels, groups, classes)
        summary[f'fold_{k}'] = entry
        print(f'fold_{k}: ' + ', '.join(
            f'{s} {entry[s]["num_images"]} images / {entry[s]["num_groups"]} '
            f'groups {entry[s]["per_class"] if args.dataset != "adp" else ""}'
            for s in ('train', 'val', 'test')) +
              f'; groups in two splits: {len(leaks)}')
        if not len(fold['val']):
            print(f'WARNING: fold_{k}/val.txt is empty', file=sys.stderr)
    stale = [
        d for d in os.listdir(args.out_dir)
        if re.fullmatch(r'fold_\d+', d) and int(d[5:]) >= len(folds)
    ]
    if stale:
        print(
            f'WARNING: {args.out_dir} still holds {sorted(stale)} from an '
            'earlier run; they are not part of these splits.',
            file=sys.stderr)
    with open(osp.join(args.out_dir, 'splits.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'Wrote {len(folds)} folds to {args.out_dir}')
    return summary


if __name__ == '__main__':
    main()
