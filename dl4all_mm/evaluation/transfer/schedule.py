"""When a comparison's runs validate: the same number of validations at
about the same fractions of every method's budget.

mmengine's loops validate after unit ``u`` (an iteration of the
single-head methods, an epoch of DL4ALL) when ``u >= val_begin`` and
``u % val_interval == 0`` or ``u`` is the last unit. :func:`val_schedule`
picks ``val_interval`` and ``val_begin`` so that the loop validates
``validations`` times over the units after the warm-up (DL4ALL's reference
warm-up epoch is never validated), the last at the end of training; with
fewer training units than validations it validates after every unit.
``validations=0`` (``--selection last``) turns validation off: the run
keeps its last checkpoint.
"""
import math
from typing import List, Tuple

#: Validations of every method under ``--selection budget-val`` and
#: ``extra-val``.
VALIDATIONS = 4

#: Config keys that ``--selection last`` drops from a final stage (the
#: stage's own options for them included): no validation loader at all.
NO_VALIDATION = {'val_dataloader': None, 'val_cfg': None,
                 'val_evaluator': None}


def val_schedule(total: int, warmup: int,
                 validations: int) -> Tuple[int, int, List[int]]:
    """``(val_interval, val_begin, units validated after)``.

    Args:
        total (int): Units (iterations or epochs) of the run, warm-up
            included.
        warmup (int): Leading units that are never validated.
        validations (int): Wanted validations (>= 1).
    """
    if validations < 1 or total - warmup < 1:
        raise ValueError(f'val_schedule: {validations} validations of '
                         f'{total - warmup} training units')
    interval = max(1, math.ceil((total - warmup) / validations))
    points = [u for u in range(warmup + 1, total + 1)
              if u % interval == 0 or u == total]
    begin = 1
    if len(points) > validations:  # an extra early multiple: skip it
        points = points[-validations:]
        begin = points[0]
    return interval, begin, points


def loop_options(total: int, warmup: int, validations: int,
                 prefix: str = 'train_cfg') -> dict:
    """The loop and checkpoint options of :func:`val_schedule` (only the
    checkpoint interval, at the end of training, when ``validations`` is
    0)."""
    if validations == 0:
        return {'default_hooks.checkpoint.interval': total}
    interval, begin, _ = val_schedule(total, warmup, validations)
    opts = {f'{prefix}.val_interval': interval,
            'default_hooks.checkpoint.interval': interval}
    if begin > 1:
        opts[f'{prefix}.val_begin'] = begin
    return opts


def count(total: int, warmup: int, validations: int) -> int:
    """How many times a run of ``total`` units validates."""
    return len(val_schedule(total, warmup, validations)[2]) \
        if validations else 0


def without_validation(opts: dict) -> dict:
    """``opts`` of a final stage with no validation: every ``val_*``
    option dropped, validation off (placed last, so it overrides the
    protocol data's ``val_dataloader.*`` options, which come first), and
    no best-checkpoint rule."""
    out = {k: v for k, v in opts.items()
           if k.split('.')[0] not in NO_VALIDATION
           and k != 'train_cfg.val_interval'}
    out['default_hooks.checkpoint.save_best'] = None
    out.update(NO_VALIDATION)
    return out
