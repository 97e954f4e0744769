"""Epoch-based training loop for DL4ALL's interleaved multi-domain steps."""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import LOOPS
from torch.utils.data import DataLoader

from dl4all_mm.registry import TRAIN_STEPS, WARMUPS
from .scheduler_checks import check_param_schedulers
from .train_cfg_aliases import step_cfg, warmup_cfg


@LOOPS.register_module()
class DomainTrainLoop(EpochBasedTrainLoop):
    """Iterate domain batches (:class:`DomainBatchSampler`), call the hooks
    and delegate each iteration to a training step component.

    ``step`` (what one batch does: :class:`JointStep`, :class:`GreedyStep`,
    :class:`AlternateStep`) trains every epoch but the first
    ``warmup_epochs``, which ``warmup`` (:class:`ReferenceWarmup`,
    :class:`FrozenBackboneWarmup`) runs: its loader, its step, its epoch
    length, whether it is validated. The old flags (``strategy``,
    ``greedy_rule``, ``source_domain``, ``target_domain``, ``warmup_mode``,
    ``frozen``) are aliases of these components (see
    :mod:`~dl4all_mm.engine.loops.train_cfg_aliases`).

    Iterations are counted per batch, with each warm-up epoch at its real
    length, and ``max_iters`` is their exact sum, so the ETA,
    iteration-based checkpoints and schedulers are exact and a resume from
    a mid-epoch checkpoint skips the batches already trained (the samplers
    do not load them). ``DL4ALLRunner`` drops parameter schedulers that
    would begin at or after the end of training, with a warning, when it
    builds them; with another runner they are an error
    (:mod:`~dl4all_mm.engine.loops.scheduler_checks`).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Training dataloader.
        max_epochs (int): Total epochs, warm-up included.
        step (dict, optional): The training step. Defaults to
            ``dict(type='JointStep')``.
        warmup_epochs (int): Warm-up epochs. Defaults to 0.
        warmup (dict, optional): The warm-up. Defaults to
            ``dict(type='ReferenceWarmup')``.
        **kwargs: The old flags, and ``EpochBasedTrainLoop`` arguments
            (``val_begin``, ``val_interval``, ``dynamic_intervals``).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 step: Optional[dict] = None,
                 warmup_epochs: int = 0,
                 warmup: Optional[dict] = None,
                 strategy: Optional[str] = None,
                 greedy_rule: Optional[str] = None,
                 source_domain: Optional[str] = None,
                 target_domain: Optional[str] = None,
                 warmup_mode: Optional[str] = None,
                 frozen: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        domains = list(getattr(model, 'domains', []))
        if not domains:
            raise TypeError('DomainTrainLoop needs a model with `domains` '
                            '(e.g. DomainImageClassifier)')
        step = step_cfg(step, domains, strategy, greedy_rule, source_domain,
                        target_domain)
        warmup = warmup_cfg(warmup, warmup_mode, frozen)
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f'train_cfg.max_epochs={max_epochs!r} must be '
                             'an int >= 1')
        if not 0 <= warmup_epochs < max_epochs:
            raise ValueError(
                f'train_cfg.warmup_epochs={warmup_epochs} must be in [0, '
                f'max_epochs={max_epochs}): at least one epoch must train '
                'after the warm-up; raise max_epochs or lower warmup_epochs')
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.warmup_epochs = warmup_epochs
        self.main_loader = self.dataloader
        self.step = TRAIN_STEPS.build(step)
        self.step.bind(runner)
        self.warmup = WARMUPS.build(warmup) if warmup_epochs else None
        if self.warmup is not None:
            self.warmup.setup(self)
        self._max_iters = self.epoch_start(self._max_epochs)
        if not getattr(runner, 'prepares_param_schedulers', False):
            check_param_schedulers(self)

    @property
    def module(self) -> torch.nn.Module:
        """The model without its distributed wrapper."""
        return self.step.module

    @property
    def in_warmup(self) -> bool:
        """Whether the current epoch is a warm-up epoch."""
        return self._epoch < self.warmup_epochs

    @property
    def reference_warmup(self) -> bool:
        """Whether warm-up epochs are left unvalidated (a reference
        warm-up)."""
        return self.warmup is not None and not self.warmup.validate

    def epoch_length(self, epoch: int) -> int:
        """Iterations of ``epoch``."""
        if epoch < self.warmup_epochs:
            return self.warmup.epoch_length(self.main_loader)
        return len(self.main_loader)

    def epoch_start(self, epoch: int) -> int:
        """Iterations trained before ``epoch`` starts."""
        warm = min(epoch, self.warmup_epochs)
        return sum(self.epoch_length(e) for e in range(warm)) + \
            (epoch - warm) * len(self.main_loader)

    def run(self) -> torch.nn.Module:
        """Launch training (validating after the epochs that allow it)."""
        if self.warmup is not None:
            self.warmup.before_train(self)
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            validate = not self.in_warmup or self.warmup.validate
            self.run_epoch()
            self._decide_current_val_interval()
            if (validate and self.runner.val_loop is not None
                    and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate one epoch, resuming mid-epoch where a checkpoint left.

        During a warm-up epoch ``self.dataloader`` (what hooks and the logger
        see as ``runner.train_dataloader``) is the warm-up's loader.
        """
        warm = self.in_warmup
        self._current_step = self.warmup.begin_epoch(self.step) \
            if warm else self.step
        loader = self.warmup.dataloader(self.main_loader) \
            if warm else self.main_loader
        self.dataloader = loader
        try:
            self.runner.call_hook('before_train_epoch')
            self.runner.model.train()
            done = self._iter - self.epoch_start(self._epoch)
            batch_sampler = loader.batch_sampler
            if hasattr(batch_sampler, 'set_epoch'):
                batch_sampler.set_epoch(self._epoch)
            if done > 0 and hasattr(batch_sampler, 'skip'):
                batch_sampler.skip(done)
            else:
                done = 0
            for idx, data_batch in enumerate(loader, start=done):
                self.run_iter(idx, data_batch)
                if self.stop_training:
                    break
            if warm:
                self.warmup.end_epoch(self, self.step,
                                      self._epoch + 1 == self.warmup_epochs)
                warm = False
            self.runner.call_hook('after_train_epoch')
        finally:
            if warm:  # interrupted: leave the main step as it was
                self.warmup.end_epoch(self, self.step, False)
            self.dataloader = self.main_loader
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: dict) -> None:
        """One iteration: hooks around the epoch's training step."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self._current_step(data_batch)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1
