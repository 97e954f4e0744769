"""Common part of the plugin's class-weighted losses."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

REDUCTIONS = ('mean', 'sum', 'none')


class ClassWeightedLoss(nn.Module):
    """A loss with per-class weights that may be set after construction
    (:class:`DomainClassWeightHook` fills ``class_weight`` before training).

    Args:
        class_weight (Sequence[float], optional): Per-class weights.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
    """

    def __init__(self,
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction must be one '
                             f'of {REDUCTIONS}, got {reduction!r}')
        self.class_weight = class_weight
        self.loss_weight = loss_weight
        self.reduction = reduction

    def class_weight_like(self,
                          cls_score: torch.Tensor) -> Optional[torch.Tensor]:
        """``class_weight`` as a tensor on ``cls_score``'s device and dtype,
        checked against its number of classes (None when unset)."""
        if self.class_weight is None:
            return None
        class_weight = cls_score.new_tensor(self.class_weight)
        if class_weight.numel() != cls_score.size(-1):
            raise ValueError(
                f'{type(self).__name__}: {class_weight.numel()} class '
                f'weights for {cls_score.size(-1)} classes')
        return class_weight
