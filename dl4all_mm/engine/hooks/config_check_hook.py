"""Check model, datasets and files against each other before any step."""
import os.path as osp
from typing import Any, List, Optional, Tuple

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from dl4all_mm.datasets.leakage import data_infos


class ConfigMismatchError(ValueError):
    """Model, datasets, hooks or files of a config do not fit together."""


@HOOKS.register_module()
class DomainConfigCheckHook(Hook):
    """Fail before the first iteration when the config cannot work.

    Before training (train and val sets) and before testing (test set):

    - the training dataset's domains equal the model's head domains, and
      the data preprocessor and every hook with a ``domain`` know them
      (an unknown domain name would otherwise fail at the first batch or
      the first validation, hours in);
    - each head's ``num_classes`` equals the number of ``classes`` of its
      domain's dataset (val/test: the eval-domain head);
    - every ``gt_label`` is an integer in ``[0, num_classes)`` (a label out
      of range in an annotation file otherwise crashes the loss, or worse,
      trains silently on a wrong class count);
    - no dataset is empty and every listed image file exists
      (``check_files``).

    Errors (:class:`ConfigMismatchError`, :class:`FileNotFoundError`) name
    the domain, the dataset's ``ann_file``/``data_root``, the file and the
    value, with the first ``max_report`` offenders.

    Args:
        check_files (bool): Check that every local image file exists.
            Defaults to True.
        max_report (int): Offenders listed. Defaults to 10.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_files: bool = True, max_report: int = 10) -> None:
        self.check_files = check_files
        self.max_report = max_report

    def before_train(self, runner) -> None:
        """Check the training set (every domain) and the val set."""
        model = _unwrap(runner.model)
        dataset = runner.train_dataloader.dataset
        domains = list(getattr(dataset, 'domains', []) or [])
        if domains and hasattr(model, 'domains'):
            self.check_domains(model, domains, runner.hooks)
        for name, ds, head in _pairs(model, dataset, 'train'):
            self.check_dataset(name, ds, head)
        if runner.val_loop is not None and runner.val_dataloader is not None:
            for name, ds, head in _pairs(model,
                                         runner.val_dataloader.dataset,
                                         'val'):
                self.check_dataset(name, ds, head)

    def before_test(self, runner) -> None:
        """Check the test set against the eval head(s)."""
        for name, ds, head in _pairs(
                _unwrap(runner.model), runner.test_dataloader.dataset,
                'test'):
            self.check_dataset(name, ds, head)

    @staticmethod
    def check_domains(model: Any, domains: List[str], hooks: list) -> None:
        """Data domains == head domains; preprocessor and hooks know them."""
        heads = list(model.domains)
        if set(heads) != set(domains):
            raise ConfigMismatchError(
                f'The training dataset has domains {domains} but the model '
                f'has heads for {heads}: no head for '
                f'{sorted(set(domains) - set(heads))}, no data for '
                f'{sorted(set(heads) - set(domains))}. Use the same names in '
                'model.head.task_heads and train_dataloader.dataset.datasets.')
        norm = getattr(model.data_preprocessor, 'domains', None)
        if norm is not None and set(domains) - set(norm):
            raise ConfigMismatchError(
                'model.data_preprocessor.domain_norm has no statistics for '
                f'domains {sorted(set(domains) - set(norm))} (it has {norm})')
        for hook in hooks:
            domain = getattr(hook, 'domain', None)
            if isinstance(domain, str) and domain not in domains:
                raise ConfigMismatchError(
                    f'{type(hook).__name__}(domain={domain!r}): unknown '
                    f'domain; the training dataset has {domains}')

    def check_dataset(self, split: str, dataset: Any,
                      head: Optional[Any]) -> None:
        """Non-empty, labels within the head's classes, files present."""
        where = _where(dataset)
        infos = data_infos(dataset)
        if not infos:
            raise ConfigMismatchError(f'The {split} dataset is empty{where}')
        num_classes = getattr(head, 'num_classes', None)
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if num_classes is not None and classes is not None and \
                len(classes) != num_classes:
            raise ConfigMismatchError(
                f'The {split} head has num_classes={num_classes} but the '
                f'dataset has {len(classes)} classes {tuple(classes)[:10]}'
                f'{where}. Set num_classes={len(classes)} in the head '
                'config, or fix the dataset classes.')
        if num_classes is None and classes is not None:
            num_classes = len(classes)
        if num_classes is not None:
            bad = _bad_labels(infos, num_classes)
            if bad:
                raise ConfigMismatchError(
                    f'{len(bad)} labels of the {split} dataset{where} are not '
                    f'class indices in [0, {num_classes}); first: ' +
                    ', '.join(f'{p!r}: {v!r}'
                              for p, v in bad[:self.max_report]))
        if self.check_files:
            missing = [
                info['img_path'] for info in infos
                if info.get('img_path') and '://' not in info['img_path']
                and not osp.isfile(info['img_path'])
            ]
            if missing:
                raise FileNotFoundError(
                    f'{len(missing)} of {len(infos)} image files listed by '
                    f'the {split} dataset{where} do not exist; first: '
                    f'{missing[:self.max_report]}')


def _unwrap(model: Any) -> Any:
    return model.module if is_model_wrapper(model) else model


def _pairs(model: Any, dataset: Any,
           split: str) -> List[Tuple[str, Any, Any]]:
    """``(name, dataset, head)`` to check: one per domain of a domain
    wrapper, else the whole dataset with the eval-domain head."""
    head = getattr(model, 'head', None)
    heads = getattr(head, 'task_heads', None)
    subsets = getattr(dataset, 'datasets', None)
    if heads is None:
        return [(split, dataset, head)]
    if isinstance(subsets, dict):
        return [(f'{split}[{d}]', ds, heads[d] if d in heads else None)
                for d, ds in subsets.items()]
    eval_domain = getattr(model, 'eval_domain', None)
    return [(split, dataset, heads[eval_domain] if eval_domain in heads
             else None)]


def _where(dataset: Any) -> str:
    """`` (ann_file=..., data_root=...)`` of a dataset, where known."""
    parts = [
        f'{key}={getattr(dataset, key)!r}'
        for key in ('ann_file', 'data_root') if getattr(dataset, key, None)
    ]
    return f' ({", ".join(parts)})' if parts else ''


def _bad_labels(infos: List[dict], num_classes: int) -> List[Tuple[str, Any]]:
    """``(path, label)`` of every label outside ``[0, num_classes)``."""
    bad = []
    for info in infos:
        if 'gt_label' not in info:
            continue
        label = info['gt_label']
        values = np.asarray(label).reshape(-1)
        # An empty multi-label list (no positive class) is valid.
        ok = values.size == 0 or (values.dtype.kind in 'iu' and bool(
            ((values >= 0) & (values < num_classes)).all()))
        if not ok:
            bad.append((info.get('img_path', '?'), _plain(label)))
    return bad


def _plain(label: Any) -> Any:
    return label.tolist() if hasattr(label, 'tolist') else label

