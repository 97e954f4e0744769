from .domain_batch_sampler import DomainBatchSampler

__all__ = ['DomainBatchSampler']
