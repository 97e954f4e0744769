"""``benchmarks/overhead.py`` runs discarded warm-up rounds before the
timed rounds (segments mocked: no training runs here)."""
import json
import os.path as osp
import sys
import tempfile
import unittest
from unittest.mock import patch

BENCH = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'benchmarks')
sys.path.insert(0, BENCH)
import overhead  # noqa: E402


def fake_segment(calls):
    """A segment whose speed is 10 img/s for the first segment of the run
    (a cold machine) and 60 img/s after it, for every mode."""

    def run_segment(args, mode, spec_path, iters):
        calls.append(mode)
        ips = 10.0 if len(calls) == 1 else 60.0
        return dict(mode=mode, images_per_s=ips, main_cpu_images_per_s=ips,
                    cpu_ms_per_image=1e3 / ips, iters=iters,
                    wall_s=iters * 32 / ips)

    return run_segment


class TestOverheadWarmupRounds(unittest.TestCase):

    def _main(self, *extra):
        calls = []
        with tempfile.TemporaryDirectory() as tmp, patch.object(
                overhead, 'run_segment', fake_segment(calls)):
            out = osp.join(tmp, 'o.json')
            overhead.main([
                '--modes', 'dl4all,stock,limit', '--iters', '4', '--rounds',
                '2', '--images-per-domain', '2', '--src-size', '16',
                '--work-dir', tmp, '--json', out
            ] + list(extra))
            with open(out) as f:
                return calls, json.load(f)

    def test_warmup_round_is_run_first_and_discarded(self):
        calls, rec = self._main()
        self.assertEqual(rec['config']['warmup_rounds'], 1)
        self.assertEqual(calls, ['dl4all', 'stock', 'limit'] * 2 +
                         ['limit', 'stock', 'dl4all'])
        self.assertEqual([s['round'] for s in rec['warmup_segments']],
                         [-1] * 3)
        self.assertEqual(rec['warmup_segments'][0]['images_per_s'], 10.0)
        self.assertEqual([s['round'] for s in rec['segments']],
                         [0] * 3 + [1] * 3)
        # the cold first segment does not reach any figure
        self.assertEqual(rec['ratios']['dl4all/stock']['min'], 1.0)
        self.assertEqual(rec['modes']['dl4all']['min'], 60.0)

    def test_without_warmup_round_the_cold_segment_counts(self):
        calls, rec = self._main('--warmup-rounds', '0')
        self.assertEqual(len(calls), 6)
        self.assertEqual(rec['warmup_segments'], [])
        self.assertAlmostEqual(rec['ratios']['dl4all/stock']['min'], 1 / 6)

    def test_negative_warmup_rounds_refused(self):
        with self.assertRaises(SystemExit):
            overhead.parse_args(['--warmup-rounds', '-1'])


if __name__ == '__main__':
    unittest.main()
