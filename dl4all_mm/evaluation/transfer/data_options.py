"""Config options that point a method's stage at a comparison's data.

The method configs (``configs/baselines/*pbc2aria-lowdata*``,
``configs/dl4all/*pbc2aria-lowdata*``) define the loaders, pipelines and
evaluators. A comparison's annotation files and classes are the protocol's
``data`` (:func:`task_data`, placed by
:func:`..protocol_data.dataset_options` as for a hand-written protocol);
:func:`data_options` adds the task's normalisation (a recipe knob,
:data:`NORMS`), head sizes and input size, keeping everything else.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..protocol_data import LAYOUTS
from .recipes import get_dotted, load_config
from .stats import scalar_mean_std

Norm = Tuple[List[float], List[float]]

#: Normalisation modes (``--norm``): ``pretrained``: the backbone's own
#: constants (127.5 / 127.5 for EfficientNet-Lite0 and ViT, set by
#: :func:`.backbones.backbone_options`; the method config's own for
#: ResNet); ``scalar-domain``: one mean/std per domain over every pixel and
#: channel of its training images (the authors'); ``channel-domain``: a
#: per-channel mean/std per domain.
NORMS = ('pretrained', 'scalar-domain', 'channel-domain')


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
        source_norm (tuple): Source per-channel RGB ``(mean, std)``.
        target_norm (tuple): Target per-channel RGB ``(mean, std)`` (of
            this size's training images).
        img_size (int): Square input size.
        n_source (int): Source training images.
        n_target (int): Target training images of this size.
        source_weights (list[float], optional): Source class weights
            ``N / max(n_c, 10)`` of the source training labels (sequential's
            source stage; DL4ALL and mixed count them with
            ``DomainClassWeightHook``).
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
    source_weights: Optional[List[float]] = None


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


def check_norm(norm: str) -> str:
    """``norm`` if it is one of :data:`NORMS`, else ValueError naming it."""
    if norm not in NORMS:
        raise ValueError(f'--norm {norm!r} is unknown; expected one of '
                         f'{list(NORMS)}')
    return norm


def domain_norm(norm: str, stats: Norm) -> Optional[Norm]:
    """The ``(mean, std)`` a domain with per-channel statistics ``stats``
    is normalised with under ``norm``; None for ``pretrained`` (the
    backbone's or config's constants stay)."""
    if check_norm(norm) == 'pretrained':
        return None
    if norm == 'channel-domain':
        return list(stats[0]), list(stats[1])
    mean, std = scalar_mean_std(*stats)
    return [round(mean, 2)] * 3, [round(std, 2)] * 3


def data_options(kind: str, config: str, data: TaskData,
                 norm: str = 'channel-domain',
                 class_weight: bool = True) -> dict:
    """The task's statistics for a stage of ``kind`` (a key of
    :data:`LAYOUTS`) whose config file is ``config``: input size, classes
    of the heads, normalisation (``norm``, one of :data:`NORMS`; mixed
    batches normalise each sample with its domain's statistics through
    :class:`DomainDataPreprocessor`, the model staying mmpretrain's
    ``ImageClassifier``); a source stage's class weights
    (``data.source_weights``, when ``class_weight``) in torch's weighted
    mean. The data itself (files, classes) is the protocol's ``data``
    (:func:`task_data`)."""
    cfg = load_config(config)
    opts: dict = {}
    for key in LAYOUTS[kind].values():
        opts[f'{key}.pipeline'] = resized(get_dotted(cfg, key)['pipeline'],
                                          data.img_size)
    n_src, n_tgt = len(data.source_classes), len(data.target_classes)
    src = domain_norm(norm, data.source_norm)
    tgt = domain_norm(norm, data.target_norm)
    if kind in ('single', 'source'):
        stats = tgt if kind == 'single' else src
        classes = n_tgt if kind == 'single' else n_src
        opts.update({
            'model.data_preprocessor.num_classes': classes,
            'model.head.num_classes': classes,
        })
        if stats is not None:
            opts.update({'model.data_preprocessor.mean': stats[0],
                         'model.data_preprocessor.std': stats[1]})
        if kind == 'source':
            weights = data.source_weights if class_weight else None
            opts['model.head.loss'] = dict(
                _delete_=True, type='WeightedCrossEntropyLoss',
                class_weight=None if weights is None else list(weights))
        return opts
    heads = 'model.head.task_heads'
    opts.update({f'{heads}.source.num_classes': n_src,
                 f'{heads}.target.num_classes': n_tgt})
    if kind == 'mixed':
        # about as many target as source images per batch, as DL4ALL's
        opts['train_dataloader.dataset.datasets.target.times'] = max(
            1, round(data.n_source / data.n_target))
    if src is not None:  # mixed and DL4ALL: DomainDataPreprocessor (each
        # sample by its domain tag; mixed keeps one BatchNorm)
        for domain, stats in (('source', src), ('target', tgt)):
            prefix = f'model.data_preprocessor.domain_norm.{domain}'
            opts.update({f'{prefix}.mean': stats[0],
                         f'{prefix}.std': stats[1]})
    return opts
