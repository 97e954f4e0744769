"""DL4ALL on 1 vs 2 CPU ranks (gloo), and peak memory of the demo training.

1. Correctness: the same global batch (``--batch`` images per domain per
   step, split over the ranks by ``DomainBatchSampler``) gives the same loss
   curve on 1 and on 2 ranks. Augmentation is off so that the curves can be
   compared step by step; the loss of each step is the mean over ranks.
   With GroupNorm (``--norm gn``, the default) the runs are the same
   computation up to float rounding; with BatchNorm each rank normalises its
   own half-batch, so the curves differ by design (reported, looser
   tolerance).
2. Throughput of each configuration ``RANKSxTHREADS`` (``--configs``).
3. ``--memory``: peak memory of the demo config's training (main process
   VmHWM, and the sampled peak of PSS summed over the process tree, which
   counts pages shared with dataloader workers once).

Example::

    python benchmarks/scaling.py --iters 20 --json scaling.json --memory
"""
import argparse
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import bench_training as bt  # noqa: E402
import bench_utils as bu  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py')


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--configs',
        default='1x1,2x1,1x2',
        help='RANKSxTHREADS runs; the first is the reference')
    p.add_argument('--arch', default='resnet18')
    p.add_argument('--norm', default='gn', choices=['gn', 'bn'])
    p.add_argument('--img-size', type=int, default=64)
    p.add_argument(
        '--batch',
        type=int,
        default=16,
        help='global images per domain per step')
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--images-per-domain', type=int, default=128)
    p.add_argument('--data-root', help='folder with pbc/ and bccd_wbc/')
    p.add_argument(
        '--rtol',
        type=float,
        help='max |loss_k - loss_ref| / loss_ref allowed '
        '(default 1e-3 with gn, 0.1 with bn)')
    p.add_argument(
        '--memory',
        action='store_true',
        help='also measure the demo training peak memory')
    p.add_argument('--memory-config', default=DEMO)
    p.add_argument('--memory-epochs', type=int, default=2)
    p.add_argument('--json')
    p.add_argument('--work-dir')
    p.add_argument('--rank-child', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--spec', help=argparse.SUPPRESS)
    return p.parse_args(argv)


# -- one rank ---------------------------------------------------------------
def rank_main(args) -> None:
    import torch
    from mmengine.config import Config
    from mmengine.dist import all_reduce, get_rank, get_world_size
    from mmengine.hooks import Hook

    import dl4all_mm  # noqa: F401
    from dl4all_mm.engine.runners import DL4ALLRunner
    with open(args.spec) as f:
        spec = json.load(f)
    world = int(os.environ['WORLD_SIZE'])
    sw = bu.StopWatch(args.warmup, args.iters)
    losses = []

    class Record(Hook):

        def after_train_iter(self,
                             runner,
                             batch_idx,
                             data_batch=None,
                             outputs=None) -> None:
            loss = outputs['loss'].detach().clone()
            all_reduce(loss, op='mean')  # in place; the global batch's loss
            losses.append(float(loss))
            if sw.tick():
                runner.train_loop.stop_training = True

    cfg = bt.runner_cfg(
        spec,
        'dl4all',
        osp.join(args.work_dir, f'ws{world}'),
        arch=args.arch,
        img_size=args.img_size,
        batch=args.batch // world,
        workers=args.workers,
        augment=False,
        norm=args.norm)
    cfg['launcher'] = 'pytorch' if world > 1 else 'none'
    runner = DL4ALLRunner.from_cfg(Config(cfg))  # gloo without CUDA
    runner.register_hook(Record(), priority='LOWEST')
    runner.train()
    bu.shutdown_workers(runner.train_dataloader)
    if get_rank() == 0:
        result = sw.result(2 * args.batch)  # global images per step
        result.update(
            losses=losses,
            world_size=get_world_size(),
            threads=torch.get_num_threads())
        print('RESULT ' + json.dumps(result), flush=True)
    os._exit(0)


def launch(args, spec_path: str, ranks: int, threads: int) -> dict:
    """Start ``ranks`` processes as torchrun would; rank 0's result."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    procs = []
    for rank in range(ranks):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(ranks),
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port),
            OMP_NUM_THREADS=str(threads),
            CUDA_VISIBLE_DEVICES='')
        cmd = [
            sys.executable,
            osp.abspath(__file__), '--rank-child', '--spec', spec_path
        ] + _forward(args)
        procs.append(
            subprocess.Popen(
                cmd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True))
    outs = [p.communicate() for p in procs]
    for line in outs[0][0].splitlines():
        if line.startswith('RESULT '):
            return json.loads(line[7:])
    raise RuntimeError(f'{ranks}x{threads} failed:\n' + '\n'.join(
        f'rank {i} (exit {p.returncode}): {o[1][-3000:]}'
        for i, (p, o) in enumerate(zip(procs, outs))))


def _forward(args) -> list:
    out = []
    for key in ('arch', 'norm', 'img_size', 'batch', 'iters', 'warmup',
                'workers', 'work_dir'):
        out += [f'--{key.replace("_", "-")}', str(getattr(args, key))]
    return out


# -- memory of the demo training -------------------------------------------
def demo_memory(args) -> dict:
    """Train the demo config for a few epochs; sample its memory."""
    if not osp.isfile(args.memory_config):
        return dict(skipped=f'{args.memory_config} not found')
    code = ('import sys; from mmengine.config import Config; '
            'from mmengine.runner import Runner; import dl4all_mm; '
            'cfg = Config.fromfile(sys.argv[1]); '
            'cfg.train_cfg.max_epochs = int(sys.argv[3]); '
            'cfg.train_cfg.val_interval = 1; cfg.work_dir = sys.argv[2]; '
            'cfg.log_level = "WARNING"; Runner.from_cfg(cfg).train()')
    work = osp.join(args.work_dir, 'demo_memory')
    start = time.perf_counter()
    proc = subprocess.Popen([
        sys.executable, '-c', code, args.memory_config, work,
        str(args.memory_epochs)
    ],
                            cwd=ROOT,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            text=True)
    peak_pss = peak_rss_sum = hwm = 0.0
    while proc.poll() is None:
        _, pss = bu.tree_memory_mib(proc.pid)
        rss_sum = sum(bu.tree_memory_mib(p)[0] for p in bu.tree_pids(proc.pid))
        hwm = max(hwm, _vm_hwm_mib(proc.pid))
        peak_pss, peak_rss_sum = max(peak_pss, pss), max(peak_rss_sum, rss_sum)
        time.sleep(0.2)
    err = proc.stderr.read()
    if proc.returncode:
        raise RuntimeError(f'demo training failed:\n{err[-3000:]}')
    return dict(
        config=osp.relpath(args.memory_config, ROOT),
        epochs=args.memory_epochs,
        main_peak_rss_mib=hwm,
        tree_peak_pss_mib=peak_pss,
        tree_peak_rss_sum_mib=peak_rss_sum,
        wall_s=time.perf_counter() - start)


def _vm_hwm_mib(pid: int) -> float:
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# -- parent -----------------------------------------------------------------
def report(args, spec: dict, runs: list, rtol: float) -> None:
    """Compare every run's loss curve with the first run's."""
    ref = runs[0]['losses']
    print(f'{args.arch} ({args.norm}) {args.img_size} px, global batch '
          f'{args.batch} per domain, {len(ref)} iterations compared, '
          f'{args.iters} timed (+{args.warmup}); data {spec["kind"]}')
    print(f'{"ranks x threads":16s} {"img/s":>8s} {"rank-0 cpu ms/img":>18s} '
          f'{"max rel loss diff":>18s}  within {rtol:g}')
    for run in runs:
        diff = max(abs(a - b) / abs(b) for a, b in zip(run['losses'], ref))
        run['max_rel_loss_diff'] = diff
        run['within_tolerance'] = bool(diff <= rtol)
        print(f'{run["config"]:16s} {run["images_per_s"]:8.2f} '
              f'{run["cpu_ms_per_image"]:18.1f} {diff:18.2e}  '
              f'{"yes" if diff <= rtol else "NO"}')


def main() -> None:
    args = parse_args()
    if args.rank_child:
        return rank_main(args)
    args.work_dir = args.work_dir or tempfile.mkdtemp(prefix='dl4all_scale_')
    rtol = args.rtol or (1e-3 if args.norm == 'gn' else 0.1)
    spec = bu.prepare_data(
        osp.join(args.work_dir, 'data'), args.data_root,
        args.images_per_domain)
    spec_path = osp.join(args.work_dir, 'spec.json')
    with open(spec_path, 'w') as f:
        json.dump(spec, f)
    runs = []
    for item in filter(None, args.configs.split(',')):
        ranks, threads = (int(v) for v in item.split('x'))
        if args.batch % ranks:
            raise ValueError(f'--batch {args.batch} is not divisible by '
                             f'{ranks} ranks')
        res = launch(args, spec_path, ranks, threads)
        res.update(config=item, ranks=ranks, load=os.getloadavg()[0])
        runs.append(res)
    if runs:
        report(args, spec, runs, rtol)
    out = dict(
        config={
            k: v
            for k, v in vars(args).items() if k not in ('rank_child', 'spec')
        },
        rtol=rtol,
        data=spec['kind'],
        runs=runs)
    if args.memory:
        out['demo_memory'] = mem = demo_memory(args)
        print('demo training memory:', json.dumps(mem))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
        print(f'wrote {args.json}')


if __name__ == '__main__':
    main()
