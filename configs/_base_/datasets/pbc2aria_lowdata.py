# PBC -> all_aria low-data transfer (the cross-dataset benchmark,
# configs/protocols/pbc_to_aria_lowdata.py): source = PBC (8 normal
# blood-cell classes, all of it), target = the smear-field ALL set as a
# binary task (0 = normal/Benign, 1 = ALL: Early, Pre, Pro), a seeded
# stratified 240-image training split and a 300-image validation split;
# the rest (or another set) is the test split.
# The demo's dataset config (demo_pbc2bccd.py: loaders, pipelines) with
# other data, 96 px inputs and larger batches. The paths below are defaults:
# a protocol's `data` (configs/protocols/pbc_to_aria_lowdata.py,
# tools/compare_transfer.py) replaces them through
# dl4all_mm/evaluation/protocol_data.py, the one way data reaches these
# configs (with tools/train.py: --cfg-options on the same keys).
#   data/                  holds pbc/ and all_aria/
#   data/aria_lowdata/     holds train.txt, val.txt, test.txt (lines
#                          `relative/path label`, paths relative to
#                          all_aria/)
_base_ = './demo_pbc2bccd.py'

data_root = 'data'
split_dir = 'data/aria_lowdata'
test_ann = f'{split_dir}/test.txt'
test_root = f'{data_root}/all_aria'
target_classes = ['normal', 'ALL']

# 96 px: the demo's pipelines with every Resize at 96.
img_size = 96
source_pipeline, target_pipeline, test_pipeline = [[
    dict(t, scale=(img_size, img_size)) if t['type'] == 'Resize' else t
    for t in pipeline
] for pipeline in (_base_.source_pipeline, _base_.target_pipeline,
                   _base_.test_pipeline)]
aria = dict(data_root=f'{data_root}/all_aria', classes=target_classes)

# 16 source + 16 target images per step.
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        datasets=dict(
            source=dict(
                data_root=f'{data_root}/pbc', pipeline=source_pipeline),
            target=dict(
                ann_file=f'{split_dir}/train.txt',
                pipeline=target_pipeline,
                **aria))))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(
        ann_file=f'{split_dir}/val.txt', pipeline=test_pipeline, **aria))
test_dataloader = dict(
    batch_size=64,
    dataset=dict(
        data_root=test_root,
        ann_file=test_ann,
        classes=target_classes,
        pipeline=test_pipeline))
# Binary target, positive class 1 (ALL): accuracy, balanced accuracy,
# sensitivity, specificity, F1, macro-F1, ROC AUC, confusion matrix.
val_evaluator = [dict(type='DiagnosticMetric', positive_index=1)]
test_evaluator = val_evaluator
