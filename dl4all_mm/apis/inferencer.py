"""Predict images with a DL4ALL (or any mmpretrain) image classifier."""
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.runner import load_checkpoint
from mmpretrain.apis import ImageClassificationInferencer, get_model
from mmpretrain.registry import TRANSFORMS
from tqdm import tqdm

from .cam import TargetHeadCAM, cam_overlay, target_head
from .utils import (cam_file_names, classes_from_config, classes_from_meta,
                    domain_dataset_cfg, expand_inputs, load_config,
                    trusted_checkpoints)


class DL4ALLInferencer(ImageClassificationInferencer):
    """Predict image files with a trained classifier, with Grad-CAM.

    Reuses :class:`mmpretrain.apis.ImageClassificationInferencer` and
    ``get_model`` (model building, result format, ``__call__``) and
    mmengine's checkpoint loader (strict here), and adds: folders as
    inputs, the config's full test pipeline (loading included, as
    ``tools/test.py`` does), the target head of a
    :class:`DomainImageClassifier` (``eval_domain``) and its class names,
    per-image records for CSV files, a tqdm progress bar and Grad-CAM.
    Images of different sizes are forwarded apart, so results do not
    depend on the batch size.

    Args:
        config (str | Config): Model config.
        checkpoint (str, optional): Checkpoint to load (through mmengine's
            loader, i.e. weights-only unless trusted). None keeps the
            initial weights.
        device (str, optional): ``'cpu'``, ``'cuda'``... Defaults to CUDA
            when available.
        classes (list[str], optional): Class names. Defaults to the
            checkpoint's ``meta.dataset_meta`` (target domain), then the
            config's test dataset.
        trust_checkpoint (bool): Fully unpickle the checkpoint (only for
            files you trust). Defaults to False.
        cfg_options (dict, optional): Overrides merged into the config.
        strict (bool): Fail when the checkpoint's keys do not match the
            model's (mmengine only warns). Defaults to True.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 trust_checkpoint: bool = False,
                 cfg_options: Optional[dict] = None,
                 strict: bool = True) -> None:
        cfg = load_config(config, cfg_options)
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        model = get_model(cfg, pretrained=False)
        #: ``meta`` of the loaded checkpoint (empty without one).
        self.checkpoint_meta: dict = {}
        if checkpoint:
            with trusted_checkpoints(trust_checkpoint):
                try:
                    ckpt = load_checkpoint(
                        model, checkpoint, map_location='cpu', strict=strict)
                except RuntimeError as err:
                    raise RuntimeError(
                        f'Checkpoint {checkpoint} does not fit the model of '
                        f'{config if isinstance(config, str) else "config"}'
                        f': {err}') from err
            self.checkpoint_meta = dict(ckpt.get('meta') or {})
        super().__init__(model=model.to(device), pretrained=False)
        self.eval_domain: Optional[str] = getattr(self.model, 'eval_domain',
                                                  None)
        self.num_classes = getattr(
            target_head(self.model), 'num_classes', None)
        source = 'argument `classes`'
        if classes is None:
            source = f'meta.dataset_meta of {checkpoint}'
            classes = classes_from_meta(
                self.checkpoint_meta.get('dataset_meta'), self.eval_domain)
        if classes is None and self.checkpoint_meta.get('CLASSES'):
            classes = self.checkpoint_meta['CLASSES']  # mmcls 0.x
        if classes is None:
            source = 'the config test dataset'
            classes = classes_from_config(self.config, self.eval_domain)
        if classes is None and self.num_classes:
            source = 'default names'
            classes = [f'class_{i}' for i in range(self.num_classes)]
        if classes is not None and self.num_classes is not None and \
                len(classes) != self.num_classes:
            raise ValueError(
                f'{len(classes)} class names from {source} ({list(classes)})'
                f' but the head predicts {self.num_classes} classes')
        self.classes = list(classes) if classes is not None else None
        #: Grad-CAM layers used by the last :meth:`infer` with ``cam_dir``.
        self.cam_layers: Optional[List[str]] = None

    def _init_pipeline(self, cfg: Config) -> Compose:
        """Full test pipeline for paths; without loading for arrays."""
        dataset = domain_dataset_cfg(cfg,
                                     getattr(self.model, 'eval_domain', None))
        steps = dataset.get('pipeline') or cfg.get('test_pipeline')
        if not steps:
            raise KeyError('The config test dataset has no `pipeline`')
        steps = list(steps)
        if steps[0]['type'] not in ('LoadImageFromFile',
                                    'mmpretrain.LoadImageFromFile'):
            steps.insert(0, dict(type='LoadImageFromFile'))
        self.array_pipeline = Compose([TRANSFORMS.build(t) for t in steps[1:]])
        return Compose([TRANSFORMS.build(t) for t in steps])

    def preprocess(self,
                   inputs: List[Union[str, np.ndarray]],
                   batch_size: int = 1) -> Iterator[dict]:
        """Batches for ``__call__`` (mmpretrain's inferencer interface)."""
        chunks = self._get_chunk_data(map(self.load, inputs), batch_size)
        yield from map(pseudo_collate, chunks)

    def load(self, image: Union[str, np.ndarray]) -> dict:
        """Run the test pipeline on an image path or a BGR array."""
        try:
            if isinstance(image, np.ndarray):
                return self.array_pipeline(
                    dict(
                        img=image,
                        img_shape=image.shape[:2],
                        ori_shape=image.shape[:2]))
            return self.pipeline(dict(img_path=image))
        except Exception as err:
            name = image if isinstance(image, str) else 'array input'
            raise ValueError(f'Could not load or transform image {name}: '
                             f'{type(err).__name__}: {err}') from err

    def infer(self,
              inputs: Union[str, Sequence[str]],
              batch_size: int = 1,
              cam_dir: Optional[str] = None,
              target_layers: Optional[Sequence[str]] = None,
              cam_method: str = 'gradcam',
              progress: bool = True) -> List[dict]:
        """Predict image files and folders (and optionally explain them).

        Args:
            inputs (str | list[str]): Image files or folders.
            batch_size (int): Images per forward pass. Results do not depend
                on it: images of different sizes are forwarded apart.
            cam_dir (str, optional): Write a Grad-CAM overlay of the
                predicted class of the target head per image here.
            target_layers (list[str], optional): Module names (as in
                ``model.named_modules()``) for Grad-CAM. Defaults to an
                automatic choice (see :class:`TargetHeadCAM`).
            cam_method (str): Grad-CAM variant (see ``cam.METHODS``).
            progress (bool): Show a tqdm progress bar.

        Returns:
            list[dict]: One record per image, in input order: ``path``,
            ``pred_label``, ``pred_class``, ``pred_score`` (its
            probability), ``scores`` (class name -> probability) and
            ``cam_path`` when ``cam_dir`` is given.
        """
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        paths = expand_inputs(inputs)
        explainer = None
        if cam_dir:
            os.makedirs(cam_dir, exist_ok=True)
            names = cam_file_names(paths)
            explainer = TargetHeadCAM(self.model, target_layers, cam_method)
        records: List[dict] = []
        bar = tqdm(
            total=len(paths), desc='infer', unit='img', disable=not progress)
        try:
            for start in range(0, len(paths), batch_size):
                chunk = paths[start:start + batch_size]
                for i, record in enumerate(self._forward(chunk, explainer)):
                    if explainer is not None:
                        out = osp.join(cam_dir, names[start + i])
                        record['cam_path'] = out
                        mmcv.imwrite(record.pop('cam_image'), out)
                    records.append(record)
                bar.update(len(chunk))
        finally:
            bar.close()
            if explainer is not None:
                self.cam_layers = explainer.layer_names
                explainer.release()
        return records

    def _forward(self, chunk: List[str],
                 explainer: Optional[TargetHeadCAM]) -> List[dict]:
        """Records of one chunk; same-shaped images are forwarded together.
        """
        data = [self.load(path) for path in chunk]
        groups: Dict[tuple, List[int]] = {}
        for i, item in enumerate(data):
            groups.setdefault(tuple(item['inputs'].shape), []).append(i)
        out: List[Optional[dict]] = [None] * len(chunk)
        for idx in groups.values():
            batch = pseudo_collate([data[i] for i in idx])
            batch = self.model.data_preprocessor(batch, False)
            with torch.no_grad():
                preds = self.model(**batch, mode='predict')
            labels = [int(p.pred_score.argmax()) for p in preds]
            maps = explainer(batch['inputs'], labels) if explainer else None
            for j, (i, pred) in enumerate(zip(idx, preds)):
                out[i] = self._record(chunk[i], pred)
                if maps is not None:
                    out[i]['cam_image'] = cam_overlay(data[i]['inputs'],
                                                      maps[j])
        return out

    def _record(self, path: str, pred) -> dict:
        """One image's record from its predicted ``DataSample``."""
        result = self.postprocess([pred], None)[0]
        scores = result['pred_scores'].astype(float).tolist()
        if self.classes is not None and len(self.classes) != len(scores):
            raise ValueError(f'{len(self.classes)} class names but the model'
                             f' returned {len(scores)} scores for {path}')
        names = self.classes or [f'class_{i}' for i in range(len(scores))]
        return dict(
            path=path,
            pred_label=result['pred_label'],
            pred_class=names[result['pred_label']],
            pred_score=result['pred_score'],
            scores=dict(zip(names, scores)))
