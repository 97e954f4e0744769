"""Data reaches configs one way: a protocol's ``data`` (overridden per role
and field by a fold's and a stage's), placed by each stage's
``data_layout`` (:func:`dataset_options`), before the stage's options."""
import os.path as osp
import unittest

from dl4all_mm.evaluation.protocol_data import (LAYOUTS, dataset_options,
                                                merge_data)
from dl4all_mm.evaluation.protocol_runner import expand_protocol

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'dl4all',
                  'dl4all-regular_resnet18_pbc2aria-lowdata.py')
SINGLE = osp.join(ROOT, 'configs', 'baselines',
                  'target-only_resnet18_pbc2aria-lowdata.py')


class TestDatasetOptions(unittest.TestCase):

    def test_options_of_a_layout(self):
        data = dict(source=dict(data_root='{root}/pbc'),
                    target=dict(ann_file='t.txt', classes=['a', 'b']),
                    val=dict(ann_file='v.txt'),
                    test=dict(ann_file='{root}/{seed}.txt'))
        opts = dataset_options('dl4all', data, paths=dict(root='/d'))
        self.assertEqual(opts, {
            'train_dataloader.dataset.datasets.source.data_root': '/d/pbc',
            'train_dataloader.dataset.datasets.target.ann_file': 't.txt',
            'train_dataloader.dataset.datasets.target.classes': ['a', 'b'],
            'val_dataloader.dataset.ann_file': 'v.txt',
            # a run placeholder is left for the run
            'test_dataloader.dataset.ann_file': '/d/{seed}.txt'})
        self.assertEqual(set(LAYOUTS), {'single', 'source', 'mixed',
                                        'dl4all'})

    def test_bad_input_is_named(self):
        with self.assertRaisesRegex(KeyError, "stage 0: data_layout 'x'"):
            dataset_options('x', {}, 'stage 0')
        with self.assertRaisesRegex(KeyError, "needs data role 'val'"):
            dataset_options('single', dict(target={}, test={}))
        with self.assertRaisesRegex(ValueError, 'data.test must be a dict'):
            dataset_options('single', dict(target={}, val={}, test='t'))

    def test_merge_per_role_and_field(self):
        self.assertEqual(
            merge_data(dict(a=dict(x=1, y=2), b=dict(z=3)), None,
                       dict(a=dict(y=5))),
            dict(a=dict(x=1, y=5), b=dict(z=3)))


class TestExpandProtocol(unittest.TestCase):

    def test_protocol_fold_and_stage_data(self):
        protocol = dict(
            paths=dict(root='/data'),
            data=dict(source=dict(data_root='{root}/pbc'),
                      target=dict(ann_file='{root}/train.txt'),
                      val=dict(ann_file='{root}/val.txt'),
                      test=dict(ann_file='{root}/test.txt')),
            methods=[
                dict(name='dl4all', config=CONFIG, data_layout='dl4all'),
                dict(name='single', stages=[dict(
                    config=SINGLE, data_layout='single',
                    data=dict(test=dict(ann_file='/other/test.txt')),
                    cfg_options={'val_dataloader.dataset.ann_file':
                                 '/mine.txt'})]),
                dict(name='plain', config=SINGLE),
            ],
            folds=[dict(name=0, data=dict(val=dict(ann_file='/f0/val.txt')))])
        runs = {r.method: r.stages[0]['cfg_options']
                for r in expand_protocol(protocol)}
        self.assertEqual(runs['dl4all'], {
            'train_dataloader.dataset.datasets.source.data_root': '/data/pbc',
            'train_dataloader.dataset.datasets.target.ann_file':
            '/data/train.txt',
            'val_dataloader.dataset.ann_file': '/f0/val.txt',
            'test_dataloader.dataset.ann_file': '/data/test.txt'})
        self.assertEqual(runs['single'], {
            'train_dataloader.dataset.ann_file': '/data/train.txt',
            'val_dataloader.dataset.ann_file': '/mine.txt',  # options win
            'test_dataloader.dataset.ann_file': '/other/test.txt'})
        self.assertEqual(runs['plain'], {})  # no layout: no data

    def test_missing_role_names_the_stage(self):
        protocol = dict(data=dict(target={}), methods=[
            dict(name='m', config=SINGLE, data_layout='single')])
        with self.assertRaisesRegex(KeyError, "method 'm' stage 0.*'val'"):
            expand_protocol(protocol, 'p.py')


class TestShippedProtocols(unittest.TestCase):

    def test_protocol_data_is_what_the_configs_hold(self):
        """Every stage of configs/protocols/*.py names its layout, and the
        protocol's data, placed by it, leaves the configs' datasets as they
        are: the files moved to one mechanism without changing a run."""
        import glob

        from mmengine.config import Config

        from dl4all_mm.evaluation.protocol_file import load_protocol
        files = sorted(glob.glob(osp.join(ROOT, 'configs', 'protocols',
                                          '*.py')))
        self.assertGreaterEqual(len(files), 2)
        for path in files:
            protocol = load_protocol(path)
            for method in protocol.methods:
                for i, stage in enumerate(method.get('stages') or [method]):
                    where = f'{osp.basename(path)} {method.name} stage {i}'
                    self.assertIn(stage.get('data_layout'), LAYOUTS, where)
                    cfg = Config.fromfile(osp.join(ROOT, stage.config))
                    opts = dataset_options(stage.data_layout, protocol.data,
                                           where, protocol.get('paths'))
                    merged = Config(cfg.to_dict())
                    merged.merge_from_dict(opts)
                    for key in ('train_dataloader', 'val_dataloader',
                                'test_dataloader'):
                        self.assertEqual(merged.get(key), cfg.get(key),
                                         f'{where} {key}')
