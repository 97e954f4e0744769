"""Run one DL4ALL scenario through the Runner and through
:class:`PlainDL4ALL`, and list where their states differ after every step
and after every epoch's BatchNorm re-estimation."""
from typing import Dict, List

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from torch import nn

from tests.test_parity import reference_batches as rb
from tests.test_parity.plain_dl4all import PlainDL4ALL, class_weights
from tests.test_parity.scenario import (BN_SEED, CHANNELS, HPARAMS,
                                        LOSS_WEIGHTS, SEED, Capture,
                                        ParityCNN, runner_cfg, write_data)

def samples(runner: Runner) -> Dict[str, list]:
    """Domain -> [(preprocessed image, label)] in the domain's order."""
    model, dataset = runner.model, runner.train_dataloader.dataset
    out: Dict[str, list] = {}
    for domain, (start, stop) in dataset.domain_ranges.items():
        rows = []
        for i in range(start, stop):
            data = model.data_preprocessor(pseudo_collate([dataset[i]]),
                                           True)
            sample = data['data_samples'][0].get(domain)
            rows.append((data['inputs'][0], sample.gt_label.tolist()))
        out[domain] = rows
    return out


def _plain(runner: Runner, init: dict, scenario: dict, data: dict,
           idle_head: str) -> PlainDL4ALL:
    backbone = ParityCNN()
    backbone.load_state_dict({k[len('backbone.'):]: v
                              for k, v in init.items()
                              if k.startswith('backbone.')})
    heads, losses, weights = {}, {}, {}
    multilabel = scenario['source_loss'] == 'MultiLabelSoftMarginLoss'
    for domain, num in (('source', scenario['num_classes']), ('target', 2)):
        heads[domain] = nn.Linear(CHANNELS, num)
        prefix = f'head.task_heads.{domain}.fc.'
        heads[domain].load_state_dict({k[len(prefix):]: v
                                       for k, v in init.items()
                                       if k.startswith(prefix)})
        ml = multilabel and domain == 'source'
        losses[domain] = 'multilabel' if ml else 'ce'
        labels = [y if ml else y[0] for _, y in data[domain]]
        weights[domain] = class_weights(labels, num, min_count=1)
    n_s, n_t = len(data['source']), len(data['target'])
    base = scenario['batch_size']
    sizes = rb.compute_batch_size(n_s, n_t, base) \
        if scenario['batch_sizes'] == 'main_fixed' \
        else rb.uniform_batch_size(base)
    return PlainDL4ALL(backbone, heads, losses, weights,
                       dict(source=sizes[0], target=sizes[1]), HPARAMS,
                       LOSS_WEIGHTS, warmup_idle_head=idle_head)


def _batch(data: dict, domain: str, idx: List[int], num_classes: int,
           multilabel: bool) -> tuple:
    x = torch.stack([data[domain][i][0] for i in idx])
    if multilabel:
        y = torch.zeros(len(idx), num_classes)
        for row, i in enumerate(idx):
            y[row, data[domain][i][1]] = 1
    else:
        y = torch.tensor([data[domain][i][1][0] for i in idx])
    return x, y


def run_plain(runner: Runner, capture: Capture, scenario: dict,
              idle_head: str = 'frozen') -> tuple:
    """The scenario in plain PyTorch from the plugin's initial weights;
    returns (per-step states, per-epoch states, the plain model)."""
    data = samples(runner)
    plain = _plain(runner, capture.init, scenario, data, idle_head)
    ml = scenario['source_loss'] == 'MultiLabelSoftMarginLoss'
    classes = dict(source=scenario['num_classes'], target=2)

    def batch(domain, idx):
        return _batch(data, domain, idx, classes[domain],
                      ml and domain == 'source')

    shuffles = rb.Shuffles({d: len(v) for d, v in data.items()}, SEED,
                           BN_SEED)
    steps, epochs = [], []

    def snapshot(**extra) -> dict:
        return dict(state={k: v.detach().clone()
                           for k, v in plain.state_dict().items()},
                    momentum={k: v.detach().clone()
                              for k, v in plain.momentum().items()},
                    **extra)

    plain.train()
    bs = plain.batch_sizes
    for epoch in range(scenario['max_epochs']):
        if epoch < scenario['warmup_epochs']:
            for domain in ('source', 'target'):
                order = shuffles.warmup(domain, epoch)
                for idx in rb.drop_last_batches(order, bs[domain]):
                    plain.warmup_step(domain, batch(domain, idx))
                    steps.append(snapshot())
            if epoch + 1 == scenario['warmup_epochs']:
                plain.end_warmup()
            epochs.append(snapshot())
            continue
        plain.start()
        pairs = rb.paired_epoch(
            rb.drop_last_batches(shuffles.main('source', epoch),
                                 bs['source']),
            rb.drop_last_batches(shuffles.main('target', epoch),
                                 bs['target']))
        for s_idx, t_idx in pairs:
            source, target = batch('source', s_idx), batch('target', t_idx)
            if scenario['strategy'] == 'joint':
                plain.joint_step(source, target,
                                 bool(scenario.get('refresh_bn')))
                steps.append(snapshot())
            else:
                plain.greedy_step(source, target)
                steps.append(snapshot(kept=plain.kept[-1],
                                      best_loss=plain.best_loss))
        order = shuffles.bn('target', epoch)
        plain.reestimate_bn([
            batch('target', idx)[0] for idx in rb.bn_batches(
                order, scenario['bn_batch_size'], scenario['bn_batches'])
        ])
        epochs.append(snapshot())
    return steps, epochs, plain


def _diff(where: str, got: dict, want: dict) -> List[str]:
    out = []
    for part in ('state', 'momentum'):
        if set(got[part]) != set(want[part]):
            out.append(f'{where} {part}: keys differ: '
                       f'{sorted(set(got[part]) ^ set(want[part]))[:4]}')
            continue
        for key, value in want[part].items():
            if not value.is_floating_point():
                if not torch.equal(got[part][key], value):
                    out.append(f'{where} {part} {key}')
            elif not torch.allclose(got[part][key], value, rtol=1e-5,
                                    atol=1e-6):
                err = (got[part][key] - value).abs().max().item()
                out.append(f'{where} {part} {key}: max |diff| {err:.3g}')
    if 'kept' in want and got.get('kept') != want['kept']:
        out.append(f'{where}: greedy kept {got.get("kept")} != '
                   f'{want["kept"]}')
    if 'best_loss' in want and not np.isclose(
            got.get('best_loss', np.inf), want['best_loss'], rtol=1e-5,
            atol=1e-6):
        out.append(f'{where}: best_loss {got.get("best_loss")} != '
                   f'{want["best_loss"]}')
    return out


def compare(capture: Capture, steps: List[dict],
            epochs: List[dict]) -> List[str]:
    """Every difference between the plugin's and the plain states: step
    and epoch counts, then each step's and each epoch's state."""
    out = []
    if len(capture.steps) != len(steps):
        out.append(f'{len(capture.steps)} plugin steps, {len(steps)} plain')
    if len(capture.epochs) != len(epochs):
        out.append(f'{len(capture.epochs)} plugin epochs, {len(epochs)} '
                   'plain')
    for i, (got, want) in enumerate(zip(capture.steps, steps)):
        out += _diff(f'step {i}', got, want)
    for i, (got, want) in enumerate(zip(capture.epochs, epochs)):
        out += _diff(f'after epoch {i}', got, want)
    return out


def run_scenario(tmp: str, scenario: dict, hooks=(),
                 idle_head: str = 'frozen',
                 plain_scenario: dict = None) -> tuple:
    """Train the scenario through the Runner (with ``hooks`` added) and in
    plain PyTorch (``plain_scenario`` if given, else the same scenario);
    returns (differences, capture, plain)."""
    torch.set_num_threads(1)
    write_data(tmp, scenario['num_target'])
    capture = Capture()
    runner = Runner(**runner_cfg(tmp, scenario, [capture] + list(hooks)))
    runner.train()
    steps, epochs, plain = run_plain(runner, capture,
                                     plain_scenario or scenario, idle_head)
    return compare(capture, steps, epochs), capture, plain
