"""Compare DL4ALL with ordinary transfer learning on any two image sets.

The machinery of ``tools/compare_transfer.py`` and of its PBC -> all_aria
preset ``benchmarks/transfer.py``: reading and checking the image sets
(:mod:`.image_set`), leak-free group-wise splits and nested target subsets
(:mod:`.splits`), per-domain statistics (:mod:`.stats`), the methods as
protocol stages (:mod:`.methods`), the task's annotation files and
protocol (:mod:`.task`), parallel execution (:mod:`.executor`) and the
learning-curve report (:mod:`.report`). Runs go through
:mod:`dl4all_mm.evaluation.protocol_runner`.
"""
from .image_set import ImageSet, InputError, parse_class_map, read_image_set

__all__ = ['ImageSet', 'InputError', 'parse_class_map', 'read_image_set']
