# Baseline: target-only training on the all_aria low-data target (normal vs
# ALL, 240 training images), ResNet-18 from random init at 96 px, with the
# backbone, input size, augmentation, optimizer and lr curve of
# configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py.
# Budget: 1,200 steps of 32 images (DL4ALL: 8 source + 24 target), the
# target validation split every 150 steps. Recipe (tuned on the validation
# split, docs/results.md "Tuning"; the one every route trains): lr 0.1
# (heads x5) constant for 15 steps, then cosine to 1e-4; the authors' class
# weights N / max(n_c, 10) of the 240 training images (38 normal, 202 ALL;
# tools/compare_transfer.py passes its own data's) in torch's weighted mean
# (WeightedCrossEntropyLoss), as DL4ALL's heads.
_base_ = '../_base_/baselines/pbc2aria_lowdata.py'

max_iters = 1200
val_interval = 150

model = dict(
    data_preprocessor=dict(
        num_classes=2,
        mean=[210.3, 217.88, 239.43],
        std=[37.89, 39.06, 14.95]),
    head=dict(
        num_classes=2,
        loss=dict(
            _delete_=True,
            type='WeightedCrossEntropyLoss',
            class_weight=[240 / 38, 240 / 202])))
optim_wrapper = dict(optimizer=dict(lr=0.1))
train_dataloader = dict(
    dataset=dict(_base_.train_dataloader.dataset.datasets.target,
                 _delete_=True))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
