"""``--norm`` and ``--class-weights`` of ``tools/compare_transfer.py``:
bad values exit 2 naming them; a tiny mixed run trains with per-domain
statistics, class weights and BatchNorm re-estimation, and its records say
which normalisation and class weights it used."""
import glob
import json
import os.path as osp
import shutil
import tempfile
import unittest

from tests.test_evaluation.test_transfer.fixtures import make_task
from tests.test_tools import test_compare_transfer as base
from tests.test_tools.test_compare_transfer import CLASS_MAP, _run


class TestBadNormAndWeights(unittest.TestCase):
    """The checks run before anything trains (``assert_fails``)."""

    setUp = base.TestBadInputs.setUp
    tearDown = base.TestBadInputs.tearDown
    args = base.TestBadInputs.args
    assert_fails = base.TestBadInputs.assert_fails

    def test_unknown_values(self):
        self.assert_fails(self.args('--norm', 'zscore'), "--norm 'zscore'")
        self.assert_fails(self.args('--class-weights', 'balanced'),
                          "--class-weights 'balanced'")
        self.assert_fails(self.args('--recipe', 'class_weight=0'),
                          'class_weight=0', '--class-weights')


class TestMixedRun(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_mixed_gets_domain_statistics_weights_and_bn(self):
        paths = make_task(self.tmp)
        work = osp.join(self.tmp, 'work')
        argv = ['--source', paths['source'], '--target', paths['target'],
                '--class-map', CLASS_MAP, '--target-sizes', '8',
                '--draws', '1', '--methods', 'mixed', '--seeds', '0', '--iters', '2',
                '--img-size', '32', '--backbone', 'resnet18',
                '--norm', 'scalar-domain', '--no-progress',
                '--work-dir', work]
        code, out, err = _run(argv)
        self.assertEqual(code, 0, out + err)
        with open(osp.join(work, 'results.json')) as f:
            records = json.load(f)
        self.assertEqual([(r['method'], r['norm'], r['class_weights'])
                          for r in records],
                         [('mixed', 'scalar-domain', 'authors')])
        with open(osp.join(work, 'results.md')) as f:
            report = f.read()
        self.assertIn('Normalisation: mixed scalar-domain', report)
        self.assertIn("Class weights: the authors' N / max(n_c, 10)", report)
        logs = glob.glob(osp.join(work, 'n8', 'd0', 'runs', 'mixed', '**',
                                  '*.log'), recursive=True)
        text = ''.join(open(p).read() for p in logs)
        self.assertIn('DomainClassWeightHook: source class weights', text)
        self.assertIn('Re-estimated BatchNorm statistics', text)
        with open(osp.join(work, 'n8', 'd0', 'protocol.json')) as f:
            opts = json.load(f)['methods'][0]['stages'][0]['cfg_options']
        for domain in ('source', 'target'):  # one scalar per domain
            for key in ('mean', 'std'):
                values = opts[f'model.data_preprocessor.domain_norm.{domain}'
                              f'.{key}']
                self.assertEqual(len(values), 3)
                self.assertEqual(len(set(values)), 1)
        self.assertEqual(opts['model.head.task_heads.target.loss']['type'],
                         'WeightedCrossEntropyLoss')
