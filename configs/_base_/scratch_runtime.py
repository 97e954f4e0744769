# Runtime of the configs trained from random init on small data (the demo,
# PBC -> all_aria): default_runtime.py with BatchNorm re-estimated on 20
# target batches before each validation.
_base_ = './default_runtime.py'

custom_hooks = [
    dict(h, num_batches=20) if h['type'] == 'DomainBNRecalibHook' else h
    for h in _base_.custom_hooks
]
