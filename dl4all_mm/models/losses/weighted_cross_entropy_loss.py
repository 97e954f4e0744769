"""Class-weighted softmax cross-entropy with torch's weighted mean."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .class_weighted_loss import ClassWeightedLoss


@MODELS.register_module()
class WeightedCrossEntropyLoss(ClassWeightedLoss):
    """``torch.nn.CrossEntropyLoss(weight=...)`` for mmpretrain's heads.

    With per-class weights ``w`` and hard labels ``y_i`` the mean is the
    *weighted* mean, as in torch::

        loss = loss_weight * sum_i w_{y_i} * CE_i / sum_i w_{y_i}

    which the DL4ALL reference uses for the target (and Self) heads.
    mmpretrain's ``CrossEntropyLoss(class_weight=...)`` divides by N
    instead, so its scale (and each batch's effective step) changes with
    the weights and the batch's class mix. Without ``class_weight`` both
    are the plain mean. Probability (soft) targets are passed to
    ``torch.nn.functional.cross_entropy`` as they are (mean over N).
    ``class_weight`` may be set after construction (see
    :class:`DomainClassWeightHook`).

    Args:
        class_weight (Sequence[float], optional): Per-class weights ``w``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
        reduction (str): ``'mean'`` (weighted mean), ``'sum'`` or
            ``'none'``.
    """

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[int] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Loss of logits ``cls_score`` (N, C) against class indices (N,)
        or probabilities (N, C). ``avg_factor`` is ignored (the weighted
        mean has its own normaliser); sample ``weight`` is not supported."""
        if weight is not None:
            raise ValueError('WeightedCrossEntropyLoss does not take sample '
                             'weights; use class_weight')
        class_weight = self.class_weight_like(cls_score)
        if label.dim() == cls_score.dim():
            label = label.to(cls_score.dtype)  # probabilities
        else:
            label = label.reshape(-1).long()
        reduction = reduction_override or self.reduction
        loss = F.cross_entropy(
            cls_score, label, weight=class_weight, reduction=reduction)
        return self.loss_weight * loss
