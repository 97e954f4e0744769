"""PredictionsWriter: one CSV row per evaluated sample, in dataset order,
for plain and multi-task (domain) samples."""
import csv
import os.path as osp
import tempfile
from unittest import TestCase

import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import dl4all_mm  # noqa: F401
from dl4all_mm.datasets.interleaved_wrapper import to_domain_sample
from dl4all_mm.evaluation.decision import read_predictions
from dl4all_mm.evaluation.metrics import DiagnosticMetric, PredictionsWriter
from dl4all_mm.evaluation.metrics.predictions_writer import image_names


def sample(label, p1, path):
    score = torch.tensor([1 - p1, p1])
    return DataSample(metainfo=dict(img_path=path)).set_gt_label(
        label).set_pred_score(score).set_pred_label(int(score.argmax()))


class TestPredictionsWriter(TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = osp.join(self.tmp.name, 'run', 'predictions.csv')

    def tearDown(self):
        self.tmp.cleanup()

    def test_plain_samples(self):
        evaluator = Evaluator([DiagnosticMetric(),
                               PredictionsWriter(out_file=self.out)])
        evaluator.dataset_meta = dict(classes=['normal', 'ALL, blast'])
        p1 = [0.9, 0.25, 1 / 3]
        evaluator.process([
            sample(1, p1[0], '/data/aria/ALL/a.jpg'),
            sample(0, p1[1], '/data/aria/normal/b.jpg'),
            sample(1, p1[2], '/data/aria/ALL/c.jpg')])
        out = evaluator.evaluate(3)
        self.assertNotIn('predictions/', ' '.join(out))  # no metric
        with open(self.out, newline='') as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ['image', 'label', 'normal', 'ALL, blast'])
        self.assertEqual([r[:2] for r in rows[1:]],
                         [['ALL/a.jpg', '1'], ['normal/b.jpg', '0'],
                          ['ALL/c.jpg', '1']])
        # float32 probabilities with %.8g
        self.assertEqual(rows[3][3], '%.8g' % torch.tensor(1 / 3).item())
        preds = read_predictions(self.out)
        self.assertEqual(preds.labels.tolist(), [1, 0, 1])
        self.assertAlmostEqual(preds.scores[1, 0], 0.75)

    def test_domain_samples(self):
        torch.manual_seed(0)
        head = MODELS.build(dict(
            type='DomainMultiTaskHead', in_channels=4,
            task_heads=dict(
                source=dict(type='LinearClsHead', num_classes=3),
                target=dict(type='LinearClsHead', num_classes=2))))
        domains = ['target', 'source', 'target']
        samples = [
            to_domain_sample(DataSample(metainfo=dict(
                img_path=f'/d/{d}{i}.png')).set_gt_label(i % 2), d)
            for i, d in enumerate(domains)]
        preds = head.predict((torch.randn(3, 4), ), samples)
        metric = PredictionsWriter(out_file=self.out, domain='target')
        metric.dataset_meta = dict(classes=['n', 'ALL'])
        metric.process(None, [p.to_dict() for p in preds])
        metric.evaluate(3)
        out = read_predictions(self.out)
        self.assertEqual(out.images, ['target0.png', 'target2.png'])
        self.assertEqual(out.labels.tolist(), [0, 0])
        want = torch.stack([preds[0].target.pred_score,
                            preds[2].target.pred_score]).detach().numpy()
        self.assertTrue(abs(out.scores - want).max() < 1e-7)

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, 'out_file'):
            PredictionsWriter(out_file='')
        metric = PredictionsWriter(out_file=self.out)
        plain = DataSample().set_gt_label(0).set_pred_label(0)
        with self.assertRaisesRegex(KeyError, 'pred_score'):
            metric.process(None, [plain.to_dict()])
        metric.dataset_meta = dict(classes=['a', 'b', 'c'])
        metric.process(None, [sample(0, 0.5, 'x.jpg').to_dict()])
        with self.assertRaisesRegex(ValueError, '2 scores per sample but 3'):
            metric.evaluate(1)

    def test_image_names(self):
        self.assertEqual(image_names(['/a/b/x.jpg']), ['x.jpg'])
        self.assertEqual(image_names(['/a/b/x.jpg', '/a/c/y.jpg']),
                         ['b/x.jpg', 'c/y.jpg'])
        self.assertEqual(image_names([]), [])
