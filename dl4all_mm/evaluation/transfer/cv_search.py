"""Pick each method's recipe (learning rate, normalisation) for one target
size and draw by in-budget cross-validation (issue 22, items 3 and 5).

The n training images of the size and draw are split by
:func:`.cv_folds.in_budget_folds`; every method x candidate x fold is one
protocol run trained on the other folds and tested on the held-out fold
(never on a validation or test image: the fold files and the protocols are
checked). Layout under ``work_dir/lr_search/n{size}_d{draw}/``:
``folds/fold{f}_{train,held}.txt``, one protocol per candidate and fold in
``<candidate>/fold{f}/`` (runs resume as any protocol's), and
``cv_search.json`` (what :func:`cv_search` returns).

``--decision cv`` without ``--lr-search`` is the same search over one
candidate, ``[{}]`` (the recipe as it is): its ``threshold`` per method.

Score: balanced accuracy at argmax over the *pooled* held-out predictions
of the k folds (each training image predicted once, by the model that did
not train on it); with 4-8 images of a class a single fold's balanced
accuracy moves in steps of 1/2 to 1/4, so a mean over folds would be
coarser. Every fold's own score and the fold mean are kept too. Best
pooled score wins; ties: the smaller lr, then the order in which the norm
modes were listed, then the candidate order. The ``--decision cv``
threshold of each method comes from the pooled held-out p(class 1) of its
chosen candidate (:func:`.cv_threshold.cv_threshold`), when the runs wrote
``predictions.csv``.
"""
import hashlib
import itertools
import json
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..protocol_file import execute_protocol, load_protocol, write_protocol
from ..protocol_runner import expand_protocol
from .cv_folds import check_fold_files, in_budget_folds, write_fold_files
from ..decision import read_predictions
from .cv_threshold import cv_threshold
from .image_set import InputError

#: ``build(train_ann, held_ann, overrides) -> protocol dict``: the protocol
#: of every method trained on ``train_ann`` and tested on ``held_ann``,
#: ``overrides`` = method -> recipe overrides (e.g. ``{'lr': 0.01}``), one
#: seed, no validation or test image (e.g. ``--selection last``).
BuildProtocol = Callable[[str, str, Dict[str, dict]], dict]

SCORE_RULE = ('balanced accuracy at argmax over the pooled held-out '
              'predictions of the k folds')


def candidate_grid(lrs: Sequence[float],
                   norms: Sequence[str] = ()) -> List[dict]:
    """Recipe overrides to try: every lr (x every norm mode, when given)."""
    if not lrs and not norms:
        raise InputError('the search needs learning rates or norm modes')
    keys = [('lr', list(lrs))] * bool(lrs) + [('norm', list(norms))] * bool(
        norms)
    return [dict(zip([k for k, _ in keys], values))
            for values in itertools.product(*[v for _, v in keys])]


def candidate_name(candidate: dict) -> str:
    """Folder name of a candidate, e.g. ``lr0.01-normchannel-domain``;
    ``recipe`` for ``{}`` (the recipe as it is: ``--decision cv`` without
    a search)."""
    if not candidate:
        return 'recipe'
    return '-'.join(f'{k}{v:g}' if isinstance(v, float) else f'{k}{v}'
                    for k, v in sorted(candidate.items()))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _check_protocol(protocol: dict, held: str, forbidden: Sequence[str],
                    where: str) -> None:
    """The protocol tests on ``held``, has one seed and names no
    validation or test annotation file."""
    texts = set(_strings(protocol))
    for ann in forbidden:
        if osp.abspath(ann) in texts or ann in texts:
            raise ValueError(f'{where}: the search protocol reads {ann} (a '
                             'validation or test file)')
    if held not in texts:
        raise ValueError(f'{where}: the search protocol does not read the '
                         f'held-out fold {held}')
    if len(protocol.get('seeds', [0])) != 1:
        raise ValueError(f'{where}: the search protocol needs one seed, got '
                         f'{protocol.get("seeds")}')


def _fold_outcome(run, run_dir: str, n_held: int, classes: int) -> dict:
    """The confusion matrix of a finished fold run (from its
    ``predictions.csv``, else its test metrics) and its predictions."""
    pred_path = osp.join(run_dir, 'predictions.csv')
    if osp.exists(pred_path):
        preds = read_predictions(pred_path)
        labels, scores = preds.labels.tolist(), preds.scores.tolist()
        if len(labels) != n_held:
            raise ValueError(f'{pred_path}: {len(labels)} rows for '
                             f'{n_held} held-out images')
        cm = np.zeros((classes, classes), dtype=int)
        for label, row in zip(labels, scores):
            cm[label, int(np.argmax(row))] += 1
        return dict(cm=cm, labels=labels, scores=scores)
    with open(osp.join(run_dir, 'result.json'), encoding='utf-8') as f:
        metrics = json.load(f)['metrics']
    key = f'{run.metric_prefix}/confusion_matrix'
    if key not in metrics:
        raise KeyError(f'{run_dir}: no predictions.csv and no {key} in '
                       'result.json: cannot pool the held-out predictions')
    return dict(cm=np.asarray(metrics[key], dtype=int))


def _digest(*paths: str) -> str:
    digest = hashlib.sha1()
    for path in paths:
        with open(path, 'rb') as f:
            digest.update(f.read() + b'\0')
    return digest.hexdigest()[:16]


def pooled_balanced_accuracy(cms: Sequence[np.ndarray]) -> float:
    """Balanced accuracy of the summed confusion matrices (rows: truth)."""
    cm = np.sum(cms, axis=0)
    rows = cm.sum(1)
    return float(np.mean([cm[c, c] / rows[c] for c in range(len(cm))
                          if rows[c]]))


def _choice_key(entry: dict, index: int, norm_order: List[str]) -> tuple:
    cand = entry['candidate']
    return (-round(entry['pooled'], 12), cand.get('lr', float('inf')),
            norm_order.index(cand['norm']) if 'norm' in cand else 0, index)


def _summarise(method: str, entries: List[dict], outcomes: dict,
               candidates: List[dict]) -> dict:
    norms = list(dict.fromkeys(c['norm'] for c in candidates if 'norm' in c))
    done = [(i, e) for i, e in enumerate(entries) if e['pooled'] is not None]
    out = dict(candidates=entries, choice=None, pooled=None, threshold=None)
    if not done:
        return out
    index, best = min(done, key=lambda ie: _choice_key(ie[1], ie[0], norms))
    out.update(choice=best['candidate'], pooled=best['pooled'])
    folds = outcomes[method][index]
    if not all('scores' in o for o in folds):
        out['threshold_note'] = 'no predictions.csv in the fold runs'
    elif len(folds[0]['scores'][0]) != 2:
        out['threshold_note'] = 'not a binary task'
    else:
        labels = [v for o in folds for v in o['labels']]
        scores = [row for o in folds for row in o['scores']]
        t, ba = cv_threshold(labels, scores, f'{method} cross-validation')
        out.update(threshold=round(t, 8), threshold_balanced_accuracy=ba)
    return out


def cv_search(paths: Sequence[str], labels: Sequence[int],
              classes: Sequence[str], size: int, draw: int,
              methods: Sequence[str], candidates: Sequence[dict],
              build_protocol: BuildProtocol, work_dir: str,
              forbidden_anns: Sequence[str] = (), executor=None,
              progress: bool = False, seed: Optional[int] = None,
              groups: Optional[Sequence] = None,
              folder: str = 'lr_search') -> Optional[dict]:
    """Cross-validate every method x candidate on the n training images.

    Args:
        paths, labels: The n training images of this size and draw
            (absolute paths, class indices), as in its annotation file.
        classes (Sequence[str]): Target class names.
        size (int), draw (int): Name the folder and errors.
        methods (Sequence[str]): Methods to tune.
        candidates (Sequence[dict]): Recipe overrides to try
            (:func:`candidate_grid`).
        build_protocol (BuildProtocol): Builds one fold's protocol.
        work_dir (str): The comparison's work folder.
        forbidden_anns (Sequence[str]): Validation and test annotation
            files: none of their images may be in a fold file, and no
            protocol may read them.
        executor: A launcher or executor for :func:`execute_protocol`.
        seed (int, optional): Fold seed; defaults to ``draw``.
        groups (Sequence, optional): Group id per image (patients,
            identical files), kept in one fold (:func:`in_budget_folds`).
        folder (str): Sub-folder of ``work_dir`` the search goes to.

    Returns:
        dict | None: ``cv_search.json``'s content (grid, every fold's
        score, pooled and mean scores, the choice and the ``--decision
        cv`` threshold per method); None while runs are still pending
        (``--no-wait`` launchers).

    Raises:
        InputError: a class with fewer than 2 images (names size, class).
        RuntimeError: every candidate of a method failed.
    """
    fold_seed = draw if seed is None else seed
    folds = in_budget_folds(labels, size, classes, fold_seed, groups)
    root = osp.join(work_dir, folder, f'n{size}_d{draw}')
    files = write_fold_files(paths, labels, folds, osp.join(root, 'folds'))
    check_fold_files(files, paths, forbidden_anns)
    entries = {m: [] for m in methods}
    outcomes = {m: [] for m in methods}
    failures, waiting = [], False
    for cand in candidates:
        per_method = {m: [None] * len(folds) for m in methods}
        for f, (train_file, held_file) in enumerate(files):
            fold_dir = osp.join(root, candidate_name(cand), f'fold{f}')
            where = osp.join(fold_dir, 'protocol.json')
            protocol = build_protocol(train_file, held_file,
                                      {m: dict(cand) for m in methods})
            _check_protocol(protocol, held_file, forbidden_anns, where)
            # the fold's images are part of each run's spec digest: changed
            # folds are never taken for finished runs
            protocol['env'] = dict(protocol.get('env') or {},
                                   DL4ALL_CV_FOLD=_digest(train_file,
                                                          held_file))
            write_protocol(protocol, where)
            runs = expand_protocol(load_protocol(where), where,
                                   methods=list(methods))
            records, failed = execute_protocol(
                protocol, runs, fold_dir, executor=executor,
                progress=progress)
            failures += [f'{where}: {name}: {msg}' for name, msg in failed]
            waiting = waiting or bool(getattr(executor, 'pending', None))
            by_name = {r.name: r for r in runs}
            for record in records:
                run = by_name[f'{record["method"]}/seed{record["seed"]}' + (
                    '' if record['fold'] is None else
                    f'-fold{record["fold"]}')]
                outcome = _fold_outcome(run, osp.join(fold_dir, 'runs',
                                                      run.name),
                                        len(folds[f][1]), len(classes))
                outcome['score'] = record['metrics']['balanced_accuracy']
                per_method[record['method']][f] = outcome
        for m in methods:
            done = all(o is not None for o in per_method[m])
            scores = [None if o is None else o['score']
                      for o in per_method[m]]
            entries[m].append(dict(
                candidate=dict(cand), fold_scores=scores,
                mean=float(np.mean(scores)) if done else None,
                pooled=pooled_balanced_accuracy(
                    [o['cm'] for o in per_method[m]]) if done else None))
            outcomes[m].append(per_method[m])
    if waiting:
        return None
    result = dict(
        size=size, draw=draw, fold_seed=fold_seed, k=len(folds),
        grouped=groups is not None,
        score=SCORE_RULE, grid=[dict(c) for c in candidates],
        folds=[dict(train=len(t), held=len(h), held_per_class=[
            sum(int(labels[i]) == c for i in h) for c in range(len(classes))])
            for t, h in folds],
        methods={m: _summarise(m, entries[m], outcomes, list(candidates))
                 for m in methods}, failures=failures)
    with open(osp.join(root, 'cv_search.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=2)
    lost = [m for m, r in result['methods'].items() if r['choice'] is None]
    if lost:
        raise RuntimeError(f'cross-validation of target size {size}, draw '
                           f'{draw}: every candidate of {lost} failed; '
                           + '; '.join(failures))
    return result
