from .diagnostic import diagnostic_scores
from .diagnostic_metric import DiagnosticMetric

__all__ = ['DiagnosticMetric', 'diagnostic_scores']
