from .checkpoint_loader import (TRUST_ENV, CorruptCheckpointError,
                                UntrustedCheckpointError, checkpoints_trusted,
                                load_checkpoint_file, register_safe_loader,
                                safe_loader_registered, trust_checkpoints)
from .dl4all_runner import DL4ALLRunner, WorkDirError, check_writable_dir
from .quiet_runner import QuietRunner

__all__ = [
    'DL4ALLRunner', 'QuietRunner', 'WorkDirError', 'check_writable_dir',
    'TRUST_ENV',
    'CorruptCheckpointError', 'UntrustedCheckpointError',
    'checkpoints_trusted', 'load_checkpoint_file', 'register_safe_loader',
    'safe_loader_registered', 'trust_checkpoints'
]
