"""The one renderer of protocol records: ``results.json``, ``results.md``
and, for records of several target sizes, ``learning_curve.png``.

Every front end (``tools/run_protocol.py``, ``tools/compare_transfer.py``
and its preset ``benchmarks/transfer.py``) writes its report here, from
records only (:mod:`.protocol` holds the statistics), so a committed
``results.json`` renders again with::

    python -m dl4all_mm.evaluation.report docs/results_X.json [--md OUT]
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from .protocol import METRIC_KEYS, compare, summarize, validate_record

#: The metric of the learning curve, the verdicts and model selection.
METRIC = 'balanced_accuracy'


def fmt_pct(value: Optional[float], signed: bool = False) -> str:
    """A fraction in percent with two decimals (``'n/a'`` for None)."""
    if value is None:
        return 'n/a'
    return f'{100 * value:+.2f}' if signed else f'{100 * value:.2f}'


def fmt_p(value: Optional[float]) -> str:
    """A p-value with three significant digits (``'n/a'`` for None)."""
    return 'n/a' if value is None else f'{value:.3g}'


def _stat(summary: dict, method: str, metric: str = METRIC) -> tuple:
    entry = summary.get(method, {}).get(metric, {})
    return entry.get('mean'), entry.get('std')


def verdict(records: Sequence[dict], method: str, baseline: str,
            metric: str = METRIC) -> dict:
    """Whether ``method`` beats ``baseline`` by more than the seed spread:
    the mean paired difference exceeds the larger of the two methods' seed
    standard deviations."""
    summary = summarize(records, (metric, ))
    test = compare(records, method, baseline, (metric, ))['tests'][metric]
    spread = max([s for s in (_stat(summary, method, metric)[1],
                              _stat(summary, baseline, metric)[1])
                  if s is not None] or [0.0])
    diff = test['mean']
    if diff is None:
        word = 'not compared'
    elif test['n'] < 2:
        word = 'one seed only: no spread to compare with'
    elif diff > spread:
        word = 'beats'
    elif diff < -spread:
        word = 'loses to'
    else:
        word = 'ties with'
    return dict(method=method, baseline=baseline, diff=diff, spread=spread,
                n=test['n'], ttest_p=test['ttest_p'],
                wilcoxon_p=test['wilcoxon_p'], word=word)


def plain_verdict(verdicts: Sequence[tuple]) -> str:
    """One line: where a reference method beats a baseline by more than
    the seed spread, or that it never does."""
    if not verdicts:
        return 'No DL4ALL method was compared with a baseline.'
    wins: Dict[str, List[str]] = {}
    for size, v in verdicts:
        if v['word'] == 'beats':
            where = '' if size is None else f' at {size}'
            wins.setdefault(v['method'], []).append(v['baseline'] + where)
    if not wins:
        return ('No DL4ALL method beats any baseline by more than the seed '
                'spread' + (' at any target size.' if verdicts[0][0]
                            is not None else '.'))
    unit = ' (target images)' if verdicts[0][0] is not None else ''
    return ' '.join(f'{m} beats ' + ', '.join(w) + f'{unit} by more than '
                    'the seed spread; everywhere else it ties or loses.'
                    for m, w in wins.items())


def _groups(records: Sequence[dict]) -> Dict[object, List[dict]]:
    """Records by ``target_size`` (one group, key None, without sizes)."""
    out: Dict[object, List[dict]] = {}
    for r in records:
        size = r.get('target_size')
        out.setdefault(None if size is None else int(size), []).append(r)
    return dict(sorted(out.items(), key=lambda kv: kv[0] or 0))


def _curve(groups: dict, methods: Sequence[str]) -> List[str]:
    lines = [f'## Test {METRIC.replace("_", " ")} (%), mean ± std over '
             'seeds', '', '| method | ' + ' | '.join(
                 f'n={s}' for s in groups) + ' |',
             '|---|' + '---|' * len(groups)]
    for method in methods:
        cells = []
        for rows in groups.values():
            mean, std = _stat(summarize(rows, (METRIC, )), method)
            runs = sum(r['method'] == method for r in rows)
            cells.append('' if mean is None else
                         f'{fmt_pct(mean)} ± {fmt_pct(std)} ({runs})')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return lines + ['']


def _summary(rows: Sequence[dict], metrics: Sequence[str]) -> List[str]:
    splits = sorted({str(r.get('eval_split', 'test')) for r in rows})
    split = ('Validation-split' if splits == ['val'] else
             f"{'/'.join(splits).capitalize()}-split")
    lines = [f'{split} metrics in %, mean ± sample std over seeds × folds '
             '(n/a: fewer than two values).', '',
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
    tests = cmp['tests']
    lines = ['', f'{level} {ref} minus {base} (points)', '',
             '| seed | fold | ' + ' | '.join(metrics) + ' |',
             '|---|---|' + '---|' * len(metrics)]
    for row in cmp['rows']:
        fold = '-' if row['fold'] is None else row['fold']
        lines.append(f"| {row['seed']} | {fold} | " + ' | '.join(
            fmt_pct(row['diff'][k], True) for k in metrics) + ' |')
    for label, key, fmt in (('| **mean** | |', 'mean', fmt_pct),
                            ('| Wilcoxon p | |', 'wilcoxon_p', fmt_p),
                            ('| paired t p | |', 'ttest_p', fmt_p)):
        args = (True, ) if key == 'mean' else ()
        lines.append(label + ' ' + ' | '.join(
            fmt(tests[k][key], *args) for k in metrics) + ' |')
    notes = sorted({t['note'] for t in tests.values() if t['note']})
    return lines + (['', 'Notes: ' + '; '.join(notes) + '.'] if notes else [])


def render_markdown(records: Sequence[dict],
                    references: Sequence[str],
                    title: str = 'Protocol results',
                    notes: Sequence[str] = (),
                    metrics: Sequence[str] = METRIC_KEYS,
                    methods: Optional[Sequence[str]] = None) -> str:
    """The markdown report: the learning curve (records with
    ``target_size``), every reference minus every other method with its
    verdict, then per target size the mean ± std of every metric and the
    paired differences per seed/fold with Wilcoxon and paired t tests."""
    methods = list(methods or dict.fromkeys(r['method'] for r in records))
    groups = _groups(records)
    sized = list(groups) != [None]
    lines = [f'# {title}', ''] + [f'- {n}' for n in notes]
    lines += [''] if notes else []
    lines += _curve(groups, methods) if sized else []
    lines += [f'## DL4ALL minus each baseline (paired by seed, '
              f'{METRIC.replace("_", " ")})', '',
              '| size | DL4ALL | baseline | diff (pts) | seed spread (pts) '
              '| paired t p | Wilcoxon p | verdict |',
              '|---|---|---|---|---|---|---|---|']
    verdicts = []
    pairs = [(ref, base) for ref in references for base in methods
             if ref in methods and base not in references]
    for size, rows in groups.items():
        for ref, base in pairs:
            v = verdict(rows, ref, base)
            if v['diff'] is not None:
                verdicts.append((size, v))
                lines.append(
                    f'| {"-" if size is None else size} | {ref} | {base} | '
                    f'{fmt_pct(v["diff"], True)} | {fmt_pct(v["spread"])} | '
                    f'{fmt_p(v["ttest_p"])} | {fmt_p(v["wilcoxon_p"])} | '
                    f'{v["word"]} |')
    lines += ['', plain_verdict(verdicts), '']
    for size, rows in groups.items():
        if sized:
            lines += [f'## {size} target images', '']
        lines += _summary(rows, metrics)
        level = '###' if sized else '##'
        for ref, base in pairs:
            lines += _paired(rows, ref, base, metrics, level)
        lines.append('')
    return '\n'.join(lines)


def plot_learning_curve(records: Sequence[dict], methods: Sequence[str],
                        path: str, title: str) -> None:
    """Test balanced accuracy vs target training size, one line per
    method, error bars = seed std."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    groups = _groups(records)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for k, method in enumerate(methods):
        xs, ys, es = [], [], []
        for size, rows in groups.items():
            mean, std = _stat(summarize(rows, (METRIC, )), method)
            if mean is not None:
                xs.append(size * (1 + 0.015 * (k - len(methods) / 2)))
                ys.append(100 * mean)
                es.append(100 * (std or 0.0))
        if xs:
            ax.errorbar(xs, ys, yerr=es, marker='o', capsize=3, label=method)
    ax.set_xscale('log')
    ax.set_xticks(list(groups))
    ax.set_xticklabels([str(s) for s in groups])
    ax.set_xlabel('target training images')
    ax.set_ylabel('test balanced accuracy (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_results(records: Sequence[dict], json_path: str, md_path: str,
                  references: Sequence[str], **kwargs) -> None:
    """Write validated records to ``json_path`` and their report to
    ``md_path``; records of several target sizes also get
    ``learning_curve.png`` beside ``md_path``."""
    records = [validate_record(r) for r in records]
    with open(json_path, 'w', encoding='utf-8') as f:
        json.dump(list(records), f, indent=2, allow_nan=False)
    with open(md_path, 'w', encoding='utf-8') as f:
        f.write(render_markdown(records, references, **kwargs))
    if len([s for s in _groups(records) if s is not None]) > 1:
        plot_learning_curve(
            records, kwargs.get('methods') or list(dict.fromkeys(
                r['method'] for r in records)),
            osp.join(osp.dirname(md_path), 'learning_curve.png'),
            kwargs.get('title', ''))


def main(argv: Optional[List[str]] = None) -> int:
    """Render a committed ``results.json`` again (to stdout or ``--md``)."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument('records', help='a results.json of protocol records')
    p.add_argument('--references', default='dl4all-joint,dl4all-greedy',
                   help='methods compared with every other one')
    p.add_argument('--title', default='Protocol results')
    p.add_argument('--md', help='write here instead of stdout')
    args = p.parse_args(argv)
    with open(args.records, encoding='utf-8') as f:
        records = [validate_record(r) for r in json.load(f)]
    text = render_markdown(records, args.references.split(','), args.title)
    if args.md:
        with open(args.md, 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
