"""Epoch-based training loop for DL4ALL's interleaved multi-domain steps."""
import copy
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import all_reduce
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import LOOPS
from torch.utils.data import DataLoader

STRATEGIES = ('joint', 'greedy', 'alternate')


@LOOPS.register_module()
class DomainTrainLoop(EpochBasedTrainLoop):
    """Train on domain batches from a :class:`DomainBatchSampler`.

    Strategies (what one dataloader batch, i.e. one iteration, does):

    - ``joint`` (DL4ALL Regular/Self): every domain of the batch is forwarded
      separately, the weighted losses are summed, one optimizer step.
    - ``greedy`` (DL4ALL Greedy): snapshot model and optimizer, step on the
      source part, and keep that step only if the loss on the target part
      went down; otherwise restore the snapshot and step on the target part.
      Every rank takes the same decision (losses are averaged over ranks).
    - ``alternate``: one optimizer step per domain of the batch, in order.

    The first ``warmup_epochs`` epochs train with the ``frozen`` submodules'
    gradients dropped before each optimizer step (DL4ALL's warm-up of the
    heads; the gradients still flow, so DDP needs no unused-parameter
    search). Iterations are counted per dataloader batch, so ``max_iters``,
    LR schedulers and the ETA are exact, and a resume from a mid-epoch
    checkpoint skips the batches already trained (the sampler does not load
    them) and continues the domain schedule where it stopped.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Training dataloader.
        max_epochs (int): Total epochs, warm-up included.
        strategy (str): ``'joint'``, ``'greedy'`` or ``'alternate'``.
        warmup_epochs (int): Epochs with ``frozen`` modules. Defaults to 0.
        frozen (sequence of str): Model attributes frozen during warm-up.
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
                 warmup_epochs: int = 0,
                 frozen: Sequence[str] = ('backbone', 'neck'),
                 source_domain: Optional[str] = None,
                 target_domain: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        if strategy not in STRATEGIES:
            raise ValueError(f'strategy={strategy!r}; expected one of '
                             f'{STRATEGIES}')
        if not 0 <= warmup_epochs < max_epochs:
            raise ValueError(f'warmup_epochs={warmup_epochs} must be in '
                             f'[0, max_epochs={max_epochs})')
        self.strategy = strategy
        self.warmup_epochs = warmup_epochs
        self.frozen = tuple(frozen)
        domains = list(getattr(self.module, 'domains', []))
        if not domains:
            raise TypeError('DomainTrainLoop needs a model with `domains` '
                            '(e.g. DomainImageClassifier)')
        self.source_domain = source_domain or domains[0]
        self.target_domain = target_domain or domains[-1]
        for name in (self.source_domain, self.target_domain):
            if name not in domains:
                raise KeyError(f'Domain {name!r} is not one of the model '
                               f'heads {domains}')

    @property
    def module(self) -> torch.nn.Module:
        """The model without its distributed wrapper."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    @property
    def in_warmup(self) -> bool:
        """Whether the current epoch is a warm-up epoch."""
        return self._epoch < self.warmup_epochs

    def run_epoch(self) -> None:
        """Iterate one epoch, resuming mid-epoch where a checkpoint left."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        done = self._iter - self._epoch * len(self.dataloader)
        batch_sampler = self.dataloader.batch_sampler
        if hasattr(batch_sampler, 'set_epoch'):
            batch_sampler.set_epoch(self._epoch)
        if done > 0 and hasattr(batch_sampler, 'skip'):
            batch_sampler.skip(done)
        else:
            done = 0
        with self._warmup_context():
            for idx, data_batch in enumerate(self.dataloader, start=done):
                self.run_iter(idx, data_batch)
                if self.stop_training:
                    break
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    @contextmanager
    def _warmup_context(self) -> Iterator[None]:
        """Drop the frozen modules' gradients before each optimizer step."""
        if not self.in_warmup:
            yield
            return
        params = [
            p for name in self.frozen
            for p in (getattr(self.module, name, None) or torch.nn.Module()
                      ).parameters()
        ]
        optim_wrapper = self.runner.optim_wrapper
        step = optim_wrapper.step

        def step_heads_only(*args, **kwargs):
            for p in params:
                p.grad = None
            return step(*args, **kwargs)

        optim_wrapper.step = step_heads_only
        try:
            yield
        finally:
            del optim_wrapper.step

    def run_iter(self, idx: int, data_batch: dict) -> None:
        """One iteration: hooks around the strategy's step."""
        self.runner.call_hook(
            'before_train_iter', batch_idx=idx, data_batch=data_batch)
        if self.strategy == 'joint':
            outputs = self.runner.model.train_step(
                data_batch, optim_wrapper=self.runner.optim_wrapper)
        elif self.strategy == 'alternate':
            outputs = self._alternate_step(data_batch)
        else:
            outputs = self._greedy_step(data_batch)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        self._iter += 1

    def _split(self, data_batch: dict) -> Dict[str, dict]:
        """Preprocess a batch and split it into its domains' parts."""
        data = self.module.data_preprocessor(data_batch, True)
        groups = self.module.domain_groups(data['data_samples'])
        parts = {}
        for domain, idx in groups.items():
            index = torch.as_tensor(idx, device=data['inputs'].device)
            parts[domain] = dict(
                inputs=data['inputs'].index_select(0, index),
                data_samples=[data['data_samples'][i] for i in idx])
        return parts

    def _step(self, data: dict) -> Dict[str, torch.Tensor]:
        """Forward (through the DDP wrapper if any), backward, step."""
        model, optim_wrapper = self.runner.model, self.runner.optim_wrapper
        with optim_wrapper.optim_context(model):
            losses = model(**data, mode='loss')
        loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    @torch.no_grad()
    def _loss_of(self, data: dict) -> torch.Tensor:
        """Loss on ``data``, leaving BatchNorm buffers as they were."""
        saved = [b.clone() for b in self.module.buffers()]
        loss, _ = self.module.parse_losses(
            self.module(**data, mode='loss'))
        for buf, old in zip(self.module.buffers(), saved):
            buf.copy_(old)
        loss = loss.detach().clone()
        all_reduce(loss, op='mean')  # every rank takes the same decision
        return loss

    def _alternate_step(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        log_vars: Dict[str, torch.Tensor] = {}
        for part in self._split(data_batch).values():
            log_vars.update(self._step(part))
        return log_vars

    def _greedy_step(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        parts = self._split(data_batch)
        source = parts.get(self.source_domain)
        target = parts.get(self.target_domain)
        if source is None or target is None:
            return self._alternate_step(data_batch)
        optim_wrapper = self.runner.optim_wrapper
        model_state, optim_state = _snapshot(self.module, optim_wrapper)
        before = self._loss_of(target)
        log_vars = self._step(source)
        after = self._loss_of(target)
        kept = bool(after < before)
        if not kept:
            self.module.load_state_dict(model_state)
            optim_wrapper.load_state_dict(optim_state)
            log_vars = self._step(target)
        log_vars['greedy_kept'] = torch.tensor(float(kept))
        return log_vars


def _snapshot(module: torch.nn.Module, optim_wrapper) -> Tuple[dict, dict]:
    """Deep copies of the model's and the optimizer wrapper's states."""
    model_state = {k: v.clone() for k, v in module.state_dict().items()}
    optim_state = copy.deepcopy(optim_wrapper.state_dict())
    return model_state, optim_state

