# The embedded demo data (demo_pbc2bccd.py: loaders, splits, augmentation)
# at the input size of the pretrained EfficientNet-Lite0 demo. `img_size`
# is set here only: every Resize of the source, target and val/test
# pipelines takes it (BCCD crops are stored at 96 px, PBC at 64 px).
# Images load in the main process: on a 2-core CPU, worker processes
# compete with training for the cores, and `make demo` trains two runners
# one after the other in one process, where workers a finished run leaves
# with prefetched batches wait 5 s each to be shut down.
_base_ = './demo_pbc2bccd.py'

img_size = 96

source_pipeline, target_pipeline, test_pipeline = [[
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in pipeline
] for pipeline in (_base_.source_pipeline, _base_.target_pipeline,
                   _base_.test_pipeline)]

no_workers = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    **no_workers,
    dataset=dict(
        datasets=dict(
            source=dict(pipeline=source_pipeline),
            target=dict(pipeline=target_pipeline))))
val_dataloader = dict(**no_workers, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(**no_workers, dataset=dict(pipeline=test_pipeline))
