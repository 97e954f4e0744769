"""Re-estimate BatchNorm statistics on one domain before evaluation."""
from typing import List, Optional

import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader, Subset


@HOOKS.register_module()
class DomainBNRecalibHook(Hook):
    """Recompute BatchNorm running statistics on the target domain.

    DL4ALL trains BatchNorm on domain-pure batches of every domain, so the
    running statistics mix the domains. Before each validation (and after
    the last epoch) this hook forwards ``num_batches`` training batches of
    ``domain`` through the backbone and neck in training mode (no gradient)
    to refresh every BatchNorm layer's statistics:

    - ``mode='momentum'`` (the default, the DL4ALL reference code's
      ``functions/pretrainBN.py``: 101 target-train batches, statistics not
      reset, each layer's own momentum update ``r <- (1 - m) r + m b``).
    - ``mode='cumulative'``: statistics reset, then the plain average of
      the ``num_batches`` batches' statistics (momentum ``None``).

    It runs at the end of the training epoch (with an iteration-based
    loop: after the step a validation follows, and after the last step),
    before the checkpoint hook, so saved checkpoints hold the re-estimated
    statistics. Under DDP every
    rank draws its own shard of the domain and the statistics are then
    averaged over ranks, so every rank evaluates (and rank 0 saves) the
    same statistics.

    Args:
        domain (str, optional): Domain to calibrate on. Defaults to the
            model's ``eval_domain``.
        num_batches (int): Batches to forward. Defaults to 101 (the
            reference's ``numBatchesPretrain = 100`` with its loop running
            batches 0..100).
        batch_size (int, optional): Images per batch and rank. Defaults to
            the domain's training batch size (the reference: 8 for the
            target).
        mode (str): ``'momentum'`` or ``'cumulative'``.
        seed (int): Seed of the batches drawn.
        cycle (bool): When the domain holds fewer than ``num_batches``
            full batches (per rank), cycle through it again (True, ours:
            always ``num_batches`` batches) or stop after its last full
            batch (False, the reference: ``pretrainBN`` stops at the
            loader's ``StopIteration``, its last partial batch dropped).
    """

    priority = 'ABOVE_NORMAL'
    MODES = ('momentum', 'cumulative')

    def __init__(self,
                 domain: Optional[str] = None,
                 num_batches: int = 101,
                 batch_size: Optional[int] = None,
                 mode: str = 'momentum',
                 seed: int = 0,
                 cycle: bool = True) -> None:
        if num_batches < 1:
            raise ValueError(f'DomainBNRecalibHook: num_batches must be >= '
                             f'1, got {num_batches}')
        if batch_size is not None and batch_size < 1:
            raise ValueError(f'DomainBNRecalibHook: batch_size must be >= 1,'
                             f' got {batch_size}')
        if mode not in self.MODES:
            raise ValueError(f'DomainBNRecalibHook: mode must be one of '
                             f'{self.MODES}, got {mode!r}')
        self.domain = domain
        self.num_batches = num_batches
        self.batch_size = batch_size
        self.mode = mode
        self.seed = seed
        self.cycle = cycle

    def after_train_epoch(self, runner) -> None:
        """Recalibrate when a validation follows or training ends."""
        loop = runner.train_loop
        if _iter_based(loop):
            return  # done in after_train_iter
        if getattr(loop, 'reference_warmup', False) and \
                loop.epoch < loop.warmup_epochs:
            return  # a reference warm-up epoch: no validation follows
        epoch = loop.epoch + 1
        validates = (runner.val_loop is not None and epoch >= loop.val_begin
                     and epoch % loop.val_interval == 0)
        if validates or epoch == loop.max_epochs:
            self.recalibrate(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Iteration-based loops (e.g. the mixed baseline's): recalibrate
        when a validation follows this step or training ends, before the
        checkpoint hook saves."""
        loop = runner.train_loop
        if not _iter_based(loop):
            return
        step = runner.iter + 1  # the step just done
        validates = (runner.val_loop is not None and step >= loop.val_begin
                     and step % loop.val_interval == 0)
        if validates or step == loop.max_iters:
            self.recalibrate(runner)

    def _loader(self, runner) -> DataLoader:
        train_loader = runner.train_dataloader
        dataset = train_loader.dataset
        model = _unwrap(runner.model)
        domain = self.domain or getattr(model, 'eval_domain', None)
        if domain not in getattr(dataset, 'domain_ranges', {}):
            raise KeyError(f'DomainBNRecalibHook: domain {domain!r} is not a '
                           'domain of the training dataset')
        start, stop = dataset.domain_ranges[domain]
        rank, world_size = get_dist_info()
        loop = getattr(runner, 'train_loop', None)
        when = runner.iter if _iter_based(loop) else runner.epoch
        generator = torch.Generator().manual_seed(self.seed + when)
        order = (torch.randperm(stop - start, generator=generator) +
                 start).tolist()
        batch_size = self.batch_size or _domain_batch_size(
            train_loader, domain)
        # Every rank draws the same number of full batches (cycling through
        # the domain if it is small), so the ranks' statistics are averaged
        # with equal weights and no rank sees a batch of one.
        needed = batch_size * self.num_batches
        if not self.cycle:  # stop after the last full batch of every rank
            per_rank = len(order) // world_size
            needed = min(needed, per_rank // batch_size * batch_size)
        shard = [
            order[(rank + k * world_size) % len(order)]
            for k in range(needed)
        ]
        return DataLoader(
            Subset(dataset, shard),
            batch_size=batch_size,
            drop_last=True,
            num_workers=train_loader.num_workers,
            collate_fn=train_loader.collate_fn)

    @torch.no_grad()
    def recalibrate(self, runner) -> None:
        """Re-estimate every BatchNorm layer's statistics (see ``mode``)."""
        model = _unwrap(runner.model)
        bns: List[_BatchNorm] = [
            m for m in model.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats
        ]
        if not bns:
            return
        momenta = [bn.momentum for bn in bns]
        was_training = model.training
        if self.mode == 'cumulative':
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None  # cumulative moving average
        model.train()
        loader = self._loader(runner)
        for data in loader:
            data = model.data_preprocessor(data, False)
            model.extract_feat(data['inputs'])
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
            all_reduce(bn.running_mean, op='mean')
            all_reduce(bn.running_var, op='mean')
        model.train(was_training)
        runner.logger.info(
            f'Re-estimated BatchNorm statistics of {len(bns)} layers on '
            f'{len(loader)} target batches ({self.mode}).')


def _iter_based(loop) -> bool:
    """Whether ``loop`` counts iterations (validates by step)."""
    from mmengine.runner import IterBasedTrainLoop
    return isinstance(loop, IterBasedTrainLoop)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def _domain_batch_size(loader: DataLoader, domain: str) -> int:
    sizes = getattr(loader.batch_sampler, 'batch_sizes', None) or {}
    return sizes.get(domain) or loader.batch_size or 8
