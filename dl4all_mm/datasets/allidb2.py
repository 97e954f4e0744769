"""ALL-IDB2: single-cell crops, normal vs lymphoblast."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .splits import (ALLIDB_CLASSES, ALLIDB_PATTERN, DOCS, check_files_exist,
                     first_existing, list_images, parse_allidb_name,
                     read_ann_file)


@DATASETS.register_module()
class ALLIDB2Dataset(BaseDataset):
    """ALL-IDB2: 260 cell crops (257x257 TIFF), 130 blasts and 130 normal.

    Source: https://scotti.di.unimi.it/all/ (Department of Computer Science,
    Universita degli Studi di Milano). The images are released on request
    for non-commercial research only and may not be redistributed; cite
    Labati, Piuri, Scotti, "ALL-IDB: the acute lymphoblastic leukemia image
    database for image processing", ICIP 2011. Files are loaded as
    downloaded::

        data_root/
        └── ALL_IDB2/img/ImNNN_L.tif     L = 1 blast, 0 normal

    ``data_root`` may also be ``ALL_IDB2`` or the image folder itself.
    Labels come from the file-name digit: classes ``('normal', 'blast')``.
    ALL-IDB gives no patient ids (the crops are cut from ALL-IDB1 fields),
    so each data info carries ``image_id`` (``'Im001'``) only.

    Args:
        data_root (str): The folder holding the layout above.
        ann_file (str): mmpretrain annotation lines ``relative/path label``
            (relative to ``data_prefix``, by default ``data_root``);
            without it the image folder is scanned. Defaults to ''.
        img_dir (str, optional): Image folder under ``data_root``; found
            among :attr:`IMG_DIRS` when None.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        **kwargs: Other :class:`mmpretrain.datasets.BaseDataset` arguments.
    """

    METAINFO = dict(classes=ALLIDB_CLASSES)
    NAME = 'ALL-IDB2'
    EXT = 'tif'
    IMG_DIRS = ('ALL_IDB2/img', 'img', '')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 pipeline: Sequence = (),
                 img_dir: Optional[str] = None,
                 **kwargs) -> None:
        self.img_dir_arg = img_dir
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    @property
    def layout(self) -> str:
        """The expected layout, for error messages."""
        return (f'{self.IMG_DIRS[0]}/'
                f'{ALLIDB_PATTERN.format(ext=self.EXT)}')

    def find_img_dir(self) -> str:
        """The image folder: ``img_dir`` or the first candidate holding
        images."""
        root = self.data_root or ''
        if self.img_dir_arg is not None:
            return first_existing(root, [self.img_dir_arg],
                                  f'{self.NAME} images', self.layout)
        for cand in self.IMG_DIRS:
            folder = osp.join(root, cand) if cand else root
            if osp.isdir(folder) and any(n.lower().endswith('.' + self.EXT)
                                         for n in os.listdir(folder)):
                return folder
        tried = [osp.join(root, c) for c in self.IMG_DIRS]
        raise FileNotFoundError(
            f'{self.NAME} images not found under data_root {root!r}: no '
            f'*.{self.EXT} in any of {tried}. Expected layout: '
            f'{self.layout}; {DOCS}')

    def make_info(self, path: str, label: Optional[int] = None) -> dict:
        """Data info of one image; checks ``label`` against its name."""
        parsed = parse_allidb_name(osp.basename(path), self.EXT, path)
        if label is not None and label != parsed['label']:
            raise ValueError(
                f'{path}: label {label} contradicts the file name digit '
                f'{parsed["label"]} (classes {ALLIDB_CLASSES})')
        return dict(
            img_path=path,
            gt_label=parsed['label'],
            image_id=parsed['image_id'])

    def load_data_list(self) -> List[dict]:
        """Data infos from ``ann_file`` or the scanned image folder."""
        if self.ann_file:
            items = read_ann_file(self.ann_file)
            data_list = [
                self.make_info(osp.join(self.img_prefix, rel), label)
                for rel, label in items
            ]
            check_files_exist([d['img_path'] for d in data_list],
                              self.ann_file)
            return data_list
        folder = self.find_img_dir()
        return [
            self.make_info(osp.join(folder, name))
            for name in list_images(folder, self.layout)
        ]
