"""The report notes of a comparison: its budget, draws and model selection."""
from typing import Dict, List, Optional

from . import methods as tm
from .task import TransferTask


def validations_of(opts, selection: str) -> int:
    """Validations of every run: none under ``--selection last``."""
    return 0 if selection == 'last' else opts.validations


def validation_counts(task: TransferTask, opts, recipes: dict,
                      selection: str) -> Dict[tuple, int]:
    """``(method, size, draw) ->`` how many times its runs validate
    (``opts``: a :class:`.compare.CompareOptions`)."""
    return {(m, size, draw): tm.validation_count(
        m, opts.iters, recipes[m], sub.data.n_target,
        validations_of(opts, selection))
        for (size, draw), sub in task.subsets.items() for m in opts.methods}


def selection_notes(task: TransferTask, opts, recipes: dict,
                    selection: str, counts: Dict[tuple, int]) -> List[str]:
    """The budget, the selection, the labels every result used, the draws
    and repeats, and where a run validates other than ``opts.validations``
    times (a budget too short for them)."""
    n_val = task.files['val.txt'].count('\n')
    validations = validations_of(opts, selection)
    notes = [budget_note(opts.iters, max(task.sizes), recipes,
                            selection, validations, n_val)]
    if selection == 'extra-val':
        notes.append(
            f'Labels used: every result used n + {n_val} labelled target '
            f'images (its n training images and the {n_val}-image '
            'validation split), more than the budget n it is reported at.')
    else:
        notes.append('Labels used: n (the target size) for every result; '
                     'no image of the validation split is used.')
    per_size = {n: [d for s, d in task.subsets if s == n]
                for n in task.sizes}
    notes.append(
        'Label draws per size: ' + ', '.join(
            f'{n}: {len(d)}' for n, d in per_size.items()) +
        ' (draw d: its own stratified subsets of the training pool, '
        'seed d, nested across sizes; every method trains on the same '
        'images within a draw); '
        f'repeats {list(opts.seeds)}: run seed 1000 * repeat + draw.')
    same = [n for n, draws in per_size.items() if len(draws) > 1 and len(
        {task.subsets[(n, d)].train_sha256 for d in draws}) == 1]
    if same:
        notes.append(f'At size(s) {same} (the whole pool) every draw holds '
                     'the same images: its draws differ only in seed.')
    odd = sorted({f'{m} at n={size}: {c}' for (m, size, _), c in
                  counts.items() if c != validations})
    if odd:
        notes.append(f'Validations per run other than {validations} '
                     '(budget shorter than the schedule): ' +
                     '; '.join(odd) + '.')
    return notes


def selection_note(selection: str, validations: int,
                   n_val: Optional[int] = None) -> str:
    """How ``--selection`` picks the tested checkpoint, in words."""
    if selection == 'last':
        return ('Model selection: none (--selection last): every method '
                'trains its fixed schedule and its last checkpoint is '
                'tested; no validation image is used.')
    where = (
        'a stratified quarter of the n target training labels held out '
        'from training (at least 2 per class, bval_n{size}_d{draw}.txt; '
        'the rest is trained on), so labels used = n'
        if selection == 'budget-val' else
        f'the {n_val}-image target validation split (--selection '
        f'extra-val), labelled on top of the n training images: every '
        f'result used n + {n_val} labels')
    return (f'Model selection (--selection {selection}): the best of '
            f'{validations} validations (balanced accuracy) at the same '
            f'fractions of every method\'s budget, on {where}.')


def budget_note(iters: int, n_train: int, recipes: Dict[str, dict],
                selection: str = 'extra-val', validations: int = 8,
                n_val: Optional[int] = None) -> str:
    """What "the same budget" means, in words (model selection:
    :func:`selection_note`)."""
    dl4all = [r for m, r in recipes.items() if m in tm.DL4ALL_LOOPS]
    src, tgt = (int(b) for b in (dl4all[0] if dl4all else recipes.get(
        'dl4all-joint', tm.DEFAULT_RECIPE))['batch'])
    return (
        f'Budget: {iters} optimizer steps (iterations) of 32 images for '
        f'every method. Target images seen: target-only {32 * iters}; '
        f'sequential {32 * (iters - iters // 2)} (after '
        f'{32 * (iters // 2)} PBC images); mixed about {16 * iters} (+ '
        f'{16 * iters} PBC images); DL4ALL about {tgt * iters} (+ '
        f'{src * iters} PBC images). DL4ALL counts epochs '
        f'of ceil({n_train}/{tgt}) steps, rounded to whole epochs; its '
        "first epoch is the warm-up (warmup_mode='reference'), which is "
        'not part of the 32-image steps: one pass over each training set '
        f'(PBC in batches of {src}, then the target in batches of {tgt}) '
        "updating only that domain's head, then a fresh optimizer; greedy "
        'may compute two updates per step. linear-probe takes no '
        'optimizer step (frozen features of each training image once, '
        'logistic regression); lp-ft is the probe, then target-only\'s '
        'whole budget from it. ' +
        selection_note(selection, validations, n_val))
