"""DDP wrapper that also runs CPU (gloo) modules."""
import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS

# mmengine's root registry: ``Runner.wrap_model`` looks the type up there
# (``MODEL_WRAPPERS.get``, which does not follow the default scope).


@MODEL_WRAPPERS.register_module()
class DL4ALLDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops the ``device_ids`` and
    ``output_device`` the Runner passes when every parameter is on the CPU
    (DDP rejects them for CPU modules), and does not broadcast buffers by
    default. Select it with ``model_wrapper_cfg``."""

    def __init__(self, module: torch.nn.Module, **kwargs) -> None:
        if all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        kwargs.setdefault('broadcast_buffers', False)
        super().__init__(module=module, **kwargs)
