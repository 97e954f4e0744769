# What every baseline (configs/baselines) shares: mmpretrain's ResNet-18
# (ImageClassifier, one ClsDataPreprocessor for all its data, RGB) from
# random init, DL4ALL's optimizer (SGD, heads x5) at the from-scratch lr of
# the DL4ALL configs they compare with (0.05), an iteration-based loop and
# checkpoints by iteration. demo_pbc2bccd.py and pbc2aria_lowdata.py here
# add each task's data and lr curve; each config its budget (max_iters,
# val_interval).
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../schedules/dl4all_sgd_100e.py',
    '../default_runtime.py',
]

model = dict(
    data_preprocessor=dict(type='ClsDataPreprocessor', to_rgb=True),
    head=dict(topk=(1, )))
optim_wrapper = dict(optimizer=dict(lr=0.05))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop')
default_hooks = dict(checkpoint=dict(by_epoch=False))
log_processor = dict(by_epoch=False)
# The training-data checks of default_runtime.py that apply to a plain
# (single-domain) dataset: train vs val/test leakage, NaN/inf loss stop.
custom_hooks = [dict(type='LeakageGuardHook'), dict(type='FiniteLossHook')]
