# DL4ALL Self with a ConvNeXt-T backbone (ImageNet-1k weights): everything
# else as dl4all-self_resnet18_in1k-pre_adp2cnmc.py (data, batches, class
# weights, warm-up, optimizer, BatchNorm refresh, deviations).
# ImageNet weights: docs/pretrained.md.
_base_ = [
    '../_base_/models/dl4all_convnext-tiny.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/paper_runtime.py',
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/convnext-tiny_32xb128_in1k_'
            '20221207-998cf3e9.pth',
            prefix='backbone')),
    # ADP Release 1: patches of 100 slides (ADP website).
    head=dict(task_heads=dict(source=dict(num_classes=100))))
