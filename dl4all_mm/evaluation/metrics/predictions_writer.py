"""Write every test prediction of a run to a CSV file (``predictions.csv``)
so that any metric, under any decision rule, can be recomputed later."""
import csv
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

from mmpretrain.registry import METRICS

from .diagnostic_metric import SKIP, DiagnosticMetric


def image_names(paths: Sequence[str]) -> List[str]:
    """``paths`` relative to their longest common folder (the basename of
    a single path), with ``/`` separators: names that do not depend on
    where the data lies."""
    if not paths:
        return []
    folders = [osp.dirname(osp.abspath(p)) for p in paths]
    root = osp.commonpath(folders)
    return [osp.relpath(osp.abspath(p), root).replace(os.sep, '/')
            for p in paths]


@METRICS.register_module()
class PredictionsWriter(DiagnosticMetric):
    """Write the test predictions of one domain to ``out_file``.

    One row per evaluated image, in dataset order, under the header
    ``image,label,<class 0 name>,<class 1 name>,...``: ``image`` is the
    image path relative to the evaluated images' common folder, ``label``
    the ground-truth class index and the scores the model's softmax
    probabilities (``pred_score``) written with ``%.8g``. Samples are
    selected as :class:`DiagnosticMetric` selects them (``domain`` for
    multi-task samples) and merged across ranks the same way; the file is
    written on rank 0. It returns no metric.

    Args:
        out_file (str): The CSV file to write (its folder is created).
        domain (str, optional): Task field of multi-task samples.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str): Key prefix (no key is returned). Defaults to
            ``'predictions'``.
        collect_dir (str, optional): Shared directory for ``'cpu'``
            collection.

    Example:
        >>> test_evaluator = [dict(type='DiagnosticMetric'),
        ...                   dict(type='PredictionsWriter',
        ...                        out_file='work/predictions.csv')]
    """
    default_prefix: Optional[str] = 'predictions'

    def __init__(self,
                 out_file: str,
                 domain: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        if not isinstance(out_file, str) or not out_file:
            raise ValueError('PredictionsWriter needs out_file, a file '
                             f'path; got {out_file!r}')
        super().__init__(
            domain=domain,
            collect_device=collect_device,
            prefix=prefix or self.default_prefix,
            collect_dir=collect_dir)
        self.out_file = out_file

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store path, label and scores of each sample (or SKIP)."""
        for sample in data_samples:
            part = self._select(sample)
            if part is None:
                self.results.append(SKIP)
                continue
            if 'pred_score' not in part:
                raise KeyError('PredictionsWriter needs pred_score (class '
                               f'scores); the sample has {sorted(part)}')
            path = part.get('img_path', sample.get('img_path'))
            self.results.append(
                dict(img_path=str(path),
                     gt_label=int(part['gt_label'].flatten()[0]),
                     pred_score=[float(v) for v in
                                 part['pred_score'].detach().float().cpu()]))

    def compute_metrics(self, results: list) -> Dict[str, Union[float, Any]]:
        """Write the merged results to ``out_file``; no metric."""
        results = [r for r in results if r != SKIP]
        if not results:
            raise ValueError(f'PredictionsWriter: no sample to write to '
                             f'{self.out_file}')
        num_classes = len(results[0]['pred_score'])
        classes = self.classes or [f'class{i}' for i in range(num_classes)]
        if len(classes) != num_classes:
            raise ValueError(f'PredictionsWriter: {num_classes} scores per '
                             f'sample but {len(classes)} classes {classes}')
        names = image_names([r['img_path'] for r in results])
        folder = osp.dirname(osp.abspath(self.out_file))
        os.makedirs(folder, exist_ok=True)
        tmp = self.out_file + '.tmp'
        with open(tmp, 'w', encoding='utf-8', newline='') as f:
            writer = csv.writer(f, lineterminator='\n')
            writer.writerow(['image', 'label'] + list(classes))
            for name, r in zip(names, results):
                writer.writerow([name, r['gt_label']] +
                                ['%.8g' % v for v in r['pred_score']])
        os.replace(tmp, self.out_file)
        return {}

