from .data_check import check_data_paths, missing_data_paths
from .denormals import denormals_flushed, flush_denormals, set_flush_denormals
from .reproducible import fixed_threads

__all__ = [
    'check_data_paths', 'missing_data_paths', 'denormals_flushed',
    'flush_denormals', 'set_flush_denormals', 'fixed_threads'
]
