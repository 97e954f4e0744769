"""What every training step of :class:`DomainTrainLoop` is built from."""
from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

import torch
from mmengine.model import is_model_wrapper


class BaseTrainStep:
    """One training iteration on a domain batch: forwards, backwards and
    optimizer steps, called by :class:`DomainTrainLoop` between the
    ``before_train_iter`` and ``after_train_iter`` hooks.

    A step is bound to the runner once (:meth:`bind`) and then called with
    each dataloader batch; it returns the log variables. The primitives
    below go through the runner's model (its distributed wrapper included)
    and optimizer wrapper, so subclasses only write their update rule.
    Resumable state of a step lives in the runner's message hub, which
    mmengine saves in and restores from every checkpoint.

    Attributes:
        frozen (list of Parameter, optional): Set by :meth:`freeze` (see
            :class:`FrozenBackboneWarmup`): these parameters take no part
            in the optimizer steps.
    """

    def __init__(self) -> None:
        self.runner = None
        self.frozen: Optional[List[torch.nn.Parameter]] = None
        self._grad_off: List[torch.nn.Parameter] = []

    def bind(self, runner) -> None:
        """Attach the step to ``runner`` (its model must have ``domains``).

        The optimizer wrapper is read from the runner at each call (mmengine
        builds it after the loop)."""
        self.runner = runner

    def __call__(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        """Train on ``data_batch``; return the log variables."""
        raise NotImplementedError

    # ------------------------------------------------------------- access
    @property
    def model(self) -> torch.nn.Module:
        """The runner's model, with its distributed wrapper if any."""
        return self.runner.model

    @property
    def module(self) -> torch.nn.Module:
        """The model without its distributed wrapper."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    @property
    def optim_wrapper(self):
        """The runner's optimizer wrapper."""
        return self.runner.optim_wrapper

    # --------------------------------------------------------- primitives
    def preprocess(self, data_batch: dict) -> dict:
        """The model's data preprocessor in training mode."""
        return self.module.data_preprocessor(data_batch, True)

    def split(self, data_batch: dict) -> Dict[str, dict]:
        """Preprocess a batch and split it into its domains' parts."""
        data = self.preprocess(data_batch)
        groups = self.module.domain_groups(data['data_samples'])
        return {
            domain: self._select(data, idx)
            for domain, idx in groups.items()
        }

    @staticmethod
    def _select(data: dict, idx: List[int]) -> dict:
        """The rows ``idx`` of a preprocessed batch (inputs and samples)."""
        index = torch.as_tensor(idx, device=data['inputs'].device)
        return dict(
            inputs=data['inputs'].index_select(0, index),
            data_samples=[data['data_samples'][i] for i in idx])

    # ---------------------------------------------------------- freezing
    def freeze(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Leave ``params`` out of the optimizer steps until
        :meth:`unfreeze`. Without a distributed wrapper their
        ``requires_grad`` is turned off, so the backward pass does not
        compute their gradients (nor, for a frozen backbone, its own
        backward); under DDP, whose reducer expects a gradient for every
        parameter it registered, :meth:`update` drops their gradients."""
        self.unfreeze()
        self.frozen = list(params)
        self._grad_off = self._requires_grad_off(self.frozen)

    def unfreeze(self) -> None:
        """Undo :meth:`freeze`: every parameter is updated again."""
        for p in self._grad_off:
            p.requires_grad_(True)
        self._grad_off = []
        self.frozen = None

    def _requires_grad_off(
            self, params: Iterable[torch.nn.Parameter]
    ) -> List[torch.nn.Parameter]:
        """Outside DDP, turn off ``requires_grad`` of those of ``params``
        that have it; return them (to restore). Under DDP: nothing."""
        if is_model_wrapper(self.model):
            return []
        off = [p for p in params if p.requires_grad]
        for p in off:
            p.requires_grad_(False)
        return off

    @contextmanager
    def _grad_only(
            self, keep: Iterable[torch.nn.Parameter]) -> Iterator[None]:
        """Without a distributed wrapper, build the autograd graph for the
        ``keep`` parameters only (see :meth:`_requires_grad_off`): the
        other parameters' gradients would be dropped anyway, so their
        backward pass is skipped (same update, less cost)."""
        ids = {id(p) for p in keep}
        off = self._requires_grad_off(
            p for p in self.module.parameters() if id(p) not in ids)
        try:
            yield
        finally:
            for p in off:
                p.requires_grad_(True)

    def forward(self, data: dict) -> Tuple[torch.Tensor, dict]:
        """Loss of ``data`` through the (wrapped) model."""
        with self.optim_wrapper.optim_context(self.model):
            losses = self.model(**data, mode='loss')
        return self.module.parse_losses(losses)

    def update(self,
               loss: torch.Tensor,
               only: Optional[Iterable[torch.nn.Parameter]] = None,
               zero: Iterable[torch.nn.Parameter] = ()) -> None:
        """``OptimWrapper.update_params`` that can restrict the step to
        ``only`` these parameters (and drops the gradients of
        :attr:`frozen`) without touching ``optim_wrapper.step``, which the
        parameter schedulers wrap. The parameters in ``zero`` take part in
        the step with a zero gradient (momentum and weight decay move
        them, as torch < 2.0's ``zero_grad()`` left it)."""
        optim_wrapper = self.optim_wrapper
        optim_wrapper.backward(optim_wrapper.scale_loss(loss))
        if not optim_wrapper.should_update():
            return
        drop: List[torch.nn.Parameter] = []
        if only is not None:
            keep: Set[int] = {id(p) for p in only}
            drop = [p for p in self.module.parameters() if id(p) not in keep]
        elif self.frozen is not None:
            drop = self.frozen
        for p in drop:
            p.grad = None
        for p in zero:
            p.grad = torch.zeros_like(p)
        optim_wrapper.step()
        optim_wrapper.zero_grad()

    def step(self, data: dict) -> Dict[str, torch.Tensor]:
        """Forward (through the DDP wrapper if any), backward, step."""
        loss, log_vars = self.forward(data)
        self.update(loss)
        return log_vars

    def step_each_domain(self, data_batch: dict) -> Dict[str, torch.Tensor]:
        """One :meth:`step` per domain part of the batch, in head order."""
        log_vars: Dict[str, torch.Tensor] = {}
        for part in self.split(data_batch).values():
            log_vars.update(self.step(part))
        return log_vars

    @contextmanager
    def loss_weight(self, domain: str, value: float) -> Iterator[float]:
        """Temporarily set the head's loss weight of ``domain``; yields the
        configured weight."""
        weights = getattr(self.module.head, 'loss_weights', None)
        if weights is None:
            yield 1.0
            return
        old = weights[domain]
        weights[domain] = value
        try:
            yield old
        finally:
            weights[domain] = old

    @torch.no_grad()
    def refresh_bn(self, data: dict) -> None:
        """A no-grad train-mode forward of ``data``: BatchNorm running
        statistics take one momentum update with its batch statistics (the
        reference's ``pretrainBN_singleBatch``)."""
        with self.optim_wrapper.optim_context(self.model):
            self.module.extract_feat(data['inputs'])
