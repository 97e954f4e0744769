# Baseline: stock mixed-batch multi-task learning -- mmpretrain's
# ImageClassifier + MultiTaskHead (one linear head per domain) on the source
# (PBC subset, 8 classes) and target (BCCD white cells, 4 classes) training
# sets concatenated and sampled uniformly into mixed batches, BatchNorm
# seeing both domains at once. The target set is repeated 4 times (836 vs
# 800 source images) so that a batch holds about as many target images as
# DL4ALL's 8 of 16: the comparison isolates the way the domains are mixed,
# not the sampling ratio. One normalisation for both domains (the mean of
# their statistics); no per-domain batches, loss weights, warm-up, gradient
# rescaling or BatchNorm re-estimation (DL4ALL's ingredients).
# Same backbone, init, input size, augmentation, optimizer and lr curve as
# configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py; budget: 780 steps of 16
# images, validation on the target val split every 130 steps.
_base_ = '../_base_/baselines/demo_pbc2bccd.py'

max_iters = 780
val_interval = 130

model = dict(
    data_preprocessor=dict(
        # PBC and BCCD statistics pooled with equal weights
        mean=[200.1, 176.68, 188.96],
        std=[41.07, 44.32, 21.25]),
    head=dict(
        _delete_=True,
        type='MultiTaskHead',
        task_heads=dict(
            source=dict(type='LinearClsHead', num_classes=8),
            target=dict(type='LinearClsHead', num_classes=4)),
        in_channels=512,
        loss=dict(type='CrossEntropyLoss')))

# The interleaved wrapper only tags each sample with its domain (its task
# field); the plain sampler mixes the domains in every batch. The target
# set repeated 4 times.
train_dataloader = dict(
    dataset=dict(
        datasets=dict(
            target=dict(
                _delete_=True,
                type='RepeatDataset',
                times=4,
                dataset=_base_.train_dataloader.dataset.datasets.target))))

# Evaluate the target head on domain-tagged target samples.
val_dataloader, test_dataloader = [
    dict(
        dataset=dict(
            _delete_=True,
            type='InterleavedDatasetWrapper',
            datasets=dict(target=loader.dataset)))
    for loader in (_base_.val_dataloader, _base_.test_dataloader)
]
val_evaluator = [
    dict(type='DiagnosticMetric', domain='target', prefix='diagnostic')
]
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(
    checkpoint=dict(interval=val_interval, save_best='diagnostic/accuracy'))
# A batch without a target sample leaves the target head unused (stock
# MultiTaskHead), which DDP must be told about.
model_wrapper_cfg = dict(find_unused_parameters=True)
