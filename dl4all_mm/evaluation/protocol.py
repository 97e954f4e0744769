"""Aggregate protocol runs: per-method mean ± std and paired comparisons.

A *record* is one trained-and-tested run::

    {"method": "dl4all-joint", "seed": 0, "fold": null,
     "metrics": {"accuracy": 0.91, "balanced_accuracy": 0.88, ...},
     "wall_s": 312.5}

with the six :data:`METRIC_KEYS` as fractions in [0, 1] (``None`` where a
value is undefined, e.g. the AUC of a test split holding one class). The
statistics of every report; :mod:`.report` renders them.
"""
import math
import warnings
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

METRIC_KEYS = ('accuracy', 'balanced_accuracy', 'macro_f1', 'sensitivity',
               'specificity', 'auc')
MULTICLASS_NOTE = (
    'Multi-class target: sensitivity = macro recall and specificity = macro '
    'one-vs-rest specificity over the classes present in the test split.')


def standard_metrics(metrics: Dict[str, object],
                     prefix: str = 'diagnostic') -> Dict[str, Optional[float]]:
    """The six record metrics from a :class:`DiagnosticMetric` output.

    For a binary target ``sensitivity``/``specificity`` are those of the
    positive class; for a multi-class target they are ``macro_recall`` and
    ``macro_specificity`` (:data:`MULTICLASS_NOTE`).

    Args:
        metrics (dict): Test metrics, keys ``f'{prefix}/{name}'``.
        prefix (str): The metric's prefix.

    Raises:
        KeyError: A needed key is missing (names the key and what exists).
    """
    binary = f'{prefix}/sensitivity' in metrics
    names = dict(
        accuracy='accuracy',
        balanced_accuracy='balanced_accuracy',
        macro_f1='macro_f1',
        sensitivity='sensitivity' if binary else 'macro_recall',
        specificity='specificity' if binary else 'macro_specificity',
        auc='auc')
    out: Dict[str, Optional[float]] = {}
    for key, name in names.items():
        full = f'{prefix}/{name}'
        if full not in metrics:
            raise KeyError(f'test metrics lack {full!r}; got '
                           f'{sorted(metrics)} (is a DiagnosticMetric with '
                           f'prefix {prefix!r} in test_evaluator?)')
        out[key] = _finite(metrics[full])
    return out


def _finite(value) -> Optional[float]:
    """``value`` as a float, ``None`` when NaN or None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def validate_record(record: dict) -> dict:
    """Check a record's fields and metric ranges; return it."""
    for key in ('method', 'seed', 'fold', 'metrics', 'wall_s'):
        if key not in record:
            raise KeyError(f'record {record!r} lacks {key!r}')
    for key in METRIC_KEYS:
        if key not in record['metrics']:
            raise KeyError(f'record of {record["method"]!r} seed '
                           f'{record["seed"]} lacks metric {key!r}')
        value = record['metrics'][key]
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f'metric {key}={value} of {record["method"]!r} '
                             f'seed {record["seed"]} is outside [0, 1]')
    return record


def _values(records: Iterable[dict], key: str) -> List[float]:
    return [
        r['metrics'][key] for r in records if r['metrics'][key] is not None
    ]


def summarize(records: Sequence[dict],
              metrics: Sequence[str] = METRIC_KEYS) -> Dict[str, dict]:
    """Per method: number of runs and mean, sample std and n per metric.

    Returns:
        dict: ``{method: {'runs': int, 'wall_s': float, metric: {'mean',
        'std', 'n'}}}`` in first-appearance order; ``std`` is None for
        fewer than two values, ``mean`` None for none.
    """
    out: Dict[str, dict] = {}
    for method in dict.fromkeys(r['method'] for r in records):
        rows = [r for r in records if r['method'] == method]
        entry: dict = dict(
            runs=len(rows), wall_s=float(sum(r['wall_s'] for r in rows)))
        for key in metrics:
            vals = _values(rows, key)
            entry[key] = dict(
                mean=float(np.mean(vals)) if vals else None,
                std=float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                n=len(vals))
        out[method] = entry
    return out


def paired_test(diffs: Sequence[float]) -> Dict[str, object]:
    """Two-sided paired tests of differences against zero.

    Returns:
        dict: ``n``, ``mean``, ``wilcoxon_p`` (signed-rank; exact for small
        samples without ties), ``ttest_p`` (paired t) and ``note``. A p-value
        is None when the test cannot run: n < 2, or (t-test) every
        difference is the same non-zero value. All differences zero gives
        p = 1 for both.
    """
    d = np.asarray([x for x in diffs if x is not None], dtype=float)
    out: Dict[str, object] = dict(
        n=int(d.size),
        mean=float(d.mean()) if d.size else None,
        wilcoxon_p=None,
        ttest_p=None,
        note='')
    if d.size < 2:
        out['note'] = f'n={d.size} < 2: no test'
        return out
    if np.allclose(d, 0.0, atol=1e-12):
        out.update(wilcoxon_p=1.0, ttest_p=1.0, note='all differences 0')
        return out
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        # zsplit keeps zero differences (ties with 0) in the ranking
        out['wilcoxon_p'] = float(
            stats.wilcoxon(d, zero_method='zsplit').pvalue)
        if np.allclose(d, d[0], atol=1e-12):
            out['note'] = 'constant difference: t-test undefined'
        else:
            out['ttest_p'] = float(stats.ttest_1samp(d, 0.0).pvalue)
    return out


def pair_up(records: Sequence[dict], method: str,
            baseline: str) -> List[Tuple[object, object, Dict, Dict]]:
    """``(seed, fold, metrics of method, metrics of baseline)`` for every
    seed/fold both methods ran, in seed/fold order."""

    def index(name):
        return {
            (r['seed'], r['fold']): r['metrics']
            for r in records if r['method'] == name
        }

    a, b = index(method), index(baseline)
    keys = sorted(set(a) & set(b), key=lambda k: (str(k[0]), str(k[1])))
    return [(seed, fold, a[(seed, fold)], b[(seed, fold)])
            for seed, fold in keys]


def compare(records: Sequence[dict],
            method: str,
            baseline: str,
            metrics: Sequence[str] = METRIC_KEYS) -> Dict[str, object]:
    """``method`` minus ``baseline`` per seed/fold and paired tests.

    Returns:
        dict: ``rows`` (``seed``, ``fold``, ``diff`` per metric, None where
        either value is None) and ``tests`` (:func:`paired_test` per metric).
    """
    rows = []
    for seed, fold, ma, mb in pair_up(records, method, baseline):
        diff = {
            k: (ma[k] -
                mb[k] if ma[k] is not None and mb[k] is not None else None)
            for k in metrics
        }
        rows.append(dict(seed=seed, fold=fold, diff=diff))
    tests = {k: paired_test([r['diff'][k] for r in rows]) for k in metrics}
    return dict(rows=rows, tests=tests)


def holm(pvalues: Sequence[Optional[float]]) -> List[Optional[float]]:
    """Holm step-down adjusted p-values (family-wise error), in the order
    given; a None p-value (no test) stays None and is not counted in the
    family.

    The i-th smallest of m p-values becomes ``max_{j <= i} min(1,
    (m - j + 1) p_(j))``.
    """
    tested = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    out: List[Optional[float]] = [None] * len(pvalues)
    running, m = 0.0, len(tested)
    for rank, (p, i) in enumerate(sorted(tested)):
        running = max(running, min(1.0, (m - rank) * float(p)))
        out[i] = running
    return out


def unit_key(record: dict) -> tuple:
    """The resampling unit of a record: its label draw, or its seed/fold
    when the record has no ``draw`` (older records: one draw, seeds)."""
    if record.get('draw') is not None:
        return ('draw', int(record['draw']))
    return ('run', record['seed'], record['fold'])


def pair_key(record: dict) -> tuple:
    """What pairs runs of two methods: (draw, seed, fold)."""
    return (record.get('draw'), record['seed'], record['fold'])


def paired_units(records: Sequence[dict], method: str,
                 baseline: str) -> List[Tuple[tuple, list, list]]:
    """``(unit, runs of method, runs of baseline)`` per unit, the runs
    being the records paired by :func:`pair_key` (repeats of a draw)."""
    a = {pair_key(r): r for r in records if r['method'] == method}
    b = {pair_key(r): r for r in records if r['method'] == baseline}
    units: Dict[tuple, Tuple[list, list]] = {}
    for key in sorted(set(a) & set(b), key=_order):
        entry = units.setdefault(unit_key(a[key]), ([], []))
        entry[0].append(a[key])
        entry[1].append(b[key])
    return [(k, ra, rb)
            for k, (ra, rb) in sorted(units.items(), key=lambda u: _order(
                u[0]))]


def _order(key: tuple) -> tuple:
    """Sort key of a unit/pair key: numbers numerically, then text."""
    return tuple((0, x, '') if isinstance(x, (int, float)) else
                 (1, 0, str(x)) for x in key)
