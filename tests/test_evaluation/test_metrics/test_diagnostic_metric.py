"""DiagnosticMetric and diagnostic_scores against hand-computed values."""
import math
from unittest import TestCase

import torch
from mmengine.evaluator import Evaluator
from mmpretrain.registry import METRICS, MODELS
from mmpretrain.structures import DataSample

import dl4all_mm  # noqa: F401
from dl4all_mm.datasets.interleaved_wrapper import to_domain_sample
from dl4all_mm.evaluation.metrics import DiagnosticMetric, diagnostic_scores

# Binary task, positive class 1: P(class 1) per sample.
BIN_TARGET = [1, 1, 1, 0, 0]
BIN_P1 = [0.9, 0.6, 0.4, 0.3, 0.7]


def binary_scores(p1=BIN_P1):
    p1 = torch.tensor(p1)
    return torch.stack([1 - p1, p1], dim=1)


def plain_samples(target, scores):
    return [
        DataSample().set_gt_label(t).set_pred_score(s).set_pred_label(
            int(s.argmax())) for t, s in zip(target, scores)
    ]


class TestDiagnosticScores(TestCase):

    def test_binary(self):
        # pred = [1, 1, 0, 0, 1]: TP=2 FN=1 TN=1 FP=1
        scores = binary_scores()
        out = diagnostic_scores(
            torch.tensor(BIN_TARGET), scores.argmax(1), 2, scores)
        expected = dict(
            accuracy=3 / 5,
            sensitivity=2 / 3,
            specificity=1 / 2,
            precision=2 / 3,
            f1=2 / 3,
            balanced_accuracy=7 / 12,
            macro_recall=7 / 12,
            macro_precision=7 / 12,
            macro_f1=7 / 12,
            macro_specificity=7 / 12,
            # positive > negative in 4 of the 6 pairs
            auc=4 / 6,
            # ranked P N P P N: precisions 1, 2/3, 3/4 at the positives
            ap=(1 + 2 / 3 + 3 / 4) / 3)
        for key, value in expected.items():
            self.assertAlmostEqual(out[key], value, places=5, msg=key)
        self.assertEqual(out['confusion_matrix'], [[1, 1], [1, 2]])
        self.assertEqual(out['support_classwise'], [2, 3])

    def test_binary_positive_index_zero(self):
        scores = binary_scores()
        out = diagnostic_scores(
            torch.tensor(BIN_TARGET),
            scores.argmax(1),
            2,
            scores,
            positive_index=0)
        self.assertAlmostEqual(out['sensitivity'], 1 / 2, places=6)
        self.assertAlmostEqual(out['specificity'], 2 / 3, places=6)
        self.assertAlmostEqual(out['precision'], 1 / 2, places=6)
        self.assertAlmostEqual(out['auc'], 4 / 6, places=6)
        self.assertAlmostEqual(out['balanced_accuracy'], 7 / 12, places=6)

    def test_auc_ties(self):
        # pairs (pos, neg): (.5,.5) tie=1/2, (.5,.2), (.8,.5), (.8,.2) -> 3.5
        scores = binary_scores([0.5, 0.8, 0.5, 0.2])
        out = diagnostic_scores(
            torch.tensor([1, 1, 0, 0]), scores.argmax(1), 2, scores)
        self.assertAlmostEqual(out['auc'], 3.5 / 4, places=6)

    def test_multiclass(self):
        target = torch.tensor([0, 0, 1, 1, 2, 2])
        pred = torch.tensor([0, 1, 1, 1, 2, 0])
        out = diagnostic_scores(target, pred, 3)
        self.assertEqual(out['confusion_matrix'],
                         [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        self.assertAlmostEqual(out['accuracy'], 4 / 6, places=6)
        self.assertEqual(out['recall_classwise'], [0.5, 1.0, 0.5])
        self.assertAlmostEqual(out['balanced_accuracy'], 2 / 3, places=6)
        for got, want in zip(out['precision_classwise'], [1 / 2, 2 / 3, 1]):
            self.assertAlmostEqual(got, want, places=5)
        # F1: 0.5, 0.8, 2/3
        self.assertAlmostEqual(
            out['macro_f1'], (0.5 + 0.8 + 2 / 3) / 3, places=5)
        # specificity: 3/4, 3/4, 4/4
        self.assertEqual(out['specificity_classwise'], [0.75, 0.75, 1.0])
        self.assertAlmostEqual(out['macro_specificity'], 2.5 / 3, places=6)
        for key in ('sensitivity', 'specificity', 'auc', 'f1'):
            self.assertNotIn(key, out)

    def test_multiclass_absent_class_and_auc(self):
        # Class 2 never occurs: macro values average classes 0 and 1 only.
        target = torch.tensor([0, 0, 1])
        scores = torch.tensor([[.8, .1, .1], [.2, .2, .6], [.3, .6, .1]])
        out = diagnostic_scores(target, scores.argmax(1), 3, scores)
        # recall 1/2, 1 (class 2: no samples)
        self.assertAlmostEqual(out['balanced_accuracy'], 0.75, places=6)
        # OvR AUC class 0: pos {.8,.2} vs neg {.3} -> 1/2;
        # class 1: pos {.6} vs neg {.1,.2} -> 1; class 2 undefined
        self.assertAlmostEqual(out['auc'], 0.75, places=6)

    def test_single_class_auc_nan(self):
        scores = binary_scores([0.9, 0.2])
        with self.assertWarnsRegex(UserWarning, 'AUC is undefined'):
            out = diagnostic_scores(
                torch.tensor([1, 1]), scores.argmax(1), 2, scores)
        self.assertTrue(math.isnan(out['auc']))
        self.assertAlmostEqual(out['sensitivity'], 0.5)

    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, 'gt_label value 3'):
            diagnostic_scores(torch.tensor([3]), torch.tensor([0]), 2)
        with self.assertRaisesRegex(ValueError, 'no samples'):
            diagnostic_scores(torch.tensor([]), torch.tensor([]), 2)
        with self.assertRaisesRegex(ValueError, 'positive_index=2'):
            diagnostic_scores(
                torch.tensor([0]), torch.tensor([0]), 2, positive_index=2)
        with self.assertRaisesRegex(ValueError, 'pred_score has shape'):
            diagnostic_scores(
                torch.tensor([0]), torch.tensor([0]), 2, torch.ones(1, 3))


class TestDiagnosticMetric(TestCase):

    def test_plain_samples_through_evaluator(self):
        evaluator = Evaluator(METRICS.build(dict(type='DiagnosticMetric')))
        evaluator.dataset_meta = dict(classes=('normal', 'ALL'))
        samples = plain_samples(BIN_TARGET, binary_scores())
        evaluator.process(samples[:2])
        evaluator.process(samples[2:])
        out = evaluator.evaluate(len(samples))
        self.assertAlmostEqual(out['diagnostic/sensitivity'], 2 / 3, 5)
        self.assertAlmostEqual(out['diagnostic/auc'], 4 / 6, 5)
        self.assertEqual(out['diagnostic/confusion_matrix'], [[1, 1], [1, 2]])

    def test_positive_class_name(self):
        metric = METRICS.build(
            dict(type='DiagnosticMetric', positive_index='normal'))
        metric.dataset_meta = dict(classes=['normal', 'ALL'])
        metric.process(
            None,
            [s.to_dict() for s in plain_samples(BIN_TARGET, binary_scores())])
        out = metric.evaluate(5)
        self.assertAlmostEqual(out['diagnostic/sensitivity'], 1 / 2, 6)
        metric.positive_index = 'blast'
        metric.process(None,
                       [plain_samples([0], binary_scores([.1]))[0].to_dict()])
        with self.assertRaisesRegex(ValueError, "'blast' is not one of"):
            metric.evaluate(1)

    def test_labels_only(self):
        metric = DiagnosticMetric()
        samples = [
            DataSample().set_gt_label(t).set_pred_label(p).to_dict()
            for t, p in zip([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0])
        ]
        metric.process(None, samples)
        with self.assertRaisesRegex(ValueError, 'set num_classes'):
            metric.evaluate(6)
        metric.dataset_meta = dict(classes=['a', 'b', 'c'])
        metric.process(None, samples)
        out = metric.evaluate(6)
        self.assertAlmostEqual(out['diagnostic/balanced_accuracy'], 2 / 3)
        self.assertNotIn('diagnostic/auc', out)

    def test_domain_samples_from_multitask_head(self):
        torch.manual_seed(0)
        head = MODELS.build(
            dict(
                type='DomainMultiTaskHead',
                task_heads=dict(
                    source=dict(type='LinearClsHead', num_classes=3),
                    target=dict(type='LinearClsHead', num_classes=2)),
                in_channels=4))
        domains = ['target', 'source', 'target', 'target', 'source']
        labels = [1, 2, 0, 1, 0]
        samples = [
            to_domain_sample(DataSample().set_gt_label(y), d)
            for d, y in zip(domains, labels)
        ]
        preds = head.predict((torch.randn(5, 4), ), samples)
        expected = {}
        for domain, n_cls in (('target', 2), ('source', 3)):
            rows = [
                p.get(domain) for p, d in zip(preds, domains) if d == domain
            ]
            expected[domain] = diagnostic_scores(
                torch.cat([r.gt_label for r in rows]),
                torch.cat([r.pred_label for r in rows]), n_cls,
                torch.stack([r.pred_score for r in rows]))
        evaluator = Evaluator([
            DiagnosticMetric(domain='target'),
            DiagnosticMetric(domain='source'),
        ])
        evaluator.dataset_meta = dict(
            classes=['n', 'ALL'],
            domain_metainfo=dict(source=dict(classes=['a', 'b', 'c'])))
        evaluator.process(preds)
        out = evaluator.evaluate(5)
        for domain in ('target', 'source'):
            cm = out[f'{domain}/confusion_matrix']
            self.assertEqual(cm, expected[domain]['confusion_matrix'])
            self.assertEqual(sum(map(sum, cm)), domains.count(domain))
            self.assertAlmostEqual(out[f'{domain}/macro_f1'],
                                   expected[domain]['macro_f1'])
        self.assertIn('target/sensitivity', out)
        self.assertNotIn('source/sensitivity', out)

    def test_wrong_sample_kind(self):
        multi = to_domain_sample(
            DataSample().set_gt_label(0).set_pred_score(torch.ones(2)), 't')
        with self.assertRaisesRegex(KeyError, 'set `domain=`'):
            DiagnosticMetric().process(None, [multi.to_dict()])
        plain = plain_samples([0], binary_scores([.2]))[0]
        with self.assertRaisesRegex(KeyError, "without a 't' task field"):
            DiagnosticMetric(domain='t').process(None, [plain.to_dict()])

    def test_no_sample_of_domain(self):
        metric = DiagnosticMetric(domain='target')
        sample = to_domain_sample(DataSample().set_gt_label(0), 'source')
        pred = DataSample().set_pred_score(torch.ones(2))
        pred.set_field(False, 'eval_mask', field_type='metainfo')
        sample.set_field(pred, 'target')
        metric.process(None, [sample.to_dict()])
        with self.assertRaisesRegex(ValueError, "no sample of domain 'targ"):
            metric.evaluate(1)
        self.assertEqual(metric.results, [])
