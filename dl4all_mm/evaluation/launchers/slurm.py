"""Runs as the jobs of a submitit job array on a Slurm cluster."""
import json
import os
import os.path as osp
import shutil
import time
from typing import Dict, List, Optional, Sequence, Tuple

from ..protocol_worker import RunFailed
from ..run_spec import RunSpec
from .base import BaseLauncher, LaunchError, RunPending
from .job import train_run
from .registry import LAUNCHERS
from .slurm_options import (parse_extra, parse_mem, parse_time, positive_int,
                            require_submitit)
from .submitit_jobs import DRY_RUN_SCRIPT, dry_run_script, job_status

STATE = 'job.json'  # per run: its job id, log and attempts


@LAUNCHERS.register_module()
class SlurmLauncher(BaseLauncher):
    """Submit each unfinished run as one job of a submitit job array.

    The job runs :func:`~.job.train_run` (the same worker as the local
    launcher, in the job's process) and writes the same ``RUN/result.json``;
    ``RUN/job.json`` keeps its job id and log path. With ``wait`` the
    launcher polls the jobs (progress bar: done / running / failed) and
    resubmits a failed or preempted job up to ``retries`` times; without it,
    it submits and returns, and the same command later collects the
    finished jobs (a job still queued or running is not submitted again).

    Args:
        partition (str, optional): Slurm partition.
        gpus_per_run (int): GPUs of each job.
        cpus_per_run (int, optional): CPUs of each job (also the run's
            ``OMP_NUM_THREADS``).
        mem_per_run (str, optional): Memory of each job, e.g. ``16G``.
        time (str): Time limit of each job (Slurm format, e.g. ``1:30:00``).
        max_parallel (int, optional): Jobs of the array running at once.
        extra (Sequence[str]): More sbatch options, ``KEY=VALUE``.
        retries (int): Resubmissions of a failed job within one command.
        wait (bool): Wait for the jobs (else submit and return).
        cluster (str): ``'slurm'``, or ``'local'``: submitit's local
            executor runs the jobs on this machine (tests, no cluster).
        dry_run (bool): Only :meth:`write_dry_run` is used (no sbatch
            needed).
        progress (bool): Show the progress bar.
        poll_s (float, optional): Seconds between two looks at the jobs
            (default 10 on Slurm, 1 locally).
        unknown_timeout_s (float): A job whose Slurm state reads
            ``UNKNOWN`` (sacct has no record of it) for longer than this,
            counted from the first look that saw it, across commands, is
            cancelled and counted as failed: resubmitted within
            ``retries``, else reported failed. Without the bound such a job
            would be waited on forever.
    """

    def __init__(self, partition: Optional[str] = None, gpus_per_run: int = 0,
                 cpus_per_run: Optional[int] = None,
                 mem_per_run: Optional[str] = None, time: str = '60',
                 max_parallel: Optional[int] = None,
                 extra: Sequence[str] = (), retries: int = 1,
                 wait: bool = True, cluster: str = 'slurm',
                 dry_run: bool = False, progress: bool = True,
                 poll_s: Optional[float] = None,
                 unknown_timeout_s: float = 1800.0) -> None:
        super().__init__(retries)
        self.submitit = require_submitit()
        if cluster not in ('slurm', 'local'):
            raise LaunchError(f'--submitit-cluster {cluster!r}: expected '
                              "'slurm' or 'local'")
        if (isinstance(gpus_per_run, bool) or not isinstance(gpus_per_run, int)
                or gpus_per_run < 0):
            raise LaunchError(f'--gpus-per-run {gpus_per_run!r}: expected an '
                              'integer >= 0')
        self.minutes = parse_time(time)
        self.params = dict(
            job_name='dl4all', partition=partition, time=self.minutes,
            gpus_per_node=gpus_per_run or None,
            cpus_per_task=positive_int(cpus_per_run, '--cpus-per-run'),
            mem=parse_mem(mem_per_run), stderr_to_stdout=True,
            array_parallelism=positive_int(max_parallel,
                                           '--max-parallel') or 256,
            additional_parameters=parse_extra(extra) or None)
        self.params = {k: v for k, v in self.params.items() if v is not None}
        self.gpus, self.cluster, self.wait = gpus_per_run, cluster, wait
        self.progress = progress
        self.poll_s = poll_s or (1.0 if cluster == 'local' else 10.0)
        if not unknown_timeout_s >= 0:
            raise LaunchError(f'--unknown-timeout {unknown_timeout_s!r}: '
                              'expected seconds >= 0')
        self.unknown_timeout_s = float(unknown_timeout_s)
        if cluster == 'slurm' and not dry_run and not shutil.which('sbatch'):
            raise LaunchError('--launcher slurm: sbatch not found, this is '
                              'not a Slurm login node (--dry-run writes the '
                              'sbatch script without submitting)')
        self.outcomes: Dict[str, tuple] = {}
        self.live: dict = {}  # job id -> submitit job of this process

    def describe(self) -> str:
        where = ('Slurm' if self.cluster == 'slurm' else
                 "submitit's local executor")
        return f'each run one job of a submitit job array ({where}).'

    def _executor(self, folder: str):
        if self.cluster == 'local':
            executor = self.submitit.LocalExecutor(folder)
            executor.update_parameters(
                timeout_min=self.minutes, gpus_per_node=self.gpus,
                stderr_to_stdout=True)
        else:
            executor = self.submitit.SlurmExecutor(folder)
            executor.update_parameters(**self.params)
        return executor

    def _submit(self, names: List[str], runs: dict, folder: str,
                states: dict) -> None:
        if not names:
            return
        executor = self._executor(folder)
        with executor.batch():
            jobs = [executor.submit(train_run, runs[n][1]) for n in names]
        for name, job in zip(names, jobs):
            run, run_dir = runs[name]
            self.live[job.job_id] = job
            states[name] = dict(
                digest=run.digest, job_id=job.job_id, folder=folder,
                cluster=self.cluster, log=str(job.paths.stdout),
                attempts=states.get(name, {}).get('attempts', 0) + 1)
            _save_state(states[name], run_dir)

    def _job(self, state: dict):
        job = self.live.get(state['job_id'])
        if job is None:
            cls = (self.submitit.LocalJob if state['cluster'] == 'local' else
                   self.submitit.SlurmJob)
            job = cls(folder=state['folder'], job_id=state['job_id'])
        return job

    def _status(self, state: dict, run_dir: str) -> tuple:
        """:func:`job_status`, with a job ``UNKNOWN`` to Slurm counted as
        running for ``unknown_timeout_s``, then cancelled and failed."""
        job = self._job(state)
        status, info = job_status(job, state)
        if status != 'unknown':
            if state.pop('unknown_since', None) is not None:
                _save_state(state, run_dir)
            return status, info
        if 'unknown_since' not in state:  # kept across commands
            state['unknown_since'] = time.time()
            _save_state(state, run_dir)
        waited = time.time() - state['unknown_since']
        if waited <= self.unknown_timeout_s:
            return 'running', None
        try:
            job.cancel(check=False)
        except Exception:  # noqa: BLE001 (best effort: Slurm lost it)
            pass
        return 'failed', (f'job {state["job_id"]} read UNKNOWN to Slurm for '
                          f'{waited:.1f} s (over {self.unknown_timeout_s:g} '
                          's): cancelled, counted as failed')

    def launch(self, runs: Sequence[Tuple[RunSpec, str]],
               work_dir: str) -> None:
        from tqdm import tqdm
        folder = osp.join(osp.abspath(work_dir), 'submitit')
        by_name = {run.name: (run, run_dir) for run, run_dir in runs}
        states, new = {}, []
        self.outcomes, self.pending = {}, []
        for run, run_dir in runs:
            state = _load_state(run, run_dir)
            if state is None:
                new.append(run.name)
            else:  # submitted by an earlier command: look at it first
                states[run.name] = state
        tries = dict.fromkeys(by_name, 0)
        self._submit(new, by_name, folder, states)
        for name in new:
            tries[name] = 1
        active = list(by_name)
        bar = tqdm(total=len(active), desc='slurm jobs', unit='run',
                   disable=not self.progress)
        while active:
            retry = []
            for name in active:
                status, info = self._status(states[name],
                                            by_name[name][1])
                if status == 'running':  # an attempt of this command
                    tries[name] = max(tries[name], 1)
                elif status == 'done' or tries[name] > self.retries:
                    self.outcomes[name] = (status, info)
                else:  # failed, killed or preempted: submit again
                    retry.append(name)
                    tries[name] += 1
            self._submit(retry, by_name, folder, states)
            active = [n for n in active if n not in self.outcomes]
            failed = sum(s == 'failed' for s, _ in self.outcomes.values())
            bar.n = len(self.outcomes) - failed
            bar.set_postfix(running=len(active), failed=failed)
            if not active or not self.wait:
                break
            time.sleep(self.poll_s)
        bar.close()
        self.pending = active
        self.states = states

    def __call__(self, run: RunSpec, run_dir: str) -> dict:
        status, info = self.outcomes.get(run.name, ('running', None))
        state = getattr(self, 'states', {}).get(run.name, {})
        if status == 'running':
            raise RunPending(f'{run.name}: job {state.get("job_id")} not '
                             'finished; run the same command again later')
        if status == 'failed':
            raise RunFailed(f'{run.name} (job {state.get("job_id")}, '
                            f'{state.get("attempts")} attempt(s)): {info}; '
                            f'log: {state.get("log")}')
        return dict(info, log=state.get('log'), job_id=state.get('job_id'),
                    attempts=state.get('attempts'))

    def write_dry_run(self, runs: Sequence[Tuple[RunSpec, str]],
                      work_dir: str) -> str:
        """Write the sbatch script submitit would submit for ``runs`` (one
        job array) and the run of each array index; submit nothing.

        Returns:
            str: The script's path.
        """
        folder = osp.join(osp.abspath(work_dir), 'submitit')
        text = dry_run_script(self.submitit, folder, self.params, len(runs))
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, DRY_RUN_SCRIPT)
        with open(path, 'w') as f:
            f.write(text)
        with open(osp.join(folder, 'dry_run_runs.txt'), 'w') as f:
            f.writelines(f'{i} {run_dir}\n'
                         for i, (_, run_dir) in enumerate(runs))
        return path


def _save_state(state: dict, run_dir: str) -> None:
    with open(osp.join(run_dir, STATE), 'w') as f:
        json.dump(state, f, indent=2)


def _load_state(run: RunSpec, run_dir: str) -> Optional[dict]:
    """The run's job state, None when never submitted for this spec."""
    path = osp.join(run_dir, STATE)
    if not osp.exists(path):
        return None
    with open(path, encoding='utf-8') as f:
        state = json.load(f)
    return state if state.get('digest') == run.digest else None
