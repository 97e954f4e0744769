from .bn_recalib_hook import DomainBNRecalibHook
from .channels_last_hook import ChannelsLastHook
from .config_check_hook import DomainConfigCheckHook
from .finite_loss_hook import FiniteLossHook
from .leakage_guard_hook import LeakageGuardHook

__all__ = [
    'DomainBNRecalibHook', 'ChannelsLastHook', 'DomainConfigCheckHook',
    'FiniteLossHook', 'LeakageGuardHook'
]
