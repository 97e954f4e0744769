"""Stop training at the first NaN/inf loss, naming iteration and domain."""
import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper
from mmpretrain.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss is NaN or infinite.

    Runs after every training iteration, before the checkpoint hook, so the
    broken weights are never saved and the last good checkpoint (named in
    the error) stays the latest. The error names the iteration, the epoch,
    the non-finite loss terms, the domains they belong to and the domains of
    the batch. Under DDP the ranks agree with one ``all_reduce`` per
    iteration and every rank raises.

    With an :class:`AmpOptimWrapper` the gradient scaler skips steps whose
    gradients overflow, so a few non-finite fp16 losses are expected:
    ``patience`` (default 10 under AMP, else 0) consecutive non-finite
    iterations are tolerated before stopping.

    Args:
        patience (int, optional): Consecutive non-finite iterations
            tolerated. Defaults to 10 with AMP and 0 otherwise.
    """

    priority = 'VERY_HIGH'

    def __init__(self, patience: Optional[int] = None) -> None:
        if patience is not None and patience < 0:
            raise ValueError(f'patience must be >= 0, got {patience}')
        self.patience = patience
        self._bad_streak = 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Check this iteration's losses on every rank."""
        bad = _non_finite(outputs or {})
        flag = torch.tensor([1.0 if bad else 0.0])
        _, world_size = get_dist_info()
        if world_size > 1:
            all_reduce(flag, op='max')
        if not flag.item():
            self._bad_streak = 0
            return
        self._bad_streak += 1
        patience = self.patience
        if patience is None:
            amp = isinstance(runner.optim_wrapper, AmpOptimWrapper)
            patience = 10 if amp else 0
        if self._bad_streak <= patience:
            runner.logger.warning(
                f'Non-finite loss at iteration {runner.iter + 1} '
                f'({self._bad_streak} in a row, patience {patience}): {bad}')
            return
        reports = [self._describe(runner, batch_idx, data_batch, bad)]
        if world_size > 1:
            reports = all_gather_object(reports[0])
        raise NonFiniteLossError('\n'.join(r for r in reports if r) +
                                 self._advice(runner))

    def _describe(self, runner, batch_idx: int, data_batch: Optional[dict],
                  bad: Dict[str, float]) -> str:
        """What went wrong on this rank ('' if its losses were finite)."""
        if not bad:
            return ''
        rank, world_size = get_dist_info()
        where = f' on rank {rank}' if world_size > 1 else ''
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        domains = list(getattr(model, 'domains', []))
        culprits = sorted({
            d
            for key in bad for d in domains if key.startswith(f'{d}_')
        })
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        return (f'Non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}, batch {batch_idx}){where}: {terms}; '
                f'domain(s) with a non-finite loss: {culprits or "unknown"}; '
                f'domains in the batch: {_batch_domains(data_batch)}.')

    @staticmethod
    def _advice(runner) -> str:
        last = runner.message_hub.get_info('last_ckpt')
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if last is None and osp.isfile(pointer):
            with open(pointer, encoding='utf-8') as f:
                last = f.read().strip()
        saved = f'the last good checkpoint is {last}' if last else \
            'no checkpoint was saved yet'
        return (f'\nTraining stopped before saving this iteration: {saved}'
                '. Lower the learning rate, enable gradient clipping '
                '(optim_wrapper.clip_grad) or check the inputs of the '
                'domain(s) named above.')


def _non_finite(outputs: dict) -> Dict[str, float]:
    """Loss terms (keys containing 'loss') that are NaN or infinite."""
    bad = {}
    for key, value in outputs.items():
        if 'loss' not in key:
            continue
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
            number = float(value.detach().float().mean())
        elif isinstance(value, (int, float)):
            finite, number = math.isfinite(value), float(value)
        else:
            continue
        if not finite:
            bad[key] = number
    return bad


def _batch_domains(data_batch: Optional[dict]) -> List[str]:
    """Domains of the samples of a batch, in order of appearance."""
    samples = (data_batch or {}).get('data_samples') or []
    domains: List[str] = []
    for sample in samples:
        domain = getattr(sample, 'metainfo', {}).get('domain')
        if domain is not None and domain not in domains:
            domains.append(domain)
    return domains
