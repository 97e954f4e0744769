"""Linear probe: logistic regression on frozen pretrained features."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmpretrain.registry import LOOPS
from torch import nn
from torch.utils.data import DataLoader

from .probe_fit import (DEFAULT_C_GRID, head_params, make_estimator,
                        n_folds, search_c, write_head)


@LOOPS.register_module()
class LinearProbeLoop(BaseLoop):
    """Fit the head of a frozen model by logistic regression.

    One training iteration (one epoch): the model in eval mode, pooled
    features (``extract_feat`` then the head's ``pre_logits``) once per
    training image, as the train dataloader gives them (its pipeline should
    be the test pipeline: no augmentation); ``C`` of scikit-learn's
    ``LogisticRegression`` chosen from ``c_grid`` by stratified k-fold
    cross-validation on those images only (k = min(4, smallest class
    count), balanced accuracy), refitted on all of them and written into
    the head's ``fc`` so that the model's softmax equals the fit's
    ``predict_proba``. No optimizer step: the backbone stays as loaded.
    One process only (not distributed).
    The grid, every fold's scores and the choice go to
    ``work_dir/linear_probe_search.json``. The hooks run around the
    iteration and the epoch as in mmengine's loops, so the checkpoint hook
    (by epoch or by iteration) saves the fitted model.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The training images, once each.
        c_grid (Sequence[float]): Candidate ``C`` (inverse L2 strength).
            Defaults to 10 values of ``logspace(-4, 2)``.
        class_weight (Sequence[float], optional): One weight per class
            (``LogisticRegression(class_weight=...)``); None: unweighted.
        standardize (bool): Standardise the features (fitted on the same
            images, folded into the head). Defaults to True.
        max_iter (int): lbfgs iterations. Defaults to 1000.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 c_grid: Sequence[float] = DEFAULT_C_GRID,
                 class_weight: Optional[Sequence[float]] = None,
                 standardize: bool = True,
                 max_iter: int = 1000) -> None:
        if get_world_size() > 1:  # each rank would fit its own shard
            raise RuntimeError('LinearProbeLoop runs in one process (it '
                               'fits on every training image at once); '
                               'launch it without a distributed launcher')
        super().__init__(runner, dataloader)
        if not c_grid or any(float(c) <= 0 for c in c_grid):
            raise ValueError(f'train_cfg.c_grid={list(c_grid)!r}: give '
                             'one or more positive values')
        self.c_grid = [float(c) for c in c_grid]
        self.class_weight = None if class_weight is None else [
            float(w) for w in class_weight]
        self.standardize = bool(standardize)
        self.max_iter = int(max_iter)
        self._epoch = 0
        self._iter = 0
        self.search: Optional[dict] = None

    @property
    def max_epochs(self) -> int:
        """One epoch."""
        return 1

    @property
    def max_iters(self) -> int:
        """One iteration: the whole fit."""
        return 1

    @property
    def epoch(self) -> int:
        """Epochs done."""
        return self._epoch

    @property
    def iter(self) -> int:
        """Iterations done."""
        return self._iter

    def _model(self) -> nn.Module:
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def run(self) -> nn.Module:
        """Extract, search, fit, write the head; the hooks around it."""
        runner = self.runner
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        runner.call_hook('before_train_iter', batch_idx=0, data_batch=None)
        outputs = self.fit()
        runner.call_hook('after_train_iter', batch_idx=0, data_batch=None,
                         outputs=outputs)
        self._iter += 1
        runner.call_hook('after_train_epoch')
        self._epoch += 1
        runner.call_hook('after_train')
        return runner.model

    def extract(self) -> tuple:
        """Features (float64), labels and image paths of every training
        image, in loader order, with the model in eval mode."""
        model = self._model()
        model.eval()
        feats: List[np.ndarray] = []
        labels: List[int] = []
        paths: List[str] = []
        with torch.no_grad():
            for batch in self.dataloader:
                data = model.data_preprocessor(batch, False)
                x = model.head.pre_logits(model.extract_feat(data['inputs']))
                feats.append(x.double().cpu().numpy())
                for sample in data['data_samples']:
                    labels.append(int(sample.gt_label.item()))
                    paths.append(sample.metainfo.get('img_path', ''))
        return np.concatenate(feats), np.asarray(labels), paths

    def fit(self) -> dict:
        """The probe; returns the iteration's outputs (CV score)."""
        model = self._model()
        fc = getattr(model.head, 'fc', None)
        if not isinstance(fc, nn.Linear):
            raise TypeError('LinearProbeLoop needs a head with a linear '
                            f'`fc` (e.g. LinearClsHead), got '
                            f'{type(model.head).__name__}')
        feats, labels, paths = self.extract()
        classes = list(self.dataloader.dataset.metainfo.get(
            'classes') or range(fc.out_features))
        if len(classes) != fc.out_features:
            raise ValueError(f'linear probe: {len(classes)} dataset classes'
                             f' but the head has {fc.out_features} outputs')
        if self.class_weight is not None and \
                len(self.class_weight) != len(classes):
            raise ValueError(f'train_cfg.class_weight={self.class_weight}: '
                             f'expected {len(classes)} weights, one per '
                             f'class {classes}')
        weights = None if self.class_weight is None else dict(
            enumerate(self.class_weight))
        k = n_folds(labels, [str(c) for c in classes])
        search = search_c(feats, labels, self.c_grid, k, self.runner.seed,
                          weights, self.standardize, self.max_iter)
        est = make_estimator(search['C'], weights, self.standardize,
                             self.max_iter).fit(feats, labels)
        write_head(fc, *head_params(est, fc.out_features))
        self.search = dict(
            C_grid=self.c_grid, C=search['C'], k=k, seed=self.runner.seed,
            scoring='balanced_accuracy', class_weight=self.class_weight,
            standardize=self.standardize, classes=[str(c) for c in classes],
            counts=np.bincount(labels, minlength=len(classes)).tolist(),
            images=paths, scores=search['scores'], mean=search['mean'],
            folds=[[paths[i] for i in held] for held in search['folds']])
        with open(osp.join(self.runner.work_dir, 'linear_probe_search.json'),
                  'w', encoding='utf-8') as f:
            json.dump(self.search, f, indent=1)
        best = search['mean'][self.c_grid.index(search['C'])]
        self.runner.message_hub.update_scalar('train/cv_balanced_accuracy',
                                              best)
        self.runner.logger.info(
            f'linear probe: C={search["C"]:g} ({k}-fold balanced accuracy '
            f'{best:.4f}) on {len(labels)} images, {feats.shape[1]} '
            'features')
        return dict(cv_balanced_accuracy=torch.tensor(best))
