"""The learning-curve report: per target size, mean ± std per method,
paired differences DL4ALL − each baseline, a verdict in plain words and
``learning_curve.png``."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..protocol import _p, _pct, compare, summarize

METRIC = 'balanced_accuracy'


def _by_size(records: Sequence[dict]) -> Dict[int, List[dict]]:
    out: Dict[int, List[dict]] = {}
    for record in records:
        out.setdefault(int(record['target_size']), []).append(record)
    return dict(sorted(out.items()))


def _stat(summary: dict, method: str) -> tuple:
    entry = summary.get(method, {}).get(METRIC, {})
    return entry.get('mean'), entry.get('std')


def verdict(records: Sequence[dict], method: str, baseline: str) -> dict:
    """Whether ``method`` beats ``baseline`` by more than the seed spread:
    the mean paired difference exceeds the larger of the two methods' seed
    standard deviations (and the paired t-test's p where it exists)."""
    summary = summarize(records, (METRIC, ))
    result = compare(records, method, baseline, (METRIC, ))
    test = result['tests'][METRIC]
    spread = max([s for s in (_stat(summary, method)[1],
                              _stat(summary, baseline)[1]) if s is not None]
                 or [0.0])
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


def render(records: Sequence[dict], methods: Sequence[str],
           references: Sequence[str], title: str,
           notes: Sequence[str] = ()) -> str:
    """The markdown report."""
    lines = [f'# {title}', '']
    lines += [f'- {n}' for n in notes] + ['']
    sizes = _by_size(records)
    lines += ['## Test balanced accuracy (%), mean ± std over seeds', '',
              '| method | ' + ' | '.join(f'n={s}' for s in sizes) + ' |',
              '|---|' + '---|' * len(sizes)]
    for method in methods:
        cells = []
        for rows in sizes.values():
            mean, std = _stat(summarize(rows, (METRIC, )), method)
            runs = sum(r['method'] == method for r in rows)
            cells.append('' if mean is None else
                         f'{_pct(mean)} ± {_pct(std)} ({runs})')
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    lines += ['', '## DL4ALL minus each baseline (paired by seed)', '',
              '| size | DL4ALL | baseline | diff (pts) | seed spread (pts) '
              '| paired t p | Wilcoxon p | verdict |',
              '|---|---|---|---|---|---|---|---|']
    verdicts = []
    for size, rows in sizes.items():
        for ref in references:
            for base in methods:
                if base in references:
                    continue
                v = verdict(rows, ref, base)
                if v['diff'] is None:
                    continue
                verdicts.append((size, v))
                lines.append(
                    f'| {size} | {ref} | {base} | {_pct(v["diff"], True)} | '
                    f'{_pct(v["spread"])} | {_p(v["ttest_p"])} | '
                    f'{_p(v["wilcoxon_p"])} | {v["word"]} |')
    lines += ['', '## Verdict', '', plain_verdict(verdicts), '']
    return '\n'.join(lines)


def plain_verdict(verdicts: Sequence[tuple]) -> str:
    """One line: the sizes at which a DL4ALL method beats every baseline
    (by more than the seed spread), or that it never does."""
    wins: Dict[str, List[str]] = {}
    for size, v in verdicts:
        if v['word'] == 'beats':
            wins.setdefault(v['method'], []).append(
                f'{v["baseline"]} at {size}')
    if not verdicts:
        return 'No DL4ALL method was compared with a baseline.'
    if not wins:
        return ('No DL4ALL method beats any baseline by more than the seed '
                'spread at any target size.')
    return ' '.join(f'{m} beats ' + ', '.join(w) + ' (target images) by '
                    'more than the seed spread; everywhere else it ties or '
                    'loses.' for m, w in wins.items())


def plot(records: Sequence[dict], methods: Sequence[str], path: str,
         title: str) -> None:
    """``learning_curve.png``: test balanced accuracy vs target training
    size, one line per method, error bars = seed std."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sizes = _by_size(records)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for k, method in enumerate(methods):
        xs, ys, es = [], [], []
        for size, rows in sizes.items():
            mean, std = _stat(summarize(rows, (METRIC, )), method)
            if mean is not None:
                xs.append(size * (1 + 0.015 * (k - len(methods) / 2)))
                ys.append(100 * mean)
                es.append(100 * (std or 0.0))
        if xs:
            ax.errorbar(xs, ys, yerr=es, marker='o', capsize=3, label=method)
    ax.set_xscale('log')
    ax.set_xticks(list(sizes))
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel('target training images')
    ax.set_ylabel('test balanced accuracy (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(records: Sequence[dict], methods: Sequence[str],
                 references: Sequence[str], work_dir: str, title: str,
                 notes: Sequence[str] = ()) -> None:
    """``results.json``, ``results.md`` and ``learning_curve.png``."""
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(list(records), f, indent=2)
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(render(records, methods, references, title, notes))
    if records:
        plot(records, methods, osp.join(work_dir, 'learning_curve.png'),
             title)


def mean_of(records: Sequence[dict], method: str) -> Optional[float]:
    """Mean balanced accuracy of ``method`` in ``records`` (None: no run)."""
    vals = [r['metrics'][METRIC] for r in records if r['method'] == method
            and r['metrics'].get(METRIC) is not None]
    return float(np.mean(vals)) if vals else None
