"""How data reaches a protocol's configs: one mechanism for every route.

A protocol names its data by *role* and each stage names its *layout*,
where its config keeps the datasets of each role::

    paths = dict(data_root='data')     # '{data_root}' in `data` strings
    data = dict(                       # protocol level (a fold's `data`
        source=dict(data_root='{data_root}/pbc'),  # and a stage's override
        target=dict(data_root='{data_root}/all_aria',  # it per role and
                    ann_file='{data_root}/aria_lowdata/train.txt'),  # field)
        val=dict(...), test=dict(...))
    methods = [dict(name='dl4all-joint', config='...',
                    data_layout='dl4all'), ...]

:func:`dataset_options` turns them into the stage's cfg-options
(``train_dataloader.dataset.datasets.source.data_root`` ...), before the
stage's own ``cfg_options``, which win. ``tools/run_protocol.py`` reads the
``data`` of a hand-written protocol file; ``tools/compare_transfer.py``
writes its prepared data (annotation files, classes) into the same
``data`` of the protocol it writes, so both routes set the same options
through this one function.
"""
from typing import Dict, Mapping, Optional

#: Where each stage layout keeps its datasets: role -> dotted config key.
LAYOUTS: Dict[str, Dict[str, str]] = {
    'single': dict(target='train_dataloader.dataset',
                   val='val_dataloader.dataset',
                   test='test_dataloader.dataset'),
    'source': dict(source='train_dataloader.dataset'),
    'mixed': dict(source='train_dataloader.dataset.datasets.source',
                  target='train_dataloader.dataset.datasets.target.dataset',
                  val='val_dataloader.dataset.datasets.target',
                  test='test_dataloader.dataset.datasets.target'),
    'dl4all': dict(source='train_dataloader.dataset.datasets.source',
                   target='train_dataloader.dataset.datasets.target',
                   val='val_dataloader.dataset',
                   test='test_dataloader.dataset'),
}


def merge_data(*levels: Optional[Mapping]) -> Dict[str, dict]:
    """Role -> fields, later levels (protocol, fold, stage) winning per
    field."""
    out: Dict[str, dict] = {}
    for level in levels:
        for role, fields in dict(level or {}).items():
            out.setdefault(role, {}).update(dict(fields))
    return out


def dataset_options(layout: str, data: Mapping, where: str = 'protocol',
                    paths: Optional[Mapping] = None) -> dict:
    """The cfg-options that point a stage of ``layout`` (a key of
    :data:`LAYOUTS`) at ``data`` (role -> dataset fields, e.g.
    ``data_root``, ``ann_file``, ``data_prefix``, ``classes``).

    ``{NAME}`` in a string field is replaced by ``paths[NAME]`` (the
    protocol's ``paths``, so one option moves every role:
    ``--cfg-options paths.data_root=/data``); other placeholders
    (``{seed}``, ``{fold}``, ...) are left for the run.

    Raises:
        KeyError: an unknown layout, or a role of the layout the data lacks
            (names the stage and what exists).
        ValueError: a role's fields are not a dict.
    """
    if layout not in LAYOUTS:
        raise KeyError(f'{where}: data_layout {layout!r} is unknown; '
                       f'layouts: {sorted(LAYOUTS)}')
    opts: dict = {}
    for role, key in LAYOUTS[layout].items():
        if role not in data:
            raise KeyError(f'{where}: data_layout {layout!r} needs data role '
                           f'{role!r}; the protocol data has {sorted(data)}')
        fields = data[role]
        if not isinstance(fields, Mapping):
            raise ValueError(f'{where}: data.{role} must be a dict of '
                             f'dataset fields, got {fields!r}')
        opts.update({f'{key}.{name}': _paths(value, paths or {})
                     for name, value in fields.items()})
    return opts


def _paths(value, paths: Mapping):
    if isinstance(value, str):
        for name, path in paths.items():
            value = value.replace('{' + name + '}', str(path))
    return value
