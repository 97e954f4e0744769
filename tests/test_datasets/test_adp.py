import os
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

from mmpretrain.registry import DATASETS

from dl4all_mm.datasets import ADPDataset
from dl4all_mm.datasets.adp import ADP_LEVEL_CLASSES
from tests.fixtures.field_datasets import (ADP_CODES, make_adp_tree,
                                           make_cnmc_tree)

CSV = 'ADP_EncodedLabels_Release1_Flat.csv'


class TestADPDataset(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.labels = make_adp_tree(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_levels(self):
        want_sizes = {1: 9, 2: 26, 3: 38}
        for level, size in want_sizes.items():
            dataset = DATASETS.build(
                dict(type='ADPDataset', data_root=self.tmp, level=level))
            classes = dataset.metainfo['classes']
            self.assertEqual(len(classes), size)
            self.assertEqual(classes, ADP_LEVEL_CLASSES[level])
            self.assertTrue(all(c.count('.') < level for c in classes))
            self.assertFalse(any(c.endswith('X') for c in classes))
            self.assertEqual(len(dataset), len(self.labels))
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                name = osp.basename(info['img_path'])
                want = [c for c in self.labels[name] if c in classes]
                self.assertEqual([classes[j] for j in info['gt_label']], want)
                self.assertEqual(dataset.get_cat_ids(i), info['gt_label'])
                self.assertEqual(info['slide_id'], name[:3])

    def test_reference_class_lists(self):
        """The class lists of the DL4ALL reference (HistoTNet's
        classes/classesADP.py, same author): 9 / 26 / 38 codes, the
        real CSV's 43 columns without the five '.X' codes."""
        self.assertEqual(ADP_LEVEL_CLASSES[1],
                         ('E', 'C', 'H', 'S', 'A', 'M', 'N', 'G', 'T'))
        self.assertEqual(len(ADP_CODES), 43)
        no_x = [c for c in ADP_CODES if not c.endswith('.X')]
        self.assertEqual(list(ADP_LEVEL_CLASSES[3]), no_x)
        self.assertEqual(list(ADP_LEVEL_CLASSES[2]),
                         [c for c in no_x if c.count('.') < 2])
        for code in ('N.G.A', 'N.G.O', 'N.G.E', 'N.G.R', 'N.G.T'):
            self.assertIn(code, ADP_LEVEL_CLASSES[3])

    def test_level_column_missing(self):
        with open(osp.join(self.tmp, CSV), 'w') as f:
            f.write('Patch Names,E,C\n001.png_crop_1.png,1,0\n')
        with self.assertRaisesRegex(ValueError,
                                    CSV + ".*level 1 needs.*'H'"):
            ADPDataset(self.tmp, ann_file='', level=1)

    def test_self(self):
        dataset = ADPDataset(self.tmp, level='self')
        self.assertEqual(dataset.metainfo['classes'], ('001', '002', '003'))
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            name = osp.basename(info['img_path'])
            self.assertEqual(info['gt_label'], int(name.split('.')[0]) - 1)
        # Self labels do not need the CSV: the folder is listed instead
        os.remove(osp.join(self.tmp, CSV))
        self.assertEqual(len(ADPDataset(self.tmp, level='self')), 6)

    def test_pipeline_multilabel(self):
        pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
        dataset = ADPDataset(self.tmp, level=1, pipeline=pipeline)
        sample = dataset[0]
        self.assertEqual(sample['data_samples'].gt_label.tolist(),
                         dataset.get_data_info(0)['gt_label'])

    def test_ann_file_and_classes(self):
        with open(osp.join(self.tmp, 'sub.txt'), 'w') as f:
            f.write('img_res_1um_bicubic/002.png_crop_16.png 1\n'
                    'img_res_1um_bicubic/003.png_crop_1.png\n')
        dataset = ADPDataset(self.tmp, ann_file='sub.txt', level='self')
        self.assertEqual(len(dataset), 2)
        # classes stay those of the whole set, whatever the subset
        self.assertEqual(dataset.metainfo['classes'], ('001', '002', '003'))
        self.assertEqual(dataset.get_data_info(0)['gt_label'], 1)
        dataset = ADPDataset(self.tmp, level=3, classes=['T', 'E'])
        self.assertEqual(dataset.metainfo['classes'], ('T', 'E'))
        with self.assertRaisesRegex(ValueError, 'not columns'):
            ADPDataset(self.tmp, level=3, classes=['X.Y'])

    def test_bad_inputs(self):
        with self.assertRaisesRegex(ValueError, 'level'):
            ADPDataset(self.tmp, level=4)
        # missing image listed by the CSV
        os.remove(
            osp.join(self.tmp, 'img_res_1um_bicubic', '001.png_crop_1.png'))
        with self.assertRaisesRegex(FileNotFoundError, '001.png_crop_1'):
            ADPDataset(self.tmp)
        # unknown file-name pattern
        with open(osp.join(self.tmp, 'bad.txt'), 'w') as f:
            f.write('img_res_1um_bicubic/patch\n')
        open(osp.join(self.tmp, 'img_res_1um_bicubic', 'patch'), 'w').close()
        with self.assertRaisesRegex(ValueError, 'patch.*<slide>.png_crop'):
            ADPDataset(self.tmp, ann_file='bad.txt', level='self')
        # bad header
        with open(osp.join(self.tmp, CSV), 'w') as f:
            f.write('name,label\n001.png_crop_16.png,3\n')
        with self.assertRaisesRegex(ValueError, 'Patch Names'):
            ADPDataset(self.tmp)
        # missing labels CSV
        os.remove(osp.join(self.tmp, CSV))
        with self.assertRaisesRegex(FileNotFoundError,
                                    CSV + '.*docs/datasets.md'):
            ADPDataset(self.tmp, level=2)
        # empty image folder
        shutil.rmtree(osp.join(self.tmp, 'img_res_1um_bicubic'))
        os.makedirs(osp.join(self.tmp, 'img_res_1um_bicubic'))
        with self.assertRaisesRegex(ValueError, 'img_res_1um_bicubic.*no '):
            ADPDataset(self.tmp, level='self')

    def test_as_source_domain(self):
        """ADP (Self) and C-NMC as the two domains of the DL4ALL wrapper."""
        cnmc_root = osp.join(self.tmp, 'cnmc')
        make_cnmc_tree(cnmc_root)
        pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
        wrapper = DATASETS.build(
            dict(
                type='InterleavedDatasetWrapper',
                datasets=dict(
                    source=dict(
                        type='ADPDataset',
                        data_root=self.tmp,
                        level='self',
                        pipeline=pipeline),
                    target=dict(
                        type='CNMC2019Dataset',
                        data_root=cnmc_root,
                        pipeline=pipeline))))
        self.assertEqual(wrapper.metainfo['classes'], ('hem', 'all'))
        self.assertEqual(
            wrapper.metainfo['domain_metainfo']['source']['classes'],
            ('001', '002', '003'))
        first, last = wrapper[0], wrapper[len(wrapper) - 1]
        self.assertEqual(first['data_samples'].metainfo['domain'], 'source')
        self.assertEqual(last['data_samples'].metainfo['domain'], 'target')
        self.assertEqual(wrapper.get_data_info(0)['slide_id'], '001')
