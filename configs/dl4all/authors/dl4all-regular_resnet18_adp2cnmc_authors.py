# DL4ALL Regular, ResNet-18, ADP -> C-NMC 2019, with every option that
# restores the authors' reference code (1a): the Self authors config
# (dl4all-self_resnet18_adp2cnmc_authors.py) with the paper Regular
# config's source (ADP level 3, multi-label, 38 classes, folds 0-7 of the
# reference's 10) and 8 + 8 images a step. For reproduction only.
_base_ = ['./dl4all-self_resnet18_adp2cnmc_authors.py']

data_root = '{{$DL4ALL_DATA_ROOT:data}}'
adp_split = 'splits/reference_level3'
adp_level = 3

train_dataloader = dict(
    batch_sampler=dict(batch_sizes=None),
    dataset=dict(
        datasets=dict(
            source=dict(level=adp_level,
                        ann_file=f'{adp_split}/train.txt'))))
model = dict(
    head=dict(
        task_heads=dict(
            source=dict(
                type='MultiLabelLinearClsHead',
                num_classes=38,
                loss=dict(type='MultiLabelSoftMarginLoss')))))
# train + val class weights of the level-3 source
custom_hooks = [
    h for h in _base_.custom_hooks if h['type'] != 'DomainClassWeightHook'
] + [
    dict(
        type='DomainClassWeightHook',
        extra_datasets=dict(
            source=[
                dict(
                    type='ADPDataset',
                    data_root=f'{data_root}/adp',
                    level=adp_level,
                    ann_file=f'{adp_split}/val.txt')
            ],
            target='val')),
]
