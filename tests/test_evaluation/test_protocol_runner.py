"""Protocol expansion, execution with a fake trainer, resume and failure
handling (no training: the executor is a stub that returns test metrics)."""
import json
import os
import os.path as osp
import tempfile
from unittest import TestCase

from mmengine.config import Config

from dl4all_mm.evaluation.protocol_runner import (expand_protocol, fill,
                                                  run_protocol)
from dl4all_mm.evaluation.protocol_worker import (ensure_diagnostic,
                                                  ensure_predictions)


def fake_metrics(run):
    """Deterministic test metrics of a binary task for a run."""
    acc = 0.6 + 0.1 * run.seed + (0.05 if run.method == 'dl4all' else 0.0)
    keys = ('accuracy', 'balanced_accuracy', 'macro_f1', 'sensitivity',
            'specificity', 'auc', 'macro_recall', 'macro_specificity')
    return {f'diagnostic/{k}': acc for k in keys}


class FakeExecutor:
    """Records the runs it executes; fails the ones named in ``fail``."""

    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def __call__(self, run, run_dir):
        self.calls.append(run.name)
        assert osp.isfile(osp.join(run_dir, 'spec.json'))
        if run.name in self.fail:
            raise RuntimeError('boom')
        return dict(metrics=fake_metrics(run), wall_s=1.5)


class TestProtocolRunner(TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = self.tmp.name
        os.makedirs(osp.join(root, 'configs'))
        for name in ('a.py', 'b1.py', 'b2.py'):
            with open(osp.join(root, 'configs', name), 'w') as f:
                f.write('x = 1\n')
        self.protocol_path = osp.join(root, 'configs', 'protocol.py')
        self.protocol = dict(
            methods=[
                dict(name='target-only', config='a.py', cfg_options={'m': 1}),
                dict(
                    name='dl4all',
                    stages=[
                        dict(config='configs/b1.py', cfg_options={'s': 0}),
                        dict(
                            config='b2.py',
                            cfg_options={
                                'init': '{prev_checkpoint}',
                                'p': 'stage'
                            }),
                    ]),
            ],
            references=['dl4all'],
            seeds=[0, 1],
            folds=[
                dict(
                    name='f0',
                    cfg_options={'ann': 'split{fold}.txt'},
                    env={'SPLIT': '{run_dir}/s{seed}'})
            ],
            cfg_options={
                'p': 'protocol',
                'q': 2
            },
            env={'ROOT': '/data'})
        self.work_dir = osp.join(root, 'work')

    def tearDown(self):
        self.tmp.cleanup()

    def test_expand(self):
        runs = expand_protocol(self.protocol, self.protocol_path)
        self.assertEqual([r.name for r in runs], [
            'target-only/seed0-foldf0', 'target-only/seed1-foldf0',
            'dl4all/seed0-foldf0', 'dl4all/seed1-foldf0'
        ])
        dl4all = runs[2]
        self.assertEqual(dl4all.stages[0]['config'],
                         osp.join(self.tmp.name, 'configs', 'b1.py'))
        # protocol/fold options reach the last stage only; stage wins
        self.assertEqual(dl4all.stages[0]['cfg_options'], {'s': 0})
        self.assertEqual(
            dl4all.stages[1]['cfg_options'], {
                'p': 'stage',
                'q': 2,
                'ann': 'split{fold}.txt',
                'init': '{prev_checkpoint}'
            })
        self.assertEqual(runs[0].stages[0]['cfg_options']['p'], 'protocol')
        self.assertEqual(dl4all.env, {
            'ROOT': '/data',
            'SPLIT': '{run_dir}/s{seed}'
        })
        subset = expand_protocol(self.protocol, self.protocol_path, ['dl4all'],
                                 [1])
        self.assertEqual([r.name for r in subset], ['dl4all/seed1-foldf0'])
        # Mmengine Config protocols work too
        cfg = Config(self.protocol)
        self.assertEqual(len(expand_protocol(cfg, self.protocol_path)), 4)

    def test_expand_errors(self):
        bad = dict(self.protocol, references=['nope'])
        with self.assertRaisesRegex(KeyError, "unknown method 'nope'"):
            expand_protocol(bad, self.protocol_path)
        bad = dict(
            self.protocol,
            references=[],
            methods=[
                dict(name='x', config='a.py', cfg_options={'k': '{epoch}'})
            ])
        with self.assertRaisesRegex(ValueError, r"cannot fill '\{epoch\}'"):
            expand_protocol(bad, self.protocol_path)
        bad = dict(
            self.protocol,
            references=[],
            methods=[dict(name='x', config='zz.py')])
        with self.assertRaisesRegex(FileNotFoundError, "'zz.py'"):
            expand_protocol(bad, self.protocol_path)
        with self.assertRaisesRegex(KeyError, 'seed 7'):
            expand_protocol(self.protocol, self.protocol_path, seeds=[7])
        self.assertEqual(
            fill({'a': ['{seed}/x']}, dict(seed=3), 'w'), {'a': ['3/x']})

    def test_run_resume_and_failures(self):
        runs = expand_protocol(self.protocol, self.protocol_path)
        executor = FakeExecutor(fail=['dl4all/seed1-foldf0'])
        records, failures = run_protocol(
            runs, self.work_dir, ['dl4all'], executor, progress=False)
        self.assertEqual(len(executor.calls), 4)
        self.assertEqual(len(records), 3)
        self.assertEqual([f[0] for f in failures], ['dl4all/seed1-foldf0'])
        with open(osp.join(self.work_dir, 'results.json')) as f:
            stored = json.load(f)
        self.assertEqual(stored, records)
        self.assertEqual(stored[0]['metrics']['accuracy'], 0.6)
        self.assertEqual(stored[0]['wall_s'], 1.5)
        self.assertEqual(stored[0]['fold'], 'f0')

        # Resume: only the failed run executes again.
        executor = FakeExecutor()
        records, failures = run_protocol(
            runs, self.work_dir, ['dl4all'], executor, progress=False)
        self.assertEqual(executor.calls, ['dl4all/seed1-foldf0'])
        self.assertEqual((len(records), failures), (4, []))
        with open(osp.join(self.work_dir, 'results.md')) as f:
            text = f.read()
        # dl4all - target-only = +5 points on both seeds
        self.assertIn('| **mean** | | +5.00 |', text)
        self.assertIn('| target-only | 2 | 65.00 ± 7.07 |', text)

        # A finished run whose spec changed is refused before anything runs.
        changed = dict(self.protocol, cfg_options={'p': 'other'})
        runs = expand_protocol(changed, self.protocol_path)
        executor = FakeExecutor()
        with self.assertRaisesRegex(ValueError, 'different spec'):
            run_protocol(
                runs, self.work_dir, ['dl4all'], executor, progress=False)
        self.assertEqual(executor.calls, [])

    def test_ensure_diagnostic(self):
        cfg = Config(
            dict(
                val_evaluator=dict(type='Accuracy'),
                test_evaluator=[
                    dict(
                        type='DiagnosticMetric',
                        domain='target',
                        prefix='diagnostic')
                ]))
        ensure_diagnostic(cfg, 'diagnostic', 1)
        self.assertEqual(
            cfg.val_evaluator[1],
            dict(
                type='DiagnosticMetric', prefix='diagnostic',
                positive_index=1))
        self.assertEqual(len(cfg.test_evaluator), 1)

    def test_ensure_predictions(self):
        cfg = Config(dict(test_evaluator=dict(metrics=[
            dict(type='Accuracy'),
            dict(type='DiagnosticMetric', domain='target', prefix='dx'),
            dict(type='PredictionsWriter', out_file='old.csv')])))
        ensure_predictions(cfg, 'dx', '/run/predictions.csv')
        self.assertEqual(cfg.test_evaluator[1:], [
            dict(type='DiagnosticMetric', domain='target', prefix='dx'),
            dict(type='PredictionsWriter', out_file='/run/predictions.csv',
                 domain='target')])
        with self.assertRaisesRegex(KeyError, "prefix 'other'"):
            ensure_predictions(cfg, 'other', 'p.csv')
        none = Config(dict(test_evaluator=None))
        ensure_predictions(none, 'dx', 'p.csv')
        self.assertIsNone(none.test_evaluator)
