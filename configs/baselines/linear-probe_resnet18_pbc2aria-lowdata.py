# Baseline: linear probe on the all_aria low-data target -- the model of
# target-only_resnet18_pbc2aria-lowdata.py frozen (give it pretrained
# weights: model.backbone.init_cfg, or tools/compare_transfer.py
# --backbone/--pretrained; from random init the features are random) and
# its head fitted by scikit-learn's LogisticRegression on pooled features
# of the training images, each once, through the test pipeline (no
# augmentation). LinearProbeLoop picks C from 10 values of logspace(-4, 2)
# by stratified k-fold cross-validation on the training images only
# (k = min(4, smallest class count), balanced accuracy), refits on all of
# them, writes the head so the model's softmax is the fit's predict_proba
# and saves one checkpoint (epoch_1.pth); no optimizer step, no
# validation (nothing to select). Class weights: the target-only config's
# (tools/compare_transfer.py passes its own data's).
_base_ = ['./target-only_resnet18_pbc2aria-lowdata.py']

train_dataloader = dict(
    _delete_=True,
    batch_size=64,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.train_dataloader.dataset,
                 pipeline=_base_.test_pipeline))
train_cfg = dict(
    _delete_=True,
    type='LinearProbeLoop',
    c_grid=[float(f'{10**(-4 + 6 * i / 9):.6g}') for i in range(10)],
    class_weight=_base_.model.head.loss.class_weight,
    standardize=True)
# Nothing to schedule; the optimizer is built (mmengine needs one with a
# train_cfg) but never steps.
param_scheduler = []
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1))
log_processor = dict(by_epoch=True)
