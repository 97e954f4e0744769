"""Fail fast, with a useful message, when a config's data is not there."""
import os.path as osp
from typing import Iterator, List, Tuple

from mmengine.config import Config

DOCS = 'docs/datasets.md'
SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _dataset_cfgs(cfg: dict, where: str) -> Iterator[Tuple[str, dict]]:
    """Every dataset config below ``cfg`` (wrappers included), with its
    place in the config."""
    if not isinstance(cfg, dict):
        return
    if 'datasets' in cfg and isinstance(cfg['datasets'], dict):
        for name, sub in cfg['datasets'].items():
            yield from _dataset_cfgs(sub, f'{where}.datasets.{name}')
        return
    if 'dataset' in cfg and isinstance(cfg['dataset'], dict):
        yield from _dataset_cfgs(cfg['dataset'], f'{where}.dataset')
        return
    yield where, cfg


def missing_data_paths(cfg: Config, splits=SPLITS) -> List[str]:
    """Messages for each data root / annotation file a config names but the
    disk lacks."""
    problems = []
    for split in splits:
        loader = cfg.get(split)
        if not loader:
            continue
        for where, ds in _dataset_cfgs(loader.get('dataset', {}),
                                       f'{split}.dataset'):
            root = ds.get('data_root', '') or ''
            ann = ds.get('ann_file', '') or ''
            ann_path = osp.join(root, ann) if ann and not osp.isabs(ann) \
                else ann
            dataset_type = ds.get('type', '?')
            if root and not osp.isdir(root):
                problems.append(f'{where} ({dataset_type}): data_root '
                                f'{root!r} does not exist')
            elif ann_path and not osp.isfile(ann_path):
                problems.append(f'{where} ({dataset_type}): ann_file '
                                f'{ann_path!r} does not exist')
    return problems


def check_data_paths(cfg: Config, splits=SPLITS) -> None:
    """Raise ``FileNotFoundError`` listing every missing data path."""
    problems = missing_data_paths(cfg, splits)
    if problems:
        raise FileNotFoundError(
            'The dataset this config trains on is not where the config '
            'says:\n  - ' + '\n  - '.join(dict.fromkeys(problems)) +
            f'\nSee {DOCS} for where to download each dataset, the '
            'directory layout it expects and the commands that write the '
            'split files.')
