"""The PBC -> all_aria benchmark: a preset of ``tools/compare_transfer.py``.

The learning curve of docs/results.md: source PBC (a stratified 2,400-image
subset), target all_aria as normal (Benign) vs ALL (Early/Pre/Pro), nested
target training subsets of 24, 48, 96 and 240 images, EfficientNet-Lite0
(offline ImageNet weights), 96 px, 120 steps of 32 images, the documented
learning-rate rule (no search: an in-budget ``--lr-search`` over 3 rates
and 3 norm modes would add 3 x 3 x 4 folds x 6 fine-tuned methods x 30
size-and-draw cells = 6,480 fold runs), 10 label draws at 24
and 48 images and 5 at 96 and 240 (one run per method, size and draw)::

    python benchmarks/transfer.py --data-root ../shared/data \\
        --prepare-data work_dirs/transfer/data96
    python benchmarks/transfer.py --data-root work_dirs/transfer/data96 \\
        --work-dir work_dirs/curve_lite0 [compare_transfer options]

``--data-root`` holds ``pbc/`` and ``all_aria/`` (one folder per class).
Any option of ``tools/compare_transfer.py`` after it overrides the preset
(e.g. ``--backbone resnet18 --pretrained none --iters 1200``), the
launcher options too (``--jobs 2``, ``--launcher slurm --gpus-per-run 1``).
``--prepare-data OUT`` writes 96 px JPEG copies (about 39 MiB; never commit
them) to use as ``--data-root``.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

HERE = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [HERE, osp.join(osp.dirname(HERE), 'tools')]
import compare_transfer  # noqa: E402
import transfer_data  # noqa: E402

PRESET = ['--class-map', 'Benign=normal;Early,Pre,Pro=ALL',
          '--source-limit', '2400', '--target-sizes', '24,48,96,240',
          '--draws', '10,10,5,5', '--iters', '120', '--img-size', '96',
          '--backbone', 'efficientnet-lite0']


def preset_argv(data_root: str, extra: List[str]) -> List[str]:
    """The ``compare_transfer.py`` arguments of this benchmark."""
    return (['--source', osp.join(data_root, 'pbc'), '--target',
             osp.join(data_root, 'all_aria')] + PRESET + list(extra))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data-root', required=True)
    p.add_argument('--prepare-data', metavar='OUT')
    args, extra = p.parse_known_args(argv)
    if args.prepare_data:
        sizes = transfer_data.prepare_data(args.data_root, args.prepare_data)
        print(f'{sum(sizes.values()) / 2**20:.1f} MiB of images in '
              f'{args.prepare_data}; use it as --data-root')
        return 0
    return compare_transfer.main(preset_argv(args.data_root, extra))


if __name__ == '__main__':
    sys.exit(main())
