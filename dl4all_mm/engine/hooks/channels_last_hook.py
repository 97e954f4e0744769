"""Train and evaluate convolutional networks in channels-last layout."""
from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def _to_channels_last(module: torch.nn.Module, args: Any, output: Any) -> Any:
    """Forward hook of a data preprocessor: 4-D inputs to channels-last."""
    inputs = output.get('inputs') if isinstance(output, dict) else None
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
        output['inputs'] = inputs.contiguous(memory_format=torch.channels_last)
    return output


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Switch the model and its input batches to ``torch.channels_last``.

    Convolutions in NHWC layout run on tensor cores without layout
    transposes (GPU, with AMP) and with oneDNN's blocked kernels (CPU). At
    ``before_run`` (train, val or test) the model's 4-D parameters and
    buffers are converted in place, and the data preprocessor's output
    ``inputs`` are made channels-last. Conversion happens before the first
    iteration, so a DDP wrapper rebuilds its gradient buckets with the new
    strides after that iteration. A checkpoint saved later loads into a
    model in either layout.

    Enable it in a config with::

        custom_hooks = [dict(type='ChannelsLastHook')]

    Args:
        enabled (bool): Set False to keep a base config's hook but turn the
            layout change off. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._handle: Optional[Any] = None

    def before_run(self, runner) -> None:
        """Convert the model and hook its data preprocessor once."""
        if not self.enabled or self._handle is not None:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.to(memory_format=torch.channels_last)
        preprocessor = getattr(model, 'data_preprocessor', None)
        if not isinstance(preprocessor, torch.nn.Module):
            raise TypeError(
                'ChannelsLastHook needs a model with a data_preprocessor '
                f'module, got {type(preprocessor).__name__}')
        self._handle = preprocessor.register_forward_hook(_to_channels_last)
        runner.logger.info('ChannelsLastHook: model and inputs use '
                           'torch.channels_last.')

    def after_run(self, runner) -> None:
        """Remove the preprocessor hook."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
