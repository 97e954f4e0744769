"""A wheel built from the repository ships the configs the package needs
at run time (``dl4all_mm/.mim/configs``) and finds them without a clone."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NEEDED = ('dl4all/dl4all-regular_resnet18_pbc2aria-lowdata.py',
          'dl4all/dl4all-greedy_resnet18_pbc2aria-lowdata.py',
          'baselines/target-only_resnet18_pbc2aria-lowdata.py',
          'baselines/sequential-stage1_resnet18_pbc.py',
          'baselines/sequential-stage2_resnet18_pbc2aria-lowdata.py',
          'baselines/mixed-multitask_resnet18_pbc2aria-lowdata.py',
          '_base_/recipes/dl4all_pbc2aria_lowdata.py',
          'protocols/pbc_to_aria_lowdata.py')
CHECK = '''
import sys
from mmengine.config import Config
import dl4all_mm
from dl4all_mm.evaluation.protocol_file import config_file
from dl4all_mm.evaluation.transfer import methods as tm
site, names = sys.argv[1], sys.argv[2:]
assert dl4all_mm.__file__.startswith(site), dl4all_mm.__file__
for name in names:
    path = config_file(name)
    assert path.startswith(site) and '.mim' in path, path
    Config.fromfile(path)
stage = tm.stages('dl4all-joint', 12, 'resnet18',
                  tm.recipe_of('dl4all-joint'), [1.0, 1.0], 240)[0]
assert '.mim' in stage['config'], stage['config']
print('ok', len(names))
'''


class TestWheel(unittest.TestCase):

    def test_wheel_ships_loadable_configs(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = osp.join(tmp, 'src')
            shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
                '.git', '.venv', 'data', 'docs', 'tests', 'work_dirs',
                '__pycache__', '*.egg-info', 'build', '.mim'))
            subprocess.run(
                [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                 '--no-build-isolation', '-q', '-w', osp.join(tmp, 'out'),
                 src], check=True, capture_output=True, timeout=300)
            wheel = [n for n in os.listdir(
                osp.join(tmp, 'out')) if n.endswith('.whl')][0]
            site = osp.join(tmp, 'site')
            with zipfile.ZipFile(osp.join(tmp, 'out', wheel)) as z:
                names = set(z.namelist())
                for name in NEEDED:
                    self.assertIn(f'dl4all_mm/.mim/configs/{name}', names)
                z.extractall(site)
            env = dict(os.environ, PYTHONPATH=site)
            out = subprocess.run(
                [sys.executable, '-c', CHECK, site, *NEEDED], cwd=tmp, env=env,
                capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr[-3000:])
            self.assertIn(f'ok {len(NEEDED)}', out.stdout)

    def test_missing_config_names_the_roots(self):
        from dl4all_mm.evaluation.protocol_file import (CONFIG_ROOTS,
                                                        config_file)
        self.assertEqual(config_file('configs/protocols/demo.py'),
                         osp.join(ROOT, 'configs', 'protocols', 'demo.py'))
        with self.assertRaisesRegex(FileNotFoundError, 'nope.py') as ctx:
            config_file('dl4all/nope.py')
        self.assertIn(CONFIG_ROOTS[-1], str(ctx.exception))

