# DL4ALL (paired schedule, joint strategy) on the embedded demo data:
# source PBC (8 classes) -> target BCCD white cells (4 classes), from the
# offline ImageNet weights of EfficientNet-Lite0 (nothing is downloaded) at
# the input size of ../_base_/datasets/demo_pbc2bccd_lite0.py (96 px).
# `make demo` runs this config and, with the same backbone, init, input
# size, augmentation, optimizer and budget,
# configs/baselines/target-only_efficientnet-lite0_demo_bccd.py.
# Budget: 8 epochs x 26 steps of 8 source + 8 target images = 208 optimizer
# steps of 16 images; no warm-up (both methods step the whole network from
# the first step); validation (BatchNorm re-estimated on 10 target batches
# first) every epoch, model selected on the target validation balanced
# accuracy. SGD lr 0.01 (heads x5), cosine to 1e-4 over the run.
_base_ = [
    '../_base_/models/dl4all_efficientnet-lite0.py',
    '../_base_/datasets/demo_pbc2bccd_lite0.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(
        task_heads=dict(
            source=dict(num_classes=8), target=dict(num_classes=4))))

optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, eta_min=1e-4,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=8, val_interval=1, warmup_epochs=0)
custom_hooks = [
    dict(h, num_batches=10) if h['type'] == 'DomainBNRecalibHook' else h
    for h in _base_.custom_hooks
]
# Deterministic (`make demo` prints the same numbers every time on the same
# machine and thread count, tools/run_demo.py --threads): one seed for model
# init, samplers, augmentation and loader workers; deterministic algorithms.
randomness = dict(seed=0, deterministic=True)
