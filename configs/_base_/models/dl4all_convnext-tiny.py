# ConvNeXt-T backbone with one linear head per domain (DL4ALL): the heads of
# dl4all_heads.py on the backbone and init of mmpretrain's
# _base_/models/convnext/convnext-tiny.py (which pools in its backbone: no
# neck).
_base_ = './dl4all_heads.py'

model = dict(
    backbone=dict(type='ConvNeXt', arch='tiny', drop_path_rate=0.1),
    init_cfg=dict(
        type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.),
    # Batch mixing (Mixup/CutMix) does not apply to domain-tagged batches.
    train_cfg=None,
    head=dict(
        task_heads=dict(
            source=dict(in_channels=768), target=dict(in_channels=768))))
