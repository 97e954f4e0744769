"""A local file backend whose writes are atomic."""
import os
import os.path as osp
from pathlib import Path
from typing import Callable, Union

from mmengine.fileio import LocalBackend, register_backend


def atomic_write(filepath: Union[str, Path], write: Callable) -> None:
    """Call ``write(f)`` on a temporary file next to ``filepath``, sync it
    and rename it to ``filepath``: readers see the old file or the complete
    new one, never a truncated one."""
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    tmp = f'{filepath}.tmp{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
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


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put``/``put_text`` write a temporary file,
    sync it and rename it into place: a process killed while writing leaves
    the previous file intact (mmengine's writes in place, and a kill leaves
    a truncated checkpoint). Select it with
    ``backend_args=dict(backend='atomic_local')``, as
    :class:`~dl4all_mm.engine.hooks.AtomicCheckpointHook` does."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically."""
        atomic_write(filepath, lambda f: f.write(obj))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        self.put(obj.encode(encoding), filepath)
