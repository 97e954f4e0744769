# DL4ALL Greedy (Genovese et al., IEEE Access 2023), ViT-B/16 at 384 px
# from ImageNet-21k -> 1k weights: dl4all-regular_vit-b16-384_in1k-pre_adp2cnmc.py
# with the Greedy source, batches and step of
# dl4all-greedy_resnet18_in1k-pre_adp2cnmc.py (ADP level 1, 9 classes;
# 8 C-NMC + 8 * N_ADP / N_C-NMC ADP images; rule='reference').
_base_ = './dl4all-regular_vit-b16-384_in1k-pre_adp2cnmc.py'

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
