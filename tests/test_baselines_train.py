"""The baselines behind docs/results.md train: mixed-batch multi-task and
sequential fine-tuning (stage 1 on the source, stage 2 from its backbone)
run a few steps of their demo configs on the embedded demo data (32 px,
batch 8, 16 images a dataset) and their losses go down."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINES = osp.join(REPO, 'configs', 'baselines')
ITERS = 24


def _shrink(node):
    """Every Resize/crop of the pipelines to 32 px."""
    if isinstance(node, dict):
        if node.get('type') == 'Resize':
            node['scale'] = (32, 32)
        for key in ('crop_size', ):
            if key in node:
                node[key] = 32
        for value in node.values():
            _shrink(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _shrink(value)


def _subset(node, num=16):
    """The first ``num`` images of every leaf dataset (memorisable in a
    few steps, so the loss must fall)."""
    if isinstance(node, dict):
        if 'data_root' in node or 'ann_file' in node:
            node['indices'] = num
        for value in node.values():
            _subset(value, num)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _subset(value, num)


def tiny(name: str, work_dir: str) -> Config:
    cfg = Config.fromfile(osp.join(BASELINES, name))
    cfg.work_dir = work_dir
    cfg.train_dataloader.update(
        batch_size=8, num_workers=0, persistent_workers=False)
    _shrink(cfg.train_dataloader)
    _subset(cfg.train_dataloader.dataset)
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.pop('val_interval', None)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg',
                'test_dataloader', 'test_evaluator', 'test_cfg'):
        cfg[key] = None
    # no warm-up in 24 steps: a small constant lr instead of the schedule
    cfg.param_scheduler = []
    cfg.optim_wrapper.optimizer.lr = 0.01
    cfg.custom_hooks = [dict(type='FiniteLossHook')]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=ITERS,
        save_best=None)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.log_level = 'WARNING'
    cfg.experiment_name = f'{name}_{osp.basename(work_dir)}'
    return cfg


class LossRecorder(Hook):

    def before_train(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        self.start = copy.deepcopy(model.state_dict())
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss'].detach()))


def train(cfg: Config) -> LossRecorder:
    torch.set_num_threads(1)
    runner = Runner.from_cfg(cfg)
    recorder = LossRecorder()
    runner.register_hook(recorder, priority='LOWEST')
    runner.train()
    recorder.end = {k: v.detach().clone()
                    for k, v in runner.model.state_dict().items()}
    assert runner.iter == ITERS
    return recorder


def moved(rec: LossRecorder, prefix: str) -> float:
    return sum(float((rec.end[k].float() - v.float()).abs().sum())
               for k, v in rec.start.items()
               if k.startswith(prefix) and v.is_floating_point())


def decreases(losses):
    return sum(losses[-4:]) / 4 < 0.9 * sum(losses[:4]) / 4


def test_mixed_multitask_trains(tmp_path):
    rec = train(tiny('mixed-multitask_resnet18_demo_pbc2bccd.py',
                     str(tmp_path)))
    assert all(torch.isfinite(torch.tensor(rec.losses)))
    assert decreases(rec.losses), rec.losses
    for part in ('backbone.', 'head.task_heads.source.',
                 'head.task_heads.target.'):
        assert moved(rec, part) > 1e-3, part


def test_sequential_stages_train_and_transfer(tmp_path):
    stage1 = tiny('sequential-stage1_resnet18_demo_pbc.py',
                  str(tmp_path / 's1'))
    rec1 = train(stage1)
    assert decreases(rec1.losses), rec1.losses
    assert moved(rec1, 'backbone.') > 1e-3
    ckpt = str(tmp_path / 's1' / f'iter_{ITERS}.pth')
    assert osp.isfile(ckpt)
    stage2 = tiny('sequential-stage2_resnet18_demo_bccd.py',
                  str(tmp_path / 's2'))
    stage2.model.backbone.init_cfg.checkpoint = ckpt
    rec2 = train(stage2)
    # stage 2 starts from stage 1's backbone ...
    for key, value in rec1.end.items():
        if key.startswith('backbone.'):
            torch.testing.assert_close(rec2.start[key], value, msg=key)
    # ... and fine-tunes it on the target
    assert decreases(rec2.losses), rec2.losses
    assert moved(rec2, 'backbone.') > 1e-3
    assert moved(rec2, 'head.') > 1e-3


if __name__ == '__main__':
    pytest.main([__file__])
