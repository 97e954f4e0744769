from .multilabel_soft_margin_loss import MultiLabelSoftMarginLoss
from .weighted_cross_entropy_loss import WeightedCrossEntropyLoss

__all__ = ['MultiLabelSoftMarginLoss', 'WeightedCrossEntropyLoss']
