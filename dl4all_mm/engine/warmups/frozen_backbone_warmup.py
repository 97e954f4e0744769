"""Warm-up epochs of the main step with some modules frozen."""
from typing import List, Sequence

import torch
from torch.utils.data import DataLoader

from dl4all_mm.registry import WARMUPS
from ..steps import BaseTrainStep


@WARMUPS.register_module()
class FrozenBackboneWarmup:
    """Warm-up epochs are ordinary epochs of the main step (its dataloader,
    its update) with the ``frozen`` submodules left out of the optimizer
    steps (their backward pass is skipped outside DDP); the optimizer state
    carries over and the epochs are validated.

    Args:
        frozen (sequence of str): Model attributes frozen during the
            warm-up. Defaults to ``('backbone', 'neck')``.
    """

    #: Whether a validation may follow a warm-up epoch.
    validate = True

    def __init__(self, frozen: Sequence[str] = ('backbone', 'neck')) -> None:
        self.frozen = tuple(frozen)
        self._module = None

    def setup(self, loop) -> None:
        """Check the frozen attribute names against the model."""
        self._module = loop.module
        known = [n for n, _ in self._module.named_children()]
        if not any(n in known for n in self.frozen):
            raise AttributeError(
                f'train_cfg.frozen={self.frozen}: the model has none of '
                f'these submodules (it has {known})')

    def epoch_length(self, main_loader: DataLoader) -> int:
        """Iterations of a warm-up epoch: the main loader's."""
        return len(main_loader)

    def dataloader(self, main_loader: DataLoader) -> DataLoader:
        """The main loader."""
        return main_loader

    def params(self) -> List[torch.nn.Parameter]:
        """Parameters of the frozen submodules."""
        modules = [getattr(self._module, name, None) for name in self.frozen]
        return [p for m in modules if m is not None for p in m.parameters()]

    def begin_epoch(self, main_step: BaseTrainStep) -> BaseTrainStep:
        """The main step, with the frozen parameters left out of its
        updates (see :meth:`BaseTrainStep.freeze`)."""
        main_step.freeze(self.params())
        return main_step

    def end_epoch(self, loop, main_step: BaseTrainStep, last: bool) -> None:
        """The main step updates every parameter again."""
        main_step.unfreeze()

    def check_schedulers(self, loop, cfgs: List[dict]) -> None:
        """Nothing to check: warm-up epochs have ``len(dataloader)``
        iterations."""

    def before_train(self, loop) -> None:
        """Nothing to prepare."""
