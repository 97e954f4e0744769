"""Every method's stages point at a comparison's data, keep the same
backbone, input size and budget, and build with mmengine."""
import os.path as osp
import unittest

from mmengine.config import Config

from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.data_options import TaskData

DATA = TaskData(
    source_ann='/d/source.txt', source_classes=['a', 'b', 'c'],
    target_ann='/d/train_n24.txt', val_ann='/d/val.txt',
    test_ann='/d/test.txt', target_classes=['normal', 'ALL'],
    source_norm=([200.0] * 3, [40.0] * 3),
    target_norm=([100.0] * 3, [20.0] * 3), img_size=64, n_source=300,
    n_target=24)


def _cfg(stage):
    assert osp.isabs(stage['config']), stage['config']
    cfg = Config.fromfile(stage['config'])
    cfg.merge_from_dict(stage['cfg_options'])
    return cfg


def _datasets_text(loader) -> str:
    return repr(loader['dataset'])


def _resize(pipeline):
    return [tuple(t['scale']) for t in pipeline if t['type'] == 'Resize']


class TestMethodsOnOtherData(unittest.TestCase):

    def test_every_method_reads_the_task_data(self):
        spec = tm.backbone_spec('efficientnet-lite0')
        for method in ('target-only', 'sequential', 'mixed', 'dl4all-joint',
                       'dl4all-greedy'):
            stages = tm.stages(method, 100, spec, tm.recipe_of(method),
                               [3.0, 0.6], 24, DATA)
            cfgs = [_cfg(s) for s in stages]
            last = cfgs[-1]
            self.assertEqual(last.model.backbone.type, 'EfficientNetLite0',
                             method)
            self.assertEqual(last.test_dataloader.dataset.get(
                'ann_file', None) or last.test_dataloader.dataset.datasets.
                target.ann_file, '/d/test.txt')
            text = last.pretty_text
            for needle in ('/d/train_n24.txt', '/d/val.txt', "'ALL'"):
                self.assertIn(needle, text, method)
            for key in ('train_dataloader', 'val_dataloader',
                        'test_dataloader'):
                # no dataset is left on the configs' all_aria folder
                self.assertNotIn("'data_root': 'data",
                                 _datasets_text(last[key]), f'{method} {key}')
            for cfg in cfgs:
                loader = cfg.train_dataloader.dataset
                pipelines = [d.get('pipeline') or d.dataset.pipeline
                             for d in (loader.datasets.values()
                                       if 'datasets' in loader else
                                       [loader])]
                for pipeline in pipelines:
                    self.assertEqual(_resize(pipeline), [(64, 64)], method)
            if method.startswith('dl4all'):
                norm = last.model.data_preprocessor.domain_norm
                self.assertEqual(norm.source.mean, [200.0] * 3)
                self.assertEqual(norm.target.std, [20.0] * 3)
                self.assertEqual(
                    last.model.head.task_heads.source.num_classes, 3)
            if method == 'sequential':
                self.assertEqual(cfgs[0].model.head.num_classes, 3)
                self.assertIn('/d/source.txt', cfgs[0].pretty_text)
                self.assertEqual(cfgs[0].model.data_preprocessor.mean,
                                 [200.0] * 3)
            if method == 'mixed':
                self.assertEqual(
                    last.train_dataloader.dataset.datasets.target.times,
                    round(300 / 24))

    def test_backbones(self):
        vit = tm.backbone_spec('vit-b16', img_size=96)
        self.assertEqual(vit['backbone']['img_size'], 96)
        opts = tm.backbone_options(vit, ['h'], [])
        self.assertIsNone(opts['model.neck'])
        self.assertEqual(opts['h'], 768)
        lite = tm.backbone_spec('efficientnet-lite0', pretrained='none')
        self.assertFalse(lite['backbone']['pretrained_imagenet'])
        with self.assertRaisesRegex(ValueError, 'no such checkpoint'):
            tm.backbone_spec('resnet50', pretrained='/no/such.pth')
        with self.assertRaisesRegex(ValueError, 'expected one of'):
            tm.backbone_spec('alexnet')
        self.assertEqual(tm.backbone_options('resnet18', ['h'], []), {})
