"""A method's recipe is its config file.

The DL4ALL method configs inherit
``configs/_base_/recipes/dl4all_pbc2aria_lowdata.py`` (batch composition,
loss weights, learning rate, warm-up, class weights, BatchNorm
re-estimation); the single-head ones hold their learning rate and class
weights (``configs/baselines/*pbc2aria-lowdata*``). :func:`config_recipe`
and :func:`single_recipe` read those knobs back; :func:`dl4all_options`
and :func:`single_options` give a comparison's budget, its data's class
weights and only the knobs a ``--recipe`` override (or the lr search)
changes. Hooks are edited by type on the config's own ``custom_hooks``, so
its runtime checks stay whatever the config holds.
"""
import math
import os.path as osp
from functools import lru_cache
from typing import List, Optional

from .schedule import loop_options

#: The DL4ALL knobs of ``--recipe`` and where the config holds them.
KNOBS = ('lr', 'class_weight', 'loss_weights', 'batch', 'bn_recalib',
         'bn_batch', 'warmup')


_MISSING = object()


@lru_cache(maxsize=None)
def load_config(config: str):
    """The parsed config file ``config`` (a path relative to the package's
    configs is resolved), parsed once per path and shared: read it, do not
    change it."""
    from mmengine.config import Config
    from ..protocol_file import config_file
    return Config.fromfile(config if osp.isabs(config) else
                           config_file(config))


def get_dotted(cfg, key: str, default=_MISSING):
    """``cfg[a][b]`` for ``key='a.b'``; ``default`` where a key is missing
    (or a value on the way is not a mapping), KeyError without one."""
    node = cfg
    for part in key.split('.'):
        if hasattr(node, 'get') and part in node:
            node = node[part]
        elif default is _MISSING:
            raise KeyError(key)
        else:
            return default
    return node


def dl4all_train_cfg(config: str) -> dict:
    """The ``train_cfg`` of a DL4ALL config (loop options)."""
    return dict(load_config(config).train_cfg)


def single_recipe(config: str, loss_key: str) -> dict:
    """``lr`` and ``class_weight`` (on when the loss at ``loss_key`` has
    class weights) of a single-head method config."""
    cfg = load_config(config)
    loss = get_dotted(cfg, loss_key) if loss_key else {}
    return dict(lr=cfg.optim_wrapper.optimizer.lr,
                class_weight=int(loss.get('class_weight') is not None))


def single_options(config: str, loss_key: Optional[str], recipe: dict,
                   weights: List[float]) -> dict:
    """The lr when the recipe changes it; the data's class weights (or
    none) at ``loss_key``."""
    base = single_recipe(config, loss_key)
    opts = {}
    if recipe['lr'] != base['lr']:
        opts['optim_wrapper.optimizer.lr'] = recipe['lr']
    if loss_key:
        opts[f'{loss_key}.class_weight'] = (list(weights)
                                            if recipe['class_weight']
                                            else None)
    return opts


def _hook(hooks, kind: str):
    return next((h for h in hooks if h.get('type') == kind), None)


def config_recipe(config: str) -> dict:
    """The DL4ALL knobs of a config file (absolute path).

    Raises:
        KeyError: the config lacks a knob (names the config and the key).
    """
    cfg = load_config(config)
    try:
        sizes = cfg.train_dataloader.batch_sampler.batch_sizes
        weights = cfg.model.head.loss_weights
        recipe = dict(lr=cfg.optim_wrapper.optimizer.lr,
                      loss_weights=(weights['source'], weights['target']),
                      batch=(sizes['source'], sizes['target']),
                      warmup=cfg.train_cfg.warmup_epochs)
    except (AttributeError, KeyError, TypeError) as err:
        raise KeyError(f'{config}: not a DL4ALL recipe config (batch_sampler'
                       f'.batch_sizes, model.head.loss_weights, optimizer '
                       f'lr, train_cfg.warmup_epochs): {err}') from None
    hooks = cfg.get('custom_hooks', [])
    bn = _hook(hooks, 'DomainBNRecalibHook')
    recipe.update(
        class_weight=int(_hook(hooks, 'DomainClassWeightHook') is not None),
        bn_recalib=bn['num_batches'] if bn else 0,
        bn_batch=bn.get('batch_size') or 8 if bn else 8)
    return recipe


def _hooks(config_hooks, recipe: dict, n_train: int) -> List[dict]:
    """The config's hooks with the recipe's class weights and BatchNorm
    re-estimation (capped at one pass over the target training images,
    where the reference's loader stops)."""
    bn_batch = max(1, int(recipe['bn_batch']))
    bn = dict(type='DomainBNRecalibHook', mode='momentum',
              batch_size=bn_batch, num_batches=min(
                  int(recipe['bn_recalib']), max(1, n_train // bn_batch)))
    out = [dict(h) for h in config_hooks if h.get('type') not in (
        'DomainClassWeightHook', 'DomainBNRecalibHook')]
    old_bn = _hook(config_hooks, 'DomainBNRecalibHook') or {}
    if recipe['class_weight']:
        out.append(dict(type='DomainClassWeightHook'))
    if int(recipe['bn_recalib']) > 0:
        out.append(dict(old_bn, **bn))
    return out


def dl4all_epochs(iters: int, recipe: dict, n_train: int) -> tuple:
    """``(epochs, steps per epoch, warm-up epochs)`` of a DL4ALL run of
    ``iters`` optimizer steps: epochs of ``ceil(n_train / target batch)``
    steps, rounded to whole epochs, the warm-up included."""
    steps = math.ceil(n_train / int(recipe['batch'][1]))
    warmup = int(recipe['warmup'])
    return max(warmup + 1, round(iters / steps)), steps, warmup


def dl4all_options(config: str, iters: int, recipe: dict,
                   n_train: int, validations: int = 8) -> dict:
    """The budget (``iters`` optimizer steps: :func:`dl4all_epochs`,
    ``validations`` validations after the warm-up, :mod:`.schedule`; 0:
    none) and the knobs of ``recipe`` that differ from ``config``'s."""
    base, cfg = config_recipe(config), load_config(config)
    src, tgt = (int(b) for b in recipe['batch'])
    epochs, steps, warmup = dl4all_epochs(iters, recipe, n_train)
    opts = {
        'train_dataloader.batch_sampler.epoch_length': steps,
        'train_cfg.max_epochs': epochs,
        **loop_options(epochs, warmup, validations),
        'param_scheduler.0.begin': warmup,
        'param_scheduler.0.end': epochs,
    }
    if warmup != base['warmup']:
        opts['train_cfg.warmup_epochs'] = warmup
    if recipe['lr'] != base['lr']:
        opts['optim_wrapper.optimizer.lr'] = recipe['lr']
    if (src, tgt) != tuple(base['batch']):
        opts['train_dataloader.batch_size'] = src + tgt
        opts['train_dataloader.batch_sampler.batch_sizes'] = dict(
            source=src, target=tgt)
    if tuple(recipe['loss_weights']) != tuple(base['loss_weights']):
        opts['model.head.loss_weights'] = dict(
            source=float(recipe['loss_weights'][0]),
            target=float(recipe['loss_weights'][1]))
    if bool(recipe['class_weight']) != bool(base['class_weight']):
        # weighted: torch's weighted mean, as the reference's loss
        loss = ('WeightedCrossEntropyLoss' if recipe['class_weight'] else
                'CrossEntropyLoss')
        for domain in ('source', 'target'):
            opts[f'model.head.task_heads.{domain}.loss'] = dict(
                _delete_=True, type=loss)
    hooks = _hooks(cfg.get('custom_hooks', []), recipe, n_train)
    if hooks != [dict(h) for h in cfg.get('custom_hooks', [])]:
        opts['custom_hooks'] = hooks
    return opts
