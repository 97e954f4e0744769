# The headline DL4ALL run: ResNet-50 from ImageNet, source ADP with Self
# labels (one class per slide: no manual source labels), target ALL-IDB2
# (normal vs blast single-cell crops); 8 ADP + 8 ALL-IDB2 images per step;
# otherwise DL4ALL Self as dl4all-self_resnet18_in1k-pre_adp2cnmc.py runs
# it (joint strategy, class weights, reference warm-up, SGD lr 2e-4 with
# heads x5, 100 epochs, BatchNorm refreshed on 101 target batches of 8
# before each validation).
#
#   python tools/train.py configs/dl4all/resnet50_allidb.py
#
# Protocol (the authors' earlier ALL-IDB work): random stratified 50/50
# train/test splits of ALL-IDB2, repeated; 10% of each training half is
# held out for model selection (validation balanced accuracy). Fold k of
#   python tools/dataset_converters/make_splits.py --dataset allidb2 \
#       --data-root data/allidb2 --out-dir data/allidb2/splits \
#       --protocol holdout --folds 10 --test-ratio 0.5 --val-ratio 0.1
# is repeat k; train every repeat (DL4ALL_FOLD=0..9) and report the mean
# and standard deviation of the test scores.
#
# Data layout under data/ (docs/datasets.md: download, licences):
#   data/adp/img_res_1um_bicubic/<slide>.png_crop_<n>.png
#   data/adp/ADP_EncodedLabels_Release1_Flat.csv   (not needed for Self)
#   data/allidb2/ALL_IDB2/img/ImNNN_<0|1>.tif
#   data/allidb2/splits/fold_<k>/{train,val,test}.txt
# ImageNet weights: checkpoints/resnet50_8xb32_in1k_20210831-ea4938fc.pth
# (docs/pretrained.md).
_base_ = [
    '../_base_/models/dl4all_resnet50.py',
    '../_base_/datasets/adp-self_allidb2.py',
    '../_base_/schedules/dl4all_sgd_100e.py',
    '../_base_/paper_runtime.py',
]

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_8xb32_in1k_20210831-ea4938fc.pth',
            prefix='backbone')),
    # ADP Release 1: patches of 100 slides (ADP website).
    head=dict(task_heads=dict(source=dict(num_classes=100))))
