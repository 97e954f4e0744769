"""A real tiny protocol run (a few steps of ResNet-18 at 64 px on the
embedded demo data, target-only and DL4ALL) writes each run's
predictions.csv at test time; the record points at it and the metrics
recomputed from it are the recorded ones."""
import json
import os
import os.path as osp
import tempfile
from unittest import TestCase, skipUnless

import numpy as np

from dl4all_mm.evaluation.bootstrap import run_metric, RunScores
from dl4all_mm.evaluation.decision import decide, read_predictions
from dl4all_mm.evaluation.protocol_file import (execute_protocol,
                                                load_protocol)
from dl4all_mm.evaluation.protocol_runner import expand_protocol
from dl4all_mm.evaluation.report import load_records

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'data', 'demo', 'bccd_wbc')
LOADERS = {f'{k}_dataloader.{f}': v for k in ('train', 'val', 'test')
           for f, v in (('num_workers', 0), ('persistent_workers', False))}
PROTOCOL = f"""
methods = [
    dict(name='target-only',
         config='configs/baselines/target-only_resnet18_demo_bccd.py',
         cfg_options=dict({LOADERS!r}, **{{
             'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
             'default_hooks.checkpoint.interval': 2,
             'param_scheduler.0.begin': 0,
             'train_dataloader.batch_size': 4}})),
    dict(name='dl4all-joint',
         config='configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py',
         cfg_options=dict({LOADERS!r}, **{{
             'train_cfg.max_epochs': 1, 'train_cfg.warmup_epochs': 0,
             'train_cfg.val_interval': 1}})),
]
references = ['dl4all-joint']
seeds = [0]
record_fields = dict(target_size=8)
"""


@skipUnless(osp.exists(osp.join(DEMO, 'splits', 'test.txt')),
            'embedded demo data missing')
class TestPredictionsOfARealRun(TestCase):

    def test_predictions_written_and_recorded(self):
        cwd = os.getcwd()
        os.chdir(ROOT)  # configs use paths relative to the repository
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = osp.join(tmp, 'protocol.py')
                with open(path, 'w') as f:
                    f.write(PROTOCOL)
                protocol = load_protocol(path)
                work = osp.join(tmp, 'work')
                records, failures = execute_protocol(
                    protocol, expand_protocol(protocol, path), work,
                    progress=False)
                self.assertEqual(failures, [])
                self.check(records, work)
        finally:
            os.chdir(cwd)

    def check(self, records, work):
        with open(osp.join(DEMO, 'splits', 'test.txt')) as f:
            test = [line.split() for line in f if line.strip()]
        self.assertEqual(len(records), 2)
        for record in records:
            run_dir = osp.join(work, 'runs', record['method'], 'seed0')
            self.assertEqual(record['predictions'],
                             osp.join(run_dir, 'predictions.csv'))
            preds = read_predictions(record['predictions'])
            # every test image once, in dataset order, with its label
            self.assertEqual(preds.classes, ['Eosinophil', 'Lymphocyte',
                                             'Monocyte', 'Neutrophil'])
            self.assertEqual(preds.images, [t[0] for t in test])
            self.assertEqual(preds.labels.tolist(), [int(t[1]) for t in test])
            self.assertTrue(np.allclose(preds.scores.sum(1), 1, atol=1e-5))
            # the recorded metrics, recomputed from the file
            run = RunScores(preds.labels, decide(preds.scores),
                            preds.scores)
            for key in ('balanced_accuracy', 'auc'):
                self.assertAlmostEqual(run_metric(run, key)[0],
                                       record['metrics'][key], places=5,
                                       msg=f'{record["method"]} {key}')
            with open(osp.join(run_dir, 'record.json')) as f:
                stored = json.load(f)['record']
            self.assertEqual(stored['predictions'], 'predictions.csv')
        # results.json: relative to its folder; resolved when loaded
        with open(osp.join(work, 'results.json')) as f:
            stored = json.load(f)
        self.assertEqual(sorted(r['predictions'] for r in stored), [
            'runs/dl4all-joint/seed0/predictions.csv',
            'runs/target-only/seed0/predictions.csv'])
        self.assertEqual(stored[0]['target_size'], 8)
        self.assertEqual(load_records(osp.join(work, 'results.json')),
                         records)
        with open(osp.join(work, 'results.md')) as f:
            report = f.read()
        self.assertIn('resampling seeds/folds and test images', report)
        self.assertNotIn('have no predictions.csv', report)
