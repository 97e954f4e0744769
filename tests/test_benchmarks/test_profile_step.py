"""``benchmarks/profile_step.py`` writes both profiles of a tiny run."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('mode', ['dl4all', 'stock'])
def test_profile_tables_and_record(tmp_path, mode):
    out = tmp_path / 'profile'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'benchmarks', 'profile_step.py'),
         '--mode', mode, '--img-size', '32', '--batch', '2', '--iters', '2',
         '--warmup', '1', '--workers', '0', '--threads', '1',
         '--images-per-domain', '4', '--top', '5', '--out', str(out)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / f'{mode}.json').read_text())
    assert record['data'] == 'synthetic' and record['ms_per_iter'] > 0
    ops = (out / f'{mode}_ops.txt').read_text()
    assert ops.startswith(f'{mode}: ') and 'aten::' in ops
    python = (out / f'{mode}_python.txt').read_text()
    assert 'function calls' in python
    assert (out / f'{mode}.pstats').stat().st_size > 0
