"""The flags of ``train_cfg`` before steps were components, as aliases.

- ``strategy='joint'``: ``step=dict(type='JointStep')``;
- ``strategy='greedy', greedy_rule=R, source_domain=S, target_domain=T``:
  ``step=dict(type='GreedyStep', rule=R, source_domain=S,
  target_domain=T)``;
- ``strategy='alternate'``: ``step=dict(type='AlternateStep')``;
- ``warmup_mode='reference'``: ``warmup=dict(type='ReferenceWarmup')``;
- ``warmup_mode='frozen_backbone', frozen=F``:
  ``warmup=dict(type='FrozenBackboneWarmup', frozen=F)``.

Defaults: ``JointStep`` and ``ReferenceWarmup``. Given ``step`` (or
``warmup``), the component wins and the old flags of the same part are
ignored with a warning (a config may inherit them from a ``_base_``).
"""
import warnings
from typing import List, Optional, Sequence

from ..steps.greedy_step import GREEDY_RULES

STRATEGIES = {
    'joint': 'JointStep',
    'greedy': 'GreedyStep',
    'alternate': 'AlternateStep'
}
WARMUP_MODES = {
    'reference': 'ReferenceWarmup',
    'frozen_backbone': 'FrozenBackboneWarmup'
}


def _check(field: str, value, allowed) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f'train_cfg.{field}={value!r}; expected one of '
                         f'{tuple(allowed)}')


def _ignored(part: str, flags: dict) -> None:
    given = sorted(k for k, v in flags.items() if v is not None)
    if given:
        warnings.warn(f'train_cfg.{part} is given: the old flags {given} are '
                      'ignored')


def step_cfg(step: Optional[dict], domains: List[str],
             strategy: Optional[str] = None,
             greedy_rule: Optional[str] = None,
             source_domain: Optional[str] = None,
             target_domain: Optional[str] = None) -> dict:
    """``train_cfg.step``, from itself or from the old flags."""
    _check('strategy', strategy, STRATEGIES)
    _check('greedy_rule', greedy_rule, GREEDY_RULES)
    for field, name in (('source_domain', source_domain),
                        ('target_domain', target_domain)):
        if name is not None and name not in domains:
            raise KeyError(f'train_cfg.{field}={name!r} is not one of '
                           f'the model heads {domains}')
    flags = dict(strategy=strategy, greedy_rule=greedy_rule,
                 source_domain=source_domain, target_domain=target_domain)
    if step is not None:
        _ignored('step', flags)
        return dict(step)
    cfg = dict(type=STRATEGIES[strategy or 'joint'])
    if cfg['type'] == 'GreedyStep':
        cfg.update(rule=greedy_rule or 'reference',
                   source_domain=source_domain, target_domain=target_domain)
    return cfg


def warmup_cfg(warmup: Optional[dict],
               warmup_mode: Optional[str] = None,
               frozen: Optional[Sequence[str]] = None) -> dict:
    """``train_cfg.warmup``, from itself or from the old flags."""
    _check('warmup_mode', warmup_mode, WARMUP_MODES)
    if warmup is not None:
        _ignored('warmup', dict(warmup_mode=warmup_mode, frozen=frozen))
        return dict(warmup)
    cfg = dict(type=WARMUP_MODES[warmup_mode or 'reference'])
    if cfg['type'] == 'FrozenBackboneWarmup' and frozen is not None:
        cfg['frozen'] = tuple(frozen)
    return cfg
