from .adp import ADPDataset
from .allidb1 import ALLIDB1Dataset
from .allidb2 import ALLIDB2Dataset
from .cached_image_dataset import CachedImageDataset
from .cnmc import CNMC2019Dataset
from .group_label_dataset import GroupLabelDataset
from .interleaved_wrapper import InterleavedDatasetWrapper, to_domain_sample
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = [
    'GroupLabelDataset', 'InterleavedDatasetWrapper', 'to_domain_sample',
    'CNMC2019Dataset', 'ADPDataset', 'ALLIDB2Dataset', 'ALLIDB1Dataset',
    'CachedImageDataset'
]
