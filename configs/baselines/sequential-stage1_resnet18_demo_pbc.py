# Baseline: sequential transfer, stage 1 of 2 -- train on the source only
# (the demo's PBC subset, 8 classes, all 800 images as DL4ALL uses them),
# ResNet-18 from random init at 64 px. No validation and no model selection:
# stage 2 (sequential-stage2_resnet18_demo_bccd.py) starts from this stage's
# last checkpoint, backbone only (the source head is left behind).
# Budget: 390 of the 780 steps of 16 images (stage 2 takes the other 390).
_base_ = '../_base_/baselines/demo_pbc2bccd.py'

max_iters = 390

model = dict(
    data_preprocessor=dict(
        num_classes=8,
        # PBC statistics, as DL4ALL's source normalisation.
        mean=[222.53, 190.99, 183.79],
        std=[40.75, 45.77, 24.11]),
    head=dict(num_classes=8))
train_dataloader = dict(
    dataset=dict(_base_.train_dataloader.dataset.datasets.source,
                 _delete_=True))
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_best=None))
