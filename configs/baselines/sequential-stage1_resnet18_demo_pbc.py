# Baseline: sequential transfer, stage 1 of 2 -- train on the source only
# (the demo's PBC subset, 8 classes, all 800 images as DL4ALL uses them),
# ResNet-18 from random init at 64 px. No validation and no model selection:
# stage 2 (sequential-stage2_resnet18_demo_bccd.py) starts from this stage's
# last checkpoint, backbone only (the source head is left behind).
# Budget: 390 of the 780 steps of 16 images (stage 2 takes the other 390).
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/demo_pbc2bccd.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

max_iters = 390

model = dict(
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=8,
        to_rgb=True,
        # PBC statistics, as DL4ALL's source normalisation.
        mean=[222.53, 190.99, 183.79],
        std=[40.75, 45.77, 24.11]),
    head=dict(num_classes=8, topk=(1, )))

train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.train_dataloader.dataset.datasets.source)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    # `end` defaults to train_cfg.max_iters
    dict(type='CosineAnnealingLR', by_epoch=False, begin=26, eta_min=1e-4)
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False, interval=max_iters, max_keep_ckpts=1,
        save_best=None))
log_processor = dict(by_epoch=False)
# The training-data checks of default_runtime.py that apply to a plain
# (single-domain) dataset: train vs val/test leakage, NaN/inf loss stop.
custom_hooks = [dict(type='LeakageGuardHook'), dict(type='FiniteLossHook')]
