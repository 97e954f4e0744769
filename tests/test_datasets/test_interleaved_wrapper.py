import tempfile
from unittest import TestCase

from mmpretrain.registry import DATASETS
from mmpretrain.structures import MultiTaskDataSample

import dl4all_mm  # noqa: F401
from tests.test_reliability.tiny_runner import dataset_cfg, write_images


class TestInterleavedDatasetWrapper(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        write_images(cls.tmp.name)  # source: 12 images / 3 classes,
        # target: 10 images / 2 classes

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def build(self, **kwargs):
        root = self.tmp.name
        return DATASETS.build(
            dict(
                type='InterleavedDatasetWrapper',
                datasets=dict(
                    source=dataset_cfg(root, 'source'),
                    target=dataset_cfg(root, 'target')),
                **kwargs))

    def test_ranges_and_items(self):
        ds = self.build()
        self.assertEqual(len(ds), 22)
        self.assertEqual(ds.domain_ranges,
                         dict(source=(0, 12), target=(12, 22)))
        self.assertEqual(ds.locate(12), ('target', 0))
        self.assertEqual(ds.locate(-1), ('target', 9))
        item = ds[13]
        sample = item['data_samples']
        self.assertIsInstance(sample, MultiTaskDataSample)
        self.assertEqual(sample.metainfo['domain'], 'target')
        self.assertEqual(list(sample.tasks), ['target'])
        self.assertEqual(int(sample.target.gt_label), 1)
        self.assertEqual(ds.get_data_info(0)['domain'], 'source')
        with self.assertRaises(IndexError):
            ds.locate(22)

    def test_metainfo_keeps_every_domain(self):
        meta = self.build().metainfo
        self.assertEqual(meta['classes'], ('target0', 'target1'))
        self.assertEqual(meta['domains'], ['source', 'target'])
        self.assertEqual(meta['domain_metainfo']['source']['classes'],
                         ('source0', 'source1', 'source2'))
        meta = self.build(main_domain='source').metainfo
        self.assertEqual(len(meta['classes']), 3)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(KeyError, 'main_domain'):
            self.build(main_domain='nope')
        with self.assertRaisesRegex(TypeError, 'non-empty dict'):
            DATASETS.build(dict(type='InterleavedDatasetWrapper',
                                datasets={}))

    def test_empty_domain_is_named(self):
        root = self.tmp.name
        with open(f'{root}/empty.txt', 'w'):
            pass
        empty = dataset_cfg(root, 'target')
        empty['ann_file'] = 'empty.txt'
        with self.assertRaisesRegex(ValueError, 'empty.*empty.txt'):
            DATASETS.build(
                dict(
                    type='InterleavedDatasetWrapper',
                    datasets=dict(
                        source=dataset_cfg(root, 'source'), target=empty)))
