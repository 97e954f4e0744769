"""One optimizer step per domain of the batch."""
from typing import Dict

import torch

from dl4all_mm.registry import TRAIN_STEPS
from .base_step import BaseTrainStep


@TRAIN_STEPS.register_module()
class AlternateStep(BaseTrainStep):
    """One forward, backward and optimizer step per domain part of the
    batch, in the model's head order (source, then target)."""

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        return self.step_each_domain(data_batch)
