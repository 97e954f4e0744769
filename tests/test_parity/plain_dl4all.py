"""DL4ALL in plain PyTorch, written from the algorithm (no mmengine).

Joint, reference Greedy and the reference warm-up, as ``docs/method.md``
states them, on a backbone that returns a tuple of feature maps, global
average pooling and one ``nn.Linear`` head per domain. SGD updates every
parameter at every step (a parameter whose loss is absent from the step has
a zero gradient, so momentum and weight decay still move it), except in the
warm-up, where only the head of the pass's domain is stepped.
"""
import copy
import math
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

Batch = Tuple[torch.Tensor, torch.Tensor]  # inputs, labels


class PlainDL4ALL:
    """One backbone, one linear head per domain, SGD with a head lr.

    Args:
        backbone (nn.Module): Returns a tuple whose last item is the map.
        heads (dict): Domain -> ``nn.Linear``.
        lr (float): Backbone learning rate.
        head_lr (float): Heads' learning rate.
        momentum (float): SGD momentum.
        weight_decay (float): SGD weight decay.
        loss_weights (dict): Domain -> loss weight (joint, greedy).
        grad_rescale (bool): Multiply head ``d``'s gradient by
            ``sum_k B_k / B_d`` in joint steps and greedy's kept target step.
    """

    def __init__(self, backbone: nn.Module, heads: Dict[str, nn.Linear],
                 lr: float, head_lr: float, momentum: float,
                 weight_decay: float, loss_weights: Dict[str, float],
                 grad_rescale: bool) -> None:
        self.backbone = backbone
        self.heads = nn.ModuleDict(heads)
        self.hparams = dict(lr=lr, head_lr=head_lr, momentum=momentum,
                            weight_decay=weight_decay)
        self.loss_weights = loss_weights
        self.grad_rescale = grad_rescale
        self.best_loss = math.inf
        self.kept: List[bool] = []
        self.fresh_optimizer()

    def parameters(self) -> List[nn.Parameter]:
        return list(self.backbone.parameters()) + list(
            self.heads.parameters())

    def fresh_optimizer(self) -> None:
        """A new SGD (empty state), every gradient a zero tensor."""
        h = self.hparams
        self.optimizer = torch.optim.SGD(
            [dict(params=self.backbone.parameters(), lr=h['lr']),
             dict(params=self.heads.parameters(), lr=h['head_lr'])],
            lr=h['lr'], momentum=h['momentum'],
            weight_decay=h['weight_decay'])
        for p in self.parameters():
            p.grad = torch.zeros_like(p)

    def train(self) -> None:
        self.backbone.train()
        self.heads.train()

    def loss(self, domain: str, batch: Batch) -> torch.Tensor:
        """Unweighted cross-entropy of ``domain``'s head on ``batch``."""
        x, y = batch
        feats = F.adaptive_avg_pool2d(self.backbone(x)[-1], 1).flatten(1)
        logits = self.heads[domain](feats)
        return F.cross_entropy(logits, y, reduction='none').mean()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=False)

    def rescale(self, sizes: Dict[str, int]) -> None:
        total = sum(sizes.values())
        for domain, head in self.heads.items():
            for p in head.parameters():
                p.grad *= total / sizes[domain]

    @torch.no_grad()
    def refresh_bn(self, batch: Batch) -> None:
        """No-grad train-mode forward: BN running stats see ``batch``."""
        self.backbone(batch[0])

    def joint_step(self, parts: Dict[str, Batch]) -> None:
        self.zero_grad()
        loss = sum(self.loss_weights[d] * self.loss(d, b)
                   for d, b in parts.items())
        loss.backward()
        if self.grad_rescale:
            self.rescale({d: len(b[1]) for d, b in parts.items()})
        self.optimizer.step()

    def greedy_step(self, parts: Dict[str, Batch], source: str,
                    target: str) -> None:
        state = (copy.deepcopy(self.backbone.state_dict()),
                 copy.deepcopy(self.heads.state_dict()),
                 copy.deepcopy(self.optimizer.state_dict()))
        self.zero_grad()
        (self.loss_weights[source] * self.loss(source, parts[source])
         ).backward()
        self.optimizer.step()
        self.zero_grad()
        self.refresh_bn(parts[target])
        loss = self.loss(target, parts[target])
        if loss.item() < self.best_loss:
            self.best_loss = loss.item()
            (self.loss_weights[target] * loss).backward()
            if self.grad_rescale:
                self.rescale({d: len(b[1]) for d, b in parts.items()})
            self.optimizer.step()
            self.kept.append(True)
            return
        self.backbone.load_state_dict(state[0])
        self.heads.load_state_dict(state[1])
        self.optimizer.load_state_dict(state[2])
        self.zero_grad()
        self.refresh_bn(parts[target])
        self.loss(target, parts[target]).backward()
        self.optimizer.step()
        self.kept.append(False)

    def warmup_step(self, domain: str, batch: Batch) -> None:
        """Unweighted loss of ``domain``; only its head is stepped."""
        self.zero_grad()
        self.loss(domain, batch).backward()
        head = {id(p) for p in self.heads[domain].parameters()}
        for p in self.parameters():
            if id(p) not in head:
                p.grad = None
        self.optimizer.step()

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """Parameters and buffers, named as in ``DomainImageClassifier``."""
        state = {f'backbone.{k}': v
                 for k, v in self.backbone.state_dict().items()}
        for d, head in self.heads.items():
            for k, v in head.state_dict().items():
                state[f'head.task_heads.{d}.fc.{k}'] = v
        return state
