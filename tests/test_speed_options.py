"""Each speed option is a config switch that builds and trains a DL4ALL
model for one iteration (on CPU where the option allows it)."""
import importlib.util
import os
import os.path as osp
import socket
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import convert_sync_batchnorm
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import dl4all_mm  # noqa: F401
from tests.conftest import TINY_RESNET_CHANNELS, tiny_resnet
from tests.conftest import write_images as write_noise_images

CUDA = torch.cuda.is_available()
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOMAINS = dict(source=2, target=3)  # classes; 4 images each


def write_images(root: str) -> None:
    """Four 12 px noise images a domain and ``<domain>.txt``."""
    items = {
        domain: [(f'{domain}/{i}.png', i % num_classes) for i in range(4)]
        for domain, num_classes in DOMAINS.items()
    }
    write_noise_images(root, sum(items.values(), []), size=12,
                       dtype=np.uint8)
    for domain, files in items.items():
        with open(osp.join(root, f'{domain}.txt'), 'w') as f:
            f.writelines(f'{name} {label}\n' for name, label in files)


def tiny_cfg(root: str, iters: int = 1, **overrides) -> Config:
    """A paired/joint DL4ALL run of ``iters`` iterations at 8 px."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(8, 8)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackInputs')
    ]
    datasets = {
        d:
        dict(
            type='CachedImageDataset',
            dataset=dict(
                type='CustomDataset',
                data_root=root,
                ann_file=f'{d}.txt',
                classes=[f'{d}{k}' for k in range(n)],
                pipeline=pipeline))
        for d, n in DOMAINS.items()
    }
    cfg = dict(
        default_scope='mmpretrain',
        work_dir=osp.join(root, 'work'),
        model=dict(
            type='DomainImageClassifier',
            data_preprocessor=dict(
                type='DomainDataPreprocessor',
                domain_norm={
                    d: dict(mean=[128.0], std=[64.0])
                    for d in DOMAINS
                }),
            backbone=tiny_resnet(),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='DomainMultiTaskHead',
                grad_rescale=True,
                task_heads={
                    d:
                    dict(type='LinearClsHead', num_classes=n,
                         in_channels=TINY_RESNET_CHANNELS)
                    for d, n in DOMAINS.items()
                })),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(
                type='DomainBatchSampler',
                schedule='paired',
                epoch_length=iters,
                seed=0),
            dataset=dict(type='InterleavedDatasetWrapper', datasets=datasets)),
        train_cfg=dict(type='DomainTrainLoop', max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=-1)),
        model_wrapper_cfg=dict(type='DL4ALLDistributedDataParallel'),
        log_level='WARNING',
        randomness=dict(seed=0))
    cfg.update(overrides)
    return Config(cfg)


class Record(Hook):
    """Keeps the backbone weights and losses after each iteration."""

    def __init__(self) -> None:
        self.weights, self.losses = [], []

    def before_train(self, runner) -> None:
        self.weights.append(self._weight(runner).clone())

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        self.weights.append(self._weight(runner).clone())
        self.losses.append(float(outputs['loss'].detach()))

    @staticmethod
    def _weight(runner) -> torch.Tensor:
        model = getattr(runner.model, 'module', runner.model)
        return model.backbone.conv1.weight.detach()


class TestSpeedOptions(unittest.TestCase):

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        write_images(self.tmp.name)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def train(self, cfg: Config) -> tuple:
        runner = Runner.from_cfg(cfg)
        record = Record()
        runner.register_hook(record, priority='LOWEST')
        runner.train()
        for loss in record.losses:
            self.assertTrue(np.isfinite(loss), record.losses)
        return runner, record

    def test_gradient_accumulation(self):
        cfg = tiny_cfg(
            self.tmp.name,
            iters=2,
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.1), accumulative_counts=2))
        _, record = self.train(cfg)
        # No step after the first batch, one step after the second.
        torch.testing.assert_close(record.weights[1], record.weights[0])
        self.assertFalse(torch.equal(record.weights[2], record.weights[1]))

    def test_channels_last(self):
        seen = []
        cfg = tiny_cfg(
            self.tmp.name, custom_hooks=[dict(type='ChannelsLastHook')])
        runner = Runner.from_cfg(cfg)
        runner.model.backbone.register_forward_pre_hook(
            lambda m, args: seen.append(args[0].is_contiguous(
                memory_format=torch.channels_last)))
        runner.train()
        # One iteration; the paired batch is grouped by domain, so the
        # default split_batchnorm runs the backbone once for both domains.
        self.assertEqual(len(seen), 1)
        self.assertTrue(all(seen), seen)
        weight = runner.model.backbone.conv1.weight
        self.assertTrue(
            weight.is_contiguous(memory_format=torch.channels_last))

    def test_amp(self):
        # `tools/train.py --amp` switches the config to AmpOptimWrapper.
        spec = importlib.util.spec_from_file_location(
            'train_tool', osp.join(ROOT, 'tools', 'train.py'))
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        with mock.patch.object(sys, 'argv', ['train.py', 'x.py', '--amp']), \
                mock.patch.dict(os.environ):
            cfg = tool.merge_args(tiny_cfg(self.tmp.name), tool.parse_args())
        self.assertEqual(cfg.optim_wrapper.type, 'AmpOptimWrapper')
        dtypes = []
        # AmpOptimWrapper asserts a GPU; on CPU it autocasts to bfloat16.
        with mock.patch('mmengine.optim.optimizer.amp_optimizer_wrapper.'
                        'is_cuda_available', return_value=True):
            runner = Runner.from_cfg(cfg)
            runner.model.backbone.conv1.register_forward_hook(
                lambda m, args, out: dtypes.append(out.dtype))
            runner.train()
        self.assertIsInstance(runner.optim_wrapper, AmpOptimWrapper)
        expected = torch.float16 if CUDA else torch.bfloat16
        self.assertEqual(len(dtypes), 1)  # one (split-BN) forward, as above
        self.assertEqual(set(dtypes), {expected})

    def test_compile(self):
        # The eager backend keeps the test fast; it runs TorchDynamo over
        # the model's train_step as compile=True does, without inductor.
        cfg = tiny_cfg(self.tmp.name, compile=dict(backend='eager'))
        # One ResNet stage: TorchDynamo's tracing time grows with depth.
        cfg.model.backbone.update(
            num_stages=1, out_indices=(0, ), strides=(1, ), dilations=(1, ))
        for head in cfg.model.head.task_heads.values():
            head.in_channels = 8
        runner, record = self.train(cfg)
        self.assertTrue(
            hasattr(runner.model.train_step, '_torchdynamo_orig_'
                    'callable')
            or 'compile' in repr(runner.model.train_step).lower())
        self.assertFalse(torch.equal(record.weights[1], record.weights[0]))

    def test_sync_bn(self):
        port = _free_port()
        env = dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port))
        cfg = tiny_cfg(self.tmp.name, launcher='pytorch', sync_bn='torch')
        with mock.patch.dict(os.environ, env):
            torch_dist.init_process_group(
                'nccl' if CUDA else 'gloo', rank=0, world_size=1)
            try:
                if CUDA:
                    runner, _ = self.train(cfg)
                    bns = [
                        m for m in runner.model.modules()
                        if isinstance(m, torch.nn.SyncBatchNorm)
                    ]
                    self.assertEqual(len(bns), 20)  # all BNs of ResNet-18
                else:
                    # torch's SyncBatchNorm needs GPU modules: DDP refuses
                    # to wrap a CPU model that holds one.
                    with self.assertRaisesRegex(ValueError, 'GPU'):
                        Runner.from_cfg(cfg)
            finally:
                torch_dist.destroy_process_group()
        model = MODELS.build(cfg.model)
        model = convert_sync_batchnorm(model, 'torch')
        bns = [
            m for m in model.modules() if isinstance(m, torch.nn.SyncBatchNorm)
        ]
        self.assertEqual(len(bns), 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


if __name__ == '__main__':
    unittest.main()
