"""Workarounds for the pinned upstream stack, kept in one place.

Importing :mod:`dl4all_mm` applies each workaround whose upstream bug is
present in the installed mmengine/torch (detected at import, see
:data:`PATCHES`); nothing else changes and nothing is printed. Turn any of
them off with ``DL4ALL_DISABLE_PATCHES`` set before the import (``all``, or
comma-separated patch names), or undo them at run time with
:func:`remove_patches`; :func:`patch_status` says what was applied.

1. ``safe_checkpoint_loading``: mmengine 0.10.7's local loader calls
   ``torch.load`` without ``weights_only``, which torch >= 2.6 refuses for
   mmengine checkpoints (and which fully unpickles them, i.e. may run code,
   under older torch). Our local loader uses ``weights_only=True`` with an
   allowlist of exactly the types mmengine checkpoints hold. Full
   unpickling is only for trusted files: ``DL4ALL_TRUST_CHECKPOINTS=1``,
   ``--trust-checkpoint`` on the tools, or :func:`trust_checkpoints`.
2. ``cpu_distributed_launch``: mmengine's ``_init_dist_pytorch`` calls
   ``torch.cuda.set_device``; without CUDA we start a ``gloo`` group
   instead (and :class:`DL4ALLDistributedDataParallel`, a registered model
   wrapper, drops the ``device_ids`` DDP rejects for CPU modules).
3. ``atomic_checkpoint_save``: mmengine writes checkpoints in place, so a
   kill while saving leaves a truncated file; local files are now written
   to a temporary file, synced and renamed.
4. ``checkpoint_rotation_order``: ``CheckpointHook`` deletes the oldest
   kept checkpoint before saving the new one; it is now removed last.
5. ``work_dir_check``: ``Runner`` raises :class:`WorkDirError` at once for
   an unwritable work dir (mmengine fails later, when it first writes).
6. ``empty_dataset_error``: mmengine fails with "need at least one array to
   concatenate"; :class:`EmptyDatasetError` names the annotation file.
"""
import functools
import inspect
import os
import os.path as osp
import pickle
import types
import zipfile
from typing import Any, Callable, Dict, Iterable, List, Optional

import mmengine.dist.utils as dist_utils
import mmengine.runner as mm_runner
import mmengine.runner.checkpoint as mm_checkpoint
import mmengine.runner.runner as mm_runner_module
import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.dataset import BaseDataset
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'DL4ALL_TRUST_CHECKPOINTS'
#: Environment variable: ``all`` or comma-separated patch names not to apply.
DISABLE_ENV = 'DL4ALL_DISABLE_PATCHES'
#: The mmengine originals that the patches replace (recorded at import, so
#: wrappers can call them whether or not a patch is applied).
_ORIGINALS: dict = dict(
    load_from_local=CheckpointLoader._schemes.get(''),
    save_checkpoint=mm_checkpoint.save_checkpoint,
    hook_save=CheckpointHook._save_checkpoint_with_step,
    runner_init=Runner.__init__,
    serialize=BaseDataset._serialize_data,
    init_dist=dist_utils._init_dist_pytorch)


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


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the safe allowlist."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or is not a checkpoint at all."""


class WorkDirError(PermissionError):
    """The work dir cannot be created or written to."""


class EmptyDatasetError(ValueError):
    """A dataset found no sample."""


def _serialize_data(self: BaseDataset) -> Any:
    """``BaseDataset._serialize_data`` that names an empty dataset."""
    if not self.data_list:
        raise EmptyDatasetError(
            f'{type(self).__name__} is empty: no sample found (data_root='
            f'{self.data_root!r}, ann_file={self.ann_file!r}, data_prefix='
            f'{self.data_prefix!r})')
    return _ORIGINALS['serialize'](self)


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None,
                         trusted: Optional[bool] = None) -> Any:
    """Load a local checkpoint, safely unless the user trusts the file
    (``trusted``, default: ``DL4ALL_TRUST_CHECKPOINTS``). Raises
    ``FileNotFoundError``, :class:`UntrustedCheckpointError` (types outside
    the allowlist) or :class:`CorruptCheckpointError`."""
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
    """mmengine's local loader (its log names the scheme after this)."""
    return load_checkpoint_file(filename, map_location)


def _atomic_write(filename: str, write) -> None:
    """Call ``write(f)`` on a temporary file, sync it and rename it to
    ``filename``: readers see the old file or the complete new one."""
    directory = osp.dirname(osp.abspath(filename))
    os.makedirs(directory, exist_ok=True)
    tmp = f'{filename}.tmp{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        os.fsync(dir_fd)
        os.close(dir_fd)
    except OSError:  # not supported for directories everywhere
        pass


def save_checkpoint(checkpoint: dict, filename: str,
                    file_client_args: Optional[dict] = None,
                    backend_args: Optional[dict] = None) -> None:
    """mmengine's ``save_checkpoint``, atomic for local files."""
    filename = str(filename)
    local = file_client_args is None and not filename.startswith('pavi://')
    if local and isinstance(
            get_file_backend(filename, backend_args=backend_args),
            LocalBackend):
        _atomic_write(filename, lambda f: torch.save(checkpoint, f))
        return
    _ORIGINALS['save_checkpoint'](checkpoint, filename, file_client_args,
                                  backend_args)


def _save_checkpoint_with_step(self: CheckpointHook, runner, step: int,
                               meta: dict) -> None:
    """``CheckpointHook._save_checkpoint_with_step`` that removes outdated
    checkpoints only after the new one and ``last_checkpoint`` are saved."""
    outdated = None
    if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir, ckpt_filename, self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler, meta=meta,
        by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
    if not is_main_process():
        return
    _atomic_write(
        osp.join(runner.work_dir, 'last_checkpoint'),
        lambda f: f.write(str(self.last_ckpt).encode('utf-8')))
    if outdated is not None and outdated != step:
        path = self.file_backend.join_path(
            self.out_dir, self.filename_tmpl.format(outdated))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed checkpoints
            self.file_backend.rmtree(path)


def check_writable_dir(path: str, what: str = 'work_dir') -> None:
    """Create ``path`` if needed and write a probe file there; raise
    :class:`WorkDirError` naming ``what``, the path and the reason."""
    probe = osp.join(path, f'.dl4all_write_test.{os.getpid()}')
    try:
        os.makedirs(path, exist_ok=True)
        with open(probe, 'wb') as f:
            f.write(b'ok')
        os.remove(probe)
    except OSError as err:
        raise WorkDirError(
            f'{what} {path!r} is not writable ({err.strerror or err}): logs '
            'and checkpoints could not be saved. Choose another --work-dir '
            'or fix its permissions.') from err


@functools.wraps(Runner.__init__)
def _runner_init(self, model, work_dir: str, *args, **kwargs) -> None:
    """``Runner.__init__`` that checks ``work_dir`` before anything else."""
    check_writable_dir(osp.abspath(work_dir))
    _ORIGINALS['runner_init'](self, model, work_dir, *args, **kwargs)


def _init_dist_pytorch_any_device(backend: str = 'nccl',
                                  init_backend: str = 'torch',
                                  **kwargs) -> None:
    """``_init_dist_pytorch`` that falls back to gloo when CUDA is absent."""
    if torch.cuda.is_available():
        return _ORIGINALS['init_dist'](backend, init_backend, **kwargs)
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)


@MODEL_WRAPPERS.register_module()
class DL4ALLDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops the ``device_ids`` the Runner
    passes, which DDP rejects for CPU (gloo) modules."""

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        if all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        kwargs.setdefault('broadcast_buffers', False)
        super().__init__(module=module, **kwargs)


def _source(obj: Any) -> str:
    """Source text of ``obj`` ('' when it is not available)."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ''


def _loader_unsafe() -> bool:
    """mmengine's local loader does not choose ``weights_only`` itself."""
    loader = _ORIGINALS['load_from_local']
    return loader is None or 'weights_only' not in _source(loader)


def _dist_needs_cuda() -> bool:
    """``_init_dist_pytorch`` calls ``torch.cuda.set_device`` unguarded."""
    src = _source(_ORIGINALS['init_dist'])
    return not src or ('cuda.set_device' in src
                       and 'cuda.is_available' not in src)


def _save_not_atomic() -> bool:
    """``save_checkpoint`` writes the final file in place."""
    src = _source(_ORIGINALS['save_checkpoint'])
    return not src or not any(
        word in src for word in ('os.replace', 'os.rename', 'atomic'))


def _rotation_removes_first() -> bool:
    """``CheckpointHook`` removes the oldest checkpoint before saving."""
    src = _source(_ORIGINALS['hook_save'])
    save, remove = src.find('runner.save_checkpoint('), src.find('.remove(')
    return not src or (0 <= remove < save)


def _runner_skips_write_check() -> bool:
    """``Runner.__init__`` does not check that it can write the work dir."""
    src = _source(_ORIGINALS['runner_init'])
    return not src or ('os.access' not in src and 'W_OK' not in src)


def _empty_dataset_obscure() -> bool:
    """``BaseDataset._serialize_data`` fails on an empty dataset with
    numpy's message instead of naming the dataset."""
    try:
        _ORIGINALS['serialize'](types.SimpleNamespace(data_list=[]))
    except ValueError as err:
        return 'at least one array' in str(err)
    except Exception:  # noqa: BLE001 - any other failure: leave it alone
        return False
    return False


def _set_save_checkpoint(func: Callable) -> None:
    for module in (mm_checkpoint, mm_runner_module, mm_runner):
        module.save_checkpoint = func


def _set_loader(func: Optional[Callable]) -> None:
    if func is None:
        CheckpointLoader._schemes.pop('', None)
    else:
        CheckpointLoader.register_scheme(prefixes='', force=True)(func)


def _set_init_dist(func: Callable) -> None:
    dist_utils._init_dist_pytorch = func


def _set_hook_save(func: Callable) -> None:
    CheckpointHook._save_checkpoint_with_step = func


def _set_runner_init(func: Callable) -> None:
    Runner.__init__ = func


def _set_serialize(func: Callable) -> None:
    BaseDataset._serialize_data = func


class Patch:
    """One workaround: what it replaces, when it is needed, how to undo it.

    Args:
        name (str): Name used by ``DL4ALL_DISABLE_PATCHES``.
        target (str): The mmengine attribute(s) it replaces.
        bug (str): The upstream behaviour it works around.
        needed (callable): Returns True when the installed upstream shows
            the bug.
        setter (callable): Installs a function in ``target``.
        patched (callable): Our replacement.
        original (str): Key of the original in ``_ORIGINALS``.
    """

    def __init__(self, name: str, target: str, bug: str,
                 needed: Callable[[], bool], setter: Callable,
                 patched: Callable, original: str) -> None:
        self.name = name
        self.target = target
        self.bug = bug
        self.needed = needed
        self.setter = setter
        self.patched = patched
        self.original = original
        self.status = 'not applied'

    def apply(self) -> None:
        """Install the replacement."""
        self.setter(self.patched)
        self.status = 'applied'

    def remove(self) -> None:
        """Put mmengine's original back."""
        self.setter(_ORIGINALS[self.original])
        self.status = 'removed'


PATCHES: Dict[str, Patch] = {
    p.name: p
    for p in [
        Patch('safe_checkpoint_loading',
              'mmengine.runner.CheckpointLoader (local files)',
              'torch.load without weights_only: refused by torch >= 2.6, '
              'unsafe before', _loader_unsafe, _set_loader,
              load_from_local, 'load_from_local'),
        Patch('cpu_distributed_launch',
              'mmengine.dist.utils._init_dist_pytorch',
              'torch.cuda.set_device without CUDA (CPU torchrun fails)',
              _dist_needs_cuda, _set_init_dist,
              _init_dist_pytorch_any_device, 'init_dist'),
        Patch('atomic_checkpoint_save',
              'mmengine.runner.checkpoint.save_checkpoint',
              'checkpoints written in place: a kill leaves a truncated file',
              _save_not_atomic, _set_save_checkpoint, save_checkpoint,
              'save_checkpoint'),
        Patch('checkpoint_rotation_order',
              'mmengine.hooks.CheckpointHook._save_checkpoint_with_step',
              'oldest kept checkpoint deleted before the new one is saved',
              _rotation_removes_first, _set_hook_save,
              _save_checkpoint_with_step, 'hook_save'),
        Patch('work_dir_check', 'mmengine.runner.Runner.__init__',
              'an unwritable work_dir fails late, at the first write',
              _runner_skips_write_check, _set_runner_init, _runner_init,
              'runner_init'),
        Patch('empty_dataset_error',
              'mmengine.dataset.BaseDataset._serialize_data',
              "empty dataset -> 'need at least one array to concatenate'",
              _empty_dataset_obscure, _set_serialize, _serialize_data,
              'serialize'),
    ]
}


def disabled_patches() -> List[str]:
    """Patch names turned off by ``DL4ALL_DISABLE_PATCHES``.

    Raises:
        ValueError: The variable names an unknown patch.
    """
    value = os.environ.get(DISABLE_ENV, '').strip()
    if not value:
        return []
    if value.lower() in ('all', '1', 'true', 'yes'):
        return list(PATCHES)
    names = [n.strip() for n in value.split(',') if n.strip()]
    unknown = [n for n in names if n not in PATCHES]
    if unknown:
        raise ValueError(f'{DISABLE_ENV}={value!r} names unknown patches '
                         f'{unknown}; known: {list(PATCHES)} or "all"')
    return names


def apply_patches(names: Optional[Iterable[str]] = None) -> Dict[str, str]:
    """Apply the workarounds whose upstream bug is present (idempotent).

    Args:
        names (Iterable[str], optional): Only these patches. Defaults to
            all of :data:`PATCHES` except those in
            ``DL4ALL_DISABLE_PATCHES``.

    Returns:
        dict: :func:`patch_status`.
    """
    disabled = disabled_patches()
    selected = list(PATCHES) if names is None else list(names)
    for name in selected:
        patch = PATCHES[name]
        if patch.status == 'applied':
            continue
        if names is None and name in disabled:
            patch.status = f'disabled by {DISABLE_ENV}'
        elif not patch.needed():
            patch.status = 'not needed: the installed upstream is fixed'
        else:
            patch.apply()
    return patch_status()


def remove_patches(names: Optional[Iterable[str]] = None) -> Dict[str, str]:
    """Restore mmengine's originals of the applied patches (all, or
    ``names``); return :func:`patch_status`."""
    for name in list(PATCHES) if names is None else list(names):
        if PATCHES[name].status == 'applied':
            PATCHES[name].remove()
    return patch_status()


def patch_status() -> Dict[str, str]:
    """Patch name -> ``'applied'``, ``'not needed: ...'``,
    ``'disabled by ...'`` or ``'removed'``."""
    return {name: patch.status for name, patch in PATCHES.items()}
