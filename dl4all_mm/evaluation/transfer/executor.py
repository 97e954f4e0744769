"""Train several protocol runs at once (CPU cores or one GPU): the local
launcher under the name the transfer code and benchmarks use."""
import os
from typing import Optional, Sequence

from ..launchers.local import LocalLauncher
from ..run_spec import RunSpec


class ParallelExecutor(LocalLauncher):
    """:class:`~..launchers.LocalLauncher` with ``jobs`` runs at once, built
    from the arguments the transfer comparison has at hand.

    Args:
        runs (Sequence[RunSpec]): The runs ``run_protocol`` will ask for
            (``run_protocol`` launches its unfinished ones).
        work_dir (str): The ``work_dir`` given to ``run_protocol``.
        jobs (int): Runs trained at once (at least 1).
        timeout (float, optional): Seconds per run.
    """

    def __init__(self, runs: Sequence[RunSpec], work_dir: str, jobs: int,
                 timeout: Optional[float] = None) -> None:
        super().__init__(max(1, jobs), timeout)
        self.runs, self.work_dir = runs, work_dir


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
