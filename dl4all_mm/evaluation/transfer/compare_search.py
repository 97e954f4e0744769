"""A comparison's in-budget cross-validation (issue 22, items 3 and 7).

``--lr-search LRS``: for every target size and draw, each fine-tuned
method (every method but ``linear-probe``, whose C is cross-validated
inside its own loop) picks its (lr, norm) from ``LRS x --search-norms``
(default every :data:`.data_options.NORMS`; ``--norm X`` alone when given)
by :func:`.cv_search.cv_search` on that draw's n training labels only:
folds from :func:`.cv_folds.in_budget_folds`, patients and identical files
kept in one fold (``--group-regex``), fold runs trained on the other folds
with the same step budget and no validation, their normalisation
statistics and class weights from the fold's training part, tested on the
held-out fold. Folders: ``lr_search/n{size}_d{draw}/``; all in one
``lr_search.json``.

``--decision cv``: each method's threshold per size and draw from the
pooled held-out predictions of its chosen candidate, or (without
``--lr-search``, and for ``linear-probe``) of a search over the single
candidate ``[{}]`` (the recipe as it is), in ``cv_threshold/n{size}_d{draw}
/``; all in one ``cv_threshold.json``.
"""
import os.path as osp
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Tuple

from dl4all_mm.datasets.group_split import group_ids
from .cv_folds import in_budget_folds, read_ann
from .cv_report import lr_search_markdown, write_lr_search
from .cv_search import candidate_grid, cv_search
from .data_options import NORMS, check_norm
from .draws import sha256
from .image_set import InputError
from .stats import mean_std
from .task import TransferTask, class_weights

#: Methods without a learning rate to search (their C is cross-validated
#: inside :class:`~dl4all_mm.engine.loops.LinearProbeLoop`).
NO_LR = ('linear-probe', )
SEARCH_DIR, THRESHOLD_DIR = 'lr_search', 'cv_threshold'

Key = Tuple[int, int]


def search_norms(opts) -> List[str]:
    """The norm modes ``--lr-search`` tries: ``--norm`` alone when given,
    else ``--search-norms`` (default every mode)."""
    if opts.norm is not None:
        return [check_norm(opts.norm)]
    return [check_norm(n) for n in (opts.search_norms or NORMS)]


def plan_folds(task: TransferTask, group_regex: Optional[str],
               opts) -> Dict[Key, tuple]:
    """``(size, draw) -> (paths, labels, groups)`` of the n training labels
    each search splits; checks every size and draw up front (nothing is
    written or trained).

    Raises:
        InputError: ``--decision cv`` on a task that is not binary, or a
            class with fewer than 2 images (or groups) at a size and draw
            (names the flag, size, draw and class).
    """
    classes = task.subsets[min(task.subsets)].data.target_classes
    flag = '--lr-search' if opts.lr_search else '--decision cv'
    if opts.decision == 'cv' and len(classes) != 2:
        raise InputError(f'--decision cv needs a binary target; this one has '
                         f'{len(classes)} classes {classes}')
    out = {}
    for size, draw in sorted(task.subsets):
        rows = [line.rsplit(' ', 1) for line in task.files[
            f'train_n{size}_d{draw}.txt'].splitlines() if line.strip()]
        paths, labels = [p for p, _ in rows], [int(v) for _, v in rows]
        groups = group_ids(paths, group_regex)  # patients, identical files
        groups = groups if len(set(groups)) < len(groups) else None
        try:
            in_budget_folds(labels, f'{size} (draw {draw})', classes, draw,
                            groups)
        except InputError as err:
            raise InputError(f'{flag}: {err}') from None
        out[(size, draw)] = (paths, labels, groups)
    return out


def fold_builder(task: TransferTask, key: Key, opts,
                 protocol: Callable) -> Callable:
    """``build(train_ann, held_ann, overrides)`` of :func:`cv_search`: the
    comparison's own protocol (``protocol(sub, key, opts, picks, title)``)
    of
    the fold: trained on ``train_ann`` with its own statistics and class
    weights, no validation (``--selection last``), tested on
    ``held_ann`` (which fills the unused val role), first repeat only."""
    sub = task.subsets[key]
    norms: Dict[str, tuple] = {}  # a fold's statistics, once per search

    def build(train_ann: str, held_ann: str, overrides: Dict[str, dict]):
        rows = read_ann(train_ann)
        paths, labels = [p for p, _ in rows], [v for _, v in rows]
        classes = sub.data.target_classes
        with open(train_ann, encoding='utf-8') as f:
            text = f.read()
        if text not in norms:
            norms[text] = mean_std(paths, sub.data.img_size)
        data = replace(sub.data, target_ann=train_ann, val_ann=held_ann,
                       test_ann=held_ann, n_target=len(rows),
                       target_norm=norms[text])
        fold = replace(sub, data=data,
                       weights=class_weights(labels, len(classes)),
                       train_sha256=sha256(text), labels_used=len(rows),
                       train_counts=[labels.count(c)
                                     for c in range(len(classes))])
        one = replace(opts, methods=list(overrides), seeds=[opts.seeds[0]],
                      decision='argmax')
        return protocol(fold, key, one, overrides,
                        'in-budget cross-validation: '
                        f'{osp.basename(train_ann)} of target size {key[0]}, '
                        f'draw {key[1]}')
    return build


def _search(task, key, folds, opts, work_dir, methods, candidates, folder,
            protocol, forbidden):
    paths, labels, groups = folds[key]
    return cv_search(
        paths, labels, task.subsets[key].data.target_classes, key[0], key[1],
        methods, candidates, fold_builder(task, key, opts, protocol),
        work_dir, forbidden_anns=forbidden, executor=opts.launcher,
        progress=opts.progress, groups=groups, folder=folder)


def run_searches(task: TransferTask, folds: Dict[Key, tuple], opts,
                 work_dir: str, protocol: Callable) -> Optional[tuple]:
    """Every size's and draw's search (``--lr-search``) and threshold
    search (``--decision cv``), then ``lr_search.json`` /
    ``cv_threshold.json``.

    Returns:
        tuple | None: ``(picks, thresholds, notes)``: ``picks[key][method]``
        = the chosen candidate, ``thresholds[key][method]`` = the cv
        threshold (or None), the report's lines; None while runs are
        pending (``--no-wait``).
    """
    sub = task.subsets[min(task.subsets)].data
    forbidden = [sub.val_ann, sub.test_ann]
    tuned = [m for m in opts.methods if m not in NO_LR]
    plain = [m for m in opts.methods if m in NO_LR] if opts.lr_search \
        else list(opts.methods)
    if opts.decision != 'cv':
        plain = []
    grid = candidate_grid(opts.lr_search, search_norms(opts)) \
        if opts.lr_search else []
    picks: Dict[Key, dict] = {}
    thresholds: Dict[Key, dict] = {}
    found: Dict[str, list] = {SEARCH_DIR: [], THRESHOLD_DIR: []}
    waiting = False
    for key in sorted(task.subsets):
        picks[key], thresholds[key] = {}, {}
        for methods, cands, folder in ((tuned * bool(grid), grid,
                                        SEARCH_DIR),
                                       (plain, [{}], THRESHOLD_DIR)):
            if not methods:
                continue
            result = _search(task, key, folds, opts, work_dir, methods,
                             cands, folder, protocol, forbidden)
            if result is None:
                waiting = True
                continue
            found[folder].append(result)
            for m, entry in result['methods'].items():
                if folder == SEARCH_DIR:
                    picks[key][m] = dict(entry['choice'])
                thresholds[key][m] = entry.get('threshold')
    if waiting:
        return None
    notes = []
    for folder, results in found.items():
        if results:
            write_lr_search(results, osp.join(work_dir, f'{folder}.json'))
            notes += lr_search_markdown(results) + ['']
    return picks, thresholds, notes


def searched_note(opts) -> str:
    """The report's line on where the recipes came from."""
    if not opts.lr_search:
        return ''
    norms = ', '.join(search_norms(opts))
    lrs = ', '.join(f'{v:g}' for v in opts.lr_search)
    return (f' (--lr-search: for each target size and draw every fine-tuned '
            f'method picks its lr from {lrs} and its norm from {norms} by '
            'in-budget cross-validation on that draw\'s n training labels; '
            'no validation or test image; lr_search.json, table below; the '
            'lrs/norms above are those of the first size and draw)')

