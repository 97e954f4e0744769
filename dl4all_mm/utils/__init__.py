from .data_check import check_data_paths, missing_data_paths
from .denormals import flush_denormals

__all__ = ['check_data_paths', 'missing_data_paths', 'flush_denormals']
