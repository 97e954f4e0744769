# Embedded demo protocol: target-only fine-tuning vs DL4ALL (joint) on the
# demo data (source: PBC subset, 8 classes; target: BCCD white cells,
# 4 classes), ResNet-18 from random init at 64 px, 2 seeds.
#
#   python tools/run_protocol.py configs/protocols/demo.py \
#       --work-dir work_dirs/protocol_demo
#
# To finish in minutes on a 2-core CPU the runs are shorter than the demo
# configs: every method takes 208 optimizer steps of 16 images (DL4ALL:
# 8 epochs x 26 steps of 8 source + 8 target images, the first epoch heads
# only; target-only: 208 steps of 16 target images), the target validation
# split every 52 steps, the same lr curve (constant for 26 steps, then
# cosine). Model selection: best balanced accuracy on the validation split.
title = 'Demo protocol: PBC subset -> BCCD white cells (ResNet-18, 64 px)'
notes = [
    'Budget: 208 optimizer steps of 16 images per run (DL4ALL: 8 source + '
    '8 target per step); validation every 52 steps; best validation '
    'balanced accuracy tested. A short demonstration, not a benchmark.'
]

# The data, as every protocol gives it (role -> dataset fields, placed by
# each stage's `data_layout`; dl4all_mm/evaluation/protocol_data.py):
# another copy of the demo data is `--cfg-options paths.data_root=DIR`.
paths = dict(data_root='data/demo')
bccd = dict(
    data_root='{data_root}/bccd_wbc',
    classes=['Eosinophil', 'Lymphocyte', 'Monocyte', 'Neutrophil'])
data = dict(
    source=dict(data_root='{data_root}/pbc'),
    target=dict(ann_file='splits/train.txt', **bccd),
    val=dict(ann_file='splits/val.txt', **bccd),
    test=dict(ann_file='splits/test.txt', **bccd),
)

steps = 208
val_every = 52
loader = {
    # one process per run is enough on a small CPU
    'train_dataloader.num_workers': 1,
    'val_dataloader.num_workers': 1,
    'test_dataloader.num_workers': 1,
}

methods = [
    dict(
        name='target-only',
        config='configs/baselines/target-only_resnet18_demo_bccd.py',
        data_layout='single',
        cfg_options={
            'train_cfg.max_iters': steps,
            'train_cfg.val_interval': val_every,
            'default_hooks.checkpoint.interval': val_every,
            **loader
        }),
    dict(
        name='dl4all-joint',
        config='configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py',
        data_layout='dl4all',
        cfg_options={
            'train_cfg.max_epochs': steps // 26,
            'train_cfg.val_interval': val_every // 26,
            **loader
        }),
]
references = ['dl4all-joint']
seeds = [0, 1]
folds = [None]
select_metric = 'diagnostic/balanced_accuracy'
