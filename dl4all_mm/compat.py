"""Workarounds for upstream bugs that no mmengine extension point reaches.

Everything else the plugin adds to mmengine is a registered component
(``DL4ALLRunner``, ``AtomicCheckpointHook``, the ``atomic_local`` file
backend, ``DL4ALLDistributedDataParallel``, the checkpoint loader scheme).
Each workaround here is one function, gated on the version of the package
that has the bug (``mmengine.utils.digit_version``), names the upstream
report, and is applied only inside the block that needs it: importing
:mod:`dl4all_mm` patches nothing.
"""
import contextlib
from typing import Any, Dict, Iterator

import mmengine
from mmengine.dataset import BaseDataset
from mmengine.utils import digit_version

#: ``BaseDataset._serialize_data`` as mmengine defines it.
_SERIALIZE = BaseDataset._serialize_data


class EmptyDatasetError(ValueError):
    """A dataset found no sample."""


def _mmengine_at_most(version: str) -> bool:
    """The installed mmengine is ``version`` or older."""
    return digit_version(mmengine.__version__) <= digit_version(version)


#: Patch name -> (upstream bug, whether the installed version has it).
PATCHES: Dict[str, tuple] = {
    'empty_dataset_error':
    ("mmengine <= 0.10.7: an empty dataset fails in BaseDataset."
     "_serialize_data with numpy's 'need at least one array to "
     "concatenate', naming no file (reported as open-mmlab/mmdetection"
     "#9610, mmsegmentation#3576)", _mmengine_at_most('0.10.7')),
}


def _serialize_data(self: BaseDataset) -> Any:
    """``BaseDataset._serialize_data`` that names an empty dataset."""
    if not self.data_list:
        raise EmptyDatasetError(
            f'{type(self).__name__} is empty: no sample found (data_root='
            f'{self.data_root!r}, ann_file={self.ann_file!r}, data_prefix='
            f'{self.data_prefix!r})')
    return _SERIALIZE(self)


@contextlib.contextmanager
def empty_dataset_error() -> Iterator[None]:
    """Inside the block, an empty serialised dataset raises
    :class:`EmptyDatasetError` naming ``data_root``/``ann_file`` (mmengine
    <= 0.10.7 only; later versions are left alone). Re-entrant."""
    if not PATCHES['empty_dataset_error'][1] or \
            BaseDataset._serialize_data is not _SERIALIZE:
        yield
        return
    BaseDataset._serialize_data = _serialize_data
    try:
        yield
    finally:
        BaseDataset._serialize_data = _SERIALIZE


def patch_status() -> Dict[str, str]:
    """Patch name -> ``'needed'`` (applied where used) or ``'not needed'``
    for the installed versions."""
    return {
        name: 'needed' if needed else 'not needed'
        for name, (_, needed) in PATCHES.items()
    }
