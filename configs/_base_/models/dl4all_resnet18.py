# ResNet-18 backbone with one linear head per domain (DL4ALL).
_base_ = 'mmpretrain::_base_/models/resnet18.py'

model = dict(
    type='DomainImageClassifier',
    data_preprocessor=dict(
        type='DomainDataPreprocessor',
        to_rgb=True,
        # Replace with each dataset's own statistics
        # (tools/analysis_tools/compute_mean_std.py).
        domain_norm=dict(
            source=dict(mean=[123.675, 116.28, 103.53],
                        std=[58.395, 57.12, 57.375]),
            target=dict(mean=[123.675, 116.28, 103.53],
                        std=[58.395, 57.12, 57.375]))),
    head=dict(
        _delete_=True,
        type='DomainMultiTaskHead',
        loss_weights=dict(source=0.5, target=0.5),
        grad_rescale=True,
        task_heads=dict(
            source=dict(
                type='LinearClsHead',
                num_classes=2,
                in_channels=512,
                loss=dict(type='CrossEntropyLoss')),
            target=dict(
                type='LinearClsHead',
                num_classes=2,
                in_channels=512,
                loss=dict(type='CrossEntropyLoss')))))
