"""Read what an mmengine run leaves in its work dir: scalar logs, test
metrics and dumped test predictions (``tools/test.py --out``)."""
import io
import json
import os
import os.path as osp
import pickle
import re
from typing import Dict, List, Tuple

import numpy as np

RUN_DIR = re.compile(r'^\d{8}_\d{6}$')
#: What a DumpResults pickle of single-label predictions refers to.
SAFE_GLOBALS = {('torch._utils', '_rebuild_tensor_v2'),
                ('collections', 'OrderedDict'), ('_codecs', 'encode'),
                ('numpy', 'ndarray'), ('numpy', 'dtype'),
                ('torch', 'Size')} | {(f'numpy.{core}.multiarray', name)
                                      for core in ('core', '_core')
                                      for name in ('_reconstruct', 'scalar')}


def run_dirs(work_dir: str) -> List[str]:
    """Timestamped run folders of a work dir, oldest first."""
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'Work dir {work_dir!r} does not exist')
    return [
        osp.join(work_dir, d) for d in sorted(os.listdir(work_dir))
        if RUN_DIR.match(d) and osp.isdir(osp.join(work_dir, d))
    ]


def load_scalars(work_dir: str) -> Tuple[List[dict], List[dict]]:
    """Training and validation records of every run, sorted by step; a
    later run (resume) replaces the records of the steps it repeats."""
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for run in run_dirs(work_dir):
        vis = osp.join(run, 'vis_data')
        names = sorted(os.listdir(vis)) if osp.isdir(vis) else []
        for name in (n for n in names if n.endswith('.json')):
            path = osp.join(vis, name)
            with open(path, encoding='utf-8') as f:
                for num, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError as err:
                        raise ValueError(f'{path}, line {num}: not JSON: '
                                         f'{err}') from err
                    if 'step' not in rec:
                        continue
                    is_train = any('loss' in k or k == 'lr' for k in rec)
                    (train if is_train else val)[int(rec['step'])] = rec
    return ([train[k] for k in sorted(train)], [val[k] for k in sorted(val)])


def load_test_metrics(work_dir: str) -> dict:
    """Metrics of the latest test run (``<ts>/<ts>.json``), if any."""
    for run in reversed(run_dirs(work_dir)):
        path = osp.join(run, osp.basename(run) + '.json')
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                return json.load(f)
    return {}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler accepting only tensors, numpy arrays and containers."""

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            import torch
            return lambda b: torch.load(
                io.BytesIO(b), map_location='cpu', weights_only=True)
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{module}.{name} is not allowed in a predictions file')


def load_predictions(path: str,
                     trust: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """``(scores (N, C), gt labels (N,))`` from a DumpResults pickle."""
    with open(path, 'rb') as f:
        try:
            results = pickle.load(f) if trust else _SafeUnpickler(f).load()
        except pickle.UnpicklingError as err:
            raise ValueError(f'Refused to load {path}: {err}; pass '
                             '--trust-pickle if you trust it') from err
    if not isinstance(results, list) or not results:
        raise ValueError(f'{path} holds no list of predictions')
    scores, labels = [], []
    for i, res in enumerate(results):
        missing = [k for k in ('pred_score', 'gt_label') if k not in res]
        if missing:
            raise ValueError(f'{path}: prediction {i} lacks {missing} '
                             '(single-label DataSample dicts expected)')
        scores.append(np.asarray(res['pred_score'], dtype=float).ravel())
        labels.append(int(np.asarray(res['gt_label']).ravel()[0]))
    return np.stack(scores), np.asarray(labels)
