"""Class-weighted multi-label soft-margin loss (torch semantics)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .class_weighted_loss import ClassWeightedLoss


@MODELS.register_module()
class MultiLabelSoftMarginLoss(ClassWeightedLoss):
    """``torch.nn.MultiLabelSoftMarginLoss`` for mmpretrain's multi-label
    heads (``MultiLabelLinearClsHead``, ...).

    For logits ``x`` (N, C), 0/1 (or soft) targets ``y`` and per-class
    weights ``w`` (ones when ``class_weight`` is None)::

        loss_i = -1/C * sum_c w_c * (y_ic * log(sigmoid(x_ic))
                                     + (1 - y_ic) * log(sigmoid(-x_ic)))
        loss   = loss_weight * mean_i(loss_i)

    i.e. the sigmoid cross-entropy averaged over the classes and the
    samples, as the DL4ALL reference trains its Regular source head
    (``torch.nn.MultiLabelSoftMarginLoss(weight=...)``). Unlike
    mmpretrain's ``CrossEntropyLoss(use_sigmoid=True)`` (a sum over the
    classes) the scale does not grow with the number of classes.
    ``class_weight`` may be set after construction (see
    :class:`DomainClassWeightHook`).

    Args:
        class_weight (Sequence[float], optional): Per-class weights ``w``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
        reduction (str): ``'mean'`` (over samples), ``'sum'`` or ``'none'``.
    """

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[int] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Loss of logits ``cls_score`` (N, C) against ``label`` (N, C).

        ``weight`` (N,) weights the samples; ``avg_factor`` (mmpretrain's
        heads pass N) replaces N in the mean.
        """
        if label.shape != cls_score.shape:
            raise ValueError(
                f'MultiLabelSoftMarginLoss: label shape {tuple(label.shape)}'
                f' != score shape {tuple(cls_score.shape)}; expected one-hot '
                'multi-label targets')
        label = label.to(cls_score.dtype)
        per_class = -(label * F.logsigmoid(cls_score) +
                      (1 - label) * F.logsigmoid(-cls_score))
        class_weight = self.class_weight_like(cls_score)
        if class_weight is not None:
            per_class = per_class * class_weight
        loss = per_class.mean(dim=-1)
        if weight is not None:
            loss = loss * weight.to(loss.dtype).reshape(-1)
        reduction = reduction_override or self.reduction
        if reduction == 'mean':
            loss = loss.sum() / avg_factor if avg_factor else loss.mean()
        elif reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss
