from dl4all_mm.datasets.samplers import DomainPassBatchSampler
from .domain_train_loop import DomainTrainLoop
from .linear_probe_loop import LinearProbeLoop

__all__ = ['DomainTrainLoop', 'DomainPassBatchSampler', 'LinearProbeLoop']
