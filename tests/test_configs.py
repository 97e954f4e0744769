"""Every config under ``configs/dl4all`` builds and trains two iterations
on real-layout fixtures (``tests/fixtures/field_datasets.py``, split files
by ``make_splits.py``, found through ``DL4ALL_DATA_ROOT``) or generated
folder datasets, at 64 px, without ImageNet checkpoints (checked apart),
checkpointing or validation."""
import contextlib
import copy
import functools
import glob
import io
import math
import os
import os.path as osp
import runpy
import sys
import tempfile
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import WEIGHT_INITIALIZERS, init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS, MODELS

import dl4all_mm  # noqa: F401  (registers the components)
from tests.fixtures.field_datasets import (make_adp_tree,
                                           make_allidb2_tree, make_cnmc_tree,
                                           write_image)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs', 'dl4all')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
FIELD_TYPES = ('ADPDataset', 'CNMC2019Dataset', 'ALLIDB2Dataset')
ADP_SLIDES = [f'{i:03d}' for i in range(1, 101)]  # ADP: 100 slides
IMG = 64
STEPS = 2  # training iterations per epoch in test_config_trains
NO_EVAL = ('val_cfg', 'val_dataloader', 'val_evaluator', 'test_cfg',
           'test_dataloader', 'test_evaluator')


def make_splits(*argv: str) -> None:
    path = osp.join(REPO, 'tools', 'dataset_converters', 'make_splits.py')
    with contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        runpy.run_path(path)['main'](list(argv))


@pytest.fixture(scope='module')
def data_root():
    """ADP, C-NMC and ALL-IDB2 fixture trees with split files, exposed as
    ``DL4ALL_DATA_ROOT`` (fold 0)."""
    with tempfile.TemporaryDirectory() as root, \
            pytest.MonkeyPatch.context() as env:
        adp = osp.join(root, 'adp')
        # 3 patches a slide: Self's reference split keeps int(0.7 * 3) = 2
        make_adp_tree(adp, slides=ADP_SLIDES, crops=(1, 2, 3))
        for level in ('self', '3', '1'):
            make_splits('--dataset', 'adp', '--data-root', adp, '--out-dir',
                        f'{adp}/splits/reference_level{level}'.replace(
                            'levelself', 'self'), '--protocol',
                        'adp-reference', '--adp-level', level)
        cnmc, allidb2 = osp.join(root, 'cnmc'), osp.join(root, 'allidb2')
        make_cnmc_tree(cnmc, rows=2, prelim=False)
        make_splits('--dataset', 'cnmc', '--data-root', cnmc, '--out-dir',
                    f'{cnmc}/splits', '--protocol', 'patient-kfold', '--folds',
                    '2', '--val-ratio', '0.2')
        make_allidb2_tree(allidb2, n_per_class=4)
        make_splits('--dataset', 'allidb2', '--data-root', allidb2,
                    '--out-dir', f'{allidb2}/splits', '--protocol', 'holdout',
                    '--folds', '1', '--test-ratio', '0.5', '--val-ratio',
                    '0.2')
        env.setenv('DL4ALL_DATA_ROOT', root)
        env.setenv('DL4ALL_FOLD', '0')
        yield root


def folder_fixture(root: str, name: str, classes) -> dict:
    """Generated images + annotation file for a ``CustomDataset``."""
    folder = osp.join(root, 'custom', name)
    if not osp.isfile(osp.join(folder, 'ann.txt')):
        lines = []
        for label in range(len(classes)):
            for k in range(2):
                write_image(osp.join(folder, f'{label}_{k}.png'),
                            seed=9 * label + k)
                lines.append(f'{label}_{k}.png {label}\n')
        with open(osp.join(folder, 'ann.txt'), 'w') as f:
            f.writelines(lines)
    return dict(data_root=folder, ann_file='ann.txt', classes=list(classes))


def use_fixtures(ds: dict, root: str, name: str, num_classes: int) -> None:
    """Point a dataset config at fixture data and shrink its images (no
    serialisation: its ``gc.collect()`` takes 0.5 s with models loaded)."""
    ds.serialize_data = False
    if ds.type == 'CustomDataset':
        classes = ds.get('classes') or [f'c{k}' for k in range(num_classes)]
        ds.pop('data_prefix', None)
        ds.update(folder_fixture(root, name, classes))
    elif ds.type in FIELD_TYPES:
        assert ds.data_root.startswith(root), (
            f'{ds.type}.data_root={ds.data_root!r} ignores DL4ALL_DATA_ROOT')
    else:
        pytest.fail(f'tests/test_configs.py has no fixture for {ds.type}')
    for t in ds.pipeline:
        if t.type in ('Resize', 'RandomResizedCrop', 'ResizeEdge'):
            t.scale = IMG if isinstance(t.scale, int) else (IMG, IMG)
        elif t.type == 'CenterCrop':
            t.crop_size = IMG


@functools.lru_cache(maxsize=None)
def _parse(path: str, data_root: str) -> Config:
    return Config.fromfile(path)


def load_config(name: str) -> Config:
    """``Config.fromfile`` (parsed once per file and data root)."""
    path = osp.join(CONFIG_DIR, name)
    return copy.deepcopy(_parse(path, os.environ.get('DL4ALL_DATA_ROOT')))


def tiny_config(path: str, root: str, work_dir: str) -> Config:
    """The config on fixture data, batch 2, two steps an epoch. 64 px keeps
    a 2x2 last feature map: BatchNorm trains on a domain batch of one
    image."""
    cfg = load_config(path)
    heads = cfg.model.head.task_heads
    domains = cfg.train_dataloader.dataset.datasets
    assert set(domains) == set(heads), (domains.keys(), heads.keys())
    for domain, ds in domains.items():
        use_fixtures(ds, root, f'train_{domain}', heads[domain].num_classes)
    eval_head = heads[cfg.model.get('eval_domain') or list(heads)[-1]]
    for split in ('val', 'test'):
        use_fixtures(cfg[f'{split}_dataloader'].dataset, root, split,
                     eval_head.num_classes)
    backbone = cfg.model.backbone
    if (backbone.get('init_cfg') or {}).get('type') == 'Pretrained':
        backbone.pop('init_cfg')
    if 'img_size' in backbone:
        backbone.img_size = IMG
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.batch_sampler.update(epoch_length=STEPS, seed=0)
    # two steps an epoch; epochs enough for epoch-based LR schedulers to
    # start (`begin=1` is common after a warm-up epoch)
    scheds = cfg.get('param_scheduler') or []
    begin = max([0] +
                [s.get('begin', 0) for s in scheds if s.get('by_epoch', True)])
    cfg.train_cfg.update(max_epochs=1 + begin, warmup_epochs=0)
    cfg.default_hooks.checkpoint = None
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


class StepRecorder(Hook):
    """Domains, loss and movement of the backbone's last parameters (which
    every architecture updates) in a step."""

    def _tail(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        return list(model.backbone.parameters())[-4:]

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before = [p.detach().clone() for p in self._tail(runner)]

    def after_train_iter(self, runner, batch_idx, data_batch, outputs):
        samples = data_batch['data_samples']
        self.domains = sorted({s.metainfo['domain'] for s in samples})
        self.loss = float(outputs['loss'])
        self.moved = sum(
            float((p.detach() - b).abs().sum())
            for p, b in zip(self._tail(runner), self.before))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_trains_two_iterations(path, data_root, tmp_path):
    cfg = tiny_config(path, data_root, str(tmp_path))
    init_default_scope('mmpretrain')
    # val/test datasets load and fit the eval head (train: after training)
    heads = cfg.model.head.task_heads
    eval_domain = cfg.model.get('eval_domain') or list(heads)[-1]
    for split in ('val', 'test'):
        dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
        assert len(dataset) > 0
        assert len(dataset.metainfo['classes']) == \
            heads[eval_domain].num_classes
    for key in NO_EVAL:
        cfg[key] = None

    runner = Runner.from_cfg(cfg)
    recorder = StepRecorder()
    runner.register_hook(recorder, priority='LOWEST')
    runner.train()
    assert runner.iter == STEPS * cfg.train_cfg.max_epochs
    assert recorder.domains == sorted(heads), recorder.domains
    assert math.isfinite(recorder.loss) and recorder.loss > 0
    assert recorder.moved > 0, 'the backbone did not train'
    for domain, dataset in runner.train_dataloader.dataset.datasets.items():
        assert len(dataset.metainfo['classes']) == \
            heads[domain].num_classes, (domain, dataset.metainfo['classes'])


#: train_cfg.warmup of each config that does not use ReferenceWarmup.
FROZEN_WARMUP = ('dl4all_resnet18_demo_pbc2bccd.py', )


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_step_and_warmup_components(path):
    """Every config names its step and warm-up as components (no old flag
    left, which a `step` or `warmup` would make the loop ignore), and they
    resolve as the file name says."""
    from dl4all_mm.engine.loops.train_cfg_aliases import (step_cfg,
                                                          warmup_cfg)
    name = osp.basename(path)
    loop = load_config(name).train_cfg
    old = {'strategy', 'greedy_rule', 'source_domain', 'target_domain',
           'warmup_mode', 'frozen'}
    assert not old & set(loop), (name, sorted(old & set(loop)))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no flag ignored
        step = step_cfg(loop.get('step'), ['source', 'target'])
        warmup = warmup_cfg(loop.get('warmup'))
    expected = dict(type='GreedyStep', rule='reference') \
        if 'greedy' in name else dict(type='JointStep')
    assert step == expected, (name, step)
    assert warmup == dict(type='FrozenBackboneWarmup' if name in
                          FROZEN_WARMUP else 'ReferenceWarmup'), (name,
                                                                   warmup)


@pytest.mark.parametrize('variant', ['regular', 'self', 'greedy'])
@pytest.mark.parametrize('backbone', ['resnet18', 'vit-b16-384'])
def test_paper_variants(variant, backbone):
    """The paper's six: ADP -> C-NMC, patient-wise fold 0 by default, the
    reference algorithm (issue 11)."""
    cfg = load_config(f'dl4all-{variant}_{backbone}_in1k-pre_adp2cnmc.py')
    data = cfg.train_dataloader.dataset.datasets
    heads = cfg.model.head.task_heads
    sampler = cfg.train_dataloader.batch_sampler
    evals = [cfg.val_dataloader.dataset, cfg.test_dataloader.dataset]
    assert (data.source.type, data.target.type) == ('ADPDataset',
                                                    'CNMC2019Dataset')
    for split, ds in zip(('train', 'val', 'test'), [data.target] + evals):
        assert ds.ann_file == f'splits/fold_0/{split}.txt', ds.ann_file
    assert sampler.schedule == 'paired' and heads.target.num_classes == 2
    assert cfg.train_dataloader.batch_size == 8
    # source labels, head and loss, batch sizes of the reference
    level, num_classes, batch_sizes = {
        'regular': (3, 38, None),  # 8 + 8 (uniformBatchSize)
        'self': ('self', len(ADP_SLIDES), 'main_fixed'),
        'greedy': (1, 9, 'main_fixed'),  # ADP level 1, multi-label
    }[variant]
    assert data.source.level == level
    assert heads.source.num_classes == num_classes
    assert sampler.get('batch_sizes') == batch_sizes
    if variant == 'self':
        assert heads.source.type == 'LinearClsHead'
    else:
        assert heads.source.type == 'MultiLabelLinearClsHead'
        assert heads.source.loss.type == 'MultiLabelSoftMarginLoss'
    # the reference's loop, warm-up, class weights and BatchNorm refresh
    loop = cfg.train_cfg
    assert loop.get('step', dict(type='JointStep')) == (
        dict(type='GreedyStep', rule='reference') if variant == 'greedy'
        else dict(type='JointStep'))
    assert loop.get('warmup', dict(type='ReferenceWarmup')) == dict(
        type='ReferenceWarmup')
    assert (loop.warmup_epochs, loop.max_epochs) == (1, 101)
    hooks = {h.type: h for h in cfg.custom_hooks}
    assert 'DomainClassWeightHook' in hooks
    bn = hooks['DomainBNRecalibHook']
    assert (bn.mode, bn.num_batches, bn.batch_size) == ('momentum', 101, 8)
    # independent flips; the target's rotation in [-90, 90] degrees
    for ds in data.values():
        flips = [t for t in ds.pipeline if t.type == 'RandomFlip']
        assert [(f.prob, f.direction) for f in flips] == [
            (0.5, 'horizontal'), (0.5, 'vertical')]
    rotate, = [t for t in data.target.pipeline if t.type == 'Rotate']
    assert (rotate.magnitude_range, rotate.random_negative_prob,
            rotate.prob) == ((0, 90), 0.5, 1.0)
    size = 384 if backbone == 'vit-b16-384' else 224
    if backbone == 'vit-b16-384':
        assert cfg.model.backbone.img_size == 384
    resizes = [
        t for ds in list(data.values()) + evals for t in ds.pipeline
        if t.type == 'Resize'
    ]
    assert {tuple(t.scale) for t in resizes} == {(size, size)}


def test_vit_model_builds_at_384():
    cfg = load_config('dl4all-self_vit-b16-384_in1k-pre_adp2cnmc.py')
    cfg.model.backbone.pop('init_cfg')
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model).eval()
    assert tuple(model.backbone.pos_embed.shape) == (1, 577, 768)
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 384, 384))
    assert tuple(feats[-1].shape) == (1, 768)


def test_headline_config():
    cfg = load_config('resnet50_allidb.py')
    src, tgt = cfg.train_dataloader.dataset.datasets.values()
    assert (cfg.model.backbone.depth, src.type, src.level, tgt.type) == \
        (50, 'ADPDataset', 'self', 'ALLIDB2Dataset')
    assert cfg.test_dataloader.dataset.ann_file == 'splits/fold_0/test.txt'


def test_pretrained_weights_are_local_documented_zoo_files():
    import mmpretrain
    with open(osp.join(REPO, 'docs', 'pretrained.md')) as f:
        docs = f.read()
    metafiles = glob.glob(
        osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', '*',
                 'metafile.yml'))
    if not metafiles:
        pytest.skip('mmpretrain model-zoo metafiles not installed')
    zoo = ''.join(open(f).read() for f in metafiles)
    init_default_scope('mmpretrain')
    checked = 0
    for path in CONFIGS:
        init_cfg = load_config(path).model.backbone.get('init_cfg')
        if not init_cfg or init_cfg.get('type') != 'Pretrained':
            continue
        # builds (no stray keys such as an unused _delete_)
        init = WEIGHT_INITIALIZERS.build(init_cfg)
        name = osp.basename(init.checkpoint)
        assert init.checkpoint == f'checkpoints/{name}', path
        assert init.prefix == 'backbone', path
        assert name in docs, f'{name} ({path}) not in docs/pretrained.md'
        assert f'/{name}' in zoo, f'{name} is no mmpretrain model-zoo file'
        checked += 1
    assert checked >= 8


def test_train_without_data_exits_naming_path_and_docs(tmp_path, monkeypatch):
    """``tools/train.py`` (run as ``__main__`` in this process, from a
    directory without ``data/``) stops before building anything."""
    for key in ('DL4ALL_DATA_ROOT', 'DL4ALL_FOLD', 'LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    work_dir = tmp_path / 'work'
    monkeypatch.setattr(sys, 'argv', [
        'tools/train.py',
        osp.join(CONFIG_DIR, 'resnet50_allidb.py'), '--work-dir',
        str(work_dir)
    ])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(osp.join(REPO, 'tools', 'train.py'),
                       run_name='__main__')
    message = exc.value.code
    assert isinstance(message, str), message  # printed, exit status 1
    for part in ("data_root 'data/adp' does not exist",
                 "data_root 'data/allidb2' does not exist",
                 'docs/datasets.md'):
        assert part in str(message), message
    assert not work_dir.exists()
