from .domain_data_preprocessor import DomainDataPreprocessor

__all__ = ['DomainDataPreprocessor']
