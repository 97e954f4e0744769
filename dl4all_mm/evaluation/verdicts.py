"""The report's statistics: records scored under a decision rule, the
learning curve with bootstrap CIs, and the declared contrasts with their
verdicts.

Declared contrasts, per target size: each DL4ALL method (the references)
against the best ordinary baseline at that size (the highest mean under the
decision rule among :data:`ORDINARY`: picked by its test mean, which favours
the baseline) and against target-only. Each gets, for balanced accuracy
(under the rule) and AUC: the mean difference over draws with a 95 %
bootstrap CI (:mod:`.bootstrap`), paired t and Wilcoxon tests over the
per-draw differences (repeats of a draw averaged) and the Holm-adjusted t
p-value across every test of the report. A verdict is never stronger than
its CI: ``higher``/``lower`` only when the adjusted p < :data:`ALPHA` and
the CI excludes 0.
"""
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .bootstrap import (RunScores, bootstrap_mean_ci,
                        hierarchical_bootstrap_ci, run_metric)
from .decision import (DECISIONS, decide, read_predictions,
                       record_decisions)
from .protocol import holm, paired_test, paired_units, unit_key

#: Ordinary transfer methods, candidates for the best baseline.
ORDINARY = ('linear-probe', 'target-only', 'lp-ft', 'sequential', 'mixed')
#: The metric of the learning curve, the verdicts and model selection.
METRIC = 'balanced_accuracy'
#: The metrics of the curve and the contrasts.
METRICS = ('balanced_accuracy', 'auc')
ALPHA = 0.05
N_BOOT = 2000
SEED = 0


def groups_by_size(records: Sequence[dict]) -> dict:
    """Records by ``target_size`` (one group, key None, without sizes)."""
    out: dict = {}
    for r in records:
        size = r.get('target_size')
        out.setdefault(None if size is None else int(size), []).append(r)
    return dict(sorted(out.items(), key=lambda kv: kv[0] or 0))


def metric_name(metric: str, rule: str) -> str:
    """How the report names ``metric`` under decision ``rule``."""
    if metric == 'auc':
        return 'AUC'
    return 'balanced accuracy' + ('' if rule == 'argmax' else
                                  f' ({rule} rule)')


class Scored:
    """Records with balanced accuracy under ``rule`` and AUC, recomputed
    from their ``predictions`` (an absolute path, or relative to the
    working directory) where the file exists, else the record's own
    values (its AUC; its balanced accuracy under ``argmax`` only). A record
    lacking what the rule needs (``train_counts``, ``cv_threshold``) has
    no balanced accuracy; :meth:`notes` says so.

    Args:
        records (sequence): Protocol records.
        rule (str): One of :data:`~.decision.DECISIONS`.
    """

    def __init__(self, records: Sequence[dict], rule: str = 'argmax'):
        if rule not in DECISIONS:
            raise ValueError(f'unknown decision rule {rule!r}; rules: '
                             f'{DECISIONS}')
        self.rule = rule
        self._runs: Dict[int, Optional[RunScores]] = {}
        self._images: Dict[int, list] = {}
        self._values: Dict[int, dict] = {}
        cache: Dict[str, object] = {}
        self.missing, self.unruled = 0, []
        for r in records:
            path = r.get('predictions')
            self._runs[id(r)] = None
            if not (path and osp.isfile(path)):
                self.missing += 1
                self._values[id(r)] = {
                    m: r['metrics'].get(m) if rule == 'argmax' or m == 'auc'
                    else None for m in METRICS}
                continue
            preds = cache.get(path) or read_predictions(path)
            cache[path] = preds
            self._images[id(r)] = preds.images
            try:
                decided = record_decisions(r, preds, rule)
            except ValueError as err:  # e.g. no cv_threshold: no value
                self.unruled.append(str(err))
                run = RunScores(preds.labels, decide(preds.scores),
                                preds.scores)
                self._values[id(r)] = dict(balanced_accuracy=None,
                                           auc=_num(run_metric(run,
                                                               'auc')[0]))
                continue
            run = RunScores(preds.labels, decided, preds.scores)
            self._runs[id(r)] = run
            self._values[id(r)] = {
                m: _num(run_metric(run, m)[0]) for m in METRICS}
        self.total = len(records)

    def value(self, record: dict, metric: str) -> Optional[float]:
        """``metric`` of ``record`` under the rule."""
        return self._values[id(record)][metric]

    def run(self, record: dict) -> Optional[RunScores]:
        """The record's predictions under the rule (None: no file)."""
        return self._runs[id(record)]

    def notes(self) -> List[str]:
        """What the reader must know about where the values come from."""
        out = []
        if self.missing:
            out.append(
                f'{self.missing} of {self.total} records have no '
                'predictions.csv (older records or files not kept): ' +
                ('their balanced accuracy is the recorded argmax value'
                 if self.rule == 'argmax' else 'no balanced accuracy under '
                 f'the {self.rule} rule for them (their recorded argmax '
                 'value is not mixed in)') + ', and their CIs resample '
                'draws only, not test images.')
        if self.unruled:
            out.append(
                f'{len(self.unruled)} records lack what the {self.rule} '
                'rule needs: no balanced accuracy for them (first: '
                f'{self.unruled[0]}).')
        return out

    def unit_means(self, rows: Sequence[dict], method: str,
                   metric: str) -> List[float]:
        """Per unit (draw) the mean over its repeats of ``method``."""
        units: Dict[tuple, list] = {}
        for r in rows:
            if r['method'] == method and self.value(r, metric) is not None:
                units.setdefault(unit_key(r), []).append(self.value(r,
                                                                    metric))
        return [float(np.mean(v)) for v in units.values()]

    def check_images(self, a: dict, b: dict) -> None:
        """Paired runs must be tested on the same images."""
        ia, ib = self._images.get(id(a)), self._images.get(id(b))
        if ia is not None and ib is not None and ia != ib:
            raise ValueError(
                f'{a["predictions"]} and {b["predictions"]} (paired runs of '
                f'{a["method"]!r} and {b["method"]!r}) list different test '
                'images')


def curve_cell(scored: Scored, rows: Sequence[dict], method: str,
               metric: str) -> dict:
    """Mean and 95 % CI over units (bootstrap over draws) of ``method``;
    ``labels_used`` lists the values above the target size."""
    cell = bootstrap_mean_ci(scored.unit_means(rows, method, metric),
                             N_BOOT, SEED)
    used = sorted({int(r['labels_used']) for r in rows
                   if r['method'] == method and r.get('labels_used')
                   is not None and r.get('target_size') is not None
                   and int(r['labels_used']) > int(r['target_size'])})
    return dict(cell, labels_used=used)


def best_ordinary(scored: Scored, rows: Sequence[dict],
                  metric: str = 'balanced_accuracy') -> Optional[str]:
    """The ordinary method of highest mean at these rows (first on a
    tie), None when none ran."""
    best, top = None, -math.inf
    for method in ORDINARY:
        means = scored.unit_means(rows, method, metric)
        if means and float(np.mean(means)) > top:
            best, top = method, float(np.mean(means))
    return best


def contrast(scored: Scored, rows: Sequence[dict], method: str,
             baseline: str, metric: str) -> dict:
    """``method`` minus ``baseline`` in ``metric``: mean over units, 95 %
    CI, paired tests over the per-unit differences."""
    units = paired_units(rows, method, baseline)
    diffs, hier = [], []
    for _, ra, rb in units:
        va = [scored.value(r, metric) for r in ra]
        vb = [scored.value(r, metric) for r in rb]
        diffs.append(None if None in va + vb else
                     float(np.mean(va) - np.mean(vb)))
        for x, y in zip(ra, rb):
            scored.check_images(x, y)
        runs = ([scored.run(r) for r in ra], [scored.run(r) for r in rb])
        hier.append(None if None in runs[0] + runs[1] else runs)
    test = paired_test(diffs)
    if units and None not in hier:
        ci = hierarchical_bootstrap_ci(hier, metric, N_BOOT, SEED)
        resampled = f'{_unit_name(units)} and test images'
    else:
        ci = bootstrap_mean_ci(diffs, N_BOOT, SEED)
        resampled = _unit_name(units)
    return dict(method=method, baseline=baseline, metric=metric,
                mean=test['mean'], low=ci['low'], high=ci['high'],
                n=test['n'], ttest_p=test['ttest_p'],
                wilcoxon_p=test['wilcoxon_p'], note=test['note'],
                resampled=resampled)


def _unit_name(units: list) -> str:
    return 'draws' if units and units[0][0][0] == 'draw' else 'seeds/folds'


def units_of(records: Sequence[dict]) -> str:
    """What the units of ``records`` are: ``'draws'`` or, for records
    without draws, ``'seeds/folds'``."""
    return ('draws' if any(r.get('draw') is not None for r in records)
            else 'seeds/folds')


def declared_contrasts(scored: Scored, groups: Dict[object, list],
                       references: Sequence[str]) -> List[dict]:
    """Every declared contrast of the report with its statistics, Holm
    adjustment (one family: every contrast and metric) and verdict."""
    out = []
    for size, rows in groups.items():
        present = {r['method'] for r in rows}
        best = best_ordinary(scored, rows)
        bases = [(b, role) for b, role in ((best, 'best ordinary'),
                                           ('target-only', 'target-only'))
                 if b in present]
        if len(bases) == 2 and bases[0][0] == bases[1][0]:
            bases = [(best, 'best ordinary, target-only')]
        for ref in references:
            if ref not in present:
                continue
            for base, role in bases:
                for metric in METRICS:
                    c = contrast(scored, rows, ref, base, metric)
                    if c['n']:
                        out.append(dict(c, size=size, role=role))
    for c, p in zip(out, holm([c['ttest_p'] for c in out])):
        c['holm_p'] = p
        c['word'] = verdict_word(c)
    return out


def verdict_word(c: dict) -> str:
    """``higher``/``lower`` when the Holm-adjusted p < ALPHA and the CI
    excludes 0; else no detectable difference (or why it was not
    tested)."""
    if c.get('holm_p') is None:
        return ('not tested: fewer than 2 units' if c['n'] < 2 else
                f'not tested: {c["note"]}')
    excludes = c['low'] is not None and (c['low'] > 0 or c['high'] < 0)
    if c['holm_p'] < ALPHA and excludes:
        return 'higher' if c['mean'] > 0 else 'lower'
    return 'no detectable difference'


def disagreements(contrasts: Sequence[dict]) -> List[str]:
    """Contrasts where balanced accuracy and AUC tell different stories:
    a lead (verdict higher/lower) in one metric and not the other, or
    point estimates of opposite sign."""
    by: Dict[tuple, dict] = {}
    for c in contrasts:
        by.setdefault((c['size'], c['method'], c['baseline']),
                      {})[c['metric']] = c
    out = []
    for (size, method, base), m in by.items():
        if len(m) < 2:
            continue
        ba, auc = m['balanced_accuracy'], m['auc']
        where = f'{method} vs {base}' + ('' if size is None else
                                         f' at {size}')
        leads = {'higher', 'lower'} & {ba['word'], auc['word']}
        if ba['word'] != auc['word'] and leads:
            out.append(f'{where}: balanced accuracy says {ba["word"]}, '
                       f'AUC says {auc["word"]}')
        elif (ba['mean'] or 0) * (auc['mean'] or 0) < 0:
            out.append(f'{where}: the mean differences have opposite signs '
                       f'(balanced accuracy {100 * ba["mean"]:+.2f}, AUC '
                       f'{100 * auc["mean"]:+.2f} points)')
    return out


def _num(value) -> Optional[float]:
    value = float(value)
    return None if math.isnan(value) else value
