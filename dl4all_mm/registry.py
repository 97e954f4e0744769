"""Registries of the plugin's own component kinds.

Everything that mmpretrain already has a registry for (models, datasets,
hooks, loops, ...) registers there; these hold what it has none for: the
training steps and the warm-ups of :class:`DomainTrainLoop`, selected by
``train_cfg.step`` and ``train_cfg.warmup``.
"""
from typing import Any, Optional

from mmengine.registry import Registry


def build_component(cfg: Any, registry: Registry,
                    default_args: Optional[dict] = None) -> Any:
    """Instantiate ``cfg['type']`` from ``registry`` with the other keys.

    Unlike mmengine's ``build_from_cfg`` this does not switch to the
    runner's default scope (``mmpretrain``, which has no such registry), so
    it neither warns nor searches other packages.

    Raises:
        TypeError: ``cfg`` is not a dict with a ``type``.
        KeyError: ``type`` is not registered (the message lists those that
            are).
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'a {registry.name} config must be a dict with a '
                        f'"type", got {cfg!r}')
    args = dict(cfg)
    kind = args.pop('type')
    cls = kind if isinstance(kind, type) else registry.get(kind)
    if cls is None:
        raise KeyError(f'{kind!r} is not a registered {registry.name}; '
                       f'registered: {sorted(registry.module_dict)}')
    for key, value in (default_args or {}).items():
        args.setdefault(key, value)
    return cls(**args)


#: Training steps of :class:`DomainTrainLoop` (``train_cfg.step``).
TRAIN_STEPS = Registry(
    'train step', scope='dl4all_mm', build_func=build_component)
#: Warm-ups of :class:`DomainTrainLoop` (``train_cfg.warmup``).
WARMUPS = Registry('warm-up', scope='dl4all_mm', build_func=build_component)
