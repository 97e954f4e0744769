"""Train and test every run of a protocol (configs x seeds x folds), resumably.

    python tools/run_protocol.py configs/protocols/demo.py \
        --work-dir work_dirs/protocol_demo

Each run trains in a fresh process (output in ``DIR/runs/<method>/<seed>/
log.txt``), selects its best checkpoint on the target validation split and
tests it. Finished runs are skipped, so the same command resumes. Writes
``DIR/results.json`` (one record per run) and ``DIR/results.md`` (mean ± std
per method, reference methods minus each baseline with paired tests). See
:mod:`dl4all_mm.evaluation.protocol_runner` for the protocol file format.
Run it from the repository root (configs use paths relative to it).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run a DL4ALL evaluation protocol')
    parser.add_argument('protocol', help='protocol file (python config)')
    parser.add_argument('--work-dir', required=True, help='output directory')
    parser.add_argument(
        '--methods', help='comma-separated subset of the methods to run')
    parser.add_argument(
        '--seeds', help='comma-separated subset of the seeds to run')
    parser.add_argument(
        '--run-timeout', type=float, help='seconds allowed per run')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='list the runs and build every stage config and its model, '
        'without training')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    # launcher options (--launcher local|slurm, --jobs, Slurm resources)
    from dl4all_mm.evaluation.launchers.cli import add_launcher_args
    add_launcher_args(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override protocol keys, e.g. paths.data_root=/data '
        'seeds="[0,1,2]"')
    return parser.parse_args(argv)


def dry_run(runs) -> None:
    """Build every distinct stage config (with its options) and model."""
    import dl4all_mm  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    from dl4all_mm.evaluation.run_spec import stage_variables
    built = set()
    for run in runs:
        print(f'{run.name}: ' +
              ' -> '.join(osp.relpath(s['config']) for s in run.stages))
        for i, stage in enumerate(run.stages):
            opts, env = stage_variables(run, 'RUN_DIR', i, 'PREV.pth')
            key = (stage['config'], repr(sorted(opts.items())))
            if key in built:
                continue
            built.add(key)
            cfg = _load(stage['config'], env)
            opts = {
                k: v
                for k, v in opts.items() if 'PREV.pth' not in str(v)
            }  # no checkpoint to load in a dry run
            cfg.merge_from_dict(opts)
            init_default_scope(cfg.get('default_scope', 'mmpretrain'))
            model_cfg = cfg.model.copy()
            MODELS.build(model_cfg)


def _load(path: str, env: dict) -> Config:
    """Load a config with ``env`` set in the environment while parsing."""
    import os
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Config.fromfile(path)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv=None) -> int:
    args = parse_args(argv)
    from dl4all_mm.evaluation.protocol_file import (execute_protocol,
                                                    load_protocol)
    from dl4all_mm.evaluation.protocol_runner import expand_protocol
    methods = args.methods.split(',') if args.methods else None
    seeds = [int(s) for s in args.seeds.split(',')] if args.seeds else None
    try:
        protocol = load_protocol(args.protocol, args.cfg_options)
        runs = expand_protocol(protocol, args.protocol, methods, seeds)
    except (KeyError, ValueError, FileNotFoundError) as err:
        print(f'error: {args.protocol}: {err}', file=sys.stderr)
        return 2
    # launcher: bad options exit 2; slurm --dry-run writes the sbatch script
    from dl4all_mm.evaluation.launchers import LaunchError
    from dl4all_mm.evaluation.launchers.cli import build_launcher
    try:
        launcher = build_launcher(
            args, args.run_timeout or protocol.get('run_timeout'),
            progress=not args.no_progress)
    except LaunchError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    # leakage (issue 18): no stage trains on its val/test images, by
    # content, in any domain (DL4ALL's source included), checked up front
    import dl4all_mm  # noqa: F401
    from dl4all_mm.evaluation.protocol_leakage import protocol_leaks
    leaks = protocol_leaks(runs, _load)
    if leaks:
        print(f'error: {args.protocol}: {leaks}', file=sys.stderr)
        return 2
    # end leakage
    if args.dry_run:
        dry_run(runs)
        print(f'{len(runs)} runs; every stage config and model built')
        if hasattr(launcher, 'write_dry_run'):
            print('sbatch script (nothing submitted): ' +
                  launcher.write_dry_run([(r, osp.abspath(
                      osp.join(args.work_dir, 'runs', r.name)))
                                          for r in runs], args.work_dir))
        return 0
    # end launcher

    protocol.setdefault('title', osp.basename(args.protocol))
    try:
        records, failures = execute_protocol(
            protocol, runs, args.work_dir, executor=launcher,
            progress=not args.no_progress)
    except ValueError as err:  # a finished run made from another spec
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'{len(records)} of {len(runs)} runs done; results in '
          f'{osp.join(args.work_dir, "results.md")}')
    if launcher.pending:  # --no-wait
        print(f'{len(launcher.pending)} runs submitted or running; run the '
              'same command again to collect them')
    for name, message in failures:
        print(f'FAILED {name}: {message}', file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
