import os
from unittest import TestCase
from unittest.mock import patch

import torch

import dl4all_mm  # noqa: F401
from dl4all_mm.utils import flush_denormals


class TestFlushDenormals(TestCase):

    def tearDown(self):
        flush_denormals()

    def test_import_flushes_denormals(self):
        tiny = torch.tensor([1e-39], dtype=torch.float32)
        self.assertEqual((tiny * 1.0).item(), 0.0)

    def test_opt_out(self):
        with patch.dict(os.environ, {'DL4ALL_KEEP_DENORMALS': '1'}):
            self.assertFalse(flush_denormals())
        tiny = torch.tensor([1e-39], dtype=torch.float32)
        self.assertGreater((tiny * 1.0).item(), 0.0)
        self.assertTrue(flush_denormals())
        self.assertEqual((tiny * 1.0).item(), 0.0)
