"""Named domain datasets behind one index space, each sample domain-tagged."""
import bisect
import copy
import itertools
from typing import Callable, Dict, Iterator, List, Optional, Tuple, Union

from mmengine.dataset import BaseDataset, Compose
from mmpretrain.registry import DATASETS
from mmpretrain.structures import DataSample, MultiTaskDataSample

from .. import compat


@DATASETS.register_module()
class InterleavedDatasetWrapper:
    """Wrap named domain datasets so that each sample knows its domain.

    Every domain keeps its own dataset, pipeline, classes and metainfo. The
    wrapper concatenates their index spaces in the order given and turns each
    sample's :class:`DataSample` into a :class:`MultiTaskDataSample` whose
    only task field is the domain name (so ``MultiTaskHead`` routes its label
    to that domain's head) and whose metainfo holds ``domain``.

    Interleaving itself (which domain each batch comes from) is the job of
    :class:`DomainBatchSampler`; the wrapper only exposes
    :attr:`domain_ranges`. Iterating over the wrapper (not indexing it)
    yields the domains' samples in turn (first source sample, first target
    sample, second source sample, ...), so a quick look at the first few,
    e.g. with mmpretrain's ``browse_dataset.py``, shows every domain.

    :attr:`pipeline` is what tools that inspect a dataset's pipeline need:
    reading it gives a :class:`DomainPipelines` (each sample goes through
    its own domain's pipeline); assigning to it a ``Compose`` built from
    ``wrapper.pipeline.transforms`` (as ``browse_dataset.py`` does to record
    every step) gives each domain a copy of that ``Compose`` around its own
    transforms, and assigning any other pipeline makes every domain use it.

    Args:
        datasets (dict): Domain name -> dataset or dataset config.
        main_domain (str, optional): The domain whose ``classes`` the
            wrapper's own metainfo reports (what checkpoints and inferencers
            see as ``classes``). Defaults to the last domain (the target).
        lazy_init (bool): Defer ``full_init``. Defaults to False.

    Example:
        >>> dataset = dict(
        ...     type='InterleavedDatasetWrapper',
        ...     datasets=dict(source=dict(type='CustomDataset', ...),
        ...                   target=dict(type='CustomDataset', ...)))
    """

    def __init__(self,
                 datasets: Dict[str, Union[BaseDataset, dict]],
                 main_domain: Optional[str] = None,
                 lazy_init: bool = False) -> None:
        if not isinstance(datasets, dict) or not datasets:
            raise TypeError('InterleavedDatasetWrapper needs `datasets`, a '
                            'non-empty dict of domain name -> dataset, got '
                            f'{datasets!r}')
        self.datasets: Dict[str, BaseDataset] = {}
        for name, dataset in datasets.items():
            if isinstance(dataset, dict):
                with compat.empty_dataset_error():  # names an empty domain
                    dataset = DATASETS.build(dataset)
            self.datasets[name] = dataset
        self.domains: List[str] = list(self.datasets)
        self.main_domain = main_domain or self.domains[-1]
        if self.main_domain not in self.datasets:
            raise KeyError(f'main_domain {self.main_domain!r} is not one of '
                           f'the domains {self.domains}')
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def pipeline(self) -> 'DomainPipelines':
        """Every domain's pipeline, chosen by each sample's ``domain``."""
        return DomainPipelines({
            name: dataset.pipeline
            for name, dataset in self.datasets.items()
        })

    @pipeline.setter
    def pipeline(self, pipeline: Callable) -> None:
        transforms = getattr(pipeline, 'transforms', None)
        if (isinstance(transforms, list) and len(transforms) == 1
                and isinstance(transforms[0], _DomainDispatch)):
            for name, dataset in self.datasets.items():
                own = copy.copy(pipeline)
                own.transforms = list(dataset.pipeline.transforms)
                dataset.pipeline = own
            return
        for dataset in self.datasets.values():
            dataset.pipeline = pipeline

    def full_init(self) -> None:
        """Fully initialise every domain dataset and the index ranges."""
        if self._fully_initialized:
            return
        self.cumulative_sizes: List[int] = []
        total = 0
        for name, dataset in self.datasets.items():
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
            size = len(dataset)
            if size == 0:
                root = getattr(dataset, 'data_root', '') or ''
                ann = getattr(dataset, 'ann_file', '') or ''
                raise ValueError(
                    f'Domain {name!r} is empty (data_root={root!r}, '
                    f'ann_file={ann!r}): every domain needs at least one '
                    'sample.')
            total += size
            self.cumulative_sizes.append(total)
        self._fully_initialized = True

    @property
    def domain_ranges(self) -> Dict[str, Tuple[int, int]]:
        """Domain name -> ``(start, stop)`` of its indices in the wrapper."""
        self.full_init()
        starts = [0] + self.cumulative_sizes[:-1]
        return {
            name: (start, stop)
            for name, start, stop in zip(self.domains, starts,
                                         self.cumulative_sizes)
        }

    @property
    def metainfo(self) -> dict:
        """Main domain's metainfo plus every domain's under ``domains``."""
        meta = copy.deepcopy(self.datasets[self.main_domain].metainfo)
        meta['domains'] = list(self.domains)
        meta['main_domain'] = self.main_domain
        meta['domain_metainfo'] = {
            name: copy.deepcopy(dataset.metainfo)
            for name, dataset in self.datasets.items()
        }
        return meta

    def locate(self, idx: int) -> Tuple[str, int]:
        """Map a wrapper index to ``(domain name, index in that domain)``."""
        self.full_init()
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for a wrapper of '
                             f'{len(self)} samples')
        domain_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[domain_idx - 1] if domain_idx else 0
        return self.domains[domain_idx], idx - start

    def get_data_info(self, idx: int) -> dict:
        """Annotation of sample ``idx`` with its ``domain`` added."""
        name, local = self.locate(idx)
        info = self.datasets[name].get_data_info(local)
        info['domain'] = name
        return info

    def __len__(self) -> int:
        self.full_init()
        return self.cumulative_sizes[-1]

    def __iter__(self) -> Iterator[dict]:
        """Samples of the domains in turn: index 0 of each domain, then
        index 1 of each, ...; a domain that runs out is left out."""
        for local in itertools.count():
            found = False
            for start, stop in self.domain_ranges.values():
                if start + local < stop:
                    found = True
                    yield self[start + local]
            if not found:
                return

    def __getitem__(self, idx: int) -> dict:
        name, local = self.locate(idx)
        results = self.datasets[name][local]
        results['data_samples'] = to_domain_sample(results['data_samples'],
                                                   name)
        return results


class _DomainDispatch:
    """Run ``results['domain']``'s pipeline (see :class:`DomainPipelines`).

    Args:
        pipelines (dict): Domain name -> pipeline.
    """

    def __init__(self, pipelines: Dict[str, Callable]) -> None:
        self.pipelines = pipelines

    def __call__(self, results: dict) -> Optional[dict]:
        domain = results.get('domain')
        if domain not in self.pipelines:
            raise KeyError(
                f'InterleavedDatasetWrapper.pipeline: results[\'domain\'] is '
                f'{domain!r}; expected one of {list(self.pipelines)}')
        return self.pipelines[domain](results)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(domains={list(self.pipelines)})'


class DomainPipelines(Compose):
    """The pipelines of an :class:`InterleavedDatasetWrapper`'s domains.

    Calling it runs the pipeline of ``results['domain']`` (the wrapper's
    ``get_data_info`` sets it). Its single transform is the dispatcher, so
    a ``Compose`` rebuilt from ``.transforms`` and assigned back to the
    wrapper's ``pipeline`` wraps each domain's own transforms.

    Args:
        pipelines (dict): Domain name -> pipeline (a ``Compose``).
    """

    def __init__(self, pipelines: Dict[str, Callable]) -> None:
        super().__init__([_DomainDispatch(pipelines)])
        self.pipelines = pipelines

    def __repr__(self) -> str:
        lines = [f'{type(self).__name__}(']
        for name, pipeline in self.pipelines.items():
            lines.append(f'    {name}: {pipeline!r}')
        return '\n'.join(lines + [')'])


def to_domain_sample(sample: DataSample, domain: str) -> MultiTaskDataSample:
    """Wrap one domain's :class:`DataSample` as a domain-tagged sample."""
    if isinstance(sample, MultiTaskDataSample):
        sample.set_metainfo(dict(domain=domain))
        return sample
    wrapped = MultiTaskDataSample(metainfo=dict(sample.metainfo))
    wrapped.set_metainfo(dict(domain=domain))
    wrapped.set_field(sample, domain)
    return wrapped
