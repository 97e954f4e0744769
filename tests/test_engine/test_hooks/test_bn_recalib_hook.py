import os
import os.path as osp
import socket
import tempfile
from types import SimpleNamespace
from unittest import TestCase
from unittest.mock import PropertyMock, patch

import torch
import torch.multiprocessing as mp
from mmengine.runner import Runner
from torch.nn.modules.batchnorm import _BatchNorm

import dl4all_mm  # noqa: F401
from dl4all_mm.engine.runners import load_checkpoint_file
from dl4all_mm.engine.hooks import DomainBNRecalibHook
from tests.test_reliability.tiny_runner import runner_cfg, write_images


def bn_layers(model):
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, _BatchNorm)]


def record_bn_inputs(model):
    """Hooks recording every BN layer's input of every forward."""
    seen, handles = {}, []
    for name, bn in bn_layers(model):
        seen[name] = []
        handles.append(bn.register_forward_pre_hook(
            lambda m, args, name=name: seen[name].append(
                args[0].detach().clone())))
    return seen, handles


def batch_stats(x):
    dims = [0] + list(range(2, x.dim()))
    n = x.numel() // x.size(1)
    mean = x.mean(dim=dims)
    var = x.var(dim=dims, unbiased=False) * n / (n - 1)
    return mean, var


def expected_stats(init_mean, init_var, inputs, mode, momentum):
    """Hand computation of one layer's running statistics."""
    if mode == 'cumulative':
        stats = [batch_stats(x) for x in inputs]
        return (sum(m for m, _ in stats) / len(stats),
                sum(v for _, v in stats) / len(stats))
    mean, var = init_mean.clone(), init_var.clone()
    for x in inputs:
        bm, bv = batch_stats(x)
        mean = (1 - momentum) * mean + momentum * bm
        var = (1 - momentum) * var + momentum * bv
    return mean, var


class TestDomainBNRecalibHook(TestCase):

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.TemporaryDirectory()
        write_images(self.tmp.name)
        cfg = runner_cfg(f'{self.tmp.name}/work', self.tmp.name,
                         max_epochs=1)
        cfg['default_hooks']['checkpoint'] = dict(
            type='CheckpointHook', interval=100)
        self.runner = Runner(**cfg)
        self.runner.train()

    def tearDown(self):
        self.tmp.cleanup()

    def check_every_layer(self, mode, num_batches):
        hook = DomainBNRecalibHook(
            num_batches=num_batches, batch_size=2, mode=mode)
        model = self.runner.model
        layers = bn_layers(model)
        self.assertGreater(len(layers), 10)  # every layer of the ResNet
        init = {}
        for i, (name, bn) in enumerate(layers):
            bn.running_mean.fill_(3. + i)
            bn.running_var.fill_(5. + i)
            init[name] = (bn.running_mean.clone(), bn.running_var.clone())
        for data in hook._loader(self.runner):
            self.assertEqual({s.metainfo['domain']
                              for s in data['data_samples']}, {'target'})
        seen, handles = record_bn_inputs(model)
        try:
            hook.recalibrate(self.runner)
        finally:
            for h in handles:
                h.remove()
        for name, bn in layers:
            self.assertEqual(len(seen[name]), num_batches, name)
            self.assertEqual(seen[name][0].size(0), 2, name)
            mean, var = expected_stats(*init[name], seen[name], mode, 0.1)
            torch.testing.assert_close(bn.running_mean, mean, msg=name)
            torch.testing.assert_close(bn.running_var, var, msg=name)
            self.assertEqual(bn.momentum, 0.1)  # restored

    def test_momentum_mode_every_layer(self):
        self.check_every_layer('momentum', 3)

    def test_cumulative_mode_every_layer(self):
        self.check_every_layer('cumulative', 3)

    def test_reference_default(self):
        hook = DomainBNRecalibHook()
        self.assertEqual((hook.mode, hook.num_batches, hook.batch_size),
                         ('momentum', 101, None))
        # default batch size: the domain's training batch size
        self.assertEqual(
            len(next(iter(hook._loader(self.runner)))['data_samples']), 2)
        with self.assertRaisesRegex(ValueError, "mode.*'reset'"):
            DomainBNRecalibHook(mode='reset')

    def test_runs_before_validation_and_at_the_end(self):
        hook = DomainBNRecalibHook(num_batches=1)
        calls = []
        hook.recalibrate = lambda runner: calls.append(runner.epoch)
        loop = self.runner.train_loop
        loop.val_interval = 5
        loop._epoch = 1  # epoch 2 ends: no validation, not the last
        loop._max_epochs = 10
        with patch.object(Runner, 'val_loop', new_callable=PropertyMock,
                          return_value=object()):
            hook.after_train_epoch(self.runner)
            self.assertEqual(calls, [])
            loop._epoch = 4  # epoch 5 ends: validation follows
            hook.after_train_epoch(self.runner)
            loop._epoch = 9  # the last epoch
            hook.after_train_epoch(self.runner)
        self.assertEqual(len(calls), 2)

    def test_unknown_domain(self):
        with self.assertRaisesRegex(KeyError, 'nope'):
            DomainBNRecalibHook(domain='nope').recalibrate(self.runner)


class SnapshotBNHook(DomainBNRecalibHook):
    """Records the statistics right after each re-estimation."""

    def recalibrate(self, runner):
        model = runner.model
        self.before = {n: m.running_mean.clone()
                       for n, m in bn_layers(model)}
        super().recalibrate(runner)
        self.after = {n: (m.running_mean.clone(), m.running_var.clone())
                      for n, m in bn_layers(model)}


class TestRecalibratedCheckpoint(TestCase):

    def test_checkpoint_after_validation_holds_statistics(self):
        torch.set_num_threads(1)
        with tempfile.TemporaryDirectory() as tmp:
            write_images(tmp)
            write_images(tmp, split='val', seed=1)
            hook = SnapshotBNHook(num_batches=4, batch_size=2)
            cfg = runner_cfg(f'{tmp}/work', tmp, max_epochs=1, val=True,
                             custom_hooks=[hook])
            cfg['default_hooks']['checkpoint'] = dict(
                type='CheckpointHook', interval=1, save_best='accuracy/top1',
                rule='greater')
            runner = Runner(**cfg)
            runner.train()
            best = [f for f in os.listdir(f'{tmp}/work')
                    if f.startswith('best_')]
            self.assertEqual(len(best), 1)
            for name in ('epoch_1.pth', best[0]):
                state = load_checkpoint_file(osp.join(f'{tmp}/work', name),
                                        map_location='cpu')['state_dict']
                changed = 0
                for layer, (mean, var) in hook.after.items():
                    torch.testing.assert_close(
                        state[f'{layer}.running_mean'], mean)
                    torch.testing.assert_close(
                        state[f'{layer}.running_var'], var)
                    changed += not torch.equal(hook.before[layer], mean)
                self.assertEqual(changed, len(hook.after))


    def test_no_validation_last_checkpoint_holds_statistics(self):
        """Without validation (``compare_transfer.py --selection last``:
        no val loader, the last checkpoint is tested) the statistics are
        re-estimated once, after the last epoch, before the last
        checkpoint is saved (epoch-based, as the DL4ALL configs)."""
        torch.set_num_threads(1)
        with tempfile.TemporaryDirectory() as tmp:
            write_images(tmp)
            hook = SnapshotBNHook(num_batches=2, batch_size=2)
            calls = []
            real = hook.recalibrate

            def counted(runner):
                calls.append(runner.train_loop.epoch)
                real(runner)

            hook.recalibrate = counted
            cfg = runner_cfg(f'{tmp}/work', tmp, max_epochs=2,
                             custom_hooks=[hook])
            cfg['default_hooks']['checkpoint'] = dict(
                type='CheckpointHook', interval=100)  # only the last
            runner = Runner(**cfg)
            self.assertIsNone(runner.val_loop)
            runner.train()
            self.assertEqual(calls, [1])  # after epoch 2 of 2 only
            saved = sorted(f for f in os.listdir(f'{tmp}/work')
                           if f.endswith('.pth'))
            self.assertEqual(saved, ['epoch_2.pth'])
            state = load_checkpoint_file(
                osp.join(f'{tmp}/work', 'epoch_2.pth'),
                map_location='cpu')['state_dict']
            for layer, (mean, var) in hook.after.items():
                torch.testing.assert_close(state[f'{layer}.running_mean'],
                                           mean)
                torch.testing.assert_close(state[f'{layer}.running_var'],
                                           var)
                self.assertFalse(torch.equal(hook.before[layer], mean))


# ---------------------------------------------------------------- 2 ranks
class _Dataset(torch.utils.data.Dataset):
    """Source 0..7, target 8..23; sample i is an image of constant i
    (plus a channel offset), so a BN input tells which samples made it."""
    domain_ranges = {'source': (0, 8), 'target': (8, 24)}

    def __len__(self):
        return 24

    def __getitem__(self, i):
        img = torch.full((2, 3, 3), float(i))
        img[1] += torch.arange(9.).view(3, 3)
        return dict(inputs=img, idx=i)


class _Model(torch.nn.Module):
    eval_domain = 'target'

    def __init__(self):
        super().__init__()
        self.bn1 = torch.nn.BatchNorm2d(2)
        self.conv = torch.nn.Conv2d(2, 2, 1)
        self.bn2 = torch.nn.BatchNorm2d(2)

    def data_preprocessor(self, data, training):
        return dict(inputs=data['inputs'])

    def extract_feat(self, x):
        return self.bn2(self.conv(self.bn1(x)))


def _rank_main(rank, world_size, port, out_dir, mode):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.distributed.init_process_group(
        'gloo', rank=rank, world_size=world_size)
    torch.manual_seed(0)
    model = _Model()
    loader = torch.utils.data.DataLoader(_Dataset(), batch_size=3)
    runner = SimpleNamespace(
        model=model, train_dataloader=loader, epoch=0,
        logger=SimpleNamespace(info=lambda msg: None))
    hook = DomainBNRecalibHook(num_batches=3, batch_size=2, mode=mode)
    idx = [b['idx'].tolist() for b in hook._loader(runner)]
    init = {n: (m.running_mean.clone(), m.running_var.clone())
            for n, m in bn_layers(model)}
    seen, handles = record_bn_inputs(model)
    hook.recalibrate(runner)
    for h in handles:
        h.remove()
    torch.save(dict(
        idx=idx, seen=seen, init=init,
        final={n: (m.running_mean, m.running_var)
               for n, m in bn_layers(model)}),
        osp.join(out_dir, f'rank{rank}.pth'))
    torch.distributed.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class TestTwoRanks(TestCase):

    def run_ranks(self, mode):
        with tempfile.TemporaryDirectory() as tmp:
            mp.spawn(_rank_main, args=(2, _free_port(), tmp, mode),
                     nprocs=2, join=True)
            return [torch.load(osp.join(tmp, f'rank{r}.pth'))
                    for r in range(2)]

    def test_each_rank_its_own_shard(self):
        for mode in ('momentum', 'cumulative'):
            out = self.run_ranks(mode)
            shards = [{i for b in o['idx'] for i in b} for o in out]
            for shard in shards:
                self.assertTrue(shard <= set(range(8, 24)), shard)
                self.assertEqual(len(shard), 6)
            self.assertEqual(shards[0] & shards[1], set())
            for name in out[0]['final']:
                # each rank's statistics from its own BN inputs, averaged
                per_rank = [
                    expected_stats(*o['init'][name], o['seen'][name], mode,
                                   0.1) for o in out
                ]
                for o in out:  # identical on both ranks
                    mean, var = o['final'][name]
                    torch.testing.assert_close(
                        mean, (per_rank[0][0] + per_rank[1][0]) / 2)
                    torch.testing.assert_close(
                        var, (per_rank[0][1] + per_rank[1][1]) / 2)
                if name == 'bn1':  # the ranks saw different data
                    self.assertFalse(torch.allclose(per_rank[0][0],
                                                    per_rank[1][0]))
