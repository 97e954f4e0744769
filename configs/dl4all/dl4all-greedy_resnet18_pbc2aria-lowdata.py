# DL4ALL Greedy, the reference rule (step rule='reference', the
# benchmark's `dl4all-greedy`), on the PBC -> all_aria low-data task: a
# source step, then a target step if the target loss beats the lowest kept
# one so far, else undo and step on the target only. Same data, recipe,
# budget and selection as dl4all-regular_resnet18_pbc2aria-lowdata.py.
# Our same_batch rule: --cfg-options train_cfg.step.rule=same_batch.
_base_ = ['./dl4all-regular_resnet18_pbc2aria-lowdata.py']

train_cfg = dict(
    step=dict(_delete_=True, type='GreedyStep', rule='reference'))
