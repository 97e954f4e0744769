# Baseline: target-only fine-tuning on the embedded demo target (BCCD white
# cells, 4 classes) with what
# configs/dl4all/dl4all_efficientnet-lite0_demo_pbc2bccd.py uses: the
# EfficientNet-Lite0 backbone from its offline ImageNet weights (inputs
# scaled with mean = std = 127.5), the input size and augmentation of
# ../_base_/datasets/demo_pbc2bccd_lite0.py (96 px), SGD lr 0.01 (heads
# x5), momentum 0.9, weight decay 5e-4, cosine to 1e-4 over the run, and
# model selection on the validation balanced accuracy. `make demo` runs it
# beside DL4ALL.
# Budget, identical to DL4ALL's: 208 optimizer steps of 16 images (DL4ALL:
# 8 epochs x 26 steps of 8 source + 8 target images, no warm-up),
# validation on the target val split every 26 steps (DL4ALL: every epoch).
_base_ = [
    '../_base_/baselines/resnet18_iter.py',
    '../_base_/datasets/demo_pbc2bccd_lite0.py',
]

max_iters = 208
val_interval = 26

model = dict(
    backbone=dict(
        _delete_=True, type='EfficientNetLite0', pretrained_imagenet=True),
    neck=dict(type='GlobalAveragePooling'),
    data_preprocessor=dict(
        num_classes=4, mean=[127.5] * 3, std=[127.5] * 3),
    head=dict(num_classes=4, in_channels=1280))

# The target domain alone (no domains, so no per-domain BatchNorm
# re-estimation), 16 images a step from a plain infinite sampler.
train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=0,  # as DL4ALL's loaders (demo_pbc2bccd_lite0.py)
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.train_dataloader.dataset.datasets.target)

optim_wrapper = dict(optimizer=dict(lr=0.01))
# `end` defaults to train_cfg.max_iters
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, eta_min=1e-4)
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
# Deterministic, as DL4ALL's demo config (tools/run_demo.py --threads).
randomness = dict(seed=0, deterministic=True)
