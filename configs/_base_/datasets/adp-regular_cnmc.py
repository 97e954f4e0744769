# DL4ALL Regular, ADP -> C-NMC 2019 (docs/datasets.md has the layouts).
# source = ADP with its level-3 tissue-type labels (multi-label, the 33 HTT
#          codes of the "L3+" set of ADP's htt_def.py for Release1-Flat;
#          all patches, the source domain is not evaluated);
# target = C-NMC 2019 training cells, patient-wise split: fold `fold` of
#          tools/dataset_converters/make_splits.py --protocol patient-kfold.
#
#   <data_root>/adp/img_res_1um_bicubic/<slide>.png_crop_<n>.png
#   <data_root>/adp/ADP_EncodedLabels_Release1_Flat.csv
#   <data_root>/cnmc/C-NMC_Leukemia/training_data/fold_{0,1,2}/{all,hem}/...
#   <data_root>/cnmc/splits/fold_<k>/{train,val,test}.txt
#
# Paths from the environment (mmengine's '{{$VAR:default}}'):
#   DL4ALL_DATA_ROOT  folder holding adp/ and cnmc/ (default: data)
#   DL4ALL_FOLD       patient-wise fold to train/validate/test (default: 0)
data_root = '{{$DL4ALL_DATA_ROOT:data}}'
fold = '{{$DL4ALL_FOLD:0}}'
split_dir = f'splits/fold_{fold}'
# CNMC2019Dataset classes: ('hem', 'all'), 1 = ALL (leukemic blast).
img_size = 224
# Explicit CSV columns, so that the class count (33) does not depend on
# which extra columns a copy of the CSV holds.
adp_classes = [
    'E', 'E.M', 'E.M.S', 'E.M.C', 'E.T', 'E.T.S', 'E.T.C', 'C', 'C.D', 'C.D.I',
    'C.D.R', 'C.L', 'H', 'H.E', 'H.K', 'H.Y', 'S', 'S.M', 'S.C', 'S.R', 'A',
    'A.W', 'A.M', 'M', 'N', 'N.P', 'N.R', 'N.G', 'N.G.M', 'G', 'G.O', 'G.N',
    'T'
]

source_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
# C-NMC cells are segmented on black: flips and a uniform rotation in
# [-90, 90] degrees padded with black (the reference code's augmentation).
target_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='Rotate', magnitude_range=(0, 90), magnitude_std='inf',
         prob=1.0, random_negative_prob=0.5, pad_val=0),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='PackInputs'),
]

# Regular: 8 source + 8 target images per step (the reference code's
# uniformBatchSize); one epoch = one pass over the target.
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
                level=3,
                classes=adp_classes,
                pipeline=source_pipeline),
            target=dict(
                type='CNMC2019Dataset',
                data_root=f'{data_root}/cnmc',
                ann_file=f'{split_dir}/train.txt',
                pipeline=target_pipeline))))

val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CNMC2019Dataset',
        data_root=f'{data_root}/cnmc',
        ann_file=f'{split_dir}/val.txt',
        pipeline=test_pipeline))
# Binary target, positive class 1 (all): accuracy, balanced accuracy,
# sensitivity, specificity, F1, ROC AUC, confusion matrix.
val_evaluator = [dict(type='DiagnosticMetric', positive_index=1)]

test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CNMC2019Dataset',
        data_root=f'{data_root}/cnmc',
        ann_file=f'{split_dir}/test.txt',
        pipeline=test_pipeline))
test_evaluator = val_evaluator
