from .frozen_backbone_warmup import FrozenBackboneWarmup
from .reference_warmup import ReferenceWarmup

__all__ = ['ReferenceWarmup', 'FrozenBackboneWarmup']
