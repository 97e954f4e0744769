# Baseline: sequential transfer, stage 2 of 2 -- fine-tune on the all_aria
# low-data target from stage 1's backbone (sequential-stage1_resnet18_pbc.py)
# with a new head: target-only_resnet18_pbc2aria-lowdata.py for the other
# 600 of the 1,200 steps of 32 images, validation every 75 steps (8
# validations, as every method of the task). tools/run_protocol.py passes
# stage 1's checkpoint through `model.backbone.init_cfg.checkpoint`.
_base_ = ['./target-only_resnet18_pbc2aria-lowdata.py']

max_iters = 600
val_interval = 75

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/sequential-stage1_resnet18_pbc/'
            'iter_600.pth',
            prefix='backbone.')))

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))
