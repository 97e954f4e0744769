# DL4ALL Regular (Genovese et al., IEEE Access 2023), ViT-B/16 at 384 px
# from ImageNet-21k -> 1k weights: dl4all-self_vit-b16-384_in1k-pre_adp2cnmc.py
# with the Regular source and batches of
# dl4all-regular_resnet18_in1k-pre_adp2cnmc.py (ADP level 3, 38 classes,
# multi-label, weighted MultiLabelSoftMarginLoss; 8 + 8 images per step).
_base_ = './dl4all-self_vit-b16-384_in1k-pre_adp2cnmc.py'

train_dataloader = dict(
    batch_sampler=dict(batch_sizes=None),
    dataset=dict(
        datasets=dict(
            source=dict(
                level=3,
                # the reference's training part: folds 0-7 of its 10
                # level-3 folds (make_splits.py --protocol adp-reference)
                ann_file='splits/reference_level3/train.txt'))))
model = dict(
    head=dict(
        task_heads=dict(
            source=dict(
                type='MultiLabelLinearClsHead',
                num_classes=38,
                loss=dict(type='MultiLabelSoftMarginLoss')))))
