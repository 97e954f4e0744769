from .diagnostic import diagnostic_scores
from .diagnostic_metric import DiagnosticMetric
from .predictions_writer import PredictionsWriter

__all__ = ['DiagnosticMetric', 'PredictionsWriter', 'diagnostic_scores']
