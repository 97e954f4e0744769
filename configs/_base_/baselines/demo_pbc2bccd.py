# The baselines on the embedded demo data: resnet18_iter.py with the demo's
# dataset config. Training batches of 16 images (DL4ALL: 8 source + 8
# target) from a plain infinite sampler; each config picks the domain(s)
# of the interleaved training set it trains on. lr constant for the 26
# steps of DL4ALL's warm-up epoch, then cosine to 1e-4.
_base_ = ['./resnet18_iter.py', '../datasets/demo_pbc2bccd.py']

train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.train_dataloader.dataset)
param_scheduler = [
    # `end` defaults to train_cfg.max_iters
    dict(type='CosineAnnealingLR', by_epoch=False, begin=26, eta_min=1e-4)
]
