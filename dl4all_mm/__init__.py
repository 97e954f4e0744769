"""dl4all_mm: DL4ALL multi-task cross-dataset transfer learning for
MMPretrain.

Importing the package registers its components in mmpretrain's registries
(and the ``atomic_local`` file backend in mmengine's) and changes nothing
else: no mmengine function is replaced, no checkpoint loader registered,
no numeric state touched. What our configs select instead:
``runner_type='DL4ALLRunner'``, ``AtomicCheckpointHook``,
``DL4ALLDistributedDataParallel``, ``FlushDenormalHook`` and, through
``custom_imports``, the safe checkpoint loader
(:mod:`dl4all_mm.engine.runners.use_safe_loader`).
"""
from .version import __version__

from . import datasets, engine, evaluation, fileio, models  # noqa: E402,F401

__all__ = ['__version__']
