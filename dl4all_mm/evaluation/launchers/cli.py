"""The launcher options of the front ends (``tools/run_protocol.py``,
``tools/compare_transfer.py``) and the launcher they build."""
import argparse
from typing import Optional

from .base import BaseLauncher, LaunchError
from .registry import LAUNCHERS


def _names() -> list:
    return sorted(
        name[:-len('Launcher')].lower() for name in LAUNCHERS.module_dict
        if name.endswith('Launcher'))


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--launcher``, ``--jobs``, ``--retries`` and the Slurm
    options to ``parser``."""
    from . import local, slurm  # noqa: F401  (register the launchers)
    group = parser.add_argument_group(
        'launcher', 'where the runs execute (see README, "Running on a '
        'cluster")')
    group.add_argument('--launcher', default='local', help='local: a '
                       'process pool on this machine (--jobs); slurm: one '
                       'submitit job array on a Slurm cluster (default '
                       'local; choices: %s), e.g. --launcher slurm' %
                       ', '.join(_names()))
    group.add_argument('--jobs', type=int, default=1, help='local: runs '
                       'trained at once (CPU threads are shared), e.g. '
                       '--jobs 2')
    group.add_argument('--retries', type=int, help='times a failed or '
                       'preempted run is started again (default: local 0, '
                       'slurm 1), e.g. --retries 2')
    group.add_argument('--partition',
                       help='slurm: partition, e.g. --partition gpu')
    group.add_argument('--gpus-per-run', type=int, default=0,
                       help='slurm: GPUs per run (default 0), e.g. '
                       '--gpus-per-run 1')
    group.add_argument('--cpus-per-run', type=int,
                       help='slurm: CPU cores per run, e.g. '
                       '--cpus-per-run 8')
    group.add_argument('--mem-per-run', help='slurm: memory per run, '
                       'e.g. --mem-per-run 16G')
    group.add_argument('--time', default='60', help='slurm: time limit per '
                       'run, Slurm format (minutes, H:MM:SS, D-HH:MM:SS; '
                       'default 60), '
                       'e.g. --time 2:00:00')
    group.add_argument('--max-parallel', type=int, help='slurm: jobs of '
                       'the array running at once, e.g. --max-parallel 4')
    group.add_argument('--slurm-extra', action='append', default=[],
                       metavar='KEY=VALUE', help='slurm: another sbatch '
                       'option, e.g. account=mylab (repeat)')
    group.add_argument('--unknown-timeout', type=float, default=1800,
                       metavar='SECONDS', help='slurm: a job Slurm reads '
                       'as UNKNOWN for longer is cancelled and counted as '
                       'failed (resubmitted within --retries; default 1800), '
                       'e.g. --unknown-timeout 600')
    group.add_argument('--no-wait', action='store_true', help='slurm: '
                       'submit and return; the same command collects, e.g. '
                       '--launcher slurm --no-wait')
    group.add_argument('--submitit-cluster', default='slurm',
                       choices=('slurm', 'local'), help="slurm: 'local' "
                       "runs the jobs through submitit's local executor "
                       'on this machine (testing without a cluster), e.g. '
                       '--submitit-cluster local')


def build_launcher(args: argparse.Namespace,
                   run_timeout: Optional[float] = None,
                   progress: bool = True) -> BaseLauncher:
    """The launcher the parsed options ask for.

    Raises:
        LaunchError: A bad option value (the front ends exit 2).
    """
    if args.launcher not in _names():
        raise LaunchError(f'--launcher {args.launcher!r}: unknown launcher; '
                          f'choices: {", ".join(_names())}')
    if args.jobs is None or args.jobs < 1:
        raise LaunchError(f'--jobs {args.jobs!r}: expected an integer >= 1')
    cfg = dict(type=f'{args.launcher.capitalize()}Launcher')
    if args.launcher == 'local':
        cfg.update(jobs=args.jobs, run_timeout=run_timeout,
                   retries=0 if args.retries is None else args.retries)
    else:
        cfg.update(
            partition=args.partition, gpus_per_run=args.gpus_per_run,
            cpus_per_run=args.cpus_per_run, mem_per_run=args.mem_per_run,
            time=args.time, max_parallel=args.max_parallel,
            extra=args.slurm_extra,
            retries=1 if args.retries is None else args.retries,
            wait=not args.no_wait, cluster=args.submitit_cluster,
            unknown_timeout_s=args.unknown_timeout,
            dry_run=getattr(args, 'dry_run', False), progress=progress)
    return LAUNCHERS.build(cfg)
