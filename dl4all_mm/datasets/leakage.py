"""Find data shared between a training set and its validation/test sets."""
import hashlib
import os
import os.path as osp
from collections import defaultdict
from functools import lru_cache
from typing import (Any, Dict, Iterable, List, NamedTuple, Optional,
                    Sequence, Tuple)

from mmengine import fileio

ID_KEYS = ('patient_id', 'slide_id', 'group')
CHECKS = ('path', 'hash', 'pixels', 'id')


class Leak(NamedTuple):
    """One item found on both sides.

    Attributes:
        kind (str): ``'path'`` (the same file), ``'hash'`` (identical
            content under another name), ``'pixels'`` (identical decoded
            pixels, e.g. a re-encoded copy) or an id key
            (``'patient_id'``...).
        split (str): The other split (``'val'``, ``'test'``).
        key (str): The shared path, content hash or ``domain/id``.
        train_path (str): A training file with that key.
        other_path (str): A file of ``split`` with that key.
    """
    kind: str
    split: str
    key: str
    train_path: str
    other_path: str


class DataLeakageError(ValueError):
    """Training data overlaps validation or test data."""


def data_infos(dataset: Any) -> List[dict]:
    """Every data info of a dataset (a domain wrapper adds ``domain``)."""
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def _norm(path: str) -> str:
    return osp.normcase(osp.realpath(path)) if '://' not in path else path


@lru_cache(maxsize=None)
def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (any mmengine file backend), read once per
    path and process: the one file hasher of the package (leakage checks,
    group ids of identical files)."""
    if '://' in path:
        return hashlib.sha256(fileio.get(path)).hexdigest()
    with open(path, 'rb') as f:
        return hashlib.file_digest(f, 'sha256').hexdigest()


@lru_cache(maxsize=None)
def pixel_sha256(path: str) -> Optional[str]:
    """SHA-256 of an image's decoded pixels (8-bit BGR, with its shape),
    so that a losslessly re-encoded copy (another format or compression)
    has the same digest; None when the file cannot be decoded (reported
    by the image checks, not here)."""
    import cv2
    import numpy as np
    try:
        if '://' in path:
            raw = fileio.get(path)
        else:
            with open(path, 'rb') as f:
                raw = f.read()
        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    except (OSError, cv2.error):
        return None
    if img is None or not img.size:
        return None
    digest = hashlib.sha256(repr(img.shape).encode())
    digest.update(np.ascontiguousarray(img).tobytes())
    return digest.hexdigest()


def _dims(path: str) -> Optional[tuple]:
    """An image's width and height from its header (no decoding)."""
    try:
        from PIL import Image
        with Image.open(path) as img:
            return img.size
    except Exception:  # noqa: BLE001  (unknown: compared by decoding)
        return None


def _size(path: str) -> Optional[int]:
    try:
        return os.path.getsize(path) if '://' not in path else -1
    except OSError:  # missing files are the config check's business
        return None


def find_leakage(train: Sequence[dict],
                 others: Dict[str, Sequence[dict]],
                 checks: Iterable[str] = CHECKS,
                 id_keys: Iterable[str] = ID_KEYS,
                 default_domain: Optional[str] = None) -> List[Leak]:
    """Compare the training infos with each other split's infos.

    Paths and contents are compared across all domains. Ids (``patient_id``,
    ``slide_id``, ``group``, ...) are compared only within one domain and
    only where both sides carry the key: id namespaces of different
    datasets are unrelated. An info without ``domain`` (a plain val/test
    dataset) belongs to ``default_domain``.

    Args:
        train (list[dict]): Training data infos (with ``img_path``).
        others (dict): Split name -> data infos.
        checks (iterable of str): Any of ``'path'``, ``'hash'``,
            ``'pixels'`` (decoded pixels: only images whose header size
            occurs on both sides are decoded), ``'id'``.
        id_keys (iterable of str): Data-info keys holding group ids.
        default_domain (str, optional): Domain of infos without one.

    Returns:
        list[Leak]: Every shared item (one per key and split).
    """
    checks = set(checks)
    unknown = checks - set(CHECKS)
    if unknown:
        raise ValueError(f'Unknown leakage checks {sorted(unknown)}; '
                         f'expected some of {CHECKS}')
    id_keys = tuple(id_keys)
    train_paths = _paths(train)
    train_ids = _ids(train, id_keys, default_domain) if 'id' in checks \
        else {}
    leaks: List[Leak] = []
    for split, infos in others.items():
        paths = _paths(infos)
        if 'path' in checks:
            leaks += [
                Leak('path', split, p, train_paths[p], paths[p])
                for p in sorted(set(paths) & set(train_paths))
            ]
        found = {p for p in set(paths) & set(train_paths)}
        if 'hash' in checks:
            hash_leaks, same_bytes = _hash_leaks(split, train_paths, paths)
            leaks += hash_leaks
            found |= same_bytes
        if 'pixels' in checks:
            leaks += _pixel_leaks(split, train_paths, paths, found)
        if 'id' in checks:
            ids = _ids(infos, id_keys, default_domain)
            for key in sorted(set(ids) & set(train_ids)):
                kind, domain, value = key
                leaks.append(
                    Leak(kind, split, f'{domain}/{value}', train_ids[key],
                         ids[key]))
    return leaks


def _paths(infos: Sequence[dict]) -> Dict[str, str]:
    """Normalised path -> path as listed."""
    return {
        _norm(info['img_path']): info['img_path']
        for info in infos if info.get('img_path')
    }


def _ids(infos: Sequence[dict], id_keys: Tuple[str, ...],
         default_domain: Optional[str]) -> Dict[tuple, str]:
    """``(id key, domain, id)`` -> a path carrying it."""
    ids: Dict[tuple, str] = {}
    for info in infos:
        domain = info.get('domain', default_domain)
        for key in id_keys:
            value = info.get(key)
            if value is not None and value != '':
                ids.setdefault((key, domain, str(value)),
                               info.get('img_path', '?'))
    return ids


def _hash_leaks(split: str, train_paths: Dict[str, str],
                paths: Dict[str, str]) -> Tuple[List[Leak], set]:
    """Identical contents under different paths (one leak per content)
    and every other-side path holding training bytes; only files whose
    size occurs on both sides are hashed."""
    train_sizes = {p: _size(train_paths[p]) for p in train_paths}
    sizes = {p: _size(paths[p]) for p in paths}
    common = (set(train_sizes.values()) & set(sizes.values())) - {None}
    digests: Dict[str, str] = {}
    for p in sorted(train_paths):
        if train_sizes[p] in common:
            digests.setdefault(file_sha256(train_paths[p]), p)
    leaks, seen, same = [], set(), set()
    for p in sorted(paths):
        if sizes[p] not in common:
            continue
        digest = file_sha256(paths[p])
        q = digests.get(digest)
        if q is not None:
            same.add(p)
        if q is not None and q != p and digest not in seen:
            seen.add(digest)
            leaks.append(
                Leak('hash', split, digest, train_paths[q], paths[p]))
    return leaks, same


def _pixel_leaks(split: str, train_paths: Dict[str, str],
                 paths: Dict[str, str], found: set) -> List[Leak]:
    """Identical decoded pixels under different paths, skipping the
    files ``found`` by the path or hash check; only images whose header
    size occurs on both sides (or is unknown) are decoded."""
    train_dims = {p: _dims(train_paths[p]) for p in train_paths}
    dims = {p: _dims(paths[p]) for p in paths if p not in found}
    common = set(train_dims.values()) & set(dims.values())
    unknown = None in train_dims.values() or None in dims.values()

    def wanted(d):
        return d is None or d in common or unknown

    digests: Dict[str, str] = {}
    for p in sorted(train_paths):
        if wanted(train_dims[p]):
            digest = pixel_sha256(train_paths[p])
            if digest is not None:
                digests.setdefault(digest, p)
    leaks, seen = [], set()
    for p in sorted(dims):
        if not wanted(dims[p]):
            continue
        digest = pixel_sha256(paths[p])
        q = digests.get(digest) if digest is not None else None
        if q is not None and q != p and digest not in seen:
            seen.add(digest)
            leaks.append(
                Leak('pixels', split, digest, train_paths[q], paths[p]))
    return leaks


def shared_paths(train: Sequence[str], others: Sequence[str]) -> List[str]:
    """Every training path whose file, bytes or decoded pixels occur among
    ``others`` (all copies: :func:`find_leakage` names one per content).
    Files are hashed only where their size occurs on both sides; every
    image is decoded (once per process: :func:`pixel_sha256` caches)."""
    norms = {_norm(p) for p in others}
    train_sizes = {p: _size(p) for p in train}
    sizes = {p: _size(p) for p in others}
    common = (set(train_sizes.values()) & set(sizes.values())) - {None}
    hashes = {file_sha256(p) for p in others if sizes[p] in common}
    pixels = {pixel_sha256(p) for p in others} - {None}
    return [
        p for p in train if _norm(p) in norms or
        (train_sizes[p] in common and file_sha256(p) in hashes) or
        pixel_sha256(p) in pixels
    ]


def format_leaks(leaks: Sequence[Leak], max_report: int = 10,
                 train_name: str = 'train') -> str:
    """A readable summary: counts per kind and split, first offenders."""
    groups: Dict[Tuple[str, str], List[Leak]] = defaultdict(list)
    for leak in leaks:
        groups[(leak.split, leak.kind)].append(leak)
    what = dict(path='files in both', hash='identical images',
                pixels='images with identical pixels')
    lines = []
    for (split, kind), items in groups.items():
        label = what.get(kind, f'{kind} values shared')
        lines.append(f'{train_name} vs {split}: {len(items)} {label}; '
                     'first:')
        for leak in items[:max_report]:
            if kind == 'path':
                lines.append(f'  {leak.train_path}')
            else:
                key = leak.key[:12] if kind in ('hash', 'pixels') \
                    else leak.key
                lines.append(f'  {kind} {key}: {train_name} '
                             f'{leak.train_path!r}'
                             f' / {split} {leak.other_path!r}')
    return '\n'.join(lines)
