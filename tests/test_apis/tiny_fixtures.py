"""Tiny models, checkpoints and images for the inference/CAM tests."""
import os
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np

import dl4all_mm  # noqa: F401  (registers the components)
from tests.conftest import noise_image, tiny_resnet

SOURCE_CLASSES = ['basophil', 'eosinophil', 'neutrophil']
TARGET_CLASSES = ['normal', 'ALL']

_COMMON = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['dl4all_mm'], allow_failed_imports=False)
backbone = {backbone!r}
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=72, edge='short'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs'),
]
""".format(backbone=tiny_resnet())

DOMAIN_CONFIG = _COMMON + """
model = dict(
    type='DomainImageClassifier',
    backbone=backbone,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='DomainMultiTaskHead',
        task_heads=dict(
            source=dict(type='LinearClsHead', num_classes=3, in_channels=64),
            target=dict(type='LinearClsHead', num_classes=2,
                        in_channels=64))),
    data_preprocessor=dict(
        type='DomainDataPreprocessor', to_rgb=True,
        domain_norm=dict(
            source=dict(mean=[120., 110., 100.], std=[50., 50., 50.]),
            target=dict(mean=[130., 120., 140.], std=[40., 45., 50.]))))
test_dataloader = dict(
    batch_size=2,
    dataset=dict(
        type='InterleavedDatasetWrapper',
        datasets=dict(
            source=dict(type='CustomDataset', data_root='src',
                        pipeline=test_pipeline),
            target=dict(type='CustomDataset', data_root='tgt',
                        pipeline=test_pipeline))))
"""

PLAIN_CONFIG = _COMMON + """
model = dict(
    type='ImageClassifier',
    backbone=backbone,
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=64),
    data_preprocessor=dict(
        type='ClsDataPreprocessor', to_rgb=True, num_classes=2,
        mean=[130., 120., 140.], std=[40., 45., 50.]))
test_dataloader = dict(
    batch_size=2,
    dataset=dict(type='CustomDataset', data_root='tgt',
                 metainfo=dict(classes=('config_normal', 'config_ALL')),
                 pipeline=test_pipeline))
"""


def write_config(folder: str, text: str, name: str = 'tiny.py') -> str:
    """Write config ``text`` into ``folder``; return its path."""
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def build_model(config: str):
    """Build the model of a config file (random init, fixed seed)."""
    import torch
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    # Spread the target head's weights so predictions are not all ~0.5.
    for name, param in model.named_parameters():
        if 'fc' in name:
            param.data.normal_(0, 2.0)
    return model.eval()


def save_tiny_checkpoint(config: str,
                         out_file: str,
                         meta: Optional[dict] = None):
    """Build the config's model and save it with mmengine's
    ``save_checkpoint`` (``meta.dataset_meta`` as given); return the model.
    """
    from mmengine.runner import save_checkpoint
    model = build_model(config)
    checkpoint = dict(state_dict=model.state_dict())
    if meta is not None:
        checkpoint['meta'] = meta
    save_checkpoint(checkpoint, out_file)
    return model


def domain_meta() -> dict:
    """Checkpoint meta as an :class:`InterleavedDatasetWrapper` writes it,
    with the *source* as main domain to check that inference picks the
    target's classes."""
    return dict(
        dataset_meta=dict(
            classes=tuple(SOURCE_CLASSES),
            domains=['source', 'target'],
            main_domain='source',
            domain_metainfo=dict(
                source=dict(classes=tuple(SOURCE_CLASSES)),
                target=dict(classes=tuple(TARGET_CLASSES)))))


def write_images(folder: str) -> List[str]:
    """Five small random images of three sizes, one in a sub-folder, and a
    non-image file that folder expansion must skip."""
    rng = np.random.RandomState(0)
    sizes = [(48, 40), (36, 36), (48, 40), (64, 50), (36, 36)]
    paths = []
    for i, (h, w) in enumerate(sizes):
        sub = osp.join(folder, 'sub') if i == 4 else folder
        os.makedirs(sub, exist_ok=True)
        img = noise_image(rng, (h, w))
        img[:h // 2, :w // 2] = (40 * i, 200, 90)
        path = osp.join(sub, f'img{i}.png')
        cv2.imwrite(path, img)
        paths.append(path)
    with open(osp.join(folder, 'notes.txt'), 'w') as f:
        f.write('not an image')
    return paths
