"""Tiny DL4ALL runs for the reliability tests.

Generated images (written to a temporary folder), a ResNet-18 with 8 base
channels at 16 px and a Runner config built inline. ``python -m
tests.test_reliability.tiny_runner`` is the child process of the crash and
distributed tests (gloo, one process per rank, ranks from the environment).
"""
import argparse
import io
import json
import os
import os.path as osp
import signal
import uuid
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.hooks import Hook

from tests.conftest import TINY_RESNET_CHANNELS, tiny_resnet, tint
from tests.conftest import write_images as write_png_images

IMG_SIZE = 16
DOMAINS = {'source': (12, 3), 'target': (10, 2)}  # images, classes


def write_images(root: str,
                 domains: Dict[str, Sequence[int]] = DOMAINS,
                 seed: int = 0,
                 split: str = 'train') -> None:
    """Write ``root/<domain>/<split>_<i>.png`` and an annotation file
    ``root/<domain>_<split>.txt`` (``path label``) per domain. Class ``k``
    images are tinted by ``k``."""
    items = {
        domain: [(f'{domain}/{split}_{i}.png', i % num_classes)
                 for i in range(num)]
        for domain, (num, num_classes) in domains.items()
    }
    write_png_images(root, sum(items.values(), []), size=IMG_SIZE,
                     seed=seed, high=60, offset=tint)
    for domain, files in items.items():
        os.makedirs(osp.join(root, domain), exist_ok=True)
        with open(osp.join(root, f'{domain}_{split}.txt'), 'w') as f:
            f.write('\n'.join(f'{n} {k}' for n, k in files) + '\n')


def dataset_cfg(root: str, domain: str, split: str = 'train') -> dict:
    """A ``CustomDataset`` of one generated domain."""
    num_classes = DOMAINS[domain][1]
    return dict(
        type='CustomDataset',
        data_root=root,
        ann_file=f'{domain}_{split}.txt',
        classes=[f'{domain}{k}' for k in range(num_classes)],
        pipeline=[
            dict(type='LoadImageFromFileRobust'),
            dict(type='PackInputs')
        ])


def model_cfg(num_classes: Optional[Dict[str, int]] = None) -> dict:
    """DomainImageClassifier with a tiny ResNet-18 and one head a domain."""
    num_classes = num_classes or {d: n for d, (_, n) in DOMAINS.items()}
    return dict(
        type='DomainImageClassifier',
        data_preprocessor=dict(
            type='DomainDataPreprocessor',
            domain_norm={
                d: dict(mean=[100.0] * 3, std=[60.0] * 3)
                for d in num_classes
            }),
        backbone=tiny_resnet(),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='DomainMultiTaskHead',
            task_heads={
                d: dict(type='LinearClsHead', num_classes=n,
                        in_channels=TINY_RESNET_CHANNELS)
                for d, n in num_classes.items()
            }))


def runner_cfg(work_dir: str,
               root: str,
               max_epochs: int = 3,
               batch_size: int = 2,
               ckpt_interval: int = 3,
               max_keep_ckpts: int = -1,
               val: Union[bool, str] = False,
               dist: bool = False,
               custom_hooks: Sequence = (),
               **overrides) -> dict:
    """Runner kwargs of a paired/joint DL4ALL run on the generated data;
    ``val``: True (target val set, ``Accuracy``) or ``'domains'`` (every
    domain's val set, a ``DiagnosticMetric`` per domain)."""
    cfg = dict(
        model=model_cfg(),
        work_dir=work_dir,
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_sampler=dict(
                type='DomainBatchSampler', schedule='paired', seed=0),
            dataset=dict(
                type='InterleavedDatasetWrapper',
                datasets={d: dataset_cfg(root, d)
                          for d in DOMAINS})),
        train_cfg=dict(
            type='DomainTrainLoop', max_epochs=max_epochs, strategy='joint'),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type='AtomicCheckpointHook',  # as in default_runtime.py
                by_epoch=False,
                interval=ckpt_interval,
                max_keep_ckpts=max_keep_ckpts)),
        custom_hooks=list(custom_hooks),
        default_scope='mmpretrain',
        # A unique name: mmengine keeps one visualizer per experiment name,
        # and two runners built in the same second would share one.
        experiment_name=f'tiny_{uuid.uuid4().hex[:12]}',
        randomness=dict(seed=0),
        log_level='WARNING')
    if val == 'domains':
        cfg.update(
            val_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(
                    type='InterleavedDatasetWrapper',
                    datasets={
                        d: dataset_cfg(root, d, split='val')
                        for d in DOMAINS
                    })),
            val_cfg=dict(),
            val_evaluator=[
                dict(type='DiagnosticMetric', domain=d) for d in DOMAINS
            ])
    elif val:
        cfg.update(
            val_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dataset_cfg(root, 'target', split='val')),
            val_cfg=dict(),
            val_evaluator=dict(type='Accuracy', topk=(1, )))
    if dist:
        cfg.update(
            launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            cfg=dict(model_wrapper_cfg=dict(
                type='DL4ALLDistributedDataParallel')))
    cfg.update(overrides)
    return cfg


class RecordHook(Hook):
    """Write one JSON line per training iteration (iteration, epoch, batch
    index, domains and image paths of the batch) and per validation;
    optionally SIGKILL the process after iteration ``kill_at``."""

    priority = 'VERY_LOW'  # after the checkpoint hook

    def __init__(self, path: str, kill_at: Optional[int] = None) -> None:
        self.path = path
        self.kill_at = kill_at

    def _write(self, record: dict) -> None:
        with open(self.path, 'a') as f:
            f.write(json.dumps(record) + '\n')
            f.flush()
            os.fsync(f.fileno())

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        samples = data_batch['data_samples']
        record = dict(
            iter=runner.iter + 1,
            epoch=runner.epoch,
            batch_idx=batch_idx,
            domains=[s.metainfo['domain'] for s in samples],
            paths=[osp.basename(s.metainfo['img_path']) for s in samples])
        for key in ('greedy_kept', 'greedy_target_loss', 'target_loss'):
            if outputs and key in outputs:  # greedy's decision and losses
                record[key] = float(torch.as_tensor(outputs[key]).detach())
        self._write(record)
        if self.kill_at is not None and runner.iter + 1 == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        for sample in outputs:
            domain = sample.metainfo.get('domain')
            pred = sample.get(domain) if domain else sample
            self._write(
                dict(
                    val_sample=sample.metainfo['sample_idx'],
                    domain=domain,
                    gt=int(pred.gt_label),
                    pred=int(pred.pred_label)))

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._write(dict(val=dict(metrics or {}), iter=runner.iter))


def read_records(path: str) -> List[dict]:
    """The JSON lines a :class:`RecordHook` wrote."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class _KillingFile(io.FileIO):
    """A file that SIGKILLs its process once ``limit`` bytes are written."""
    limit = 4096

    def write(self, data) -> int:
        room = self.limit - self.tell()
        if len(data) > room:
            super().write(bytes(data)[:max(room, 0)])
            os.fsync(self.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return super().write(data)


def kill_in_save(nth: int) -> None:
    """SIGKILL this process while it writes its ``nth`` checkpoint (through
    the ``atomic_local`` backend of ``AtomicCheckpointHook``)."""
    from dl4all_mm.fileio import atomic_local_backend
    calls = [0]

    def killing_open(path, mode='r', *args, **kwargs):
        if 'w' in mode and '.pth' in osp.basename(str(path)):
            calls[0] += 1
            if calls[0] == nth:
                return _KillingFile(path, 'wb')
        return open(path, mode, *args, **kwargs)

    atomic_local_backend.open = killing_open


def run_job(job: dict) -> None:
    """One training run: ``work_dir``, ``data_root``, ``record`` and
    optionally ``kill_at``, ``resume``, ``save_final`` and ``cfg``
    (:func:`runner_cfg` keyword arguments). ``runner_launch``: no process
    group exists yet; the runner creates it (``launcher='pytorch'`` with
    mmpretrain's default ``nccl`` backend, as ``tools/train.py --launcher
    pytorch`` does)."""
    from dl4all_mm.engine.runners import DL4ALLRunner
    dist = job.get('runner_launch') or torch.distributed.is_initialized()
    if job.get('kill_in_save'):
        kill_in_save(job['kill_in_save'])
    rank = int(os.environ.get('RANK', 0)) if dist else 0
    hooks = [RecordHook(job['record'].format(rank=rank), job.get('kill_at'))]
    cfg = dict(randomness=dict(seed=0, deterministic=True))
    if job.get('runner_launch'):
        cfg['env_cfg'] = dict(dist_cfg=dict(backend='nccl'))
    cfg.update(job.get('cfg', {}))
    hooks += cfg.pop('custom_hooks', [])
    runner = DL4ALLRunner(**runner_cfg(
        job['work_dir'],
        job['data_root'],
        dist=dist,
        custom_hooks=hooks,
        resume=job.get('resume', False),
        **cfg))
    runner.train()
    if job.get('save_final') and runner.rank == 0:
        model = getattr(runner.model, 'module', runner.model)
        torch.save(model.state_dict(), job['save_final'])


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Child process: run the jobs (JSON list) one after the other; under
    ``torchrun``-style environment variables, as one rank of a gloo group
    (``--init runner``: the DL4ALLRunner's launcher creates the group)."""
    import dl4all_mm  # noqa: F401  (registers the components)
    parser = argparse.ArgumentParser()
    parser.add_argument('jobs', help='JSON list of run_job arguments')
    parser.add_argument('--init', choices=['torch', 'runner'],
                        default='torch')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if 'WORLD_SIZE' in os.environ and args.init == 'torch':
        torch.distributed.init_process_group(
            'gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    for job in json.loads(args.jobs):
        run_job(dict(job, runner_launch=args.init == 'runner'
                     and 'WORLD_SIZE' in os.environ))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main()
