"""Small generated image folders for the transfer-comparison tests."""
import os.path as osp

from tests.conftest import write_images as write_noise_images


def write_images(root: str, counts: dict, size: int = 24, seed: int = 0,
                 patients: int = 0) -> None:
    """``root/<class>/<name>.png`` images, a colour per class plus noise;
    with ``patients``, names carry ``P<k>_`` prefixes (k < patients)."""
    items = []
    for c, (cls, n) in enumerate(sorted(counts.items())):
        for i in range(n):
            prefix = f'P{(i + 7 * c) % patients}_' if patients else ''
            items.append((f'{cls}/{prefix}{cls}_{i:03d}.png', c))
    write_noise_images(root, items, size=size, seed=seed, high=40,
                       offset=lambda c: 60 + 60 * c)


def make_task(tmp: str) -> dict:
    """Source (3 classes) and target (folders Benign/Early/Pre: merged to
    normal vs ALL) folders under ``tmp``; returns their paths."""
    source, target = osp.join(tmp, 'src'), osp.join(tmp, 'tgt')
    write_images(source, dict(a=12, b=12, c=12), seed=1)
    write_images(target, dict(Benign=30, Early=20, Pre=20), seed=2,
                 patients=10)
    return dict(source=source, target=target)
