# DL4ALL's optimisation from random init (the measured recipe of the demo
# and of the PBC -> all_aria task): the paper's lr (2e-4 backbone / 1e-3
# heads) is far too small for a short run from scratch, so SGD at 0.05
# (heads x5) with cosine decay to 1e-4 after the warm-up epoch. Each config
# sets train_cfg.max_epochs and val_interval.
_base_ = './dl4all_sgd_100e.py'

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, eta_min=1e-4,
         convert_to_iter_based=True)
]
# Our warm-up: one paired epoch, backbone frozen.
train_cfg = dict(warmup=dict(type='FrozenBackboneWarmup'), warmup_epochs=1)
