"""DL4ALL in plain PyTorch, written from the reference code's rules
(``docs/method.md``; AngeloUNIMI/DL4ALL ``functions/train_model_val.py``,
``warmup.py``, ``pretrainBN.py``), no mmengine.

A backbone returning a tuple of feature maps, global average pooling and
one ``nn.Linear`` head per domain. Gradients follow torch < 2.0, which the
reference ran: ``zero_grad()`` leaves zero tensors, so SGD's momentum and
weight decay move every parameter that ever had a gradient, including a
head whose loss is absent from the step. Losses are torch's:
``nn.CrossEntropyLoss(weight=w)`` (weighted mean over ``sum w``) and
``nn.MultiLabelSoftMarginLoss(weight=w)``.
"""
import copy
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

Batch = Tuple[torch.Tensor, torch.Tensor]  # inputs, labels (or 0/1 rows)
#: What the warm-up does to the head whose domain is not being passed:
#: ``'frozen'`` (not stepped) or ``'torch<2.0'`` (the reference under the
#: torch it ran: a zero gradient, so momentum and weight decay move it).
IDLE_HEAD_CHOICES = ('frozen', 'torch<2.0')


def class_weights(labels: List, num_classes: int,
                  min_count: int) -> torch.Tensor:
    """``N / max(n_c, min_count)`` (``util/computeClassWeights.py``);
    ``labels``: class indices, or lists of them (multi-label)."""
    counts = torch.zeros(num_classes)
    for label in labels:
        for c in set(label if isinstance(label, list) else [label]):
            counts[c] += 1
    return len(labels) / counts.clamp(min=min_count)


class PlainDL4ALL:
    """One backbone, one linear head per domain, SGD with a head lr.

    Args:
        backbone (nn.Module): Returns a tuple whose last item is the map.
        heads (dict): Domain -> ``nn.Linear``.
        losses (dict): Domain -> ``'ce'`` or ``'multilabel'``.
        weights (dict): Domain -> class weights (None: unweighted).
        batch_sizes (dict): Domain -> configured batch size (head rescale:
            ``(B_s + B_t) / B_d``, as ``batchSize1['train']``...).
        hparams (dict): ``lr``, ``head_lr``, ``momentum``,
            ``weight_decay``.
        loss_weights (dict): Domain -> loss weight (0.5 each).
        warmup_idle_head (str): One of :data:`IDLE_HEAD_CHOICES`.
    """

    def __init__(self, backbone: nn.Module, heads: Dict[str, nn.Linear],
                 losses: Dict[str, str],
                 weights: Dict[str, Optional[torch.Tensor]],
                 batch_sizes: Dict[str, int], hparams: Dict[str, float],
                 loss_weights: Dict[str, float],
                 warmup_idle_head: str = 'frozen') -> None:
        assert warmup_idle_head in IDLE_HEAD_CHOICES, warmup_idle_head
        self.backbone = backbone
        self.heads = nn.ModuleDict(heads)
        self.losses = losses
        self.weights = weights
        self.batch_sizes = batch_sizes
        self.hparams = hparams
        self.loss_weights = loss_weights
        self.warmup_idle_head = warmup_idle_head
        self.best_loss = 1e6  # train_model_val: best_loss = 1e6
        self.kept: List[bool] = []
        self.optimizer = self._sgd()

    def _sgd(self) -> torch.optim.SGD:
        h = self.hparams
        return torch.optim.SGD(
            [dict(params=self.backbone.parameters(), lr=h['lr']),
             dict(params=self.heads.parameters(), lr=h['head_lr'])],
            lr=h['lr'], momentum=h['momentum'],
            weight_decay=h['weight_decay'])

    def named_parameters(self) -> Dict[str, nn.Parameter]:
        """Parameters named as in ``DomainImageClassifier``."""
        named = {f'backbone.{k}': p
                 for k, p in self.backbone.named_parameters()}
        for d, head in self.heads.items():
            for k, p in head.named_parameters():
                named[f'head.task_heads.{d}.fc.{k}'] = p
        return named

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """Parameters and buffers, named as in ``DomainImageClassifier``."""
        state = {f'backbone.{k}': v
                 for k, v in self.backbone.state_dict().items()}
        for d, head in self.heads.items():
            for k, v in head.state_dict().items():
                state[f'head.task_heads.{d}.fc.{k}'] = v
        return state

    def momentum(self) -> Dict[str, torch.Tensor]:
        """SGD momentum buffers by parameter name."""
        out = {}
        for name, p in self.named_parameters().items():
            buf = self.optimizer.state.get(p, {}).get('momentum_buffer')
            if buf is not None:
                out[name] = buf
        return out

    # ---------------------------------------------------------- primitives
    def train(self) -> None:
        self.backbone.train()
        self.heads.train()

    def loss(self, domain: str, batch: Batch) -> torch.Tensor:
        """The domain's (class-weighted) loss, torch semantics."""
        x, y = batch
        feats = F.adaptive_avg_pool2d(self.backbone(x)[-1], 1).flatten(1)
        logits = self.heads[domain](feats)
        w = self.weights.get(domain)
        if self.losses[domain] == 'multilabel':
            return nn.MultiLabelSoftMarginLoss(weight=w)(logits, y.float())
        return nn.CrossEntropyLoss(weight=w)(logits, y)

    def zero_grad(self) -> None:
        """torch < 2.0: existing gradients become zero tensors."""
        self.optimizer.zero_grad(set_to_none=False)

    def rescale(self) -> None:
        """Head ``d``'s gradient times ``sum_k B_k / B_d``."""
        total = sum(self.batch_sizes.values())
        for d, head in self.heads.items():
            for p in head.parameters():
                p.grad *= total / self.batch_sizes[d]

    @torch.no_grad()
    def refresh_bn(self, batch: Batch) -> None:
        """pretrainBN_singleBatch: a no-grad train-mode forward."""
        self.backbone(batch[0])

    # ---------------------------------------------------------- algorithm
    def start(self) -> None:
        """Every parameter gets a zero gradient (the main training's
        parameters all require gradients)."""
        for p in self.named_parameters().values():
            if p.grad is None:
                p.grad = torch.zeros_like(p)

    def joint_step(self, source: Batch, target: Batch,
                   refresh_bn: bool = False) -> None:
        """Regular/Self: ``0.5 L_s + 0.5 L_t``, head rescale, one step;
        with ``refresh_bn``, pretrainBN_singleBatch on the target batch
        between the source and the target forward (``1a``/``1b`` tmv)."""
        self.zero_grad()
        loss_s = self.loss('source', source)
        if refresh_bn:
            self.refresh_bn(target)
        loss = self.loss_weights['source'] * loss_s + \
            self.loss_weights['target'] * self.loss('target', target)
        loss.backward()
        self.rescale()
        self.optimizer.step()

    def greedy_step(self, source: Batch, target: Batch) -> None:
        """Greedy (``1c`` ``train_model_val``)."""
        self.zero_grad()
        model_wts = (copy.deepcopy(self.backbone.state_dict()),
                     copy.deepcopy(self.heads.state_dict()))
        optimizer_wts = copy.deepcopy(self.optimizer.state_dict())
        (self.loss_weights['source'] * self.loss('source', source)
         ).backward()
        self.optimizer.step()
        self.zero_grad()
        self.refresh_bn(target)
        loss = self.loss('target', target)
        if loss.item() < self.best_loss:
            self.best_loss = loss.item()
            (self.loss_weights['target'] * loss).backward()
            self.rescale()
            self.optimizer.step()
            self.kept.append(True)
            return
        self.backbone.load_state_dict(model_wts[0])
        self.heads.load_state_dict(model_wts[1])
        self.optimizer.load_state_dict(optimizer_wts)
        self.refresh_bn(target)
        self.loss('target', target).backward()
        self.optimizer.step()
        self.kept.append(False)

    def warmup_step(self, domain: str, batch: Batch) -> None:
        """``functions/warmup.py``: the domain's (class-weighted) loss, no
        0.5, the backbone frozen (``requires_grad=False``: never a
        gradient). The other head: see ``warmup_idle_head``."""
        for p in self.backbone.parameters():
            p.grad = None
        idle = [p for d, h in self.heads.items() if d != domain
                for p in h.parameters()]
        self.zero_grad()
        if self.warmup_idle_head == 'frozen':
            for p in idle:
                p.grad = None
        self.loss(domain, batch).backward()
        for p in self.backbone.parameters():
            p.grad = None
        self.optimizer.step()

    def end_warmup(self) -> None:
        """The main training's new optimizer (empty state)."""
        self.optimizer = self._sgd()

    @torch.no_grad()
    def reestimate_bn(self, batches: List[torch.Tensor]) -> None:
        """pretrainBN: train-mode forwards, running statistics not reset,
        each BatchNorm's momentum update."""
        for x in batches:
            self.backbone(x)


def isclose(a: float, b: float) -> bool:
    """Loss values of the two implementations (float32 sums)."""
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)
