"""Golden final weights of every training step (issue 21, item 3).

Six tiny 2-epoch runs on the generated images of ``tiny_runner`` (a
two-stage ResNet with 4 base channels at 16 px, seed 0, deterministic, CPU,
one thread): joint, Greedy with each rule, alternate, and the two warm-up
modes. ``python -m tests.test_engine.golden_runs OUT.pth`` trains them in
this (fresh) process and saves ``{name: state_dict}`` plus the torch
version (``--components``: the same runs configured with
``train_cfg.step``/``train_cfg.warmup``); ``--write`` replaces the committed
fixture (only when a change of the numerics is intended).
"""
import argparse
import os.path as osp
import tempfile
from typing import Dict

import torch

FIXTURE = osp.join(osp.dirname(osp.abspath(__file__)), 'golden',
                   'golden_weights.pth')

#: Run name -> ``train_cfg`` of :class:`DomainTrainLoop` (the flags as of
#: 8de2179; the step components must reproduce them bitwise).
RUNS: Dict[str, dict] = {
    'joint': dict(strategy='joint'),
    'greedy_reference': dict(strategy='greedy', greedy_rule='reference'),
    'greedy_same_batch': dict(strategy='greedy', greedy_rule='same_batch'),
    'alternate': dict(strategy='alternate'),
    'warmup_reference': dict(strategy='joint', warmup_epochs=1),
    'warmup_frozen': dict(strategy='joint', warmup_epochs=1,
                          warmup_mode='frozen_backbone'),
}
#: The same runs configured with the step and warm-up components.
COMPONENT_RUNS: Dict[str, dict] = {
    'joint': dict(step=dict(type='JointStep')),
    'greedy_reference': dict(step=dict(type='GreedyStep')),
    'greedy_same_batch': dict(
        step=dict(type='GreedyStep', rule='same_batch')),
    'alternate': dict(step=dict(type='AlternateStep')),
    'warmup_reference': dict(
        warmup_epochs=1, warmup=dict(type='ReferenceWarmup')),
    'warmup_frozen': dict(
        warmup_epochs=1,
        warmup=dict(type='FrozenBackboneWarmup', frozen=('backbone', ))),
}


def tiny_model() -> dict:
    """``tiny_runner``'s model with a two-stage backbone (small fixture)."""
    from tests.test_reliability.tiny_runner import model_cfg
    model = model_cfg()
    model['backbone'].update(stem_channels=4, base_channels=4, num_stages=2,
                             strides=(1, 2), dilations=(1, 1),
                             out_indices=(1, ))
    for head in model['head']['task_heads'].values():
        head['in_channels'] = 8
    return model


def train(name: str, root: str, work_dir: str,
          train_cfg: dict = None) -> Dict[str, torch.Tensor]:
    """Final state dict of run ``name`` (or of ``train_cfg`` if given)."""
    from mmengine.runner import Runner

    from tests.test_reliability.tiny_runner import runner_cfg
    train_cfg = dict(type='DomainTrainLoop', max_epochs=2,
                     **(train_cfg or RUNS[name]))
    cfg = runner_cfg(osp.join(work_dir, name), root, max_epochs=2,
                     ckpt_interval=1000, model=tiny_model(),
                     train_cfg=train_cfg,
                     randomness=dict(seed=0, deterministic=True))
    cfg['default_hooks']['logger']['interval'] = 1000
    runner = Runner(**cfg)
    runner.train()
    state = runner.model.state_dict()
    return {k: v.detach().clone() for k, v in state.items()}


def run_all(out: str, components: bool = False) -> None:
    """Train every run of :data:`RUNS` (or :data:`COMPONENT_RUNS`) and
    save them to ``out``."""
    from tests.test_reliability.tiny_runner import write_images
    runs = COMPONENT_RUNS if components else RUNS
    with tempfile.TemporaryDirectory() as tmp:
        write_images(osp.join(tmp, 'data'))
        weights = {name: train(name, osp.join(tmp, 'data'), tmp, cfg)
                   for name, cfg in runs.items()}
    torch.save(dict(torch=str(torch.__version__), weights=weights), out)


def main() -> None:
    import dl4all_mm  # noqa: F401  (registers the components)
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', nargs='?', help='where to save the weights')
    parser.add_argument('--components', action='store_true',
                        help='train COMPONENT_RUNS instead of RUNS')
    parser.add_argument('--write', action='store_true',
                        help=f'replace the fixture {FIXTURE}')
    args = parser.parse_args()
    torch.set_num_threads(1)
    run_all(FIXTURE if args.write else args.out, args.components)


if __name__ == '__main__':
    main()
