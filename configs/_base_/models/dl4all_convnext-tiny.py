# ConvNeXt-T backbone with one linear head per domain (DL4ALL). ConvNeXt
# pools in its backbone (mmpretrain's base has no neck), so this base does
# not start from dl4all_resnet18.py and restates its heads.
_base_ = 'mmpretrain::_base_/models/convnext/convnext-tiny.py'

model = dict(
    type='DomainImageClassifier',
    # Batch mixing (Mixup/CutMix) does not apply to domain-tagged batches.
    train_cfg=None,
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
                in_channels=768,
                loss=dict(type='CrossEntropyLoss')),
            target=dict(
                type='LinearClsHead',
                num_classes=2,
                in_channels=768,
                loss=dict(type='CrossEntropyLoss')))))
