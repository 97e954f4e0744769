from .domain_pass_sampler import DomainPassBatchSampler
from .domain_train_loop import DomainTrainLoop

__all__ = ['DomainTrainLoop', 'DomainPassBatchSampler']
