"""Refuse to train when training data overlaps validation or test data."""
import copy
from typing import Any, Dict, List, Optional, Sequence

from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmpretrain.registry import DATASETS, HOOKS
from torch.utils.data import DataLoader

from dl4all_mm.datasets.leakage import (CHECKS, ID_KEYS, DataLeakageError,
                                        data_infos, find_leakage,
                                        format_leaks)


@HOOKS.register_module()
class LeakageGuardHook(Hook):
    """Compare the training set with the val/test sets before training.

    Four checks (see :func:`dl4all_mm.datasets.leakage.find_leakage`):
    the same file on both sides, the same image content under another name
    (SHA-256, only files of equal size are hashed), the same decoded pixels
    (a re-encoded copy; only images of equal header size are decoded), and
    the same
    patient/slide/group id within one domain where the data infos carry it.
    Any finding raises :class:`DataLeakageError` listing the first
    offenders, unless ``allow_leakage=True`` (a deliberate reproduction of a
    reference protocol), which logs the same list as a warning. Rank 0
    checks and every rank raises, so no rank waits forever.

    Args:
        splits (sequence of str): Which of ``'val'`` and ``'test'`` to
            compare with training. Defaults to both (those configured).
        checks (sequence of str): Any of ``'path'``, ``'hash'``,
            ``'pixels'``, ``'id'``. Every training domain (the source
            domain of a DL4ALL config included) is compared.
        id_keys (sequence of str): Data-info keys holding group ids.
        allow_leakage (bool): Warn instead of raising. Defaults to False.
        max_report (int): Offenders listed per kind. Defaults to 10.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 splits: Sequence[str] = ('val', 'test'),
                 checks: Sequence[str] = CHECKS,
                 id_keys: Sequence[str] = ID_KEYS,
                 allow_leakage: bool = False,
                 max_report: int = 10) -> None:
        unknown = set(splits) - {'val', 'test'}
        if unknown:
            raise ValueError(f'LeakageGuardHook splits {sorted(unknown)} '
                             "unknown; expected 'val' and/or 'test'")
        unknown = set(checks) - set(CHECKS)
        if unknown:
            raise ValueError(f'LeakageGuardHook checks {sorted(unknown)} '
                             f'unknown; expected some of {CHECKS}')
        self.splits = tuple(splits)
        self.checks = tuple(checks)
        self.id_keys = tuple(id_keys)
        self.allow_leakage = allow_leakage
        self.max_report = max_report

    def before_train(self, runner) -> None:
        """Check on rank 0, share the verdict, raise on every rank."""
        rank, world_size = get_dist_info()
        verdict: List[Optional[str]] = [None]
        if rank == 0:
            verdict[0] = self.check(runner)
        if world_size > 1:
            broadcast_object_list(verdict, src=0)
        if verdict[0] is None:
            return
        if self.allow_leakage:
            runner.logger.warning(
                'LeakageGuardHook(allow_leakage=True): training although '
                f'train overlaps evaluation data:\n{verdict[0]}')
            return
        raise DataLeakageError(
            f'Training data overlaps evaluation data:\n{verdict[0]}\n'
            'Fix the splits (e.g. split by patient), or set '
            'LeakageGuardHook(allow_leakage=True) to reproduce a reference '
            'protocol deliberately.')

    def check(self, runner) -> Optional[str]:
        """The findings as text, or None when the splits are disjoint."""
        train = runner.train_dataloader.dataset
        others = {
            split: data_infos(dataset)
            for split, dataset in self._eval_datasets(runner).items()
        }
        if not others:
            runner.logger.info('LeakageGuardHook: no val/test set to check')
            return None
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        default_domain = getattr(model, 'eval_domain', None) or getattr(
            train, 'main_domain', None)
        leaks = find_leakage(
            data_infos(train),
            others,
            checks=self.checks,
            id_keys=self.id_keys,
            default_domain=default_domain)
        if not leaks:
            runner.logger.info(
                f'LeakageGuardHook: train and {sorted(others)} share no '
                f'files, identical images or ids (checks: {self.checks}).')
            return None
        return format_leaks(leaks, self.max_report)

    def _eval_datasets(self, runner) -> Dict[str, Any]:
        """The configured val/test datasets (built if still configs)."""
        datasets = {}
        for split in self.splits:
            loop = getattr(runner, f'_{split}_loop', None)
            loader = getattr(runner, f'_{split}_dataloader', None)
            if loop is None or loader is None:
                continue
            dataset = loop.dataloader.dataset if isinstance(
                loop, BaseLoop) else _dataset_of(loader)
            if dataset is not None:
                datasets[split] = dataset
        return datasets


def _dataset_of(loader: Any) -> Any:
    """The dataset of a built dataloader or of a dataloader config."""
    if isinstance(loader, DataLoader):
        return loader.dataset
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    if isinstance(dataset, dict):
        return DATASETS.build(copy.deepcopy(dataset))
    return dataset
