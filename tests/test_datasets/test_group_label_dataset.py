import os
import os.path as osp
import tempfile
from unittest import TestCase

import cv2
import numpy as np
from mmpretrain.registry import DATASETS

import dl4all_mm  # noqa: F401

NAMES = ['001.png_crop_1.png', '001.png_crop_2.png', '017.png_crop_1.png',
         '002.png_crop_5.png', '002.png_crop_6.png', '002.png_crop_7.png']


class TestGroupLabelDataset(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        os.makedirs(osp.join(cls.tmp.name, 'imgs'))
        for name in NAMES:
            cv2.imwrite(osp.join(cls.tmp.name, 'imgs', name),
                        np.zeros((4, 4, 3), np.uint8))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def build(self, **kwargs):
        return DATASETS.build(
            dict(type='GroupLabelDataset',
                 data_root=self.tmp.name,
                 data_prefix='imgs',
                 **kwargs))

    def test_adp_slide_labels(self):
        ds = self.build()
        self.assertEqual(ds.metainfo['classes'], ('001', '002', '017'))
        labels = {
            osp.basename(ds.get_data_info(i)['img_path']):
            ds.get_data_info(i)['gt_label']
            for i in range(len(ds))
        }
        self.assertEqual(labels['017.png_crop_1.png'], 2)
        self.assertEqual(labels['002.png_crop_6.png'], 1)
        self.assertEqual(ds.get_data_info(0)['group'], '001')

    def test_min_group_size_and_custom_regex(self):
        ds = self.build(min_group_size=2)
        self.assertEqual(ds.metainfo['classes'], ('001', '002'))
        self.assertEqual(len(ds), 5)
        ds = self.build(group_regex=r'crop_(\d+)')
        self.assertEqual(len(ds.metainfo['classes']), 6 - 1)  # 1 repeats

    def test_errors_name_the_file_and_pattern(self):
        with self.assertRaisesRegex(ValueError, 'capture group'):
            self.build(group_regex=r'\d+')
        with self.assertRaisesRegex(ValueError, r'does not match.*zzz'):
            self.build(group_regex=r'(zzz)')
