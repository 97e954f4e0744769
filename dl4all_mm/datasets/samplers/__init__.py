from .domain_batch_sampler import DomainBatchSampler
from .domain_pass_sampler import DomainPassBatchSampler

__all__ = ['DomainBatchSampler', 'DomainPassBatchSampler']
