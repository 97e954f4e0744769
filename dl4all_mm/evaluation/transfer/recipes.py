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


#: ``--class-weights``: ``authors``: every head's loss weighted by
#: ``N / max(n_c, 10)`` of its training labels (DL4ALL's rule) in torch's
#: weighted mean; ``none``: plain cross-entropy for every method.
CLASS_WEIGHTS = ('authors', 'none')
#: Base learning rate (heads x5) of every method on a pretrained backbone
#: (ImageNet or a checkpoint) without ``--lr-search``: the rule does not
#: look at any image (0.003 was the validation-split pick of 3 of the 5
#: methods in docs/results.md); from random init each method keeps its
#: config's own.
PRETRAINED_LR = 0.003

_MISSING = object()


def check_class_weights(value: str) -> str:
    """``value`` if it is one of :data:`CLASS_WEIGHTS`, else ValueError
    naming it."""
    if value not in CLASS_WEIGHTS:
        raise ValueError(f'--class-weights {value!r} is unknown; expected '
                         f'one of {list(CLASS_WEIGHTS)}')
    return value


def default_lr(pretrained: bool) -> Optional[float]:
    """The learning-rate rule without ``--lr-search``: :data:`PRETRAINED_LR`
    on a pretrained backbone, else None (each method config's own)."""
    return PRETRAINED_LR if pretrained else None


def recipe_notes(recipes: dict, class_weights: str) -> List[str]:
    """The report's lines on each method's normalisation and the class
    weights (``recipes``: method -> recipe)."""
    norms = ', '.join(f'{m} {r["norm"]}' for m, r in recipes.items())
    weights = (
        "the authors' N / max(n_c, 10) of each head's training labels, in "
        "torch's weighted-mean cross-entropy, for every method"
        if class_weights == 'authors' else
        'none (--class-weights none): plain cross-entropy for every method')
    return [
        f'Normalisation: {norms} (pretrained: the backbone\'s constants; '
        'scalar-domain: one mean/std per domain over every pixel and '
        "channel of its training images, the authors'; channel-domain: "
        'per-channel mean/std per domain).',
        f'Class weights: {weights}.',
    ] + ([_mixed_note(recipes['mixed'])] if 'mixed' in recipes else [])


def _mixed_note(recipe: dict) -> str:
    bn = int(recipe['bn_recalib'])
    return (
        'mixed gets what DL4ALL gets where the method allows it: each '
        "sample normalised with its domain's statistics (unless --norm "
        'pretrained) and ' + (
            f'BatchNorm re-estimated on up to {bn} target batches of '
            f'{int(recipe["bn_batch"])} before each validation and after '
            'the last step' if bn else 'no BatchNorm re-estimation '
            '(bn_recalib=0)') + '; its BatchNorm still sees mixed batches '
        'in training (per-domain BatchNorm batches are DL4ALL\'s '
        'DomainImageClassifier: mixed would be DL4ALL), and it has no loss '
        'weights, warm-up or gradient rescaling.')


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
    """``lr``, ``class_weight`` (on when the loss at ``loss_key`` has
    class weights) and BatchNorm re-estimation (``bn_recalib`` batches of
    ``bn_batch``: the config's ``DomainBNRecalibHook``, else 0) of a
    single-head (or mixed) method config."""
    cfg = load_config(config)
    loss = get_dotted(cfg, loss_key) if loss_key else {}
    bn = _hook(cfg.get('custom_hooks', []), 'DomainBNRecalibHook')
    return dict(lr=cfg.optim_wrapper.optimizer.lr,
                class_weight=int(loss.get('class_weight') is not None),
                bn_recalib=bn['num_batches'] if bn else 0,
                bn_batch=bn.get('batch_size') or 8 if bn else 8)


def single_options(config: str, loss_key: Optional[str], recipe: dict,
                   weights: List[float],
                   n_train: Optional[int] = None) -> dict:
    """The lr when the recipe changes it; the data's class weights (or
    none) at ``loss_key`` in torch's weighted mean
    (``WeightedCrossEntropyLoss``, as DL4ALL's heads); with ``n_train``
    (mixed: a config with task heads) the config's hooks with the recipe's
    class weights of the other heads and BatchNorm re-estimation."""
    base = single_recipe(config, loss_key)
    opts = {}
    if recipe['lr'] != base['lr']:
        opts['optim_wrapper.optimizer.lr'] = recipe['lr']
    if loss_key:
        opts[loss_key] = dict(
            _delete_=True, type='WeightedCrossEntropyLoss',
            class_weight=list(weights) if recipe['class_weight'] else None)
    if n_train is not None:
        config_hooks = load_config(config).get('custom_hooks', [])
        hooks = _hooks(config_hooks, recipe, n_train)
        if hooks != [dict(h) for h in config_hooks]:
            opts['custom_hooks'] = hooks
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
    old_weights = _hook(config_hooks, 'DomainClassWeightHook') or {}
    if recipe['class_weight']:  # the config's (e.g. its domains), or all
        out.append(dict(old_weights, type='DomainClassWeightHook'))
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
