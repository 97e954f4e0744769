from .domain_image_classifier import DomainImageClassifier

__all__ = ['DomainImageClassifier']
