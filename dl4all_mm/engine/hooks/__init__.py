from .atomic_checkpoint_hook import AtomicCheckpointHook
from .bn_recalib_hook import DomainBNRecalibHook
from .channels_last_hook import ChannelsLastHook
from .class_weight_hook import DomainClassWeightHook
from .config_check_hook import DomainConfigCheckHook
from .finite_loss_hook import FiniteLossHook
from .flush_denormal_hook import FlushDenormalHook
from .leakage_guard_hook import LeakageGuardHook
from .train_progress_bar_hook import TrainProgressBarHook

__all__ = [
    'AtomicCheckpointHook', 'DomainBNRecalibHook', 'ChannelsLastHook',
    'DomainClassWeightHook', 'DomainConfigCheckHook', 'FiniteLossHook',
    'FlushDenormalHook', 'LeakageGuardHook', 'TrainProgressBarHook'
]
