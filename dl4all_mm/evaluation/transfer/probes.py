"""The probe methods of the comparison: ``linear-probe`` (the probe config,
``LinearProbeLoop``) and ``lp-ft`` (the probe, then target-only's
fine-tuning from the probe's checkpoint); their data check and the warning
for a probe of random features."""
from typing import List, Optional, Sequence

from .backbones import backbone_options
from .data_options import TaskData

#: The probe methods: target-only's recipe (lr: lp-ft's fine-tuning;
#: class_weight: the probe's LogisticRegression and lp-ft's loss).
PROBES = ('linear-probe', 'lp-ft')


def probe_stages(method: str, config: str, backbone, recipe: dict,
                 weights: List[float],
                 tune: Optional[dict] = None) -> List[dict]:
    """linear-probe: the probe ``config`` with the comparison's class
    weights (``recipe['class_weight']``, else none); lp-ft: the probe, then
    ``tune`` (target-only's stage: the whole budget) from the probe's
    checkpoint (``load_from``: backbone and head)."""
    opts = {'train_cfg.class_weight': (list(weights)
                                       if recipe['class_weight'] else None)}
    opts.update(backbone_options(backbone, ['model.head.in_channels'],
                                 ['model.data_preprocessor']))
    probe = dict(config=config, cfg_options=opts)
    if method == 'linear-probe':
        return [probe]
    if tune is None:
        raise ValueError('lp-ft needs the fine-tuning stage (target-only)')
    tune = dict(tune, cfg_options=dict(tune['cfg_options'],
                                       load_from='{prev_checkpoint}'))
    return [probe, tune]


def check_probe_data(data: TaskData) -> None:
    """Refuse (before anything trains) a training file the probe's
    cross-validation cannot split: a class with fewer than 2 images.

    Raises:
        InputError: names the size and the class.
    """
    from dl4all_mm.engine.loops.probe_fit import n_folds
    with open(data.target_ann, encoding='utf-8') as f:
        labels = [int(line.rsplit(None, 1)[1]) for line in f
                  if line.strip()]
    n_folds(labels, data.target_classes,
            f'{len(labels)} target training images ({data.target_ann})')


def random_features_warning(methods: Sequence[str],
                            spec: dict) -> Optional[str]:
    """A warning when a probe method is among ``methods`` and the backbone
    ``spec`` (:func:`.backbones.backbone_spec`) starts from random weights:
    the probe would fit random features."""
    probes = [m for m in methods if m in PROBES]
    model = spec['backbone']
    if not probes or spec.get('pretrained') not in (None, 'none') or \
            model.get('pretrained_imagenet') or model.get('init_cfg'):
        return None
    given = spec.get('pretrained') or 'not given'
    return (f'warning: {", ".join(probes)} with --pretrained {given} '
            f'(backbone {spec["name"]}, random init): the linear probe '
            'fits a logistic regression on random features, expect results '
            'near chance; give --pretrained CHECKPOINT (or the default '
            'efficientnet-lite0 ImageNet weights) for a real probe')
