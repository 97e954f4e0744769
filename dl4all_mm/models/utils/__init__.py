from .domain_split_batchnorm import domain_split_batchnorm

__all__ = ['domain_split_batchnorm']
