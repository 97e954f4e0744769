# PBC -> all_aria low-data protocol, by hand once the split files exist:
#
#   python tools/run_protocol.py configs/protocols/pbc_to_aria_lowdata.py \
#       --work-dir work_dirs/pbc2aria \
#       --cfg-options paths.data_root=../shared/data \
#                     paths.splits=work_dirs/pbc2aria/splits
#
# Data reaches the method configs one way, as for tools/compare_transfer.py:
# `data` gives each role's dataset fields ('{data_root}' and '{splits}' are
# `paths`) and each stage's `data_layout` says where its config keeps each
# role (dl4all_mm/evaluation/protocol_data.py turns both into the stage's
# cfg-options). paths.data_root holds pbc/ and all_aria/; paths.splits holds
# train.txt (240 images), val.txt (300) and test.txt (lines
# `relative/path label`, paths relative to all_aria/, label 1 = ALL);
# data.test.ann_file and data.test.data_root may name another test set.
# Every method: ResNet-18 from random init at 96 px, the same augmentation and
# lr curve, 1,200 optimizer steps of 32 images (sequential: 600 source-only
# steps, then 600 target steps), 8 validations on the target validation split,
# the best validation balanced accuracy tested. DL4ALL trains its recipe config
# (configs/_base_/recipes/dl4all_pbc2aria_lowdata.py: 8 source + 24 target
# images per step, loss weights 0.3 / 0.7), the same recipe that
# tools/compare_transfer.py trains with --backbone resnet18 --pretrained none
# --iters 1200. Binary target: sensitivity = recall of ALL, specificity =
# recall of normal.
title = 'PBC -> all_aria low-data (ResNet-18 from scratch, 96 px)'
notes = [
    'Budget: 1,200 optimizer steps of 32 images per run; model selected on '
    'the target validation split (balanced accuracy).'
]

paths = dict(data_root='data', splits='data/aria_lowdata')
aria = dict(data_root='{data_root}/all_aria', classes=['normal', 'ALL'])
data = dict(
    source=dict(data_root='{data_root}/pbc'),
    target=dict(ann_file='{splits}/train.txt', **aria),
    val=dict(ann_file='{splits}/val.txt', **aria),
    test=dict(ann_file='{splits}/test.txt', **aria),
)

baselines = 'configs/baselines/'
methods = [
    dict(
        name='target-only',
        config=baselines + 'target-only_resnet18_pbc2aria-lowdata.py',
        data_layout='single'),
    dict(
        name='sequential',
        stages=[
            dict(
                config=baselines + 'sequential-stage1_resnet18_pbc.py',
                data_layout='source'),
            dict(
                config=baselines +
                'sequential-stage2_resnet18_pbc2aria-lowdata.py',
                data_layout='single',
                cfg_options={
                    'model.backbone.init_cfg.checkpoint': '{prev_checkpoint}'
                }),
        ]),
    dict(
        name='mixed',
        config=baselines + 'mixed-multitask_resnet18_pbc2aria-lowdata.py',
        data_layout='mixed'),
    dict(
        name='dl4all-joint',
        config='configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py',
        data_layout='dl4all'),
    dict(
        name='dl4all-greedy',
        config='configs/dl4all/dl4all-greedy_resnet18_pbc2aria-lowdata.py',
        data_layout='dl4all'),
]
references = ['dl4all-joint', 'dl4all-greedy']
seeds = [0, 1, 2]
folds = [None]
select_metric = 'diagnostic/balanced_accuracy'
positive_index = 1
