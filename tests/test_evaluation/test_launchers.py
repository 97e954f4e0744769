"""Launcher options, bad input (exit 2 naming the value) on both front ends
and the sbatch script of ``--launcher slurm --dry-run`` (nothing trains)."""
import contextlib
import importlib.util
import io
import os
import os.path as osp
import sys
import tempfile
from unittest import TestCase, mock

from dl4all_mm.evaluation.launchers import (LAUNCHERS, LaunchError,
                                            LocalLauncher, SlurmLauncher)
from dl4all_mm.evaluation.launchers.slurm_options import (parse_extra,
                                                          parse_mem,
                                                          parse_time)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROTOCOL = """
methods = [dict(name='target-only',
                config='configs/baselines/target-only_resnet18_demo_bccd.py')]
seeds = [0, 1, 2]
"""


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(main, argv):
    """``(exit code, stdout + stderr)`` of a front end's ``main``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(argv)
        except SystemExit as err:  # argparse
            code = err.code
    return code, out.getvalue()


class TestLauncherOptions(TestCase):

    def test_parse(self):
        self.assertEqual(parse_time('90'), 90)
        self.assertEqual(parse_time('1:30:00'), 90)
        self.assertEqual(parse_time('2-00:00:00'), 2880)
        self.assertEqual(parse_time('0:30'), 1)  # 30 s, rounded up
        for bad in ('abc', '1h', '0', ''):
            with self.assertRaisesRegex(LaunchError, f"--time '{bad}'"):
                parse_time(bad)
        self.assertEqual(parse_mem('16GB'), '16G')
        self.assertEqual(parse_mem('4000m'), '4000M')
        self.assertEqual(parse_mem('8'), '8G')
        with self.assertRaisesRegex(LaunchError, "'lots'"):
            parse_mem('lots')
        self.assertEqual(parse_extra(['account=lab', '--qos=short']),
                         dict(account='lab', qos='short'))
        with self.assertRaisesRegex(LaunchError, "'nokey'"):
            parse_extra(['nokey'])

    def test_registry(self):
        self.assertIs(LAUNCHERS.get('LocalLauncher'), LocalLauncher)
        self.assertIs(LAUNCHERS.get('SlurmLauncher'), SlurmLauncher)
        with self.assertRaisesRegex(LaunchError, '--jobs 0'):
            LocalLauncher(jobs=0)
        with self.assertRaisesRegex(LaunchError, '--retries -1'):
            LocalLauncher(retries=-1)


class TestFrontEndErrors(TestCase):
    """Every bad launcher input exits 2 and names the value."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.protocol = osp.join(self.tmp.name, 'protocol.py')
        with open(self.protocol, 'w') as f:
            f.write(PROTOCOL)
        self.cwd = os.getcwd()
        os.chdir(ROOT)
        work = osp.join(self.tmp.name, 'work')
        self.fronts = {
            'run_protocol': (load_tool('run_protocol').main,
                             [self.protocol, '--work-dir', work]),
            'compare_transfer': (load_tool('compare_transfer').main, [
                '--source', self.tmp.name, '--target', self.tmp.name,
                '--work-dir', work
            ]),
        }

    def tearDown(self):
        os.chdir(self.cwd)
        self.tmp.cleanup()

    def check(self, extra, *expected):
        for name, (main, argv) in self.fronts.items():
            code, out = call(main, argv + extra)
            self.assertEqual(code, 2, f'{name} {extra}: {out}')
            for text in expected:
                self.assertIn(text, out, f'{name} {extra}')

    def test_bad_input_exits_2(self):
        self.check(['--launcher', 'pbs'], "--launcher 'pbs'", 'local, slurm')
        self.check(['--jobs', '0'], '--jobs 0')
        self.check(['--launcher', 'slurm', '--time', 'soon'], "'soon'")
        self.check(['--launcher', 'slurm', '--dry-run', '--slurm-extra',
                    'oops'], "'oops'")

    def test_slurm_without_submitit(self):
        with mock.patch.dict(sys.modules, {'submitit': None}):
            self.check(['--launcher', 'slurm'], 'needs submitit',
                       'pip install')

    def test_slurm_dry_run_writes_the_sbatch_script(self):
        main, argv = self.fronts['run_protocol']
        code, out = call(main, argv + [
            '--dry-run', '--launcher', 'slurm', '--partition', 'gpu',
            '--gpus-per-run', '1', '--cpus-per-run', '4', '--mem-per-run',
            '16G', '--time', '1:30:00', '--max-parallel', '2',
            '--slurm-extra', 'account=lab', '--slurm-extra', 'qos=short'
        ])
        self.assertEqual(code, 0, out)
        work = argv[-1]
        script = osp.join(work, 'submitit', 'dry_run.sbatch')
        self.assertIn(script, out)
        with open(script) as f:
            lines = f.read().splitlines()
        for line in ('#SBATCH --partition=gpu', '#SBATCH --gpus-per-node=1',
                     '#SBATCH --cpus-per-task=4', '#SBATCH --mem=16G',
                     '#SBATCH --time=90', '#SBATCH --array=0-2%2',
                     '#SBATCH --account=lab', '#SBATCH --qos=short'):
            self.assertIn(line, lines)
        self.assertTrue(any('submitit.core._submit' in x for x in lines))
        with open(osp.join(work, 'submitit', 'dry_run_runs.txt')) as f:
            runs = f.read().splitlines()
        self.assertEqual(runs[2], '2 ' + osp.join(
            osp.abspath(work), 'runs', 'target-only', 'seed2'))
        # nothing submitted, nothing trained
        self.assertFalse(osp.exists(osp.join(work, 'runs')))
        self.assertEqual(sorted(os.listdir(osp.join(work, 'submitit'))),
                         ['dry_run.sbatch', 'dry_run_runs.txt'])

    def test_compare_transfer_slurm_dry_run(self):
        from tests.test_evaluation.test_transfer.fixtures import make_task
        paths = make_task(self.tmp.name)
        work = osp.join(self.tmp.name, 'compare')
        main = self.fronts['compare_transfer'][0]
        code, out = call(main, [
            '--source', paths['source'], '--target', paths['target'],
            '--class-map', 'Benign=normal;Early,Pre=ALL', '--target-sizes',
            '8,16', '--img-size', '32', '--seeds', '0', '--methods',
            'target-only,dl4all-joint', '--work-dir', work, '--no-progress',
            '--dry-run', '--launcher', 'slurm', '--gpus-per-run', '1',
            '--time', '2:00:00'
        ])
        self.assertEqual(code, 0, out)
        for size in (8, 16):  # one job array per target size and draw
            with open(osp.join(work, f'n{size}', 'd0', 'submitit',
                               'dry_run.sbatch')) as f:
                text = f.read()
            for line in ('#SBATCH --array=0-1%2', '#SBATCH --time=120',
                         '#SBATCH --gpus-per-node=1'):
                self.assertIn(line, text)
        self.assertFalse(osp.exists(osp.join(work, 'n8', 'd0', 'runs')))
