# Baseline: stock mixed-batch multi-task learning on PBC -> all_aria
# low-data: mmpretrain's ImageClassifier + MultiTaskHead (one linear head per
# domain), the two training sets concatenated and sampled uniformly into
# mixed batches of 32 (BatchNorm sees both domains at once). The 240 target
# images are repeated 71 times (17,040 vs 17,092 source images) so that a
# batch holds about as many target images as DL4ALL's 16 of 32: the
# comparison isolates the way the domains are mixed, not the sampling ratio.
# One normalisation for both domains (the mean of their statistics); no
# per-domain batches, loss weights, warm-up, gradient rescaling or BatchNorm
# re-estimation. Backbone, init, input size, augmentation, optimizer and lr
# curve as configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py; budget:
# 1,200 steps of 32 images, validation every 150 steps.
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
        to_rgb=True,
        # PBC and all_aria statistics pooled with equal weights
        mean=[216.5, 204.36, 211.64],
        std=[39.52, 44.84, 33.35]),
    head=dict(
        _delete_=True,
        type='MultiTaskHead',
        task_heads=dict(
            source=dict(type='LinearClsHead', num_classes=8),
            target=dict(type='LinearClsHead', num_classes=2)),
        in_channels=512,
        loss=dict(type='CrossEntropyLoss')))

# The wrapper only tags each sample with its domain (its task field); the
# plain sampler mixes the domains in every batch.
train_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='InterleavedDatasetWrapper',
        datasets=dict(
            source=_base_.train_dataloader.dataset.datasets.source,
            target=dict(
                type='RepeatDataset',
                times=71,
                dataset=_base_.train_dataloader.dataset.datasets.target))))

# Evaluate the target head on domain-tagged target samples.
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='InterleavedDatasetWrapper',
        datasets=dict(target=_base_.val_dataloader.dataset)))
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='InterleavedDatasetWrapper',
        datasets=dict(target=_base_.test_dataloader.dataset)))
val_evaluator = [
    dict(type='DiagnosticMetric', domain='target', prefix='diagnostic',
         positive_index=1)
]
test_evaluator = val_evaluator

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
# A batch without a target sample leaves the target head unused (stock
# MultiTaskHead), which DDP must be told about.
model_wrapper_cfg = dict(find_unused_parameters=True)
