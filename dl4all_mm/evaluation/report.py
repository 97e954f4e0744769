"""The one renderer of protocol records: ``results.json``, ``results.md``
and, for records of several target sizes, ``learning_curve.png``.

Every front end (``tools/run_protocol.py``, ``tools/compare_transfer.py``
and its preset ``benchmarks/transfer.py``) writes its report here, from
records only (:mod:`.verdicts`, :mod:`.protocol` and :mod:`.bootstrap`
hold the statistics), so a committed ``results.json`` renders again with::

    python -m dl4all_mm.evaluation.report docs/results_X.json [--md OUT]
        [--decision argmax|prior|cv]

A record's ``predictions`` (its run's ``predictions.csv``) is written
relative to the folder of the ``results.json`` holding it; in memory it is
absolute (:func:`load_records` resolves it).
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional, Sequence

from .decision import DECISIONS, resolve
from .protocol import METRIC_KEYS, compare, summarize, validate_record
from .curve_plot import plot_learning_curve
from .verdicts import (ALPHA, METRIC, N_BOOT, SEED, Scored, curve_cell,
                       declared_contrasts, disagreements, groups_by_size,
                       metric_name, units_of)

#: Sizes up to this many labels want at least MIN_DRAWS draws.
SMALL, MIN_DRAWS = 48, 10


def fmt_pct(value: Optional[float], signed: bool = False) -> str:
    """A fraction in percent with two decimals (``'n/a'`` for None)."""
    if value is None:
        return 'n/a'
    return f'{100 * value:+.2f}' if signed else f'{100 * value:.2f}'


def fmt_p(value: Optional[float]) -> str:
    """A p-value with three significant digits (``'n/a'`` for None)."""
    return 'n/a' if value is None else f'{value:.3g}'


def fmt_ci(low: Optional[float], high: Optional[float],
           signed: bool = False) -> str:
    """``[low, high]`` in percent (``'n/a'`` without an interval)."""
    if low is None or high is None:
        return 'n/a'
    return f'[{fmt_pct(low, signed)}, {fmt_pct(high, signed)}]'


def _curve(scored: Scored, groups: dict, methods: Sequence[str],
           metric: str) -> List[str]:
    lines = [f'## Test {metric_name(metric, scored.rule)} (%): mean '
             f'[95 % CI] ({units_of(_records_of(groups))})', '',
             '| method | ' + ' | '.join(f'n={s}' for s in groups) + ' |',
             '|---|' + '---|' * len(groups)]
    for method in methods:
        cells = []
        for rows in groups.values():
            c = curve_cell(scored, rows, method, metric)
            used = ''.join(f'; labels used {u}' for u in c['labels_used'])
            cells.append('' if c['mean'] is None else
                         f"{fmt_pct(c['mean'])} {fmt_ci(c['low'], c['high'])}"
                         f" ({c['n_units']}{used})")
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _records_of(groups: dict) -> List[dict]:
    """Every record of ``groups``."""
    return [r for rows in groups.values() for r in rows]


def _draw_warnings(groups: dict) -> List[str]:
    out = []
    for size, rows in groups.items():
        draws = {r['draw'] for r in rows if r.get('draw') is not None}
        if size is not None and size <= SMALL and len(draws) < MIN_DRAWS:
            out.append(f'Warning: {len(draws) or 1} label draw(s) at '
                       f'{size} target images (< {MIN_DRAWS}): which '
                       'images a lab labels moves results most at small '
                       'sizes; treat these intervals as optimistic.')
    return out


def _contrasts(scored: Scored, groups: dict,
               references: Sequence[str]) -> List[str]:
    contrasts = declared_contrasts(scored, groups, references)
    lines = ['## Declared contrasts: each DL4ALL method minus the best '
             'ordinary baseline and minus target-only', '',
             '| size | DL4ALL | baseline | as | metric | diff (pts) | 95 % '
             'CI (pts) | units | paired t p | Holm p | Wilcoxon p | verdict '
             '|', '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for c in contrasts:
        lines.append(
            f"| {'-' if c['size'] is None else c['size']} | {c['method']} | "
            f"{c['baseline']} | {c['role']} | "
            f"{metric_name(c['metric'], scored.rule)} | "
            f"{fmt_pct(c['mean'], True)} | "
            f"{fmt_ci(c['low'], c['high'], True)} | {c['n']} | "
            f"{fmt_p(c['ttest_p'])} | {fmt_p(c['holm_p'])} | "
            f"{fmt_p(c['wilcoxon_p'])} | {c['word']} |")
    lines += ['', plain_verdict(contrasts), '']
    split = disagreements(contrasts)
    if split:
        lines += ['Balanced accuracy and AUC disagree:', ''] + [
            f'- {s}' for s in split] + ['']
    resampled = sorted({c['resampled'] for c in contrasts})
    lines += [
        'How to read it: the best ordinary baseline of a size is the method '
        'of highest mean test ' + metric_name(METRIC, scored.rule) +
        ' among linear-probe, target-only, lp-ft, sequential and mixed '
        '(those present): picked on the test set, which favours the '
        'baseline. diff = mean over units of the per-unit difference '
        '(repeats of a unit averaged); 95 % CI: percentile bootstrap '
        f'({N_BOOT} resamples, seed {SEED}) resampling '
        + ' / '.join(resampled or ['draws']) + '; paired t and Wilcoxon '
        'over the per-unit differences; Holm p: the t p-values adjusted '
        'across every row of this table (one family, both metrics). '
        f'higher/lower: Holm p < {ALPHA} and the CI excludes 0; otherwise '
        'no detectable difference (the CI says how large a difference the '
        'data leave possible).', '']
    return lines


def plain_verdict(contrasts: Sequence[dict]) -> str:
    """One line: the contrasts with a detectable difference, or none."""
    if not contrasts:
        return 'No DL4ALL method was compared with a baseline.'
    found = [c for c in contrasts if c['word'] in ('higher', 'lower')]
    if not found:
        return ('No declared contrast shows a detectable difference '
                f'(Holm-adjusted p < {ALPHA} with a 95 % CI excluding 0).')
    return ' '.join(
        f"{c['method']} is {c['word']} than {c['baseline']} in "
        f"{'AUC' if c['metric'] == 'auc' else 'balanced accuracy'}"
        + ('' if c['size'] is None else f" at {c['size']} target images")
        + f" ({fmt_pct(c['mean'], True)} points, 95 % CI "
        f"{fmt_ci(c['low'], c['high'], True)})." for c in found
    ) + ' Every other declared contrast: no detectable difference.'


def _summary(rows: Sequence[dict], metrics: Sequence[str]) -> List[str]:
    splits = sorted({str(r.get('eval_split', 'test')) for r in rows})
    split = ('Validation-split' if splits == ['val'] else
             f"{'/'.join(splits).capitalize()}-split")
    lines = [f'{split} metrics in % as recorded (argmax), mean ± sample std '
             'over runs (n/a: fewer than two values).', '',
             '| method | runs | ' + ' | '.join(metrics) + ' | s/run |',
             '|---|---|' + '---|' * len(metrics) + '---|']
    for method, entry in summarize(rows, metrics).items():
        cells = []
        for key in metrics:
            m = entry[key]
            cell = f"{fmt_pct(m['mean'])} ± {fmt_pct(m['std'])}"
            cells.append(cell + (f" (n={m['n']})"
                                 if m['n'] != entry['runs'] else ''))
        lines.append(f"| {method} | {entry['runs']} | " + ' | '.join(cells) +
                     f" | {entry['wall_s'] / entry['runs']:.0f} |")
    return lines


def _paired(rows: Sequence[dict], ref: str, base: str,
            metrics: Sequence[str], level: str) -> List[str]:
    cmp = compare(rows, ref, base, metrics)
    lines = ['', f'{level} {ref} minus {base} (points)', '',
             'Per run, as recorded (argmax).', '',
             '| seed | fold | ' + ' | '.join(metrics) + ' |',
             '|---|---|' + '---|' * len(metrics)]
    for row in cmp['rows']:
        fold = '-' if row['fold'] is None else row['fold']
        lines.append(f"| {row['seed']} | {fold} | " + ' | '.join(
            fmt_pct(row['diff'][k], True) for k in metrics) + ' |')
    lines.append('| **mean** | | ' + ' | '.join(
        fmt_pct(cmp['tests'][k]['mean'], True) for k in metrics) + ' |')
    return lines


def render_markdown(records: Sequence[dict],
                    references: Sequence[str],
                    title: str = 'Protocol results',
                    notes: Sequence[str] = (),
                    metrics: Sequence[str] = METRIC_KEYS,
                    methods: Optional[Sequence[str]] = None,
                    decision: str = 'argmax') -> str:
    """The markdown report: the learning curve (records with
    ``target_size``: balanced accuracy under ``decision`` and AUC, mean
    and 95 % CI), the declared contrasts with their verdicts, then per
    target size the recorded metrics and the per-run differences."""
    methods = list(methods or dict.fromkeys(r['method'] for r in records))
    scored = Scored(records, decision)
    groups = groups_by_size(records)
    sized = list(groups) != [None]
    lines = [f'# {title}', ''] + [f'- {n}' for n in notes]
    lines += [''] if notes else []
    extra = ([f'Decision rule: {decision}.'] + scored.notes() +
             _unit_notes(records))
    lines += [f'- {n}' for n in extra] + ['']
    if sized:
        for metric in ('balanced_accuracy', 'auc'):
            lines += _curve(scored, groups, methods, metric)
        lines += [f'{w}' for w in _draw_warnings(groups)]
        lines += [''] if _draw_warnings(groups) else []
    lines += _contrasts(scored, groups, references)
    pairs = [(ref, base) for ref in references for base in methods
             if ref in methods and base not in references]
    for size, rows in groups.items():
        if sized:
            lines += [f'## {size} target images', '']
        lines += _summary(rows, metrics)
        level = '###' if sized else '##'
        for ref, base in pairs:
            if {ref, base} <= {r['method'] for r in rows}:
                lines += _paired(rows, ref, base, metrics, level)
        lines.append('')
    return '\n'.join(lines)


def _unit_notes(records: Sequence[dict]) -> List[str]:
    if any(r.get('draw') is not None for r in records):
        return ['Unit of the statistics: the label draw (each draw its own '
                'labelled images, the same for every method); units = '
                'draws.']
    return ['These records carry no label draw: every run trained on the '
            'same labelled images, so the unit of the statistics is the '
            'seed/fold, which varies optimiser noise only, not which images '
            'were labelled; units = seeds/folds.']


def _relative(record: dict, folder: str) -> dict:
    """``record`` with ``predictions`` relative to ``folder``."""
    if not record.get('predictions'):
        return record
    return dict(record, predictions=osp.relpath(
        osp.abspath(record['predictions']), folder).replace('\\', '/'))


def write_results(records: Sequence[dict], json_path: str, md_path: str,
                  references: Sequence[str], **kwargs) -> None:
    """Write validated records to ``json_path`` (``predictions`` relative
    to its folder) and their report to ``md_path``; records of several
    target sizes also get ``learning_curve.png`` beside ``md_path``."""
    records = [validate_record(r) for r in records]
    folder = osp.dirname(osp.abspath(json_path))
    with open(json_path, 'w', encoding='utf-8') as f:
        json.dump([_relative(r, folder) for r in records], f, indent=2,
                  allow_nan=False)
    with open(md_path, 'w', encoding='utf-8') as f:
        f.write(render_markdown(records, references, **kwargs))
    if len([s for s in groups_by_size(records) if s is not None]) > 1:
        plot_learning_curve(
            records, kwargs.get('methods') or list(dict.fromkeys(
                r['method'] for r in records)),
            osp.join(osp.dirname(md_path), 'learning_curve.png'),
            kwargs.get('title', ''), kwargs.get('decision', 'argmax'))


def load_records(path: str) -> List[dict]:
    """The validated records of a ``results.json``, ``predictions``
    resolved against its folder."""
    with open(path, encoding='utf-8') as f:
        records = [validate_record(r) for r in json.load(f)]
    folder = osp.dirname(osp.abspath(path))
    return [dict(r, predictions=resolve(r['predictions'], folder))
            if r.get('predictions') else r for r in records]


def main(argv: Optional[List[str]] = None) -> int:
    """Render a committed ``results.json`` again (to stdout or ``--md``)."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument('records', help='a results.json of protocol records')
    p.add_argument('--references', default='dl4all-joint,dl4all-greedy',
                   help='methods compared with every other one')
    p.add_argument('--title', default='Protocol results')
    p.add_argument('--decision', default='argmax', choices=DECISIONS,
                   help='decision rule of the balanced accuracy')
    p.add_argument('--md', help='write here instead of stdout')
    args = p.parse_args(argv)
    records = load_records(args.records)
    text = render_markdown(records, args.references.split(','), args.title,
                           decision=args.decision)
    if args.md:
        with open(args.md, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
