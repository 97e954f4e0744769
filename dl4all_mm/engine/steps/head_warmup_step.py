"""The reference warm-up's step: each domain's own head only."""
from contextlib import contextmanager
from typing import Dict, Iterator

import torch
from mmengine.model import is_model_wrapper

from dl4all_mm.registry import TRAIN_STEPS
from .base_step import BaseTrainStep


@TRAIN_STEPS.register_module()
class HeadWarmupStep(BaseTrainStep):
    """For each domain part of the batch (the reference warm-up's batches
    are domain-pure): forward in train mode (BatchNorm statistics move),
    the domain's *unweighted* loss, and a step of that domain's head only,
    at the head's learning rate (the authors' ``functions/warmup.py``).
    """

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        log_vars: Dict[str, torch.Tensor] = {}
        for domain, part in self.split(data_batch).items():
            head = self.module.head.task_heads[domain]
            with self.loss_weight(domain, 1.0), self._grad_only(head):
                loss, part_vars = self.forward(part)
            self.update(loss, only=head.parameters())
            log_vars.update(part_vars)
        return log_vars

    @contextmanager
    def _grad_only(self, head: torch.nn.Module) -> Iterator[None]:
        """Without a distributed wrapper, build the autograd graph for
        ``head`` only: the other parameters' gradients would be dropped
        anyway, so the backbone's backward pass is skipped (same update,
        about a third of the cost). DDP keeps the full backward, since its
        reducer expects a gradient for every parameter it registered."""
        if is_model_wrapper(self.model):
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
