"""Look at a submitit job (done, running or failed) and render the sbatch
script of a job array without submitting it."""
import os
from typing import Tuple

DRY_RUN_SCRIPT = 'dry_run.sbatch'
# Slurm states of a job that may still finish (sacct).
IN_FLIGHT = ('PENDING', 'RUNNING', 'REQUEUED', 'CONFIGURING', 'COMPLETING',
             'SUSPENDED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'READY')
# Not (yet, or no longer) in the accounting database: normal for a moment
# after submission, a lost job when it lasts (the launcher bounds it).
UNKNOWN = 'UNKNOWN'


def job_status(job, state: dict) -> Tuple[str, object]:
    """``('done', result)``, ``('running', None)``, ``('unknown', None)``
    (Slurm reads the job as ``UNKNOWN``) or ``('failed', message)`` of a
    submitit job."""
    if job.paths.result_pickle.exists():
        try:
            return 'done', job.result()
        except Exception as err:  # the run raised in the job
            lines = str(err).strip().splitlines()
            return 'failed', ' '.join(lines[-3:])[-400:]
    if state['cluster'] == 'local':
        process = getattr(job, '_process', None)
        if process is not None:
            running = process.poll() is None
        else:  # started by an earlier command: is its controller alive?
            running = _alive(int(state['job_id']))
    else:
        slurm_state = str(job.state).split()[0].upper()
        if slurm_state == UNKNOWN:
            return 'unknown', None
        running = slurm_state in IN_FLIGHT
    if running:
        return 'running', None
    return 'failed', (f'job ended without a result ({job.state}: killed, '
                      'preempted, out of time or out of memory)')


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f'/proc/{pid}/stat', encoding='utf-8') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:  # no /proc (macOS): trust kill(0)
        return True


def dry_run_script(submitit, folder: str, params: dict, n_runs: int) -> str:
    """The sbatch script submitit's ``SlurmExecutor`` would submit for
    ``n_runs`` runs (a job array when more than one), with ``params``."""

    class DryRunExecutor(submitit.SlurmExecutor):
        """Renders scripts on any machine (no ``srun`` needed)."""

        @classmethod
        def affinity(cls) -> int:
            return 1

    executor = DryRunExecutor(folder)
    executor.update_parameters(**params)
    if n_runs > 1:
        executor.parameters['map_count'] = n_runs
    return executor._make_submission_file_text(
        executor._submitit_command_str, uid='dry_run')
