"""Checkpoint trust policy: weights-only loading of local checkpoints.

mmengine (<= 0.10.7) loads local checkpoints with a bare ``torch.load``:
torch >= 2.6 then refuses every mmengine checkpoint (``HistoryBuffer`` and
numpy types are not allowlisted; open-mmlab/mmengine#1655), and older torch
unpickles them fully, which may run code. :func:`load_from_local` loads
weights-only with an allowlist of exactly the types mmengine checkpoints
hold, and unpickles fully only files the user trusts
(``DL4ALL_TRUST_CHECKPOINTS=1``, ``--trust-checkpoint`` on the tools or
:func:`trust_checkpoints`).

It reaches mmengine through its own extension point,
``CheckpointLoader.register_scheme``: :func:`register_safe_loader` installs
it for local paths. Importing :mod:`dl4all_mm` does not; the
:class:`~dl4all_mm.engine.runners.DL4ALLRunner`, our tools and the
``custom_imports`` of our configs (module
:mod:`dl4all_mm.engine.runners.use_safe_loader`) do.
"""
import inspect
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

#: Environment variable: ``1`` allows full unpickling of local checkpoints.
TRUST_ENV = 'DL4ALL_TRUST_CHECKPOINTS'


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the safe allowlist."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or is not a checkpoint at all."""


def trust_checkpoints(trusted: bool = True) -> None:
    """Allow (or forbid again) full unpickling of local checkpoints: only
    for files you trust, unpickling can execute arbitrary code."""
    os.environ[TRUST_ENV] = '1' if trusted else '0'


def checkpoints_trusted() -> bool:
    """Whether full unpickling of local checkpoints is allowed."""
    return os.environ.get(TRUST_ENV, '0').lower() in ('1', 'true', 'yes')


def safe_globals() -> List[Any]:
    """Return the allowlist of types an mmengine checkpoint may hold."""
    from mmengine.logging import HistoryBuffer
    allowed: List[Any] = [
        HistoryBuffer, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
        np.core.multiarray.scalar, (_safe_getattr, 'builtins.getattr')
    ]
    # numpy >= 1.25 pickles dtypes through their ``numpy.dtypes`` classes.
    dtypes = getattr(np, 'dtypes', None)
    names = dir(dtypes) if dtypes is not None else []
    return allowed + [getattr(dtypes, n) for n in names if n.endswith('DType')]


def _safe_getattr(obj: Any, name: str) -> Any:
    """``getattr`` limited to what ``HistoryBuffer`` pickles (its methods);
    a plain ``getattr`` would reach any attribute of any allowed object."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and not name.startswith('_') and \
            inspect.isfunction(inspect.getattr_static(obj, name, None)):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None,
                         trusted: Optional[bool] = None) -> Any:
    """Load a local checkpoint, safely unless the user trusts the file.

    Args:
        filename (str): Local path.
        map_location (optional): As for ``torch.load``.
        trusted (bool, optional): Fully unpickle. Defaults to
            :func:`checkpoints_trusted`.

    Raises:
        FileNotFoundError: No such file.
        UntrustedCheckpointError: It holds types outside the allowlist.
        CorruptCheckpointError: It is truncated or not a checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} can not be found.')
    if trusted is None:
        trusted = checkpoints_trusted()
    try:
        if trusted:
            return torch.load(filename, map_location, weights_only=False)
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(filename, map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if trusted or ('global' not in str(err).lower()
                       and not zipfile.is_zipfile(filename)):
            raise _corrupt(filename, err) from err
        raise UntrustedCheckpointError(
            f'Refused to load checkpoint {filename}: it holds objects outside '
            'the safe allowlist, and unpickling them could run code. If you '
            'created this file or trust its source, pass --trust-checkpoint '
            f'to the tool or set {TRUST_ENV}=1. Details: {err}') from err
    except (EOFError, KeyError, zipfile.BadZipFile) as err:
        raise _corrupt(filename, err) from err
    except RuntimeError as err:
        if 'PytorchStreamReader' in str(err) or 'zip archive' in str(err):
            raise _corrupt(filename, err) from err
        raise


def _corrupt(filename: str, err: BaseException) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'Checkpoint {filename} is truncated or not a checkpoint '
        f'({type(err).__name__}: {err}). A process killed while writing it '
        'leaves such a file; resume from an earlier checkpoint.')


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """The local-path loader we register with ``CheckpointLoader`` (its log
    line names the scheme after this function's name)."""
    return load_checkpoint_file(filename, map_location)


def register_safe_loader() -> None:
    """Make :func:`load_from_local` mmengine's loader of local paths (every
    ``load_checkpoint``, ``load_from``, ``resume`` and ``Pretrained`` init
    of the process). Idempotent."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)


def safe_loader_registered() -> bool:
    """Whether mmengine loads local paths with :func:`load_from_local`."""
    return CheckpointLoader._schemes.get('') is load_from_local
