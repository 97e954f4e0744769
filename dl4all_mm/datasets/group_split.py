"""Leak-free group-wise splits of labelled images.

One splitter for every route that splits a target set: whole groups
(patients, slides, byte-identical files) per split, stratified by each
group's majority class (:func:`split_groups`), and nested stratified
training subsets (:func:`nested_subsets`). ``tools/compare_transfer.py``
and its preset ``benchmarks/transfer.py`` split through here, and so do
the hold-outs and validation parts of :func:`.splits.make_folds`
(``tools/dataset_converters/make_splits.py``). Errors are ``ValueError``
naming the value.
"""
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np

from .leakage import file_sha256


def group_ids(paths: Sequence[str], group_regex: Optional[str] = None,
              what: str = '--group-regex') -> List[int]:
    """A group id per image: images sharing a ``group_regex`` match (group
    1, else the whole match, searched in ``folder/file name``) or
    byte-identical content (:func:`.leakage.file_sha256`) share a group.

    Raises:
        ValueError: the regex is bad or misses a file name.
    """
    n = len(paths)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join_same(keys: Sequence[str]) -> None:
        first: Dict[str, int] = {}
        for i, key in enumerate(keys):
            j = first.setdefault(key, i)
            parent[find(i)] = find(j)

    join_same([file_sha256(p) for p in paths])
    if group_regex:
        try:
            pattern = re.compile(group_regex)
        except re.error as err:
            raise ValueError(f'{what} {group_regex}: bad regex ({err})')
        keys = []
        for path in paths:
            name = osp.join(osp.basename(osp.dirname(path)),
                            osp.basename(path))
            match = pattern.search(name)
            if match is None:
                raise ValueError(f'{what} {group_regex} matches nothing in '
                                 f'{path}')
            keys.append(match.group(1) if pattern.groups else match.group(0))
        join_same(keys)
    roots = [find(i) for i in range(n)]
    order = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return [order[r] for r in roots]


def split_groups(labels: Sequence[int], groups: Sequence[int],
                 fractions: Sequence[float], seed: int = 0,
                 names: Sequence[str] = ('train', 'val', 'test')
                 ) -> Dict[str, List[int]]:
    """Split image indices into ``names`` by whole groups, stratified by
    each group's majority class: per class, groups in seeded random order
    fill the later splits (test, then val) while a group's half still fits
    the split's fraction of the class, and the rest goes to the first
    (train). A later split with a fraction > 0 that got no group of a class
    takes one when the class has two or more left (so a small fraction
    still sees every class of several groups, and train keeps one).

    The one group-allocation rule: ``tools/compare_transfer.py`` splits
    train/val/test with it, :func:`.splits.make_folds` its hold-outs and
    validation parts.

    Returns:
        dict: split name -> sorted image indices.
    """
    if len(fractions) != len(names) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f'split fractions {list(fractions)} must be '
                         f'{len(names)} numbers adding up to 1')
    members: Dict[int, List[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    by_class: Dict[int, List[int]] = {}
    for g, idx in members.items():
        major = Counter(labels[i] for i in idx).most_common(1)[0][0]
        by_class.setdefault(major, []).append(g)
    rng = np.random.default_rng(seed)
    out: Dict[str, List[int]] = {name: [] for name in names}
    for cls in sorted(by_class):
        class_groups = sorted(by_class[cls])
        class_groups = [class_groups[i]
                        for i in rng.permutation(len(class_groups))]
        total = sum(len(members[g]) for g in class_groups)
        for k in range(len(names) - 1, 0, -1):  # test, then val
            want, got = fractions[k] * total, 0
            while class_groups and got + len(members[class_groups[0]]) / 2 \
                    <= want:
                g = class_groups.pop(0)
                out[names[k]] += members[g]
                got += len(members[g])
            if want > 0 and not got and len(class_groups) > 1:
                out[names[k]] += members[class_groups.pop(0)]
        out[names[0]] += [i for g in class_groups for i in members[g]]
    return {name: sorted(idx) for name, idx in out.items()}


def nested_subsets(labels: Sequence[int], sizes: Sequence[int],
                   seed: int = 0, class_names: Optional[Sequence[str]] = None
                   ) -> Dict[int, List[int]]:
    """Stratified, nested subsets (each size's subset holds the smaller
    ones'): one seeded order that interleaves the classes in proportion,
    each subset a prefix of it.

    Args:
        class_names (sequence of str, optional): Names of the label
            indices, for messages.

    Raises:
        ValueError: a size exceeds the images or a subset misses a class.
    """
    rng = np.random.default_rng(seed)
    by_class: Dict[int, List[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    keyed = []
    for label, idx in sorted(by_class.items()):
        idx = [idx[k] for k in rng.permutation(len(idx))]
        # rank r of a class with n images sits at (r + 0.5) / n
        keyed += [((r + 0.5) / len(idx), label, i) for r, i in enumerate(idx)]
    order = [i for _, _, i in sorted(keyed)]
    out = {}
    for size in sorted(sizes):
        if size > len(order):
            raise ValueError(f'target size {size}: the target training '
                             f'split has only {len(order)} images')
        subset = order[:size]
        missing = sorted(set(by_class) - {labels[i] for i in subset})
        if missing:
            named = ([class_names[i] for i in missing] if class_names
                     else f'index(es) {missing}')
            raise ValueError(f'target size {size} is too small to hold '
                             f'every class (missing class {named})')
        out[size] = sorted(subset)
    return out


def balanced_source(labels: Sequence[int], limit: Optional[int],
                    seed: int = 0) -> List[int]:
    """At most ``limit`` source indices, stratified (all when None)."""
    if limit is None or limit >= len(labels):
        return list(range(len(labels)))
    classes = len(set(labels))
    if limit < classes:
        raise ValueError(f'source limit {limit}: too small to hold every '
                         f'one of the {classes} source classes')
    return nested_subsets(labels, [limit], seed)[limit]
