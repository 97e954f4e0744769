"""tools/run_protocol.py: the shipped protocols build, and a tiny two-stage
(sequential transfer) run trains, tests and resumes for real on the embedded
demo data."""
import importlib.util
import io
import json
import os
import os.path as osp
import tempfile
import subprocess
import threading
from contextlib import redirect_stderr
from unittest import TestCase, mock, skipUnless

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'data', 'demo', 'bccd_wbc', 'splits', 'train.txt')


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'run_protocol', osp.join(ROOT, 'tools', 'run_protocol.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY = {
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 1,
    'default_hooks.checkpoint.interval': 1,
    'param_scheduler.0.begin': 0,
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
    'test_dataloader.num_workers': 0,
    'test_dataloader.persistent_workers': False,
}
PROTOCOL = f"""
methods = [dict(name='sequential', stages=[
    dict(config='configs/baselines/sequential-stage1_resnet18_demo_pbc.py',
         cfg_options={{'train_cfg.max_iters': 2, 'param_scheduler.0.begin': 0,
                      'default_hooks.checkpoint.interval': 2,
                      'train_dataloader.batch_size': 4,
                      'train_dataloader.num_workers': 0,
                      'train_dataloader.persistent_workers': False}}),
    dict(config='configs/baselines/sequential-stage2_resnet18_demo_bccd.py',
         cfg_options=dict({TINY!r}, **{{
             'model.backbone.init_cfg.checkpoint': '{{prev_checkpoint}}'}})),
])]
seeds = [3]
"""


class TestRunProtocol(TestCase):

    def setUp(self):
        self.cwd = os.getcwd()
        os.chdir(ROOT)  # configs use paths relative to the repository
        self.tool = load_tool()

    def tearDown(self):
        os.chdir(self.cwd)

    def test_shipped_protocols_build(self):
        for name in ('demo.py', 'pbc_to_aria_lowdata.py'):
            path = osp.join(ROOT, 'configs', 'protocols', name)
            with tempfile.TemporaryDirectory() as tmp:
                self.assertEqual(
                    self.tool.main([path, '--work-dir', tmp, '--dry-run']), 0,
                    name)

    def test_bad_protocol_is_reported(self):
        path = osp.join(ROOT, 'configs', 'protocols', 'demo.py')
        with tempfile.TemporaryDirectory() as tmp:
            code = self.tool.main(
                [path, '--work-dir', tmp, '--methods', 'nope'])
        self.assertEqual(code, 2)

    @skipUnless(osp.exists(DEMO), 'embedded demo data missing')
    def test_sequential_run_and_resume(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'protocol.py')
            with open(path, 'w') as f:
                f.write(PROTOCOL)
            work = osp.join(tmp, 'work')
            args = [
                path, '--work-dir', work, '--no-progress', '--run-timeout',
                '400'
            ]
            self.assertEqual(self.tool.main(args), 0)
            run_dir = osp.join(work, 'runs', 'sequential', 'seed3')
            with open(osp.join(run_dir, 'result.json')) as f:
                result = json.load(f)
            stage0, stage1 = result['stages']
            # stage 2 started from stage 1's last checkpoint (backbone)
            with open(osp.join(run_dir, 'log.txt')) as f:
                log = f.read()
            self.assertIn(
                f'load backbone. in model from: '
                f'{stage0["checkpoint"]}', log)
            self.assertTrue(stage1['tested'].startswith(
                osp.join(run_dir, 'stage1', 'best_diagnostic_balanced')))
            # 4 BCCD classes, every test image counted once
            cm = result['metrics']['diagnostic/confusion_matrix']
            self.assertEqual(sum(map(sum, cm)), 70)
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            self.assertEqual(len(records), 1)
            self.assertEqual(records[0]['seed'], 3)
            for value in records[0]['metrics'].values():
                self.assertTrue(0.0 <= value <= 1.0)
            # Resume: nothing runs again, results stay.
            mtime = osp.getmtime(osp.join(run_dir, 'result.json'))
            self.assertEqual(self.tool.main(args), 0)
            self.assertEqual(
                osp.getmtime(osp.join(run_dir, 'result.json')), mtime)


class TestThreadShare(TestCase):
    """``--jobs 2`` on an 8-core machine: each run process gets
    ``OMP_NUM_THREADS=4`` (the local launcher's share), this process's
    environment stays as it was; an ``OMP_NUM_THREADS`` already set is
    kept (the run processes are mocked: nothing trains)."""

    def setUp(self):
        self.cwd = os.getcwd()
        os.chdir(ROOT)
        self.tool = load_tool()
        self.envs, self.lock = [], threading.Lock()

    def tearDown(self):
        os.chdir(self.cwd)

    def fake_run(self, cmd, env, **kwargs):
        """A run process that records its environment and succeeds."""
        with self.lock:
            self.envs.append(dict(env))
        run_dir = osp.dirname(cmd[-1])
        keys = ('accuracy', 'balanced_accuracy', 'macro_f1', 'sensitivity',
                'specificity', 'auc', 'macro_recall', 'macro_specificity')
        with open(osp.join(run_dir, 'result.json'), 'w') as f:
            json.dump(dict(metrics={f'diagnostic/{k}': 0.5 for k in keys},
                           wall_s=1.0), f)
        return subprocess.CompletedProcess(cmd, 0)

    def run_tool(self, environ):
        path = osp.join(ROOT, 'configs', 'protocols', 'demo.py')
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.dict(os.environ, environ), \
                mock.patch('os.cpu_count', return_value=8), \
                mock.patch('dl4all_mm.evaluation.protocol_worker.'
                           'subprocess.run', side_effect=self.fake_run):
            if 'OMP_NUM_THREADS' not in environ:
                os.environ.pop('OMP_NUM_THREADS', None)
            code = self.tool.main([path, '--work-dir', tmp, '--jobs', '2',
                                   '--no-progress'])
            after = os.environ.get('OMP_NUM_THREADS')
        return code, after

    def test_jobs_2_splits_the_cores(self):
        code, after = self.run_tool({})
        self.assertEqual(code, 0)
        self.assertIsNone(after)  # the caller's environment is unchanged
        self.assertEqual(len(self.envs), 4)  # 2 methods x 2 seeds
        self.assertEqual({e.get('OMP_NUM_THREADS') for e in self.envs},
                         {'4'})

    def test_threads_already_set_are_kept(self):
        code, after = self.run_tool({'OMP_NUM_THREADS': '3'})
        self.assertEqual(code, 0)
        self.assertEqual(after, '3')
        self.assertEqual({e.get('OMP_NUM_THREADS') for e in self.envs},
                         {'3'})


class TestSourceLeakage(TestCase):
    """A DL4ALL config whose source domain holds a re-encoded copy of a
    target test image is refused before anything trains (issue 18)."""

    @skipUnless(osp.exists(DEMO), 'embedded demo data missing')
    def test_reencoded_test_image_in_the_source(self):
        import shutil

        import cv2
        cwd = os.getcwd()
        os.chdir(ROOT)
        try:
            tool = load_tool()
            with tempfile.TemporaryDirectory() as tmp:
                source = osp.join(tmp, 'pbc')
                shutil.copytree(osp.join(ROOT, 'data', 'demo', 'pbc'),
                                source)
                with open(osp.join(ROOT, 'data', 'demo', 'bccd_wbc',
                                   'splits', 'test.txt')) as f:
                    rel = f.readline().rsplit(' ', 1)[0]
                test_image = osp.join(ROOT, 'data', 'demo', 'bccd_wbc', rel)
                copy = osp.join(source, 'basophil', 'copy.png')
                cv2.imwrite(copy, cv2.imread(test_image))
                path = osp.join(tmp, 'protocol.py')
                with open(path, 'w') as f:
                    f.write(
                        "methods = [dict(name='dl4all', stages=[dict(config="
                        "'configs/dl4all/dl4all_resnet18_demo_pbc2bccd.py', "
                        "cfg_options={'train_dataloader.dataset.datasets."
                        f"source.data_root': {source!r}}})])]\n"
                        'seeds = [0]\n')
                for extra in ([], ['--dry-run']):
                    err = io.StringIO()
                    with redirect_stderr(err):
                        code = tool.main([path, '--work-dir',
                                          osp.join(tmp, 'work'), *extra])
                    self.assertEqual(code, 2, err.getvalue())
                    message = err.getvalue()
                    self.assertIn('images with identical pixels', message)
                    self.assertIn(copy, message)
                    self.assertIn(rel, message)
                    self.assertFalse(osp.exists(osp.join(tmp, 'work',
                                                         'runs')))
        finally:
            os.chdir(cwd)
