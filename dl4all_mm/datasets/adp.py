"""ADP (Atlas of Digital Pathology): hierarchical tissue-type labels."""
import csv
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Union

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .splits import (ADP_PATTERN, DOCS, IMG_EXTENSIONS, adp_slide_id,
                     check_files_exist, read_ann_file)

_HTT_RE = re.compile(r'^[A-Z](\.[A-Z])*$')

# The classes of each level as the DL4ALL reference code (and the same
# author's HistoTNet, classes/classesADP.py) names them: the CSV's codes
# with at most ``level`` parts, in CSV order, without the ``.X``
# ("undifferentiated") codes E.T.X, C.X, H.X, N.G.X and G.X.
ADP_LEVEL_CLASSES = {
    1: ('E', 'C', 'H', 'S', 'A', 'M', 'N', 'G', 'T'),
    2: ('E', 'E.M', 'E.T', 'C', 'C.D', 'C.L', 'H', 'H.E', 'H.K', 'H.Y', 'S',
        'S.M', 'S.C', 'S.R', 'A', 'A.W', 'A.M', 'M', 'N', 'N.P', 'N.R', 'N.G',
        'G', 'G.O', 'G.N', 'T'),
    3: ('E', 'E.M', 'E.M.S', 'E.M.C', 'E.T', 'E.T.S', 'E.T.C', 'C', 'C.D',
        'C.D.I', 'C.D.R', 'C.L', 'H', 'H.E', 'H.K', 'H.Y', 'S', 'S.M', 'S.C',
        'S.R', 'A', 'A.W', 'A.M', 'M', 'N', 'N.P', 'N.R', 'N.G', 'N.G.M',
        'N.G.A', 'N.G.O', 'N.G.E', 'N.G.R', 'N.G.T', 'G', 'G.O', 'G.N', 'T'),
}


@DATASETS.register_module()
class ADPDataset(BaseDataset):
    """ADP release 1 patches: multi-label tissue types or slide (Self) ids.

    Patches of H&E whole-slide images of many organs (17,668 patches of
    100 slides per the ADP paper), labelled with a three-level
    hierarchical taxonomy of histological tissue types (HTT): ``E``
    (epithelial) > ``E.M`` (simple) > ``E.M.S`` (squamous), ...

    Source: https://www.dsp.utoronto.ca/projects/ADP/ (download after
    accepting the ADP licence/data-use agreement there; academic use;
    cite Hosseini et al., "Atlas of Digital Pathology", CVPR 2019). Files are
    loaded as downloaded::

        data_root/
        ├── img_res_1um_bicubic/
        │   └── <slide>.png_crop_<n>.png      e.g. 001.png_crop_16.png
        └── ADP_EncodedLabels_Release1_Flat.csv

    The CSV's first column (``Patch Names``) holds the file names, every
    other column an HTT code (``E``, ``E.M``, ``E.M.S``, ...) with 0/1
    (Release1-Flat: 43 codes). Levels 1, 2 and 3 take the 9, 26 and 38
    classes the DL4ALL reference code uses (:data:`ADP_LEVEL_CLASSES`: the
    codes with at most ``level`` parts, without the five ``.X`` codes);
    Greedy's source is level 1, Regular's level 3. ``classes=[...]`` picks
    explicit columns instead. Multi-label ``gt_label`` is the list of
    positive class indices (mmpretrain's multi-label convention).
    ``level='self'`` gives DL4ALL's Self labels: one class per slide id
    (``001.png_crop_16.png`` -> ``'001'``), classes sorted. Every data info
    carries ``slide_id``.

    Args:
        data_root (str): The folder holding the layout above.
        ann_file (str): Optional list of images to use, one
            ``relative/path [label]`` per line (relative to ``data_prefix``,
            by default ``data_root``); the label column is ignored, labels
            come from the CSV (or the slide id). Defaults to ''.
        level (int | str): 1, 2, 3 or ``'self'``. Defaults to 3.
        img_dir (str): Image folder under ``data_root``.
        label_csv (str): Labels CSV under ``data_root``; needed for levels
            1-3, optional for ``'self'`` (the folder is listed instead).
        pipeline (Sequence): Processing pipeline. Defaults to ().
        **kwargs: Other :class:`mmpretrain.datasets.BaseDataset` arguments.
    """

    LEVELS = (1, 2, 3, 'self')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 level: Union[int, str] = 3,
                 img_dir: str = 'img_res_1um_bicubic',
                 label_csv: str = 'ADP_EncodedLabels_Release1_Flat.csv',
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if level not in self.LEVELS:
            raise ValueError(f'ADPDataset: level must be one of '
                             f'{self.LEVELS}, got {level!r}')
        self.level = level
        self.img_dir = osp.join(data_root, img_dir)
        self.label_csv = osp.join(data_root, label_csv)
        meta = kwargs.get('metainfo') or {}
        self._given_classes = kwargs.get('classes') or meta.get('classes')
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    @property
    def multi_label(self) -> bool:
        """Whether ``gt_label`` is a list of class indices."""
        return self.level != 'self'

    def read_csv(self) -> Dict[str, Dict[str, int]]:
        """File name -> {HTT code: 0/1}, in CSV order."""
        if not osp.isfile(self.label_csv):
            raise FileNotFoundError(
                f'ADP labels CSV {self.label_csv!r} not found (header '
                '"Patch Names,E,E.M,E.M.S,..."); '
                f'{DOCS}')
        with open(self.label_csv, encoding='utf-8-sig', newline='') as f:
            reader = csv.reader(f)
            header = [c.strip() for c in next(reader, [])]
            codes = [(i, c) for i, c in enumerate(header) if _HTT_RE.match(c)]
            if len(header) < 2 or not codes or codes[0][0] == 0:
                raise ValueError(
                    f'{self.label_csv}: header {header[:6]} is not "Patch '
                    f'Names,<HTT code>,..." (codes like E, E.M, E.M.S); '
                    f'{DOCS}')
            rows = {}
            for lineno, row in enumerate(reader, 2):
                if not row or not row[0].strip():
                    continue
                try:
                    rows[row[0].strip()] = {
                        c: int(float(row[i]))
                        for i, c in codes
                    }
                except (ValueError, IndexError):
                    raise ValueError(f'{self.label_csv}:{lineno}: expected '
                                     f'0/1 in the {len(codes)} HTT columns, '
                                     f'got {row[:6]}...') from None
        if not rows:
            raise ValueError(f'{self.label_csv}: no data row; {DOCS}')
        return rows

    def level_classes(self, codes: Sequence[str]) -> List[str]:
        """The classes of ``self.level`` among the CSV's ``codes``."""
        if self._given_classes:
            missing = [c for c in self._given_classes if c not in codes]
            if missing:
                raise ValueError(f'{self.label_csv}: classes {missing} are '
                                 f'not columns of the CSV ({list(codes)})')
            return list(self._given_classes)
        classes = list(ADP_LEVEL_CLASSES[self.level])
        missing = [c for c in classes if c not in codes]
        if missing:
            raise ValueError(
                f'{self.label_csv}: level {self.level} needs the columns '
                f'{missing}, which the CSV lacks (it has {list(codes)}); '
                f'pass classes=[...] to pick columns explicitly; {DOCS}')
        return classes

    def _list_img_dir(self) -> List[str]:
        if not osp.isdir(self.img_dir):
            raise FileNotFoundError(
                f'ADP image folder {self.img_dir!r} not found (expected '
                f'{ADP_PATTERN} files); {DOCS}')
        names = sorted(
            n for n in os.listdir(self.img_dir)
            if n.lower().endswith(IMG_EXTENSIONS) and not n.startswith('.'))
        if not names:
            raise ValueError(f'ADP image folder {self.img_dir!r} holds no '
                             f'image (expected {ADP_PATTERN}); {DOCS}')
        return names

    def load_data_list(self) -> List[dict]:
        """Data infos with multi-label or Self labels."""
        labels: Optional[Dict[str, Dict[str, int]]] = None
        if self.multi_label or osp.isfile(self.label_csv):
            labels = self.read_csv()
            universe = list(labels)
        else:
            universe = self._list_img_dir()
        if self.ann_file:
            paths = [
                osp.join(self.img_prefix, rel)
                for rel, _ in read_ann_file(self.ann_file, with_label=False)
            ]
            source = self.ann_file
        else:
            paths = [osp.join(self.img_dir, name) for name in universe]
            source = self.label_csv if labels else self.img_dir
        check_files_exist(paths, source)

        if self.multi_label:
            codes = list(next(iter(labels.values())))
            classes = self.level_classes(codes)
        else:
            slides = sorted({adp_slide_id(n) for n in universe})
            classes = [s for s in slides if s in self._given_classes] \
                if self._given_classes else slides
        self._metainfo['classes'] = tuple(classes)
        index = {c: i for i, c in enumerate(classes)}

        data_list = []
        for path in paths:
            name = osp.basename(path)
            slide = adp_slide_id(name, path)
            info = dict(img_path=path, slide_id=slide)
            if self.multi_label:
                if name not in labels:
                    raise ValueError(f'{path}: no row for {name!r} in '
                                     f'{self.label_csv}')
                info['gt_label'] = [
                    index[c] for c in classes if labels[name][c] == 1
                ]
            elif slide in index:
                info['gt_label'] = index[slide]
            else:
                continue
            data_list.append(info)
        return data_list

    def get_cat_ids(self, idx: int) -> List[int]:
        """Category ids of one sample (a list for multi-label)."""
        label = self.get_data_info(idx)['gt_label']
        return list(label) if self.multi_label else [int(label)]
