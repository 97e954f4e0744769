# Baseline: target-only fine-tuning on the embedded demo target (BCCD white
# cells, 4 classes), ResNet-18 from random init at 64 px: the backbone, init,
# input size, augmentation, optimizer and learning-rate curve of
# configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py.
# Budget, identical for every demo method: 780 optimizer steps of 16 images
# (DL4ALL: 30 epochs x 26 steps of 8 source + 8 target images), validation on
# the target val split every 130 steps (DL4ALL: every 5 epochs); lr 0.05
# (heads x5) constant for the first 26 steps (DL4ALL's warm-up epoch), then
# cosine to 1e-4.
_base_ = '../_base_/baselines/demo_pbc2bccd.py'

max_iters = 780
val_interval = 130

model = dict(
    data_preprocessor=dict(
        num_classes=4,
        # BCCD statistics, as DL4ALL's target normalisation.
        mean=[177.66, 162.38, 194.12],
        std=[26.57, 37.74, 16.38]),
    head=dict(num_classes=4))
# The target domain alone (no domains, so no per-domain BatchNorm
# re-estimation).
train_dataloader = dict(
    dataset=dict(_base_.train_dataloader.dataset.datasets.target,
                 _delete_=True))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
