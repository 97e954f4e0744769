"""The authors' warm-up: one pass over each domain, heads only."""
from typing import List, Optional

from mmengine.logging import print_log
from torch.utils.data import DataLoader

from dl4all_mm.datasets.samplers import DomainPassBatchSampler
from dl4all_mm.registry import TRAIN_STEPS, WARMUPS
from ..steps import BaseTrainStep

_OFFSET_ATTR = '_dl4all_warmup_iter_offset'


@WARMUPS.register_module()
class ReferenceWarmup:
    """Warm-up epochs as in the authors' ``functions/warmup.py``.

    Each warm-up epoch is one pass over every domain's training set in turn
    (source, then target), in domain-pure batches of the training
    :class:`DomainBatchSampler`'s per-domain batch sizes
    (:class:`DomainPassBatchSampler`, last partial batch dropped), each
    trained by ``step`` (:class:`HeadWarmupStep`: the domain's head only, on
    its unweighted loss). Warm-up epochs are not validated. When the
    warm-up ends the optimizer's state (momentum) is cleared: the main
    training starts with a fresh optimizer.

    A warm-up epoch has ``sum_d floor(N_d / (B_d * world_size))``
    iterations, not ``len(dataloader)``. Epoch-based parameter schedulers
    converted to iterations (``convert_to_iter_based=True``) assume
    ``len(dataloader)`` iterations an epoch, so this warm-up shifts them to
    where their epoch really starts (:meth:`before_train`), which needs them
    to begin at or after the warm-up (:meth:`check_schedulers` refuses the
    others).

    Args:
        step (dict): The warm-up's training step. Defaults to
            ``dict(type='HeadWarmupStep')``.
        idle_head (str, optional): The other domains' heads during a
            domain's pass (set on ``step``, see :class:`HeadWarmupStep`):
            ``'frozen'`` (not stepped, ours) or ``'reference'`` (once they
            have had a gradient, stepped with a zero one: momentum and
            weight decay move them, as in the authors' code under
            torch < 2.0). Defaults to the step's own (``'frozen'``).
    """

    #: Whether a validation may follow a warm-up epoch.
    validate = False

    def __init__(self,
                 step: Optional[dict] = None,
                 idle_head: Optional[str] = None) -> None:
        self.step: BaseTrainStep = TRAIN_STEPS.build(
            step or dict(type='HeadWarmupStep'))
        if idle_head is not None:
            if not hasattr(self.step, 'idle_head'):
                raise TypeError(
                    f'ReferenceWarmup: idle_head={idle_head!r} needs a step '
                    'with an idle_head attribute (HeadWarmupStep), got '
                    f'{type(self.step).__name__}')
            self.step.idle_head = idle_head
        self.sampler: Optional[DomainPassBatchSampler] = None
        self._loader: Optional[DataLoader] = None
        self._converted: List[int] = []

    def setup(self, loop) -> None:
        """Bind the step; build the warm-up sampler from the loop's."""
        self.step.bind(loop.runner)
        batch_sampler = loop.main_loader.batch_sampler
        needed = ('ranges', 'batch_sizes', 'seed', 'rank', 'world_size')
        if not all(hasattr(batch_sampler, a) for a in needed):
            raise TypeError(
                "train_cfg.warmup_mode='reference' needs the training "
                'dataloader to use a DomainBatchSampler (its per-domain batch '
                f'sizes), got {type(batch_sampler).__name__}; use '
                "warmup_mode='frozen_backbone' or warmup_epochs=0")
        self.sampler = DomainPassBatchSampler(
            batch_sampler.ranges,
            batch_sampler.batch_sizes,
            [d for d in loop.module.domains if d in batch_sampler.ranges],
            seed=batch_sampler.seed,
            rank=batch_sampler.rank,
            world_size=batch_sampler.world_size,
            shuffle=getattr(batch_sampler, 'shuffle', True),
            sampler=getattr(batch_sampler, 'sampler', None))

    def epoch_length(self, main_loader: DataLoader) -> int:
        """Iterations of a warm-up epoch."""
        return len(self.sampler)

    def dataloader(self, main_loader: DataLoader) -> DataLoader:
        """The main loader's dataset and workers on warm-up batches."""
        if self._loader is None:
            kwargs = dict(
                batch_sampler=self.sampler,
                num_workers=main_loader.num_workers,
                collate_fn=main_loader.collate_fn,
                pin_memory=main_loader.pin_memory,
                worker_init_fn=main_loader.worker_init_fn,
                generator=main_loader.generator)
            if main_loader.num_workers > 0:
                kwargs['prefetch_factor'] = main_loader.prefetch_factor
            self._loader = DataLoader(main_loader.dataset, **kwargs)
        return self._loader

    def begin_epoch(self, main_step: BaseTrainStep) -> BaseTrainStep:
        """The step of a warm-up epoch."""
        return self.step

    def end_epoch(self, loop, main_step: BaseTrainStep, last: bool) -> None:
        """After the last warm-up epoch, clear the optimizer state."""
        if last:
            loop.runner.optim_wrapper.optimizer.state.clear()
            print_log('Warm-up done: optimizer state cleared',
                      logger='current')

    # --------------------------------------------------------- schedulers
    def _offset(self, loop) -> int:
        """Iterations by which the warm-up differs from ordinary epochs."""
        return loop.epoch_start(loop.warmup_epochs) - \
            loop.warmup_epochs * len(loop.main_loader)

    def check_schedulers(self, loop, cfgs: List[dict]) -> None:
        """Refuse converted epoch-based schedulers that begin inside the
        warm-up; remember the others' positions (in mmengine's flattened
        order of ``cfgs``) for :meth:`before_train`."""
        self._converted = []
        if not self._offset(loop):
            return
        for pos, (i, cfg) in enumerate(cfgs):
            if not isinstance(cfg, dict) or not cfg.get(
                    'by_epoch', True) or not cfg.get(
                        'convert_to_iter_based', False):
                continue
            if cfg.get('begin', 0) < loop.warmup_epochs:
                raise ValueError(
                    f'param_scheduler[{i}] ({cfg.get("type")}) '
                    '(convert_to_iter_based) begins at epoch '
                    f'{cfg.get("begin", 0)}, inside the reference warm-up '
                    f'(train_cfg.warmup_epochs={loop.warmup_epochs}), whose '
                    'epochs do not have len(dataloader) iterations; let it '
                    f'begin at epoch >= {loop.warmup_epochs}, make it '
                    "iteration-based, or use warmup_mode='frozen_backbone'")
            self._converted.append(pos)

    def before_train(self, loop) -> None:
        """Move converted epoch-based schedulers by the warm-up offset (once;
        a resumed scheduler's state already holds the shift)."""
        if not self._converted:
            return
        scheds = loop.runner.param_schedulers
        flat = [s for group in scheds.values() for s in group] \
            if isinstance(scheds, dict) else list(scheds)
        offset = self._offset(loop)
        for pos in self._converted:
            sched = flat[pos]
            if hasattr(sched, _OFFSET_ATTR):
                continue
            sched.begin += offset
            sched.end += offset
            setattr(sched, _OFFSET_ATTR, offset)
