"""dl4all_mm.compat: the remaining, version-gated workaround; and importing
the plugin changes nothing in mmengine."""
import json
import os
import subprocess
import sys

import pytest
from mmengine.dataset import BaseDataset

from dl4all_mm import compat

_SNAPSHOT = """
import json
import mmengine.dist.utils as du
import mmengine.runner as mr
import mmengine.runner.checkpoint as ck
import mmengine.runner.runner as rr
from mmengine.dataset import BaseDataset
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
def where(func):
    return func.__code__.co_filename.split('site-packages/')[-1]
def snapshot():
    return dict(init_dist=where(du._init_dist_pytorch),
                save=[where(m.save_checkpoint) for m in (ck, rr, mr)],
                hook=where(CheckpointHook._save_checkpoint_with_step),
                runner=where(Runner.__init__),
                serialize=where(BaseDataset._serialize_data),
                schemes={k: where(v)
                         for k, v in ck.CheckpointLoader._schemes.items()})
before = snapshot()
import dl4all_mm
after = snapshot()
import dl4all_mm.engine.runners.use_safe_loader
print(json.dumps(dict(before=before, after=after, optin=snapshot())))
"""


def test_import_changes_nothing_in_mmengine():
    proc = subprocess.run([sys.executable, '-c', _SNAPSHOT],
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['after'] == out['before']
    assert out['before']['schemes'][''].startswith('mmengine')
    # the configs' custom_imports opt in to the safe loader, and only that
    optin = out['optin']
    assert optin['schemes'].pop('').endswith('checkpoint_loader.py')
    out['before']['schemes'].pop('')
    assert optin == out['before']


def test_every_patch_is_gated_on_a_version():
    assert set(compat.PATCHES) == {'empty_dataset_error'}
    for name, (bug, needed) in compat.PATCHES.items():
        assert 'mmengine <= 0.10.7' in bug and '#' in bug, name
        assert needed  # the pinned mmengine has the bug
    assert compat.patch_status() == {'empty_dataset_error': 'needed'}


class _Empty(BaseDataset):

    def load_data_list(self):
        return []


def test_empty_dataset_named_inside_the_block_only():
    with pytest.raises(ValueError, match='need at least one array') as err:
        _Empty(ann_file='empty.txt')  # control: mmengine's message
    assert not isinstance(err.value, compat.EmptyDatasetError)
    with compat.empty_dataset_error():
        with compat.empty_dataset_error():  # re-entrant
            pass
        with pytest.raises(compat.EmptyDatasetError, match='empty.txt'):
            _Empty(ann_file='empty.txt')
    assert BaseDataset._serialize_data is compat._SERIALIZE


def test_a_fixed_mmengine_is_left_alone(monkeypatch):
    monkeypatch.setattr('mmengine.__version__', '0.10.8')
    assert not compat._mmengine_at_most('0.10.7')
    monkeypatch.setitem(compat.PATCHES, 'empty_dataset_error',
                        ('fixed', False))
    with compat.empty_dataset_error():
        assert BaseDataset._serialize_data is compat._SERIALIZE
