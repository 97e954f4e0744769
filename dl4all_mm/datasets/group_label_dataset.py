"""Self labels: each image labelled by a group key in its file name."""
import os.path as osp
import re
from typing import List, Optional

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class GroupLabelDataset(CustomDataset):
    """Images labelled by the group their file name names (DL4ALL *Self*).

    DL4ALL's Self variant needs no manual source labels: every source image
    gets the class of the slide (or patient, or scan) it was cut from. The
    group key is the first capture group of ``group_regex`` matched against
    the file name; the classes are the sorted distinct keys.

    Images are found like ``CustomDataset`` does without labels: every image
    under ``data_prefix`` (recursively), or the paths listed one per line in
    ``ann_file``.

    Args:
        group_regex (str): Regex with one capture group, searched in the
            file's base name. Defaults to ADP's slide id
            (``001.png_crop_16.png`` -> ``001``).
        min_group_size (int): Drop groups with fewer images. Defaults to 1.
        **kwargs: ``CustomDataset`` arguments (``data_root``,
            ``data_prefix``, ``ann_file``, ``pipeline``, ...).
    """

    def __init__(self,
                 group_regex: str = r'^([^._]+)',
                 min_group_size: int = 1,
                 **kwargs) -> None:
        self.group_regex = re.compile(group_regex)
        if self.group_regex.groups < 1:
            raise ValueError(f'group_regex {group_regex!r} needs a capture '
                             'group for the group key')
        self.min_group_size = min_group_size
        kwargs['with_label'] = False
        super().__init__(**kwargs)

    def group_of(self, img_path: str) -> Optional[str]:
        """Group key of one image path, or None if the regex misses."""
        match = self.group_regex.search(osp.basename(img_path))
        return match.group(1) if match else None

    def load_data_list(self) -> List[dict]:
        """Image paths with their group index as ``gt_label``."""
        data_list = super().load_data_list()
        groups = {}
        for info in data_list:
            key = self.group_of(info['img_path'])
            if key is None:
                raise ValueError(
                    f'File {info["img_path"]} does not match group_regex '
                    f'{self.group_regex.pattern!r}')
            info['group'] = key
            groups[key] = groups.get(key, 0) + 1
        kept = sorted(k for k, n in groups.items()
                      if n >= self.min_group_size)
        if not kept:
            raise ValueError(f'No group under {self.img_prefix!r} has '
                             f'{self.min_group_size} or more images')
        index = {k: i for i, k in enumerate(kept)}
        self._metainfo['classes'] = tuple(kept)
        return [
            dict(info, gt_label=index[info['group']]) for info in data_list
            if info['group'] in index
        ]
