"""The compared methods as protocol stages: configs, budgets, recipes.

Every method is one of the repository's configs (``configs/baselines``,
``configs/dl4all``, written for the PBC -> all_aria task) plus config
options built here: the budget (``iters`` optimizer steps of 32 images), the
backbone, the method's *recipe* (the knobs tuned on the validation split,
:mod:`.recipes`: the config's own, overridden on request) and, for
another task, its statistics (:func:`.data_options.data_options`). Each
stage names its ``data_layout``: where the protocol's ``data`` goes.
"""
from typing import Dict, List, Optional

from ..protocol_file import config_file
from .backbones import BACKBONE_SPECS, backbone_options, backbone_spec
from . import schedule
from .data_options import TaskData, check_norm, data_options
from .probes import (PROBES, check_probe_data, probe_stages,
                     random_features_warning)
from .recipes import (config_recipe, dl4all_epochs, dl4all_options,
                      dl4all_train_cfg, get_dotted, single_options,
                      single_recipe)
from .schedule import loop_options

__all__ = [
    'BACKBONE_SPECS', 'METHODS', 'backbone_spec', 'recipe_of',
    'random_features_warning', 'stages'
]

CONFIGS = dict(
    target_only='configs/baselines/target-only_resnet18_pbc2aria-lowdata.py',
    seq1='configs/baselines/sequential-stage1_resnet18_pbc.py',
    seq2='configs/baselines/sequential-stage2_resnet18_pbc2aria-lowdata.py',
    mixed='configs/baselines/mixed-multitask_resnet18_pbc2aria-lowdata.py',
    dl4all='configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py',
    greedy='configs/dl4all/dl4all-greedy_resnet18_pbc2aria-lowdata.py',
    probe='configs/baselines/linear-probe_resnet18_pbc2aria-lowdata.py')



def _config(key: str) -> str:
    """Absolute path of the method config ``CONFIGS[key]``."""
    return config_file(CONFIGS[key])


#: name -> (family, one-line description), in report order.
METHODS = {
    'linear-probe': ('single', 'frozen backbone: pooled features of each '
                     'target training image once (no augmentation), '
                     'class-weighted logistic regression (scikit-learn), C '
                     'by stratified k-fold on the training images; no '
                     'optimizer step'),
    'target-only': ('single', 'the target training subset only, 32 target '
                    'images per step'),
    'lp-ft': ('single', "linear-probe, then target-only's fine-tuning of "
              'the whole model from the probe (backbone and head) for the '
              'whole budget'),
    'sequential': ('single', 'the source for iters/2 steps (32 source '
                   'images), then fine-tune on the target for iters/2 steps '
                   '(new head)'),
    'mixed': ('mixed', "stock mmpretrain ImageClassifier + MultiTaskHead on "
              'mixed batches (about 16 + 16 images, one BatchNorm batch)'),
    'dl4all-joint': ('dl4all', 'DL4ALL Regular/Self as the reference runs '
                     'it (joint strategy): per-domain BatchNorm batches, 32 '
                     'images per step split by the recipe (tuned: 8 source + '
                     '24 target), class weights from the training labels, '
                     'reference warm-up, momentum BN re-estimation'),
    'dl4all-greedy': ('dl4all', "DL4ALL Greedy, the reference rule "
                      "(greedy_rule='reference'): source step, then a "
                      'target step if the target loss beats the lowest kept '
                      'one so far, else undo and step on the target only'),
    'dl4all-greedy-samebatch': (
        'dl4all', "DL4ALL Greedy, our rule (greedy_rule='same_batch'): keep "
        'the source step if the loss on the same target batch went down '
        '(dropout-controlled comparison), else undo and step on the target'),
}
#: DomainTrainLoop options of each DL4ALL method (``train_cfg`` keys,
#: dotted); everything else (data, recipe, hooks) is shared, so two DL4ALL
#: methods differ only here.
DL4ALL_LOOPS: Dict[str, dict] = {
    'dl4all-joint': {'step.type': 'JointStep',
                     'warmup.type': 'ReferenceWarmup'},
    'dl4all-greedy': {'step.type': 'GreedyStep', 'step.rule': 'reference',
                      'warmup.type': 'ReferenceWarmup'},
    'dl4all-greedy-samebatch': {'step.type': 'GreedyStep',
                                'step.rule': 'same_batch',
                                'warmup.type': 'ReferenceWarmup'},
}


#: The data layout of each stage (keys of ``protocol_data.LAYOUTS``).
STAGE_KINDS = {
    'linear-probe': ('single', ),
    'lp-ft': ('single', 'single'),
    'target-only': ('single', ),
    'sequential': ('source', 'single'),
    'mixed': ('mixed', ),
}

#: ``norm`` (:data:`.data_options.NORMS`) of each method without
#: ``--norm``: the authors' scalar per-domain statistics for DL4ALL,
#: per-channel per-domain statistics for every other method.
DEFAULT_NORM = dict(dl4all='scalar-domain', other='channel-domain')
#: Knobs of each method (tuned on the validation split only, see
#: docs/results.md). ``lr``: base learning rate (heads x5);
#: ``class_weight``: the authors' ``N / max(n_c, 10)`` class weights from
#: the training labels in torch's weighted mean (DL4ALL:
#: ``DomainClassWeightHook``, both heads; mixed: the hook on its source
#: head); ``norm``: :data:`DEFAULT_NORM`; DL4ALL and mixed: ``bn_recalib``
#: (batches of BatchNorm re-estimation on the target before each
#: validation, 0 = off; capped at one pass over the target training
#: split, where the reference's loader stops), ``bn_batch`` (their batch
#: size); DL4ALL only: ``loss_weights`` (source, target), ``batch``
#: (source, target images per step), ``warmup`` (epochs). A DL4ALL
#: method's recipe is its config file
#: (``configs/_base_/recipes/dl4all_pbc2aria_lowdata.py``, read by
#: :func:`.dl4all_recipe.config_recipe`); these are the single-head ones.
DEFAULT_RECIPE = dict(lr=0.05, class_weight=0, loss_weights=(0.5, 0.5),
                      batch=(16, 16), bn_recalib=101, bn_batch=8, warmup=1,
                      norm=DEFAULT_NORM['other'])
#: Config and class-weighted loss of each single-head method's recipe
#: (chosen on the validation split, docs/results.md "Tuning": lr 0.1 and
#: class weights for target-only and sequential, lr 0.05 and class weights
#: for mixed, which diverges at 0.1).
SINGLE = {
    'target-only': ('target_only', 'model.head.loss'),
    'sequential': ('seq2', 'model.head.loss'),
    'mixed': ('mixed', 'model.head.task_heads.target.loss'),
}


def _dl4all_config(method: str) -> str:
    step = DL4ALL_LOOPS[method]['step.type']
    return _config('greedy' if step == 'GreedyStep' else 'dl4all')


def recipe_of(method: str, overrides: Optional[dict] = None) -> dict:
    """Full recipe of ``method``: its config's knobs, then ``overrides``.
    """
    if method in DL4ALL_LOOPS:
        recipe = dict(DEFAULT_RECIPE, **config_recipe(_dl4all_config(method)),
                      norm=DEFAULT_NORM['dl4all'])
    elif method in SINGLE or method in PROBES:
        key, loss = SINGLE.get(method, SINGLE['target-only'])
        recipe = dict(DEFAULT_RECIPE, **single_recipe(_config(key), loss))
    else:
        raise KeyError(f'unknown method {method!r}; methods: '
                       f'{list(METHODS)}')
    for key, value in (overrides or {}).items():
        if key not in DEFAULT_RECIPE:
            raise KeyError(f'--recipe key {key!r} is unknown; keys: '
                           f'{sorted(DEFAULT_RECIPE)}')
        recipe[key] = value
    check_norm(recipe['norm'])
    return recipe


def _iter_budget(iters: int, validations: int = 8) -> dict:
    """``iters`` steps, ``validations`` validations (and checkpoints,
    :mod:`.schedule`; 0: a checkpoint at the end only); the configs'
    cosine curve ends at ``max_iters`` after 15 constant steps."""
    return {
        'train_cfg.max_iters': iters,
        **loop_options(iters, 0, validations),
        'param_scheduler.0.begin': min(15, iters - 1),
    }


def validation_count(method: str, iters: int, recipe: dict, n_train: int,
                     validations: int) -> int:
    """How many times ``method``'s final stage validates (:func:`stages`
    with these arguments)."""
    if method in DL4ALL_LOOPS:
        epochs, _, warmup = dl4all_epochs(iters, recipe, n_train)
        return schedule.count(epochs, warmup, validations)
    final = iters - max(1, iters // 2) if method == 'sequential' else iters
    return schedule.count(final, 0, validations)


def stages(method: str,
           iters: int,
           backbone: str,
           recipe: dict,
           weights: List[float],
           n_train: int,
           data: Optional[TaskData] = None,
           validations: int = 8) -> List[dict]:
    """The protocol stages (``config`` + ``cfg_options``) of ``method``.

    Args:
        iters (int): Optimizer steps (iterations) of the whole run.
        weights (list[float]): Target class weights (training split) of
            the single-head methods; DL4ALL computes its own
            (``DomainClassWeightHook``).
        n_train (int): Target training images (DL4ALL's epoch length).
        data (TaskData, optional): Another task's statistics (input size,
            classes, normalisation); its files and classes go in the
            protocol's ``data`` (:func:`.data_options.task_data`), placed
            by each stage's ``data_layout``.
        validations (int): Validations of the final stage at the same
            fractions of every method's budget (:mod:`.schedule`; the
            default 8 is the method configs' own schedule). 0: none at
            all (no validation loader; the last checkpoint is tested).
    """
    if data is not None and method in PROBES:
        check_probe_data(data)
    out = _stages(method, iters, backbone, recipe, weights, n_train,
                  validations)
    kinds = STAGE_KINDS.get(method, ('dl4all', ))
    for stage, kind in zip(out, kinds):
        stage['data_layout'] = kind  # where the protocol's `data` goes
        if data is not None:
            stage['cfg_options'].update(data_options(
                kind, stage['config'], data, recipe['norm'],
                bool(recipe['class_weight'])))
    if validations == 0:
        out[-1]['cfg_options'] = schedule.without_validation(
            out[-1]['cfg_options'])
    return out


def _stages(method: str, iters: int, backbone: str, recipe: dict,
            weights: List[float], n_train: int,
            validations: int) -> List[dict]:
    if method not in METHODS:
        raise KeyError(f'unknown method {method!r}; methods: '
                       f'{list(METHODS)}')
    if iters < 2:
        raise ValueError(f'--iters must be >= 2, got {iters}')
    norm, head = ['model.data_preprocessor'], ['model.head.in_channels']
    if method in PROBES:  # lp-ft: the probe, then target-only's stage
        tune = (_stages('target-only', iters, backbone, recipe, weights,
                        n_train, validations)[0]
                if method == 'lp-ft' else None)
        return probe_stages(method, _config('probe'), backbone, recipe,
                            weights, tune)
    if method == 'mixed':  # per-domain statistics (DomainDataPreprocessor)
        norm = [f'model.data_preprocessor.domain_norm.{d}'
                for d in ('source', 'target')]
    if method in SINGLE:
        key, loss = SINGLE[method]
        opts = dict(_iter_budget(iters, validations), **single_options(
            _config(key), loss, recipe, weights,
            n_train if method == 'mixed' else None))
        opts.update(backbone_options(backbone, head, norm))
        if method != 'sequential':
            return [dict(config=_config(key), cfg_options=opts)]
        half = max(1, iters // 2)
        first = _iter_budget(half, validations=0)
        first.update(single_options(_config('seq1'), None, recipe, []))
        first.update(backbone_options(backbone, head, norm))
        opts.update(_iter_budget(iters - half, validations))
        opts.update(backbone_options(backbone, head, norm,
                                     init_checkpoint='{prev_checkpoint}'))
        return [dict(config=_config('seq1'), cfg_options=first),
                dict(config=_config(key), cfg_options=opts)]
    config = _dl4all_config(method)
    opts = dl4all_options(config, iters, recipe, n_train, validations)
    train_cfg = dl4all_train_cfg(config)
    opts.update({f'train_cfg.{k}': v for k, v in DL4ALL_LOOPS[method].items()
                 if get_dotted(train_cfg, k, None) != v})
    heads = [f'model.head.task_heads.{d}.in_channels'
             for d in ('source', 'target')]
    norms = [f'model.data_preprocessor.domain_norm.{d}'
             for d in ('source', 'target')]
    opts.update(backbone_options(backbone, heads, norms))
    return [dict(config=config, cfg_options=opts)]

