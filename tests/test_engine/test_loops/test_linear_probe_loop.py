"""LinearProbeLoop: the model's probabilities are scikit-learn's
LogisticRegression fit on the same features, C is chosen by
cross-validation on the training images only, the backbone is untouched,
and the fitted model is saved."""
import json
import os
import os.path as osp
import tempfile
import unittest

import numpy as np
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS

import dl4all_mm  # noqa: F401
from dl4all_mm.evaluation.protocol_file import config_file
from dl4all_mm.evaluation.transfer.image_set import InputError
from tests.conftest import TINY_RESNET_CHANNELS, tiny_resnet
from tests.test_evaluation.test_transfer.fixtures import write_images

CONFIG = 'configs/baselines/linear-probe_resnet18_pbc2aria-lowdata.py'
PIPELINE = [dict(type='LoadImageFromFileRobust'),
            dict(type='Resize', scale=(16, 16)),
            dict(type='PackInputs')]


def probe_cfg(tmp: str, counts: dict, class_weight=None,
              test_counts=None, c_grid=None) -> Config:
    """The probe config on generated ``train/`` (``counts``) and ``test/``
    folders of ``tmp``, with the tests' tiny ResNet."""
    classes = sorted(counts)
    write_images(osp.join(tmp, 'train'), counts, size=16, seed=3)
    write_images(osp.join(tmp, 'test'), test_counts or {c: 4 for c in
                                                        classes},
                 size=16, seed=4)
    cfg = Config.fromfile(config_file(CONFIG))
    data = dict(data_prefix='', ann_file='', classes=classes,
                pipeline=PIPELINE)
    opts = {
        'model.backbone': dict(tiny_resnet(), _delete_=True),
        'model.head.in_channels': TINY_RESNET_CHANNELS,
        'model.head.num_classes': len(classes),
        'model.data_preprocessor.num_classes': len(classes),
        'train_cfg.class_weight': class_weight,
        'train_dataloader.num_workers': 0,
        'train_dataloader.batch_size': 7,
        'train_dataloader.dataset': dict(
            data, data_root=osp.join(tmp, 'train')),
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'val_dataloader.dataset': dict(data, data_root=osp.join(tmp,
                                                                'test')),
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'test_dataloader.dataset': dict(data, data_root=osp.join(tmp,
                                                                 'test')),
        'custom_hooks': [],  # leakage guard etc.: not what is tested here
    }
    if c_grid is not None:
        opts['train_cfg.c_grid'] = c_grid
    cfg.merge_from_dict(opts)
    cfg.work_dir = osp.join(tmp, 'work')
    cfg.randomness = dict(seed=0)
    return cfg


def features_and_probs(model, loader) -> tuple:
    """Pooled features and the model's predicted probabilities."""
    feats, probs = [], []
    model.eval()
    with torch.no_grad():
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            feats.append(model.head.pre_logits(
                model.extract_feat(data['inputs'])).double().numpy())
            out = model(data['inputs'], data['data_samples'], mode='predict')
            probs.append(torch.stack([s.pred_score for s in out]).numpy())
    return np.concatenate(feats), np.concatenate(probs)


class Snapshot(Hook):
    """The backbone's state when training starts (weights initialised).
    """

    def before_train(self, runner) -> None:
        self.backbone = {k: v.clone() for k, v in
                         runner.model.backbone.state_dict().items()}


class TestLinearProbeLoop(unittest.TestCase):

    def setUp(self):
        torch.set_num_threads(1)
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp)

    def check_equals_sklearn(self, counts, class_weight, c_grid=None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        cfg = probe_cfg(self.tmp, counts, class_weight, c_grid=c_grid)
        runner = RUNNERS.build(cfg)
        snap = Snapshot()
        runner.register_hook(snap)
        runner.train()
        model = runner.model
        # frozen: the backbone (weights and BatchNorm statistics) as it
        # was once initialised
        for k, v in model.backbone.state_dict().items():
            self.assertTrue(torch.equal(v, snap.backbone[k]), k)
        with open(osp.join(cfg.work_dir, 'linear_probe_search.json')) as f:
            search = json.load(f)
        train, _ = features_and_probs(model, runner.train_dataloader)
        labels = np.array([s.gt_label.item() for b in runner.train_dataloader
                           for s in b['data_samples']])
        weights = None if class_weight is None else dict(
            enumerate(class_weight))

        def estimator(c):
            return make_pipeline(StandardScaler(), LogisticRegression(
                C=c, class_weight=weights, max_iter=1000))

        # C: stratified k-fold on the training images only, k = min(4,
        # smallest class), the best mean balanced accuracy
        k = min(4, min(counts.values()))
        self.assertEqual(search['k'], k)
        cv = StratifiedKFold(k, shuffle=True, random_state=0)
        means = [cross_val_score(estimator(c), train, labels, cv=cv,
                                 scoring='balanced_accuracy').mean()
                 for c in search['C_grid']]
        np.testing.assert_allclose(search['mean'], means, atol=1e-12)
        self.assertEqual(search['C'], search['C_grid'][int(np.argmax(
            means))])
        train_files = sorted(
            osp.join(root, name) for root, _, names in os.walk(
                osp.join(self.tmp, 'train')) for name in names)
        self.assertEqual(sorted(search['images']), train_files)
        held = sorted(p for fold in search['folds'] for p in fold)
        self.assertEqual(held, train_files)  # each image held out once
        self.assertEqual(len(search['scores']), len(search['C_grid']))
        self.assertTrue(all(len(row) == k for row in search['scores']))
        # probabilities: the model's = sklearn's refit, on unseen images
        fitted = estimator(search['C']).fit(train, labels)
        test, probs = features_and_probs(model, runner.test_dataloader)
        np.testing.assert_allclose(probs, fitted.predict_proba(test),
                                   atol=1e-6, rtol=0)
        # the checkpoint (what the protocol tests) holds the fitted head
        ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
        with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
            self.assertEqual(f.read().strip(), ckpt)
        state = torch.load(ckpt, map_location='cpu',
                           weights_only=False)['state_dict']
        self.assertTrue(torch.equal(state['head.fc.weight'],
                                    model.head.fc.weight))
        return search

    def test_binary_equals_sklearn(self):
        self.check_equals_sklearn(dict(a=9, b=14), [2.0, 0.5])

    def test_three_classes_equal_sklearn(self):
        # a grid of its own (the model computes in float32: C = 100 gives
        # logits large enough to come near the 1e-6 tolerance)
        grid = [0.001, 0.01, 0.1, 1.0]
        search = self.check_equals_sklearn(dict(a=6, b=8, c=3), None, grid)
        self.assertEqual(search['k'], 3)
        self.assertEqual(search['C_grid'], grid)
        self.assertIsNone(search['class_weight'])

    def test_a_class_with_one_image(self):
        cfg = probe_cfg(self.tmp, dict(a=1, b=6))
        with self.assertRaisesRegex(InputError, "class 'a' has 1 image"):
            RUNNERS.build(cfg).train()
        self.assertFalse(osp.exists(osp.join(cfg.work_dir, 'epoch_1.pth')))

    def test_bad_options(self):
        cfg = probe_cfg(self.tmp, dict(a=3, b=3), class_weight=[1.0])
        with self.assertRaisesRegex(ValueError, 'expected 2 weights'):
            RUNNERS.build(cfg).train()
        cfg.train_cfg.c_grid = [0.1, -1]
        with self.assertRaisesRegex(ValueError, 'c_grid'):
            RUNNERS.build(cfg).train()


if __name__ == '__main__':
    unittest.main()
