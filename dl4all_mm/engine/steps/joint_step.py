"""DL4ALL Regular/Self: all domains of a batch, one optimizer step."""
from typing import Dict

import torch

from dl4all_mm.registry import TRAIN_STEPS
from .base_step import BaseTrainStep


@TRAIN_STEPS.register_module()
class JointStep(BaseTrainStep):
    """Every domain of the batch is forwarded (domain-pure BatchNorm, see
    :class:`DomainImageClassifier`), the head sums the weighted losses, one
    optimizer step: the model's own ``train_step``, as in mmengine.

    During a ``FrozenBackboneWarmup`` epoch the same forward and loss run,
    with the frozen modules' gradients dropped before the step.
    """

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        if self.frozen is None:
            return self.model.train_step(
                data_batch, optim_wrapper=self.optim_wrapper)
        return self.step(self.preprocess(data_batch))
