"""Tests of :class:`dl4all_mm.apis.DL4ALLInferencer` on tiny models."""
import argparse
import csv
import os
import os.path as osp
import tempfile
import unittest

import cv2
import numpy as np
import torch

from dl4all_mm.engine.runners import checkpoint_loader as ckpt_loader
from dl4all_mm.apis import (DL4ALLInferencer, cam_file_names,
                            classes_from_config, classes_from_meta,
                            expand_inputs, save_csv)
from .tiny_fixtures import (DOMAIN_CONFIG, PLAIN_CONFIG, SOURCE_CLASSES,
                            TARGET_CLASSES, domain_meta, save_tiny_checkpoint,
                            write_config, write_images)

TARGET_NORM = ([130., 120., 140.], [40., 45., 50.])


def manual_scores(model, path: str, head) -> np.ndarray:
    """Target probabilities computed without the pipeline or inferencer:
    ResizeEdge(72, short) + CenterCrop(64) by hand, BGR->RGB, target
    normalisation, backbone, global average pooling, ``head``'s fc."""
    img = cv2.imread(path)
    h, w = img.shape[:2]
    size = (72, int(72 * h / w)) if w < h else (int(72 * w / h), 72)
    img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
    y, x = [int(round((s - 64) / 2)) for s in img.shape[:2]]
    img = img[y:y + 64, x:x + 64, ::-1].astype(np.float32)
    mean, std = (np.array(v, np.float32) for v in TARGET_NORM)
    inputs = torch.from_numpy(((img - mean) / std).transpose(2, 0, 1))
    with torch.no_grad():
        feat = model.backbone(inputs[None])[-1].mean((2, 3))
        return head.fc(feat).softmax(-1)[0].numpy()


class TestDomainInference(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.config = write_config(cls.dir, DOMAIN_CONFIG)
        cls.ckpt = osp.join(cls.dir, 'tiny.pth')
        cls.model = save_tiny_checkpoint(cls.config, cls.ckpt, domain_meta())
        cls.images = write_images(osp.join(cls.dir, 'imgs'))
        cls.inferencer = DL4ALLInferencer(cls.config, cls.ckpt, device='cpu')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_target_head_and_classes(self):
        inf = self.inferencer
        self.assertEqual(inf.eval_domain, 'target')
        # The checkpoint's main classes are the source's: the target's win.
        self.assertEqual(inf.classes, TARGET_CLASSES)
        records = inf.infer(
            osp.join(self.dir, 'imgs'), batch_size=3, progress=False)
        self.assertEqual([r['path'] for r in records], sorted(self.images))
        head = self.model.head.task_heads['target']
        for rec in records:
            probs = np.array([rec['scores'][c] for c in TARGET_CLASSES])
            np.testing.assert_allclose(
                probs, manual_scores(self.model, rec['path'], head), atol=1e-5)
            self.assertAlmostEqual(probs.sum(), 1, places=5)
            self.assertEqual(rec['pred_label'], int(probs.argmax()))
            self.assertEqual(rec['pred_class'],
                             TARGET_CLASSES[rec['pred_label']])
            self.assertAlmostEqual(rec['pred_score'], probs.max(), places=6)

    def test_batch_size_does_not_change_results(self):
        one = self.inferencer.infer(self.images, batch_size=1, progress=False)
        many = self.inferencer.infer(self.images, batch_size=4, progress=False)
        for a, b in zip(one, many):
            self.assertEqual(a['path'], b['path'])
            for c in TARGET_CLASSES:
                self.assertAlmostEqual(
                    a['scores'][c], b['scores'][c], places=5)

    def test_mmpretrain_call_interface_on_arrays(self):
        arrays = [cv2.imread(p) for p in self.images[:2]]
        results = self.inferencer(arrays, batch_size=2)
        records = self.inferencer.infer(self.images[:2], progress=False)
        for res, rec in zip(results, records):
            self.assertEqual(res['pred_class'], rec['pred_class'])
            self.assertAlmostEqual(
                res['pred_score'], rec['pred_score'], places=5)

    def test_csv_and_cam_dir(self):
        out = osp.join(self.dir, 'out')
        records = self.inferencer.infer(
            self.images,
            batch_size=2,
            cam_dir=osp.join(out, 'cams'),
            progress=False)
        save_csv(records, osp.join(out, 'preds.csv'))
        with open(osp.join(out, 'preds.csv'), newline='') as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(
            list(rows[0]), [
                'path', 'pred_label', 'pred_class', 'pred_score',
                'prob_normal', 'prob_ALL', 'cam_path'
            ])
        self.assertEqual(len(rows), len(self.images))
        for row, rec in zip(rows, records):
            self.assertEqual(row['pred_class'], rec['pred_class'])
            self.assertAlmostEqual(
                float(row['prob_ALL']), rec['scores']['ALL'], places=5)
            cam = cv2.imread(row['cam_path'])
            self.assertEqual(cam.shape, (64, 64, 3))
        self.assertEqual(self.inferencer.cam_layers, ['backbone.layer4'])
        self.assertEqual(
            sorted(os.listdir(osp.join(out, 'cams'))),
            ['img0.png', 'img1.png', 'img2.png', 'img3.png', 'sub__img4.png'])

    def test_errors_name_the_culprit(self):
        with self.assertRaisesRegex(FileNotFoundError, 'missing.png'):
            self.inferencer.infer(['missing.png'], progress=False)
        broken = osp.join(self.dir, 'broken.png')
        with open(broken, 'wb') as f:
            f.write(b'not a png')
        with self.assertRaisesRegex(ValueError, 'broken.png'):
            self.inferencer.infer([broken], progress=False)
        empty = osp.join(self.dir, 'empty')
        os.makedirs(empty, exist_ok=True)
        with self.assertRaisesRegex(ValueError, 'No image'):
            self.inferencer.infer(empty, progress=False)
        with self.assertRaisesRegex(ValueError, 'batch_size'):
            self.inferencer.infer(self.images, batch_size=0)
        with self.assertRaisesRegex(ValueError, '3 class names'):
            DL4ALLInferencer(
                self.config, self.ckpt, device='cpu', classes=SOURCE_CLASSES)
        plain = write_config(self.dir, PLAIN_CONFIG, 'plain.py')
        with self.assertRaisesRegex(RuntimeError, 'tiny.pth does not fit'):
            DL4ALLInferencer(plain, self.ckpt, device='cpu')


class TestPlainAndUntrusted(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name
        self.images = write_images(osp.join(self.dir, 'imgs'))
        self.config = write_config(self.dir, PLAIN_CONFIG)

    def test_plain_classifier_class_names(self):
        bare = osp.join(self.dir, 'bare.pth')
        save_tiny_checkpoint(self.config, bare)  # no meta: config classes
        inf = DL4ALLInferencer(self.config, bare, device='cpu')
        self.assertIsNone(inf.eval_domain)
        self.assertEqual(inf.classes, ['config_normal', 'config_ALL'])
        records = inf.infer(self.images, progress=False)
        self.assertEqual(len(records), 5)
        self.assertEqual(set(records[0]['scores']), set(inf.classes))
        meta = osp.join(self.dir, 'meta.pth')
        save_tiny_checkpoint(self.config, meta,
                             dict(dataset_meta=dict(classes=('n', 'a'))))
        inf = DL4ALLInferencer(self.config, meta, device='cpu')
        self.assertEqual(inf.classes, ['n', 'a'])

    def test_untrusted_checkpoint_needs_trust(self):
        evil = osp.join(self.dir, 'evil.pth')
        save_tiny_checkpoint(self.config, evil,
                             dict(extra=argparse.Namespace(a=1)))
        with self.assertRaises(ckpt_loader.UntrustedCheckpointError):
            DL4ALLInferencer(self.config, evil, device='cpu')
        inf = DL4ALLInferencer(
            self.config, evil, device='cpu', trust_checkpoint=True)
        self.assertEqual(inf.checkpoint_meta['extra'].a, 1)
        self.assertFalse(ckpt_loader.checkpoints_trusted())  # trust not leaked


class TestInputHelpers(unittest.TestCase):

    def test_expand_and_cam_names(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_images(osp.join(tmp, 'a'))
            extra = write_images(osp.join(tmp, 'b'))[0]
            found = expand_inputs([osp.join(tmp, 'a'), extra])
            self.assertEqual(found, sorted(paths) + [extra])
            names = cam_file_names(found + [extra])
            self.assertEqual(names, [
                'a__img0.png', 'a__img1.png', 'a__img2.png', 'a__img3.png',
                'a__sub__img4.png', 'b__img0.png', 'b__img0_1.png'
            ])
            self.assertEqual(cam_file_names([extra]), ['img0.png'])
        with self.assertRaisesRegex(ValueError, 'No prediction'):
            save_csv([], 'x.csv')

    def test_classes_from_config(self):
        from mmengine.config import Config
        with tempfile.TemporaryDirectory() as tmp:
            with open(osp.join(tmp, 'classes.txt'), 'w') as f:
                f.write('hem\nall\n')
            member = dict(
                type='CustomDataset', data_root=tmp, classes='classes.txt')
            cfg = Config(
                dict(
                    test_dataloader=dict(
                        dataset=dict(
                            type='InterleavedDatasetWrapper',
                            datasets=dict(
                                source=dict(type='CIFAR10'), target=member)))))
            self.assertEqual(
                classes_from_config(cfg, 'target'), ['hem', 'all'])
            # A dataset class's METAINFO is the last resort.
            self.assertEqual(len(classes_from_config(cfg, 'source')), 10)
            member['classes'] = 'nowhere.txt'
            cfg = Config(dict(test_dataloader=dict(dataset=member)))
            with self.assertRaisesRegex(FileNotFoundError, 'nowhere.txt'):
                classes_from_config(cfg)
        with self.assertRaisesRegex(KeyError, 'test_dataloader'):
            classes_from_config(Config(dict()))
        meta = domain_meta()['dataset_meta']
        self.assertEqual(classes_from_meta(meta, 'target'), TARGET_CLASSES)
        self.assertEqual(classes_from_meta(meta, None), SOURCE_CLASSES)
        self.assertIsNone(classes_from_meta({}, 'target'))


if __name__ == '__main__':
    unittest.main()
