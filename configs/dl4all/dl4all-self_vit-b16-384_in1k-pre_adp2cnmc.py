# DL4ALL Self (Genovese et al., IEEE Access 2023), ViT-B/16 at 384 px from
# ImageNet-21k -> 1k weights: source ADP with Self labels (one class per
# slide), target C-NMC 2019 (hem vs all), patient-wise fold 0; paired
# schedule (8 ADP + 4 C-NMC images per step, proportional), joint strategy
# (0.5/0.5 loss weights), SGD lr 2e-4 (heads x5), one warm-up epoch on the
# heads then 100 epochs.
# Data: configs/_base_/datasets/adp-self_cnmc.py, docs/datasets.md;
# ImageNet weights: docs/pretrained.md.
_base_ = [
    '../_base_/models/dl4all_vit-b16-384.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='checkpoints/vit-base-p16_in21k-pre-3rdparty_ft-'
            '64xb64_in1k-384_20210928-98e8652b.pth',
            prefix='backbone')),
    data_preprocessor=dict(
        # The statistics the pretrained ViT weights were trained with
        # (mean = std = 127.5). DL4ALL normalises each dataset with its
        # own: paste the output of tools/analysis_tools/compute_mean_std.py
        # (run on ADP and on the fold's C-NMC train.txt) here.
        domain_norm=dict(
            source=dict(mean=[127.5] * 3, std=[127.5] * 3),
            target=dict(mean=[127.5] * 3, std=[127.5] * 3))),
    head=dict(
        task_heads=dict(
            # ADP Release 1: patches of 100 slides (ADP website).
            source=dict(num_classes=100),
            target=dict(num_classes=2))))

# 384 px inputs (the dataset config's pipelines are 224 px).
img_size = 384
source_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
target_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='Rotate', magnitude_range=(0, 90), magnitude_std='inf',
         prob=1.0, random_negative_prob=0.5, pad_val=0),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        datasets=dict(
            source=dict(pipeline=source_pipeline),
            target=dict(pipeline=target_pipeline))))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# Model selection on the patient-wise validation split; C-NMC is
# imbalanced (about 68% ALL), so on balanced accuracy.
default_hooks = dict(
    checkpoint=dict(save_best='diagnostic/balanced_accuracy'))
