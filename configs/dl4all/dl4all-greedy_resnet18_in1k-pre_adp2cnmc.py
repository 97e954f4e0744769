# DL4ALL Greedy (Genovese et al., IEEE Access 2023), ResNet-18 from
# ImageNet: dl4all-regular_resnet18_in1k-pre_adp2cnmc.py (multi-label ADP
# source, target, class weights, warm-up, optimizer, BatchNorm refresh,
# deviations) with the reference's Greedy source, batches and step:
# - source = ADP level 1 (ADPDataset(level=1): 9 tissue types),
#   multi-label, MultiLabelSoftMarginLoss weighted by class;
# - ADP's training part: folds 0-7 of the reference's 10 level-1 folds;
# - batches as Self: 8 C-NMC + 8 * N_ADP / N_C-NMC ADP images (rounded up
#   when ADP is larger, down when smaller);
# - each step tries the source batch and keeps that step when the target
#   loss is the lowest of the run so far (then also steps on the target),
#   else undoes it and steps on the target alone (rule='reference';
#   'same_batch' is our variant, docs/method.md).
_base_ = './dl4all-regular_resnet18_in1k-pre_adp2cnmc.py'

train_dataloader = dict(
    batch_sampler=dict(batch_sizes='main_fixed'),
    dataset=dict(
        datasets=dict(
            source=dict(
                level=1,
                # folds 0-7 of the reference's 10 level-1 folds
                ann_file='splits/reference_level1/train.txt'))))
model = dict(head=dict(task_heads=dict(source=dict(num_classes=9))))
train_cfg = dict(step=dict(type='GreedyStep', rule='reference'))
