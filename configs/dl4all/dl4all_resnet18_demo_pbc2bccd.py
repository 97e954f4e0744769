# DL4ALL (paired schedule, joint strategy) on the embedded demo data:
# source PBC (8 classes) -> target BCCD white cells (4 classes), ResNet-18 from
# random init at 64 px, 30 epochs (the first trains the heads only),
# validation every 5. `make demo` runs this config.
_base_ = [
    '../_base_/models/dl4all_resnet18.py',
    '../_base_/datasets/demo_pbc2bccd.py',
    '../_base_/schedules/dl4all_sgd_cosine_scratch.py',
    '../_base_/scratch_runtime.py',
]

model = dict(
    data_preprocessor=dict(
        domain_norm=dict(
            source=dict(mean=[222.53, 190.99, 183.79],
                        std=[40.75, 45.77, 24.11]),
            target=dict(mean=[177.66, 162.38, 194.12],
                        std=[26.57, 37.74, 16.38]))),
    head=dict(
        task_heads=dict(
            source=dict(num_classes=8), target=dict(num_classes=4))))

train_cfg = dict(max_epochs=30, val_interval=5)
