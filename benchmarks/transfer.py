"""The real cross-dataset benchmark: PBC -> all_aria, low-data.

A preset of the machinery behind ``tools/compare_transfer.py``
(:mod:`dl4all_mm.evaluation.transfer`: methods, parallel executor,
protocol runner) with this task's fixed data and its committed records.

Source: PBC (8 blood-cell classes). Target: all_aria as normal (Benign, 0)
vs ALL (Early/Pre/Pro, 1), a fixed, seeded, stratified 240-image training
and 300-image validation split; the rest is the test split unless
``--test-ann/--test-root`` name another test set (lines ``relative/path
label``, label 1 = ALL). Every run trains one method of the repository's
configs for the same number of optimizer steps, selects its best checkpoint
on the validation split (balanced accuracy) and tests it::

    python benchmarks/transfer.py --data-root ../shared/data \\
        --work-dir work_dirs/transfer [--methods target-only,dl4all-joint] \\
        [--seeds 0,1,2] [--iters 1200] [--backbone resnet18] [--device cuda]

Writes ``DIR/results.json`` (one record per run: method, seed, fold,
backbone, metrics, wall_s) and ``DIR/results.md`` (mean ± std, DL4ALL minus
each baseline with paired tests); finished runs are skipped on a rerun.
``--baseline-records FILE`` adds the records of methods not run here (e.g.
the committed baseline runs) to the report, so only the DL4ALL rows need to
be re-run.
``--prepare-data OUT`` writes 96 px JPEG copies of pbc/ and all_aria/
(about 39 MiB, never commit them) to use as ``--data-root``. ``--eval-split
val`` tests on the validation split (for tuning; no test image is used).
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, HERE)
import transfer_data as td  # noqa: E402
from dl4all_mm.evaluation.transfer import methods as tm  # noqa: E402
from dl4all_mm.evaluation.transfer.compare import references  # noqa: E402
from dl4all_mm.evaluation.transfer.executor import \
    ParallelExecutor  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    methods = '\n'.join(f'  {k:<24} {v[1]}' for k, v in tm.METHODS.items())
    p = argparse.ArgumentParser(
        description='PBC -> all_aria low-data transfer benchmark',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f'methods:\n{methods}')
    p.add_argument('--data-root', required=True,
                   help='folder holding pbc/ and all_aria/ (manifest.csv '
                   'each), or the output of --prepare-data')
    p.add_argument('--work-dir', help='output folder (required to run)')
    p.add_argument('--test-ann', help='another test set: annotation file')
    p.add_argument('--test-root', help='image folder of --test-ann')
    p.add_argument('--backbone', default='resnet18',
                   choices=('resnet18', 'efficientnet-lite0'))
    p.add_argument('--methods', default=','.join(tm.METHODS),
                   help='comma-separated methods (default: all)')
    p.add_argument('--seeds', default='0,1,2', help='comma-separated seeds')
    p.add_argument('--iters', type=int, default=1200,
                   help='optimizer steps per run (default 1200)')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    p.add_argument('--jobs', type=int, default=1,
                   help='runs trained at once (e.g. 4 on one GPU)')
    p.add_argument('--eval-split', default='test', choices=('test', 'val'),
                   help='"val" reports validation-split numbers (tuning)')
    p.add_argument('--recipe', nargs='+', default=[], metavar='KEY=VALUE',
                   help='override recipe knobs of every method, e.g. '
                   'lr=0.1 class_weight=1 loss_weights=0.3,0.7 batch=8,24')
    p.add_argument('--recipes-json', metavar='FILE',
                   help='per-method recipe overrides {method: {key: value}}'
                   ' (e.g. chosen on the validation split), applied '
                   'before --recipe')
    p.add_argument('--baseline-records', nargs='+', default=[],
                   metavar='FILE',
                   help='results.json file(s) whose records of methods not '
                   'in --methods join the report (same backbone and '
                   'eval split), e.g. the committed baseline runs')
    p.add_argument('--split-sizes', default=f'{td.N_TRAIN},{td.N_VAL}',
                   help=argparse.SUPPRESS)  # small fixtures in tests
    p.add_argument('--run-timeout', type=float, help='seconds per run')
    p.add_argument('--no-progress', action='store_true')
    p.add_argument('--prepare-data', metavar='OUT',
                   help='write 96 px copies of --data-root to OUT and exit')
    return p.parse_args(argv)


def parse_recipe(items: List[str]) -> dict:
    """``['lr=0.1', 'batch=8,24']`` -> ``{'lr': 0.1, 'batch': (8, 24)}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep:
            raise ValueError(f'--recipe {item!r} is not KEY=VALUE')
        parts = [float(v) for v in value.split(',')]
        out[key] = tuple(parts) if len(parts) > 1 else parts[0]
    tm.recipe_of('target-only', out)  # unknown keys fail here
    return out


def write_splits(args, split_dir: str) -> Dict[str, list]:
    """Write train/val/test annotation files; return the rows."""
    n_train, n_val = (int(n) for n in args.split_sizes.split(','))
    aria = osp.join(args.data_root, td.TARGET)
    rows = td.aria_rows(aria)
    args.duplicate_groups = td.duplicate_groups(rows)
    splits = td.make_splits(rows, n_train, n_val)
    if args.test_ann:
        if not args.test_root:
            raise ValueError('--test-ann needs --test-root')
        splits['test'] = td.read_test_ann(args.test_ann, args.test_root)
        if osp.realpath(args.test_root) == osp.realpath(aria):
            content = {row[0]: row[2] for row in rows}
            seen = {content[p] for p, _ in splits['train'] + splits['val']}
            leak = sorted(p for p, _ in splits['test']
                          if content.get(p, p) in seen)
            if leak:
                raise ValueError(f'--test-ann lists {len(leak)} training or '
                                 'validation images (or identical copies), '
                                 f'e.g. {leak[:3]}')
    for name, rows in splits.items():
        td.write_ann(osp.join(split_dir, f'{name}.txt'), rows)
    return splits


def make_protocol(args, splits: dict, split_dir: str, recipes: dict) -> dict:
    """The protocol dict that :func:`expand_protocol` reads."""
    weights = td.class_weights(splits['train'])
    env = dict(DL4ALL_DATA_ROOT=osp.abspath(args.data_root),
               DL4ALL_ARIA_SPLITS=osp.abspath(split_dir),
               PYTHONUNBUFFERED='1')
    if args.eval_split == 'val':
        env['DL4ALL_ARIA_TEST_ANN'] = osp.abspath(
            osp.join(split_dir, 'val.txt'))
    elif args.test_ann:
        env['DL4ALL_ARIA_TEST_ANN'] = osp.abspath(args.test_ann)
        env['DL4ALL_ARIA_TEST_ROOT'] = osp.abspath(args.test_root)
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    methods = []
    for name in args.methods.split(','):
        stages = tm.stages(name, args.iters, args.backbone, recipes[name],
                           weights, len(splits['train']))
        if args.device == 'cuda':  # fixed 96 px inputs
            for stage in stages:
                stage['cfg_options']['env_cfg.cudnn_benchmark'] = True
        methods.append(dict(name=name, stages=stages))
    return dict(methods=methods, seeds=[int(s) for s in
                                        args.seeds.split(',')],
                folds=[None], env=env,
                references=dl4all_methods(args.methods.split(',')),
                select_metric='diagnostic/balanced_accuracy',
                positive_index=1, class_weights=weights)


def dl4all_methods(methods: List[str]) -> List[str]:
    """The DL4ALL methods among ``methods`` (the report's references)."""
    return references(methods)


def reused_records(paths: List[str], methods: List[str], backbone: str,
                   eval_split: str) -> List[dict]:
    """Records of the methods not in ``methods`` from ``paths``
    (``results.json`` files); a record of another backbone or evaluation
    split is an error."""
    out = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            records = json.load(f)
        for record in records:
            if record['method'] in methods:
                continue
            got = (record.get('backbone', 'resnet18'),
                   record.get('eval_split', 'test'))
            if got != (backbone, eval_split):
                raise ValueError(
                    f'{path}: a {record["method"]} record has backbone/'
                    f'eval split {got}, this run {(backbone, eval_split)}')
            out.append(record)
    return out


def _report_order(records: List[dict]) -> List[dict]:
    order = {m: i for i, m in enumerate(tm.METHODS)}
    return sorted(records, key=lambda r: (order.get(r['method'], len(order)),
                                          str(r['seed']), str(r['fold'])))


def main(argv=None) -> int:
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.prepare_data:
        sizes = td.prepare_data(args.data_root, args.prepare_data)
        print(f'{sum(sizes.values()) / 2**20:.1f} MiB of images in '
              f'{args.prepare_data}; use it as --data-root (do not commit '
              'the all_aria images)')
        return 0
    if not args.work_dir:
        raise SystemExit('error: --work-dir is required')
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('error: --device cuda but torch sees no GPU')
    overrides = parse_recipe(args.recipe)
    unknown = [m for m in args.methods.split(',') if m not in tm.METHODS]
    if unknown:
        raise SystemExit(f'error: unknown method(s) {unknown}; methods: '
                         f'{list(tm.METHODS)}')
    per_method = {}
    if args.recipes_json:
        with open(args.recipes_json, encoding='utf-8') as f:
            per_method = json.load(f)
    recipes = {
        m: tm.recipe_of(m, dict(per_method.get(m, {}), **overrides))
        for m in args.methods.split(',')
    }
    reused = reused_records(args.baseline_records, args.methods.split(','),
                            args.backbone, args.eval_split)
    split_dir = osp.join(args.work_dir, 'splits')
    splits = write_splits(args, split_dir)
    protocol = make_protocol(args, splits, split_dir, recipes)

    from dl4all_mm.evaluation.protocol import write_results
    from dl4all_mm.evaluation.protocol_runner import (expand_protocol,
                                                      run_protocol)
    runs = expand_protocol(protocol, osp.join(HERE, 'transfer.py'))
    executor = ParallelExecutor(runs, args.work_dir, max(1, args.jobs),
                                args.run_timeout)
    title = (f'PBC -> all_aria low-data ({args.backbone}, 96 px, '
             f'{args.eval_split} split)')
    notes = _notes(args, splits, recipes, protocol['class_weights'], reused)
    records, failures = run_protocol(
        runs, args.work_dir, references=protocol['references'],
        executor=executor, progress=not args.no_progress, title=title,
        notes=notes)
    for record in records:
        record['backbone'] = args.backbone
        record['eval_split'] = args.eval_split
    done = len(records)
    if records:
        records = _report_order(reused + list(records))
        write_results(records, osp.join(args.work_dir, 'results.json'),
                      osp.join(args.work_dir, 'results.md'),
                      protocol['references'], title=title, notes=notes)
    print(f'{done} of {len(runs)} runs done; results in '
          f'{osp.join(args.work_dir, "results.md")}')
    for name, message in failures:
        print(f'FAILED {name}: {message}', file=sys.stderr)
    return 1 if failures else 0


def _notes(args, splits: dict, recipes: dict, weights: list,
           reused: List[dict] = ()) -> List[str]:
    count = {k: sum(label for _, label in v) for k, v in splits.items()}
    sizes = ', '.join(f'{k} {len(v)} ({len(v) - count[k]} normal / '
                      f'{count[k]} ALL)' for k, v in splits.items())
    lines = [
        f'Splits (seed {td.SPLIT_SEED}, stratified): {sizes}; '
        f'{args.duplicate_groups} groups of byte-identical all_aria '
        'images, each kept within one split.',
        tm.budget_note(args.iters, len(splits['train']), recipes),
        f'Backbone {args.backbone}; device {args.device}; '
        f'{args.jobs} run(s) at a time (wall_s grows with --jobs).',
        f'Target class weights of the single-head methods (when on): '
        f'{weights}; DL4ALL: DomainClassWeightHook (training labels).',
        'Recipes: ' + '; '.join(
            f'{m}: ' + ', '.join(f'{k}={v}' for k, v in r.items()
                                  if k in ('lr', 'class_weight') or
                                  m.startswith('dl4all'))
            for m, r in recipes.items()) + '.',
        'Command: `python benchmarks/transfer.py ' + ' '.join(
            args.argv) + '`',
    ]
    if reused:
        names = sorted({r['method'] for r in reused})
        lines.append(f'Not re-run: {", ".join(names)} ({len(reused)} '
                     'records from ' + ', '.join(
                         f'`{p}`' for p in args.baseline_records) + ').')
    if args.eval_split == 'val':
        lines.insert(0, '**Validation split (tuning): the model is '
                     'selected and scored on the same 300 images.**')
    return lines


if __name__ == '__main__':
    sys.exit(main())
