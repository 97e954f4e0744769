"""Shared pieces of the benchmarks: data, configs, timing, memory."""
import csv
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

REAL = dict(source='pbc', target='bccd_wbc')
SYNTHETIC_CLASSES = dict(source=8, target=4)


# -- data -------------------------------------------------------------------
def _stratified(rows: List[Tuple[str, str]], n: int) -> List[Tuple[str, str]]:
    """First ``n`` rows taken round-robin over the classes (sorted)."""
    by_class: Dict[str, List[Tuple[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row[1], []).append(row)
    queues = [by_class[c] for c in sorted(by_class)]
    picked: List[Tuple[str, str]] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked


def _real_domain(folder: str, n: int) -> Tuple[List[str], List[int], list]:
    manifest = osp.join(folder, 'manifest.csv')
    if not osp.isfile(manifest):
        raise FileNotFoundError(f'{manifest} not found (--data-root must hold '
                                f'{sorted(REAL.values())})')
    with open(manifest, newline='') as f:
        rows = [(r['path'], r['label']) for r in csv.DictReader(f)]
    classes = sorted({label for _, label in rows})
    picked = _stratified(rows, n)
    paths = [osp.abspath(osp.join(folder, p)) for p, _ in picked]
    return paths, [classes.index(lb) for _, lb in picked], classes


def _synthetic_domain(out_dir: str, domain: str, n: int, size: int,
                      seed: int) -> Tuple[List[str], List[int], list]:
    """Smooth random colour images saved as JPEG (no real data needed)."""
    import cv2
    rng = np.random.default_rng(seed)
    folder = osp.join(out_dir, f'synthetic_{domain}')
    os.makedirs(folder, exist_ok=True)
    classes = [f'{domain}_{i}' for i in range(SYNTHETIC_CLASSES[domain])]
    paths, labels = [], []
    for i in range(n):
        low = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.integers(0, 24, img.shape, dtype=np.uint8))
        path = osp.join(folder, f'{i:05d}.jpg')
        if not osp.isfile(path):
            cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
        labels.append(i % len(classes))
    return paths, labels, classes


def prepare_data(out_dir: str,
                 data_root: Optional[str],
                 per_domain: int,
                 src_size: int = 128,
                 seed: int = 0) -> dict:
    """Annotation files of a source and a target domain and of their union.

    Real images come from ``data_root`` (``pbc`` -> source, ``bccd_wbc`` ->
    target, class-stratified); without it, synthetic JPEGs are written.
    """
    os.makedirs(out_dir, exist_ok=True)
    spec: dict = dict(domains={}, kind='real' if data_root else 'synthetic')
    union_lines, union_classes = [], []
    for i, domain in enumerate(('source', 'target')):
        if data_root:
            paths, labels, classes = _real_domain(
                osp.join(data_root, REAL[domain]), per_domain)
        else:
            paths, labels, classes = _synthetic_domain(out_dir, domain,
                                                       per_domain, src_size,
                                                       seed + i)
        ann = osp.join(out_dir, f'{domain}.txt')
        with open(ann, 'w') as f:
            f.writelines(f'{p} {lb}\n' for p, lb in zip(paths, labels))
        union_lines += [
            f'{p} {lb + len(union_classes)}\n' for p, lb in zip(paths, labels)
        ]
        union_classes += [f'{domain}/{c}' for c in classes]
        spec['domains'][domain] = dict(
            ann_file=ann, classes=classes, num_images=len(paths))
    union = osp.join(out_dir, 'union.txt')
    with open(union, 'w') as f:
        f.writelines(union_lines)
    spec['union'] = dict(ann_file=union, classes=union_classes)
    return spec


# -- timing and memory ------------------------------------------------------
def _child_pids(pid: int) -> List[int]:
    pids = []
    try:
        tasks = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f'/proc/{pid}/task/{tid}/children') as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return pids


def tree_pids(pid: Optional[int] = None) -> List[int]:
    """``pid`` (default: this process) and all its descendants."""
    todo, seen = [pid or os.getpid()], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _child_pids(p)
    return seen


def tree_cpu_seconds(pid: Optional[int] = None) -> float:
    """User + system CPU seconds of a process tree (live processes)."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f'/proc/{p}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / ticks


def tree_memory_mib(pid: Optional[int] = None) -> Tuple[float, float]:
    """(RSS of ``pid``, PSS summed over its tree), in MiB."""
    rss = pss = 0.0
    for i, p in enumerate(tree_pids(pid)):
        try:
            with open(f'/proc/{p}/smaps_rollup') as f:
                for line in f:
                    key, value = line.split(':', 1)
                    if key == 'Pss':
                        pss += int(value.split()[0]) / 1024
                    elif key == 'Rss' and i == 0:
                        rss = int(value.split()[0]) / 1024
        except (OSError, ValueError):
            pass
    return rss, pss


def shutdown_workers(loader) -> None:
    """End a dataloader's persistent workers (before ``os._exit``, which
    would leave them blocked on a full pipe)."""
    iterator = getattr(loader, '_iterator', None)
    if iterator is not None and hasattr(iterator, '_shutdown_workers'):
        iterator._shutdown_workers()


class StopWatch:
    """Marks wall time, CPU time of this process and CPU time of its tree
    (dataloader workers included) at the end of warm-up and of the segment.

    ``main_cpu_images_per_s`` (images per CPU-second of the training
    process) is what the wall-clock rate approaches on an idle machine when
    the training process runs on one core and the workers keep up on the
    others; unlike wall time it hardly moves when other jobs share the
    cores.
    """

    def __init__(self, warmup: int, iters: int, cuda: bool = False) -> None:
        self.warmup, self.iters, self.cuda = warmup, iters, cuda
        self.count = 0
        self.marks: List[Tuple[float, float, float]] = []
        self.times: List[float] = []

    def tick(self) -> bool:
        """Record one finished iteration; True when the segment is over."""
        self.count += 1
        if self.count in (self.warmup, self.warmup + self.iters):
            if self.cuda:
                import torch
                torch.cuda.synchronize()
            self.marks.append(
                (time.perf_counter(), time.process_time(), tree_cpu_seconds()))
        self.times.append(time.perf_counter())
        return self.count >= self.warmup + self.iters

    def result(self, images_per_iter: int) -> dict:
        (w0, m0, c0), (w1, m1, c1) = self.marks
        steps = np.diff(self.times[self.warmup - 1:])
        images = images_per_iter * self.iters
        return dict(
            images_per_s=images / (w1 - w0),
            main_cpu_images_per_s=images / (m1 - m0),
            cpu_ms_per_image=1e3 * (c1 - c0) / images,
            median_step_s=float(np.median(steps)),
            max_step_s=float(steps.max()),
            wall_s=w1 - w0,
            iters=self.iters)


# -- reporting --------------------------------------------------------------
def summarize(segments: List[dict], modes: List[str], images_per_step: int,
              pairs: List[Tuple[str, str]]) -> dict:
    """Per mode: median/min/max/pooled images/s (wall clock) and median
    images per CPU-second of the training process; ratios of mode pairs
    (median over rounds: the segments of a round ran back to back)."""
    out: dict = dict(modes={}, ratios={})
    for mode in modes:
        segs = [s for s in segments if s['mode'] == mode]
        ips = [s['images_per_s'] for s in segs]
        images = sum(s['iters'] for s in segs) * images_per_step
        out['modes'][mode] = dict(
            images_per_s=float(np.median(ips)),
            min=min(ips),
            max=max(ips),
            pooled=images / sum(s['wall_s'] for s in segs),
            main_cpu_images_per_s=float(
                np.median([s['main_cpu_images_per_s'] for s in segs])),
            cpu_ms_per_image=float(
                np.median([s['cpu_ms_per_image'] for s in segs])),
            segments=ips)
    for a, b in pairs:
        rounds = [
            (x, y) for x in segments for y in segments
            if x['mode'] == a and y['mode'] == b and x['round'] == y['round']
        ]
        wall = [x['images_per_s'] / y['images_per_s'] for x, y in rounds]
        cpu = [
            x['main_cpu_images_per_s'] / y['main_cpu_images_per_s']
            for x, y in rounds
        ]
        out['ratios'][f'{a}/{b}'] = dict(
            median=float(np.median(wall)),
            min=min(wall),
            max=max(wall),
            pooled=out['modes'][a]['pooled'] / out['modes'][b]['pooled'],
            main_cpu_median=float(np.median(cpu)),
            main_cpu_min=min(cpu),
            main_cpu_max=max(cpu))
    return out


def print_summary(summary: dict, targets: Dict[str, float]) -> None:
    """Table of modes and ratios (wall clock; images per main-process
    CPU-second in the last columns)."""
    print(f'\n{"mode":15s} {"img/s median":>12s} {"min":>7s} {"max":>7s} '
          f'{"pooled":>7s} {"img/cpu-s":>9s} {"tree cpu ms/img":>15s}')
    for mode, s in summary['modes'].items():
        print(f'{mode:15s} {s["images_per_s"]:12.2f} {s["min"]:7.2f} '
              f'{s["max"]:7.2f} {s["pooled"]:7.2f} '
              f'{s["main_cpu_images_per_s"]:9.2f} '
              f'{s["cpu_ms_per_image"]:15.1f}')
    for name, r in summary['ratios'].items():
        goal = targets.get(name)
        verdict = '' if goal is None else f'  target >= {goal}: ' + (
            'MET' if r['median'] >= goal else 'NOT MET')
        print(f'{name:22s} wall median {r["median"]:.3f} (rounds '
              f'{r["min"]:.3f}..{r["max"]:.3f}, pooled {r["pooled"]:.3f}); '
              f'cpu {r["main_cpu_median"]:.3f} ({r["main_cpu_min"]:.3f}..'
              f'{r["main_cpu_max"]:.3f}){verdict}')
