"""Expand a protocol file into runs, execute them resumably, aggregate.

A protocol is an mmengine config file (python) with::

    methods = [                       # in report order
        dict(name='target-only', config='configs/baselines/....py'),
        dict(name='sequential', stages=[
            dict(config='...stage1.py'),
            dict(config='...stage2.py', cfg_options={
                'model.backbone.init_cfg.checkpoint': '{prev_checkpoint}'}),
        ]),
    ]
    references = ['dl4all-joint']     # compared with every other method
    seeds = [0, 1]
    folds = [None]                    # or dict(name=..., cfg_options=...,
                                      #         env=...) per fold
    cfg_options = dict()              # every run's last (target) stage
    data = dict(source=dict(data_root='{data_root}/pbc'), ...)  # role ->
                                      # dataset fields; a stage's
                                      # `data_layout` places them
    paths = dict(data_root='data')    # '{NAME}' in `data` strings
    env = dict()                      # environment of every run
    select_metric = 'diagnostic/balanced_accuracy'   # save_best
    positive_index = 1                # binary targets: the ALL class
    run_timeout = None                # seconds per run

Data reaches the configs one way: the protocol's ``data`` (a fold's and a
stage's ``data`` override it per role and field) becomes, for each stage
with a ``data_layout``, the cfg-options of
:func:`.protocol_data.dataset_options`, before the stage's own options.

Strings in ``cfg_options``, ``data`` and ``env`` may use ``{seed}``,
``{fold}``, ``{run_dir}`` and, in a stage after the first,
``{prev_checkpoint}`` (the previous stage's last checkpoint). Protocol- and
fold-level ``cfg_options`` apply to the last stage of a method; a stage's
own to itself.
"""
import json
import os
import os.path as osp
import time
from typing import Callable, List, Optional, Sequence

from .decision import resolve
from .launchers.base import RunPending
from .protocol import MULTICLASS_NOTE, standard_metrics
from .protocol_data import dataset_options, merge_data
from .protocol_worker import PREDICTIONS, subprocess_executor
from .report import write_results
from .run_spec import PLACEHOLDERS, RunSpec, fill, stage_variables

__all__ = [
    'PLACEHOLDERS', 'RunSpec', 'expand_protocol', 'fill', 'run_protocol',
    'stage_variables'
]


def _resolve_config(path: str, protocol_dir: str, where: str) -> str:
    """Absolute config path: as given, else relative to the protocol's
    directory or to the repository root above it."""
    candidates = [path, osp.join(protocol_dir, path)]
    parent = protocol_dir
    while parent and parent != osp.dirname(parent):
        candidates.append(osp.join(parent, path))
        parent = osp.dirname(parent)
    for candidate in candidates:
        if osp.isfile(candidate):
            return osp.abspath(candidate)
    raise FileNotFoundError(f'{where}: config {path!r} not found (looked in '
                            f'the working directory and above '
                            f'{protocol_dir})')


def _fold_parts(fold) -> tuple:
    """``(name, cfg_options, env)`` of a fold entry."""
    if isinstance(fold, dict):
        if 'name' not in fold:
            raise KeyError(f'fold {fold!r} needs a `name`')
        return fold['name'], dict(fold.get('cfg_options',
                                           {})), dict(fold.get('env', {}))
    return fold, {}, {}


def expand_protocol(protocol,
                    protocol_path: str = '.',
                    methods: Optional[Sequence[str]] = None,
                    seeds: Optional[Sequence[int]] = None) -> List[RunSpec]:
    """Runs of a protocol (a dict or mmengine ``Config``), in method, seed,
    fold order; ``methods``/``seeds`` select a subset."""
    where = protocol_path
    if not protocol.get('methods'):
        raise ValueError(f'{where}: `methods` must list at least one method')
    names = [m.get('name') for m in protocol['methods']]
    if None in names or len(set(names)) != len(names):
        raise ValueError(f'{where}: every method needs a unique `name`, got '
                         f'{names}')
    for name in list(methods or []) + list(protocol.get('references', [])):
        if name not in names:
            raise KeyError(f'{where}: unknown method {name!r}; the protocol '
                           f'has {names}')
    all_seeds = list(protocol.get('seeds', [0]))
    for seed in seeds or []:
        if seed not in all_seeds:
            raise KeyError(f'{where}: seed {seed} is not in the protocol '
                           f'seeds {all_seeds}')
    base_dir = osp.dirname(osp.abspath(protocol_path))
    runs = []
    for method in protocol['methods']:
        if methods and method['name'] not in methods:
            continue
        stages = method.get('stages') or [
            dict(
                config=method.get('config'),
                cfg_options=method.get('cfg_options', {}),
                data_layout=method.get('data_layout'),
                data=method.get('data'))
        ]
        for seed in seeds or all_seeds:
            for fold in protocol.get('folds', [None]):
                fold_name, fold_opts, fold_env = _fold_parts(fold)
                fold_data = fold.get('data') if isinstance(fold,
                                                           dict) else None
                run_stages = []
                for i, stage in enumerate(stages):
                    if not stage.get('config'):
                        raise KeyError(f'{where}: method {method["name"]!r} '
                                       f'stage {i} has no `config`')
                    opts = dict(stage.get('cfg_options', {}))
                    if stage.get('data_layout'):
                        opts = {**dataset_options(
                            stage['data_layout'], merge_data(
                                protocol.get('data'), fold_data,
                                stage.get('data')),
                            f'{where}: method {method["name"]!r} stage {i}',
                            protocol.get('paths')), **opts}
                    if i == len(stages) - 1:
                        opts = {
                            **protocol.get('cfg_options', {}),
                            **fold_opts,
                            **opts
                        }
                    run_stages.append(
                        dict(
                            config=_resolve_config(stage['config'], base_dir,
                                                   where),
                            cfg_options=opts))
                runs.append(
                    RunSpec(
                        method=method['name'],
                        seed=int(seed),
                        fold=fold_name,
                        stages=run_stages,
                        env={
                            **protocol.get('env', {}),
                            **fold_env
                        },
                        select_metric=protocol.get(
                            'select_metric', 'diagnostic/balanced_accuracy'),
                        positive_index=protocol.get('positive_index', 1)))
    for run in runs:  # fail early on a bad placeholder
        stage_variables(run, 'RUN_DIR', 0, 'PREV')
    return runs


def run_protocol(
    runs: Sequence[RunSpec],
    work_dir: str,
    references: Sequence[str] = (),
    executor: Callable[[RunSpec, str], dict] = None,
    progress: bool = True,
    title: str = 'Protocol results',
    notes: Sequence[str] = (),
    decision: str = 'argmax',
    record_fields: Optional[dict] = None,
    method_fields: Optional[dict] = None) -> tuple:
    """Execute the unfinished runs, then write ``results.json``/``.md``.

    A run is finished when ``run_dir/record.json`` holds its record and the
    digest of the same spec; a finished run made from a different spec is
    an error (use another work dir or delete that run's directory).
    ``executor`` trains one run (``executor(run, run_dir) -> result``); a
    launcher (:mod:`.launchers`) also has ``launch(runs, work_dir)``,
    called first with every unfinished run. A run it reports pending
    (:class:`~.launchers.RunPending`, ``--no-wait``) is neither a record
    nor a failure. ``record.json`` also keeps the run's log path (its
    job's log for the Slurm launcher). A run that wrote
    ``run_dir/predictions.csv`` gets its absolute path as the record's
    ``predictions`` (``record.json`` keeps it relative to ``run_dir``;
    ``results.json`` relative to its own folder). ``decision`` is the
    report's decision rule; ``record_fields`` are added to every record
    and ``method_fields[method]`` to that method's (not to
    ``record.json``), before the report is written.

    Returns:
        tuple: ``(records, failures)``, failures as ``(run name, message)``.
    """
    from tqdm import tqdm

    executor = executor or subprocess_executor
    os.makedirs(work_dir, exist_ok=True)
    records, failures, multiclass = [], [], False
    run_dirs = [osp.abspath(osp.join(work_dir, 'runs', r.name)) for r in runs]
    finished = [_finished(r, d) for r, d in zip(runs, run_dirs)]  # fail early
    todo = [(r, d) for r, d, (record, _) in zip(runs, run_dirs, finished)
            if record is None]
    for run, run_dir in todo:
        os.makedirs(run_dir, exist_ok=True)
        with open(osp.join(run_dir, 'spec.json'), 'w') as f:
            json.dump(dict(run.to_dict(), run_dir=run_dir), f, indent=2)
    if hasattr(executor, 'launch'):  # a launcher: start every run first
        executor.launch(todo, work_dir)
    bar = tqdm(runs, desc='protocol', unit='run', disable=not progress)
    for run, run_dir, (record, binary) in zip(bar, run_dirs, finished):
        bar.set_postfix_str(run.name)
        if record is None:
            start = time.time()
            try:
                result = executor(run, run_dir)
                binary = f'{run.metric_prefix}/sensitivity' in result[
                    'metrics']
                record = dict(
                    method=run.method,
                    seed=run.seed,
                    fold=run.fold,
                    metrics=standard_metrics(result['metrics'],
                                             run.metric_prefix),
                    wall_s=round(result.get('wall_s',
                                            time.time() - start), 1))
                if osp.isfile(osp.join(run_dir, PREDICTIONS)):
                    record['predictions'] = osp.join(run_dir, PREDICTIONS)
            except RunPending:  # submitted, not finished (no-wait)
                continue
            except Exception as err:  # keep going; reported at the end
                failures.append((run.name, f'{type(err).__name__}: {err}'))
                bar.write(f'FAILED {run.name}: {err}')
                continue
            with open(osp.join(run_dir, 'record.json'), 'w') as f:
                json.dump(
                    dict(digest=run.digest, record=_in_run_dir(record),
                         binary=binary,
                         **_job_info(result, run_dir)),
                    f,
                    indent=2)
        records.append({**record, **(record_fields or {}),
                        **(method_fields or {}).get(run.method, {})})
        multiclass = multiclass or not binary
        write_results(
            records,
            osp.join(work_dir, 'results.json'),
            osp.join(work_dir, 'results.md'),
            references,
            title=title,
            notes=list(notes) + [MULTICLASS_NOTE] * multiclass,
            decision=decision)
    return records, failures


def _in_run_dir(record: dict) -> dict:
    """``record`` as ``record.json`` keeps it: ``predictions`` relative
    to the run directory."""
    if not record.get('predictions'):
        return record
    return dict(record, predictions=osp.basename(record['predictions']))


def _job_info(result: dict, run_dir: str) -> dict:
    """Where the run's output went (its job's log) and how it ran."""
    info = dict(log=result.get('log') or osp.join(run_dir, 'log.txt'))
    for key in ('job_id', 'attempts'):
        if result.get(key) is not None:
            info[key] = result[key]
    return info


def _finished(run: RunSpec, run_dir: str) -> tuple:
    """``(record, binary)`` of a finished run, ``(None, None)`` when it
    must run."""
    path = osp.join(run_dir, 'record.json')
    if not osp.exists(path):
        return None, None
    with open(path, encoding='utf-8') as f:
        stored = json.load(f)
    if stored.get('digest') != run.digest:
        raise ValueError(f'{path} was made by a different spec of run '
                         f'{run.name} (changed configs, options or env); '
                         'use another --work-dir or delete '
                         f'{run_dir} to rerun it')
    record = stored['record']
    if record.get('predictions'):
        record['predictions'] = resolve(record['predictions'], run_dir)
    return record, stored.get('binary', True)
