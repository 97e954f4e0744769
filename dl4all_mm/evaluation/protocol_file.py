"""A comparison is a protocol: data -> splits -> runs -> records -> report.

Both front ends build the same object, a protocol file (the format of
:mod:`.protocol_runner`), and hand it to one runner,
:func:`execute_protocol`:

- ``tools/run_protocol.py PROTOCOL`` loads a protocol someone wrote;
- ``tools/compare_transfer.py`` (and its preset ``benchmarks/transfer.py``)
  prepares the data and splits, then writes one protocol per target size
  (``WORK/n{size}/protocol.json``, config paths absolute) and loads it
  back, so ``tools/run_protocol.py WORK/n{size}/protocol.json`` expands to
  byte-identical run specs.

Besides the runner's keys a protocol may hold ``title``, ``notes`` (the
report's), ``references``, ``decision`` (the report's decision rule,
default ``'argmax'``), ``record_fields`` (added to every record, e.g.
``target_size``) and ``method_fields`` (method -> fields added to its
records, e.g. ``cv_threshold``).
"""
import json
import os
import os.path as osp
from typing import Callable, Optional, Sequence, Tuple

from mmengine.config import Config

from .protocol_runner import run_protocol
from .run_spec import RunSpec

PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
_CLONE = osp.dirname(PACKAGE)
#: Where the configs are: a clone's ``configs/`` (beside ``setup.py``),
#: else the copy shipped with the package (``pip install``: the ``.mim``
#: folder, as mmpretrain's).
CONFIG_ROOTS = tuple(
    [osp.join(_CLONE, 'configs')] * osp.isfile(osp.join(_CLONE, 'setup.py'))
    + [osp.join(PACKAGE, '.mim', 'configs')])


def config_file(name: str) -> str:
    """Absolute path of a shipped config, ``name`` relative to
    ``configs/`` (a leading ``configs/`` is allowed).

    Raises:
        FileNotFoundError: no config root holds it (names the roots).
    """
    rel = name[len('configs/'):] if name.startswith('configs/') else name
    for root in CONFIG_ROOTS:
        path = osp.join(root, rel)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'config {name!r} is in none of {CONFIG_ROOTS}'
                            ' (reinstall dl4all_mm or run from a clone)')


def write_protocol(protocol: dict, path: str) -> None:
    """Write ``protocol`` as a JSON protocol file (mmengine reads it as a
    config); config paths must be absolute so it runs from anywhere."""
    for method in protocol['methods']:
        for stage in method.get('stages') or [method]:
            if not osp.isabs(stage['config']):
                raise ValueError(f'{path}: method {method["name"]!r} config '
                                 f'{stage["config"]!r} is not absolute')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(protocol, f, indent=2, sort_keys=True)
        f.write('\n')


def load_protocol(path: str, cfg_options: Optional[dict] = None) -> Config:
    """A protocol file (``.py`` or ``.json``) with ``cfg_options`` merged."""
    protocol = Config.fromfile(path)
    if cfg_options:
        protocol.merge_from_dict(cfg_options)
    return protocol


def execute_protocol(protocol,
                     runs: Sequence[RunSpec],
                     work_dir: str,
                     executor: Optional[Callable[[RunSpec, str], dict]] = None,
                     progress: bool = True) -> Tuple[list, list]:
    """Run the unfinished ``runs`` of ``protocol`` in ``work_dir`` with
    ``executor`` (default: one process per run) and write its report.

    Returns:
        tuple: ``(records, failures)`` as :func:`run_protocol`'s, each
        record with the protocol's ``record_fields``.
    """
    records, failures = run_protocol(
        runs, work_dir, references=list(protocol.get('references', [])),
        executor=executor, progress=progress,
        title=protocol.get('title', 'Protocol results'),
        notes=list(protocol.get('notes', [])),
        decision=protocol.get('decision', 'argmax'),
        record_fields=dict(protocol.get('record_fields', {})),
        method_fields=dict(protocol.get('method_fields', {})))
    return records, failures
