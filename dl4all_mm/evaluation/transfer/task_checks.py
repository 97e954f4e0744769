"""The comparison's content checks: no target validation or test image in
any training set (target training split or source), by file, file content
or decoded pixels (:func:`dl4all_mm.datasets.leakage.find_leakage`)."""
from typing import Dict, List, Tuple

from dl4all_mm.datasets.leakage import (find_leakage, format_leaks,
                                        shared_paths)
from .image_set import ImageSet, InputError

#: What ``--allow-source-overlap`` may say.
OVERLAP_POLICIES = ('refuse', 'drop')
_CHECKS = ('path', 'hash', 'pixels')


def _infos(images: ImageSet) -> List[dict]:
    return [dict(img_path=p) for p in images.paths]


def _held_out(splits: Dict[str, ImageSet]) -> Dict[str, List[dict]]:
    return dict(val=_infos(splits['val']), test=_infos(splits['test']))


def check_target(splits: Dict[str, ImageSet]) -> None:
    """No target training image in val/test, no val image in test.

    Raises:
        InputError: naming both files of the first hits and their count.
    """
    leaks = find_leakage(_infos(splits['train']), _held_out(splits),
                         checks=_CHECKS)
    leaks += find_leakage(_infos(splits['val']),
                          dict(test=_infos(splits['test'])), checks=_CHECKS)
    if leaks:
        raise InputError(f'{len(leaks)} target validation/test image(s) '
                         'are also training (or validation) images:\n' +
                         format_leaks(leaks))


def check_source(source: ImageSet, splits: Dict[str, ImageSet],
                 policy: str = 'refuse') -> Tuple[ImageSet, List[str]]:
    """No target validation or test image among the source images.

    Args:
        source (ImageSet): The source training images.
        splits (dict): The target splits (``val`` and ``test`` used).
        policy (str): ``'refuse'`` (raise) or ``'drop'`` (remove the
            overlapping source images and say how many).

    Returns:
        tuple: The source images to train on and notes for the report.

    Raises:
        InputError: an overlap under ``'refuse'`` (both files named, and
            the count), an unknown policy, or no source image left.
    """
    if policy not in OVERLAP_POLICIES:
        raise InputError(f'--allow-source-overlap {policy!r}: expected '
                         'drop (or leave it out to refuse an overlap)')
    held_out = _held_out(splits)
    leaks = find_leakage(_infos(source), held_out, checks=_CHECKS)
    if not leaks:
        return source, []
    if policy == 'refuse':
        raise InputError(
            f'{len(leaks)} target validation/test image(s) are also source '
            'images (same file, same bytes or same pixels): the source '
            'would train on them.\n' + format_leaks(leaks, train_name='source')
            + '\nRemove them from the source, or pass --allow-source-overlap '
            'drop to leave those source images out.')
    # drop every source image holding held-out content (all copies)
    dropped = set(shared_paths(source.paths,
                               splits['val'].paths + splits['test'].paths))
    keep = [i for i, p in enumerate(source.paths) if p not in dropped]
    kept = source.subset(keep)
    if len(set(kept.labels)) < 2:
        raise InputError(f'--allow-source-overlap drop: after leaving out '
                         f'{len(dropped)} source image(s) shared with the '
                         'target validation/test split, fewer than 2 source '
                         'classes remain')
    note = (f'--allow-source-overlap drop: {len(dropped)} source image(s) '
            'shared with the target validation/test split left out.')
    print(note)
    return kept, [note]
