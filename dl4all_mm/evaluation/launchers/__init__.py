"""Launchers: how a protocol's runs execute (``--launcher local|slurm``).

A launcher is built from the registry :data:`LAUNCHERS` (``LocalLauncher``:
a process pool on this machine; ``SlurmLauncher``: a submitit job array)
and given to :func:`~..protocol_runner.run_protocol` as its executor.
"""
from .base import BaseLauncher, LaunchError, RunPending
from .local import LocalLauncher
from .registry import LAUNCHERS
from .slurm import SlurmLauncher

__all__ = [
    'BaseLauncher', 'LAUNCHERS', 'LaunchError', 'LocalLauncher', 'RunPending',
    'SlurmLauncher'
]
