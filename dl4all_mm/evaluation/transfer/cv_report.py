"""The in-budget searches of a comparison in one file and one table:
``work_dir/lr_search.json`` and the report's lines (issue 22, item 3:
"the grid, every fold's score and the choice go into lr_search.json and
the report")."""
import json
from typing import List, Sequence

from .cv_search import SCORE_RULE, candidate_name


def write_lr_search(results: Sequence[dict], path: str) -> dict:
    """Write the :func:`.cv_search.cv_search` results of every size and
    draw (in size, draw order) to ``path``; returns what was written."""
    out = dict(score=SCORE_RULE, searches=sorted(
        results, key=lambda r: (r['size'], r['draw'])))
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(out, f, indent=2)
        f.write('\n')
    return out


def _fmt(value) -> str:
    return '-' if value is None else f'{100 * value:.1f}'


def lr_search_markdown(results: Sequence[dict]) -> List[str]:
    """A markdown table: per size, draw and method the pooled score of
    every candidate (in %, ``-`` where its runs failed), the fold scores of
    the chosen one, the choice and its ``--decision cv`` threshold."""
    if not results:
        return []
    grid = results[0]['grid']
    names = [candidate_name(c) for c in grid]
    lines = [
        f'In-budget cross-validation ({SCORE_RULE}; ties: the smaller lr, '
        'then the listed norm order):', '',
        '| size | draw | k | method | ' + ' | '.join(names) +
        ' | choice | folds of the choice | cv threshold |',
        '|---' * (len(names) + 7) + '|']
    for r in sorted(results, key=lambda r: (r['size'], r['draw'])):
        for method, entry in r['methods'].items():
            pooled = {candidate_name(c['candidate']): c['pooled']
                      for c in entry['candidates']}
            chosen = next((c for c in entry['candidates']
                           if c['candidate'] == entry['choice']), None)
            folds = ('-' if chosen is None else ', '.join(
                _fmt(s) for s in chosen['fold_scores']))
            choice = ('-' if entry['choice'] is None else
                      candidate_name(entry['choice']))
            threshold = ('-' if entry.get('threshold') is None else
                         f'{entry["threshold"]:.3g}')
            lines.append(
                f'| {r["size"]} | {r["draw"]} | {r["k"]} | {method} | ' +
                ' | '.join(_fmt(pooled.get(n)) for n in names) +
                f' | {choice} | {folds} | {threshold} |')
    return lines
