"""The comparison's work folder: refuse one that holds another task, write
``data/`` atomically, and fingerprint what each run reads.

``data/task.json`` records what the task was made from (its inputs, the
options that change every result, and a digest of its source, validation
and test lists). Target sizes, methods and seeds are not part of it: adding
one to a finished comparison trains only the new runs.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Optional

from .image_set import InputError

TASK_FILE = 'task.json'


def check_work_dir(work_dir: str) -> None:
    """The work folder is a writable folder (or can be made one).

    Raises:
        InputError: it is a file, or not writable.
    """
    probe = work_dir
    while not osp.exists(probe):
        parent = osp.dirname(osp.abspath(probe))
        if parent == probe:
            break
        probe = parent
    if not osp.isdir(probe):
        raise InputError(f'--work-dir {work_dir}: {probe} is a file, not a '
                         'folder')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f'--work-dir {work_dir}: {probe} is not writable')


def differences(old: dict, new: dict) -> Dict[str, tuple]:
    """Keys whose values differ: key -> (old, new)."""
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)}


def check_same_task(data_dir: str, identity: dict,
                    overwrite: bool = False) -> None:
    """Refuse a ``data/`` folder that holds another task.

    Raises:
        InputError: naming each differing input, option or split, unless
            ``overwrite``.
    """
    if overwrite or not osp.exists(data_dir):
        return
    path = osp.join(data_dir, TASK_FILE)
    try:
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
    except (OSError, ValueError):
        raise InputError(
            f'{data_dir} holds data of an unknown task (no readable '
            f'{TASK_FILE}); use another --work-dir, or --overwrite to '
            'replace it') from None
    diff = differences(old, identity)
    if diff:
        listed = '; '.join(f'{k}: {a!r} before, {b!r} now'
                           for k, (a, b) in diff.items())
        raise InputError(
            f'{data_dir} holds another task ({listed}); use another '
            '--work-dir, or --overwrite to replace it (finished runs of '
            'the old task are then trained again)')


def write_atomically(data_dir: str, files: Dict[str, str],
                     identity: Optional[dict] = None) -> None:
    """Write ``files`` (name -> text) and ``task.json`` into a temporary
    folder beside ``data_dir``, then move it into place; the old folder is
    removed only once the new one is complete."""
    parent = osp.dirname(osp.abspath(data_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.data-', dir=parent)
    old = None
    try:
        for name, text in files.items():
            with open(osp.join(tmp, name), 'w', encoding='utf-8') as f:
                f.write(text)
        if identity is not None:
            with open(osp.join(tmp, TASK_FILE), 'w', encoding='utf-8') as f:
                json.dump(identity, f, indent=1, sort_keys=True)
        if osp.exists(data_dir):
            old = tempfile.mkdtemp(prefix='.data-old-', dir=parent)
            os.rmdir(old)
            os.rename(data_dir, old)
        os.rename(tmp, data_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not osp.exists(data_dir):
            os.rename(old, data_dir)  # put the old data back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
