"""The DL4ALL reference code's one split of each dataset, written as
annotation files ``OUT/{train,val,test}.txt`` plus ``OUT/splits.json``
(``tools/dataset_converters/make_splits.py --protocol adp-reference`` and
``--protocol cnmc-reference``)."""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Union

import numpy as np

from .adp import ADPDataset
from .adp_reference_splits import ratio_split, reference_fold_split
from .cnmc import CNMC2019Dataset

SPLITS = ('train', 'val', 'test')


def _write(out_dir: str, lines: Dict[str, List[str]], summary: dict) -> dict:
    """``OUT/<split>.txt`` (one ``rel label`` line each) and splits.json."""
    os.makedirs(out_dir, exist_ok=True)
    for split in SPLITS:
        with open(osp.join(out_dir, f'{split}.txt'), 'w') as f:
            f.writelines(line + '\n' for line in lines[split])
        summary[split] = len(lines[split])
    with open(osp.join(out_dir, 'splits.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'{summary["protocol"]}: ' + ', '.join(
        f'{s} {summary[s]}' for s in SPLITS) + f' images -> {out_dir}')
    return summary


def write_adp_reference(data_root: str, out_dir: str,
                        adp_level: Union[str, int]) -> dict:
    """ADP: ``adp_level`` 3 or 1 (Regular, Greedy): 10 multi-label folds of
    that level's labels, fold 9 test, 8 val, 0-7 train; ``'self'``: per
    slide 70/20/10 of the images (seed 42). Labels are slide indices (the
    paper configs' ADPDataset reads its own labels from the CSV)."""
    level = adp_level if adp_level == 'self' else int(adp_level)
    dataset = ADPDataset(data_root=data_root, level=level,
                         serialize_data=False)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    rels = [osp.relpath(info['img_path'], data_root) for info in infos]
    if level == 'self':
        by_slide: dict = {}
        for rel, info in zip(rels, infos):
            by_slide.setdefault(info['slide_id'], []).append(rel)
        names = ratio_split(by_slide, seed=42)
        index = {rel: i for i, rel in enumerate(rels)}
        parts = {s: [index[r] for r in names[s]] for s in names}
    else:
        num = len(dataset.metainfo['classes'])
        onehot = np.zeros((len(infos), num))
        for i, info in enumerate(infos):
            onehot[i, info['gt_label']] = 1
        parts = reference_fold_split(onehot, n_folds=10)
    slides = sorted({info['slide_id'] for info in infos})
    label = {s: k for k, s in enumerate(slides)}
    lines = {s: [f'{rels[i]} {label[infos[i]["slide_id"]]}' for i in idx]
             for s, idx in parts.items()}
    return _write(out_dir, lines, dict(
        dataset='adp', data_root=data_root, protocol='adp-reference',
        adp_level=adp_level, num_images=len(infos)))


def write_cnmc_reference(data_root: str, out_dir: str,
                         ratios: Sequence[float] = (0.7, 0.2, 0.1),
                         seed: int = 42) -> dict:
    """C-NMC: the reference's ``splitfolders.ratio(datastore, seed=42,
    ratio=(.7, .2, .1))`` on a datastore of one folder per class holding
    the training folds' images under their own file names: per class, the
    file names sorted, shuffled by ``random.seed(42)``, the first 70 % train,
    the next 20 % val, the rest test. Images, not patients, are split: cells
    of one patient land in train and test (leakage; for reproduction only).

    Raises:
        ValueError: If two training images of one class share a file name
            (one datastore folder could not hold both).
    """
    dataset = CNMC2019Dataset(data_root=data_root, serialize_data=False)
    classes = list(dataset.metainfo['classes'])
    rel_of: Dict[str, str] = {}
    by_class: Dict[str, List[str]] = {c: [] for c in classes}
    label_of: Dict[str, int] = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name = osp.basename(info['img_path'])
        label = int(info['gt_label'])
        key = f'{classes[label]}/{name}'
        if key in rel_of:
            raise ValueError(
                f'C-NMC reference split: {name!r} is in class '
                f'{classes[label]!r} twice ({rel_of[key]!r} and '
                f'{osp.relpath(info["img_path"], data_root)!r})')
        rel_of[key] = osp.relpath(info['img_path'], data_root)
        label_of[key] = label
        by_class[classes[label]].append(key)
    names = ratio_split(by_class, seed=seed, ratios=ratios)
    lines = {s: [f'{rel_of[k]} {label_of[k]}' for k in names[s]]
             for s in SPLITS}
    return _write(out_dir, lines, dict(
        dataset='cnmc', data_root=data_root, protocol='cnmc-reference',
        ratios=list(ratios), seed=seed, num_images=len(rel_of)))
