# DL4ALL Regular (joint strategy) on the PBC -> all_aria low-data task:
# ResNet-18 from random init at 96 px, source PBC (8 classes), target
# all_aria as normal vs ALL (240 training images), with the task's DL4ALL
# recipe (configs/_base_/recipes/dl4all_pbc2aria_lowdata.py: 1,200 steps of
# 8 source + 24 target images, loss weights 0.3 / 0.7, class weights,
# reference warm-up, momentum BN re-estimation); the best validation
# balanced accuracy is kept.
# Data paths: see configs/_base_/datasets/pbc2aria_lowdata.py.
_base_ = ['../_base_/recipes/dl4all_pbc2aria_lowdata.py']

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
train_cfg = dict(step=dict(type='JointStep'))
