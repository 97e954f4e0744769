"""A protocol's leakage check before any run starts: each distinct stage's
training set (every domain, a DL4ALL config's source domain included) is
compared with its validation and test sets by
:func:`dl4all_mm.datasets.leakage.find_leakage`, with the settings of the
stage's own ``LeakageGuardHook`` (the check its runs would make at their
start, made once for the whole protocol before anything trains)."""
import copy
from typing import Callable, Optional, Sequence

from dl4all_mm.datasets.leakage import (CHECKS, ID_KEYS, data_infos,
                                        find_leakage, format_leaks)

_DATA_KEYS = ('dataloader', 'data_root', 'ann_file', 'classes')


def _guard(cfg) -> Optional[dict]:
    """The stage's ``LeakageGuardHook`` settings; None when it has none or
    allows leakage deliberately."""
    hooks = [h for h in cfg.get('custom_hooks', None) or []
             if str(h.get('type', '')).endswith('LeakageGuardHook')]
    if not hooks or hooks[-1].get('allow_leakage', False):
        return None
    return hooks[-1]


def stage_leaks(cfg) -> Optional[str]:
    """The leaks of one merged stage config as text, or None."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    guard = _guard(cfg)
    if guard is None or not cfg.get('train_dataloader'):
        return None
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))

    def build(split):
        return DATASETS.build(copy.deepcopy(cfg[f'{split}_dataloader'][
            'dataset']))

    train = build('train')
    others = {s: data_infos(build(s)) for s in guard.get(
        'splits', ('val', 'test')) if cfg.get(f'{s}_dataloader')}
    if not others:
        return None
    leaks = find_leakage(data_infos(train), others,
                         checks=guard.get('checks', CHECKS),
                         id_keys=guard.get('id_keys', ID_KEYS),
                         default_domain=getattr(train, 'main_domain', None))
    return format_leaks(leaks) if leaks else None


def protocol_leaks(runs: Sequence, load: Callable) -> Optional[str]:
    """Check every distinct stage data of ``runs`` once.

    Args:
        runs (list[RunSpec]): The protocol's runs.
        load (callable): ``load(config_path, env) -> Config``.

    Returns:
        str: The first stage's leaks, naming its config, or None. A stage
        whose data cannot be read here (e.g. a dry run without the data)
        is skipped with a note.
    """
    from .run_spec import stage_variables
    seen = set()
    for run in runs:
        for i, stage in enumerate(run.stages):
            opts, env = stage_variables(run, 'RUN_DIR', i, 'PREV.pth')
            data = {k: v for k, v in opts.items()
                    if any(key in k for key in _DATA_KEYS)}
            key = (stage['config'], repr(sorted(env.items())),
                   repr(sorted(data.items())))
            if key in seen:
                continue
            seen.add(key)
            cfg = load(stage['config'], env)
            cfg.merge_from_dict({k: v for k, v in opts.items()
                                 if 'PREV.pth' not in str(v)})
            try:
                found = stage_leaks(cfg)
            except Exception as err:  # noqa: BLE001  missing data etc.:
                print(f'note: {run.name} stage {i}: data not readable '
                      f'here ({type(err).__name__}: {err}); its '
                      'LeakageGuardHook checks it when the run starts')
                continue
            if found:
                return (f'{run.name} stage {i} ({stage["config"]}): its '
                        'training data overlaps its validation/test data '
                        f'(LeakageGuardHook would stop it):\n{found}')
    return None
