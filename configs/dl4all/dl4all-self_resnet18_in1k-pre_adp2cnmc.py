# DL4ALL Self (Genovese et al., IEEE Access 2023), ResNet-18 from ImageNet:
# source ADP with Self labels (one class per slide), target C-NMC 2019 (hem
# vs all), patient-wise fold 0; paired schedule (8 ADP + 4 C-NMC images
# per step, proportional), joint strategy (0.5/0.5 loss weights), SGD lr
# 2e-4 (heads x5), one warm-up epoch on the heads then 100 epochs, BN
# re-estimated on 100 target batches before each validation.
# Data: configs/_base_/datasets/adp-self_cnmc.py, docs/datasets.md;
# ImageNet weights: docs/pretrained.md.
_base_ = [
    '../_base_/models/dl4all_resnet18.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet18_8xb32_in1k_20210831-fbbb1da6.pth',
            prefix='backbone')),
    data_preprocessor=dict(
        # ImageNet statistics (those of the pretrained weights). DL4ALL
        # normalises each dataset with its own: paste the output of
        # tools/analysis_tools/compute_mean_std.py (run on ADP and on the
        # fold's C-NMC train.txt) here.
        domain_norm=dict(
            source=dict(mean=[123.675, 116.28, 103.53],
                        std=[58.395, 57.12, 57.375]),
            target=dict(mean=[123.675, 116.28, 103.53],
                        std=[58.395, 57.12, 57.375]))),
    head=dict(
        task_heads=dict(
            # ADP Release 1: patches of 100 slides (ADP website).
            source=dict(num_classes=100),
            target=dict(num_classes=2))))

# Model selection on the patient-wise validation split; C-NMC is
# imbalanced (about 68% ALL), so on balanced accuracy.
default_hooks = dict(
    checkpoint=dict(save_best='diagnostic/balanced_accuracy'))
