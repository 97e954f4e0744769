# DL4ALL Greedy, our same_batch rule (the one docs/results.md measured), on
# the PBC -> all_aria low-data task: each step first tries the source batch
# and keeps that update only if the loss on the step's target batch went
# down, else it undoes it and steps on the target batch instead. Same
# data, budget (1,200 steps of 16 + 16 images) and selection as
# dl4all-regular_resnet18_pbc2aria-lowdata.py.
_base_ = ['./dl4all-regular_resnet18_pbc2aria-lowdata.py']

train_cfg = dict(strategy='greedy', greedy_rule='same_batch')
