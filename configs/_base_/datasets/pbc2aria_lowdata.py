# PBC -> all_aria low-data transfer (the cross-dataset benchmark,
# benchmarks/transfer.py): source = PBC (8 normal blood-cell classes, all of
# it), target = the smear-field ALL set as a binary task (0 = normal/Benign,
# 1 = ALL: Early, Pre, Pro), a seeded stratified 240-image training split and
# a 300-image validation split; the rest (or another set) is the test split.
# ResNet-18 input: 96 px. Paths come from the environment (mmengine's
# '{{$VAR:default}}'), which tools/run_protocol.py sets from the protocol's
# `env`:
#   DL4ALL_DATA_ROOT       folder holding pbc/ and all_aria/
#   DL4ALL_ARIA_SPLITS     folder holding train.txt, val.txt, test.txt
#                          (lines `relative/path label`, paths relative to
#                          all_aria/)
#   DL4ALL_ARIA_TEST_ANN   optional: another test annotation file
#   DL4ALL_ARIA_TEST_ROOT  optional: the image folder of that test set
data_root = '{{$DL4ALL_DATA_ROOT:data}}'
split_dir = '{{$DL4ALL_ARIA_SPLITS:data/aria_lowdata}}'
test_ann = '{{$DL4ALL_ARIA_TEST_ANN:default}}'
test_ann = f'{split_dir}/test.txt' if test_ann == 'default' else test_ann
test_root = '{{$DL4ALL_ARIA_TEST_ROOT:default}}'
test_root = f'{data_root}/all_aria' if test_root == 'default' else test_root
img_size = 96
target_classes = ['normal', 'ALL']

source_pipeline = [
    dict(type='LoadImageFromFileRobust'),
    dict(type='Resize', scale=(img_size, img_size)),
    dict(type='RandomFlip', prob=[0.25, 0.25],
         direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
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

# 16 source + 16 target images per step.
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(
        type='DomainBatchSampler', schedule='paired', epoch_length='main'),
    dataset=dict(
        type='InterleavedDatasetWrapper',
        datasets=dict(
            source=dict(
                type='CustomDataset',
                data_root=f'{data_root}/pbc',
                pipeline=source_pipeline),
            target=dict(
                type='CustomDataset',
                data_root=f'{data_root}/all_aria',
                ann_file=f'{split_dir}/train.txt',
                classes=target_classes,
                pipeline=target_pipeline))))

val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=f'{data_root}/all_aria',
        ann_file=f'{split_dir}/val.txt',
        classes=target_classes,
        pipeline=test_pipeline))
# Binary target, positive class 1 (ALL): accuracy, balanced accuracy,
# sensitivity, specificity, F1, macro-F1, ROC AUC, confusion matrix.
val_evaluator = [dict(type='DiagnosticMetric', positive_index=1)]

test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=test_root,
        ann_file=test_ann,
        classes=target_classes,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
