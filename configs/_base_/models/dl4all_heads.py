# The DL4ALL model without its backbone: a DomainImageClassifier with
# per-domain normalisation and one linear head per domain (2 classes each
# until a config sets them). Each dl4all_<backbone>.py base adds a backbone
# (and a neck where the backbone does not pool) and the heads' in_channels.
# Each head's loss: WeightedCrossEntropyLoss (multi-label heads set
# MultiLabelSoftMarginLoss).
model = dict(
    # The scope a model inherited from an `mmpretrain::` base carries.
    _scope_='mmpretrain',
    type='DomainImageClassifier',
    data_preprocessor=dict(
        type='DomainDataPreprocessor',
        to_rgb=True,
        # ImageNet statistics; replace with each dataset's own
        # (tools/analysis_tools/compute_mean_std.py).
        domain_norm={
            domain: dict(mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375])
            for domain in ('source', 'target')
        }),
    head=dict(
        type='DomainMultiTaskHead',
        loss_weights=dict(source=0.5, target=0.5),
        grad_rescale=True,
        task_heads={
            domain: dict(
                type='LinearClsHead',
                num_classes=2,
                # torch's nn.CrossEntropyLoss(weight=w): with class weights
                # the mean is sum_i w_{y_i} CE_i / sum_i w_{y_i}, as the
                # reference (mmpretrain's CrossEntropyLoss divides by N);
                # without class weights both are the plain mean.
                loss=dict(type='WeightedCrossEntropyLoss'))
            for domain in ('source', 'target')
        }))
