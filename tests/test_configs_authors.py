"""``configs/dl4all/authors/``: the paper config with every option that
restores the authors' reference code where docs/method.md says "ours".
Each option resolves to the component that implements it, and the two
pieces the config itself supplies (torchvision's ResNet-18 checkpoint
format, the centre crops) do what the reference's torchvision code does.
Nothing downloads: the checkpoint is a randomly initialised torchvision
ResNet-18 saved to a temporary file."""
import copy
import os.path as osp
import tempfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401  (registers the components)
from dl4all_mm.registry import TRAIN_STEPS, WARMUPS
from tests.test_configs import (CONFIG_DIR, data_root,  # noqa: F401
                                make_splits, tiny_config)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFGS = {
    v: osp.join(REPO, 'configs', 'dl4all', 'authors',
                f'dl4all-{v}_resnet18_adp2cnmc_authors.py')
    for v in ('self', 'regular', 'greedy')
}
CFG = CFGS['self']
#: variant -> (step, ADP level and reference split of the source)
VARIANTS = {
    'self': ('JointStep', 'self', 'splits/reference_self'),
    'regular': ('JointStep', 3, 'splits/reference_level3'),
    'greedy': ('GreedyStep', 1, 'splits/reference_level1'),
}


def _cfg(variant: str = 'self') -> Config:
    return Config.fromfile(CFGS[variant])


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_options_resolve(variant):
    from mmpretrain.registry import HOOKS
    cfg = _cfg(variant)
    step_type, level, adp_split = VARIANTS[variant]
    init = cfg.model.backbone.init_cfg
    assert init == dict(type='Pretrained',
                        checkpoint='checkpoints/resnet18-5c106cde.pth')
    step = TRAIN_STEPS.build(cfg.train_cfg.step)
    assert type(step).__name__ == step_type
    if step_type == 'JointStep':  # Greedy refreshes BatchNorm itself
        assert step.refresh_bn_domain == 'target'
    else:
        assert step.rule == 'reference'
    source = cfg.train_dataloader.dataset.datasets.source
    assert (source.level, source.ann_file) == (level,
                                               f'{adp_split}/train.txt')
    warmup = WARMUPS.build(cfg.train_cfg.warmup)
    assert warmup.step.idle_head == 'reference'
    assert not any(cfg.train_cfg[k] for k in ('strategy', 'greedy_rule',
                                              'warmup_mode'))
    hooks = {h['type']: h for h in cfg.custom_hooks}
    weights = HOOKS.build(hooks['DomainClassWeightHook'])
    assert weights.extra_datasets['target'] == ['val']
    extra = weights.extra_datasets['source'][0]
    assert (extra['level'], extra['ann_file']) == (level,
                                                   f'{adp_split}/val.txt')
    assert HOOKS.build(hooks['LeakageGuardHook']).allow_leakage
    bn = HOOKS.build(hooks['DomainBNRecalibHook'])
    assert (bn.mode, bn.num_batches, bn.batch_size, bn.cycle) == (
        'momentum', 101, 8, False)
    target = cfg.train_dataloader.dataset.datasets.target
    assert target.ann_file == 'splits/reference/train.txt'
    assert cfg.val_dataloader.dataset.ann_file == 'splits/reference/val.txt'
    assert cfg.test_dataloader.dataset.ann_file == \
        'splits/reference/test.txt'
    assert cfg.default_hooks.checkpoint.save_best == 'diagnostic/accuracy'
    for split in ('val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert (loader.batch_size, loader.drop_last,
                loader.sampler.shuffle) == (8, True, True)
    crops = {
        name: [t.get('crop_size') for t in pipe if t['type'] == 'CenterCrop']
        for name, pipe in (
            ('source', cfg.train_dataloader.dataset.datasets.source.pipeline),
            ('target', target.pipeline),
            ('val', cfg.val_dataloader.dataset.pipeline),
            ('test', cfg.test_dataloader.dataset.pipeline))
    }
    assert crops == dict(source=[272], target=[450], val=[450], test=[450])
    for pipe in (target.pipeline, cfg.val_dataloader.dataset.pipeline):
        types = [t['type'] for t in pipe]
        assert types.index('CenterCrop') < types.index('Resize')


def test_torchvision_checkpoint_loads_into_the_backbone():
    """resnet18MTL(pretrained=True) loads torchvision's file; its keys are
    the backbone's, so the config's init_cfg (no prefix) loads every
    tensor (the file's ``fc`` is the only key left over)."""
    import torchvision
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None)
    cfg = _cfg()
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'resnet18-5c106cde.pth')
        torch.save(tv.state_dict(), path)
        backbone_cfg = cfg.model.backbone.copy()
        backbone_cfg['init_cfg'] = dict(backbone_cfg['init_cfg'],
                                        checkpoint=path)
        backbone = MODELS.build(backbone_cfg)
        backbone.init_weights()
    own = backbone.state_dict()
    theirs = tv.state_dict()
    assert set(theirs) - set(own) == {'fc.weight', 'fc.bias'}
    for key, value in own.items():
        assert torch.equal(value, theirs[key]), key


def test_center_crops_as_torchvision():
    from mmpretrain.registry import TRANSFORMS
    from torchvision.transforms import functional as TF
    cfg = _cfg()
    rng = np.random.default_rng(0)
    for pipe, size in (
        (cfg.train_dataloader.dataset.datasets.source.pipeline, 272),
        (cfg.test_dataloader.dataset.pipeline, 450)):
        crop = TRANSFORMS.build(
            [t for t in pipe if t['type'] == 'CenterCrop'][0])
        for shape in ((size + 7, size + 10), (size, size)):
            img = rng.integers(0, 255, shape + (3, )).astype(np.uint8)
            got = crop(dict(img=img.copy(), img_shape=shape))['img']
            want = TF.center_crop(
                torch.from_numpy(img).permute(2, 0, 1),
                [size, size]).permute(1, 2, 0).numpy()
            np.testing.assert_array_equal(got, want)


@pytest.fixture(scope='module')
def authors_root(data_root):
    """test_configs' fixture trees plus C-NMC's reference split."""
    cnmc = osp.join(data_root, 'cnmc')
    make_splits('--dataset', 'cnmc', '--data-root', cnmc, '--out-dir',
                f'{cnmc}/splits/reference', '--protocol', 'cnmc-reference')
    return data_root


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_authors_config_trains_with_warmup_and_validation(
        variant, authors_root, tmp_path):
    """Two warm-up passes (idle head 'reference'), one epoch of joint steps
    with the BatchNorm refresh (Greedy: its steps), class weights from
    train + val, the re-estimation stopping at the end, a validation: on
    fixture data."""
    name = osp.relpath(CFGS[variant], CONFIG_DIR)
    cfg = tiny_config(name, authors_root, str(tmp_path))
    cfg.train_cfg.update(warmup_epochs=1, max_epochs=2)
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    for ds in [cfg.val_dataloader.dataset] + [
            h.extra_datasets.source[0] for h in cfg.custom_hooks
            if h.type == 'DomainClassWeightHook']:
        ds.serialize_data = False
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False,
                              batch_size=1)
    init_default_scope('mmpretrain')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 2 and runner.iter > 2
    # the reference's evaluation loaders drop the last partial batch of 8
    loader_cfg = copy.deepcopy(_cfg().val_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader_cfg.dataset.update(
        data_root=osp.join(authors_root, 'cnmc'), serialize_data=False,
        ann_file='splits/reference/train.txt')
    loader = Runner.build_dataloader(loader_cfg)
    n_images = len(loader.dataset)
    assert n_images % 8 and len(loader) == n_images // 8
    assert sum(len(b['inputs']) for b in loader) == n_images // 8 * 8
    assert runner.train_loop.warmup.step.idle_head == 'reference'
    if VARIANTS[variant][0] == 'JointStep':
        assert runner.train_loop.step.refresh_bn_domain == 'target'
    hook = [h for h in runner.hooks
            if type(h).__name__ == 'DomainClassWeightHook'][0]
    n_val = len(runner.val_dataloader.dataset)
    n_train = len(runner.train_dataloader.dataset.datasets['target'])
    weights = hook.class_weights['target']
    counts = np.bincount(
        [runner.train_dataloader.dataset.datasets['target'].get_data_info(
            i)['gt_label'] for i in range(n_train)] +
        [runner.val_dataloader.dataset.get_data_info(i)['gt_label']
         for i in range(n_val)], minlength=2)
    np.testing.assert_allclose(
        weights, (n_train + n_val) / np.maximum(counts, 10))
