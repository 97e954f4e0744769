import tempfile
from unittest import TestCase

from mmengine.config import Config

from dl4all_mm.utils import check_data_paths, missing_data_paths


class TestDataCheck(TestCase):

    def test_names_every_missing_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Config(
                dict(
                    train_dataloader=dict(
                        dataset=dict(
                            type='InterleavedDatasetWrapper',
                            datasets=dict(
                                source=dict(
                                    type='ADPDataset',
                                    data_root='data/adp_missing'),
                                target=dict(
                                    type='CustomDataset',
                                    data_root=tmp,
                                    ann_file='splits/train.txt')))),
                    val_dataloader=dict(
                        dataset=dict(type='CustomDataset', data_root=tmp))))
            problems = missing_data_paths(cfg)
            self.assertEqual(len(problems), 2)
            self.assertIn("data_root 'data/adp_missing'", problems[0])
            self.assertIn('datasets.source', problems[0])
            self.assertIn('splits/train.txt', problems[1])
            with self.assertRaisesRegex(FileNotFoundError,
                                        'docs/datasets.md'):
                check_data_paths(cfg)
            check_data_paths(cfg, splits=('val_dataloader', ))
