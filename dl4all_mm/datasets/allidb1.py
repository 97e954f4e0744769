"""ALL-IDB1: whole smear fields with blast centroids."""
import os.path as osp
from typing import List, Optional, Sequence

from mmpretrain.registry import DATASETS

from .allidb2 import ALLIDB2Dataset
from .splits import DOCS


def read_xyc(path: str) -> List[List[int]]:
    """Blast centroids of an ALL-IDB1 ``.xyc`` file: one ``x y`` (tab or
    space separated, pixels) per line."""
    centroids = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                x, y = (int(round(float(v))) for v in parts)
            except ValueError:
                raise ValueError(f'{path}:{lineno}: expected "x<TAB>y" '
                                 f'pixel coordinates, got {line!r}; '
                                 f'{DOCS}') from None
            centroids.append([x, y])
    return centroids


@DATASETS.register_module()
class ALLIDB1Dataset(ALLIDB2Dataset):
    """ALL-IDB1: 108 peripheral-blood smear fields (JPEG), image-level
    labels, blast centroids.

    Source, licence and citation as :class:`ALLIDB2Dataset` (ALL-IDB,
    https://scotti.di.unimi.it/all/, non-commercial research, no
    redistribution). Files are loaded as downloaded::

        data_root/
        └── ALL_IDB1/
            ├── im/ImNNN_L.jpg      L = 1: field of an ALL patient
            └── xyc/ImNNN_L.xyc     blast centroids, "x<TAB>y" per line

    Classes ``('normal', 'blast')`` from the file-name digit. Each data
    info carries ``image_id`` and, with ``with_centroids``, ``centroids``
    (list of ``[x, y]``; empty for a field without ``.xyc``).
    ``tools/dataset_converters/allidb1_to_patches.py`` cuts cell patches
    around the centroids.

    Args:
        data_root (str): The folder holding the layout above.
        ann_file (str): mmpretrain annotation lines ``relative/path label``
            (relative to ``data_prefix``, by default ``data_root``).
            Defaults to ''.
        img_dir (str, optional): Image folder under ``data_root``; found
            among :attr:`IMG_DIRS` when None.
        xyc_dir (str, optional): Centroid folder; defaults to ``xyc`` next
            to the image folder.
        with_centroids (bool): Read the ``.xyc`` files; then a blast field
            (``_1``) without one is an error. Defaults to True.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        **kwargs: Other :class:`mmpretrain.datasets.BaseDataset` arguments.
    """

    NAME = 'ALL-IDB1'
    EXT = 'jpg'
    IMG_DIRS = ('ALL_IDB1/im', 'im', '')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 pipeline: Sequence = (),
                 img_dir: Optional[str] = None,
                 xyc_dir: Optional[str] = None,
                 with_centroids: bool = True,
                 **kwargs) -> None:
        self.xyc_dir_arg = xyc_dir
        self.with_centroids = with_centroids
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            img_dir=img_dir,
            pipeline=pipeline,
            **kwargs)

    @property
    def layout(self) -> str:
        """The expected layout, for error messages."""
        return 'ALL_IDB1/im/ImNNN_L.jpg + ALL_IDB1/xyc/ImNNN_L.xyc'

    def xyc_path(self, img_path: str) -> str:
        """The ``.xyc`` file that belongs to ``img_path``."""
        if self.xyc_dir_arg is not None:
            folder = osp.join(self.data_root or '', self.xyc_dir_arg)
        else:
            folder = osp.join(osp.dirname(osp.dirname(img_path)), 'xyc')
        stem = osp.splitext(osp.basename(img_path))[0]
        return osp.join(folder, stem + '.xyc')

    def load_data_list(self) -> List[dict]:
        """Image-level infos, with centroids when asked."""
        data_list = super().load_data_list()
        if not self.with_centroids:
            return data_list
        for info in data_list:
            path = self.xyc_path(info['img_path'])
            info['xyc_path'] = path
            if osp.isfile(path):
                info['centroids'] = read_xyc(path)
            elif info['gt_label'] == 1:
                raise FileNotFoundError(
                    f'Blast centroids {path!r} of {info["img_path"]!r} not '
                    f'found. Expected layout: {self.layout} (or pass '
                    f'with_centroids=False); {DOCS}')
            else:
                info['centroids'] = []
        return data_list
