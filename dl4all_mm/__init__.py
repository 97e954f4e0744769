"""dl4all_mm: DL4ALL multi-task cross-dataset transfer learning for
MMPretrain. Importing the package registers its components in mmpretrain's
registries and applies the upstream workarounds of :mod:`dl4all_mm.compat`.
"""
from .compat import apply_patches
from .version import __version__

apply_patches()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
