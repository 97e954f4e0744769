"""Class weights of each domain's loss from its training labels."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import DATASETS, HOOKS

ExtraData = Union[str, dict, Sequence[Union[str, dict]]]


def compute_class_weights(labels: Sequence, num_classes: int,
                          min_count: int = 10) -> List[float]:
    """Reference class weights ``w_c = N / max(n_c, min_count)``.

    Args:
        labels (Sequence): One entry per sample: a class index
            (single-label) or a list of class indices (multi-label).
        num_classes (int): Number of classes ``C``.
        min_count (int): Floor of the counts (the reference: 10).

    Returns:
        list[float]: ``C`` weights; ``N`` is the number of samples and
        ``n_c`` the number of samples labelled ``c``.
    """
    counts = np.zeros(num_classes, dtype=np.float64)
    for i, label in enumerate(labels):
        ids = np.unique(np.atleast_1d(np.asarray(label, dtype=np.int64)))
        if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
            raise ValueError(f'sample {i}: label {label} is outside the '
                             f'{num_classes} classes of the head')
        counts[ids] += 1
    total = float(len(labels))
    return (total / np.maximum(counts, min_count)).tolist()


@HOOKS.register_module()
class DomainClassWeightHook(Hook):
    """Weight each domain's loss by class, from that domain's training
    labels, as the DL4ALL reference code does.

    Before training (also when resuming) the hook counts the labels of each
    selected domain of the training dataset (an
    :class:`InterleavedDatasetWrapper`) and sets the ``class_weight`` of
    that domain's head loss to::

        w_c = N / max(n_c, min_count)

    where ``N`` is the number of training samples of the domain and ``n_c``
    the number labelled ``c`` (for multi-label sources: the number with
    ``c`` among their labels), ``min_count`` = 10 as in the reference
    (``util/computeClassWeights.py``: counts below 10 are set to 10).
    The reference counts the training *and validation* sets
    (``computeClassWeights``: ``N`` = train + val, ``n_c`` over both); by
    default this hook counts the training set only, so no validation label
    shapes training. ``extra_datasets`` restores the reference: the labels
    of the given datasets are counted together with the training labels.

    The weights suit :class:`WeightedCrossEntropyLoss` (the reference's
    ``nn.CrossEntropyLoss(weight=w)``) and :class:`MultiLabelSoftMarginLoss`
    (its ``nn.MultiLabelSoftMarginLoss(weight=w)``); any loss module with a
    ``class_weight`` attribute (mmpretrain's ``CrossEntropyLoss``) accepts
    them. Rank 0 computes them and broadcasts them, so every rank uses the
    same weights; they are logged.

    Args:
        domains (Sequence[str], optional): Domains to weight. Defaults to
            every domain of the model's head.
        min_count (int): Floor of the class counts. Defaults to 10.
        extra_datasets (dict, optional): Domain -> datasets whose labels are
            counted with that domain's training labels (the reference:
            its validation split). Each is a dataset config (built with
            mmpretrain's ``DATASETS``), or ``'val'``: the runner's
            validation dataset (its part of that domain when it is an
            :class:`InterleavedDatasetWrapper`); a list counts several.
            Defaults to None (training labels only).
    """

    priority = 'NORMAL'

    def __init__(self,
                 domains: Optional[Sequence[str]] = None,
                 min_count: int = 10,
                 extra_datasets: Optional[Dict[str, ExtraData]] = None
                 ) -> None:
        if min_count < 1:
            raise ValueError(f'DomainClassWeightHook: min_count must be >= '
                             f'1, got {min_count}')
        self.domains = list(domains) if domains is not None else None
        self.min_count = min_count
        self.extra_datasets = {
            d: list(v) if isinstance(v, (list, tuple)) else [v]
            for d, v in (extra_datasets or {}).items()
        }
        self.class_weights: Dict[str, List[float]] = {}

    def before_train(self, runner) -> None:
        """Compute, broadcast and set the weights."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        task_heads = getattr(getattr(model, 'head', None), 'task_heads', None)
        if task_heads is None:
            raise TypeError('DomainClassWeightHook needs a model whose head '
                            'has task_heads (DomainMultiTaskHead)')
        dataset = runner.train_dataloader.dataset
        datasets = getattr(dataset, 'datasets', None)
        if not isinstance(datasets, dict):
            raise TypeError('DomainClassWeightHook needs an '
                            'InterleavedDatasetWrapper as the training '
                            f'dataset, got {type(dataset).__name__}')
        domains = self.domains or list(task_heads)
        for d in self.extra_datasets:
            if d not in domains:
                raise KeyError(f'DomainClassWeightHook: extra_datasets has '
                               f'domain {d!r}, which is not weighted '
                               f'({domains})')
        for d in domains:
            if d not in task_heads or d not in datasets:
                raise KeyError(
                    f'DomainClassWeightHook: domain {d!r} is not both a head '
                    f'({list(task_heads)}) and a training domain '
                    f'({list(datasets)})')
            loss = getattr(task_heads[d], 'loss_module', None)
            if not hasattr(loss, 'class_weight'):
                raise TypeError(
                    f'DomainClassWeightHook: the {d!r} head\'s loss '
                    f'{type(loss).__name__} has no class_weight; use '
                    'WeightedCrossEntropyLoss, MultiLabelSoftMarginLoss or '
                    'CrossEntropyLoss')
        weights = [None]
        if get_dist_info()[0] == 0:
            weights = [{
                d: self._domain_weights(
                    d, [datasets[d]] + self._extra(runner, d), task_heads[d])
                for d in domains
            }]
        broadcast_object_list(weights, src=0)
        self.class_weights = weights[0]
        for d, w in self.class_weights.items():
            task_heads[d].loss_module.class_weight = list(w)
            counted = 'training + extra' if d in self.extra_datasets \
                else 'training'
            runner.logger.info(
                f'DomainClassWeightHook: {d} class weights (N / max(n_c, '
                f'{self.min_count}), {counted} labels): '
                + ', '.join(f'{x:.4g}' for x in w))

    def _extra(self, runner, domain: str) -> list:
        """The built ``extra_datasets`` of ``domain``."""
        out = []
        for item in self.extra_datasets.get(domain, []):
            if item == 'val':
                loader = getattr(runner, 'val_dataloader', None)
                dataset = getattr(loader, 'dataset', None)
                if dataset is None:
                    raise ValueError(
                        f"DomainClassWeightHook: extra_datasets[{domain!r}]"
                        " = 'val' needs the runner's val_dataloader")
                parts = getattr(dataset, 'datasets', None)
                if isinstance(parts, dict):
                    if domain not in parts:
                        raise KeyError(
                            f'DomainClassWeightHook: the validation dataset '
                            f'has no domain {domain!r} ({list(parts)})')
                    dataset = parts[domain]
                out.append(dataset)
            elif isinstance(item, dict):
                out.append(DATASETS.build(item))
            else:
                raise TypeError(
                    f'DomainClassWeightHook: extra_datasets[{domain!r}] '
                    f"holds {item!r}; expected a dataset config or 'val'")
        return out

    def _domain_weights(self, domain: str, datasets: list,
                        head: torch.nn.Module) -> List[float]:
        num_classes = getattr(head, 'num_classes', None)
        if num_classes is None:
            raise TypeError(f'DomainClassWeightHook: the {domain!r} head '
                            f'{type(head).__name__} has no num_classes')
        labels = []
        for dataset in datasets:
            for i in range(len(dataset)):
                label = dataset.get_data_info(i).get('gt_label')
                if label is None:
                    raise ValueError(f'DomainClassWeightHook: {domain} '
                                     f'sample {i} of {type(dataset).__name__}'
                                     ' has no gt_label')
                labels.append(label)
        try:
            return compute_class_weights(labels, num_classes, self.min_count)
        except ValueError as err:
            raise ValueError(f'DomainClassWeightHook ({domain}): {err}')
