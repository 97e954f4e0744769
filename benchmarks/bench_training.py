"""What the benchmarks train: mmpretrain/dl4all configs and the limit loop.

``runner_cfg`` mirrors ``configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py``
(ResNet, one linear head per domain, ``DomainMultiTaskHead`` with
``grad_rescale``, ``DomainDataPreprocessor``, paired ``DomainBatchSampler``,
joint ``DomainTrainLoop``, the demo pipeline) and the stock mmpretrain
equivalent on one dataset.
"""
from typing import Callable

import numpy as np

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def pipeline(img_size: int, augment: bool = True) -> list:
    """The demo config's training pipeline (decode, resize, flips)."""
    flip = dict(
        type='RandomFlip',
        prob=[0.25, 0.25],
        direction=['horizontal', 'vertical'])
    return [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(img_size, img_size)),
    ] + [flip] * augment + [dict(type='PackInputs')]


def dataset_cfg(ann: dict,
                img_size: int,
                cache: bool,
                augment: bool = True) -> dict:
    """A ``CustomDataset`` on an annotation file, optionally cached."""
    cfg = dict(
        type='CustomDataset',
        ann_file=ann['ann_file'],
        metainfo=dict(classes=ann['classes']),
        pipeline=pipeline(img_size, augment))
    if cache:
        cfg = dict(
            type='CachedImageDataset',
            dataset=cfg,
            max_bytes='2G',
            num_threads=2)
    return cfg


# -- models and runners -----------------------------------------------------
def depth_of(arch: str) -> int:
    if not arch.startswith('resnet') or not arch[6:].isdigit():
        raise ValueError(f'--arch {arch!r}: expected resnetNN (e.g. resnet18)')
    return int(arch[6:])


def backbone_cfg(arch: str, norm: str = 'bn') -> dict:
    """mmpretrain ResNet; ``norm='gn'`` swaps BatchNorm for GroupNorm."""
    cfg = dict(
        type='ResNet',
        depth=depth_of(arch),
        num_stages=4,
        out_indices=(3, ),
        style='pytorch')
    if norm == 'gn':
        cfg['norm_cfg'] = dict(type='GN', num_groups=8, requires_grad=True)
    return cfg


def channels(arch: str) -> int:
    return 512 if depth_of(arch) < 50 else 2048


def runner_cfg(spec: dict,
               kind: str,
               work_dir: str,
               arch: str = 'resnet18',
               img_size: int = 96,
               batch: int = 16,
               workers: int = 2,
               device: str = 'cpu',
               amp: bool = False,
               channels_last: bool = False,
               cache: bool = True,
               augment: bool = True,
               norm: str = 'bn',
               collate: str = 'default_collate',
               log_level: str = 'WARNING') -> dict:
    """Runner config of ``kind='stock'`` (``ImageClassifier`` on the union,
    ``2 * batch`` per step) or ``'dl4all'`` (paired/joint, ``batch`` per
    domain per step), as the demo config trains. ``default_collate`` stacks
    the images in the workers (one host-device copy per batch instead of
    one per image with mmengine's default ``pseudo_collate``)."""
    cuda = device == 'cuda'
    ce = dict(type='CrossEntropyLoss', loss_weight=1.0)
    common = dict(
        backbone=backbone_cfg(arch, norm),
        neck=dict(type='GlobalAveragePooling'))
    if kind == 'stock':
        union = spec['union']
        model = dict(
            type='ImageClassifier',
            head=dict(
                type='LinearClsHead',
                num_classes=len(union['classes']),
                in_channels=channels(arch),
                loss=ce),
            data_preprocessor=dict(
                type='ClsDataPreprocessor', mean=MEAN, std=STD, to_rgb=True),
            **common)
        loader = dict(
            batch_size=2 * batch,
            dataset=dataset_cfg(union, img_size, cache, augment))
        train_cfg = dict(by_epoch=True, max_epochs=10**6)
    else:
        doms = spec['domains']
        model = dict(
            type='DomainImageClassifier',
            head=dict(
                type='DomainMultiTaskHead',
                loss_weights=dict(source=0.5, target=0.5),
                grad_rescale=True,
                task_heads={
                    d:
                    dict(
                        type='LinearClsHead',
                        num_classes=len(doms[d]['classes']),
                        in_channels=channels(arch),
                        loss=ce)
                    for d in doms
                }),
            data_preprocessor=dict(
                type='DomainDataPreprocessor',
                to_rgb=True,
                domain_norm={d: dict(mean=MEAN, std=STD)
                             for d in doms}),
            **common)
        loader = dict(
            batch_size=batch,
            batch_sampler=dict(
                type='DomainBatchSampler',
                schedule='paired',
                epoch_length='main',
                seed=0),
            dataset=dict(
                type='InterleavedDatasetWrapper',
                datasets={
                    d: dataset_cfg(doms[d], img_size, cache, augment)
                    for d in doms
                }))
        train_cfg = dict(
            type='DomainTrainLoop', strategy='joint', max_epochs=10**6)
    loader.update(
        sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=cuda,
        collate_fn=dict(type=collate))
    optim = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
    return dict(
        default_scope='mmpretrain',
        work_dir=work_dir,
        model=model,
        train_dataloader=loader,
        train_cfg=train_cfg,
        optim_wrapper=dict(
            type='AmpOptimWrapper' if amp else 'OptimWrapper',
            optimizer=optim),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=50),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', interval=-1),
            sampler_seed=dict(type='DistSamplerSeedHook'),
            visualization=dict(type='VisualizationHook', enable=False)),
        custom_hooks=[dict(type='ChannelsLastHook')] if channels_last else [],
        env_cfg=dict(
            cudnn_benchmark=cuda,
            mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
            dist_cfg=dict(backend='nccl' if cuda else 'gloo')),
        model_wrapper_cfg=dict(type='DL4ALLDistributedDataParallel'),
        visualizer=dict(
            type='UniversalVisualizer',
            vis_backends=[dict(type='LocalVisBackend')]),
        log_level=log_level,
        randomness=dict(seed=0))


def limit_loop(spec: dict,
               tick: Callable[[], bool],
               arch: str,
               img_size: int,
               batch: int,
               device: str = 'cpu',
               amp: bool = False,
               channels_last: bool = False,
               split_bn: bool = True) -> None:
    """Plain PyTorch training on pre-decoded in-memory tensors (the
    hardware limit), per step as ``runner_cfg(kind='dl4all')`` trains:
    ``batch`` images of each domain, one SGD step; with ``split_bn`` one
    forward of both domains' images under ``domain_split_batchnorm`` (as
    ``DomainImageClassifier`` does by default) and one backward, otherwise
    one forward + backward per domain. Runs until ``tick()`` is True."""
    import mmcv
    import torch
    from mmengine.logging import MMLogger
    from mmpretrain.registry import MODELS

    from dl4all_mm.models.utils import domain_split_batchnorm
    MMLogger.get_instance('limit', log_level='WARNING')  # quiet init logs
    torch.backends.cudnn.benchmark = device == 'cuda'
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    backbone = MODELS.build(backbone_cfg(arch))
    backbone.init_weights()
    heads = torch.nn.ModuleDict({
        d:
        torch.nn.Linear(channels(arch), len(spec['domains'][d]['classes']))
        for d in spec['domains']
    })
    model = torch.nn.ModuleDict(dict(backbone=backbone, heads=heads))
    model.to(device, memory_format=fmt).train()
    data = {}
    for d, ann in spec['domains'].items():
        with open(ann['ann_file']) as f:
            rows = [line.rsplit(' ', 1) for line in f.read().splitlines()]
        imgs = [
            mmcv.imresize(mmcv.imread(p), (img_size, ) * 2)[..., ::-1]
            for p, _ in rows
        ]
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1,
                                                     2).contiguous().to(device)
        y = torch.tensor([int(lb) for _, lb in rows], device=device)
        data[d] = (x, y)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    scaler = torch.amp.GradScaler(device, enabled=amp)
    # Indices drawn on the device: no host-device copy, no sync per step.
    gen = torch.Generator(device=device).manual_seed(0)
    loss_fn = torch.nn.CrossEntropyLoss()
    while True:
        xs, ys = [], []
        for x_all, y_all in data.values():
            idx = torch.randint(
                len(x_all), (batch, ), generator=gen, device=device)
            xs.append(x_all[idx])
            ys.append(y_all[idx])
        if split_bn:
            x = ((torch.cat(xs).float() - mean) /
                 std).contiguous(memory_format=fmt)
            with torch.autocast(device, enabled=amp), \
                    domain_split_batchnorm([backbone], [batch] * len(xs)):
                feats = backbone(x)[-1].mean((2, 3)).split(batch)
                loss = sum(
                    loss_fn(head(f), y) * 0.5
                    for head, f, y in zip(heads.values(), feats, ys))
            scaler.scale(loss).backward()
        else:
            for head, x, y in zip(heads.values(), xs, ys):
                x = ((x.float() - mean) / std).contiguous(memory_format=fmt)
                with torch.autocast(device, enabled=amp):
                    feat = backbone(x)[-1].mean((2, 3))
                    loss = loss_fn(head(feat), y) * 0.5
                scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        if tick():
            return
