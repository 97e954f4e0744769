# DL4ALL Regular (paired schedule, joint strategy) on the PBC -> all_aria
# low-data task of benchmarks/transfer.py: ResNet-18 from random init at
# 96 px, source PBC (8 classes), target all_aria as normal vs ALL (240
# training images); the optimizer, lr curve, warm-up and BatchNorm
# re-estimation of the demo (dl4all_resnet18_demo_pbc2bccd.py).
# Budget: 80 epochs x 15 steps = 1,200 steps of 16 source + 16 target images
# (the first epoch trains the heads only); validation every 10 epochs (150
# steps); the best validation balanced accuracy is kept.
# Data paths: see configs/_base_/datasets/pbc2aria_lowdata.py.
_base_ = [
    '../_base_/models/dl4all_resnet18.py',
    '../_base_/datasets/pbc2aria_lowdata.py',
    '../_base_/schedules/dl4all_sgd_cosine_scratch.py',
    '../_base_/scratch_runtime.py',
]

model = dict(
    data_preprocessor=dict(
        domain_norm=dict(
            # PBC: 3,000 random images; all_aria: the whole set (label-free
            # pixel statistics), both at 96 px, RGB.
            source=dict(mean=[222.71, 190.84, 183.84],
                        std=[40.14, 46.16, 21.35]),
            target=dict(mean=[210.3, 217.88, 239.43],
                        std=[37.89, 39.06, 14.95]))),
    head=dict(
        task_heads=dict(
            source=dict(num_classes=8), target=dict(num_classes=2))))

train_cfg = dict(max_epochs=80, val_interval=10)
default_hooks = dict(
    checkpoint=dict(save_best='diagnostic/balanced_accuracy'))
