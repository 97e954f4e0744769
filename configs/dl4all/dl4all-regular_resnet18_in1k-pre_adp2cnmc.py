# DL4ALL Regular (Genovese et al., IEEE Access 2023), ResNet-18 from
# ImageNet: dl4all-self_resnet18_in1k-pre_adp2cnmc.py (target, pipelines,
# class weights, warm-up, optimizer, BatchNorm refresh, deviations) with the
# reference's Regular source and batches:
# - source = ADP with its level-3 tissue-type labels (ADPDataset(level=3):
#   the 38 classes of the reference's classes/classesADP.py), multi-label,
#   MultiLabelSoftMarginLoss weighted by class from the training labels;
# - ADP's training part: folds 0-7 of the reference's 10 level-3 folds;
# - 8 ADP + 8 C-NMC images per step (the reference's uniformBatchSize);
#   the epoch ends when either runs out.
_base_ = './dl4all-self_resnet18_in1k-pre_adp2cnmc.py'

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
