"""Final weights of every training step equal the recorded ones, bitwise.

The fixture ``golden/golden_weights.pth`` was written at 8de2179 (before the
training core was split into step components) by ``python -m
tests.test_engine.golden_runs --write``; the runs train in a fresh
single-thread child process (no state left by other tests). Bitwise
equality holds for one torch build on one kind of CPU: with another torch
version the test is skipped, naming both versions.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.test_engine.golden_runs import FIXTURE, RUNS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def golden():
    return torch.load(FIXTURE)


@pytest.fixture(scope='module')
def trained(golden, tmp_path_factory):
    if golden['torch'] != str(torch.__version__):
        pytest.skip(f'golden weights recorded with torch {golden["torch"]}, '
                    f'this is {torch.__version__}')
    out = str(tmp_path_factory.mktemp('golden') / 'weights.pth')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, '-m', 'tests.test_engine.golden_runs', out],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(out)['weights']


def test_runs_are_distinct(golden):
    """Every run leaves different weights (the test can tell them apart)."""
    weights = golden['weights']
    assert sorted(weights) == sorted(RUNS)
    names = sorted(weights)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert any(not torch.equal(weights[a][k], weights[b][k])
                       for k in weights[a]), f'{a} and {b} are identical'


@pytest.mark.parametrize('name', sorted(RUNS))
def test_final_weights_bitwise(golden, trained, name):
    expected, got = golden['weights'][name], trained[name]
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        assert torch.equal(got[key], value), f'{name}: {key} differs'
