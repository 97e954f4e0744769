"""The Runner our configs select with ``runner_type='mmpretrain.DL4ALLRunner'``."""
import datetime
import os
import os.path as osp
from typing import Any, Dict, Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed
from mmengine.runner import BaseLoop, Runner
from mmpretrain.registry import RUNNERS
from torch.utils.data import DataLoader

from dl4all_mm import compat
from dl4all_mm.engine.loops.scheduler_checks import prepare_param_schedulers
from .checkpoint_loader import register_safe_loader


class WorkDirError(PermissionError):
    """The work dir cannot be created or written to."""


def check_writable_dir(path: str, what: str = 'work_dir') -> None:
    """Create ``path`` if needed and write a probe file there.

    Raises:
        WorkDirError: Naming ``what``, the path and the reason.
    """
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


@RUNNERS.register_module()
class DL4ALLRunner(Runner):
    """mmengine's ``Runner`` with four additions, all opt-in through
    ``runner_type='mmpretrain.DL4ALLRunner'`` (on in ``default_runtime.py``):

    - an unwritable ``work_dir`` raises :class:`WorkDirError` before
      anything is built (mmengine fails later, at its first write);
    - ``launcher='pytorch'`` without CUDA starts a ``gloo`` process group
      (mmengine's ``init_dist`` calls ``torch.cuda.set_device``); wrap the
      model with ``DL4ALLDistributedDataParallel`` there;
    - checkpoints load through the trust policy of
      :mod:`~dl4all_mm.engine.runners.checkpoint_loader` (registered when
      the runner is built), and an empty dataset raises
      :class:`~dl4all_mm.compat.EmptyDatasetError` naming its files;
    - parameter schedulers that would begin at or after the end of training
      are dropped with a warning before they are built, and the train
      loop's warm-up checks the others (``prepare_param_schedulers`` in
      :mod:`~dl4all_mm.engine.loops.scheduler_checks`).

    Args: those of ``mmengine.runner.Runner``.
    """

    #: Tells ``DomainTrainLoop`` that :meth:`build_param_scheduler` runs the
    #: scheduler checks (another runner gets them from the loop, read-only).
    prepares_param_schedulers = True

    def __init__(self, model: Any, work_dir: str, *args, **kwargs) -> None:
        check_writable_dir(osp.abspath(work_dir))
        register_safe_loader()
        super().__init__(model, work_dir, *args, **kwargs)

    def setup_env(self, env_cfg: Dict) -> None:
        """Start a gloo group for ``launcher='pytorch'`` without CUDA, then
        set up the environment as mmengine does."""
        if (self.distributed and self.launcher == 'pytorch'
                and not is_distributed() and not torch.cuda.is_available()):
            kwargs = dict(env_cfg.get('dist_cfg') or {})
            kwargs.pop('backend', None)
            kwargs.pop('init_backend', None)
            if kwargs.get('timeout') is not None:
                kwargs['timeout'] = datetime.timedelta(
                    seconds=kwargs['timeout'])
            torch_dist.init_process_group(
                backend='gloo',
                rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']),
                **kwargs)
        super().setup_env(env_cfg)

    def build_param_scheduler(self, scheduler: Any) -> Any:
        """Drop idle schedulers and check the others against the train
        loop (once it is built), then build them as mmengine does."""
        if isinstance(self._train_loop, BaseLoop):
            scheduler = prepare_param_schedulers(self, scheduler)
        return super().build_param_scheduler(scheduler)

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, Dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        """``Runner.build_dataloader`` naming an empty dataset's files."""
        with compat.empty_dataset_error():
            return Runner.build_dataloader(dataloader, seed, diff_rank_seed)
