# DL4ALL Self (Genovese et al., IEEE Access 2023), ViT-B/16 at 384 px from
# ImageNet-21k -> 1k weights (the reference: pytorch_pretrained_vit
# 'B_16_imagenet1k', dropout 0.1): everything else as
# dl4all-self_resnet18_in1k-pre_adp2cnmc.py (data, batches, class weights,
# warm-up, optimizer, BatchNorm refresh, deviations).
# Data: configs/_base_/datasets/adp-self_cnmc.py, docs/datasets.md;
# ImageNet weights: docs/pretrained.md.
_base_ = [
    '../_base_/models/dl4all_vit-b16-384.py',
    '../_base_/datasets/adp-self_cnmc.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/paper_runtime.py',
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='checkpoints/vit-base-p16_in21k-pre-3rdparty_ft-'
            '64xb64_in1k-384_20210928-98e8652b.pth',
            prefix='backbone')),
    # ADP Release 1: patches of 100 slides (ADP website).
    head=dict(task_heads=dict(source=dict(num_classes=100))))

# 384 px inputs: the dataset config's pipelines with every Resize at 384.
img_size = 384
source_pipeline, target_pipeline, test_pipeline = [[
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in pipeline
] for pipeline in (_base_.source_pipeline, _base_.target_pipeline,
                   _base_.test_pipeline)]
train_dataloader = dict(
    dataset=dict(
        datasets=dict(
            source=dict(pipeline=source_pipeline),
            target=dict(pipeline=target_pipeline))))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
