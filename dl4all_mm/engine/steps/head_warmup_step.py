"""The reference warm-up's step: each domain's own head only."""
from typing import Dict, List, Set

import torch

from dl4all_mm.registry import TRAIN_STEPS
from .base_step import BaseTrainStep


@TRAIN_STEPS.register_module()
class HeadWarmupStep(BaseTrainStep):
    """For each domain part of the batch (the reference warm-up's batches
    are domain-pure): forward in train mode (BatchNorm statistics move),
    the domain's *unweighted* loss, and a step of that domain's head only,
    at the head's learning rate (the authors' ``functions/warmup.py``).

    Args:
        idle_head (str): What the step does to the heads of the *other*
            domains. ``'frozen'`` (ours, the default): they are not
            stepped. ``'reference'``: a head that has already had a
            gradient (its domain's pass came earlier in the warm-up) takes
            part in every step with a zero gradient, so SGD's momentum and
            weight decay keep moving it, as in the authors' code under the
            torch it ran (< 2.0, whose ``zero_grad()`` left zero tensors).
            A head counts as having had a gradient once this step stepped
            it, or (after a resume) once the optimizer holds state for it.
    """

    IDLE_HEAD_CHOICES = ('frozen', 'reference')

    def __init__(self, idle_head: str = 'frozen') -> None:
        super().__init__()
        self.idle_head = idle_head
        self._stepped: Set[str] = set()

    @property
    def idle_head(self) -> str:
        """``'frozen'`` or ``'reference'`` (see the class docstring)."""
        return self._idle_head

    @idle_head.setter
    def idle_head(self, value: str) -> None:
        if value not in self.IDLE_HEAD_CHOICES:
            raise ValueError(f'HeadWarmupStep: idle_head={value!r}; '
                             f'expected one of {self.IDLE_HEAD_CHOICES}')
        self._idle_head = value

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        log_vars: Dict[str, torch.Tensor] = {}
        for domain, part in self.split(data_batch).items():
            head = self.module.head.task_heads[domain]
            with self.loss_weight(domain, 1.0), \
                    self._grad_only(head.parameters()):
                loss, part_vars = self.forward(part)
            self.update(
                loss, only=head.parameters(), zero=self._idle_params(domain))
            self._stepped.add(domain)
            log_vars.update(part_vars)
        return log_vars

    def _idle_params(self, domain: str) -> List[torch.nn.Parameter]:
        """Under ``idle_head='reference'``: the parameters of the other
        heads that have had a gradient; else none."""
        if self.idle_head == 'frozen':
            return []
        state = self.optim_wrapper.optimizer.state
        params = []
        for name, head in self.module.head.task_heads.items():
            if name == domain:
                continue
            own = [p for p in head.parameters() if p.requires_grad]
            if name in self._stepped or any(p in state for p in own):
                params += own
        return params
