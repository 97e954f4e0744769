"""Training throughput of DL4ALL next to stock mmpretrain and a plain loop.

Modes (each segment runs in a fresh child process; segments alternate,
A-B-C then C-B-A, so that machine drift cancels; ``--warmup-rounds`` (default
1) untimed rounds run every mode once first and are left out of every
figure, since the first segments of a run on a machine that was idle run
slow: see ``docs/benchmarks.md``, section 2):

- ``limit``: plain PyTorch, same backbone, heads, optimizer and per-step work
  as ``dl4all`` (one forward of both domain batches with per-domain
  BatchNorm statistics, one backward, one step) on pre-decoded in-memory
  tensors; ``limit_perdomain``: one forward + backward per domain batch;
- ``stock``: mmpretrain's ``Runner`` training ``ImageClassifier`` on one
  dataset (both domains' images, one head), ``2 * batch`` images per step;
- ``dl4all``: ``InterleavedDatasetWrapper`` + ``DomainBatchSampler`` (paired)
  + ``DomainTrainLoop`` (joint) + ``DomainImageClassifier`` (default: one
  forward, ``domain_split_batchnorm``), ``batch`` source + ``batch`` target
  images per step; ``dl4all_perdomain``: ``split_batchnorm=False`` (one
  backbone forward per domain);
- ``stock_nocache``/``dl4all_nocache``: the same without
  ``CachedImageDataset`` (every image decoded on every access);
- ``dl4all_nopersist``: ``dl4all`` with ``persistent_workers=False``
  (dataloader workers start again every epoch);
- ``dl4all_mixed``: ``dl4all`` with ``domain_pure_forward=False`` (one
  forward, BatchNorm statistics over both domains: not DL4ALL's method,
  shown to separate the framework's cost from the per-domain forward's).

Example::

    python benchmarks/overhead.py --arch resnet18 --img-size 96 --batch 16 \
        --iters 60 --json overhead.json
"""
import argparse
import json
import math
import os
import os.path as osp
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import bench_training as bt  # noqa: E402
import bench_utils as bu  # noqa: E402

PAIRS = [('dl4all', 'stock'), ('dl4all', 'limit'), ('stock', 'limit'),
         ('dl4all', 'dl4all_nocache'), ('stock', 'stock_nocache'),
         ('dl4all_perdomain', 'limit_perdomain'),
         ('dl4all', 'dl4all_perdomain'), ('dl4all_mixed', 'stock'),
         ('dl4all', 'dl4all_nopersist')]
MODES = ('limit', 'stock', 'dl4all', 'stock_nocache', 'dl4all_nocache',
         'dl4all_perdomain', 'limit_perdomain', 'dl4all_mixed',
         'dl4all_nopersist')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = p.add_argument
    add('--arch', default='resnet18', help='resnet18/34/50/101')
    add('--img-size', type=int, default=96)
    add('--batch', type=int, default=16, help='images per domain per step')
    add('--iters', type=int, default=60, help='timed iters per mode, total')
    add('--warmup', type=int, default=3, help='untimed iters per segment')
    add('--rounds', type=int, default=3)
    add('--warmup-rounds',
        type=int,
        default=1,
        help='rounds run first and discarded (recorded apart)')
    add('--modes', default='limit,stock,dl4all', help=f'of {MODES}')
    add('--workers', type=int, default=2)
    add('--images-per-domain', type=int, default=256)
    add('--src-size', type=int, default=128, help='synthetic JPEG size')
    add('--data-root', help='folder with pbc/ and bccd_wbc/ (else synthetic)')
    add('--device', default='cpu', choices=['cpu', 'cuda'])
    add('--amp', action='store_true', help='fp16 autocast + GradScaler')
    add('--channels-last', action='store_true')
    add('--threads', type=int, help='torch threads per process')
    add('--collate',
        default='default_collate',
        choices=['default_collate', 'pseudo_collate'])
    add('--json', help='write the results here')
    add('--segment-timeout', type=float, default=1800, help='seconds')
    add('--work-dir', help='data and logs (default: a temp dir)')
    p.add_argument('--child', choices=MODES, help=argparse.SUPPRESS)
    p.add_argument('--spec', help=argparse.SUPPRESS)
    p.add_argument('--segment-iters', type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    modes = args.modes.split(',')
    bad = [m for m in modes if m not in MODES]
    if (bad or args.warmup < 1 or args.iters < 1 or args.rounds < 1
            or args.warmup_rounds < 0):
        p.error(f'unknown modes {bad} (choose from {MODES}), or warmup/'
                'iters/rounds < 1 or warmup-rounds < 0')
    return args


# -- children ---------------------------------------------------------------
class _Done(Exception):
    pass


def run_runner(args, spec: dict, mode: str, sw: bu.StopWatch) -> dict:
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    class StopWatchHook(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None) -> None:
            if sw.tick():
                raise _Done

    work_dir = tempfile.mkdtemp(prefix=f'{mode}_', dir=args.work_dir)
    cfg = bt.runner_cfg(
        spec,
        'stock' if mode.startswith('stock') else 'dl4all',
        work_dir,
        arch=args.arch,
        img_size=args.img_size,
        batch=args.batch,
        workers=args.workers,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        cache='nocache' not in mode,
        collate=args.collate)
    if 'mixed' in mode:
        cfg['model']['domain_pure_forward'] = False
    if 'nopersist' in mode:
        cfg['train_dataloader']['persistent_workers'] = False
    if 'perdomain' in mode:
        cfg['model']['split_batchnorm'] = False
    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(StopWatchHook(), priority='LOWEST')
    try:
        runner.train()
    except _Done:
        pass
    bu.shutdown_workers(runner.train_dataloader)
    hub = runner.message_hub.log_scalars
    data_time = hub['train/data_time'].data[0][-sw.iters:]
    cache = _cache_bytes(runner.train_dataloader.dataset)
    return dict(data_time_s=float(data_time.mean()), cache_mib=cache / 2**20)


def _cache_bytes(dataset) -> int:
    inner = getattr(dataset, 'datasets', None)
    if isinstance(inner, dict):
        return sum(_cache_bytes(d) for d in inner.values())
    return int(getattr(dataset, 'nbytes', 0))


def child_main(args) -> None:
    import torch
    import dl4all_mm  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    with open(args.spec) as f:
        spec = json.load(f)
    start = time.perf_counter()
    sw = bu.StopWatch(
        args.warmup, args.segment_iters, cuda=args.device == 'cuda')
    if args.child.startswith('limit'):
        bt.limit_loop(
            spec,
            sw.tick,
            args.arch,
            args.img_size,
            args.batch,
            args.device,
            args.amp,
            args.channels_last,
            split_bn=args.child == 'limit')
        extra = {}
    else:
        extra = run_runner(args, spec, args.child, sw)
    result = sw.result(2 * args.batch)
    rss, pss = bu.tree_memory_mib()
    result.update(
        extra,
        mode=args.child,
        threads=torch.get_num_threads(),
        process_s=time.perf_counter() - start,
        rss_mib=rss,
        tree_pss_mib=pss)
    print('RESULT ' + json.dumps(result), flush=True)
    os._exit(0)  # workers are down; skip the interpreter's teardown


# -- parent -----------------------------------------------------------------
def run_segment(args, mode: str, spec_path: str, iters: int) -> dict:
    cmd = [
        sys.executable,
        osp.abspath(__file__), '--child', mode, '--spec', spec_path,
        '--segment-iters',
        str(iters)
    ]
    for key in ('arch', 'img_size', 'batch', 'warmup', 'workers', 'device',
                'threads', 'work_dir', 'collate'):
        value = getattr(args, key)
        if value is not None:
            cmd += [f'--{key.replace("_", "-")}', str(value)]
    cmd += ['--amp'] * args.amp + ['--channels-last'] * args.channels_last
    # A session of its own, so that a stuck child and its dataloader
    # workers can be ended together.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True)
    try:
        out, err = proc.communicate(timeout=args.segment_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    for line in out.splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[7:])
    raise RuntimeError(f'{mode} segment failed (exit {proc.returncode}):\n'
                       f'{out[-3000:]}\n{err[-5000:]}')


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    args.work_dir = args.work_dir or tempfile.mkdtemp(prefix='dl4all_bench_')
    spec = bu.prepare_data(
        osp.join(args.work_dir, 'data'), args.data_root,
        args.images_per_domain, args.src_size)
    spec_path = osp.join(args.work_dir, 'spec.json')
    with open(spec_path, 'w') as f:
        json.dump(spec, f)
    modes = args.modes.split(',')
    per_segment = math.ceil(args.iters / args.rounds)
    print(
        f'data: {spec["kind"]}, {args.images_per_domain} images/domain; '
        f'{args.rounds} rounds x {per_segment} timed iters (+{args.warmup} '
        f'warm-up) per mode after {args.warmup_rounds} discarded round(s); '
        f'{2 * args.batch} images/step; load '
        f'{os.getloadavg()[0]:.2f}',
        flush=True)
    targets = {
        'dl4all/limit': 0.9
    } if args.device == 'cuda' else {
        'dl4all/stock': 0.97,
        'dl4all/limit': 0.85
    }
    cfg = {
        k: v
        for k, v in vars(args).items()
        if k not in ('child', 'spec', 'segment_iters')
    }
    out = dict(
        config=cfg,
        data=spec['kind'],
        targets=targets,
        warmup_segments=[],
        segments=[],
        failures=[])
    # Warm-up rounds are numbered -warmup_rounds..-1, in round 0's order.
    for r in range(-args.warmup_rounds, args.rounds):
        for mode in (modes if r % 2 == 0 or r < 0 else modes[::-1]):
            try:
                seg = run_segment(args, mode, spec_path, per_segment)
            except RuntimeError as err:  # keep the other modes' results
                print(err, flush=True)
                out['failures'].append(
                    dict(mode=mode, round=r, error=str(err)[-2000:]))
                continue
            seg.update(round=r, load=os.getloadavg()[0])
            out['warmup_segments' if r < 0 else 'segments'].append(seg)
            print(
                f'{"warm-up " if r < 0 else ""}round {r} {mode:15s} '
                f'{seg["images_per_s"]:7.2f} img/s '
                f'{seg["main_cpu_images_per_s"]:7.2f} img/cpu-s  data wait '
                f'{seg.get("data_time_s", 0) * 1e3:5.1f} ms/it  load '
                f'{seg["load"]:.2f}',
                flush=True)
            _write(args.json, out)  # partial results survive a time-out
    done = [m for m in modes if any(s['mode'] == m for s in out['segments'])]
    pairs = [(a, b) for a, b in PAIRS if a in done and b in done]
    out.update(bu.summarize(out['segments'], done, 2 * args.batch, pairs))
    bu.print_summary(out, targets)
    if _write(args.json, out):
        print(f'wrote {args.json}')
    if out['failures']:
        sys.exit(f'{len(out["failures"])} segment(s) failed')


def _write(path, out: dict) -> bool:
    if path:
        with open(path, 'w') as f:
            json.dump(out, f, indent=1)
    return bool(path)


if __name__ == '__main__':
    main()
