"""DL4ALL Greedy: keep the source step only if the target gains."""
import copy
import math
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import torch
from mmengine.dist import all_reduce

from dl4all_mm.registry import TRAIN_STEPS
from .base_step import BaseTrainStep

GREEDY_RULES = ('reference', 'same_batch')
#: Message-hub key of the reference rule's ``best_loss`` (checkpointed).
BEST_LOSS_KEY = 'dl4all_greedy_best_loss'


@TRAIN_STEPS.register_module()
class GreedyStep(BaseTrainStep):
    """DL4ALL Greedy on a batch with a source and a target part.

    - ``rule='reference'`` (the authors' rule): snapshot model and
      optimizer; step on the source part (the head's loss weight, e.g. 0.5,
      no gradient rescaling: one domain in the step); refresh the BatchNorm
      running statistics with a no-grad train-mode forward of the target
      part; forward the target part in train mode and compare its
      unweighted loss with :attr:`best_loss`, the lowest target loss of any
      kept iteration of the whole run (``+inf`` at the start, never reset).
      If lower, ``best_loss`` takes it and a second step is taken on that
      same forward's loss times the head's loss weight, with the
      head-gradient rescaling of the whole step's batch sizes. Otherwise
      model and optimizer are restored, BatchNorm is refreshed again and
      one step is taken on the *unweighted* target loss, without rescaling.
    - ``rule='same_batch'``: keep the source step only if the target loss
      after it is lower than before it, measured on the same target part
      (both no-grad forwards in train mode replay the same random state, so
      dropout masks do not decide); otherwise restore and step on the
      target part.

    Every rank takes the same decision (losses are averaged over ranks);
    ``greedy_kept`` (1 kept, 0 undone) is logged each iteration. A batch
    without both parts gets one step per domain. ``best_loss`` is this
    step's resumable state: it lives in the runner's message hub, which
    every checkpoint saves and a resume restores.

    Args:
        rule (str): ``'reference'`` or ``'same_batch'``.
        source_domain (str, optional): Defaults to the model's first domain.
        target_domain (str, optional): Defaults to the model's last domain.
    """

    def __init__(self,
                 rule: str = 'reference',
                 source_domain: Optional[str] = None,
                 target_domain: Optional[str] = None) -> None:
        super().__init__()
        if rule not in GREEDY_RULES:
            raise ValueError(f'GreedyStep: rule={rule!r}; expected one of '
                             f'{GREEDY_RULES}')
        self.rule = rule
        self.source_domain = source_domain
        self.target_domain = target_domain

    def bind(self, runner) -> None:
        """Resolve and check the source and target domains."""
        super().bind(runner)
        domains = list(self.module.domains)
        self.source_domain = self.source_domain or domains[0]
        self.target_domain = self.target_domain or domains[-1]
        for field in ('source_domain', 'target_domain'):
            if getattr(self, field) not in domains:
                raise KeyError(f'GreedyStep: {field}={getattr(self, field)!r}'
                               f' is not one of the model heads {domains}')

    @property
    def best_loss(self) -> float:
        """Reference rule: lowest target loss of a kept iteration."""
        return float(
            self.runner.message_hub.get_info(BEST_LOSS_KEY, math.inf))

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        parts = self.split(data_batch)
        source = parts.get(self.source_domain)
        target = parts.get(self.target_domain)
        if source is None or target is None:
            log_vars: Dict[str, torch.Tensor] = {}
            for part in parts.values():
                log_vars.update(self.step(part))
            return log_vars
        if self.rule == 'reference':
            return self._reference(parts, source, target)
        return self._same_batch(source, target)

    def _reference(self, parts: Dict[str, dict], source: dict,
                   target: dict) -> Dict[str, torch.Tensor]:
        head = self.module.head
        sizes = {d: len(p['data_samples']) for d, p in parts.items()}
        model_state, optim_state = self._snapshot()
        log_vars = self.step(source)
        self.refresh_bn(target)
        with self.loss_weight(self.target_domain, 1.0) as weight:
            loss, target_vars = self.forward(target)
        compared = loss.detach().clone()
        all_reduce(compared, op='mean')  # every rank takes the same decision
        compared = float(compared)
        kept = compared < self.best_loss
        self._record_best_loss(compared, kept)
        if kept:
            if getattr(head, 'grad_rescale', False):
                head.set_domain_batch_sizes(sizes)
            self.update(loss * weight)
            key = f'{self.target_domain}_loss'
            target_vars[key] = target_vars[key] * weight
            log_vars.update(
                {k: v for k, v in target_vars.items() if k != 'loss'})
            log_vars['loss'] = log_vars['loss'] + loss.detach() * weight
        else:
            del loss
            self._restore(model_state, optim_state)
            self.refresh_bn(target)
            with self.loss_weight(self.target_domain, 1.0):
                loss, log_vars = self.forward(target)
            self.update(loss)
        log_vars['greedy_kept'] = torch.tensor(float(kept))
        log_vars['greedy_target_loss'] = torch.tensor(compared)
        log_vars['greedy_best_loss'] = torch.tensor(self.best_loss)
        return log_vars

    def _record_best_loss(self, compared: float, kept: bool) -> None:
        """``best_loss`` takes the compared loss of a *kept* iteration
        only (``1c`` ``train_model_val``: the lowest kept loss of the run).
        """
        if kept:
            self.runner.message_hub.update_info(BEST_LOSS_KEY, compared)

    def _same_batch(self, source: dict,
                    target: dict) -> Dict[str, torch.Tensor]:
        model_state, optim_state = self._snapshot()
        rng = _rng_state(target['inputs'].device)
        before = self.loss_of(target, rng)
        log_vars = self.step(source)
        after = self.loss_of(target, rng)
        kept = bool(after < before)
        if not kept:
            self._restore(model_state, optim_state)
            log_vars = self.step(target)
        log_vars['greedy_kept'] = torch.tensor(float(kept))
        return log_vars

    @torch.no_grad()
    def loss_of(self, data: dict, rng: Optional[tuple] = None
                ) -> torch.Tensor:
        """Loss on ``data``, leaving BatchNorm buffers and the global random
        state as they were; ``rng`` (from :func:`_rng_state`) is replayed so
        that two calls draw the same dropout masks."""
        saved = [b.clone() for b in self.module.buffers()]
        with _replayed_rng(rng, data['inputs'].device):
            loss, _ = self.module.parse_losses(
                self.module(**data, mode='loss'))
        for buf, old in zip(self.module.buffers(), saved):
            buf.copy_(old)
        loss = loss.detach().clone()
        all_reduce(loss, op='mean')  # every rank takes the same decision
        return loss

    def _snapshot(self) -> Tuple[dict, dict]:
        """Deep copies of the model's and the optimizer wrapper's states."""
        model_state = {
            k: v.clone()
            for k, v in self.module.state_dict().items()
        }
        optim_state = copy.deepcopy(self.optim_wrapper.state_dict())
        return model_state, optim_state

    def _restore(self, model_state: dict, optim_state: dict) -> None:
        self.module.load_state_dict(model_state)
        self.optim_wrapper.load_state_dict(optim_state)


def _rng_state(device: torch.device) -> tuple:
    """The CPU (and ``device``'s CUDA) random state."""
    cuda = torch.cuda.get_rng_state(device) \
        if device.type == 'cuda' else None
    return torch.get_rng_state(), cuda


@contextmanager
def _replayed_rng(state: Optional[tuple],
                  device: torch.device) -> Iterator[None]:
    """Run with ``state`` as the random state, restoring the global state
    afterwards (nothing happens when ``state`` is None)."""
    if state is None:
        yield
        return
    devices = [device] if device.type == 'cuda' else []
    with torch.random.fork_rng(devices=devices):
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], device)
        yield
