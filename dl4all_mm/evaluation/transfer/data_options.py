"""Config options that point a method's stage at a comparison's data.

The method configs (``configs/baselines/*pbc2aria-lowdata*``,
``configs/dl4all/*pbc2aria-lowdata*``) define the loaders, pipelines and
evaluators. A comparison's annotation files and classes are the protocol's
``data`` (:func:`task_data`, placed by
:func:`..protocol_data.dataset_options` as for a hand-written protocol);
:func:`data_options` adds the task's per-domain normalisation, head sizes
and input size, keeping everything else.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..protocol_data import LAYOUTS
from .recipes import get_dotted, load_config

Norm = Tuple[List[float], List[float]]


@dataclass
class TaskData:
    """The annotation files (absolute image paths) and statistics of one
    target training size.

    Attributes:
        source_ann (str): Source training images.
        source_classes (list[str]): Source classes (label order).
        target_ann (str): Target training images of this size.
        val_ann (str): Target validation images (model selection).
        test_ann (str): Target test images.
        target_classes (list[str]): Target classes (label order).
        source_norm (tuple): Source RGB ``(mean, std)``.
        target_norm (tuple): Target RGB ``(mean, std)``.
        img_size (int): Square input size.
        n_source (int): Source training images.
        n_target (int): Target training images of this size.
    """
    source_ann: str
    source_classes: List[str]
    target_ann: str
    val_ann: str
    test_ann: str
    target_classes: List[str]
    source_norm: Norm
    target_norm: Norm
    img_size: int
    n_source: int
    n_target: int


def task_data(data: TaskData) -> Dict[str, dict]:
    """The protocol's ``data`` (role -> dataset fields) of ``data``: what
    :func:`..protocol_data.dataset_options` puts in every stage, the one
    way data reaches the configs (hand-written protocols use it too)."""
    files = dict(source=data.source_ann, target=data.target_ann,
                 val=data.val_ann, test=data.test_ann)
    return {role: dict(data_root='', data_prefix='', ann_file=path,
                       classes=list(data.source_classes if role == 'source'
                                    else data.target_classes))
            for role, path in files.items()}


def resized(pipeline: Sequence[dict], img_size: int) -> List[dict]:
    """``pipeline`` with every ``Resize`` at ``img_size`` x ``img_size``."""
    out = []
    for step in pipeline:
        step = dict(step)
        if step.get('type') == 'Resize':
            step['scale'] = (img_size, img_size)
        out.append(step)
    return out


def _pooled(a: Norm, b: Norm) -> Norm:
    return tuple([round((x + y) / 2, 2) for x, y in zip(p, q)]
                 for p, q in zip(a, b))


def data_options(kind: str, config: str, data: TaskData) -> dict:
    """The task's statistics for a stage of ``kind`` (a key of
    :data:`LAYOUTS`) whose config file is ``config``: input size, classes
    of the heads, normalisation. The data itself (files, classes) is the
    protocol's ``data`` (:func:`task_data`)."""
    cfg = load_config(config)
    opts: dict = {}
    for key in LAYOUTS[kind].values():
        opts[f'{key}.pipeline'] = resized(get_dotted(cfg, key)['pipeline'],
                                          data.img_size)
    n_src, n_tgt = len(data.source_classes), len(data.target_classes)
    if kind in ('single', 'source'):
        norm = data.target_norm if kind == 'single' else data.source_norm
        classes = n_tgt if kind == 'single' else n_src
        opts.update({
            'model.data_preprocessor.mean': norm[0],
            'model.data_preprocessor.std': norm[1],
            'model.data_preprocessor.num_classes': classes,
            'model.head.num_classes': classes,
        })
        return opts
    heads = 'model.head.task_heads'
    opts.update({f'{heads}.source.num_classes': n_src,
                 f'{heads}.target.num_classes': n_tgt})
    if kind == 'mixed':
        # about as many target as source images per batch, as DL4ALL's
        mean, std = _pooled(data.source_norm, data.target_norm)
        opts.update({
            'train_dataloader.dataset.datasets.target.times':
            max(1, round(data.n_source / data.n_target)),
            'model.data_preprocessor.mean': mean,
            'model.data_preprocessor.std': std,
        })
        return opts
    for domain, norm in (('source', data.source_norm),
                         ('target', data.target_norm)):
        prefix = f'model.data_preprocessor.domain_norm.{domain}'
        opts.update({f'{prefix}.mean': norm[0], f'{prefix}.std': norm[1]})
    return opts
