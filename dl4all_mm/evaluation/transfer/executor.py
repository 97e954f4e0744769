"""Train several protocol runs at once (CPU cores or one GPU)."""
import json
import os
import os.path as osp
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

from ..protocol_worker import subprocess_executor
from ..run_spec import RunSpec


class ParallelExecutor:
    """Executor for :func:`~..protocol_runner.run_protocol` training up to
    ``jobs`` runs at once: the first call starts every pending run; each
    call then waits for its own run.

    Args:
        runs (Sequence[RunSpec]): The runs ``run_protocol`` will ask for.
        work_dir (str): The ``work_dir`` given to ``run_protocol``.
        jobs (int): Runs trained at once.
        timeout (float, optional): Seconds per run.
    """

    def __init__(self, runs: Sequence[RunSpec], work_dir: str, jobs: int,
                 timeout: Optional[float] = None) -> None:
        self.runs, self.work_dir, self.jobs = runs, work_dir, max(1, jobs)
        self.timeout = timeout
        self.futures: dict = {}
        self.lock = threading.Lock()

    def _start(self) -> None:
        pool = ThreadPoolExecutor(self.jobs)
        for run in self.runs:
            run_dir = osp.abspath(osp.join(self.work_dir, 'runs', run.name))
            if osp.exists(osp.join(run_dir, 'record.json')):
                continue
            os.makedirs(run_dir, exist_ok=True)
            with open(osp.join(run_dir, 'spec.json'), 'w') as f:
                json.dump(dict(run.to_dict(), run_dir=run_dir), f, indent=2)
            self.futures[run.name] = pool.submit(subprocess_executor, run,
                                                 run_dir, self.timeout)
        pool.shutdown(wait=False)

    def __call__(self, run: RunSpec, run_dir: str) -> dict:
        with self.lock:
            if not self.futures:
                self._start()
        return self.futures[run.name].result()


def share_cores(jobs: int) -> Optional[int]:
    """Give each of ``jobs`` parallel runs its share of the CPU cores
    (``OMP_NUM_THREADS`` of the run processes, unless already set).

    Returns:
        int | None: The threads per run set, None when nothing was set.
    """
    if jobs <= 1 or 'OMP_NUM_THREADS' in os.environ:
        return None
    threads = max(1, (os.cpu_count() or 1) // jobs)
    os.environ['OMP_NUM_THREADS'] = str(threads)
    return threads
