"""Train -> validate -> checkpoint -> resume through mmengine's Runner, and a
real 2-process gloo DDP run through tools/dist_train.sh."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import tempfile
from unittest import TestCase

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from tests.test_reliability.tiny_runner import runner_cfg, write_images

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cfg_for(tmp, work, max_epochs, **kwargs):
    cfg = runner_cfg(work, tmp, max_epochs=max_epochs, val=True, **kwargs)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=1, save_best='accuracy/top1',
        rule='greater')
    cfg['custom_hooks'] = [dict(type='DomainBNRecalibHook', num_batches=2)]
    return cfg


class TestRunnerEndToEnd(TestCase):

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        write_images(self.tmp.name)
        write_images(self.tmp.name, split='val', seed=1)

    def tearDown(self):
        self.tmp.cleanup()

    def test_train_val_checkpoint_resume(self):
        work = osp.join(self.tmp.name, 'work')
        runner = Runner(**cfg_for(self.tmp.name, work, 2))
        runner.train()
        self.assertTrue(osp.isfile(osp.join(work, 'epoch_2.pth')))
        best = [f for f in os.listdir(work) if f.startswith('best_')]
        self.assertEqual(len(best), 1)
        ckpt = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=False)
        meta = ckpt['meta']['dataset_meta']
        self.assertEqual(meta['domains'], ['source', 'target'])
        self.assertEqual(meta['domain_metainfo']['source']['classes'],
                         ('source0', 'source1', 'source2'))

        resumed = Runner(**cfg_for(self.tmp.name, work, 3, resume=True))
        resumed.train()
        self.assertEqual(resumed.epoch, 3)
        self.assertEqual(resumed.iter, 15)  # 5 paired iterations an epoch

        # tools/test.py path: a fresh runner loads the best checkpoint.
        best = [f for f in os.listdir(work) if f.startswith('best_')]
        self.assertEqual(len(best), 1)
        cfg = cfg_for(self.tmp.name, work, 3, load_from=osp.join(
            work, best[0]))
        cfg.update(
            test_dataloader=cfg['val_dataloader'],
            test_cfg=dict(),
            test_evaluator=cfg['val_evaluator'])
        metrics = Runner(**cfg).test()
        self.assertIn('accuracy/top1', metrics)

    def test_two_process_gloo_ddp_via_dist_train(self):
        work = osp.join(self.tmp.name, 'ddp')
        cfg = cfg_for(self.tmp.name, work, 1)
        cfg['model_wrapper_cfg'] = dict(type='DL4ALLDistributedDataParallel')
        cfg['custom_imports'] = dict(imports=['dl4all_mm'])
        # its launcher starts gloo without CUDA (mmengine's needs CUDA)
        cfg['runner_type'] = 'mmpretrain.DL4ALLRunner'
        cfg['log_level'] = 'INFO'
        for key in ('work_dir', 'custom_hooks'):
            cfg.pop(key)
        cfg['custom_hooks'] = [dict(type='DomainBNRecalibHook',
                                    num_batches=2)]
        path = osp.join(self.tmp.name, 'ddp_cfg.py')
        Config(cfg).dump(path)
        env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS='1',
                   PYTHON=sys.executable)
        proc = subprocess.run(
            ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), path, '2',
             '--work-dir', work],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        logs = [f for f in os.listdir(work) if f[0].isdigit()]
        scalars = osp.join(work, logs[0], 'vis_data', 'scalars.json')
        with open(scalars) as f:
            records = [json.loads(line) for line in f]
        self.assertTrue(any('accuracy/top1' in r for r in records))
        self.assertIn('Distributed training: True', proc.stdout + proc.stderr)
        self.assertIn('GPU number: 2', proc.stdout + proc.stderr)
