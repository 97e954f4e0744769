# DL4ALL Self, ADP -> ALL-IDB2 (docs/datasets.md has the layouts).
# Everything as in adp-self_cnmc.py (source, pipelines, validation/test on
# the target, evaluation) except the target, its augmentation and the
# batches:
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
_base_ = './adp-self_cnmc.py'

allidb2 = dict(type='ALLIDB2Dataset', data_root=f'{_base_.data_root}/allidb2')
# ALL-IDB2 crops show the smear around the cell: the flips and right-angle
# rotations only (nothing to pad).
target_pipeline = [
    *_base_.source_pipeline[:-1],
    dict(type='Rotate', angle=90.0, prob=0.5),
    dict(type='PackInputs'),
]

# 8 ADP + 8 ALL-IDB2 images per step (ALL-IDB2's ~117 training crops are
# far too few for batches sized by the domains' lengths); one epoch = one
# pass over the target, about 14 steps.
train_dataloader = dict(
    batch_sampler=dict(batch_sizes=None),
    dataset=dict(
        datasets=dict(
            target=dict(
                _delete_=True,
                ann_file=f'{_base_.split_dir}/train.txt',
                pipeline=target_pipeline,
                **allidb2))))

# ALLIDB2Dataset classes: ('normal', 'blast'), 1 = blast: the inherited
# val/test_evaluator (DiagnosticMetric, positive class 1) scores blasts.
val_dataloader = dict(dataset=allidb2)
test_dataloader = dict(dataset=allidb2)
