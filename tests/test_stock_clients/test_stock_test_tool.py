"""mmpretrain's own ``tools/test.py`` (the installed package's script) on
one of our configs: the config's ``runner_type`` (``DL4ALLRunner``) and
checkpoint loader are found through its ``custom_imports`` alone."""
import glob
import json
import os.path as osp
import tempfile
import unittest

from .stock import DEMO_CONFIG, run_stock_tool, tiny_checkpoint, tiny_config


class TestStockTestTool(unittest.TestCase):

    def test_tests_a_checkpoint_and_writes_metrics(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = tiny_config(DEMO_CONFIG, tmp)
            ckpt = tiny_checkpoint(config, osp.join(tmp, 'tiny.pth'))
            work = osp.join(tmp, 'work')
            proc = run_stock_tool(
                'test.py', [config, ckpt, '--work-dir', work], timeout=600)
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
            records = glob.glob(osp.join(work, '*', '*.json'))
            self.assertTrue(records, proc.stdout[-2000:])
            with open(records[0], encoding='utf-8') as f:
                metrics = json.load(f)
            key = 'diagnostic/balanced_accuracy'
            self.assertIn(key, metrics)
            self.assertGreaterEqual(metrics[key], 0.0)
            self.assertLessEqual(metrics[key], 100.0)
