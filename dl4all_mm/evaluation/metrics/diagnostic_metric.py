"""Diagnostic metrics (sensitivity, specificity, AUC, ...) for one domain."""
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import (broadcast_object_list, collect_results,
                           is_main_process)
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from .diagnostic import diagnostic_scores

#: Placeholder result of a sample that is not evaluated (another domain).
#: It must not be ``None``: ``collect_results`` drops ``None`` entries before
#: trimming the padding, which would shift the trim.
SKIP = 'skip'


@METRICS.register_module()
class DiagnosticMetric(BaseMetric):
    """Accuracy, balanced accuracy, sensitivity, specificity, precision, F1,
    macro-F1, ROC AUC, AP and the confusion matrix of a single-label task.

    Works on plain :class:`DataSample` predictions (what
    ``DomainImageClassifier.predict`` returns for the target domain) and,
    with ``domain``, on :class:`MultiTaskDataSample` predictions: the
    domain's field of the samples whose ``eval_mask`` is set. All values are
    fractions in [0, 1]; see :func:`diagnostic_scores` for the definitions.
    ``sensitivity``/``specificity``/``precision``/``f1`` (of the positive
    class) are reported for binary tasks only; multi-class tasks report
    per-class lists and macro averages (``macro_recall``,
    ``macro_specificity``, ...).

    Distributed evaluation is exact: every sample, evaluated or not, adds one
    entry to ``results`` (``SKIP`` for another domain's sample), so the
    rank-strided merge of ``collect_results`` and its trim to the dataset
    size drop exactly the sampler's padded duplicates; every rank takes part
    in the same collectives whatever it holds, and an error while computing
    on rank 0 is raised on every rank instead of leaving them waiting.

    Args:
        domain (str, optional): Task field of multi-task samples to
            evaluate. None evaluates plain samples. Defaults to None.
        positive_index (int | str): The positive (ALL) class of a binary
            task, as an index or a class name. Defaults to 1.
        num_classes (int, optional): Needed only when the predictions hold
            labels without scores and the dataset meta has no ``classes``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``domain`` if given,
            else ``'diagnostic'``.
        collect_dir (str, optional): Shared directory for ``'cpu'``
            collection.

    Example:
        >>> val_evaluator = dict(type='DiagnosticMetric')
        >>> # keys: 'diagnostic/accuracy', 'diagnostic/balanced_accuracy', ...
        >>> val_evaluator = dict(type='DiagnosticMetric', domain='source')
        >>> # keys: 'source/accuracy', ...
    """
    default_prefix: Optional[str] = 'diagnostic'

    def __init__(self,
                 domain: Optional[str] = None,
                 positive_index: Union[int, str] = 1,
                 num_classes: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix or domain or self.default_prefix,
            collect_dir=collect_dir)
        if domain is not None and not isinstance(domain, str):
            raise TypeError(f'domain must be a str, got {domain!r}')
        if not isinstance(positive_index, (int, str)):
            raise TypeError('positive_index must be a class index or name, '
                            f'got {positive_index!r}')
        self.domain = domain
        self.positive_index = positive_index
        self.num_classes = num_classes

    def _select(self, sample: dict) -> Optional[dict]:
        """The part of ``sample`` to evaluate, or None to skip it."""
        if self.domain is None:
            if 'gt_label' not in sample:
                raise KeyError(
                    'DiagnosticMetric got a sample without gt_label (keys: '
                    f'{sorted(sample)}); for multi-task samples set '
                    "`domain=` to the task to evaluate")
            return sample
        part = sample.get(self.domain)
        if not isinstance(part, dict):
            raise KeyError(
                f'DiagnosticMetric(domain={self.domain!r}) got a sample '
                f'without a {self.domain!r} task field (keys: '
                f'{sorted(sample)}); plain samples need domain=None')
        if not part.get('eval_mask', 'gt_label' in part):
            return None
        if 'gt_label' not in part:
            raise KeyError(f'Sample {sample.get("img_path", "")!r} is '
                           f'marked for evaluation in domain '
                           f'{self.domain!r} but has no gt_label')
        return part

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store label, prediction and scores of each sample (or SKIP)."""
        for sample in data_samples:
            part = self._select(sample)
            if part is None:
                self.results.append(SKIP)
                continue
            result = dict(gt_label=int(part['gt_label'].flatten()[0]))
            if 'pred_score' in part:
                score = part['pred_score'].detach().float().cpu()
                result['pred_score'] = score
                result['pred_label'] = int(score.argmax())
            elif 'pred_label' in part:
                result['pred_label'] = int(part['pred_label'].flatten()[0])
            else:
                raise KeyError('DiagnosticMetric needs pred_score or '
                               f'pred_label; the sample has {sorted(part)}')
            self.results.append(result)

    @property
    def classes(self) -> Optional[List[str]]:
        """Class names of the evaluated domain, if the meta has them."""
        meta = self.dataset_meta or {}
        if self.domain is not None:
            meta = meta.get('domain_metainfo', {}).get(self.domain, meta)
        classes = meta.get('classes')
        return list(classes) if classes is not None else None

    def _positive(self, num_classes: int) -> int:
        """``positive_index`` as an index."""
        if isinstance(self.positive_index, int):
            return self.positive_index
        classes = self.classes or []
        if self.positive_index not in classes:
            raise ValueError(f'positive_index={self.positive_index!r} is not '
                             f'one of the classes {classes}')
        return classes.index(self.positive_index)

    def compute_metrics(self, results: list) -> Dict[str, Any]:
        """Compute every diagnostic value from the merged results."""
        results = [r for r in results if r != SKIP]
        what = f'domain {self.domain!r}' if self.domain else 'the dataset'
        if not results:
            raise ValueError(f'DiagnosticMetric: no sample of {what} was '
                             'evaluated')
        with_score = all('pred_score' in r for r in results)
        target = torch.tensor([r['gt_label'] for r in results])
        pred_label = torch.tensor([r['pred_label'] for r in results])
        score = None
        if with_score:
            score = torch.stack([r['pred_score'] for r in results])
            num_classes = score.shape[1]
        elif self.num_classes is not None:
            num_classes = self.num_classes
        elif self.classes is not None:
            num_classes = len(self.classes)
        else:
            raise ValueError(f'DiagnosticMetric: the predictions of {what} '
                             'hold labels only; set num_classes or give the '
                             'dataset meta `classes`')
        return diagnostic_scores(
            target,
            pred_label,
            num_classes,
            pred_score=score,
            positive_index=self._positive(num_classes))

    def evaluate(self, size: int) -> dict:
        """Merge the ranks' results (padding trimmed), compute on rank 0 and
        broadcast; an error on rank 0 is raised on every rank.

        Args:
            size (int): Length of the whole evaluated dataset.

        Returns:
            dict: The metrics, each key prefixed with ``prefix/``.
        """
        kwargs = {}
        if self.collect_device == 'cpu':
            kwargs['tmpdir'] = self.collect_dir
        results = collect_results(self.results, size, self.collect_device,
                                  **kwargs)
        error = None
        payload: list = [None]
        if is_main_process():
            try:
                metrics = self.compute_metrics(results)
                payload = [('ok', {
                    f'{self.prefix}/{k}': v
                    for k, v in metrics.items()
                })]
            except Exception as err:  # re-raised below, on every rank
                error = err
                payload = [('error', f'{type(err).__name__}: {err}')]
        broadcast_object_list(payload)
        self.results.clear()
        status, value = payload[0]
        if error is not None:
            raise error
        if status == 'error':
            raise RuntimeError(f'DiagnosticMetric failed on rank 0: {value}')
        return value
