"""What a submitit job executes: one protocol run, in the job's process.

Kept free of heavy imports at module level: submitit unpickles
:func:`train_run` in a fresh process, which sets the run's environment
(and thread count) before torch is imported.
"""
import json
import os
import os.path as osp


def train_run(run_dir: str) -> dict:
    """Train and test the run whose ``spec.json`` is in ``run_dir``.

    Returns:
        dict: The worker's ``result.json`` (test metrics, wall time).
    """
    from ..run_spec import RunSpec, stage_variables
    spec_path = osp.join(run_dir, 'spec.json')
    with open(spec_path, encoding='utf-8') as f:
        spec = json.load(f)
    spec.pop('run_dir', None)
    run = RunSpec(**spec)
    result_path = osp.join(run_dir, 'result.json')
    if osp.exists(result_path):  # from an earlier, other attempt
        os.remove(result_path)
    _, env = stage_variables(run, run_dir, 0, None)
    os.environ.update(env)
    cpus = os.environ.get('SLURM_CPUS_PER_TASK')
    if cpus and 'OMP_NUM_THREADS' not in os.environ:
        os.environ['OMP_NUM_THREADS'] = cpus
    from ..protocol_worker import main
    main([spec_path])
    with open(result_path, encoding='utf-8') as f:
        return json.load(f)
