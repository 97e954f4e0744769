"""Registry of the launchers that execute protocol runs."""
from mmengine.registry import Registry

LAUNCHERS = Registry(
    'launcher', scope='dl4all_mm',
    locations=['dl4all_mm.evaluation.launchers'])
