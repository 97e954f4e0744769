# DL4ALL Self, ADP -> C-NMC 2019 (docs/datasets.md has the layouts).
# source = ADP with Self labels (class = slide id of the file name), the
#          reference's training part (70 % of each slide's patches, from
#          make_splits.py --protocol adp-reference --adp-level self; the
#          source domain is not evaluated);
# target = C-NMC 2019 training cells, patient-wise split: fold `fold` of
#          tools/dataset_converters/make_splits.py --protocol patient-kfold
#          (no patient in two splits). The reference code's per-image
#          70/20/10 split (splitfolders.ratio) puts cells of one patient in
#          training and test; it is not used here.
#
#   <data_root>/adp/img_res_1um_bicubic/<slide>.png_crop_<n>.png
#   <data_root>/adp/splits/reference_{self,level3,level1}/train.txt
#   <data_root>/cnmc/C-NMC_Leukemia/training_data/fold_{0,1,2}/{all,hem}/...
#   <data_root>/cnmc/splits/fold_<k>/{train,val,test}.txt
#
# Paths from the environment (mmengine's '{{$VAR:default}}'):
#   DL4ALL_DATA_ROOT  folder holding adp/ and cnmc/ (default: data)
#   DL4ALL_FOLD       patient-wise fold to train/validate/test (default: 0)
_base_ = './pipelines/adp_cnmc.py'

data_root = '{{$DL4ALL_DATA_ROOT:data}}'
fold = '{{$DL4ALL_FOLD:0}}'
split_dir = f'splits/fold_{fold}'
# CNMC2019Dataset classes: ('hem', 'all'), 1 = ALL (leukemic blast).

# Self (and Greedy): 8 target images per step and 8 * N_source / N_target
# source images, rounded up when ADP is the larger set, down when it is the
# smaller (the reference's util/computeBatchSize.py, Self/Greedy copy);
# the epoch ends when either domain runs out (epoch_length='shortest', the
# reference's loop; 'main' runs a whole pass over the target, cycling the
# source). 'proportional' (12 images split by size) and 'largest_fixed'
# are the sampler's other rules.
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(
        type='DomainBatchSampler',
        schedule='paired',
        batch_sizes='main_fixed',
        epoch_length='shortest'),
    dataset=dict(
        type='InterleavedDatasetWrapper',
        datasets=dict(
            source=dict(
                type='ADPDataset',
                data_root=f'{data_root}/adp',
                level='self',
                # the reference's training part of ADP: 70 % of each
                # slide's patches (make_splits.py --protocol adp-reference
                # --adp-level self); ann_file='' trains on all of ADP
                ann_file='splits/reference_self/train.txt',
                pipeline=_base_.source_pipeline),
            target=dict(
                type='CNMC2019Dataset',
                data_root=f'{data_root}/cnmc',
                ann_file=f'{split_dir}/train.txt',
                pipeline=_base_.target_pipeline))))

val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CNMC2019Dataset',
        data_root=f'{data_root}/cnmc',
        ann_file=f'{split_dir}/val.txt',
        pipeline=_base_.test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file=f'{split_dir}/test.txt'))
# Binary target, positive class 1 (all): accuracy, balanced accuracy,
# sensitivity, specificity, F1, ROC AUC, confusion matrix.
val_evaluator = [dict(type='DiagnosticMetric', positive_index=1)]
test_evaluator = val_evaluator
