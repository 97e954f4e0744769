# DL4ALL Greedy, ResNet-18, ADP -> C-NMC 2019, with every option that
# restores the authors' reference code (1c): the Regular authors config
# with the paper Greedy config's source (ADP level 1, 9 classes, folds 0-7
# of the reference's 10), batches (8 C-NMC + the ceil/floor ADP share) and
# step (GreedyStep, the reference rule, which does its own BatchNorm
# refreshes). For reproduction only.
_base_ = ['./dl4all-regular_resnet18_adp2cnmc_authors.py']

data_root = '{{$DL4ALL_DATA_ROOT:data}}'
adp_split = 'splits/reference_level1'
adp_level = 1

train_dataloader = dict(
    batch_sampler=dict(batch_sizes='main_fixed'),
    dataset=dict(
        datasets=dict(
            source=dict(level=adp_level,
                        ann_file=f'{adp_split}/train.txt'))))
model = dict(head=dict(task_heads=dict(source=dict(num_classes=9))))
train_cfg = dict(step=dict(_delete_=True, type='GreedyStep',
                           rule='reference'))
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
