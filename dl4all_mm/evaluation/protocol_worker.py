"""Train and test one protocol run in a fresh process:
:func:`subprocess_executor` (the runner's default executor) starts
``python -m dl4all_mm.evaluation.protocol_worker RUN/spec.json``.

Stages run in order, each in ``RUN/stage{i}`` with the run's seed; a stage
after the first may read ``{prev_checkpoint}``, the previous stage's last
checkpoint (e.g. sequential transfer: ``model.backbone.init_cfg =
dict(type='Pretrained', checkpoint='{prev_checkpoint}', prefix='backbone.')``,
which loads the backbone and leaves the source head behind). The last stage
is validated on the target validation split with ``select_metric`` as
``save_best``; its best checkpoint (the last one when it never validated) is
then tested on the test split. Writes ``RUN/result.json`` and
``RUN/predictions.csv`` (every test prediction, :class:`PredictionsWriter`).
"""
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, Optional

import numpy as np
import torch

from .run_spec import RunSpec, stage_variables


#: Every test prediction of a run, in its run directory.
PREDICTIONS = 'predictions.csv'


class RunFailed(RuntimeError):
    """A run's training or testing failed."""


def subprocess_executor(run: RunSpec,
                        run_dir: str,
                        timeout: Optional[float] = None,
                        extra_env: Optional[Dict[str, str]] = None) -> dict:
    """Train and test ``run`` in a fresh Python process.

    Its output goes to ``run_dir/log.txt``; the worker writes
    ``run_dir/result.json`` (``{'metrics': test metrics, 'wall_s': ...}``).
    The process gets this one's environment, then ``extra_env`` (e.g. the
    launcher's thread share), then the run's own ``env``; this process's
    environment is left as it is.
    """
    spec_path = osp.join(run_dir, 'spec.json')
    result_path = osp.join(run_dir, 'result.json')
    for stale in (result_path, osp.join(run_dir, PREDICTIONS)):
        if osp.exists(stale):
            os.remove(stale)
    _, env = stage_variables(run, run_dir, 0, None)
    cmd = [
        sys.executable, '-m', 'dl4all_mm.evaluation.protocol_worker', spec_path
    ]
    with open(osp.join(run_dir, 'log.txt'), 'a', encoding='utf-8') as log:
        try:
            proc = subprocess.run(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    **(extra_env or {}),
                    **env
                },
                timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise RunFailed(f'{run.name} exceeded {timeout} s') from err
    if proc.returncode != 0 or not osp.exists(result_path):
        raise RunFailed(f'{run.name} failed (exit {proc.returncode}); see '
                        f'{osp.join(run_dir, "log.txt")}:\n' +
                        _tail(osp.join(run_dir, 'log.txt')))
    with open(result_path, encoding='utf-8') as f:
        return json.load(f)


def _tail(path: str, lines: int = 15) -> str:
    with open(path, encoding='utf-8', errors='replace') as f:
        return ''.join(f.readlines()[-lines:])


def ensure_diagnostic(cfg, prefix: str, positive_index) -> None:
    """Add a ``DiagnosticMetric`` with ``prefix`` to the val and test
    evaluators unless one is there already."""
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        if evaluator is None:
            continue
        metrics = evaluator if isinstance(evaluator, list) else [evaluator]
        if 'metrics' in metrics[0] and 'type' not in metrics[0]:
            metrics = metrics[0]['metrics']  # dict(metrics=[...]) form
        has = any(
            m.get('type') == 'DiagnosticMetric' and (
                m.get('prefix') or m.get('domain') or 'diagnostic') == prefix
            for m in metrics)
        if not has:
            cfg[key] = list(metrics) + [
                dict(
                    type='DiagnosticMetric',
                    prefix=prefix,
                    positive_index=positive_index)
            ]


def ensure_predictions(cfg, prefix: str, out_file: str) -> None:
    """Add a ``PredictionsWriter`` writing ``out_file`` to the test
    evaluator, on the domain of its ``DiagnosticMetric`` with ``prefix``
    (replacing a writer already there); nothing without a test
    evaluator."""
    evaluator = cfg.get('test_evaluator')
    if evaluator is None:
        return
    metrics = evaluator if isinstance(evaluator, list) else [evaluator]
    if 'metrics' in metrics[0] and 'type' not in metrics[0]:
        metrics = metrics[0]['metrics']  # dict(metrics=[...]) form
    diagnostic = [m for m in metrics if m.get('type') == 'DiagnosticMetric'
                  and (m.get('prefix') or m.get('domain')
                       or 'diagnostic') == prefix]
    if not diagnostic:
        raise KeyError(f'test_evaluator has no DiagnosticMetric with prefix '
                       f'{prefix!r} to write the predictions of')
    cfg.test_evaluator = [
        m for m in metrics if m.get('type') != 'PredictionsWriter'
    ] + [dict(type='PredictionsWriter', out_file=out_file,
              domain=diagnostic[0].get('domain'))]


def _jsonable(value):
    """Test metrics as JSON values (tensors to lists, NaN to None)."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _config(run: RunSpec, index: int, stage_dir: str, prev: Optional[str],
            run_dir: str):
    from mmengine.config import Config
    opts, _ = stage_variables(run, run_dir, index, prev)
    cfg = Config.fromfile(run.stages[index]['config'])
    cfg.merge_from_dict(opts)
    cfg.work_dir = stage_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=run.seed)
    return cfg


def run_stage(run: RunSpec, index: int, run_dir: str,
              prev: Optional[str]) -> dict:
    """Train stage ``index``; the last stage is also tested."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import find_latest_checkpoint
    stage_dir = osp.join(run_dir, f'stage{index}')
    done_path = osp.join(stage_dir, 'done.json')
    final = index == len(run.stages) - 1
    if not final and osp.exists(done_path):  # finished in an earlier try
        with open(done_path) as f:
            return json.load(f)
    cfg = _config(run, index, stage_dir, prev, run_dir)
    if final:
        ensure_diagnostic(cfg, run.metric_prefix, run.positive_index)
        if run.select_metric and cfg.get('val_dataloader') is not None:
            cfg.default_hooks.checkpoint.save_best = run.select_metric
            cfg.default_hooks.checkpoint.rule = 'greater'
    start = time.time()
    runner = RUNNERS.build(cfg)  # the config's runner_type
    runner.train()
    best = runner.message_hub.get_info('best_ckpt')
    out = dict(
        checkpoint=find_latest_checkpoint(stage_dir),
        best_checkpoint=best,
        best_score=_jsonable(runner.message_hub.get_info('best_score')),
        train_s=time.time() - start)
    if out['checkpoint'] is None:
        raise RuntimeError(f'stage {index} of {run.name} saved no '
                           f'checkpoint in {stage_dir}')
    if final:
        test_cfg = _config(run, index, stage_dir, prev, run_dir)
        ensure_diagnostic(test_cfg, run.metric_prefix, run.positive_index)
        ensure_predictions(test_cfg, run.metric_prefix,
                           osp.join(run_dir, PREDICTIONS))
        test_cfg.load_from = best or out['checkpoint']
        test_cfg.experiment_name = 'test_' + time.strftime('%Y%m%d_%H%M%S')
        start = time.time()
        metrics = RUNNERS.build(test_cfg).test()
        out.update(
            tested=test_cfg.load_from,
            test_s=time.time() - start,
            metrics=_jsonable(metrics))
    with open(done_path, 'w') as f:
        json.dump(out, f, indent=2)
    return out


def main(argv=None) -> None:
    """Run every stage of the spec given on the command line."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit('usage: python -m dl4all_mm.evaluation.'
                         'protocol_worker RUN_DIR/spec.json')
    with open(argv[0], encoding='utf-8') as f:
        spec = json.load(f)
    run_dir = spec.pop('run_dir', osp.dirname(osp.abspath(argv[0])))
    run = RunSpec(**spec)
    import dl4all_mm  # noqa: F401  (registers modules, safe loading)
    start, prev, stages = time.time(), None, []
    for index in range(len(run.stages)):
        out = run_stage(run, index, run_dir, prev)
        prev = out['checkpoint']
        stages.append(out)
    # Training and testing time of every stage (a stage finished in an
    # earlier, interrupted try keeps its own time).
    wall_s = sum(s['train_s'] + s.get('test_s', 0.0) for s in stages)
    result = dict(
        metrics=stages[-1]['metrics'],
        wall_s=wall_s,
        process_s=time.time() - start,
        stages=stages)
    with open(osp.join(run_dir, 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
