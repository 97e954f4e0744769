# DL4ALL's optimisation: SGD, momentum 0.9, weight decay 5e-4, lr 2e-4 for
# the backbone and 1e-3 (x5) for the heads; one warm-up epoch with the
# backbone frozen, then 100 epochs; validation every epoch.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=2e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=5.0)}))

param_scheduler = []  # constant learning rates, as in the paper

train_cfg = dict(
    type='DomainTrainLoop',
    strategy='joint',
    warmup_epochs=1,
    max_epochs=101,
    val_interval=1)
val_cfg = dict()
test_cfg = dict()

# 8 source + 8 target images per GPU in the paper.
auto_scale_lr = dict(base_batch_size=16)
