# Baseline: target-only training on the all_aria low-data target (normal vs
# ALL, 240 training images), ResNet-18 from random init at 96 px, with the
# backbone, input size, augmentation, optimizer and lr curve of
# configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py.
# Budget: 1,200 steps of 32 images (DL4ALL: 16 source + 16 target), the
# target validation split every 150 steps; lr 0.05 (heads x5) constant for
# 15 steps (DL4ALL's warm-up epoch), then cosine to 1e-4.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/pbc2aria_lowdata.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

max_iters = 1200
val_interval = 150

model = dict(
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=2,
        to_rgb=True,
        mean=[210.3, 217.88, 239.43],
        std=[37.89, 39.06, 14.95]),
    head=dict(num_classes=2, topk=(1, )))

train_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.train_dataloader.dataset.datasets.target)

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    # `end` defaults to train_cfg.max_iters
    dict(type='CosineAnnealingLR', by_epoch=False, begin=15, eta_min=1e-4)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=val_interval)
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False, interval=val_interval,
        save_best='diagnostic/balanced_accuracy'))
log_processor = dict(by_epoch=False)
# The training-data checks of default_runtime.py that apply to a plain
# (single-domain) dataset: train vs val/test leakage, NaN/inf loss stop.
custom_hooks = [dict(type='LeakageGuardHook'), dict(type='FiniteLossHook')]
