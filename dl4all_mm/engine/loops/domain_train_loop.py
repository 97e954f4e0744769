"""Epoch-based training loop for DL4ALL's interleaved multi-domain steps."""
from contextlib import contextmanager
from typing import (Dict, Iterable, Iterator, List, Optional, Sequence, Set,
                    Tuple, Union)

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import LOOPS
from torch.utils.data import DataLoader

from .domain_pass_sampler import DomainPassBatchSampler
from .greedy_steps import GREEDY_RULES, GreedyStepsMixin
from .scheduler_checks import SchedulerChecksMixin

STRATEGIES = ('joint', 'greedy', 'alternate')
WARMUP_MODES = ('reference', 'frozen_backbone')


@LOOPS.register_module()
class DomainTrainLoop(GreedyStepsMixin, SchedulerChecksMixin,
                      EpochBasedTrainLoop):
    """Train on domain batches from a :class:`DomainBatchSampler`.

    Strategies (what one dataloader batch, i.e. one iteration, does):

    - ``joint`` (DL4ALL Regular/Self): every domain of the batch is forwarded
      separately, the weighted losses are summed, one optimizer step.
    - ``greedy`` (DL4ALL Greedy), with ``greedy_rule``:

      - ``'reference'`` (default, the authors' rule): snapshot model and
        optimizer; step on the source part (the head's loss weight, e.g.
        0.5, no gradient rescaling: one domain in the step); refresh the
        BatchNorm running statistics with a no-grad train-mode forward of the
        target part; forward the target part in train mode and compare its
        unweighted loss with ``best_loss``, the lowest target loss of any
        kept iteration of the whole run (``+inf`` at the start, never reset,
        saved in checkpoints through the message hub). If lower,
        ``best_loss`` takes it and a second step is taken on that same
        forward's loss times the head's loss weight, with the head-gradient
        rescaling of the whole step's batch sizes. Otherwise model and
        optimizer are restored, BatchNorm is refreshed again and one step is
        taken on the *unweighted* target loss, without rescaling.
      - ``'same_batch'``: keep the source step only if the target loss after
        it is lower than before it, measured on the same target part (both
        no-grad forwards in train mode replay the same random state, so
        dropout masks do not decide); otherwise restore and step on the
        target part.

      Every rank takes the same decision (losses are averaged over ranks);
      ``greedy_kept`` (1 kept, 0 undone) is logged each iteration.
    - ``alternate``: one optimizer step per domain of the batch, in order.

    Warm-up (the first ``warmup_epochs`` epochs), with ``warmup_mode``:

    - ``'reference'`` (default, the authors' warm-up): each warm-up epoch is
      one pass over every domain's training set in turn (source, then
      target), in domain-pure batches of the sampler's per-domain batch
      sizes (:class:`DomainPassBatchSampler`, last partial batch dropped);
      each step updates only the head of its domain, on the domain's
      unweighted loss, at that head's learning rate; BatchNorm is in train
      mode. No validation after warm-up epochs. When the warm-up ends the
      optimizer's state (momentum) is cleared: the main training starts
      with a fresh optimizer.
    - ``'frozen_backbone'``: warm-up epochs are ordinary epochs of the
      strategy with the gradients of the ``frozen`` submodules dropped
      before each optimizer step (the optimizer state carries over and the
      epochs are validated).

    Iterations are counted per batch: a reference warm-up epoch has
    ``sum_d floor(N_d / (B_d * world_size))`` iterations, every other epoch
    ``len(dataloader)``, and ``max_iters`` is their exact sum, so the ETA,
    iteration-based checkpoints and schedulers are exact and a resume from a
    mid-epoch checkpoint skips the batches already trained (the samplers do
    not load them). Epoch-based schedulers converted to iterations
    (``convert_to_iter_based=True``) assume ``len(dataloader)`` iterations
    an epoch; after a reference warm-up of a different length they are
    shifted so that epoch ``e`` starts where it really starts, which needs
    them to begin at or after ``warmup_epochs``.

    A parameter scheduler that would begin at or after the end of training
    (e.g. ``begin=1`` with ``max_epochs=1``) would never act; it is dropped
    with a warning instead of failing in mmengine.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Training dataloader.
        max_epochs (int): Total epochs, warm-up included.
        strategy (str): ``'joint'``, ``'greedy'`` or ``'alternate'``.
        greedy_rule (str): ``'reference'`` or ``'same_batch'``.
        warmup_epochs (int): Warm-up epochs. Defaults to 0.
        warmup_mode (str): ``'reference'`` or ``'frozen_backbone'``.
        frozen (sequence of str): Model attributes frozen during a
            ``'frozen_backbone'`` warm-up.
        source_domain (str, optional): Greedy's source. Defaults to the
            model's first domain.
        target_domain (str, optional): Greedy's target. Defaults to the
            model's last domain.
        **kwargs: ``EpochBasedTrainLoop`` arguments (``val_begin``,
            ``val_interval``, ``dynamic_intervals``).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 strategy: str = 'joint',
                 greedy_rule: str = 'reference',
                 warmup_epochs: int = 0,
                 warmup_mode: str = 'reference',
                 frozen: Sequence[str] = ('backbone', 'neck'),
                 source_domain: Optional[str] = None,
                 target_domain: Optional[str] = None,
                 **kwargs) -> None:
        for field, value, allowed in (('strategy', strategy, STRATEGIES),
                                      ('greedy_rule', greedy_rule,
                                       GREEDY_RULES),
                                      ('warmup_mode', warmup_mode,
                                       WARMUP_MODES)):
            if value not in allowed:
                raise ValueError(f'train_cfg.{field}={value!r}; expected one '
                                 f'of {allowed}')
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f'train_cfg.max_epochs={max_epochs!r} must be '
                             'an int >= 1')
        if not 0 <= warmup_epochs < max_epochs:
            raise ValueError(
                f'train_cfg.warmup_epochs={warmup_epochs} must be in [0, '
                f'max_epochs={max_epochs}): at least one epoch must train '
                'after the warm-up; raise max_epochs or lower warmup_epochs')
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.strategy = strategy
        self.greedy_rule = greedy_rule
        self.warmup_epochs = warmup_epochs
        self.warmup_mode = warmup_mode
        self.frozen = tuple(frozen)
        domains = list(getattr(self.module, 'domains', []))
        if not domains:
            raise TypeError('DomainTrainLoop needs a model with `domains` '
                            '(e.g. DomainImageClassifier)')
        self.source_domain = source_domain or domains[0]
        self.target_domain = target_domain or domains[-1]
        for field, name in (('source_domain', self.source_domain),
                            ('target_domain', self.target_domain)):
            if name not in domains:
                raise KeyError(f'train_cfg.{field}={name!r} is not one of '
                               f'the model heads {domains}')
        self._frozen_active = False
        # the main (paired) dataloader; ``self.dataloader`` points at the
        # warm-up loader during reference warm-up epochs, so the logger's
        # "[epoch][iter/len]" and every hook see the epoch's real loader
        self._main_loader = self.dataloader
        self._warmup_sampler: Optional[DomainPassBatchSampler] = None
        self._warmup_loader: Optional[DataLoader] = None
        if self.reference_warmup:
            self._warmup_sampler = self._build_warmup_sampler(domains)
        self._max_iters = self.epoch_start(self._max_epochs)
        self._converted = self._check_param_schedulers()

    # ------------------------------------------------------------ counting
    @property
    def module(self) -> torch.nn.Module:
        """The model without its distributed wrapper."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    @property
    def reference_warmup(self) -> bool:
        """Whether the warm-up epochs are reference warm-up passes."""
        return self.warmup_epochs > 0 and self.warmup_mode == 'reference'

    @property
    def in_warmup(self) -> bool:
        """Whether the current epoch is a warm-up epoch."""
        return self._epoch < self.warmup_epochs

    def epoch_length(self, epoch: int) -> int:
        """Iterations of ``epoch``."""
        if self.reference_warmup and epoch < self.warmup_epochs:
            return len(self._warmup_sampler)
        return len(self._main_loader)

    def epoch_start(self, epoch: int) -> int:
        """Iterations trained before ``epoch`` starts."""
        warm = min(epoch, self.warmup_epochs)
        return sum(self.epoch_length(e) for e in range(warm)) + \
            (epoch - warm) * len(self._main_loader)

    def _build_warmup_sampler(self,
                              domains: List[str]) -> DomainPassBatchSampler:
        batch_sampler = self.dataloader.batch_sampler
        needed = ('ranges', 'batch_sizes', 'seed', 'rank', 'world_size')
        if not all(hasattr(batch_sampler, a) for a in needed):
            raise TypeError(
                "train_cfg.warmup_mode='reference' needs the training "
                'dataloader to use a DomainBatchSampler (its per-domain batch '
                f'sizes), got {type(batch_sampler).__name__}; use '
                "warmup_mode='frozen_backbone' or warmup_epochs=0")
        return DomainPassBatchSampler(
            batch_sampler.ranges,
            batch_sampler.batch_sizes,
            [d for d in domains if d in batch_sampler.ranges],
            seed=batch_sampler.seed,
            rank=batch_sampler.rank,
            world_size=batch_sampler.world_size,
            shuffle=getattr(batch_sampler, 'shuffle', True),
            sampler=getattr(batch_sampler, 'sampler', None))

    # --------------------------------------------------------------- running
    def run(self) -> torch.nn.Module:
        """Launch training (no validation after reference warm-up epochs)."""
        self._shift_converted_schedulers()
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            warmup_epoch = self.in_warmup
            self.run_epoch()
            self._decide_current_val_interval()
            if warmup_epoch and self.reference_warmup:
                continue
            if (self.runner.val_loop is not None
                    and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate one epoch, resuming mid-epoch where a checkpoint left.

        During a reference warm-up epoch ``self.dataloader`` (what hooks and
        the logger see as ``runner.train_dataloader``) is the warm-up loader.
        """
        warmup = self.reference_warmup and self.in_warmup
        loader = self._get_warmup_loader() if warmup else self._main_loader
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
            self._frozen_active = self.in_warmup and not warmup
            for idx, data_batch in enumerate(loader, start=done):
                self.run_iter(idx, data_batch)
                if self.stop_training:
                    break
            self._frozen_active = False
            if warmup and self._epoch + 1 == self.warmup_epochs:
                self._fresh_optimizer()
            self.runner.call_hook('after_train_epoch')
        finally:
            self._frozen_active = False
            self.dataloader = self._main_loader
        self._epoch += 1

    def _get_warmup_loader(self) -> DataLoader:
        """The main dataloader's dataset and workers on warm-up batches."""
        if self._warmup_loader is None:
            main = self._main_loader
            kwargs = dict(
                batch_sampler=self._warmup_sampler,
                num_workers=main.num_workers,
                collate_fn=main.collate_fn,
                pin_memory=main.pin_memory,
                worker_init_fn=main.worker_init_fn,
                generator=main.generator)
            if main.num_workers > 0:
                kwargs['prefetch_factor'] = main.prefetch_factor
            self._warmup_loader = DataLoader(main.dataset, **kwargs)
        return self._warmup_loader

    def _fresh_optimizer(self) -> None:
        """Clear the optimizer state (momentum) after the warm-up."""
        optimizer = self.runner.optim_wrapper.optimizer
        optimizer.state.clear()
        print_log('Warm-up done: optimizer state cleared', logger='current')

    def run_iter(self, idx: int, data_batch: dict) -> None:
        """One iteration: hooks around the strategy's step."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        if self.reference_warmup and self.in_warmup:
            outputs = self._warmup_step(data_batch)
        elif self.strategy == 'joint' and not self._frozen_active:
            outputs = self.runner.model.train_step(
                data_batch, optim_wrapper=self.runner.optim_wrapper)
        elif self.strategy == 'joint':
            outputs = self._step(self._preprocess(data_batch))
        elif self.strategy == 'alternate':
            outputs = self._alternate_step(data_batch)
        elif self.greedy_rule == 'reference':
            outputs = self._greedy_reference_step(data_batch)
        else:
            outputs = self._greedy_same_batch_step(data_batch)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1

    # ----------------------------------------------------------- primitives
    def _preprocess(self, data_batch: dict) -> dict:
        return self.module.data_preprocessor(data_batch, True)

    def _split(self, data_batch: dict) -> Dict[str, dict]:
        """Preprocess a batch and split it into its domains' parts."""
        data = self._preprocess(data_batch)
        groups = self.module.domain_groups(data['data_samples'])
        parts = {}
        for domain, idx in groups.items():
            index = torch.as_tensor(idx, device=data['inputs'].device)
            parts[domain] = dict(
                inputs=data['inputs'].index_select(0, index),
                data_samples=[data['data_samples'][i] for i in idx])
        return parts

    def _forward(self, data: dict) -> Tuple[torch.Tensor, dict]:
        """Loss of ``data`` through the (wrapped) model."""
        model, optim_wrapper = self.runner.model, self.runner.optim_wrapper
        with optim_wrapper.optim_context(model):
            losses = model(**data, mode='loss')
        return self.module.parse_losses(losses)

    def _update(self,
                loss: torch.Tensor,
                only: Optional[Iterable[torch.nn.Parameter]] = None) -> None:
        """``OptimWrapper.update_params`` that can restrict the step to
        ``only`` these parameters (and, during a ``'frozen_backbone'``
        warm-up, drops the frozen modules' gradients) without touching
        ``optim_wrapper.step``, which the parameter schedulers wrap."""
        optim_wrapper = self.runner.optim_wrapper
        optim_wrapper.backward(optim_wrapper.scale_loss(loss))
        if not optim_wrapper.should_update():
            return
        drop: List[torch.nn.Parameter] = []
        if only is not None:
            keep: Set[int] = {id(p) for p in only}
            drop = [p for p in self.module.parameters() if id(p) not in keep]
        elif self._frozen_active:
            drop = list(self._frozen_params())
        for p in drop:
            p.grad = None
        optim_wrapper.step()
        optim_wrapper.zero_grad()

    def _frozen_params(self) -> Iterator[torch.nn.Parameter]:
        for name in self.frozen:
            module = getattr(self.module, name, None)
            if module is not None:
                yield from module.parameters()

    def _step(self, data: dict) -> Dict[str, torch.Tensor]:
        """Forward (through the DDP wrapper if any), backward, step."""
        loss, log_vars = self._forward(data)
        self._update(loss)
        return log_vars

    @contextmanager
    def _loss_weight(self, domain: str, value: float) -> Iterator[float]:
        """Temporarily set the head's loss weight of ``domain``; yields the
        configured weight."""
        weights = getattr(self.module.head, 'loss_weights', None)
        if weights is None:
            yield 1.0
            return
        old = weights[domain]
        weights[domain] = value
        try:
            yield old
        finally:
            weights[domain] = old

    @torch.no_grad()
    def _refresh_bn(self, data: dict) -> None:
        """A no-grad train-mode forward of ``data``: BatchNorm running
        statistics take one momentum update with its batch statistics (the
        reference's ``pretrainBN_singleBatch``)."""
        with self.runner.optim_wrapper.optim_context(self.runner.model):
            self.module.extract_feat(data['inputs'])

    # ------------------------------------------------------------- strategies
    def _warmup_step(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        """Reference warm-up: the domain's unweighted loss, its head only."""
        parts = self._split(data_batch)
        log_vars: Dict[str, torch.Tensor] = {}
        for domain, part in parts.items():
            head = self.module.head.task_heads[domain]
            with self._loss_weight(domain, 1.0), self._grad_only(head):
                loss, part_vars = self._forward(part)
            self._update(loss, only=head.parameters())
            log_vars.update(part_vars)
        return log_vars

    @contextmanager
    def _grad_only(self, head: torch.nn.Module) -> Iterator[None]:
        """Without a distributed wrapper, build the autograd graph for
        ``head`` only: the other parameters' gradients would be dropped
        anyway, so the backbone's backward pass is skipped (same update,
        about a third of the cost). DDP keeps the full backward, since its
        reducer expects a gradient for every parameter it registered."""
        if is_model_wrapper(self.runner.model):
            yield
            return
        keep = {id(p) for p in head.parameters()}
        frozen = [
            p for p in self.module.parameters()
            if p.requires_grad and id(p) not in keep
        ]
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)

    def _alternate_step(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        log_vars: Dict[str, torch.Tensor] = {}
        for part in self._split(data_batch).values():
            log_vars.update(self._step(part))
        return log_vars
