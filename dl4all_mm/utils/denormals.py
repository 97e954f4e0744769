"""Flush denormal floats to zero on the CPU, as a runtime choice.

Training on the CPU can reach denormal (subnormal) float32 values after a
few epochs, and many CPUs compute on them far more slowly (the cost depends
on the CPU: ``benchmarks/denormals.py`` measures it; docs/benchmarks.md,
section 6). Values below 1.2e-38 become zero, which does not change
training in any measurable way; TensorFlow and most inference runtimes
flush them by default.

Flushing sets the CPU's FTZ/DAZ flags of the calling thread, which numpy
shares with torch; torch's intra-op threads inherit them only when they are
created. Importing :mod:`dl4all_mm` does not flush: our configs
turn it on with :class:`FlushDenormalHook` for the run, and restore the
previous state after it. ``DL4ALL_KEEP_DENORMALS=1`` keeps denormals even
where the hook is configured.
"""
import os

import torch

KEEP_ENV = 'DL4ALL_KEEP_DENORMALS'


def keep_denormals_requested() -> bool:
    """Whether ``DL4ALL_KEEP_DENORMALS`` asks to keep denormals."""
    return os.environ.get(KEEP_ENV, '0').lower() in ('1', 'true', 'yes')


def denormals_flushed() -> bool:
    """Whether CPU float32 denormals are flushed to zero in this thread
    (torch has no getter: a denormal is computed and compared with 0)."""
    smallest_normal = torch.full((1, ), 2.0**-126, dtype=torch.float32)
    return (smallest_normal / 4).item() == 0.0


def set_flush_denormals(flush: bool) -> bool:
    """Turn flushing on or off; return whether it is on (False where the
    CPU cannot flush)."""
    return bool(torch.set_flush_denormal(flush)) and flush


def flush_denormals() -> bool:
    """Flush CPU denormals unless ``DL4ALL_KEEP_DENORMALS=1``; return
    whether flushing is on (False where the CPU cannot do it)."""
    if keep_denormals_requested():
        torch.set_flush_denormal(False)
        return False
    return set_flush_denormals(True)
