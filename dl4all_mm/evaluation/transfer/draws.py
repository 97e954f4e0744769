"""Label draws and model selection inside the label budget.

A comparison's target train/val/test split is fixed (``task.SPLIT_SEED``).
Its training split is the *pool* a lab labels from. Draw ``d`` (``0 ..
--draws - 1``) takes its own stratified, nested subsets of the pool
(``24 < 48 < ...``) with seed ``d``, so draw 0 is the single draw of
earlier versions. Every method trains on draw ``d``'s images; the runs of
draw ``d`` and repeat ``r`` (``--seeds``) have seed ``1000 * r + d``.

``--selection`` says which labelled images pick the tested checkpoint:

- ``last``: none; the last checkpoint of a fixed schedule.
- ``budget-val``: a stratified quarter of the ``n`` labels (at least 2 per
  class) held out of training (:func:`budget_val_split`).
- ``extra-val``: the validation split, labelled on top of the ``n``.
"""
import hashlib
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from dl4all_mm.datasets.group_split import nested_subsets
from .data_options import TaskData
from .image_set import InputError

SELECTIONS = ('last', 'budget-val', 'extra-val')
#: Draws are numbered below this (run seed = 1000 * repeat + draw).
MAX_DRAWS = 1000
#: Images of each class that ``budget-val`` holds out at least.
MIN_HELD_OUT = 2


@dataclass
class DrawData:
    """One target training size and draw: the files and statistics its
    runs read, and what their records say of them.

    Attributes:
        data (TaskData): Annotation files and statistics (``target_ann``:
            the images trained on; ``val_ann``: those selected on).
        weights (list[float]): Target class weights of the single-head
            methods, from the images trained on.
        digest (str): Hash of exactly what the runs read.
        train_sha256 (str): sha256 (hex) of the annotation text trained on.
        train_counts (list[int]): Images trained on per target class.
        labels_used (int): Labelled target images the runs use (training
            and selection).
    """
    data: TaskData
    weights: List[float]
    digest: str
    train_sha256: str
    train_counts: List[int]
    labels_used: int


def check_draws(draws: int) -> None:
    """``--draws`` is 1 to :data:`MAX_DRAWS`.

    Raises:
        InputError: naming the value.
    """
    if not 1 <= draws < MAX_DRAWS:
        raise InputError(f'--draws {draws}: expected 1 to {MAX_DRAWS - 1} '
                         'label draws (run seed = 1000 * repeat + draw)')


def parse_draws(text: str) -> Union[int, List[int]]:
    """``--draws``: ``'5'`` (every size) or ``'10,10,5,5'`` (one count per
    ``--target-sizes`` entry, in its order).

    Raises:
        InputError: not numbers, or a count outside 1 to 999 (named).
    """
    try:
        counts = [int(v) for v in str(text).split(',')]
    except ValueError:
        raise InputError(f'--draws {text!r}: expected a number of label '
                         'draws, or one per target size, e.g. 10,10,5,5'
                         ) from None
    for count in counts:
        check_draws(count)
    return counts[0] if len(counts) == 1 else counts


def draws_per_size(draws: Union[int, Sequence[int]],
                   sizes: Sequence[object],
                   resolved: Dict[object, int]) -> Dict[int, int]:
    """Target size -> its number of draws. ``draws``: one count, or one per
    entry of ``sizes`` (``--target-sizes`` as given; ``resolved`` maps
    each entry, e.g. ``'all'``, to its size).

    Raises:
        InputError: as many counts as sizes are needed (names both).
    """
    if isinstance(draws, int):
        return {resolved[s]: draws for s in sizes}
    if len(draws) != len(sizes):
        raise InputError(
            f'--draws {",".join(map(str, draws))}: {len(draws)} counts for '
            f'{len(sizes)} target sizes {list(sizes)}; give one count, or '
            'one per size in the order of --target-sizes')
    out: Dict[int, int] = {}
    for size, count in zip(sizes, draws):
        out[resolved[size]] = max(out.get(resolved[size], 0), count)
    return out


def check_selection(selection: str) -> None:
    """``--selection`` is one of :data:`SELECTIONS`."""
    if selection not in SELECTIONS:
        raise InputError(f'--selection {selection!r}: expected one of '
                         f'{", ".join(SELECTIONS)}')


def draw_subsets(labels: Sequence[int], sizes: Sequence[int],
                 draws: Union[int, Dict[int, int]],
                 classes: Sequence[str]) -> Dict[Tuple[int, int], List[int]]:
    """``(size, draw) ->`` positions in the pool: each draw's stratified
    subsets, nested across sizes (:func:`nested_subsets` with seed
    ``draw``); ``draws``: one count, or size -> count (:func:`draws_per_size`:
    draw d of a size with fewer draws is the same subset as at the others).

    Raises:
        InputError: a size larger than the pool (naming both), a draw
            missing a class at a size.
    """
    per_size = draws if isinstance(draws, dict) else {s: draws
                                                      for s in sizes}
    for count in per_size.values():
        check_draws(count)
    for size in sizes:
        if size > len(labels):
            raise InputError(
                f'--target-sizes: target size {size} is larger than the '
                f'target training pool: the training split has only '
                f'{len(labels)} images (after the train/val/test split); '
                f'use sizes up to {len(labels)} or "all"')
    out = {}
    for draw in range(max(per_size.values())):
        try:
            subsets = nested_subsets(labels, sizes, draw, list(classes))
        except ValueError as err:
            raise InputError(f'draw {draw}: {err}') from None
        out.update({(size, draw): idx for size, idx in subsets.items()
                    if draw < per_size[size]})
    return out


def budget_val_split(labels: Sequence[int], size: int, draw: int,
                     classes: Sequence[str]) -> Tuple[List[int], List[int]]:
    """``(fit, held out)`` positions of one draw's ``labels``: per class a
    quarter (rounded, at least :data:`MIN_HELD_OUT`) held out, seeded by
    the size and draw.

    Raises:
        InputError: a class with too few images to hold out
            :data:`MIN_HELD_OUT` and train on one (names size and class).
    """
    rng = np.random.default_rng([size, draw])
    fit: List[int] = []
    held: List[int] = []
    for c, name in enumerate(classes):
        idx = [i for i, label in enumerate(labels) if label == c]
        hold = max(MIN_HELD_OUT, round(len(idx) / 4))
        if len(idx) - hold < 1:
            raise InputError(
                f'--selection budget-val: target size {size} (draw {draw}) '
                f'holds {len(idx)} image(s) of class {name!r}; budget-val '
                f'holds out at least {MIN_HELD_OUT} images of every class '
                'for checkpoint selection and trains on the rest, so every '
                f'class needs at least {MIN_HELD_OUT + 1}: use a larger size '
                'or --selection last')
        order = [idx[k] for k in rng.permutation(len(idx))]
        held += order[:hold]
        fit += order[hold:]
    return sorted(fit), sorted(held)


def sha256(text: str) -> str:
    """Hex sha256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode('utf-8')).hexdigest()
