"""Data preprocessor that normalises each domain with its own mean/std."""
from typing import Dict, List, Optional, Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS
from mmpretrain.structures import MultiTaskDataSample


@MODELS.register_module()
class DomainDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` with one mean/std per domain.

    DL4ALL normalises every dataset with its own statistics (see
    ``tools/analysis_tools/compute_mean_std.py``). The domain of a sample is
    its ``metainfo['domain']`` (set by :class:`InterleavedDatasetWrapper`);
    samples without one (plain validation/test datasets, inference) use
    ``default_domain``.

    Args:
        domain_norm (dict): Domain -> ``dict(mean=[...], std=[...])``, on the
            0-255 scale like ``ClsDataPreprocessor``.
        default_domain (str, optional): Domain of untagged samples. Defaults
            to the last domain of ``domain_norm`` (the target).
        **kwargs: Other ``ClsDataPreprocessor`` arguments (``to_rgb``,
            ``pad_size_divisor``, ...); ``mean``/``std`` are not accepted.
    """

    def __init__(self,
                 domain_norm: Dict[str, dict],
                 default_domain: Optional[str] = None,
                 **kwargs) -> None:
        for key in ('mean', 'std'):
            if kwargs.pop(key, None) is not None:
                raise ValueError(
                    f'DomainDataPreprocessor takes per-domain statistics in '
                    f'`domain_norm`, not a global `{key}`')
        super().__init__(**kwargs)
        if not domain_norm:
            raise ValueError('DomainDataPreprocessor needs `domain_norm`, '
                             'e.g. dict(target=dict(mean=[...], std=[...]))')
        self.domains: List[str] = list(domain_norm)
        self.default_domain = default_domain or self.domains[-1]
        if self.default_domain not in domain_norm:
            raise KeyError(f'default_domain {self.default_domain!r} is not '
                           f'in domain_norm {self.domains}')
        means = [_stat(domain_norm, d, 'mean') for d in self.domains]
        stds = [_stat(domain_norm, d, 'std') for d in self.domains]
        self.register_buffer('domain_mean',
                             torch.tensor(means).view(-1, 3, 1, 1), False)
        self.register_buffer('domain_std',
                             torch.tensor(stds).view(-1, 3, 1, 1), False)

    def domain_ids(self, data_samples: Optional[Sequence]) -> List[int]:
        """Index into ``self.domains`` of each sample's domain."""
        if not data_samples:
            return []
        ids = []
        for sample in data_samples:
            domain = sample.metainfo.get('domain', self.default_domain) \
                if sample is not None else self.default_domain
            if domain not in self.domains:
                raise KeyError(f'Sample domain {domain!r} has no statistics '
                               f'in domain_norm (known: {self.domains})')
            ids.append(self.domains.index(domain))
        return ids

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast, stack and pad (parent), then normalise per domain.

        On a CPU model the domain-tagged samples stay as the dataloader made
        them: the parent would ``.to('cpu')`` each one, which copies every
        sample's metainfo (a deep copy of each nested sample, a few ms a
        step) and moves nothing."""
        samples = data.get('data_samples')
        keep = self.device.type == 'cpu' and bool(samples) and isinstance(
            samples[0], MultiTaskDataSample)
        if keep:
            data = dict(data, data_samples=None)
        data = super().forward(data, training)
        if keep:
            data['data_samples'] = samples
        inputs = data['inputs']
        ids = self.domain_ids(data.get('data_samples'))
        if not ids:
            ids = [self.domains.index(self.default_domain)] * len(inputs)
        if len(set(ids)) == 1:
            mean, std = self.domain_mean[ids[0]], self.domain_std[ids[0]]
        else:
            index = torch.tensor(ids, device=inputs.device)
            mean, std = self.domain_mean[index], self.domain_std[index]
        channels = inputs.size(1)
        data['inputs'] = (inputs - mean[..., :channels, :, :]) / \
            std[..., :channels, :, :]
        return data


def _stat(domain_norm: Dict[str, dict], domain: str, key: str) -> List[float]:
    """Three-channel statistic ``key`` of ``domain`` (a scalar is pooled)."""
    value = domain_norm[domain].get(key) if isinstance(
        domain_norm[domain], dict) else None
    if value is None:
        raise KeyError(f'domain_norm[{domain!r}] needs `{key}`')
    value = [float(v) for v in (value if isinstance(value, (list, tuple))
                                else [value])]
    if len(value) == 1:
        value = value * 3
    if len(value) != 3:
        raise ValueError(f'domain_norm[{domain!r}].{key} must have 1 or 3 '
                         f'values, got {value}')
    return value
