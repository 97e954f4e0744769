import contextlib
import csv
import importlib.util
import io
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

import cv2
import numpy as np

from mmpretrain.datasets import CustomDataset

from tests.fixtures.field_datasets import make_allidb1_tree

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'allidb1_to_patches',
    osp.join(REPO, 'tools', 'dataset_converters', 'allidb1_to_patches.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


class TestALLIDB1ToPatches(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.fields = make_allidb1_tree(self.tmp)  # 96x72 fields
        self.out = osp.join(self.tmp, 'patches')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_patches(self):
        with contextlib.redirect_stdout(io.StringIO()):
            records = tool.main([
                '--data-root', self.tmp, '--out-dir', self.out, '--patch-size',
                '16', '--min-dist', '12', '--seed', '3'
            ])
        blasts = [r for r in records if r['label'] == 1]
        # one blast patch per centroid, cut at the centroid
        want = [(f['rel'][12:19], c) for f in self.fields
                for c in f['centroids']]
        self.assertEqual([(r['source'], [r['x'], r['y']]) for r in blasts],
                         want)
        field = cv2.imread(osp.join(self.tmp, self.fields[0]['rel']))
        patch = cv2.imread(osp.join(self.out, blasts[0]['patch']))
        x, y = self.fields[0]['centroids'][0]
        np.testing.assert_array_equal(patch, field[y - 8:y + 8, x - 8:x + 8])
        # the (5, 60) centroid sits near the border: shifted inside
        edge = cv2.imread(osp.join(self.out, blasts[2]['patch']))
        self.assertEqual(edge.shape, (16, 16, 3))
        # negatives: as many as blasts (at least one) per field, far away
        negatives = [r for r in records if r['label'] == 0]
        self.assertEqual(len(negatives), 2 + 1 + 1 + 1)
        for r in negatives:
            cents = [
                f['centroids'] for f in self.fields if r['source'] in f['rel']
            ][0]
            for cx, cy in cents:
                self.assertGreaterEqual(np.hypot(r['x'] - cx, r['y'] - cy), 12)
        # an mmpretrain-style folder with 0 normal / 1 blast
        dataset = CustomDataset(
            data_root=self.out,
            ann_file='ann.txt',
            classes=osp.join(self.out, 'classes.txt'))
        self.assertEqual(dataset.metainfo['classes'], ('normal', 'blast'))
        self.assertEqual(len(dataset), len(records))
        self.assertEqual(
            sorted(dataset.get_gt_labels().tolist()),
            sorted(r['label'] for r in records))
        with open(osp.join(self.out, 'patches.csv')) as f:
            self.assertEqual(len(list(csv.DictReader(f))), len(records))

    def test_bad_patch_size(self):
        with self.assertRaisesRegex(ValueError, 'patch-size 100'):
            with contextlib.redirect_stdout(io.StringIO()):
                tool.main([
                    '--data-root', self.tmp, '--out-dir', self.out,
                    '--patch-size', '100'
                ])
