# ResNet-18 backbone with one linear head per domain (DL4ALL): the heads of
# dl4all_heads.py on the backbone and neck of mmpretrain's
# _base_/models/resnet18.py.
_base_ = './dl4all_heads.py'

model = dict(
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        task_heads=dict(
            source=dict(in_channels=512), target=dict(in_channels=512))))
