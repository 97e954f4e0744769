from .alternate_step import AlternateStep
from .base_step import BaseTrainStep
from .greedy_step import BEST_LOSS_KEY, GREEDY_RULES, GreedyStep
from .head_warmup_step import HeadWarmupStep
from .joint_step import JointStep

__all__ = [
    'BaseTrainStep', 'JointStep', 'GreedyStep', 'AlternateStep',
    'HeadWarmupStep', 'GREEDY_RULES', 'BEST_LOSS_KEY'
]
