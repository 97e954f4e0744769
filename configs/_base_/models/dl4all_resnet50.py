# ResNet-50 backbone with one linear head per domain (DL4ALL): the ResNet-18
# base (data preprocessor, heads) at depth 50, the backbone of mmpretrain's
# _base_/models/resnet50.py.
_base_ = './dl4all_resnet18.py'

model = dict(
    backbone=dict(depth=50),
    head=dict(
        task_heads=dict(
            source=dict(in_channels=2048), target=dict(in_channels=2048))))
