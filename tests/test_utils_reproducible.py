"""fixed_threads: the thread count for a block, and everything a
deterministic Runner changes process-wide put back afterwards."""
import os
from unittest import TestCase

import torch

from dl4all_mm.utils import fixed_threads
from dl4all_mm.utils.reproducible import CUBLAS_ENV


class TestFixedThreads(TestCase):

    def test_sets_then_restores(self):
        before = (torch.get_num_threads(),
                  torch.are_deterministic_algorithms_enabled(),
                  torch.backends.cudnn.deterministic,
                  torch.backends.cudnn.benchmark, os.environ.get(CUBLAS_ENV))
        wanted = 2 if before[0] != 2 else 1
        with self.assertRaisesRegex(RuntimeError, 'inside'):
            with fixed_threads(wanted):
                self.assertEqual(torch.get_num_threads(), wanted)
                # what randomness.deterministic=True does
                torch.use_deterministic_algorithms(True)
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = not before[3]
                raise RuntimeError('inside')
        after = (torch.get_num_threads(),
                 torch.are_deterministic_algorithms_enabled(),
                 torch.backends.cudnn.deterministic,
                 torch.backends.cudnn.benchmark, os.environ.get(CUBLAS_ENV))
        self.assertEqual(after, before)

    def test_bad_count(self):
        for threads in (0, -1, 1.5):
            with self.assertRaisesRegex(ValueError, 'threads'):
                with fixed_threads(threads):
                    pass
