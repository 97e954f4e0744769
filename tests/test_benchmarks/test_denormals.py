"""Smoke test of ``benchmarks/denormals.py`` (tiny settings, no timing
asserts): the record's structure, the probes, and that the state of
flushing and the thread count are restored afterwards."""
import json
import os
import os.path as osp
import sys
import tempfile
import unittest
from unittest.mock import patch

import torch

from dl4all_mm.utils import denormals_flushed, set_flush_denormals

BENCH = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'benchmarks')
sys.path.insert(0, BENCH)
import denormals  # noqa: E402

TINY = ['--batch', '2', '--channels', '4', '--size', '8', '--iters', '2',
        '--warmup', '1', '--rounds', '2']


def _can_flush() -> bool:
    before = denormals_flushed()
    try:
        return set_flush_denormals(True)
    finally:
        set_flush_denormals(before)


@unittest.skipUnless(_can_flush(), 'this CPU cannot flush denormals')
class TestDenormalsBenchmark(unittest.TestCase):

    def setUp(self):
        self.addCleanup(torch.set_num_threads, torch.get_num_threads())
        self.addCleanup(set_flush_denormals, denormals_flushed())

    def _run(self, *extra):
        with tempfile.TemporaryDirectory() as tmp:
            out = osp.join(tmp, 'denormals.json')
            ret = denormals.main(TINY + list(extra) + ['--out', out])
            with open(out) as f:
                record = json.load(f)
        self.assertEqual(record['segments'], json.loads(
            json.dumps(ret['segments'])))
        return record

    def test_record_and_restored_state(self):
        for before in (True, False):
            set_flush_denormals(before)
            threads = torch.get_num_threads()
            record = self._run()
            self.assertEqual(denormals_flushed(), before)
            self.assertEqual(torch.get_num_threads(), threads)
            self.assertEqual(record['flushed_before'], before)
            self.assertEqual(record['flushed_after'], before)
        for key in ('command', 'machine', 'config', 'load_before',
                    'segments', 'modes', 'ratios'):
            self.assertIn(key, record)
        self.assertTrue(record['command'].startswith(
            'python benchmarks/denormals.py --batch 2'))
        self.assertIn('torch', record['machine'])
        self.assertEqual(len(record['segments']), 2 * len(denormals.MODES))
        order = [s['mode'] for s in record['segments']]
        self.assertEqual(order[:4], list(denormals.MODES))
        self.assertEqual(order[4:], list(denormals.MODES)[::-1])  # alternate
        for seg in record['segments']:
            for key in ('images_per_s', 'median_step_s', 'iters', 'round',
                        'load', 'flushed', 'conv1_out_subnormal',
                        'grad_subnormal', 'input_zero_fraction'):
                self.assertIn(key, seg)
            self.assertEqual(seg['iters'], 2)
            flushed = seg['mode'].endswith('_flushed')
            self.assertEqual(seg['flushed'], flushed)
            if seg['mode'] == 'subnormal':  # really computes on denormals
                self.assertGreater(seg['conv1_out_subnormal'], 0.9)
                self.assertGreater(seg['grad_subnormal'], 0.9)
            else:  # normal values, or denormals flushed to zero
                self.assertEqual(seg['conv1_out_subnormal'], 0.0)
                self.assertEqual(seg['grad_subnormal'], 0.0)
            if seg['mode'] == 'subnormal_flushed':  # inputs read as 0
                self.assertEqual(seg['input_zero_fraction'], 1.0)
        self.assertEqual(
            sorted(record['ratios']),
            sorted(f'{a}/{b}' for a, b in denormals.PAIRS))
        self.assertEqual(sorted(record['modes']), sorted(denormals.MODES))
        self.assertIn('median_step_ms', record['modes']['normal'])

    def test_keep_denormals_is_recorded(self):
        set_flush_denormals(False)
        with patch.dict(os.environ, {'DL4ALL_KEEP_DENORMALS': '1'}):
            record = self._run('--modes', 'subnormal_flushed', '--rounds',
                               '1')
        self.assertFalse(record['segments'][0]['flushed'])
        self.assertFalse(denormals_flushed())

    def test_bad_arguments(self):
        with self.assertRaises(SystemExit):
            denormals.parse_args(['--modes', 'normal,bogus'])
        with self.assertRaises(SystemExit):
            denormals.parse_args(['--scale', '1e-3'])


if __name__ == '__main__':
    unittest.main()
