"""Import this module to register the safe local checkpoint loader.

Our configs list it in ``custom_imports`` (``configs/_base_/
default_runtime.py``), so every client of a dl4all_mm config, mmpretrain's
own inferencer and tools included, loads checkpoints with the trust policy
of :mod:`dl4all_mm.engine.runners.checkpoint_loader`. ``import dl4all_mm``
alone does not register it.
"""
from .checkpoint_loader import register_safe_loader

register_safe_loader()
