"""Slowdown from denormal floats on the CPU, and what flushing them recovers.

Float32 values below 2**-126 (about 1.2e-38) are *denormal* (subnormal).
Many CPUs compute with them far more slowly than with normal values unless
the FTZ/DAZ flags flush them to zero; training reaches them once weights,
gradients or optimizer states decay towards zero. This benchmark produces
them deterministically and in seconds instead of after epochs: it times a
training step of a small ResNet-style block (conv 3x3 - ReLU - conv 3x3 +
identity - ReLU - global average pool - linear head; forward, backward and
an SGD step with momentum and weight decay) on fixed random inputs, either
as drawn (``normal``) or scaled by ``--scale`` (default ``2**-130``) into
the subnormal range (``subnormal``); there, the activations, the weight
gradients and the momentum buffers of the convolutions are denormal too.

Modes (all in this process; weights, optimizer state and data are re-made
from ``--seed`` at the start of each segment):

- ``normal``, ``subnormal``: flushing off (``torch.set_flush_denormal``);
- ``normal_flushed``, ``subnormal_flushed``: flushing on, turned on and
  restored exactly as a training run does it, by the plugin's
  ``FlushDenormalHook`` (``before_run`` / ``after_run``).

Each segment runs ``--warmup`` untimed steps and ``--iters`` timed steps;
rounds alternate the order of the modes (A-B-C-D, then D-C-B-A, ...; an
even ``--rounds`` balances a linear drift of the machine) and every ratio is
the median over rounds of per-round ratios (``bench_utils.summarize``).
Ratios are of speeds (images/s): ``normal/subnormal`` is the slowdown that
denormals cause, ``subnormal_flushed/subnormal`` what flushing recovers,
``subnormal_flushed/normal`` (close to 1 when flushing recovers all of it)
and ``normal_flushed/normal`` (close to 1: flushing costs nothing on normal
values).

Before the timed steps of every segment a probe step counts, among the
non-zero values of the first convolution's output and of the convolution
weights' gradients, the fraction that is denormal, and the fraction of the
scaled inputs that the step saw as exactly zero: this shows that the
``subnormal`` mode really computes on denormals and that the flushed modes
really flush (only the calling thread's flags are set by
``torch.set_flush_denormal``, so with ``--threads`` above 1 the intra-op
threads may still compute on denormals: the fractions show it).

The state of flushing and the number of torch threads found at the start
are restored at the end. With ``DL4ALL_KEEP_DENORMALS=1`` the hook keeps
denormals, and the flushed modes measure that (the record says so).

Example (the record in ``docs/benchmarks.md``, section 6)::

    OMP_NUM_THREADS=1 python benchmarks/denormals.py \
        --out docs/records/denormals_2026-12-03.json
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics
import sys
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import bench_utils as bu  # noqa: E402

MODES = ('normal', 'subnormal', 'normal_flushed', 'subnormal_flushed')
PAIRS = [('normal', 'subnormal'), ('subnormal_flushed', 'subnormal'),
         ('subnormal_flushed', 'normal'), ('normal_flushed', 'normal')]
SMALLEST_NORMAL = 2.0**-126


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options.

    Args:
        argv: Arguments without the program name (default: ``sys.argv``).

    Returns:
        The parsed options.
    """
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add = p.add_argument
    add('--batch', type=int, default=16, help='images per step')
    add('--channels', type=int, default=32, help='channels of the block')
    add('--size', type=int, default=32, help='height and width of inputs')
    add('--iters', type=int, default=20, help='timed steps per segment')
    add('--warmup', type=int, default=3, help='untimed steps per segment')
    add('--rounds', type=int, default=4, help='rounds over all modes')
    add('--modes', default=','.join(MODES), help=f'of {MODES}')
    add('--scale',
        type=float,
        default=2.0**-130,
        help='factor that takes the inputs into the subnormal range')
    add('--threads', type=int, default=1, help='torch intra-op threads')
    add('--seed', type=int, default=0)
    add('--out', help='write the JSON record here')
    args = p.parse_args(argv)
    modes = args.modes.split(',')
    bad = [m for m in modes if m not in MODES]
    if bad or min(args.iters, args.warmup, args.rounds, args.batch,
                  args.channels, args.size, args.threads) < 1:
        p.error(f'unknown modes {bad} (choose from {MODES}), or a count '
                'below 1')
    if not 0 < args.scale * 4 < SMALLEST_NORMAL:
        p.error('--scale must take values of about 1 below 2**-126')
    return args


# -- workload ---------------------------------------------------------------
class Block:
    """A ResNet-style basic block without BatchNorm, a linear head and SGD.

    BatchNorm is left out on purpose: it would divide the denormal
    activations by their (denormal) spread and make them normal again.

    Args:
        channels: Channels of both convolutions and of the input.
        classes: Outputs of the linear head.
        seed: Seed of the weights.
    """

    def __init__(self, channels: int, classes: int = 10, seed: int = 0):
        import torch
        from torch import nn
        gen = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.head = nn.Linear(channels, classes)
        with torch.no_grad():
            for conv in (self.conv1, self.conv2):  # He init, seeded
                std = (2.0 / (9 * channels))**0.5
                conv.weight.copy_(
                    torch.randn(conv.weight.shape, generator=gen) * std)
            self.head.weight.copy_(
                torch.randn(self.head.weight.shape, generator=gen) *
                channels**-0.5)
            self.head.bias.zero_()
        self.params = [
            self.conv1.weight, self.conv2.weight, self.head.weight,
            self.head.bias
        ]
        self.optim = torch.optim.SGD(
            self.params, lr=0.01, momentum=0.9, weight_decay=5e-4)
        self.conv1_out = None

    def step(self, x, y) -> float:
        """One training step (forward, backward, SGD step).

        Args:
            x: Inputs, ``(batch, channels, size, size)``.
            y: Class indices, ``(batch,)``.

        Returns:
            The loss.
        """
        import torch.nn.functional as F
        self.optim.zero_grad(set_to_none=True)
        self.conv1_out = self.conv1(x)
        h = self.conv2(F.relu(self.conv1_out)) + x
        logits = self.head(F.relu(h).mean((2, 3)))
        loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optim.step()
        return float(loss.detach())


def subnormal_fraction(t) -> float:
    """Fraction of the non-zero values of ``t`` that are denormal.

    Args:
        t: A float32 tensor.

    Returns:
        0.0 when ``t`` holds no non-zero value.
    """
    a = t.detach().abs()
    nonzero = int((a > 0).sum())
    if not nonzero:
        return 0.0
    return int(((a > 0) & (a < SMALLEST_NORMAL)).sum()) / nonzero


def make_data(args: argparse.Namespace, subnormal: bool):
    """Inputs and labels of every step, the same in every segment.

    Args:
        args: Options (``batch``, ``channels``, ``size``, ``scale``,
            ``seed``).
        subnormal: Scale the inputs by ``args.scale``.

    Returns:
        ``(x, y)``.
    """
    import torch
    gen = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(args.batch, args.channels, args.size, args.size,
                    generator=gen)
    y = torch.randint(0, 10, (args.batch, ), generator=gen)
    return (x * args.scale if subnormal else x), y


# -- segments ---------------------------------------------------------------
def run_segment(args: argparse.Namespace, mode: str) -> dict:
    """Time one mode: probe step, warm-up steps, timed steps.

    Flushing is on (through ``FlushDenormalHook``) only inside the segment
    of a ``*_flushed`` mode and is restored when it ends.

    Args:
        args: Options.
        mode: One of :data:`MODES`.

    Returns:
        The ``bench_utils.StopWatch`` result with ``mode``, ``flushed``
        (the state seen inside the segment), ``loss`` (after the probe
        step) and the denormal fractions of the probe step.
    """
    import torch
    from dl4all_mm.engine.hooks import FlushDenormalHook
    from dl4all_mm.utils import denormals_flushed
    hook = FlushDenormalHook(flush=True)
    if mode.endswith('_flushed'):
        hook.before_run(None)
    try:
        flushed = denormals_flushed()
        model = Block(args.channels, seed=args.seed)
        x, y = make_data(args, subnormal=mode.startswith('subnormal'))
        loss = model.step(x, y)  # probe: what the step computes on
        probe = dict(
            input_zero_fraction=float((x * 1.0 == 0).float().mean()),
            conv1_out_subnormal=subnormal_fraction(model.conv1_out),
            grad_subnormal=subnormal_fraction(
                torch.cat([
                    model.conv1.weight.grad.flatten(),
                    model.conv2.weight.grad.flatten()
                ])))
        sw = bu.StopWatch(args.warmup, args.iters)
        while True:
            model.step(x, y)
            if sw.tick():
                break
        result = sw.result(args.batch)
    finally:
        if mode.endswith('_flushed'):
            hook.after_run(None)
    result.update(probe, mode=mode, flushed=flushed, loss=loss)
    return result


def machine() -> Dict[str, object]:
    """What ran the benchmark: CPU model, cores, Python, torch."""
    import torch
    cpu = platform.processor()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return dict(
        cpu=cpu,
        cores=os.cpu_count(),
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'))


def main(argv: Optional[List[str]] = None) -> dict:
    """Run all rounds, print the table, write the record.

    Args:
        argv: Arguments without the program name (default: ``sys.argv``).

    Returns:
        The record (also written to ``--out`` when given).
    """
    import torch
    from dl4all_mm.utils import denormals_flushed, set_flush_denormals
    args = parse_args(argv)
    modes = args.modes.split(',')
    flushed_before = denormals_flushed()
    threads_before = torch.get_num_threads()
    record = dict(
        command=' '.join(['python', 'benchmarks/denormals.py'] + list(
            sys.argv[1:] if argv is None else argv)),
        machine=machine(),
        config=vars(args),
        load_before=os.getloadavg(),
        flushed_before=flushed_before,
        segments=[])
    print(f'{args.rounds} rounds x {len(modes)} modes, {args.iters} timed '
          f'steps (+{args.warmup} warm-up) per segment, {args.batch} images '
          f'of {args.channels}x{args.size}x{args.size}, {args.threads} '
          f'thread(s); load {os.getloadavg()[0]:.2f}', flush=True)
    try:
        torch.set_num_threads(args.threads)
        set_flush_denormals(False)  # the unflushed modes must not flush
        for r in range(args.rounds):
            for mode in (modes if r % 2 == 0 else modes[::-1]):
                seg = run_segment(args, mode)
                seg.update(round=r, load=os.getloadavg()[0])
                record['segments'].append(seg)
                print(f'round {r} {mode:18s} {1e3 * seg["median_step_s"]:8.2f}'
                      f' ms/step  flushed {str(seg["flushed"]):5s} denormal '
                      f'fraction: conv1 out {seg["conv1_out_subnormal"]:.2f}, '
                      f'grads {seg["grad_subnormal"]:.2f}',
                      flush=True)
    finally:
        set_flush_denormals(flushed_before)
        torch.set_num_threads(threads_before)
    record['flushed_after'] = denormals_flushed()
    pairs = [(a, b) for a, b in PAIRS if a in modes and b in modes]
    record.update(bu.summarize(record['segments'], modes, args.batch, pairs))
    for mode, s in record['modes'].items():
        segs = [g for g in record['segments'] if g['mode'] == mode]
        s['median_step_ms'] = 1e3 * statistics.median(
            g['median_step_s'] for g in segs)
    bu.print_summary(record, {})
    print('(ratios are of speeds: normal/subnormal is the slowdown from '
          'denormals, subnormal_flushed/subnormal what flushing recovers)')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=1)
        print(f'wrote {args.out}')
    return record


if __name__ == '__main__':
    main()
