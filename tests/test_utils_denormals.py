"""Importing dl4all_mm leaves denormals (torch and numpy) and warnings
alone; flushing is an explicit runtime choice."""
import json
import os
import subprocess
import sys
from unittest import TestCase
from unittest.mock import patch

import numpy as np
import torch

from dl4all_mm.utils import (denormals_flushed, flush_denormals,
                             set_flush_denormals)

_IMPORT = """
import json, sys, warnings
import numpy as np
import torch
# Third-party modules first: their own import-time warnings are theirs.
import mmcv, mmengine.runner, mmpretrain.apis, mmpretrain.models
import mmpretrain.datasets, mmpretrain.evaluation, timm, sklearn.metrics

def probe():
    tiny_torch = (torch.full((1,), 2.0 ** -126) / 4).item()
    tiny_numpy = float(np.float32(2.0 ** -126) / np.float32(4))
    return [tiny_torch, tiny_numpy]

before = probe()
filters = list(warnings.filters)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    import dl4all_mm
    np.finfo(np.float32), np.finfo(np.float64)  # warn once flushed
print(json.dumps(dict(before=before, after=probe(),
                      warnings=[str(w.message) for w in caught],
                      filters_kept=list(warnings.filters) == filters)))
"""


class TestImportSideEffects(TestCase):

    def test_import_changes_no_numeric_state_and_warns_nothing(self):
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
        proc = subprocess.run([sys.executable, '-c', _IMPORT],
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertGreater(out['before'][0], 0)  # denormals work here
        self.assertEqual(out['after'], out['before'])
        self.assertEqual(out['warnings'], [])
        self.assertTrue(out['filters_kept'])
        self.assertNotIn('subnormal', proc.stderr)


class TestFlushDenormals(TestCase):

    def setUp(self):
        self.addCleanup(set_flush_denormals, denormals_flushed())

    def test_on_off_and_probe(self):
        self.assertTrue(set_flush_denormals(True))
        self.assertTrue(denormals_flushed())
        tiny = torch.tensor([1e-39], dtype=torch.float32)
        self.assertEqual((tiny * 1.0).item(), 0.0)
        self.assertEqual(float(np.float32(1e-39) * np.float32(1)), 0.0)
        self.assertFalse(set_flush_denormals(False))
        self.assertFalse(denormals_flushed())
        self.assertGreater((torch.tensor([1e-39]) * 1.0).item(), 0.0)

    def test_opt_out(self):
        with patch.dict(os.environ, {'DL4ALL_KEEP_DENORMALS': '1'}):
            self.assertFalse(flush_denormals())
            self.assertFalse(denormals_flushed())
        self.assertTrue(flush_denormals())
        self.assertTrue(denormals_flushed())
