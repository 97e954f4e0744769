"""A comparison's data: read, check and split the image sets, then write
the annotation files and statistics every run of every method shares."""
import hashlib
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from dl4all_mm.datasets.group_split import (balanced_source, group_ids,
                                            nested_subsets, split_groups)
from dl4all_mm.datasets.leakage import find_leakage, format_leaks
from dl4all_mm.engine.hooks.class_weight_hook import compute_class_weights
from .data_options import TaskData
from .image_set import (ImageSet, InputError, apply_class_map, check_images,
                        parse_class_map, read_image_set, self_labels)
from .stats import mean_std

SPLIT_SEED = 0  # fixed: every method and seed sees the same splits


@dataclass
class TaskInputs:
    """What the user gave (the options of ``tools/compare_transfer.py``)."""
    source: str
    target: str
    target_test: Optional[str] = None
    source_root: Optional[str] = None
    target_root: Optional[str] = None
    target_test_root: Optional[str] = None
    class_map: Optional[str] = None
    group_regex: Optional[str] = None
    source_labels: str = 'folders'
    sizes: Sequence[object] = (24, 48, 96, 'all')
    split: Sequence[float] = (0.6, 0.2, 0.2)
    source_limit: Optional[int] = None
    img_size: int = 96


@dataclass
class TransferTask:
    """The written data of a comparison.

    Attributes:
        sizes (dict): target training size -> :class:`TaskData`.
        weights (dict): target training size -> target class weights.
        notes (list[str]): What was split how, for the report.
        digest (str): Hash of every annotation file and statistic.
    """
    sizes: Dict[int, TaskData]
    weights: Dict[int, List[float]]
    notes: List[str] = field(default_factory=list)
    digest: str = ''


def _write_ann(path: str, images: ImageSet) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    for p in images.paths:
        if any(c.isspace() for c in p):
            raise InputError(f'image path {p!r} holds white space, which '
                             'annotation files cannot carry; rename it')
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{p} {i}\n'
                     for p, i in zip(images.paths, images.indices()))


def _source(inputs: TaskInputs) -> ImageSet:
    source = read_image_set(inputs.source, inputs.source_root, '--source')
    mode = inputs.source_labels
    if mode.startswith('self:'):
        source = self_labels(source, mode[len('self:'):])
    elif mode != 'folders':
        raise InputError(f'--source-labels {mode!r}: expected "folders" or '
                         '"self:REGEX"')
    return source.subset(balanced_source(source.indices(),
                                         inputs.source_limit, SPLIT_SEED))


def _target_splits(inputs: TaskInputs, target: ImageSet,
                   notes: List[str]) -> Dict[str, ImageSet]:
    mapping = parse_class_map(inputs.class_map)
    target = apply_class_map(target, mapping, '--target')
    groups = group_ids(target.paths, inputs.group_regex)
    labels = target.indices()
    if inputs.target_test:
        test = read_image_set(inputs.target_test, inputs.target_test_root,
                              '--target-test')
        test = apply_class_map(test, mapping, '--target-test')
        unknown = sorted(set(test.labels) - set(target.classes))
        if unknown:
            raise InputError(f'--target-test {test.origin}: class(es) '
                             f'{unknown} are not target classes '
                             f'{target.classes}')
        test = ImageSet(test.paths, test.labels, list(target.classes),
                        test.origin)
        share = inputs.split[0] + inputs.split[1]
        parts = split_groups(labels, groups, [inputs.split[0] / share,
                                              inputs.split[1] / share],
                             SPLIT_SEED, ('train', 'val'))
        splits = {k: target.subset(v) for k, v in parts.items()}
        splits['test'] = test
    else:
        parts = split_groups(labels, groups, inputs.split, SPLIT_SEED)
        splits = {k: target.subset(v) for k, v in parts.items()}
    for name, images in splits.items():
        missing = sorted(set(target.classes) - set(images.labels))
        if missing:
            origin = images.origin or '--target'
            raise InputError(f'the target {name} split holds no image of '
                             f'class(es) {missing} (from {origin}); give '
                             'more images of them or another split')
    _no_shared_content(splits)
    how = (f'groups from --group-regex {inputs.group_regex!r} and '
           'identical files' if inputs.group_regex else
           'per image (no --group-regex: images of one patient or slide '
           'may land in different splits, which inflates the results); '
           'identical files kept together')
    notes.append(f'Target split (seed {SPLIT_SEED}, stratified, {how}): ' +
                 ', '.join(f'{k} {len(v)}' for k, v in splits.items()) +
                 f'; {len(set(groups))} groups of {len(target)} images.')
    return splits


def _no_shared_content(splits: Dict[str, ImageSet]) -> None:
    """Leakage guard (:func:`dl4all_mm.datasets.leakage.find_leakage`): no
    file, nor identical content, in two splits."""
    infos = {k: [dict(img_path=p) for p in v.paths]
             for k, v in splits.items()}
    leaks = find_leakage(infos['train'], dict(val=infos['val'],
                                              test=infos['test']),
                         checks=('path', 'hash'))
    leaks += find_leakage(infos['val'], dict(test=infos['test']),
                          checks=('path', 'hash'))
    if leaks:
        raise InputError('the test set must not hold training or '
                         'validation images:\n' + format_leaks(leaks))


def class_weights(labels: Sequence[int], num_classes: int) -> List[float]:
    """Target class weights of the single-head methods: the reference rule
    of :func:`compute_class_weights` (``N / n_c``, which DL4ALL's
    ``DomainClassWeightHook`` applies), divided by the number of classes so
    that they average 1 over the training images (mmpretrain's
    ``CrossEntropyLoss`` averages weighted losses over the batch size).

    Raises:
        InputError: a class has no training image.
    """
    missing = [c for c in range(num_classes) if c not in set(labels)]
    if missing:
        raise InputError(f'the training images hold no image of class '
                         f'index(es) {missing}: cannot weight the classes')
    return [round(w / num_classes, 4) for w in compute_class_weights(
        labels, num_classes, min_count=1)]


def parse_sizes(text: str) -> List[object]:
    """``'24,48,96,all'`` -> ``[24, 48, 96, 'all']``."""
    sizes: List[object] = []
    for part in (p.strip() for p in text.split(',')):
        if part == 'all':
            sizes.append('all')
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise InputError(f'--target-sizes: {part!r} is not a positive '
                             'number or "all"')
    return sizes


def prepare_task(inputs: TaskInputs, out_dir: str,
                 threads: int = 2) -> TransferTask:
    """Read, check and split the data; write ``out_dir/*.txt``.

    Raises:
        InputError: any bad input, before anything is trained.
    """
    notes: List[str] = []
    source = _source(inputs)
    target = read_image_set(inputs.target, inputs.target_root, '--target')
    splits = _target_splits(inputs, target, notes)
    train = splits['train']
    sizes = sorted({len(train) if s == 'all' else int(s)
                    for s in inputs.sizes})
    subsets = nested_subsets(train.indices(), sizes, SPLIT_SEED)
    check_images(source.paths + [p for s in splits.values()
                                 for p in s.paths], threads)
    _write_ann(osp.join(out_dir, 'source.txt'), source)
    for name in ('val', 'test'):
        _write_ann(osp.join(out_dir, f'{name}.txt'), splits[name])
    src_norm = mean_std(source.paths, inputs.img_size)
    classes = list(train.classes)
    out: Dict[int, TaskData] = {}
    weights: Dict[int, List[float]] = {}
    for size in sizes:
        part = train.subset(subsets[size])
        path = osp.join(out_dir, f'train_n{size}.txt')
        _write_ann(path, part)
        weights[size] = class_weights(part.indices(), len(classes))
        out[size] = TaskData(
            source_ann=osp.abspath(osp.join(out_dir, 'source.txt')),
            source_classes=list(source.classes),
            target_ann=osp.abspath(path),
            val_ann=osp.abspath(osp.join(out_dir, 'val.txt')),
            test_ann=osp.abspath(osp.join(out_dir, 'test.txt')),
            target_classes=classes,
            source_norm=src_norm,
            target_norm=mean_std(part.paths, inputs.img_size),
            img_size=inputs.img_size,
            n_source=len(source),
            n_target=size)
    notes.append(
        f'Source: {len(source)} images, {len(source.classes)} classes '
        f'({inputs.source_labels} labels'
        + (f', a stratified subset of {inputs.source_limit}'
           if inputs.source_limit else '') + f'); target classes {classes}'
        f'; nested stratified training subsets {sizes}; inputs '
        f'{inputs.img_size} px; per-domain mean/std from training images.')
    digest = hashlib.sha1()
    for name in sorted(os.listdir(out_dir)):
        if name.endswith('.txt'):
            with open(osp.join(out_dir, name), 'rb') as f:
                digest.update(name.encode() + f.read())
    digest.update(repr(sorted((k, v.source_norm, v.target_norm)
                              for k, v in out.items())).encode())
    return TransferTask(out, weights, notes, digest.hexdigest()[:16])
