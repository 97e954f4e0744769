"""Run the comparison: every method on every target size, label draw and
repeat, through the protocol machinery, then the learning-curve report.

Layout of ``work_dir``: ``data/`` (annotation files: ``train_n{size}_d{d}
.txt`` per size and draw; under ``--selection budget-val`` also
``fit_n{size}_d{d}.txt``, trained on, and ``bval_n{size}_d{d}.txt``,
selected on), ``n{size}/d{d}/`` (one protocol per target size and draw,
``protocol.json``, which ``tools/run_protocol.py`` runs the same way;
``runs/<method>/seed<S>-foldn<size>-d<d>/`` with each run's work dirs and
checkpoints, and that protocol's ``results.md``; run seed ``S = 1000 *
repeat + d``), and the report:
``results.json``, ``results.md``, ``learning_curve.png``,
``command.txt``; with ``--lr-search`` / ``--decision cv`` the in-budget
cross-validation (:mod:`.compare_search`): ``lr_search/``,
``lr_search.json``, ``cv_threshold/``, ``cv_threshold.json``. Finished
runs are skipped when the same command runs again.
"""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..launchers.local import LocalLauncher
from ..protocol_file import execute_protocol, load_protocol, write_protocol
from ..protocol_runner import expand_protocol
from ..report import METRIC, write_results
from . import methods as tm
from .backbones import is_pretrained
from .compare_search import plan_folds, run_searches, searched_note
from .compare_notes import (selection_notes, validations_of,
                            validation_counts)
from .data_options import check_norm, task_data
from .recipes import check_class_weights, default_lr, recipe_notes
from .draws import DrawData
from .schedule import VALIDATIONS
from .task import TaskInputs, TransferTask, plan_task, write_task
from .work_data import check_same_task, check_work_dir


@dataclass
class CompareOptions:
    """How to train (the non-data options of ``compare_transfer.py``)."""
    methods: Sequence[str] = ('target-only', 'sequential', 'mixed',
                              'dl4all-joint', 'dl4all-greedy')
    seeds: Sequence[int] = (0, )  # repeats: run seed 1000 * repeat + draw
    iters: int = 300
    backbone: str = 'efficientnet-lite0'
    pretrained: Optional[str] = None
    device: str = 'cpu'
    jobs: int = 1
    recipe: dict = field(default_factory=dict)
    lr_search: Sequence[float] = ()  # in-budget CV grid (compare_search)
    search_norms: Optional[Sequence[str]] = None  # None: every mode
    run_timeout: Optional[float] = None
    progress: bool = True
    command: str = ''
    launcher: object = None  # a launchers.BaseLauncher; None: local, jobs
    # (run_comparison sets LocalLauncher(jobs, run_timeout))
    overwrite: bool = False  # replace a work folder holding another task
    validations: int = VALIDATIONS  # per run, unless --selection last
    decision: str = 'argmax'  # the report's decision rule (DECISIONS)
    norm: Optional[str] = None  # --norm for every method; None: defaults
    class_weights: str = 'authors'  # --class-weights: 'authors' | 'none'


def _recipes(opts: CompareOptions, lrs: Dict[str, float]) -> dict:
    """Each method's recipe: the lr rule (:func:`.recipes.default_lr`),
    ``--norm``, ``--class-weights``, then ``--recipe``, then the search's
    pick (``lrs[method]``: an lr, or a dict of knobs, e.g.
    ``dict(lr=0.01, norm='pretrained')``)."""
    rule = default_lr(is_pretrained(tm.backbone_spec(opts.backbone,
                                                     opts.pretrained)))
    weighted = int(check_class_weights(opts.class_weights) == 'authors')
    out = {}
    for method in opts.methods:
        overrides = dict(class_weight=weighted)
        if rule is not None:
            overrides['lr'] = rule
        if opts.norm is not None:
            overrides['norm'] = check_norm(opts.norm)
        overrides.update(opts.recipe)
        if isinstance(lrs.get(method), dict):
            overrides.update(lrs[method])
        elif method in lrs:
            overrides['lr'] = lrs[method]
        out[method] = tm.recipe_of(method, overrides)
    return out


def method_fields(recipes: dict, opts: CompareOptions) -> Dict[str, dict]:
    """Per-method record fields: ``lr``, ``norm`` and ``class_weights``
    (``--lr-search`` picks lr and norm per size and draw)."""
    return {m: dict(lr=r['lr'], norm=r['norm'],
                    class_weights=opts.class_weights)
            for m, r in recipes.items()}


def _protocol(sub: DrawData, size: int, draw: int,
              opts: CompareOptions, recipes: dict, spec: dict, title: str,
              notes: Sequence[str], selection: str,
              thresholds: Optional[dict] = None) -> dict:
    """The protocol of one target size and draw (config paths absolute):
    every method trains on ``sub``'s images (a draw's, or a cross-validation
    fold's), with seeds ``1000 * repeat + draw``; ``thresholds``: method ->
    its ``cv_threshold`` record field."""
    data = sub.data
    validations = validations_of(opts, selection)
    methods = []
    for name in opts.methods:
        stages = tm.stages(name, opts.iters, spec, recipes[name],
                           sub.weights, data.n_target, data,
                           validations=validations)
        if opts.device == 'cuda':
            for stage in stages:
                stage['cfg_options']['env_cfg.cudnn_benchmark'] = True
        methods.append(dict(name=name, stages=stages))
    env = dict(DL4ALL_COMPARE_DATA=sub.digest, PYTHONUNBUFFERED='1')
    if opts.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    return dict(methods=methods, data=task_data(data),
                seeds=[1000 * r + draw for r in opts.seeds],
                folds=[f'n{size}-d{draw}'], env=env,
                references=references(opts.methods),
                select_metric=f'diagnostic/{METRIC}', positive_index=1,
                run_timeout=opts.run_timeout, title=title, notes=list(notes),
                decision=opts.decision, method_fields={
                    m: dict(cv_threshold=t)
                    for m, t in (thresholds or {}).items() if t is not None},
                record_fields=dict(target_size=size,
                                   n_test=_lines(data.test_ann),
                                   backbone=opts.backbone,
                                   img_size=data.img_size, iters=opts.iters,
                                   draw=draw, train_sha256=sub.train_sha256,
                                   labels_used=sub.labels_used,
                                   selection=selection,
                                   train_counts=list(sub.train_counts)))


def _runs(protocol: dict, work_dir: str) -> tuple:
    """Write ``work_dir/protocol.json``; the loaded protocol and its runs
    (what ``tools/run_protocol.py`` makes of the same file)."""
    path = osp.join(work_dir, 'protocol.json')
    write_protocol(protocol, path)
    loaded = load_protocol(path)
    return loaded, expand_protocol(loaded, path)


def references(methods: Sequence[str]) -> List[str]:
    """The DL4ALL methods among ``methods`` (compared with the others)."""
    return [m for m in methods if tm.METHODS[m][0] == 'dl4all']


def _execute(protocol, runs, work_dir: str, opts: CompareOptions) -> tuple:
    return execute_protocol(protocol, runs, work_dir, executor=opts.launcher,
                            progress=opts.progress)


def run_comparison(inputs: TaskInputs, opts: CompareOptions, work_dir: str,
                   dry_run: bool = False) -> int:
    """Prepare the data, run everything unfinished, write the report.

    Returns:
        int: 0 when every run finished, else 1.
    """
    unknown = [m for m in opts.methods if m not in tm.METHODS]
    if unknown:
        raise ValueError(f'--methods: unknown {unknown}; methods: '
                         f'{list(tm.METHODS)}')
    opts.launcher = opts.launcher or LocalLauncher(opts.jobs,
                                                   opts.run_timeout)
    spec = tm.backbone_spec(opts.backbone, opts.pretrained, inputs.img_size)
    # issue 18: every check in memory first, then one atomic write
    check_work_dir(work_dir)
    data_dir = osp.join(work_dir, 'data')
    task = plan_task(inputs, data_dir, threads=max(2, opts.jobs))
    identity = task_identity(inputs, opts, task)
    check_same_task(data_dir, identity, opts.overwrite)
    folds = plan_folds(task, inputs.group_regex, opts) if (
        opts.lr_search or opts.decision == 'cv') else None
    if dry_run:
        print_plan(task)
    write_task(task, data_dir, identity)
    if not dry_run:  # the real training command, never a dry run's
        with open(osp.join(work_dir, 'command.txt'), 'w') as f:
            f.write(opts.command + '\n')
    # end issue 18
    picks, thresholds, cv_lines = {}, {}, []
    if folds and not dry_run:  # in-budget cross-validation
        found = run_searches(task, folds, opts, work_dir, lambda sub, key, o,
                             p, t: _protocol(sub, *key, o, _recipes(o, p),
                                             spec, t, [], 'last'))
        if found is None:  # slurm --no-wait: search runs still out
            print('cross-validation runs submitted or running: run the same '
                  'command again to collect them')
            return 0
        picks, thresholds, cv_lines = found
    recipes = {key: _recipes(opts, picks.get(key, {}))
               for key in sorted(task.subsets)}
    first = recipes[min(recipes)]
    init = ('ImageNet (offline)' if spec['backbone'].get(
        'pretrained_imagenet') else opts.pretrained or 'random init')
    title = (f'Transfer comparison: {inputs.source} -> {inputs.target} '
             f'({opts.backbone}, {init}, {inputs.img_size} px, '
             f'{opts.iters} steps)')
    counts = validation_counts(task, opts, first, inputs.selection)
    notes = list(task.notes) + selection_notes(
        task, opts, first, inputs.selection, counts) + [
        'Learning rates: ' + ', '.join(
            f'{m} {r["lr"]:g}' for m, r in first.items()) +
        (searched_note(opts) if opts.lr_search else ' (the rule without '
         '--lr-search: 0.003 for every method on a pretrained backbone, else '
         'each config\'s own; heads x5)') + '.',
        *recipe_notes(first, opts.class_weights),
        f'Device {opts.device}; ' + opts.launcher.describe(),
        f'Command: `{opts.command}`'] + ['\n'.join(cv_lines)] * bool(cv_lines)
    protocols = {key: _runs(_protocol(
        task.subsets[key], *key, opts, recipes[key], spec,
        f'{title}: {key[0]} target images, draw {key[1]}', notes,
        inputs.selection, thresholds.get(key)),
        osp.join(work_dir, *_folder(*key)))
        for key in sorted(task.subsets)}
    if dry_run:
        for key, (_, runs) in protocols.items():
            for run in runs:
                print('/'.join(_folder(*key)) + f'/runs/{run.name}')
            if hasattr(opts.launcher, 'write_dry_run'):  # slurm: sbatch
                size_dir = osp.join(work_dir, *_folder(*key))
                print('sbatch script (nothing submitted): ' +
                      opts.launcher.write_dry_run(
                          [(r, osp.abspath(osp.join(size_dir, 'runs',
                                                    r.name))) for r in runs],
                          size_dir))
        print(f'{sum(len(r) for _, r in protocols.values())} runs (dry '
              'run: nothing trained)')
        return 0
    if getattr(opts.launcher, 'wait', False):  # slurm: queue every size's
        opts.launcher.wait = False  # job array first, then wait for each
        for key, (protocol, runs) in protocols.items():
            _execute(protocol, runs, osp.join(work_dir, *_folder(*key)),
                     opts)
        opts.launcher.wait = True
    records, failures = [], []
    for key, (protocol, runs) in protocols.items():
        if opts.progress:
            print(f'target size {key[0]}, draw {key[1]}: {len(runs)} runs')
        done, failed = _execute(protocol, runs,
                                osp.join(work_dir, *_folder(*key)), opts)
        fields = method_fields(recipes[key], opts)  # norm, class_weights
        records += [dict(r, validations=counts[(r['method'], *key)],
                         **fields[r['method']]) for r in done]
        failures += failed
        write_results(records, osp.join(work_dir, 'results.json'),
                      osp.join(work_dir, 'results.md'),
                      references(opts.methods), title=title, notes=notes,
                      methods=opts.methods, decision=opts.decision)
    for name, message in failures:
        print(f'FAILED {name}: {message}')
    if getattr(opts.launcher, 'pending', None):  # slurm --no-wait
        print('runs submitted or running: run the same command again to '
              'collect them')
    print(f'{len(records)} runs done; report in '
          f'{osp.join(work_dir, "results.md")}')
    return 1 if failures else 0


def _folder(size: int, draw: int) -> tuple:
    """The protocol folder of a size and draw: ``n{size}/d{draw}``."""
    return f'n{size}', f'd{draw}'


def task_identity(inputs: TaskInputs, opts: CompareOptions,
                  task: TransferTask) -> dict:
    """What a work folder's results depend on beyond sizes, methods and
    seeds: the data inputs, the options that change every run, the split."""
    data = {k: v for k, v in inputs.__dict__.items()
            if k not in ('sizes', 'draws')}  # more of them: a superset
    data['split'] = [round(v, 6) for v in data['split']]
    return json.loads(json.dumps(dict(  # as task.json reads back
        data, backbone=opts.backbone, pretrained=opts.pretrained,
        iters=opts.iters, recipe=sorted(opts.recipe.items()),
        norm=opts.norm, class_weights=opts.class_weights,
        lr_search=list(opts.lr_search), search_norms=opts.search_norms and
        list(opts.search_norms), split_digest=task.split_digest)))


def print_plan(task: TransferTask) -> None:
    """What ``--dry-run`` shows of the data: per split its images, classes
    and groups, and each size's and draw's subset counts per class."""
    for line in task.summary:
        print(line)


def _lines(path: str) -> int:
    with open(path, encoding='utf-8') as f:
        return sum(1 for line in f if line.strip())
