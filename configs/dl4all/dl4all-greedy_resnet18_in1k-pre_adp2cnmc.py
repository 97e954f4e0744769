# DL4ALL Greedy, ResNet-18 from ImageNet, ADP (Self labels) -> C-NMC 2019,
# patient-wise fold 0: each step first tries the ADP batch and keeps that
# update only if the loss on the step's C-NMC batch went down, else steps
# on the C-NMC batch instead. Data, proportional batches (8 ADP + 4 C-NMC)
# and schedule as dl4all-self_resnet18_in1k-pre_adp2cnmc.py.
_base_ = ['./dl4all-self_resnet18_in1k-pre_adp2cnmc.py']

train_cfg = dict(strategy='greedy')
