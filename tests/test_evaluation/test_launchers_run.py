"""Launchers for real on tiny runs (a few iterations of ResNet-18 at 64 px
on the embedded demo data): ``--jobs 2`` with the command killed mid-run
(re-running it trains the killed run only), then the Slurm path through
submitit's local executor: ``--no-wait``, one job killed mid-run, the same
command collects and resubmits it, and the report is the local one."""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import tempfile
import time
from unittest import TestCase, skipUnless

from .test_launchers import ROOT, call, load_tool

DEMO = osp.join(ROOT, 'data', 'demo', 'bccd_wbc', 'splits', 'train.txt')
TINY = {
    'train_cfg.val_interval': 3,
    'default_hooks.checkpoint.interval': 3,
    'param_scheduler.0.begin': 0,
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
    'test_dataloader.num_workers': 0,
    'test_dataloader.persistent_workers': False,
}
CONFIG = 'configs/baselines/target-only_resnet18_demo_bccd.py'
# 'short' trains 3 steps; 'long' 15 (time to kill it mid-run).
PROTOCOL = f"""
methods = [
    dict(name='short', config='{CONFIG}',
         cfg_options=dict({TINY!r}, **{{'train_cfg.max_iters': 3}})),
    dict(name='long', config='{CONFIG}',
         cfg_options=dict({TINY!r}, **{{'train_cfg.max_iters': 15}})),
]
references = ['long']
seeds = [0]
"""
SHORT, LONG = 'short/seed0', 'long/seed0'


def wait_for(predicate, timeout=300.0):
    start = time.time()
    while not predicate():
        if time.time() - start > timeout:
            raise TimeoutError('condition not reached')
        time.sleep(0.05)


def load(path):
    with open(path) as f:
        return json.load(f)


def report(work):
    """results.json without wall times and results.md without the time
    column: what must not depend on the launcher."""
    records = load(osp.join(work, 'results.json'))
    for record in records:
        record.pop('wall_s')
    with open(osp.join(work, 'results.md')) as f:
        text = re.sub(r'\| \d+ \|\n', '| T |\n', f.read())
    return records, text


@skipUnless(osp.exists(DEMO), 'embedded demo data missing')
class TestLaunchersRun(TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.protocol = osp.join(self.tmp.name, 'protocol.py')
        with open(self.protocol, 'w') as f:
            f.write(PROTOCOL)
        self.cwd = os.getcwd()
        os.chdir(ROOT)
        self.main = load_tool('run_protocol').main

    def tearDown(self):
        os.chdir(self.cwd)
        self.tmp.cleanup()

    def args(self, work, *extra):
        return [self.protocol, '--work-dir', work, '--no-progress', *extra]

    def run_dir(self, work, name):
        return osp.join(work, 'runs', name)

    def kill_long_when_it_trains(self, work, also=None):
        """Wait until 'long' trains (and ``also`` exists), then return."""
        long_dir = self.run_dir(work, LONG)
        wait_for(lambda: osp.exists(osp.join(long_dir, 'stage0')) and (
            also is None or osp.exists(also)))
        return long_dir

    def test_local_then_slurm_with_killed_runs(self):
        # 1. local, 2 runs at once; the command (and with it the run
        # processes) killed while 'long' trains; the same command again
        # trains 'long' only.
        local = osp.join(self.tmp.name, 'local')
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'run_protocol.py'),
               *self.args(local, '--jobs', '2')]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                start_new_session=True)
        short = osp.join(self.run_dir(local, SHORT), 'record.json')
        try:
            long_dir = self.kill_long_when_it_trains(local, also=short)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.assertFalse(osp.exists(osp.join(long_dir, 'record.json')))
        mtime = osp.getmtime(short)
        code, out = call(self.main, self.args(local, '--jobs', '2'))
        self.assertEqual(code, 0, out)
        self.assertEqual(osp.getmtime(short), mtime)  # not trained again
        record = load(osp.join(long_dir, 'record.json'))
        self.assertEqual(record['log'], osp.join(long_dir, 'log.txt'))

        # 2. slurm through submitit's local executor, --no-wait: returns at
        # once; the 'long' job is then killed (as a preemption would); the
        # same command without --no-wait collects 'short' and resubmits
        # 'long'; the report is the local one.
        slurm = osp.join(self.tmp.name, 'slurm')
        argv = self.args(slurm, '--launcher', 'slurm', '--submitit-cluster',
                         'local', '--time', '10')
        code, out = call(self.main, argv + ['--no-wait'])
        self.assertEqual(code, 0, out)
        self.assertIn('2 runs submitted or running', out)
        short_job = load(osp.join(self.run_dir(slurm, SHORT),
                                  'job.json'))['job_id']
        long_dir = self.kill_long_when_it_trains(slurm)
        killed = load(osp.join(long_dir, 'job.json'))['job_id']
        os.kill(int(killed), signal.SIGINT)  # what LocalJob.cancel() sends
        code, out = call(self.main, argv)
        self.assertEqual(code, 0, out)
        self.assertIn('2 of 2 runs done', out)
        record = load(osp.join(long_dir, 'record.json'))
        self.assertNotEqual(record['job_id'], killed)
        self.assertEqual(record['attempts'], 2)
        self.assertTrue(osp.isfile(record['log']), record['log'])
        record = load(osp.join(self.run_dir(slurm, SHORT), 'record.json'))
        self.assertEqual((record['job_id'], record['attempts']),
                         (short_job, 1))
        self.assertEqual(report(slurm), report(local))

        # 3. the same command again: nothing is submitted
        mtime = osp.getmtime(osp.join(long_dir, 'record.json'))
        code, out = call(self.main, argv)
        self.assertEqual(code, 0, out)
        self.assertEqual(osp.getmtime(osp.join(long_dir, 'record.json')),
                         mtime)
