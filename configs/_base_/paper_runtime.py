# Runtime of the paper configs: default_runtime.py with the reference's
# class weights and BatchNorm refresh.
_base_ = './default_runtime.py'

custom_hooks = [
    h for h in _base_.custom_hooks if h['type'] != 'DomainBNRecalibHook'
] + [
    # Each domain's loss weighted by class, weights from that domain's
    # training labels (the reference also counts validation labels).
    dict(type='DomainClassWeightHook'),
    # Before each validation: 101 target training batches of 8 forwarded in
    # train mode, running statistics updated by momentum, not reset
    # (the reference's functions/pretrainBN.py).
    dict(type='DomainBNRecalibHook', mode='momentum', num_batches=101,
         batch_size=8),
]
