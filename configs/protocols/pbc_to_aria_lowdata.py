# PBC -> all_aria low-data protocol, by hand once the split files exist:
#
#   python tools/run_protocol.py configs/protocols/pbc_to_aria_lowdata.py \
#       --work-dir work_dirs/pbc2aria \
#       --cfg-options env.DL4ALL_DATA_ROOT=../shared/data \
#                     env.DL4ALL_ARIA_SPLITS=work_dirs/pbc2aria/splits
#
# DL4ALL_DATA_ROOT holds pbc/ and all_aria/; DL4ALL_ARIA_SPLITS holds
# train.txt (240 images), val.txt (300) and test.txt (lines
# `relative/path label`, label 1 = ALL); DL4ALL_ARIA_TEST_ANN and
# DL4ALL_ARIA_TEST_ROOT may name another test set. Every method: ResNet-18
# from random init at 96 px, the same augmentation and lr curve, 1,200
# optimizer steps of 32 images (sequential: 600 source-only steps, then 600
# target steps), 8 validations on the target validation split, the best
# validation balanced accuracy tested. DL4ALL trains its recipe config
# (configs/_base_/recipes/dl4all_pbc2aria_lowdata.py: 8 source + 24 target
# images per step, loss weights 0.3 / 0.7), the same recipe that
# tools/compare_transfer.py trains with --backbone resnet18 --pretrained
# none --iters 1200. Binary target: sensitivity = recall of ALL,
# specificity = recall of normal.
title = 'PBC -> all_aria low-data (ResNet-18 from scratch, 96 px)'
notes = [
    'Budget: 1,200 optimizer steps of 32 images per run; model selected on '
    'the target validation split (balanced accuracy).'
]

env = dict(
    DL4ALL_DATA_ROOT='data',
    DL4ALL_ARIA_SPLITS='data/aria_lowdata',
)

baselines = 'configs/baselines/'
methods = [
    dict(
        name='target-only',
        config=baselines + 'target-only_resnet18_pbc2aria-lowdata.py'),
    dict(
        name='sequential',
        stages=[
            dict(config=baselines + 'sequential-stage1_resnet18_pbc.py'),
            dict(
                config=baselines +
                'sequential-stage2_resnet18_pbc2aria-lowdata.py',
                cfg_options={
                    'model.backbone.init_cfg.checkpoint': '{prev_checkpoint}'
                }),
        ]),
    dict(
        name='mixed',
        config=baselines + 'mixed-multitask_resnet18_pbc2aria-lowdata.py'),
    dict(
        name='dl4all-joint',
        config='configs/dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py'),
    dict(
        name='dl4all-greedy',
        config='configs/dl4all/dl4all-greedy_resnet18_pbc2aria-lowdata.py'),
]
references = ['dl4all-joint', 'dl4all-greedy']
seeds = [0, 1, 2]
folds = [None]
select_metric = 'diagnostic/balanced_accuracy'
positive_index = 1
