"""Image sets given as class folders or annotation files, and their checks.

An image set is either a folder with one sub-folder per class (the layout of
mmpretrain's ``CustomDataset``) or an annotation file of ``relative/path
label`` lines whose paths are relative to a root folder. Every error names
the file, folder or value at fault and is raised before any training.
"""
import os
import os.path as osp
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from dl4all_mm.datasets.splits import IMG_EXTENSIONS


class InputError(ValueError):
    """Bad input of the comparison (a file, folder or value)."""


@dataclass
class ImageSet:
    """Images with their class names.

    Attributes:
        paths (list[str]): Absolute image paths.
        labels (list[str]): Class name of each image.
        classes (list[str]): Class names in label-index order.
        origin (str): Where the set came from (for messages).
    """
    paths: List[str]
    labels: List[str]
    classes: List[str] = field(default_factory=list)
    origin: str = ''

    def __post_init__(self) -> None:
        if not self.classes:
            self.classes = sorted(set(self.labels))

    def __len__(self) -> int:
        return len(self.paths)

    def indices(self) -> List[int]:
        """Label index of every image."""
        index = {c: i for i, c in enumerate(self.classes)}
        return [index[label] for label in self.labels]

    def subset(self, keep: Sequence[int]) -> 'ImageSet':
        """The images at positions ``keep``, same classes."""
        return ImageSet([self.paths[i] for i in keep],
                        [self.labels[i] for i in keep], list(self.classes),
                        self.origin)


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMG_EXTENSIONS)


def _read_folder(folder: str, what: str) -> ImageSet:
    classes = sorted(d for d in os.listdir(folder)
                     if osp.isdir(osp.join(folder, d)) and
                     not d.startswith('.'))
    if not classes:
        raise InputError(f'{what} {folder}: no class sub-folder (expected '
                         'one sub-folder of images per class)')
    paths, labels = [], []
    for cls in classes:
        found = []
        for dirpath, _, names in os.walk(osp.join(folder, cls)):
            found += [osp.join(dirpath, n) for n in names if _is_image(n)]
        if not found:
            raise InputError(f'{what}: class folder {osp.join(folder, cls)} '
                             'holds no image')
        paths += sorted(osp.abspath(p) for p in found)
        labels += [cls] * len(found)
    return ImageSet(paths, labels, classes, folder)


def _read_annotations(ann_file: str, root: Optional[str],
                      what: str) -> ImageSet:
    root = root if root is not None else osp.dirname(osp.abspath(ann_file))
    if not osp.isdir(root):
        raise InputError(f'{what} root {root} is not a folder')
    paths, labels = [], []
    with open(ann_file, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.strip().rsplit(maxsplit=1)
            if len(parts) != 2:
                raise InputError(f'{ann_file} line {number}: '
                                 f'{line.strip()!r} is not `relative/path '
                                 'label`')
            path = osp.abspath(osp.join(root, parts[0]))
            if not osp.isfile(path):
                raise InputError(f'{ann_file} line {number}: image '
                                 f'{parts[0]!r} not found under {root}')
            paths.append(path)
            labels.append(parts[1])
    if not paths:
        raise InputError(f'{what} {ann_file} lists no image')
    return ImageSet(paths, labels, origin=ann_file)


def read_image_set(spec: str, root: Optional[str] = None,
                   what: str = '--target') -> ImageSet:
    """Read a class-folder tree or an annotation file.

    Args:
        spec (str): A folder (one sub-folder per class) or an annotation
            file (``relative/path label`` per line).
        root (str, optional): Folder the annotation paths are relative to
            (default: the annotation file's folder).
        what (str): The option's name, for error messages.
    """
    if osp.isdir(spec):
        if root is not None:
            raise InputError(f'{what}-root is only for an annotation file; '
                             f'{spec} is a folder')
        return _read_folder(spec, what)
    if osp.isfile(spec):
        return _read_annotations(spec, root, what)
    raise InputError(f'{what} {spec}: no such folder or annotation file')


def parse_class_map(text: Optional[str]) -> Optional[Dict[str, str]]:
    """``'Benign=normal;Early,Pre,Pro=ALL'`` -> ``{'Benign': 'normal',
    'Early': 'ALL', ...}``, in the order the new classes are named."""
    if not text:
        return None
    mapping: Dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(';'))):
        olds, sep, new = part.partition('=')
        if not sep or not new.strip() or not olds.strip():
            raise InputError(f'--class-map: {part!r} is not OLD[,OLD...]=NEW')
        for old in (o.strip() for o in olds.split(',')):
            if old in mapping:
                raise InputError(f'--class-map: class {old!r} is mapped '
                                 'twice')
            mapping[old] = new.strip()
    return mapping


def apply_class_map(images: ImageSet, mapping: Optional[Dict[str, str]],
                    what: str) -> ImageSet:
    """Rename or merge classes; every class of ``images`` must be mapped."""
    if mapping is None:
        return images
    unmapped = sorted(set(images.labels) - set(mapping))
    if unmapped:
        raise InputError(f'{what} {images.origin}: class(es) {unmapped} are '
                         f'not in --class-map (it maps {sorted(mapping)})')
    classes = list(dict.fromkeys(mapping.values()))
    return ImageSet(images.paths, [mapping[label] for label in images.labels],
                    classes, images.origin)


def self_labels(images: ImageSet, regex: str) -> ImageSet:
    """DL4ALL *Self* labels: group 1 (else the whole match) of ``regex``
    searched in each image's file name."""
    try:
        pattern = re.compile(regex)
    except re.error as err:
        raise InputError(f'--source-labels self:{regex}: bad regex ({err})')
    labels = []
    for path in images.paths:
        match = pattern.search(osp.basename(path))
        if match is None:
            raise InputError(f'--source-labels self:{regex} matches nothing '
                             f'in the source file name {path}')
        labels.append(match.group(1) if pattern.groups else match.group(0))
    if len(set(labels)) < 2:
        raise InputError(f'--source-labels self:{regex} gives one label '
                         f'({labels[0]!r}) to every source image')
    return ImageSet(images.paths, labels, origin=images.origin)


def _unreadable(path: str) -> Optional[str]:
    import cv2
    try:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
    except Exception as err:  # noqa: BLE001  (reported by name below)
        return f'{type(err).__name__}: {err}'
    return None if img is not None and img.size else 'cannot be decoded'


def check_images(paths: Sequence[str], threads: int = 2) -> None:
    """Decode every image; one error listing the unreadable ones."""
    with ThreadPoolExecutor(max(1, threads)) as pool:
        problems = [(p, why) for p, why in zip(paths, pool.map(
            _unreadable, paths)) if why]
    if problems:
        listed = '; '.join(f'{p} ({why})' for p, why in problems[:5])
        more = f' and {len(problems) - 5} more' if len(problems) > 5 else ''
        raise InputError(f'{len(problems)} unreadable image(s): '
                         f'{listed}{more}')
