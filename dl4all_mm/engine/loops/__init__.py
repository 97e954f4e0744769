from dl4all_mm.datasets.samplers import DomainPassBatchSampler
from .domain_train_loop import DomainTrainLoop

__all__ = ['DomainTrainLoop', 'DomainPassBatchSampler']
