# Baseline: target-only fine-tuning on the embedded demo target (BCCD white
# cells, 4 classes), ResNet-18 from random init at 64 px: the backbone, init,
# input size, augmentation, optimizer and learning-rate curve of
# configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py.
# Budget, identical for every demo method: 780 optimizer steps of 16 images
# (DL4ALL: 30 epochs x 26 steps of 8 source + 8 target images), validation on
# the target val split every 130 steps (DL4ALL: every 5 epochs); lr 0.05
# (heads x5) constant for the first 26 steps (DL4ALL's warm-up epoch), then
# cosine to 1e-4.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/demo_pbc2bccd.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

max_iters = 780
val_interval = 130

model = dict(
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=4,
        to_rgb=True,
        # BCCD statistics, as DL4ALL's target normalisation.
        mean=[177.66, 162.38, 194.12],
        std=[26.57, 37.74, 16.38]),
    head=dict(num_classes=4, topk=(1, )))

train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.train_dataloader.dataset.datasets.target)

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    # `end` defaults to train_cfg.max_iters
    dict(type='CosineAnnealingLR', by_epoch=False, begin=26, eta_min=1e-4)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=val_interval)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=val_interval))
log_processor = dict(by_epoch=False)
# No domains, so no per-domain BatchNorm re-estimation.
# The training-data checks of default_runtime.py that apply to a plain
# (single-domain) dataset: train vs val/test leakage, NaN/inf loss stop.
custom_hooks = [dict(type='LeakageGuardHook'), dict(type='FiniteLossHook')]
