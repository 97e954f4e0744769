# DL4ALL Self, ResNet-18, ADP -> C-NMC 2019, with every option that turns
# the paper config's "ours" rows of docs/method.md back into what the
# authors' reference code (AngeloUNIMI/DL4ALL, 1b) does. For reproduction
# only: the C-NMC split below puts cells of one patient in training and
# test (leakage).
_base_ = ['../dl4all-self_resnet18_in1k-pre_adp2cnmc.py']

data_root = '{{$DL4ALL_DATA_ROOT:data}}'
# make_splits.py --dataset cnmc --protocol cnmc-reference --out-dir
# <data_root>/cnmc/splits/reference: per class 70/20/10 of the images
# (split-folders' ratio, seed 42), as every reference main script.
cnmc_split = 'splits/reference'
adp_split = 'splits/reference_self'

# torchvision's ImageNet ResNet-18, as resnet18MTL(pretrained=True) loads
# it: https://download.pytorch.org/models/resnet18-5c106cde.pth, saved to
# checkpoints/ beforehand (nothing downloads at run time). Its keys are
# those of mmpretrain's ResNet backbone, so no prefix.
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='checkpoints/resnet18-5c106cde.pth')))
# Scalar normalisation (one grey-level mean/std per dataset, train + val,
# after the centre crop, 0-255 scale): the pooled line of
#   tools/analysis_tools/compute_mean_std.py --data-root <root> \
#       --ann-file <split>/train.txt <split>/val.txt --center-crop N \
#       --resize 224
# pasted as model.data_preprocessor.domain_norm.<domain> (mean=[m] * 3,
# std=[s] * 3). It depends on the data, so it is not set here.

# Centre crops before the resize: ADP 272 px, C-NMC 450 px (both datasets'
# full image size, so a no-op on the real images).
source_pipeline = [
    _base_.source_pipeline[0],
    dict(type='CenterCrop', crop_size=272),
    *_base_.source_pipeline[1:],
]
target_pipeline = [
    _base_.target_pipeline[0],
    dict(type='CenterCrop', crop_size=450),
    *_base_.target_pipeline[1:],
]
test_pipeline = [
    _base_.test_pipeline[0],
    dict(type='CenterCrop', crop_size=450),
    *_base_.test_pipeline[1:],
]
train_dataloader = dict(
    dataset=dict(
        datasets=dict(
            source=dict(pipeline=source_pipeline),
            target=dict(
                ann_file=f'{cnmc_split}/train.txt',
                pipeline=target_pipeline))))
# Validation and test loaders as the reference's: shuffled batches of 8,
# the last partial batch dropped.
val_dataloader = dict(
    batch_size=8,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(ann_file=f'{cnmc_split}/val.txt', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(ann_file=f'{cnmc_split}/test.txt', pipeline=test_pipeline))

# The per-iteration BatchNorm refresh with the target batch; the warm-up's
# idle head moved by momentum and weight decay (torch < 2.0).
train_cfg = dict(
    strategy=None,
    greedy_rule=None,
    warmup_mode=None,
    step=dict(type='JointStep', refresh_bn='target'),
    warmup=dict(type='ReferenceWarmup', idle_head='reference'))

# Class weights counted on train + val (computeClassWeights); the leakage
# guard reports the per-image split's shared patients instead of stopping;
# the BatchNorm re-estimation stops at the end of the target training set
# (pretrainBN) rather than cycling it.
custom_hooks = [
    h for h in _base_.custom_hooks if h['type'] not in (
        'DomainClassWeightHook', 'LeakageGuardHook', 'DomainBNRecalibHook')
] + [
    dict(type='LeakageGuardHook', allow_leakage=True),
    dict(type='DomainBNRecalibHook', mode='momentum', num_batches=101,
         batch_size=8, cycle=False),
    dict(
        type='DomainClassWeightHook',
        extra_datasets=dict(
            source=[
                dict(
                    type='ADPDataset',
                    data_root=f'{data_root}/adp',
                    level='self',
                    ann_file=f'{adp_split}/val.txt')
            ],
            target='val')),
]
# Model selection on plain validation accuracy.
default_hooks = dict(checkpoint=dict(save_best='diagnostic/accuracy'))
