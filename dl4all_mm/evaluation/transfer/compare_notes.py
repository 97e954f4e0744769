"""The report notes of a comparison's draws and model selection."""
from typing import Dict, List

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
    notes = [tm.budget_note(opts.iters, max(task.sizes), recipes,
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
        'seed d, nested across sizes; every method trains on the same images within a draw); '
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
