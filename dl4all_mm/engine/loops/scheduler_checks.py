"""Parameter schedulers that a short run would never reach."""
import warnings
from typing import List, Tuple, Union

Schedulers = Union[None, dict, list]


def drop_idle_schedulers(scheds: Schedulers, max_epochs: int,
                         max_iters: int) -> Tuple[Schedulers, List[tuple]]:
    """Drop scheduler configs that would begin at or after the end of
    training, refuse empty ranges.

    mmengine builds ``param_scheduler`` right after the train loop, before
    any hook runs, and a scheduler that begins at or after its default
    ``end`` (the end of training) fails to build (``end should be larger
    than begin``). Such a scheduler (e.g. ``begin=1`` with
    ``max_epochs=1``, a short run of a config with a warm-up) would never
    act: it is dropped with a warning. Built schedulers are returned as
    they are.

    Args:
        scheds: ``runner.param_schedulers`` before mmengine builds them (a
            config, a list of them, or a dict of lists per optimizer).
        max_epochs (int): Epochs of the run.
        max_iters (int): Iterations of the run.

    Returns:
        tuple: The kept schedulers (same layout as ``scheds``) and
        ``(index in its group, config)`` of each kept one, in mmengine's
        flattened order.
    """
    if scheds is None:
        return None, []
    if isinstance(scheds, dict) and 'type' not in scheds:
        groups = {k: list(v) if isinstance(v, (list, tuple)) else [v]
                  for k, v in scheds.items()}
    else:
        groups = {None: list(scheds) if isinstance(
            scheds, (list, tuple)) else [scheds]}
    flat: List[tuple] = []
    for key, group in groups.items():
        kept = []
        for i, cfg in enumerate(group):
            if isinstance(cfg, dict) and _idle(i, cfg, max_epochs,
                                               max_iters):
                continue
            kept.append(cfg)
            flat.append((i, cfg))
        groups[key] = kept
    return (groups[None] if None in groups else groups), flat


def _idle(i: int, cfg: dict, max_epochs: int, max_iters: int) -> bool:
    name = f'param_scheduler[{i}] ({cfg.get("type")})'
    unit, limit = ('epoch', max_epochs) if cfg.get('by_epoch', True) else (
        'iteration', max_iters)
    begin, end = cfg.get('begin', 0), cfg.get('end')
    if end is not None and end <= begin:
        raise ValueError(f'{name}: end={end} must be larger than '
                         f'begin={begin}')
    if begin < limit:
        return False
    warnings.warn(f'{name} begins at {unit} {begin}, at or after the end of '
                  f'training ({limit} {unit}s with train_cfg.max_epochs='
                  f'{max_epochs}): it would never act and is dropped')
    return True
