"""A comparison's data: read, check and split the image sets, then write
the annotation files and statistics every run of every method shares."""
import hashlib
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

from dl4all_mm.datasets.group_split import (balanced_source, group_ids,
                                            split_groups)
from dl4all_mm.engine.hooks.class_weight_hook import compute_class_weights
from .data_options import TaskData
from .draws import (DrawData, budget_val_split, check_selection,
                    draw_subsets, draws_per_size, sha256)
from .image_set import (ImageSet, InputError, apply_class_map,
                        check_classes, check_images, parse_class_map,
                        read_image_set, self_labels)
from .stats import mean_std
from .task_checks import check_source, check_target
from .work_data import write_atomically

#: Seed of the target train/val/test split (and of the source subset of
#: ``--source-limit``) only: fixed, so every draw, method and seed shares
#: the split. Label draws have their own seeds (:mod:`.draws`).
SPLIT_SEED = 0


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
    source_overlap: str = 'refuse'
    draws: Union[int, List[int]] = 5  # or one count per entry of sizes
    selection: str = 'last'


@dataclass
class TransferTask:
    """The written data of a comparison.

    Attributes:
        subsets (dict): ``(target training size, draw)`` ->
            :class:`.draws.DrawData` (its files, class weights, digest,
            record fields).
        notes (list[str]): What was split how, for the report.
        files (dict): annotation file name -> text (what ``data/`` holds).
        split_digest (str): Hash of the source, val and test lists.
        summary (list[str]): Per split images, groups and class counts,
            and each size's and draw's class counts (``--dry-run`` prints
            them).
    """
    subsets: Dict[Tuple[int, int], DrawData]
    notes: List[str] = field(default_factory=list)
    files: Dict[str, str] = field(default_factory=dict)
    split_digest: str = ''
    summary: List[str] = field(default_factory=list)

    @property
    def sizes(self) -> List[int]:
        """Target training sizes, ascending."""
        return sorted({size for size, _ in self.subsets})

    @property
    def draws(self) -> List[int]:
        """Draw indices, ascending."""
        return sorted({draw for _, draw in self.subsets})


def _ann_text(images: ImageSet) -> str:
    """``path index`` lines; mmpretrain splits each at its last space, so
    paths may hold spaces (not line breaks)."""
    for p in images.paths:
        if '\n' in p or '\r' in p or p != p.strip():
            raise InputError(f'image path {p!r} holds a line break or '
                             'leading/trailing white space, which '
                             'annotation files cannot carry; rename it')
    return ''.join(f'{p} {i}\n'
                   for p, i in zip(images.paths, images.indices()))


def _source(inputs: TaskInputs) -> ImageSet:
    source = read_image_set(inputs.source, inputs.source_root, '--source')
    mode = inputs.source_labels
    if mode.startswith('self:'):
        source = self_labels(source, mode[len('self:'):])
    elif mode != 'folders':
        raise InputError(f'--source-labels {mode!r}: expected "folders" or '
                         '"self:REGEX"')
    check_classes(source, '--source')
    return source.subset(balanced_source(source.indices(),
                                         inputs.source_limit, SPLIT_SEED))


def _target_splits(inputs: TaskInputs, target: ImageSet,
                   notes: List[str],
                   summary: List[str]) -> Dict[str, ImageSet]:
    mapping = parse_class_map(inputs.class_map)
    target = apply_class_map(target, mapping, '--target')
    check_classes(target, '--target')
    groups = group_ids(target.paths, inputs.group_regex)
    wanted = 2 if inputs.target_test else 3
    if inputs.group_regex and len(set(groups)) < wanted:
        raise InputError(
            f'--group-regex {inputs.group_regex!r} puts all '
            f'{len(target)} target images in {len(set(groups))} group(s) '
            f'({sorted(set(groups))[:3]}); whole groups go to one split, so '
            f'{wanted} splits need at least {wanted} groups: make the regex '
            'capture the patient/slide id (group 1)')
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
        n_groups = (len({groups[i] for i in parts[name]}) if name in parts
                    else 'separate set,')
        counts = ', '.join(f'{c} {images.labels.count(c)}'
                           for c in target.classes)
        summary.append(f'target {name}: {len(images)} images, '
                       f'{n_groups} groups; per class: {counts}')
    for name, images in splits.items():
        missing = sorted(set(target.classes) - set(images.labels))
        if missing:
            origin = images.origin or '--target'
            raise InputError(f'the target {name} split holds no image of '
                             f'class(es) {missing} (from {origin}); give '
                             'more images of them or another split')
    how = (f'groups from --group-regex {inputs.group_regex!r} and '
           'identical files' if inputs.group_regex else
           'per image (no --group-regex: images of one patient or slide '
           'may land in different splits, which inflates the results); '
           'identical files kept together')
    notes.append(f'Target split (seed {SPLIT_SEED}, stratified, {how}): ' +
                 ', '.join(f'{k} {len(v)}' for k, v in splits.items()) +
                 f'; {len(set(groups))} groups of {len(target)} images.')
    return splits


def class_weights(labels: Sequence[int], num_classes: int) -> List[float]:
    """Target class weights of every method: the authors' rule of
    :func:`compute_class_weights` (``N / max(n_c, 10)``, which DL4ALL's
    ``DomainClassWeightHook`` applies), for torch's weighted-mean
    cross-entropy (``WeightedCrossEntropyLoss``), whose scale does not
    depend on the weights' sum.

    Raises:
        InputError: a class has no training image.
    """
    missing = [c for c in range(num_classes) if c not in set(labels)]
    if missing:
        raise InputError(f'the training images hold no image of class '
                         f'index(es) {missing}: cannot weight the classes')
    return compute_class_weights(labels, num_classes, min_count=10)


def plan_task(inputs: TaskInputs, out_dir: str,
              threads: int = 2) -> TransferTask:
    """Read, check and split the data, all in memory: nothing is written.
    ``out_dir`` is where :func:`write_task` will put the files (the runs'
    paths point there).

    Raises:
        InputError: any bad input, before anything is written or trained.
    """
    check_selection(inputs.selection)
    notes: List[str] = []
    source = _source(inputs)
    target = read_image_set(inputs.target, inputs.target_root, '--target')
    summary: List[str] = []
    splits = _target_splits(inputs, target, notes, summary)
    train = splits['train']
    resolved = {s: len(train) if s == 'all' else int(s)
                for s in inputs.sizes}
    sizes = sorted(set(resolved.values()))
    subsets = draw_subsets(train.indices(), sizes, draws_per_size(
        inputs.draws, inputs.sizes, resolved), train.classes)
    check_images(source.paths + [p for s in splits.values()
                                 for p in s.paths], threads)
    check_target(splits)
    source, dropped = check_source(source, splits, inputs.source_overlap)
    notes += dropped
    files = {'source.txt': _ann_text(source),
             'val.txt': _ann_text(splits['val']),
             'test.txt': _ann_text(splits['test'])}
    src_norm = mean_std(source.paths, inputs.img_size)
    src_weights = compute_class_weights(source.indices(),
                                        len(source.classes), min_count=10)
    classes = list(train.classes)
    ann = {k: osp.abspath(osp.join(out_dir, f'{k}.txt'))
           for k in ('source', 'val', 'test')}
    out: Dict[Tuple[int, int], DrawData] = {}
    norms: Dict[tuple, tuple] = {}  # one statistic per image list
    for (size, draw), idx in sorted(subsets.items()):
        part = train.subset(idx)
        tag = f'n{size}_d{draw}'
        files[f'train_{tag}.txt'] = _ann_text(part)
        fit, val_file, n_val = part, 'val.txt', len(splits['val'])
        if inputs.selection == 'budget-val':
            keep, held = budget_val_split(part.indices(), size, draw,
                                          classes)
            fit, val_file, n_val = part.subset(keep), f'bval_{tag}.txt', 0
            files[val_file] = _ann_text(part.subset(held))
        fit_file = f'fit_{tag}.txt' if fit is not part else f'train_{tag}.txt'
        files[fit_file] = _ann_text(fit)
        summary.append(f'target size {size} draw {draw}: ' + ', '.join(
            f'{c} {part.labels.count(c)}' for c in classes) + (
            '' if fit is part else ' (trained on: ' + ', '.join(
                f'{c} {fit.labels.count(c)}' for c in classes) + ')'))
        key = tuple(fit.paths)
        if key not in norms:
            norms[key] = mean_std(fit.paths, inputs.img_size)
        data = TaskData(
            source_ann=ann['source'], source_classes=list(source.classes),
            target_ann=osp.abspath(osp.join(out_dir, fit_file)),
            val_ann=osp.abspath(osp.join(out_dir, val_file)),
            test_ann=ann['test'], target_classes=classes,
            source_norm=src_norm, target_norm=norms[key],
            img_size=inputs.img_size, n_source=len(source),
            n_target=len(fit), source_weights=src_weights)
        digest = hashlib.sha1()  # exactly what this size's runs read
        read = [fit_file, 'test.txt', 'source.txt'] + (
            [] if inputs.selection == 'last' else [val_file])
        for name in read:
            digest.update(name.encode() + files[name].encode())
        digest.update(repr((data.source_norm, data.target_norm)).encode())
        out[(size, draw)] = DrawData(
            data=data, weights=class_weights(fit.indices(), len(classes)),
            digest=digest.hexdigest()[:16],
            train_sha256=sha256(files[fit_file]),
            train_counts=[fit.labels.count(c) for c in classes],
            labels_used=size + (n_val if inputs.selection == 'extra-val'
                                else 0))
    notes.append(
        f'Source: {len(source)} images, {len(source.classes)} classes '
        f'({inputs.source_labels} labels'
        + (f', a stratified subset of {inputs.source_limit}'
           if inputs.source_limit else '') + f'); target classes {classes}'
        f'; label draws (per size: ' + ', '.join(
            f'{n}: {sum(1 for s, _ in subsets if s == n)}' for n in sizes) +
        ') of stratified training subsets '
        f'of the training pool, nested across sizes {sizes} (draw d: '
        f'seed d); inputs {inputs.img_size} px; per-domain mean/std from '
        'training images.')
    summary.insert(0, f'source: {len(source)} images, classes ' + ', '.join(
        f'{c} {source.labels.count(c)}' for c in source.classes))
    split = hashlib.sha1(''.join(files[k] for k in (
        'source.txt', 'val.txt', 'test.txt')).encode()).hexdigest()[:16]
    return TransferTask(out, notes, files, split, summary)


def write_task(task: TransferTask, out_dir: str,
               identity: Optional[dict] = None) -> None:
    """Write ``out_dir`` (annotation files, ``task.json``) atomically."""
    write_atomically(out_dir, task.files, identity)


def prepare_task(inputs: TaskInputs, out_dir: str,
                 threads: int = 2) -> TransferTask:
    """:func:`plan_task`, then :func:`write_task`."""
    task = plan_task(inputs, out_dir, threads)
    write_task(task, out_dir)
    return task
