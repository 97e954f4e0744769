"""CheckpointHook that writes checkpoints atomically and rotates last."""
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS

import dl4all_mm.fileio  # noqa: F401  (registers the atomic_local backend)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments), crash-safe:

    - local checkpoints are written through the ``atomic_local`` file
      backend (temporary file, fsync, rename) unless ``backend_args`` or
      ``file_client_args`` choose another backend: a process killed while
      saving keeps the previous checkpoint;
    - with ``max_keep_ckpts``, the oldest kept checkpoint is removed after
      the new one and ``last_checkpoint`` are written (mmengine removes it
      first, so a kill while saving can leave no checkpoint at all).

    ``default_runtime.py`` selects it as ``default_hooks.checkpoint``.
    """

    def before_train(self, runner) -> None:
        """Choose the atomic backend for a local ``out_dir``."""
        out_dir = self.out_dir or runner.work_dir
        if self.backend_args is None and self.file_client_args is None \
                and type(get_file_backend(out_dir)) is LocalBackend:
            self.backend_args = dict(backend='atomic_local')
        super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save as mmengine does, then remove the outdated checkpoint."""
        outdated = None
        if self.max_keep_ckpts > 0 and self.keep_ckpt_ids and \
                self.keep_ckpt_ids[-1] != step and \
                len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            # taken out of the queue here, so mmengine does not delete it
            outdated = self.keep_ckpt_ids.popleft()
        super()._save_checkpoint_with_step(runner, step, meta)
        if outdated is None or not is_main_process():
            return
        path = self.file_backend.join_path(self.out_dir,
                                           self.filename_tmpl.format(outdated))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed checkpoints
            self.file_backend.rmtree(path)
