# Baseline: sequential transfer, stage 2 of 2 -- fine-tune on the target
# (BCCD white cells) from the backbone of stage 1
# (sequential-stage1_resnet18_demo_pbc.py); a new, randomly initialised head.
# Same as target-only_resnet18_demo_bccd.py apart from the initial backbone
# and the budget: the other 390 of the 780 steps of 16 images, validation
# every 65 steps (6 validations, as every demo method).
# tools/run_protocol.py passes stage 1's checkpoint through
# `model.backbone.init_cfg.checkpoint`; by hand, train stage 1 with its
# default work dir first.
_base_ = ['./target-only_resnet18_demo_bccd.py']

max_iters = 390
val_interval = 65

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/sequential-stage1_resnet18_demo_pbc/'
            'iter_390.pth',
            prefix='backbone.')))

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
