"""Runs in fresh processes on this machine, up to ``jobs`` at once."""
import os
import os.path as osp
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, Optional, Sequence, Tuple

from ..protocol_worker import RunFailed, subprocess_executor
from ..run_spec import RunSpec
from .base import BaseLauncher, LaunchError
from .registry import LAUNCHERS


@LAUNCHERS.register_module()
class LocalLauncher(BaseLauncher):
    """Train up to ``jobs`` runs at once, each in a fresh Python process
    (:func:`~..protocol_worker.subprocess_executor`, output in
    ``RUN/log.txt``). With ``jobs > 1`` each run process gets its share of
    the CPU cores (:meth:`thread_env`: ``OMP_NUM_THREADS``, which torch's
    intra-op thread count follows) unless ``OMP_NUM_THREADS`` is already
    set; this process's environment is not changed.

    Args:
        jobs (int): Runs trained at once (>= 1).
        run_timeout (float, optional): Seconds per run.
        retries (int): Times a failed run is started again.
    """

    def __init__(self, jobs: int = 1, run_timeout: Optional[float] = None,
                 retries: int = 0) -> None:
        super().__init__(retries)
        if not isinstance(jobs, int) or jobs < 1:
            raise LaunchError(f'--jobs {jobs!r}: expected an integer >= 1')
        self.jobs, self.run_timeout = jobs, run_timeout
        self.futures: Dict[str, Future] = {}
        self.lock = threading.Lock()

    def describe(self) -> str:
        return f'{self.jobs} run(s) at a time.'

    def thread_env(self) -> Dict[str, str]:
        """The environment added to each run process: ``OMP_NUM_THREADS``
        = cores // ``jobs`` (at least 1) when ``jobs > 1`` and it is not set
        already, else nothing."""
        if self.jobs <= 1 or 'OMP_NUM_THREADS' in os.environ:
            return {}
        return dict(OMP_NUM_THREADS=str(
            max(1, (os.cpu_count() or 1) // self.jobs)))

    def _train(self, run: RunSpec, run_dir: str) -> dict:
        extra_env = self.thread_env()
        for attempt in range(self.retries + 1):
            try:
                result = subprocess_executor(run, run_dir, self.run_timeout,
                                             extra_env)
                break
            except RunFailed:
                if attempt == self.retries:
                    raise
        return dict(result, log=osp.join(run_dir, 'log.txt'),
                    attempts=attempt + 1)

    def launch(self, runs: Sequence[Tuple[RunSpec, str]],
               work_dir: str) -> None:
        pool = ThreadPoolExecutor(self.jobs)
        with self.lock:
            self.futures = {
                run.name: pool.submit(self._train, run, run_dir)
                for run, run_dir in runs
            }
        pool.shutdown(wait=False)

    def __call__(self, run: RunSpec, run_dir: str) -> dict:
        with self.lock:
            future = self.futures.get(run.name)
        if future is None:  # called without launch: train it now
            return self._train(run, run_dir)
        return future.result()
