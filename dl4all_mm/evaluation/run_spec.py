"""One protocol run: its spec (:class:`RunSpec`) and placeholder filling.

Shared by :mod:`.protocol_runner` (which expands protocols into runs and
executes them) and :mod:`.protocol_worker` (which trains one run in a fresh
process), so neither imports the other.
"""
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

PLACEHOLDERS = ('seed', 'fold', 'run_dir', 'prev_checkpoint')


@dataclass
class RunSpec:
    """One run: a method (one or more stages) on one seed and fold."""
    method: str
    seed: int
    fold: object
    stages: List[dict]
    env: Dict[str, str] = field(default_factory=dict)
    select_metric: Optional[str] = 'diagnostic/balanced_accuracy'
    positive_index: object = 1
    metric_prefix: str = 'diagnostic'

    @property
    def name(self) -> str:
        """Relative run directory: ``method/seed{S}[-fold{F}]``."""
        name = f'{self.method}/seed{self.seed}'
        return name if self.fold is None else f'{name}-fold{self.fold}'

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def digest(self) -> str:
        """Hash of everything that defines the run (for resuming)."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()


def fill(value, variables: dict, where: str):
    """Format the placeholders of every string in ``value``."""
    if isinstance(value, str):
        try:
            return value.format_map(variables)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f'{where}: cannot fill {value!r} ({type(err).__name__}: '
                f'{err}); placeholders: {sorted(variables)}') from err
    if isinstance(value, dict):
        return {
            k: fill(v, variables, f'{where}.{k}')
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, variables, where) for v in value)
    return value


def stage_variables(run: RunSpec, run_dir: str, index: int,
                    prev_checkpoint: Optional[str]) -> tuple:
    """``(cfg_options, env)`` of stage ``index`` with placeholders filled."""
    variables = dict(seed=run.seed, fold=run.fold, run_dir=run_dir)
    env = fill(run.env, variables, f'{run.name} env')
    if prev_checkpoint is not None:
        variables['prev_checkpoint'] = prev_checkpoint
    opts = fill(run.stages[index]['cfg_options'], variables,
                f'{run.name} stage {index} cfg_options')
    return opts, {k: str(v) for k, v in env.items()}
