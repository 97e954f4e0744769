"""Tests of tools/infer.py (CSV and Grad-CAM output, tiny model)."""
import argparse
import csv
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import tempfile
import unittest

import cv2
import numpy as np

from dl4all_mm.engine.runners import checkpoint_loader as ckpt_loader
from tests.test_apis.tiny_fixtures import (DOMAIN_CONFIG, PLAIN_CONFIG,
                                           TARGET_CLASSES, domain_meta,
                                           save_tiny_checkpoint, write_config,
                                           write_images)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'infer.py')
_spec = importlib.util.spec_from_file_location('infer_tool', SCRIPT)
infer_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(infer_tool)


class TestInferTool(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.config = write_config(cls.dir, DOMAIN_CONFIG)
        cls.ckpt = osp.join(cls.dir, 'tiny.pth')
        save_tiny_checkpoint(cls.config, cls.ckpt, domain_meta())
        cls.images = write_images(osp.join(cls.dir, 'imgs'))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def read_csv(self, path):
        with open(path, newline='') as f:
            return list(csv.DictReader(f))

    def test_command_line_csv_and_cams(self):
        out = osp.join(self.dir, 'run', 'preds.csv')
        cams = osp.join(self.dir, 'run', 'cams')
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
        proc = subprocess.run([
            sys.executable, SCRIPT, self.config, self.ckpt,
            osp.join(self.dir, 'imgs'), self.images[0], '--out', out,
            '--cam-dir', cams, '--device', 'cpu', '--batch-size', '2'
        ],
                              capture_output=True,
                              text=True,
                              env=env,
                              cwd=ROOT,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertIn('6/6', proc.stderr)  # tqdm progress bar
        self.assertIn('6 predictions (head: target)', proc.stdout)
        rows = self.read_csv(out)
        self.assertEqual(
            list(rows[0]), [
                'path', 'pred_label', 'pred_class', 'pred_score',
                'prob_normal', 'prob_ALL', 'cam_path'
            ])
        self.assertEqual([r['path'] for r in rows],
                         sorted(self.images) + [self.images[0]])
        for row in rows:
            probs = np.array([float(row[f'prob_{c}']) for c in TARGET_CLASSES])
            self.assertAlmostEqual(probs.sum(), 1, places=5)
            self.assertEqual(row['pred_class'],
                             TARGET_CLASSES[int(row['pred_label'])])
            self.assertEqual(int(row['pred_label']), int(probs.argmax()))
            self.assertAlmostEqual(
                float(row['pred_score']), probs.max(), places=6)
            overlay = cv2.imread(row['cam_path'])
            self.assertEqual(overlay.shape, (64, 64, 3))
        # The repeated image gets its own overlay, with the same content.
        self.assertEqual(len(set(r['cam_path'] for r in rows)), 6)
        first = cv2.imread(rows[0]['cam_path'])
        np.testing.assert_array_equal(first, cv2.imread(rows[-1]['cam_path']))

    def test_options(self):
        out = osp.join(self.dir, 'opt', 'preds.csv')
        cams = osp.join(self.dir, 'opt', 'cams')
        code = infer_tool.main([
            self.config, self.ckpt, self.images[1], '--out', out, '--cam-dir',
            cams, '--target-layers', 'backbone.layer3', '--cam-method',
            'gradcam++', '--device', 'cpu', '--no-progress', '--cfg-options',
            'model.eval_domain=source'
        ])
        self.assertEqual(code, 0)
        rows = self.read_csv(out)
        # eval_domain=source: the source head and its classes predict.
        self.assertEqual(
            list(rows[0])[4:7],
            ['prob_basophil', 'prob_eosinophil', 'prob_neutrophil'])
        self.assertTrue(osp.isfile(rows[0]['cam_path']))
        with self.assertRaisesRegex(KeyError, 'backbone.nope'):
            infer_tool.main([
                self.config, self.ckpt, self.images[1], '--out',
                osp.join(self.dir, 'no', 'x.csv'), '--cam-dir', cams,
                '--target-layers', 'backbone.nope', '--device', 'cpu'
            ])
        self.assertFalse(osp.exists(osp.join(self.dir, 'no', 'x.csv')))
        with self.assertRaises(SystemExit):
            infer_tool.parse_args([
                self.config, self.ckpt, 'x', '--out', 'o.csv', '--batch-size',
                '0'
            ])

    def test_trust_checkpoint_flag(self):
        plain = write_config(self.dir, PLAIN_CONFIG, 'plain.py')
        evil = osp.join(self.dir, 'evil.pth')
        save_tiny_checkpoint(
            plain, evil,
            dict(
                dataset_meta=dict(classes=('n', 'a')),
                extra=argparse.Namespace(a=1)))
        out = osp.join(self.dir, 'evil.csv')
        args = [
            plain, evil, self.images[0], '--out', out, '--device', 'cpu',
            '--no-progress'
        ]
        self.addCleanup(os.environ.__setitem__, ckpt_loader.TRUST_ENV,
                        os.environ.get(ckpt_loader.TRUST_ENV, '0'))
        with self.assertRaisesRegex(ckpt_loader.UntrustedCheckpointError,
                                    'evil.pth'):
            infer_tool.main(args)
        self.assertEqual(infer_tool.main(args + ['--trust-checkpoint']), 0)
        self.assertIn(self.read_csv(out)[0]['pred_class'], ('n', 'a'))


if __name__ == '__main__':
    unittest.main()
