"""DL4ALL Greedy's two rules, as steps of :class:`DomainTrainLoop`."""
import copy
import math
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import torch
from mmengine.dist import all_reduce

GREEDY_RULES = ('reference', 'same_batch')
#: Message-hub key of the reference rule's ``best_loss`` (checkpointed).
BEST_LOSS_KEY = 'dl4all_greedy_best_loss'


class GreedyStepsMixin:
    """The ``greedy`` strategy's steps (see :class:`DomainTrainLoop`).

    Uses the loop's primitives ``_split``, ``_step``, ``_forward``,
    ``_update``, ``_refresh_bn``, ``_loss_weight`` and ``_alternate_step``.
    """

    def _greedy_parts(self, data_batch: dict
                      ) -> Tuple[Dict[str, dict], Optional[dict],
                                 Optional[dict]]:
        parts = self._split(data_batch)
        return parts, parts.get(self.source_domain), parts.get(
            self.target_domain)

    @property
    def best_loss(self) -> float:
        """Greedy (reference rule): lowest target loss of a kept iteration."""
        return float(
            self.runner.message_hub.get_info(BEST_LOSS_KEY, math.inf))

    def _greedy_reference_step(self,
                               data_batch: dict) -> Dict[str, torch.Tensor]:
        parts, source, target = self._greedy_parts(data_batch)
        if source is None or target is None:
            return self._alternate_step(data_batch)
        optim_wrapper = self.runner.optim_wrapper
        head = self.module.head
        sizes = {d: len(p['data_samples']) for d, p in parts.items()}
        model_state, optim_state = _snapshot(self.module, optim_wrapper)
        log_vars = self._step(source)
        self._refresh_bn(target)
        with self._loss_weight(self.target_domain, 1.0) as weight:
            loss, target_vars = self._forward(target)
        compared = loss.detach().clone()
        all_reduce(compared, op='mean')  # every rank takes the same decision
        compared = float(compared)
        kept = compared < self.best_loss
        if kept:
            self.runner.message_hub.update_info(BEST_LOSS_KEY, compared)
            if getattr(head, 'grad_rescale', False):
                head.set_domain_batch_sizes(sizes)
            self._update(loss * weight)
            target_vars[f'{self.target_domain}_loss'] = \
                target_vars[f'{self.target_domain}_loss'] * weight
            log_vars.update(
                {k: v for k, v in target_vars.items() if k != 'loss'})
            log_vars['loss'] = log_vars['loss'] + loss.detach() * weight
        else:
            del loss
            self.module.load_state_dict(model_state)
            optim_wrapper.load_state_dict(optim_state)
            self._refresh_bn(target)
            with self._loss_weight(self.target_domain, 1.0):
                loss, log_vars = self._forward(target)
            self._update(loss)
        log_vars['greedy_kept'] = torch.tensor(float(kept))
        log_vars['greedy_target_loss'] = torch.tensor(compared)
        log_vars['greedy_best_loss'] = torch.tensor(self.best_loss)
        return log_vars

    @torch.no_grad()
    def _loss_of(self, data: dict, rng: Optional[tuple] = None
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

    def _greedy_same_batch_step(self,
                                data_batch: dict) -> Dict[str, torch.Tensor]:
        parts, source, target = self._greedy_parts(data_batch)
        if source is None or target is None:
            return self._alternate_step(data_batch)
        optim_wrapper = self.runner.optim_wrapper
        model_state, optim_state = _snapshot(self.module, optim_wrapper)
        rng = _rng_state(target['inputs'].device)
        before = self._loss_of(target, rng)
        log_vars = self._step(source)
        after = self._loss_of(target, rng)
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
