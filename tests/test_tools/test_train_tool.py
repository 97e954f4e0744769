"""tools/train.py --tensorboard, and the launch scripts finding .venv."""
import glob
import importlib.util
import os
import os.path as osp
import random
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'dl4all', 'dl4all_resnet18_demo_pbc2bccd.py')
_spec = importlib.util.spec_from_file_location(
    'train_tool', osp.join(ROOT, 'tools', 'train.py'))
train_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_tool)


class TestTensorboardFlag(unittest.TestCase):

    def test_flag_adds_the_backend_and_the_runner_writes_events(self):
        from mmengine.runner import Runner
        with tempfile.TemporaryDirectory() as tmp:
            argv = [DEMO, '--work-dir', tmp, '--tensorboard']
            with mock.patch.object(sys, 'argv', ['train.py'] + argv):
                args = train_tool.parse_args()
            cfg = train_tool.merge_args(Config.fromfile(DEMO), args)
            types = [b['type'] for b in cfg.visualizer.vis_backends]
            self.assertEqual(types,
                             ['LocalVisBackend', 'TensorboardVisBackend'])
            train_tool.add_tensorboard(cfg)  # idempotent
            self.assertEqual(len(cfg.visualizer.vis_backends), 2)
            runner = Runner.from_cfg(cfg)
            runner.visualizer.add_scalars(dict(loss=1.0), step=1)
            runner.visualizer.close()
            events = glob.glob(
                osp.join(tmp, '*', 'vis_data', 'events.out.tfevents.*'))
            self.assertEqual(len(events), 1, os.listdir(tmp))

    def test_without_the_flag_nothing_changes(self):
        with mock.patch.object(sys, 'argv', ['train.py', DEMO]):
            args = train_tool.parse_args()
        cfg = train_tool.merge_args(Config.fromfile(DEMO), args)
        self.assertEqual([b['type'] for b in cfg.visualizer.vis_backends],
                         ['LocalVisBackend'])


@unittest.skipUnless(
    osp.isfile(osp.join(ROOT, '.venv', 'bin', 'python')),
    'needs the .venv that `make install` creates')
class TestLaunchScriptsFindVenv(unittest.TestCase):

    def test_dist_train_runs_with_a_bare_shell(self):
        """No activated env, no torch on PATH: the script uses .venv."""
        env = {
            'PATH': '/usr/bin:/bin',
            'HOME': os.environ.get('HOME', '/tmp'),
            'PORT': str(random.randint(20000, 40000)),
        }
        bash = shutil.which('bash')
        proc = subprocess.run(
            [bash, 'tools/dist_train.sh', DEMO, '1', '--help'],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertIn('--tensorboard', proc.stdout)


if __name__ == '__main__':
    unittest.main()
