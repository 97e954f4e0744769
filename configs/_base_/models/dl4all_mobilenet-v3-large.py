# MobileNetV3-Large backbone with one linear head per domain (DL4ALL): the
# ResNet-18 base (data preprocessor, heads) with the backbone of mmpretrain's
# _base_/models/mobilenet_v3/mobilenet_v3_large_imagenet.py.
_base_ = './dl4all_resnet18.py'

model = dict(
    backbone=dict(_delete_=True, type='MobileNetV3', arch='large'),
    head=dict(
        task_heads=dict(
            source=dict(in_channels=960), target=dict(in_channels=960))))
