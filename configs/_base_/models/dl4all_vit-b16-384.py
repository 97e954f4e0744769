# ViT-B/16 at 384 px backbone with one linear head per domain (DL4ALL): the
# heads of dl4all_heads.py on the backbone of mmpretrain's
# _base_/models/vit-base-p16.py (class token, no neck) at 384 px.
_base_ = './dl4all_heads.py'

model = dict(
    # mmpretrain's ImageNet ViT-B/16 weights expect mean = std = 127.5.
    data_preprocessor=dict(
        domain_norm=dict(
            source=dict(mean=[127.5] * 3, std=[127.5] * 3),
            target=dict(mean=[127.5] * 3, std=[127.5] * 3))),
    backbone=dict(
        type='VisionTransformer',
        arch='b',
        img_size=384,
        patch_size=16,
        drop_rate=0.1,
        init_cfg=[
            dict(
                type='Kaiming',
                layer='Conv2d',
                mode='fan_in',
                nonlinearity='linear')
        ]),
    neck=None,
    head=dict(
        task_heads=dict(
            source=dict(in_channels=768), target=dict(in_channels=768))))
