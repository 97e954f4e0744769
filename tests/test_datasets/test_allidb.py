import os
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

from mmpretrain.registry import DATASETS

from dl4all_mm.datasets import ALLIDB1Dataset, ALLIDB2Dataset
from tests.fixtures.field_datasets import (make_allidb1_tree,
                                           make_allidb2_tree)


class TestALLIDB2Dataset(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.files = make_allidb2_tree(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_load(self):
        pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
        for root in (self.tmp, osp.join(self.tmp, 'ALL_IDB2'),
                     osp.join(self.tmp, 'ALL_IDB2', 'img')):
            dataset = DATASETS.build(
                dict(type='ALLIDB2Dataset', data_root=root, pipeline=pipeline))
            self.assertEqual(dataset.metainfo['classes'], ('normal', 'blast'))
            got = {
                osp.basename(dataset.get_data_info(i)['img_path']):
                dataset.get_data_info(i)['gt_label']
                for i in range(len(dataset))
            }
            want = {osp.basename(f['rel']): f['label'] for f in self.files}
            self.assertEqual(got, want)
        self.assertEqual(dataset.get_data_info(0)['image_id'], 'Im001')
        self.assertEqual(tuple(dataset[0]['inputs'].shape), (3, 16, 16))

    def test_ann_file(self):
        with open(osp.join(self.tmp, 'ann.txt'), 'w') as f:
            f.write('ALL_IDB2/img/Im131_0.tif 0\nALL_IDB2/img/Im002_1.tif 1\n')
        dataset = ALLIDB2Dataset(self.tmp, ann_file='ann.txt')
        self.assertEqual(
            [dataset.get_data_info(i)['gt_label'] for i in range(2)], [0, 1])
        with open(osp.join(self.tmp, 'ann.txt'), 'w') as f:
            f.write('ALL_IDB2/img/Im131_0.tif 1\n')
        with self.assertRaisesRegex(ValueError, 'Im131_0.tif.*contradicts'):
            ALLIDB2Dataset(self.tmp, ann_file='ann.txt')

    def test_bad_layouts(self):
        with self.assertRaisesRegex(FileNotFoundError,
                                    'ALL_IDB2/img.*docs/datasets.md'):
            ALLIDB2Dataset(osp.join(self.tmp, 'elsewhere'))
        bad = osp.join(self.tmp, 'ALL_IDB2', 'img', 'blast_7.tif')
        open(bad, 'w').close()
        with self.assertRaisesRegex(ValueError,
                                    r'blast_7.tif.*Im<NNN>_<0\|1>.tif'):
            ALLIDB2Dataset(self.tmp)


class TestALLIDB1Dataset(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.fields = make_allidb1_tree(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_load(self):
        dataset = ALLIDB1Dataset(self.tmp)
        self.assertEqual(len(dataset), len(self.fields))
        for i, want in enumerate(self.fields):
            info = dataset.get_data_info(i)
            self.assertEqual(info['img_path'], osp.join(self.tmp, want['rel']))
            self.assertEqual(info['gt_label'], want['label'])
            self.assertEqual(info['centroids'], want['centroids'])
        self.assertEqual(dataset.metainfo['classes'], ('normal', 'blast'))

    def test_xyc(self):
        xyc = osp.join(self.tmp, 'ALL_IDB1', 'xyc')
        os.remove(osp.join(xyc, 'Im034_0.xyc'))
        self.assertEqual(
            ALLIDB1Dataset(self.tmp).get_data_info(2)['centroids'], [])
        with open(osp.join(xyc, 'Im002_1.xyc'), 'w') as f:
            f.write('5\tsix\n')
        with self.assertRaisesRegex(ValueError, r'Im002_1.xyc:1'):
            ALLIDB1Dataset(self.tmp)
        os.remove(osp.join(xyc, 'Im002_1.xyc'))
        with self.assertRaisesRegex(FileNotFoundError, 'Im002_1.xyc'):
            ALLIDB1Dataset(self.tmp)
        dataset = ALLIDB1Dataset(self.tmp, with_centroids=False)
        self.assertNotIn('centroids', dataset.get_data_info(0))
