"""dl4all_mm: DL4ALL multi-task cross-dataset transfer learning for
MMPretrain.

Importing the package registers its components in mmpretrain's registries
and applies the upstream workarounds of :mod:`dl4all_mm.compat` whose bug
the installed mmengine/torch shows (``DL4ALL_DISABLE_PATCHES`` turns them
off). It prints nothing and changes no numeric state: CPU denormal flushing
is :class:`~dl4all_mm.engine.FlushDenormalHook`, on in our configs.
"""
from .compat import apply_patches
from .version import __version__

apply_patches()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
