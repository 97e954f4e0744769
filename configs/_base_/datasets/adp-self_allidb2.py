# DL4ALL Self, ADP -> ALL-IDB2 (docs/datasets.md has the layouts).
# source = ADP with Self labels (class = slide id of the file name, all
#          patches; the source domain is not evaluated);
# target = ALL-IDB2 single-cell crops (ImNNN_<1 blast|0 normal>.tif), split
#          by the repeated protocol of the authors' earlier ALL-IDB work:
#          random stratified 50/50 train/test, repeated (fold k = repeat k)
#          with 10% of each training half held out for validation:
#
#   python tools/dataset_converters/make_splits.py --dataset allidb2 \
#       --data-root data/allidb2 --out-dir data/allidb2/splits \
#       --protocol holdout --folds 10 --test-ratio 0.5 --val-ratio 0.1
#
#   <data_root>/adp/img_res_1um_bicubic/<slide>.png_crop_<n>.png
#   <data_root>/allidb2/ALL_IDB2/img/ImNNN_L.tif
#   <data_root>/allidb2/splits/fold_<k>/{train,val,test}.txt
#
# ALL-IDB has no patient ids, so these splits are per image (as in that
# work). Paths from the environment (mmengine's '{{$VAR:default}}'):
#   DL4ALL_DATA_ROOT  folder holding adp/ and allidb2/ (default: data)
#   DL4ALL_FOLD       repeat to train/validate/test (default: 0)
data_root = '{{$DL4ALL_DATA_ROOT:data}}'
fold = '{{$DL4ALL_FOLD:0}}'
split_dir = f'splits/fold_{fold}'
# ALLIDB2Dataset classes: ('normal', 'blast'), 1 = blast.
img_size = 224

source_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
# ALL-IDB2 crops show the smear around the cell: flips and right-angle
# rotations only (nothing to pad).
target_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='Rotate', angle=90.0, prob=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]

# 8 ADP + 8 ALL-IDB2 images per step (ALL-IDB2's ~117 training crops are
# far too few for proportional batches); one epoch = one pass over the
# target, about 14 steps.
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(
        type='DomainBatchSampler', schedule='paired', epoch_length='main'),
    dataset=dict(
        type='InterleavedDatasetWrapper',
        datasets=dict(
            source=dict(
                type='ADPDataset',
                data_root=f'{data_root}/adp',
                level='self',
                pipeline=source_pipeline),
            target=dict(
                type='ALLIDB2Dataset',
                data_root=f'{data_root}/allidb2',
                ann_file=f'{split_dir}/train.txt',
                pipeline=target_pipeline))))

val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ALLIDB2Dataset',
        data_root=f'{data_root}/allidb2',
        ann_file=f'{split_dir}/val.txt',
        pipeline=test_pipeline))
# Binary target, positive class 1 (blast): accuracy, balanced accuracy,
# sensitivity, specificity, F1, ROC AUC, confusion matrix.
val_evaluator = [dict(type='DiagnosticMetric', positive_index=1)]

test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ALLIDB2Dataset',
        data_root=f'{data_root}/allidb2',
        ann_file=f'{split_dir}/test.txt',
        pipeline=test_pipeline))
test_evaluator = val_evaluator
