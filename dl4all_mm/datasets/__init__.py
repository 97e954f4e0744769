from .group_label_dataset import GroupLabelDataset
from .interleaved_wrapper import InterleavedDatasetWrapper, to_domain_sample
from .samplers import *  # noqa: F401,F403

__all__ = [
    'GroupLabelDataset', 'InterleavedDatasetWrapper', 'to_domain_sample'
]
