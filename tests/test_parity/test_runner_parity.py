"""Parity: the Runner path (``Runner`` + ``DomainTrainLoop`` +
``DomainBatchSampler`` + ``DomainMultiTaskHead`` + ``DomainImageClassifier``)
against :class:`PlainDL4ALL`, a plain PyTorch loop written from the
algorithm: the same weights and BatchNorm statistics to 1e-6 after every
step of joint, reference Greedy (both branches) and the reference warm-up,
with a BatchNorm CNN and with a dropout-heavy one."""
import math
import tempfile
from typing import Dict, List

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import BaseModule
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from torch import nn
from torch.utils.data import DataLoader

import dl4all_mm  # noqa: F401
from tests.test_parity.plain_dl4all import PlainDL4ALL
from tests.test_reliability.tiny_runner import (DOMAINS, runner_cfg,
                                                write_images)

CHANNELS = 4
LR, HEAD_LR_MULT, MOMENTUM, WEIGHT_DECAY = 0.05, 5.0, 0.9, 5e-4
LOSS_WEIGHTS = dict(source=0.5, target=0.5)


@MODELS.register_module(force=True)
class ParityCNN(BaseModule):
    """conv-BN-ReLU-dropout-conv-BN-ReLU, 16 px -> 8 px."""

    def __init__(self, drop: float = 0.0, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.conv1 = nn.Conv2d(3, CHANNELS, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(CHANNELS)
        self.drop = nn.Dropout(drop)
        self.conv2 = nn.Conv2d(CHANNELS, CHANNELS, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(CHANNELS)

    def forward(self, x: torch.Tensor) -> tuple:
        x = self.drop(F.relu(self.bn1(self.conv1(x))))
        return (F.relu(self.bn2(self.conv2(x))), )


class Capture(Hook):
    """Initial weights and random state when training starts, and the
    greedy decisions."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        self.init = {
            k: v.detach().clone()
            for k, v in runner.model.state_dict().items()
        }
        self.rng = torch.get_rng_state()
        self.kept: List[bool] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if 'greedy_kept' in outputs:
            self.kept.append(bool(outputs['greedy_kept']))


def _runner(tmp: str, train_cfg: dict, drop: float,
            split_batchnorm: bool = True) -> Runner:
    write_images(tmp)
    cfg = runner_cfg(f'{tmp}/work', tmp)
    model = cfg['model']
    model.update(split_batchnorm=split_batchnorm)
    model['backbone'] = dict(type='ParityCNN', drop=drop)
    model['head'].update(loss_weights=LOSS_WEIGHTS, grad_rescale=True)
    for head in model['head']['task_heads'].values():
        head['in_channels'] = CHANNELS
    cfg['optim_wrapper'] = dict(
        optimizer=dict(
            type='SGD', lr=LR, momentum=MOMENTUM,
            weight_decay=WEIGHT_DECAY),
        paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=HEAD_LR_MULT)}))
    cfg['train_cfg'] = dict(type='DomainTrainLoop', **train_cfg)
    cfg['default_hooks']['checkpoint'] = None
    cfg['custom_hooks'] = [Capture()]
    return Runner(**cfg)


def _samples(runner: Runner) -> Dict[int, tuple]:
    """Wrapper index -> (domain, preprocessed image, label)."""
    model, dataset = runner.model, runner.train_dataloader.dataset
    samples = {}
    for i in range(len(dataset)):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), True)
        sample = data['data_samples'][0]
        domain = sample.metainfo['domain']
        label = int(sample.get(domain).gt_label)
        samples[i] = (domain, data['inputs'][0], label)
    return samples


def _plain(capture: Capture, drop: float) -> PlainDL4ALL:
    backbone = ParityCNN(drop)
    backbone.load_state_dict({
        k[len('backbone.'):]: v
        for k, v in capture.init.items() if k.startswith('backbone.')
    })
    heads = {}
    for domain, (_, num_classes) in DOMAINS.items():
        heads[domain] = nn.Linear(CHANNELS, num_classes)
        prefix = f'head.task_heads.{domain}.fc.'
        heads[domain].load_state_dict({
            k[len(prefix):]: v
            for k, v in capture.init.items() if k.startswith(prefix)
        })
    return PlainDL4ALL(backbone, heads, LR, LR * HEAD_LR_MULT, MOMENTUM,
                       WEIGHT_DECAY, LOSS_WEIGHTS, grad_rescale=True)


def _epoch_batches(runner: Runner, epoch: int) -> List[List[int]]:
    loop = runner.train_loop
    warmup = loop.reference_warmup and epoch < loop.warmup_epochs
    sampler = loop.warmup.sampler if warmup else \
        loop.dataloader.batch_sampler
    sampler.set_epoch(epoch)
    return list(sampler)


def run_plain(runner: Runner, capture: Capture, drop: float,
              strategy: str, warmup_epochs: int,
              max_epochs: int) -> PlainDL4ALL:
    """Replay the run's batches through :class:`PlainDL4ALL`."""
    samples = _samples(runner)
    plain = _plain(capture, drop)
    torch.set_rng_state(capture.rng)
    plain.train()
    for epoch in range(max_epochs):
        batches = _epoch_batches(runner, epoch)
        # a DataLoader per epoch, as the Runner's (it draws a base seed)
        for batch in DataLoader(range(len(samples)), batch_sampler=batches,
                                collate_fn=list):
            parts: Dict[str, tuple] = {}
            for domain in DOMAINS:
                rows = [samples[i] for i in batch if samples[i][0] == domain]
                if rows:
                    parts[domain] = (torch.stack([r[1] for r in rows]),
                                     torch.tensor([r[2] for r in rows]))
            if epoch < warmup_epochs:
                (domain, part), = parts.items()
                plain.warmup_step(domain, part)
            elif strategy == 'joint':
                plain.joint_step(parts)
            else:
                plain.greedy_step(parts, 'source', 'target')
        if epoch + 1 == warmup_epochs:
            plain.fresh_optimizer()
    return plain


def _assert_same_weights(runner: Runner, capture: Capture,
                         plain: PlainDL4ALL) -> None:
    got = runner.model.state_dict()
    moved = 0
    for key, expected in plain.state_dict().items():
        assert key in got, key
        if expected.is_floating_point():
            torch.testing.assert_close(
                got[key], expected, rtol=0, atol=1e-6, msg=key)
            moved += not torch.allclose(capture.init[key], expected)
        else:
            assert torch.equal(got[key], expected), key
    assert moved > 10  # the runs trained


def _parity(strategy: str,
            drop: float = 0.0,
            warmup_epochs: int = 0,
            max_epochs: int = 2,
            split_batchnorm: bool = True) -> tuple:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        train_cfg = dict(strategy=strategy, max_epochs=max_epochs,
                         warmup_epochs=warmup_epochs)
        runner = _runner(tmp, train_cfg, drop, split_batchnorm)
        runner.train()
        capture = next(h for h in runner.hooks if isinstance(h, Capture))
        plain = run_plain(runner, capture, drop, strategy, warmup_epochs,
                          max_epochs)
        _assert_same_weights(runner, capture, plain)
        return runner, capture, plain


def test_joint_batchnorm():
    """Joint, one forward with per-domain BatchNorm blocks."""
    _parity('joint')


def test_joint_dropout():
    """Joint, one forward per domain (dropout masks drawn per domain)."""
    _parity('joint', drop=0.5, max_epochs=1, split_batchnorm=False)


def _check_greedy(runner: Runner, capture: Capture,
                  plain: PlainDL4ALL) -> None:
    assert capture.kept == plain.kept
    assert True in plain.kept and False in plain.kept
    per_epoch = len(runner.train_loop.dataloader)
    later = plain.kept[per_epoch:]  # after the first main epoch
    assert True in later and False in later
    best = runner.message_hub.get_info('dl4all_greedy_best_loss')
    assert best == plain.best_loss
    assert math.isfinite(best)


def test_greedy_reference_batchnorm_after_warmup():
    """Reference warm-up, then 3 epochs of reference Greedy."""
    runner, capture, plain = _parity('greedy', warmup_epochs=1,
                                     max_epochs=4)
    _check_greedy(runner, capture, plain)


def test_greedy_reference_dropout():
    runner, capture, plain = _parity('greedy', drop=0.5, max_epochs=3)
    _check_greedy(runner, capture, plain)


def test_reference_warmup_then_joint():
    """One pass over each domain (only that domain's head moves), a fresh
    optimizer, then joint."""
    runner, _, _ = _parity('joint', warmup_epochs=1, max_epochs=2)
    batches = _epoch_batches(runner, 0)
    domains = [{'source' if i < DOMAINS['source'][0] else 'target'
                for i in b} for b in batches]
    # 12 source / 10 target images, batch 2: 6 + 5 domain-pure batches
    assert domains == [{'source'}] * 6 + [{'target'}] * 5
    for start, stop in ((0, 6), (6, 11)):
        seen = [i for b in batches[start:stop] for i in b]
        assert len(seen) == len(set(seen))
    assert runner.train_loop.max_iters == 11 + 5
    assert runner.iter == 16
