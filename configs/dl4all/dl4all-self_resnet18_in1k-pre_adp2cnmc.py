# DL4ALL Self (Genovese et al., IEEE Access 2023), ResNet-18 from ImageNet:
# source ADP with Self labels (one class per slide), target C-NMC 2019 (hem
# vs all), patient-wise fold 0. As the authors' reference code runs it:
# - ADP's training part: 70 % of each slide's patches (the reference's
#   splitfolders split);
# - paired schedule: 8 C-NMC + 8 * N_ADP / N_C-NMC ADP images per step
#   (rounded up when ADP is larger, down when smaller), the epoch ending
#   when either runs out; joint strategy, loss 0.5 * L_source +
#   0.5 * L_target, head gradients rescaled by the batch-size ratio;
# - cross-entropy weighted by class (DomainClassWeightHook; weights from the
#   training labels only -- the reference also counts validation labels);
# - warm-up: one pass over ADP training the source head, one over C-NMC
#   training the target head (lr 1e-3), then a fresh optimizer: SGD lr 2e-4
#   (heads x5), momentum 0.9, weight decay 5e-4, 100 epochs;
# - before each validation, BatchNorm statistics refreshed by 101 target
#   training batches of 8 (momentum update, no reset).
# Our refinements, off here: train_cfg.warmup=dict(type='FrozenBackboneWarmup')
# (a paired epoch with the backbone frozen), DomainBNRecalibHook
# mode='cumulative'. Knowing deviations: patient-wise splits, model selection
# on the validation balanced accuracy (the reference: accuracy), ImageNet
# normalisation (the reference: each dataset's own grey-level mean/std).
# Data: configs/_base_/datasets/adp-self_cnmc.py, docs/datasets.md;
# ImageNet weights: docs/pretrained.md; the method: docs/method.md.
_base_ = [
    '../_base_/models/dl4all_resnet18.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/paper_runtime.py',
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet18_8xb32_in1k_20210831-fbbb1da6.pth',
            prefix='backbone')),
    # ADP Release 1: patches of 100 slides (ADP website).
    head=dict(task_heads=dict(source=dict(num_classes=100))))
