"""C-NMC 2019 (ISBI 2019 challenge): normal vs leukemic B-lymphoblasts."""
import csv
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Union

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .splits import (CNMC_CLASSES, CNMC_PATTERN, DOCS, check_files_exist,
                     first_existing, list_images, parse_cnmc_name,
                     read_ann_file)

TRAIN_LAYOUT = ('C-NMC_Leukemia/training_data/fold_<k>/{all,hem}/' +
                CNMC_PATTERN + ' (Kaggle) or C-NMC_training_data/fold_<k>/'
                '{all,hem}/... (TCIA)')
PRELIM_LAYOUT = ('C-NMC_Leukemia/validation_data/C-NMC_test_prelim_phase_'
                 'data/<n>.bmp + C-NMC_Leukemia/validation_data/C-NMC_test_'
                 'prelim_phase_data_labels.csv (Patient_ID,new_names,labels)')
PRELIM_COLUMNS = ('Patient_ID', 'new_names', 'labels')


@DATASETS.register_module()
class CNMC2019Dataset(BaseDataset):
    """C-NMC 2019 single-cell images, ``hem`` (0, normal) vs ``all`` (1).

    The ISBI 2019 challenge "Classification of Normal vs Malignant Cells in
    B-ALL White Blood Cancer Microscopic Images": 450x450 BMP crops of
    segmented cells, 10,661 training cells of 73 patients (47 ALL, 26
    normal) in three folds, 1,867 preliminary-test cells with a labels CSV.

    Source: TCIA, "ALL Challenge dataset of ISBI 2019",
    https://doi.org/10.7937/tcia.2019.dc64i46r (also mirrored on Kaggle as
    ``C-NMC_Leukemia``). Licence: Creative Commons Attribution
    3.0 per TCIA (cite Gupta & Gupta, ISBI 2019 and Duggal et al., MICCAI
    2017). Files are loaded as downloaded, never renamed::

        data_root/
        ├── C-NMC_Leukemia/                     # Kaggle layout
        │   ├── training_data/fold_{0,1,2}/{all,hem}/
        │   │   └── UID_<patient>_<image>_<cell>_<all|hem>.bmp
        │   └── validation_data/
        │       ├── C-NMC_test_prelim_phase_data/<n>.bmp
        │       └── C-NMC_test_prelim_phase_data_labels.csv
        └── C-NMC_training_data/fold_{0,1,2}/{all,hem}/...   # TCIA layout

    Normal (hem) patients are ``UID_H<n>_...`` (the real set also has
    ``UID_h3_...``, read as patient ``H3``). Every data info carries
    ``patient_id`` (``'H14'``, ``'11'``), ``image_no`` and ``cell_no``;
    scanned training images also carry ``fold``.

    Args:
        data_root (str): The folder holding the layout above.
        ann_file (str): mmpretrain annotation lines ``relative/path label``
            (relative to ``data_prefix``, by default ``data_root``), as
            written by ``tools/dataset_converters/make_splits.py``. Without
            it the layout is scanned. Defaults to ''.
        split (str): Without ``ann_file``: ``'train'`` (the training folds)
            or ``'prelim_test'`` (preliminary-test images + labels CSV,
            ``labels`` 1 = ALL). Defaults to ``'train'``.
        folds (int | str | Sequence, optional): Official training folds to
            scan (``0``, ``'fold_0'``, ``[0, 2]``); all when None.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        **kwargs: Other :class:`mmpretrain.datasets.BaseDataset` arguments.
    """

    METAINFO = dict(classes=CNMC_CLASSES)
    TRAIN_DIRS = ('C-NMC_Leukemia/training_data', 'training_data',
                  'C-NMC_training_data', 'C-NMC_Leukemia/C-NMC_training_data')
    PRELIM_IMG_DIRS = (
        'C-NMC_Leukemia/validation_data/C-NMC_test_prelim_phase_data',
        'validation_data/C-NMC_test_prelim_phase_data',
        'C-NMC_test_prelim_phase_data/C-NMC_test_prelim_phase_data',
        'C-NMC_Leukemia/C-NMC_test_prelim_phase_data/'
        'C-NMC_test_prelim_phase_data', 'C-NMC_test_prelim_phase_data')
    PRELIM_CSVS = ('C-NMC_Leukemia/validation_data/'
                   'C-NMC_test_prelim_phase_data_labels.csv',
                   'validation_data/C-NMC_test_prelim_phase_data_labels.csv',
                   'C-NMC_test_prelim_phase_data/'
                   'C-NMC_test_prelim_phase_data_labels.csv',
                   'C-NMC_Leukemia/C-NMC_test_prelim_phase_data/'
                   'C-NMC_test_prelim_phase_data_labels.csv',
                   'C-NMC_test_prelim_phase_data_labels.csv')
    SPLITS = ('train', 'prelim_test')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 split: str = 'train',
                 folds: Union[int, str, Sequence, None] = None,
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'CNMC2019Dataset: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        if folds is not None and (ann_file or split != 'train'):
            raise ValueError('CNMC2019Dataset: `folds` selects scanned '
                             "training folds; it needs split='train' and no "
                             'ann_file')
        self.split = split
        self.folds = self._fold_names(folds)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            pipeline=pipeline,
            **kwargs)

    @staticmethod
    def _fold_names(folds) -> Optional[List[str]]:
        """``0`` / ``'fold_0'`` / a sequence of them -> ``['fold_0']``."""
        if folds is None:
            return None
        if isinstance(folds, (int, str)):
            folds = [folds]
        names = []
        for fold in folds:
            name = f'fold_{fold}' if isinstance(fold, int) else str(fold)
            if not re.fullmatch(r'fold_\d+', name):
                raise ValueError(f'CNMC2019Dataset: bad fold {fold!r}; use '
                                 "an int or 'fold_<k>'")
            names.append(name)
        return names

    def load_data_list(self) -> List[dict]:
        """Data infos from ``ann_file`` or from the scanned layout."""
        if self.ann_file:
            return self._load_ann_file()
        if not self.data_root or not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'C-NMC data_root {self.data_root!r} not found. Expected '
                f'layout: {TRAIN_LAYOUT}; {DOCS}')
        if self.split == 'train':
            return self._scan_training()
        return self._load_prelim_test()

    def _info(self, path: str, name: str, label: int, **extra) -> dict:
        parsed = parse_cnmc_name(name, path)
        if CNMC_CLASSES.index(parsed['label']) != label:
            raise ValueError(
                f'{path}: label {label} ({CNMC_CLASSES[label]!r}) '
                f'contradicts the file name (..._{parsed["label"]}.bmp); '
                f'classes are {CNMC_CLASSES}')
        return dict(
            img_path=path,
            gt_label=label,
            patient_id=parsed['patient_id'],
            image_no=parsed['image_no'],
            cell_no=parsed['cell_no'],
            **extra)

    def _scan_training(self) -> List[dict]:
        train_dir = first_existing(self.data_root, self.TRAIN_DIRS,
                                   'C-NMC training data', TRAIN_LAYOUT)
        found = sorted(
            (d for d in os.listdir(train_dir) if re.fullmatch(r'fold_\d+', d)),
            key=lambda d: int(d[5:]))
        if not found:
            raise FileNotFoundError(
                f'No fold_<k> folder in {train_dir!r}. Expected layout: '
                f'{TRAIN_LAYOUT}; {DOCS}')
        wanted = self.folds or found
        missing = [f for f in wanted if f not in found]
        if missing:
            raise FileNotFoundError(
                f'C-NMC folds {missing} not found in {train_dir!r} (found '
                f'{found}); {DOCS}')
        data_list = []
        for fold in wanted:
            for label, cls in enumerate(CNMC_CLASSES):
                folder = osp.join(train_dir, fold, cls)
                for name in list_images(folder, TRAIN_LAYOUT):
                    data_list.append(
                        self._info(
                            osp.join(folder, name), name, label, fold=fold))
        return data_list

    def _load_prelim_test(self) -> List[dict]:
        csv_path = first_existing(self.data_root, self.PRELIM_CSVS,
                                  'C-NMC preliminary-test labels CSV',
                                  PRELIM_LAYOUT)
        img_dir = first_existing(self.data_root, self.PRELIM_IMG_DIRS,
                                 'C-NMC preliminary-test images',
                                 PRELIM_LAYOUT)
        with open(csv_path, encoding='utf-8-sig', newline='') as f:
            reader = csv.DictReader(f)
            header = [c.strip() for c in reader.fieldnames or []]
            if any(c not in header for c in PRELIM_COLUMNS):
                raise ValueError(f'{csv_path}: columns {header} lack one of '
                                 f'{list(PRELIM_COLUMNS)}; {DOCS}')
            rows = [{
                k.strip(): (v or '').strip()
                for k, v in row.items()
            } for row in reader]
        data_list = []
        for lineno, row in enumerate(rows, 2):
            if row['labels'] not in ('0', '1'):
                raise ValueError(f'{csv_path}:{lineno}: labels must be 0 '
                                 f'(hem) or 1 (ALL), got {row["labels"]!r}')
            orig = row['Patient_ID']
            if not orig.endswith('.bmp'):
                orig += '.bmp'
            try:
                info = self._info(
                    osp.join(img_dir, row['new_names']),
                    orig,
                    int(row['labels']),
                    orig_name=orig)
            except ValueError as err:
                raise ValueError(f'{csv_path}:{lineno}: {err}') from None
            data_list.append(info)
        check_files_exist([d['img_path'] for d in data_list], csv_path)
        return data_list

    def _load_ann_file(self) -> List[dict]:
        data_list = []
        for rel, label in read_ann_file(self.ann_file):
            if label not in (0, 1):
                raise ValueError(f'{self.ann_file}: label of {rel!r} must be '
                                 f'0 (hem) or 1 (all), got {label}')
            path = osp.join(self.img_prefix, rel)
            data_list.append(self._info(path, osp.basename(rel), label))
        check_files_exist([d['img_path'] for d in data_list], self.ann_file)
        return data_list
