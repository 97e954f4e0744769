# ViT-B/16 at 384 px backbone with one linear head per domain (DL4ALL).
# mmpretrain's ViT base (its backbone settings, no neck) stays the base, so
# the heads are restated from dl4all_resnet18.py.
_base_ = 'mmpretrain::_base_/models/vit-base-p16.py'

model = dict(
    type='DomainImageClassifier',
    backbone=dict(img_size=384),
    neck=None,
    data_preprocessor=dict(
        type='DomainDataPreprocessor',
        to_rgb=True,
        # mmpretrain's ImageNet ViT-B/16 weights expect mean = std = 127.5.
        domain_norm=dict(
            source=dict(mean=[127.5] * 3, std=[127.5] * 3),
            target=dict(mean=[127.5] * 3, std=[127.5] * 3))),
    head=dict(
        _delete_=True,
        type='DomainMultiTaskHead',
        loss_weights=dict(source=0.5, target=0.5),
        grad_rescale=True,
        task_heads=dict(
            source=dict(
                type='LinearClsHead',
                num_classes=2,
                in_channels=768,
                loss=dict(type='CrossEntropyLoss')),
            target=dict(
                type='LinearClsHead',
                num_classes=2,
                in_channels=768,
                loss=dict(type='CrossEntropyLoss')))))
