"""dl4all_mm: DL4ALL multi-task cross-dataset transfer learning for
MMPretrain. Importing the package registers its components in mmpretrain's
registries, applies the upstream workarounds of :mod:`dl4all_mm.compat` and
flushes CPU denormals (:mod:`dl4all_mm.utils.denormals`).
"""
from .compat import apply_patches
from .utils import flush_denormals
from .version import __version__

apply_patches()
flush_denormals()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
