"""Parameter-scheduler checks of :class:`DomainTrainLoop` (short runs,
the reference warm-up's epoch length)."""
import warnings
from typing import List

_OFFSET_ATTR = '_dl4all_warmup_iter_offset'


class SchedulerChecksMixin:
    """Keep mmengine's parameter schedulers consistent with the loop's
    epochs: drop schedulers that would never act, refuse empty ranges, and
    shift epoch-based schedulers converted to iterations past a reference
    warm-up whose length differs from ``len(dataloader)``."""

    def _check_param_schedulers(self) -> List[int]:
        """Drop schedulers that would begin after training ends; return the
        positions of epoch-based schedulers converted to iterations."""
        scheds = self.runner.param_schedulers
        if scheds is None:
            return []
        if isinstance(scheds, dict) and 'type' not in scheds:
            groups = {k: list(v) if isinstance(v, (list, tuple)) else [v]
                      for k, v in scheds.items()}
        else:
            groups = {None: list(scheds) if isinstance(
                scheds, (list, tuple)) else [scheds]}
        converted: List[int] = []
        pos = 0
        for key, group in groups.items():
            kept = []
            for i, cfg in enumerate(group):
                if not isinstance(cfg, dict):
                    kept.append(cfg)
                    pos += 1
                    continue
                name = f'param_scheduler[{i}] ({cfg.get("type")})'
                by_epoch = cfg.get('by_epoch', True)
                unit, limit = ('epoch', self._max_epochs) if by_epoch else (
                    'iteration', self._max_iters)
                begin, end = cfg.get('begin', 0), cfg.get('end')
                if end is not None and end <= begin:
                    raise ValueError(
                        f'{name}: end={end} must be larger than '
                        f'begin={begin}')
                if begin >= limit:
                    warnings.warn(
                        f'{name} begins at {unit} {begin}, at or after '
                        f'the end of training ({limit} {unit}s with '
                        f'train_cfg.max_epochs={self._max_epochs}): it would '
                        'never act and is dropped')
                    continue
                if by_epoch and cfg.get('convert_to_iter_based', False) and \
                        self.reference_warmup and self._warmup_offset():
                    if begin < self.warmup_epochs:
                        raise ValueError(
                            f'{name} (convert_to_iter_based) begins at epoch '
                            f'{begin}, inside the reference warm-up '
                            f'(train_cfg.warmup_epochs={self.warmup_epochs}),'
                            ' whose epochs do not have len(dataloader) '
                            'iterations; let it begin at epoch >= '
                            f'{self.warmup_epochs}, make it iteration-based, '
                            "or use warmup_mode='frozen_backbone'")
                    converted.append(pos)
                kept.append(cfg)
                pos += 1
            groups[key] = kept
        self.runner.param_schedulers = groups[None] if None in groups \
            else groups
        return converted

    def _warmup_offset(self) -> int:
        """Iterations by which the warm-up differs from ordinary epochs."""
        return self.epoch_start(self.warmup_epochs) - \
            self.warmup_epochs * len(self._main_loader)

    def _shift_converted_schedulers(self) -> None:
        """Move converted epoch-based schedulers by the warm-up offset (once;
        a resumed scheduler's state already holds the shift)."""
        if not self._converted:
            return
        scheds = self.runner.param_schedulers
        flat = [s for group in scheds.values() for s in group] \
            if isinstance(scheds, dict) else list(scheds)
        offset = self._warmup_offset()
        for pos in self._converted:
            sched = flat[pos]
            if hasattr(sched, _OFFSET_ATTR):
                continue
            sched.begin += offset
            sched.end += offset
            setattr(sched, _OFFSET_ATTR, offset)
