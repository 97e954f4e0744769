from .domain_train_loop import DomainTrainLoop

__all__ = ['DomainTrainLoop']
