"""Where a training step spends its time: DL4ALL next to stock mmpretrain.

Builds the ``dl4all`` or ``stock`` runner of ``benchmarks/overhead.py``
(``bench_training.runner_cfg``: ResNet, 96 px, ``batch`` images per domain,
``2 * batch`` per step), trains ``--warmup`` untimed iterations, then
profiles ``--iters`` iterations with ``torch.profiler`` (operators, sorted
by self CPU time) and ``cProfile`` (Python functions, by own time), and
writes both tables (and the raw ``.pstats``) plus the mean wall time per
iteration. Data come from
``--data-root`` (``pbc``/``bccd_wbc`` folders, e.g. ``data/demo``) or are
synthetic; with ``--workers 0`` the data loading is in the profile too.

Example::

    python benchmarks/profile_step.py --mode dl4all --data-root data/demo \\
        --iters 20 --out work_dirs/profile
"""
import argparse
import cProfile
import io
import json
import os
import os.path as osp
import pstats
import shutil
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import bench_training as bt  # noqa: E402
import bench_utils as bu  # noqa: E402


class _Done(Exception):
    pass


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = p.add_argument
    add('--mode', choices=['dl4all', 'stock'], required=True)
    add('--arch', default='resnet18')
    add('--img-size', type=int, default=96)
    add('--batch', type=int, default=16, help='images per domain per step')
    add('--iters', type=int, default=20, help='profiled iterations')
    add('--warmup', type=int, default=5, help='untimed iterations first')
    add('--workers', type=int, default=2)
    add('--threads', type=int, help='torch threads')
    add('--images-per-domain', type=int, default=256)
    add('--data-root', help='folder with pbc/ and bccd_wbc/')
    add('--top', type=int, default=15, help='rows of each table')
    add('--out', required=True, help='folder for the tables and JSON')
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    import dl4all_mm  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix='profile_')
    spec = bu.prepare_data(osp.join(work, 'data'), args.data_root,
                           args.images_per_domain)
    cfg = bt.runner_cfg(spec, args.mode, work, arch=args.arch,
                        img_size=args.img_size, batch=args.batch,
                        workers=args.workers)
    total = args.warmup + args.iters
    state = dict(n=0, t0=None)
    prof = torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU])
    py = cProfile.Profile()

    class ProfileHook(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None) -> None:
            state['n'] += 1
            if state['n'] == args.warmup:
                state['t0'] = time.perf_counter()
                prof.start()
                py.enable()
            elif state['n'] == total:
                py.disable()
                prof.stop()
                state['t1'] = time.perf_counter()
                raise _Done

    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(ProfileHook())
    try:
        runner.train()
    except _Done:
        pass
    bu.shutdown_workers(runner.train_dataloader)
    ms = (state['t1'] - state['t0']) * 1e3 / args.iters
    ops = prof.key_averages().table(
        sort_by='self_cpu_time_total', row_limit=args.top)
    py.dump_stats(osp.join(args.out, f'{args.mode}.pstats'))
    buf = io.StringIO()
    pstats.Stats(py, stream=buf).sort_stats('tottime').print_stats(args.top)
    header = (f'{args.mode}: {ms:.1f} ms/iteration over {args.iters} '
              f'iterations (profilers on), {2 * args.batch} images, '
              f'{torch.get_num_threads()} threads, data '
              f'{spec["kind"]}\n')
    for name, text in (('ops', ops), ('python', buf.getvalue())):
        with open(osp.join(args.out, f'{args.mode}_{name}.txt'), 'w') as f:
            f.write(header + text)
    with open(osp.join(args.out, f'{args.mode}.json'), 'w') as f:
        json.dump(dict(vars(args), ms_per_iter=ms, data=spec['kind']), f)
    print(header + ops)
    shutil.rmtree(work, ignore_errors=True)
    os._exit(0)  # workers are down; skip the interpreter's teardown


if __name__ == '__main__':
    main()
