"""The paper configs' heads, losses and batches as the reference's
(``docs/method.md``): every class-weighted cross-entropy is torch's
weighted mean (``nn.CrossEntropyLoss(weight=w)``), multi-label sources use
``nn.MultiLabelSoftMarginLoss(weight=w)``, the epoch ends when either
domain runs out, the Self/Greedy batch sizes follow computeBatchSize and
ADP trains on the reference's training part."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import dl4all_mm  # noqa: F401  (registers the components)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAPER = sorted(
    glob.glob(osp.join(REPO, 'configs', 'dl4all', 'dl4all-*_adp2cnmc.py')))
# variant -> (source head, source loss, source batch size rule)
EXPECTED = {
    'regular': ('MultiLabelLinearClsHead', 'MultiLabelSoftMarginLoss', None),
    'self': ('LinearClsHead', 'WeightedCrossEntropyLoss', 'main_fixed'),
    'greedy': ('MultiLabelLinearClsHead', 'MultiLabelSoftMarginLoss',
               'main_fixed'),
}


def _variant(path: str) -> str:
    return osp.basename(path).split('_')[0].split('-')[1]


def test_every_paper_config_is_listed():
    assert len(PAPER) >= 8
    assert {_variant(p) for p in PAPER} == set(EXPECTED)


@pytest.mark.parametrize('path', PAPER, ids=osp.basename)
def test_paper_config_losses_and_batches(path):
    cfg = Config.fromfile(path)
    head_type, source_loss, rule = EXPECTED[_variant(path)]
    heads = cfg.model.head.task_heads
    assert set(heads) == {'source', 'target'}
    assert heads.source.type == head_type
    assert heads.source.loss.type == source_loss
    assert heads.target.type == 'LinearClsHead'
    assert heads.target.loss.type == 'WeightedCrossEntropyLoss'
    assert heads.target.num_classes == 2
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert 'DomainClassWeightHook' in hooks
    source = cfg.train_dataloader.dataset.datasets.source
    level = {'regular': 'level3', 'self': 'self', 'greedy': 'level1'}
    assert source.ann_file == \
        f'splits/reference_{level[_variant(path)]}/train.txt'
    sampler = cfg.train_dataloader.batch_sampler
    assert sampler.epoch_length == 'shortest'
    assert sampler.get('batch_sizes') == rule
    assert cfg.train_dataloader.batch_size == 8


def test_paper_target_head_is_torch_weighted_mean():
    """The paper configs' target head, with class weights as the hook sets
    them, gives torch's ``nn.CrossEntropyLoss(weight=w)`` on a batch with
    an unequal class mix (mmpretrain's CrossEntropyLoss would not)."""
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(PAPER[0])
    head_cfg = dict(cfg.model.head.task_heads.target, in_channels=4)
    head = MODELS.build(head_cfg)
    weights = [0.7, 3.1]
    head.loss_module.class_weight = weights
    torch.manual_seed(0)
    feats = torch.randn(5, 4)
    labels = torch.tensor([0, 0, 0, 1, 0])
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    got = head.loss((feats, ), samples)['loss']
    logits = head.fc(feats)
    want = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights))(logits,
                                                                   labels)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-7)
    over_n = (torch.tensor(weights)[labels] * torch.nn.functional.
              cross_entropy(logits, labels, reduction='none')).mean()
    assert not torch.allclose(got, over_n)
