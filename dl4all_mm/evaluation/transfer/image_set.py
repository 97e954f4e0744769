"""Image sets given as class folders or annotation files, and their checks.

An image set is either a folder with one sub-folder per class (the layout of
mmpretrain's ``CustomDataset``) or an annotation file of ``relative/path
label`` lines whose paths are relative to a root folder. Every error names
the file, folder or value at fault and is raised before any training.
"""
import os
import os.path as osp
import re
import unicodedata
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


def nfc(name: str) -> str:
    """A class name in Unicode NFC (macOS writes file names in NFD)."""
    return unicodedata.normalize('NFC', name)


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMG_EXTENSIONS)


def _walk(top: str, what: str) -> List[str]:
    """Image files under ``top``, symlinked sub-folders followed; a link
    back to a folder already being walked (a loop) is refused."""
    found, ancestors = [], {}

    def visit(folder: str) -> None:
        real = osp.realpath(folder)
        if real in ancestors:
            raise InputError(f'{what}: symbolic link loop: {folder} leads '
                             f'back to {ancestors[real]}')
        ancestors[real] = folder
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=True):
                visit(entry.path)
            elif _is_image(entry.name):
                if not osp.exists(entry.path):
                    raise InputError(
                        f'{what}: {entry.path} is a broken symbolic link '
                        f'(to {os.readlink(entry.path)})')
                found.append(osp.abspath(entry.path))
        del ancestors[real]

    visit(top)
    return found


def _read_folder(folder: str, what: str) -> ImageSet:
    names = sorted(d for d in os.listdir(folder)
                   if osp.isdir(osp.join(folder, d)) and
                   not d.startswith('.'))
    if not names:
        raise InputError(f'{what} {folder}: no class sub-folder (expected '
                         'one sub-folder of images per class)')
    seen: Dict[str, str] = {}
    for name in names:
        if nfc(name) in seen:
            raise InputError(f'{what}: class folders {seen[nfc(name)]!r} and '
                             f'{name!r} in {folder} are one class name '
                             '(Unicode NFC); merge them')
        seen[nfc(name)] = name
    paths, labels = [], []
    for name in names:
        found = _walk(osp.join(folder, name), what)
        if not found:
            raise InputError(f'{what}: class folder {osp.join(folder, name)} '
                             'holds no image')
        paths += sorted(found)
        labels += [nfc(name)] * len(found)
    return ImageSet(paths, labels, [nfc(n) for n in names], folder)


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
            labels.append(nfc(parts[1]))
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
    text = nfc(text)
    parts = [p.strip() for p in text.split(';') if p.strip()]
    if ';' not in text and all('=' in p for p in text.split(',')):
        parts = [p.strip() for p in text.split(',')]  # 'x=A,y=A,z=B'
    mapping: Dict[str, str] = {}
    for part in parts:
        olds, sep, new = part.partition('=')
        new = new.strip()
        if not sep or not new or not olds.strip() or '=' in new or \
                ',' in new:
            raise InputError(f'--class-map: {part!r} is not OLD[,OLD...]=NEW '
                             "(separate the entries with ';', e.g. "
                             "'Benign=normal;Early,Pre=ALL', or write "
                             "OLD=NEW pairs as 'x=A,y=A,z=B')")
        for old in (o.strip() for o in olds.split(',')):
            if not old:
                raise InputError(f'--class-map: {part!r} names an empty '
                                 'class')
            if old in mapping:
                raise InputError(f'--class-map: class {old!r} is mapped '
                                 'twice')
            mapping[old] = new
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
    if what == '--target':  # the test set may lack a class; the target not
        unknown = sorted(set(mapping) - set(images.labels))
        if unknown:
            raise InputError(f'--class-map maps class(es) {unknown}, which '
                             f'{what} {images.origin} does not have (its '
                             f'classes: {sorted(set(images.labels))})')
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
    from PIL import Image

    from dl4all_mm.datasets.leakage import pixel_sha256
    try:  # decoded once: the pixel leakage check reuses the digest;
        # on failure imread (not imdecode, which refuses a truncated JPEG
        # that imread half-decodes and PIL then names) has the last word
        if pixel_sha256(path) is None:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None or not img.size:
                with open(path, 'rb'):  # PermissionError etc. named below
                    pass
                return 'cannot be decoded'
        with Image.open(path) as full:  # the whole file: a truncated
            full.load()  # JPEG decodes partly in OpenCV, not here
    except Exception as err:  # noqa: BLE001  (reported by name below)
        return f'{type(err).__name__}: {err}'
    return None


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


def check_classes(images: ImageSet, what: str) -> None:
    """At least two classes, and no image (same path or same bytes) under
    two class names.

    Raises:
        InputError: naming the one class, or both files and classes.
    """
    from dl4all_mm.datasets.leakage import file_sha256
    present = sorted(set(images.labels))
    if len(present) < 2:
        raise InputError(f'{what} {images.origin}: one class only '
                         f'({present}); a classifier needs at least two')
    by_size: Dict[int, List[int]] = {}
    for i, path in enumerate(images.paths):
        by_size.setdefault(osp.getsize(path), []).append(i)
    seen: Dict[str, int] = {}
    for idx in by_size.values():
        if len(idx) < 2:
            continue
        for i in idx:
            key = file_sha256(images.paths[i])
            j = seen.setdefault(key, i)
            if images.labels[j] != images.labels[i]:
                raise InputError(
                    f'{what}: one image under two classes: '
                    f'{images.paths[j]} ({images.labels[j]!r}) and '
                    f'{images.paths[i]} ({images.labels[i]!r}) are the same '
                    'image; keep it in one class folder')
