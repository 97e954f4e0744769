"""Compare DL4ALL with ordinary transfer learning on any two image sets.

The machinery of ``tools/compare_transfer.py`` and of its PBC -> all_aria
preset ``benchmarks/transfer.py``: reading and checking the image sets
(:mod:`.image_set`), per-domain statistics (:mod:`.stats`), the methods as
protocol stages (:mod:`.methods`) with their recipes read from their
configs (:mod:`.recipes`), the task's splits and annotation files
(:mod:`.task`, splitting with :mod:`dl4all_mm.datasets.group_split`);
runs are trained by a launcher (:mod:`dl4all_mm.evaluation.launchers`,
local by default). Each target size is a protocol file
run by :func:`dl4all_mm.evaluation.protocol_file.execute_protocol`; the
report is :mod:`dl4all_mm.evaluation.report`'s.
"""
from .image_set import ImageSet, InputError, parse_class_map, read_image_set

__all__ = ['ImageSet', 'InputError', 'parse_class_map', 'read_image_set']
