"""Real multi-process gloo runs (one process per rank, with a timeout):
uneven domain sizes, a domain smaller than the world size, and validation
where a rank holds no (real) sample of a domain."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from mmpretrain.registry import METRICS

import dl4all_mm  # noqa: F401
from tests.test_reliability import tiny_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TIMEOUT = 240  # seconds for the whole group: a hang fails the test


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _launch(world_size, jobs, init='torch'):
    """Start one ``tiny_runner`` process per rank; kill all on timeout."""
    port = _free_port()
    procs = []
    for rank in range(world_size):
        env = dict(
            os.environ,
            OMP_NUM_THREADS='1',
            PYTHONPATH=REPO,
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world_size))
        procs.append(
            subprocess.Popen(
                [sys.executable, '-m', 'tests.test_reliability.tiny_runner',
                 json.dumps(jobs), '--init', init],
                cwd=REPO, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True))
    deadline = time.time() + TIMEOUT
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=max(1, deadline - time.time()))
            outputs.append(out)
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        pytest.fail(f'world size {world_size}: no result after {TIMEOUT}s '
                    '(a rank hangs)')
    for rank, (proc, out) in enumerate(zip(procs, outputs)):
        assert proc.returncode == 0, f'rank {rank} failed:\n{out[-4000:]}'


def _records(path_tmpl, world_size):
    return [tiny_runner.read_records(path_tmpl.format(rank=r))
            for r in range(world_size)]


def _check_train_steps(records, steps, batch_size=2, disjoint=()):
    """Same number of steps and the same domain schedule on every rank;
    each rank's batch holds ``batch_size`` samples of every domain; the
    ``disjoint`` domains' samples differ between ranks at each step."""
    trains = [[r for r in recs if 'iter' in r and 'val' not in r]
              for recs in records]
    assert [len(t) for t in trains] == [steps] * len(records)
    for step in zip(*trains):
        assert len({json.dumps(s['domains']) for s in step}) == 1
        assert step[0]['domains'] == ['source'] * batch_size + \
            ['target'] * batch_size
        for domain in disjoint:
            seen = [p for s in step
                    for p, d in zip(s['paths'], s['domains']) if d == domain]
            assert len(seen) == len(set(seen)), (domain, step)


def _expected(records, sizes):
    """Accuracy per domain over exactly the dataset's samples: the sampler
    pads with duplicates, rank r holds positions r, r + W, ...; positions
    past the dataset size are padding and must not count."""
    world_size = len(records)
    total = sum(sizes.values())
    starts, offset = {}, 0
    for domain, size in sizes.items():
        starts[domain], offset = offset, offset + size
    per_rank = -(-total // world_size)
    correct, count, seen = defaultdict(int), defaultdict(int), set()
    for rank, recs in enumerate(records):
        last_val = [r for r in recs if 'val_sample' in r][-per_rank:]
        assert len(last_val) == per_rank
        for i, r in enumerate(last_val):
            if i * world_size + rank >= total:
                continue  # a padded duplicate
            domain = r['domain'] or 'target'
            seen.add(starts.get(domain, 0) + r['val_sample'])
            correct[domain] += int(r['gt'] == r['pred'])
            count[domain] += 1
    assert len(seen) == total
    return {d: correct[d] / count[d] for d in count}, count


def _last_metrics(records):
    metrics = [[r['val'] for r in recs if 'val' in r][-1] for recs in records]
    assert all(m == metrics[0] for m in metrics)  # broadcast to every rank
    return metrics[0]


def test_world_size_3_domain_smaller_than_world(tmp_path):
    """Target: 2 training images for 3 ranks x 2 per batch (cycled); val: 2
    target images, so rank 2 holds only a padded duplicate. The group is
    created by DL4ALLRunner's launcher (``launcher='pytorch'``, mmpretrain's
    ``nccl`` backend asked, gloo without CUDA) and the model wrapped by
    DL4ALLDistributedDataParallel without ``device_ids``."""
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root, dict(source=(7, 3), target=(2, 2)))
    tiny_runner.write_images(root, dict(target=(2, 2)), seed=1, split='val')
    job = dict(work_dir=str(tmp_path / 'work'), data_root=root,
               record=str(tmp_path / 'rank{rank}.jsonl'),
               cfg=dict(max_epochs=2, val=True, ckpt_interval=100))
    job['cfg']['train_dataloader'] = _loader(root, epoch_length=2)
    _launch(3, [job], init='runner')
    records = _records(job['record'], 3)
    _check_train_steps(records, steps=4)
    expected, count = _expected(records, dict(target=2))
    assert count == dict(target=2)
    metric = _last_metrics(records)['accuracy/top1']
    assert metric == pytest.approx(100 * expected['target'])


def test_world_size_2_uneven_domains_and_domain_metrics(tmp_path):
    """Source 13 / target 9 training images (neither divisible by the
    global batch); validation on both domains' val sets (3 source, 1
    target), where rank 0 holds no target sample."""
    if 'DiagnosticMetric' not in METRICS.module_dict:
        pytest.skip('DiagnosticMetric (issue 4) is not available')
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root, dict(source=(13, 3), target=(9, 2)))
    tiny_runner.write_images(root, dict(source=(3, 3), target=(1, 2)),
                             seed=1, split='val')
    # the guard hooks take part: their collectives must not hang either
    hooks = [dict(type=t) for t in ('DomainConfigCheckHook',
                                    'LeakageGuardHook', 'FiniteLossHook')]
    job = dict(work_dir=str(tmp_path / 'work'), data_root=root,
               record=str(tmp_path / 'rank{rank}.jsonl'),
               cfg=dict(max_epochs=2, val='domains', ckpt_interval=100,
                        custom_hooks=hooks))
    job['cfg']['train_dataloader'] = _loader(root, epoch_length='longest')
    _launch(2, [job])
    records = _records(job['record'], 2)
    # longest: source 13 // (2 x 2) = 3 steps per epoch, target cycles
    _check_train_steps(records, steps=6, disjoint=['source', 'target'])
    val = [[r for r in recs if 'val_sample' in r] for recs in records]
    assert {r['domain'] for r in val[0][-2:]} == {'source'}  # rank 0
    expected, count = _expected(records, dict(source=3, target=1))
    assert count == dict(source=3, target=1)
    metrics = _last_metrics(records)
    for domain in ('source', 'target'):
        assert metrics[f'{domain}/accuracy'] == pytest.approx(
            expected[domain])


def _loader(root, epoch_length):
    loader = tiny_runner.runner_cfg('unused', root)['train_dataloader']
    loader['batch_sampler']['epoch_length'] = epoch_length
    return loader


def test_world_size_2_greedy_reference_ranks_decide_together(tmp_path):
    """Reference Greedy on 2 ranks with disjoint data: the ranks' own target
    losses differ, yet every iteration both keep or both undo the source
    step (the compared loss is averaged over the ranks), and the runs do
    not hang whichever branch is taken."""
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root, dict(source=(16, 3), target=(12, 2)))
    job = dict(work_dir=str(tmp_path / 'work'), data_root=root,
               record=str(tmp_path / 'rank{rank}.jsonl'),
               cfg=dict(max_epochs=4, ckpt_interval=100,
                        train_cfg=dict(type='DomainTrainLoop', max_epochs=4,
                                       strategy='greedy')))
    _launch(2, [job])
    records = _records(job['record'], 2)
    # target 12 // (2 ranks x 2) = 3 steps an epoch
    _check_train_steps(records, steps=12, disjoint=['source', 'target'])
    steps = list(zip(*[[r for r in recs if 'greedy_kept' in r]
                       for recs in records]))
    assert len(steps) == 12
    for a, b in steps:
        assert a['greedy_kept'] == b['greedy_kept'], (a, b)
        assert a['greedy_target_loss'] == b['greedy_target_loss']
    assert any(a['target_loss'] != b['target_loss'] for a, b in steps)
    kept = [a['greedy_kept'] for a, _ in steps]
    assert 0.0 in kept and 1.0 in kept
