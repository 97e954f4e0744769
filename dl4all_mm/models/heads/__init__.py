from .domain_multitask_head import DomainMultiTaskHead

__all__ = ['DomainMultiTaskHead']
