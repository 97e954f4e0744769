"""Flush CPU denormals to zero for the duration of a run."""
import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from ...utils.denormals import (KEEP_ENV, denormals_flushed,
                                keep_denormals_requested, set_flush_denormals)


@HOOKS.register_module()
class FlushDenormalHook(Hook):
    """Flush CPU float32 denormals to zero while the runner runs.

    On many CPUs, training slows down sharply once weights or activations
    reach denormal values (:mod:`dl4all_mm.utils.denormals`; the cost
    depends on the CPU, ``benchmarks/denormals.py`` measures it); flushing
    them to zero avoids that and does not change results measurably. The hook
    turns flushing on in ``before_run`` (each of ``train()``, ``val()``,
    ``test()``), says so in the log, and restores the previous state in
    ``after_run``, so the process is left as it was found. It sets the
    flags of the main thread (where the model runs); numpy code in that
    thread is affected too while the run lasts. Threads of torch's intra-op
    pool inherit the flags only when they are created: a pool started
    before ``before_run`` keeps denormals in its threads' share of the work.

    ``configs/_base_/default_runtime.py`` registers it as
    ``default_hooks.flush_denormal``; turn it off with
    ``--cfg-options default_hooks.flush_denormal.flush=False`` (or set the
    key to ``None``), or with ``DL4ALL_KEEP_DENORMALS=1``.

    Args:
        flush (bool): Flush denormals. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, flush: bool = True) -> None:
        if not isinstance(flush, bool):
            raise TypeError(f'FlushDenormalHook: flush must be a bool, got '
                            f'{flush!r}')
        self.flush = flush
        self._previous: Optional[bool] = None

    def before_run(self, runner) -> None:
        """Turn flushing on (or off) and log the state."""
        self._previous = denormals_flushed()
        if not self.flush or keep_denormals_requested():
            set_flush_denormals(False)
            why = f'{KEEP_ENV}=1' if self.flush else 'flush=False'
            print_log(f'FlushDenormalHook: CPU denormals kept ({why}).',
                      logger='current')
            return
        if set_flush_denormals(True):
            print_log(
                'FlushDenormalHook: CPU denormal floats are flushed to zero '
                'during this run (avoids slow denormal arithmetic on the CPU; '
                f'{KEEP_ENV}=1 or default_hooks.flush_denormal.flush=False '
                'keeps them).',
                logger='current')
        else:
            print_log(
                'FlushDenormalHook: this CPU cannot flush denormals to '
                'zero; CPU training may slow down once values get tiny.',
                logger='current',
                level=logging.WARNING)

    def after_run(self, runner) -> None:
        """Restore the state found in ``before_run``."""
        if self._previous is not None:
            set_flush_denormals(self._previous)
            self._previous = None
