"""Helpers of the inference API: configs, class names, inputs, CSV."""
import contextlib
import csv
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Union

from mmengine.config import Config
from mmengine.utils import import_modules_from_strings
from mmpretrain.registry import DATASETS

from dl4all_mm.datasets.splits import IMG_EXTENSIONS
from dl4all_mm.engine.runners import checkpoint_loader


@contextlib.contextmanager
def trusted_checkpoints(trust: bool) -> Iterator[None]:
    """Allow full unpickling of checkpoints inside the block only."""
    before = checkpoint_loader.checkpoints_trusted()
    if trust:
        checkpoint_loader.trust_checkpoints(True)
    try:
        yield
    finally:
        checkpoint_loader.trust_checkpoints(before)


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """Read a config (path or ``Config``) and run its ``custom_imports``."""
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        config.copy()
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    return cfg


def domain_dataset_cfg(cfg: Config, domain: Optional[str]) -> dict:
    """The test dataset config, or its ``domain`` member for wrappers."""
    dataset = cfg.get('test_dataloader', {}).get('dataset')
    if not dataset:
        raise KeyError('The config has no `test_dataloader.dataset`: '
                       'infer needs its pipeline and classes.')
    while True:
        if isinstance(dataset.get('datasets'), dict):
            members = dataset['datasets']
            dataset = members.get(domain) or list(members.values())[-1]
        elif 'pipeline' not in dataset and isinstance(
                dataset.get('dataset'), dict):
            dataset = dataset['dataset']  # RepeatDataset & co.
        else:
            return dataset


def classes_from_meta(meta: Optional[dict],
                      domain: Optional[str] = None) -> Optional[List[str]]:
    """Class names of ``domain`` in a dataset metainfo (checkpoint meta).

    Multi-domain metainfo (from :class:`InterleavedDatasetWrapper`) lists
    every domain under ``domain_metainfo``; ``domain`` picks one of them.
    """
    meta = meta or {}
    per_domain = meta.get('domain_metainfo') or {}
    if domain in per_domain and per_domain[domain].get('classes'):
        return list(per_domain[domain]['classes'])
    return list(meta['classes']) if meta.get('classes') else None


def classes_from_config(cfg: Config,
                        domain: Optional[str] = None) -> Optional[List[str]]:
    """Class names given by the config's test dataset, if any."""
    dataset = domain_dataset_cfg(cfg, domain)
    classes = (dataset.get('metainfo') or {}).get('classes') or \
        dataset.get('classes')
    if isinstance(classes, str):
        path = classes
        if not osp.isfile(path) and dataset.get('data_root'):
            path = osp.join(dataset['data_root'], classes)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Class names file {classes!r} of the config test dataset '
                '(`classes`) not found')
        with open(path, encoding='utf-8') as f:
            classes = [line.strip() for line in f if line.strip()]
    if not classes and dataset.get('type') in DATASETS:
        classes = getattr(DATASETS.get(dataset['type']), 'METAINFO',
                          {}).get('classes')
    return list(classes) if classes else None


def expand_inputs(inputs: Union[str, Sequence[str]]) -> List[str]:
    """Image files of ``inputs`` (files and folders, searched recursively).

    Raises:
        FileNotFoundError: An input does not exist.
        ValueError: No image was found.
    """
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    paths: List[str] = []
    for item in inputs:
        if osp.isdir(item):
            found = [
                osp.join(root, name)
                for root, _, names in os.walk(item, followlinks=True)
                for name in names if name.lower().endswith(IMG_EXTENSIONS)
            ]
            paths += sorted(found)
        elif osp.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f'Input {item!r} is neither a file nor '
                                    'a folder')
    if not paths:
        raise ValueError(f'No image ({", ".join(IMG_EXTENSIONS)}) found in '
                         f'{inputs}')
    return paths


def cam_file_names(paths: Sequence[str]) -> List[str]:
    """Unique flat ``.png`` names: each path relative to the inputs' common
    folder, with separators replaced by ``__``."""
    dirs = [osp.dirname(osp.abspath(p)) for p in paths]
    common = osp.commonpath(dirs) if dirs else ''
    names, used = [], set()
    for path in paths:
        rel = osp.relpath(osp.abspath(path), common)
        name = osp.splitext(rel.replace(os.sep, '__'))[0]
        unique, n = name, 1
        while unique in used:
            unique, n = f'{name}_{n}', n + 1
        used.add(unique)
        names.append(unique + '.png')
    return names


def save_csv(records: Sequence[dict], out_file: str) -> None:
    """Write records of :meth:`DL4ALLInferencer.infer` as CSV: ``path``,
    ``pred_label``, ``pred_class``, ``pred_score``, one ``prob_<class>``
    column per class and ``cam_path`` when overlays were written."""
    if not records:
        raise ValueError(f'No prediction to write to {out_file}')
    classes = list(records[0]['scores'])
    header = ['path', 'pred_label', 'pred_class', 'pred_score'] + \
        [f'prob_{c}' for c in classes]
    with_cam = 'cam_path' in records[0]
    if with_cam:
        header.append('cam_path')
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    with open(out_file, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for rec in records:
            row = [
                rec['path'], rec['pred_label'], rec['pred_class'],
                f'{rec["pred_score"]:.6f}'
            ]
            row += [f'{rec["scores"][c]:.6f}' for c in classes]
            if with_cam:
                row.append(rec['cam_path'])
            writer.writerow(row)
