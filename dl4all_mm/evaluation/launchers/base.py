"""What every launcher does: start a protocol's unfinished runs, then hand
:func:`~..protocol_runner.run_protocol` each run's result in run order."""
from typing import List, Sequence, Tuple

from ..run_spec import RunSpec


class LaunchError(ValueError):
    """Bad launcher input (an option value); the front ends exit 2."""


class RunPending(RuntimeError):
    """The run was submitted but is not finished (``--no-wait``): neither a
    record nor a failure; the same command collects it later."""


class BaseLauncher:
    """Executes runs for ``run_protocol``.

    ``run_protocol`` first calls :meth:`launch` with every unfinished run
    (their ``spec.json`` written), then calls the launcher like an executor,
    ``launcher(run, run_dir)``, once per unfinished run in run order; that
    returns the worker's result (``{'metrics', 'wall_s', 'log', ...}``),
    raises :class:`RunPending` for a run still queued or running, or raises
    another exception for a failed run.

    Args:
        retries (int): Times a failed run is started again within one
            command before it counts as failed.
    """

    def __init__(self, retries: int = 0) -> None:
        if not isinstance(retries, int) or retries < 0:
            raise LaunchError(f'--retries {retries!r}: expected an integer '
                              '>= 0')
        self.retries = retries
        self.pending: List[str] = []  # runs left running (no-wait)

    def launch(self, runs: Sequence[Tuple[RunSpec, str]],
               work_dir: str) -> None:
        """Start every ``(run, run_dir)`` of ``runs``."""
        raise NotImplementedError

    def __call__(self, run: RunSpec, run_dir: str) -> dict:
        raise NotImplementedError

    def describe(self) -> str:
        """How the runs execute, a sentence for the report's notes."""
        raise NotImplementedError
