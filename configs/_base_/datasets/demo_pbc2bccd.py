# Embedded demo data (data/demo, built by
# tools/dataset_converters/build_demo_data.py): source = a PBC subset (8 normal
# blood-cell classes, 64 px, CC BY 4.0), target = BCCD white-cell crops (4
# types, MIT), split 60/20/20 stratified into splits/{train,val,test}.txt.
data_root = 'data/demo'
img_size = 64
target_classes = ['Eosinophil', 'Lymphocyte', 'Monocyte', 'Neutrophil']

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

train_dataloader = dict(
    batch_size=8,
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
                data_root=f'{data_root}/bccd_wbc',
                ann_file='splits/train.txt',
                classes=target_classes,
                pipeline=target_pipeline))))

val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=f'{data_root}/bccd_wbc',
        ann_file='splits/val.txt',
        classes=target_classes,
        pipeline=test_pipeline))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='DiagnosticMetric'),
]

test_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=f'{data_root}/bccd_wbc',
        ann_file='splits/test.txt',
        classes=target_classes,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
