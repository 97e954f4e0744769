# Baseline: stock mixed-batch multi-task learning on PBC -> all_aria
# low-data: mmpretrain's ImageClassifier + MultiTaskHead (one linear head per
# domain), the two training sets concatenated and sampled uniformly into
# mixed batches of 32 (BatchNorm sees both domains at once). The 240 target
# images are repeated 71 times (17,040 vs 17,092 source images) so that a
# batch holds about as many target images as DL4ALL's 16 of 32: the
# comparison isolates the way the domains are mixed, not the sampling ratio.
# What DL4ALL gets where the method allows it: each sample normalised with
# its domain's statistics (DomainDataPreprocessor, by the sample's domain
# tag; the model stays the stock ImageClassifier), each head's loss weighted
# by the authors' rule N / max(n_c, 10) in torch's weighted mean
# (WeightedCrossEntropyLoss; the source head's weights from its training
# labels by DomainClassWeightHook, the target's given: the repeated target
# set would count each label 71 times), and BatchNorm re-estimated with
# momentum on 30 target batches of 8 before each validation and after the
# last step (DomainBNRecalibHook). Not DL4ALL's: per-domain BatchNorm
# batches, loss weights, warm-up, gradient rescaling. Backbone, init, input
# size, augmentation, optimizer and lr curve as
# configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py; budget: 1,200
# steps of 32 images, validation every 150 steps. Recipe (tuned on the
# validation split): lr 0.05.
_base_ = '../_base_/baselines/pbc2aria_lowdata.py'

max_iters = 1200
val_interval = 150

model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='DomainDataPreprocessor',
        to_rgb=True,
        # PBC's and all_aria's, as
        # configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py
        domain_norm=dict(
            source=dict(
                mean=[222.71, 190.84, 183.84], std=[40.14, 46.16, 21.35]),
            target=dict(
                mean=[210.3, 217.88, 239.43], std=[37.89, 39.06, 14.95]))),
    head=dict(
        _delete_=True,
        type='MultiTaskHead',
        task_heads=dict(
            source=dict(
                type='LinearClsHead',
                num_classes=8,
                loss=dict(type='WeightedCrossEntropyLoss')),
            target=dict(
                type='LinearClsHead',
                num_classes=2,
                # N / max(n_c, 10) of the 240 training images (38 normal,
                # 202 ALL)
                loss=dict(
                    type='WeightedCrossEntropyLoss',
                    class_weight=[240 / 38, 240 / 202]))),
        in_channels=512,
        loss=dict(type='CrossEntropyLoss')))

# The wrapper only tags each sample with its domain (its task field); the
# plain sampler mixes the domains in every batch. The 240 target images
# repeated 71 times.
train_dataloader = dict(
    dataset=dict(
        datasets=dict(
            target=dict(
                _delete_=True,
                type='RepeatDataset',
                times=71,
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
    dict(type='DiagnosticMetric', domain='target', prefix='diagnostic',
         positive_index=1)
]
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
# A batch without a target sample leaves the target head unused (stock
# MultiTaskHead), which DDP must be told about.
model_wrapper_cfg = dict(find_unused_parameters=True)
custom_hooks = _base_.custom_hooks + [
    dict(type='DomainClassWeightHook', domains=['source']),
    dict(type='DomainBNRecalibHook', domain='target', mode='momentum',
         num_batches=30, batch_size=8),
]
