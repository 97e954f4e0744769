# The baselines on the PBC -> all_aria low-data task: resnet18_iter.py with
# that task's dataset config (configs/_base_/datasets/pbc2aria_lowdata.py).
# As in demo_pbc2bccd.py here, a plain infinite sampler over the domain(s)
# each config picks; batches of 32 images (DL4ALL: 16 source + 16 target),
# lr constant for the 15 steps of DL4ALL's warm-up epoch, then cosine to
# 1e-4; the best validation balanced accuracy kept.
_base_ = ['./resnet18_iter.py', '../datasets/pbc2aria_lowdata.py']

train_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.train_dataloader.dataset)
param_scheduler = [
    # `end` defaults to train_cfg.max_iters
    dict(type='CosineAnnealingLR', by_epoch=False, begin=15, eta_min=1e-4)
]
default_hooks = dict(
    checkpoint=dict(save_best='diagnostic/balanced_accuracy'))
