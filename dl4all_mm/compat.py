"""Workarounds for the pinned upstream stack, kept in one place.

Importing :mod:`dl4all_mm` applies them once (:func:`apply_patches`):

1. **Checkpoint loading under torch >= 2.6.** mmengine 0.10.7 calls
   ``torch.load`` without ``weights_only``; torch >= 2.6 then refuses every
   mmengine checkpoint. We replace mmengine's local-file loader with one that
   loads with ``weights_only=True`` and an allowlist of exactly the types
   mmengine checkpoints hold (``HistoryBuffer``, numpy arrays and scalars).
   Full unpickling, which can run arbitrary code, happens only for files the
   user trusts: ``DL4ALL_TRUST_CHECKPOINTS=1`` in the environment,
   ``--trust-checkpoint`` on the tools, or :func:`trust_checkpoints`.
2. **CPU distributed launch.** ``mmengine.dist.utils._init_dist_pytorch``
   calls ``torch.cuda.set_device`` unconditionally and the Runner passes
   ``device_ids=[LOCAL_RANK]`` to DDP; both fail without CUDA. Without CUDA we
   initialise a ``gloo`` group instead, and :class:`DL4ALLDistributedDataParallel`
   drops ``device_ids`` for CPU modules.
"""
import os
import os.path as osp
import pickle
from typing import Any, Iterable, List, Optional

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'DL4ALL_TRUST_CHECKPOINTS'
_PATCHED = False


def trust_checkpoints(trusted: bool = True) -> None:
    """Allow (or forbid again) full unpickling of local checkpoints.

    Only use this for files you created yourself or otherwise trust:
    unpickling an untrusted file can execute arbitrary code.
    """
    os.environ[TRUST_ENV] = '1' if trusted else '0'


def checkpoints_trusted() -> bool:
    """Whether full unpickling of local checkpoints is allowed."""
    return os.environ.get(TRUST_ENV, '0').lower() in ('1', 'true', 'yes')


def safe_globals() -> List[Any]:
    """Return the allowlist of types an mmengine checkpoint may hold."""
    from mmengine.logging import HistoryBuffer
    allowed: List[Any] = [
        HistoryBuffer, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
        np.core.multiarray.scalar
    ]
    # numpy >= 1.25 pickles dtypes through their ``numpy.dtypes`` classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return allowed


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the safe allowlist."""


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None,
                         trusted: Optional[bool] = None) -> Any:
    """Load a local checkpoint, safely unless the user trusts the file.

    Args:
        filename (str): Path of the checkpoint.
        map_location: Passed to :func:`torch.load`.
        trusted (bool, optional): Allow full unpickling. Defaults to the
            ``DL4ALL_TRUST_CHECKPOINTS`` environment variable.

    Raises:
        FileNotFoundError: The file does not exist.
        UntrustedCheckpointError: The file holds types outside the allowlist
            (it could run code when unpickled).
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} can not be found.')
    if trusted is None:
        trusted = checkpoints_trusted()
    if trusted:
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        raise UntrustedCheckpointError(
            f'Refused to load checkpoint {filename}: it holds objects outside '
            'the safe allowlist, and unpickling them could run code. If you '
            'created this file or trust its source, pass --trust-checkpoint '
            f'to the tool or set {TRUST_ENV}=1. Details: {err}') from err


def _init_dist_pytorch_any_device(backend: str = 'nccl',
                                  init_backend: str = 'torch',
                                  **kwargs) -> None:
    """``_init_dist_pytorch`` that falls back to gloo when CUDA is absent."""
    if torch.cuda.is_available():
        return _ORIGINAL_INIT_DIST_PYTORCH(backend, init_backend, **kwargs)
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)


_ORIGINAL_INIT_DIST_PYTORCH = None


@MODEL_WRAPPERS.register_module()
class DL4ALLDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also works for CPU (gloo) modules.

    The Runner passes ``device_ids=[LOCAL_RANK]``; DDP rejects ``device_ids``
    for modules on the CPU, so they are dropped there.
    """

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        params: Iterable = module.parameters()
        on_cpu = all(p.device.type == 'cpu' for p in params)
        if on_cpu:
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        kwargs.setdefault('broadcast_buffers', False)
        super().__init__(module=module, **kwargs)


def apply_patches() -> None:
    """Apply every workaround once (idempotent)."""
    global _PATCHED, _ORIGINAL_INIT_DIST_PYTORCH
    if _PATCHED:
        return
    CheckpointLoader.register_scheme(
        prefixes='', force=True)(load_checkpoint_file)
    import mmengine.dist.utils as dist_utils
    _ORIGINAL_INIT_DIST_PYTORCH = dist_utils._init_dist_pytorch
    dist_utils._init_dist_pytorch = _init_dist_pytorch_any_device
    _PATCHED = True
