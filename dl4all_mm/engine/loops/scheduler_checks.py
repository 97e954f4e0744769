"""Parameter schedulers that a short run would never reach.

:class:`~dl4all_mm.engine.runners.DL4ALLRunner` calls
:func:`prepare_param_schedulers` from ``build_param_scheduler``, right
before mmengine builds them: idle schedulers are dropped with a warning and
the train loop's warm-up checks the kept ones. A runner of one's own (no
``prepares_param_schedulers`` attribute) gets :func:`check_param_schedulers`
from the loop instead: the same checks, reading the configs only, and an
idle scheduler is a clear error naming ``runner_type``.
"""
import warnings
from typing import Any, List, Tuple, Union

Schedulers = Union[None, dict, list]

#: What :func:`check_param_schedulers` tells a runner of one's own.
RUNNER_HINT = ("set runner_type='mmpretrain.DL4ALLRunner' (it drops such "
               'schedulers) or remove it')


def is_config(scheds: Schedulers) -> bool:
    """Whether ``scheds`` holds at least one scheduler config (a dict)."""
    if isinstance(scheds, dict):
        return 'type' in scheds or any(
            is_config(v) for v in scheds.values())
    if isinstance(scheds, (list, tuple)):
        return any(is_config(s) for s in scheds)
    return False


def prepare_param_schedulers(runner: Any, scheds: Schedulers) -> Schedulers:
    """Drop idle schedulers, let the train loop's warm-up check the kept
    ones; return the kept ones for mmengine to build.

    Called by ``DL4ALLRunner.build_param_scheduler`` once the train loop is
    built. Built schedulers (a resume builds them again) pass unchanged.

    Args:
        runner (Runner): The runner, its train loop built.
        scheds: The ``param_scheduler`` configs.

    Returns:
        The kept schedulers, in the layout of ``scheds``.
    """
    if not is_config(scheds):
        return scheds
    loop = runner.train_loop
    kept, flat = drop_idle_schedulers(scheds, runner.max_epochs,
                                      runner.max_iters)
    warmup = getattr(loop, 'warmup', None)
    if warmup is not None:
        warmup.check_schedulers(loop, flat)
    return kept


def check_param_schedulers(loop: Any) -> None:
    """The checks of :func:`prepare_param_schedulers` for a runner that
    does not prepare its schedulers: reads ``runner.param_schedulers``,
    changes none of them.

    Raises:
        ValueError: For a scheduler that would never act (see
            :data:`RUNNER_HINT`), or one the warm-up refuses.
    """
    scheds = loop.runner.param_schedulers
    if not is_config(scheds):
        return
    _, flat = drop_idle_schedulers(scheds, loop.max_epochs, loop.max_iters,
                                   drop=False)
    if getattr(loop, 'warmup', None) is not None:
        loop.warmup.check_schedulers(loop, flat)


def drop_idle_schedulers(scheds: Schedulers, max_epochs: int,
                         max_iters: int,
                         drop: bool = True) -> Tuple[Schedulers, List[tuple]]:
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
        drop (bool): Drop an idle scheduler with a warning; if False, raise
            a ``ValueError`` naming it and :data:`RUNNER_HINT`. Defaults to
            True.

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
                                               max_iters, drop):
                continue
            kept.append(cfg)
            flat.append((i, cfg))
        groups[key] = kept
    return (groups[None] if None in groups else groups), flat


def _idle(i: int, cfg: dict, max_epochs: int, max_iters: int,
          drop: bool) -> bool:
    name = f'param_scheduler[{i}] ({cfg.get("type")})'
    unit, limit = ('epoch', max_epochs) if cfg.get('by_epoch', True) else (
        'iteration', max_iters)
    begin, end = cfg.get('begin', 0), cfg.get('end')
    if end is not None and end <= begin:
        raise ValueError(f'{name}: end={end} must be larger than '
                         f'begin={begin}')
    if begin < limit:
        return False
    msg = (f'{name} begins at {unit} {begin}, at or after the end of '
           f'training ({limit} {unit}s with train_cfg.max_epochs='
           f'{max_epochs}): it would never act')
    if not drop:
        raise ValueError(f'{msg}; {RUNNER_HINT}')
    warnings.warn(f'{msg} and is dropped')
    return True
