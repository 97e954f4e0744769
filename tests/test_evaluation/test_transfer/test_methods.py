"""Every method's stages point at a comparison's data, keep the same
backbone, input size and budget, and build with mmengine."""
import os.path as osp
import unittest

from mmengine.config import Config

from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.compare import references
from dl4all_mm.evaluation.protocol_data import dataset_options
from dl4all_mm.evaluation.transfer.data_options import TaskData, task_data

DATA = TaskData(
    source_ann='/d/source.txt', source_classes=['a', 'b', 'c'],
    target_ann='/d/train_n24.txt', val_ann='/d/val.txt',
    test_ann='/d/test.txt', target_classes=['normal', 'ALL'],
    source_norm=([200.0] * 3, [40.0] * 3),
    target_norm=([100.0] * 3, [20.0] * 3), img_size=64, n_source=300,
    n_target=24)


def _cfg(stage, data=None):
    """The stage's config merged as a run merges it: the protocol's
    ``data`` placed by the stage's layout, then its own options."""
    assert osp.isabs(stage['config']), stage['config']
    cfg = Config.fromfile(stage['config'])
    opts = dict(stage['cfg_options'])
    if data is not None:
        opts = {**dataset_options(stage['data_layout'], data), **opts}
    cfg.merge_from_dict(opts)
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
            cfgs = [_cfg(s, task_data(DATA)) for s in stages]
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


class TestRecipes(unittest.TestCase):
    """Budgets and the DL4ALL recipe as the reference runs it (moved from
    tests/test_benchmarks/test_transfer.py)."""

    def test_budgets(self):
        recipe = tm.recipe_of('dl4all-joint', dict(batch=(8, 24)))
        opts = tm.stages('dl4all-joint', 1200, 'resnet18', recipe,
                         [3.0, 0.6], 240)[0]['cfg_options']
        # epochs of ceil(240 / 24) = 10 steps: 120 epochs = 1,200 steps
        self.assertEqual(opts['train_cfg.max_epochs'], 120)
        self.assertEqual(
            opts['train_dataloader.batch_sampler.epoch_length'], 10)
        seq = tm.stages('sequential', 1200, 'efficientnet-lite0',
                        tm.recipe_of('sequential'), [3.0, 0.6], 240)
        self.assertEqual(
            [s['cfg_options']['train_cfg.max_iters'] for s in seq],
            [600, 600])
        backbone = seq[1]['cfg_options']['model.backbone']
        self.assertFalse(backbone['pretrained_imagenet'])
        self.assertEqual(backbone['init_cfg']['checkpoint'],
                         '{prev_checkpoint}')

    def test_dl4all_methods_as_the_reference_runs_them(self):
        cfgs = {
            m: _cfg(tm.stages(m, 1200, 'resnet18', tm.recipe_of(m),
                              [3.0, 0.6], 240)[0])
            for m in ('dl4all-joint', 'dl4all-greedy',
                      'dl4all-greedy-samebatch')
        }
        joint = cfgs['dl4all-joint']
        self.assertEqual(joint.train_cfg.step, dict(type='JointStep'))
        self.assertEqual(joint.train_cfg.warmup,
                         dict(type='ReferenceWarmup'))
        self.assertEqual(cfgs['dl4all-greedy'].train_cfg.step,
                         dict(type='GreedyStep', rule='reference'))
        self.assertEqual(cfgs['dl4all-greedy-samebatch'].train_cfg.step,
                         dict(type='GreedyStep', rule='same_batch'))
        for cfg in cfgs.values():  # no old flag left to be ignored
            self.assertFalse({'strategy', 'greedy_rule', 'warmup_mode'}
                             & set(cfg.train_cfg))
        # class weights from the training labels (both heads, torch's
        # weighted mean), BN re-estimated with momentum on target batches
        # of 8, at most one pass over the 240 training images (30 batches)
        hooks = {h['type']: h for h in joint.custom_hooks}
        self.assertIn('DomainClassWeightHook', hooks)
        self.assertEqual(
            hooks['DomainBNRecalibHook'],
            dict(type='DomainBNRecalibHook', mode='momentum',
                 num_batches=30, batch_size=8))
        for domain in ('source', 'target'):
            self.assertEqual(joint.model.head.task_heads[domain].loss,
                             dict(type='WeightedCrossEntropyLoss'))
        # the tuned composition: 8 + 24 of the 32-image budget
        sampler = joint.train_dataloader.batch_sampler
        self.assertEqual(sampler.batch_sizes, dict(source=8, target=24))
        self.assertEqual(joint.train_dataloader.batch_size, 32)
        self.assertEqual(joint.model.head.loss_weights,
                         dict(source=0.3, target=0.7))
        self.assertEqual(joint.optim_wrapper.optimizer.lr, 0.05)
        # the recipe is the config's: the comparison passes the budget only
        # (and the loop of a method the config does not name)
        for name in cfgs:
            opts = tm.stages(name, 1200, 'resnet18', tm.recipe_of(name),
                             [3.0, 0.6], 240)[0]['cfg_options']
            extra = {'train_cfg.step.rule'} if 'samebatch' in name else \
                set()
            self.assertEqual(set(opts), {
                'train_dataloader.batch_sampler.epoch_length',
                'train_cfg.max_epochs', 'train_cfg.val_interval',
                'default_hooks.checkpoint.interval',
                'param_scheduler.0.begin', 'param_scheduler.0.end'} | extra)
        off = _cfg(tm.stages('dl4all-joint', 1200, 'resnet18',
                             tm.recipe_of('dl4all-joint',
                                          dict(class_weight=0)),
                             [3.0, 0.6], 240)[0])
        self.assertNotIn('DomainClassWeightHook',
                         [h['type'] for h in off.custom_hooks])
        self.assertEqual(off.model.head.task_heads.target.loss,
                         dict(type='CrossEntropyLoss'))
        self.assertEqual(references(list(tm.METHODS)),
                         ['dl4all-joint', 'dl4all-greedy',
                          'dl4all-greedy-samebatch'])

    def test_dl4all_keeps_the_runtime_checks(self):
        for bn_recalib in (20, 0):
            recipe = tm.recipe_of('dl4all-joint',
                                  dict(bn_recalib=bn_recalib))
            cfg = _cfg(tm.stages('dl4all-greedy', 1200, 'resnet18', recipe,
                                 [3.0, 0.6], 240)[0])
            types = [h['type'] for h in cfg.custom_hooks]
            self.assertEqual(
                types[:3],
                ['DomainConfigCheckHook', 'LeakageGuardHook',
                 'FiniteLossHook'])
            self.assertEqual('DomainBNRecalibHook' in types,
                             bn_recalib > 0)

    def test_protocol_file_and_comparison_train_one_recipe(self):
        """configs/protocols/pbc_to_aria_lowdata.py runs the method configs
        as they are; the comparison's stages at that budget (1,200 steps,
        240 target images of the configs' class balance) merge to the same
        recipe: the route does not change it."""
        from dl4all_mm.evaluation.protocol_file import (config_file,
                                                        load_protocol)
        protocol = load_protocol(
            config_file('configs/protocols/pbc_to_aria_lowdata.py'))
        self.assertEqual(len(protocol.methods), 5)
        for method in protocol.methods:
            name = method['name']
            plain = method.get('stages') or [
                dict(config=method['config'],
                     data_layout=method['data_layout'])]
            # the configs' weights: N / max(n_c, 10) of 38 normal, 202 ALL
            ours = tm.stages(name, 1200, 'resnet18', tm.recipe_of(name),
                             [240 / 38, 240 / 202], 240)
            self.assertEqual(len(plain), len(ours), name)
            for i, (a, b) in enumerate(zip(plain, ours)):
                # one data mechanism: the same layout, the same options
                self.assertEqual(a['data_layout'], b['data_layout'], name)
                data = dataset_options(a['data_layout'], protocol.data,
                                       paths=protocol.paths)
                cfg = Config.fromfile(config_file(a['config']))
                # the protocol's data = the configs' default data
                for key in ('train_dataloader', 'val_dataloader',
                            'test_dataloader'):
                    before = cfg.get(key)
                    after = Config(cfg.to_dict())
                    after.merge_from_dict(data)
                    self.assertEqual(after.get(key), before,
                                     f'{name} stage {i} {key}')
                cfg.merge_from_dict(
                    {**data, **dict(a.get('cfg_options', {}))})
                merged = Config.fromfile(b['config'])
                merged.merge_from_dict({**data, **b['cfg_options']})
                for key in ('train_cfg', 'param_scheduler', 'custom_hooks',
                            'optim_wrapper', 'train_dataloader', 'model',
                            'default_hooks'):
                    self.assertEqual(merged[key], cfg[key],
                                     f'{name} stage {i} {key}')
