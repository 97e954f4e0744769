"""Mutation check of the parity comparison: each realistic bug, applied to
the plugin by monkeypatch, makes :func:`run_scenario` report differences.

What each mutation patches (to re-target after refactors):

- ``swapped_batch_sizes``: ``domain_batch_sampler._resolve_batch_sizes``
  returns the source's size for the target and vice versa.
- ``swapped_rescale``: ``DomainMultiTaskHead.set_domain_batch_sizes`` gets
  the two domains' sizes swapped (head factors ``total / B_other``).
- ``dropped_class_weights``: ``class_weight_hook.compute_class_weights``
  returns ones.
- ``mean_over_n``: ``WeightedCrossEntropyLoss.forward`` divides the
  weighted sum by N (mmpretrain's ``CrossEntropyLoss``) instead of by
  ``sum w``.
- ``epoch_main``: ``DomainBatchSampler._resolve_epoch_length`` reads
  ``'shortest'`` as ``'main'`` (a pass over the target, cycling ADP).
- ``bn_layer_skipped``: ``DomainBNRecalibHook.recalibrate`` leaves the
  backbone's last BatchNorm (``bn2``) as it was.
- ``last_not_lowest`` (Greedy): ``GreedyStep._record_best_loss`` stores
  every iteration's compared target loss as ``best_loss`` (the ``if kept``
  forgotten), so the next decision compares with the last loss instead of
  the lowest kept one.
"""
import tempfile

import pytest
import torch
import torch.nn.functional as F

from dl4all_mm.datasets.samplers import domain_batch_sampler as dbs
from dl4all_mm.engine.hooks import bn_recalib_hook, class_weight_hook
from dl4all_mm.engine.steps import greedy_step
from dl4all_mm.models.heads import DomainMultiTaskHead
from dl4all_mm.models.losses import WeightedCrossEntropyLoss
from tests.test_parity.harness import run_scenario
from tests.test_parity.test_runner_parity import (GREEDY,
                                                  PLUGIN_WARMUP_IDLE_HEAD,
                                                  SELF)


def _swap(mapping: dict) -> dict:
    out = dict(mapping)
    if 'source' in mapping and 'target' in mapping:  # not a warm-up step
        out['source'], out['target'] = mapping['target'], mapping['source']
    return out


def swapped_batch_sizes(mp):
    original = dbs._resolve_batch_sizes
    mp.setattr(dbs, '_resolve_batch_sizes',
               lambda *a, **k: _swap(original(*a, **k)))


def swapped_rescale(mp):
    original = DomainMultiTaskHead.set_domain_batch_sizes
    mp.setattr(DomainMultiTaskHead, 'set_domain_batch_sizes',
               lambda self, sizes: original(self, _swap(sizes)))


def dropped_class_weights(mp):
    mp.setattr(class_weight_hook, 'compute_class_weights',
               lambda labels, num_classes, min_count=10: [1.0] * num_classes)


def mean_over_n(mp):

    def forward(self, cls_score, label, weight=None, avg_factor=None,
                reduction_override=None, **kwargs):
        w = self.class_weight_like(cls_score)
        label = label.reshape(-1).long()
        loss = F.cross_entropy(cls_score, label, reduction='none')
        if w is not None:
            loss = loss * w[label]
        return self.loss_weight * loss.sum() / len(label)

    mp.setattr(WeightedCrossEntropyLoss, 'forward', forward)


def epoch_main(mp):
    original = dbs.DomainBatchSampler._resolve_epoch_length

    def resolve(self, epoch_length, sizes):
        if epoch_length == 'shortest':
            epoch_length = 'main'
        return original(self, epoch_length, sizes)

    mp.setattr(dbs.DomainBatchSampler, '_resolve_epoch_length', resolve)


def bn_layer_skipped(mp):
    original = bn_recalib_hook.DomainBNRecalibHook.recalibrate

    def recalibrate(self, runner):
        bn = runner.model.backbone.bn2
        saved = [b.clone() for b in bn.buffers()]
        original(self, runner)
        with torch.no_grad():
            for buf, old in zip(bn.buffers(), saved):
                buf.copy_(old)

    mp.setattr(bn_recalib_hook.DomainBNRecalibHook, 'recalibrate',
               recalibrate)


def last_not_lowest(mp):

    def record(self, compared, kept):
        self.runner.message_hub.update_info(greedy_step.BEST_LOSS_KEY,
                                            compared)

    mp.setattr(greedy_step.GreedyStep, '_record_best_loss', record)


MUTATIONS = {
    'swapped_batch_sizes': (swapped_batch_sizes, SELF),
    'swapped_rescale': (swapped_rescale, SELF),
    'dropped_class_weights': (dropped_class_weights, SELF),
    'mean_over_n': (mean_over_n, SELF),
    'epoch_main': (epoch_main, SELF),
    'bn_layer_skipped': (bn_layer_skipped, SELF),
    'last_not_lowest': (last_not_lowest, GREEDY),
}
# 2 main epochs are enough for the joint mutations
SHORT = dict(max_epochs=3)


@pytest.mark.parametrize('name', list(MUTATIONS))
def test_parity_catches_mutation(name, monkeypatch):
    patch, scenario = MUTATIONS[name]
    patch(monkeypatch)
    with tempfile.TemporaryDirectory() as tmp:
        diffs, _, _ = run_scenario(tmp, dict(scenario, **SHORT),
                                   idle_head=PLUGIN_WARMUP_IDLE_HEAD)
    assert diffs, f'mutation {name} was not caught'
