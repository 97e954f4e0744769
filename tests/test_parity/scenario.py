"""The parity scenarios' Runner side: generated data, a tiny BatchNorm CNN,
the Runner config and the hook capturing the state after every step.

Data: an ADP-like source (``ADPDataset`` on generated patches of 6 slides
with 1-5 patches each: Self's slide classes or multi-label HTT levels) and a
2-class target with an unequal class mix, 16 px, so that the class weights
(``N / max(n_c, 1)``) differ between classes.
"""
import csv
import os
import os.path as osp
import uuid
from typing import List

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

import dl4all_mm  # noqa: F401  (registers the components)
from tests.fixtures.field_datasets import ADP_CODES, adp_labels

CHANNELS = 4
HPARAMS = dict(lr=0.05, head_lr=0.25, momentum=0.9, weight_decay=5e-4)
LOSS_WEIGHTS = dict(source=0.5, target=0.5)
SLIDE_CROPS = {'001': 1, '002': 2, '003': 2, '004': 3, '005': 4, '006': 5}
TARGET_LABELS = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]  # 3 ALL, 9 hem
SEED, BN_SEED = 3, 5


@MODELS.register_module(force=True)
class ParityCNN(BaseModule):
    """conv-BN-ReLU-dropout-conv-BN-ReLU, 16 px -> 8 px (the parity
    scenarios use no dropout; other tests set ``drop``)."""

    def __init__(self, drop: float = 0.0, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.conv1 = nn.Conv2d(3, CHANNELS, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(CHANNELS)
        self.drop = nn.Dropout(drop)
        self.conv2 = nn.Conv2d(CHANNELS, CHANNELS, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(CHANNELS)

    def forward(self, x: torch.Tensor) -> tuple:
        x = self.drop(F.relu(self.bn1(self.conv1(x))))
        return (F.relu(self.bn2(self.conv2(x))), )


def write_data(root: str, num_target: int) -> None:
    """ADP-like patches + labels CSV under ``root/adp``; target PNGs and
    ``target_train.txt`` (first ``num_target`` of TARGET_LABELS)."""
    rng = np.random.default_rng(0)
    img_dir = osp.join(root, 'adp', 'img_res_1um_bicubic')
    os.makedirs(img_dir, exist_ok=True)
    rows = []
    for i, (slide, crops) in enumerate(SLIDE_CROPS.items()):
        for j in range(crops):
            name = f'{slide}.png_crop_{j}.png'
            img = rng.integers(0, 255, (16, 16, 3)).astype(np.uint8)
            cv2.imwrite(osp.join(img_dir, name), img)
            pos = adp_labels(name, 10 * i + j)
            rows.append([name] + [int(c in pos) for c in ADP_CODES])
    with open(osp.join(root, 'adp', 'ADP_EncodedLabels_Release1_Flat.csv'),
              'w', newline='') as f:
        csv.writer(f).writerows([['Patch Names'] + ADP_CODES] + rows)
    os.makedirs(osp.join(root, 'target'), exist_ok=True)
    lines = []
    for i, label in enumerate(TARGET_LABELS[:num_target]):
        img = rng.integers(0, 60, (16, 16, 3))
        img[..., label] += 150
        cv2.imwrite(osp.join(root, 'target', f'{i}.png'),
                    img.astype(np.uint8))
        lines.append(f'target/{i}.png {label}')
    with open(osp.join(root, 'target_train.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


class Capture(Hook):
    """The plugin's state after every training step and after every epoch
    (after the BatchNorm re-estimation, which runs at a higher priority)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.steps: List[dict] = []
        self.epochs: List[dict] = []

    def before_train(self, runner) -> None:
        self.init = {k: v.detach().clone()
                     for k, v in runner.model.state_dict().items()}

    def _state(self, runner) -> dict:
        optimizer = runner.optim_wrapper.optimizer
        momentum = {}
        for name, p in runner.model.named_parameters():
            buf = optimizer.state.get(p, {}).get('momentum_buffer')
            if buf is not None:
                momentum[name] = buf.detach().clone()
        return dict(
            state={k: v.detach().clone()
                   for k, v in runner.model.state_dict().items()},
            momentum=momentum)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        state = self._state(runner)
        if 'greedy_kept' in outputs:
            state['kept'] = bool(outputs['greedy_kept'])
            state['best_loss'] = float(outputs['greedy_best_loss'])
        self.steps.append(state)

    def after_train_epoch(self, runner) -> None:
        self.epochs.append(self._state(runner))


def runner_cfg(root: str, scenario: dict, hooks: List[Hook]) -> dict:
    """A Runner on the generated data; ``scenario``: ``level`` (source),
    ``source_head``, ``source_loss``, ``num_classes``, ``batch_size``,
    ``batch_sizes``, ``strategy``, ``warmup_epochs``, ``max_epochs``,
    ``bn_batches``, ``bn_batch_size``; optional ``idle_head``
    (``ReferenceWarmup``'s), ``refresh_bn`` (``JointStep``'s) and
    ``bn_cycle`` (``DomainBNRecalibHook``'s ``cycle``)."""
    s = scenario
    if s['strategy'] == 'greedy':
        step = dict(type='GreedyStep', rule='reference')
    else:
        step = dict(type='JointStep', refresh_bn=s.get('refresh_bn'))
    source_head = dict(type=s['source_head'], num_classes=s['num_classes'],
                       in_channels=CHANNELS, loss=dict(type=s['source_loss']))
    target_head = dict(type='LinearClsHead', num_classes=2,
                       in_channels=CHANNELS,
                       loss=dict(type='WeightedCrossEntropyLoss'))
    norm = dict(mean=[100.0] * 3, std=[60.0] * 3)
    load = [dict(type='LoadImageFromFileRobust'), dict(type='PackInputs')]
    target = dict(type='CustomDataset', data_root=root,
                  ann_file='target_train.txt', classes=['hem', 'all'],
                  pipeline=load)
    return dict(
        model=dict(
            type='DomainImageClassifier',
            data_preprocessor=dict(
                type='DomainDataPreprocessor',
                domain_norm=dict(source=norm, target=norm)),
            backbone=dict(type='ParityCNN'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='DomainMultiTaskHead', loss_weights=LOSS_WEIGHTS,
                      grad_rescale=True,
                      task_heads=dict(source=source_head,
                                      target=target_head))),
        work_dir=osp.join(root, 'work'),
        train_dataloader=dict(
            batch_size=s['batch_size'], num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(type='DomainBatchSampler', schedule='paired',
                               batch_sizes=s['batch_sizes'],
                               epoch_length='shortest', seed=SEED),
            dataset=dict(type='InterleavedDatasetWrapper', datasets=dict(
                source=dict(type='ADPDataset', data_root=f'{root}/adp',
                            level=s['level'], pipeline=load),
                target=target))),
        val_dataloader=dict(batch_size=4, num_workers=0,
                            sampler=dict(type='DefaultSampler',
                                         shuffle=False),
                            dataset=target),
        val_cfg=dict(),
        val_evaluator=dict(type='Accuracy', topk=(1, )),
        train_cfg=dict(type='DomainTrainLoop', step=step,
                       warmup=dict(type='ReferenceWarmup',
                                   idle_head=s.get('idle_head')),
                       warmup_epochs=s['warmup_epochs'],
                       max_epochs=s['max_epochs'], val_interval=1),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=HPARAMS['lr'],
                           momentum=HPARAMS['momentum'],
                           weight_decay=HPARAMS['weight_decay']),
            paramwise_cfg=dict(custom_keys={
                'head.task_heads': dict(
                    lr_mult=HPARAMS['head_lr'] / HPARAMS['lr'])})),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=100),
                           checkpoint=None),
        custom_hooks=[
            dict(type='DomainClassWeightHook', min_count=1),
            dict(type='DomainBNRecalibHook', mode='momentum',
                 num_batches=s['bn_batches'],
                 batch_size=s['bn_batch_size'], seed=BN_SEED,
                 cycle=s.get('bn_cycle', True)),
        ] + list(hooks),
        default_scope='mmpretrain',
        experiment_name=f'parity_{uuid.uuid4().hex[:12]}',
        randomness=dict(seed=0),
        log_level='WARNING')
