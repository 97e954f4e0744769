# Baseline: sequential transfer, stage 1 of 2 -- train on PBC alone (8
# classes, all 17,092 images as DL4ALL uses them), ResNet-18 from random init
# at 96 px, for 600 of the 1,200 steps of 32 images, lr 0.1 (the recipe of
# stage 2); no validation.
# Stage 2: sequential-stage2_resnet18_pbc2aria-lowdata.py.
_base_ = ['./sequential-stage1_resnet18_demo_pbc.py']

max_iters = 600

model = dict(
    data_preprocessor=dict(
        mean=[222.71, 190.84, 183.84], std=[40.14, 46.16, 21.35]))
optim_wrapper = dict(optimizer=dict(lr=0.1))

data_root = 'data'  # a protocol's data.source replaces it
train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=f'{data_root}/pbc',
        pipeline=[
            dict(type='LoadImageFromFileRobust'),
            dict(type='Resize', scale=(96, 96)),
            dict(type='RandomFlip', prob=[0.25, 0.25],
                 direction=['horizontal', 'vertical']),
            dict(type='PackInputs'),
        ]))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=15, eta_min=1e-4)
]
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
