"""A Slurm job whose state reads UNKNOWN forever does not make the command
wait forever: after ``unknown_timeout_s`` it is cancelled and counted as
failed (resubmitted within ``retries``, then reported)."""
import contextlib
import json
import os.path as osp
import tempfile
import time
from pathlib import Path
from unittest import TestCase

from dl4all_mm.evaluation.launchers import LaunchError, SlurmLauncher
from dl4all_mm.evaluation.protocol_worker import RunFailed
from dl4all_mm.evaluation.run_spec import RunSpec


class FakeJob:
    """A submitted job that Slurm reports in ``states`` (one per look)."""

    def __init__(self, job_id, folder, states):
        self.job_id, self.states = str(job_id), list(states)
        self.paths = type('Paths', (), dict(
            stdout=Path(folder) / f'{job_id}.out',
            result_pickle=Path(folder) / f'{job_id}_result.pkl'))
        self.cancelled = False

    @property
    def state(self):
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def cancel(self, check=True):
        self.cancelled = True


class FakeExecutor:
    """Stands in for ``submitit.SlurmExecutor``: no cluster."""

    def __init__(self, folder, owner):
        self.folder, self.owner = folder, owner

    @contextlib.contextmanager
    def batch(self):
        yield

    def submit(self, fn, run_dir):
        job = FakeJob(100 + len(self.owner.jobs), self.folder,
                      self.owner.job_states.pop(0))
        self.owner.jobs.append(job)
        return job


def make_launcher(job_states, **kwargs):
    launcher = SlurmLauncher(dry_run=True, progress=False, poll_s=0.01,
                             **kwargs)
    launcher.jobs, launcher.job_states = [], list(job_states)
    launcher._executor = lambda folder: FakeExecutor(folder, launcher)
    return launcher


class TestUnknownState(TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.run = RunSpec(method='m', seed=0, fold=None,
                           stages=[dict(config='c.py', cfg_options={})])
        self.run_dir = osp.join(self.tmp.name, 'runs', self.run.name)
        Path(self.run_dir).mkdir(parents=True)

    def tearDown(self):
        self.tmp.cleanup()

    def test_unknown_forever_fails_after_the_timeout_and_retries(self):
        launcher = make_launcher([['UNKNOWN'], ['UNKNOWN']], retries=1,
                                 unknown_timeout_s=0.2)
        start = time.time()
        launcher.launch([(self.run, self.run_dir)], self.tmp.name)
        self.assertLess(time.time() - start, 30)
        self.assertEqual(len(launcher.jobs), 2)  # resubmitted once
        self.assertTrue(all(job.cancelled for job in launcher.jobs))
        self.assertEqual(launcher.pending, [])
        with self.assertRaisesRegex(RunFailed, r'job 101, 2 attempt\(s\)\): '
                                    'job 101 read UNKNOWN'):
            launcher(self.run, self.run_dir)

    def test_unknown_for_a_moment_is_waited_on(self):
        launcher = make_launcher([['UNKNOWN', 'UNKNOWN', 'RUNNING',
                                   'FAILED']], retries=0,
                                 unknown_timeout_s=60)
        launcher.launch([(self.run, self.run_dir)], self.tmp.name)
        self.assertEqual(len(launcher.jobs), 1)
        self.assertFalse(launcher.jobs[0].cancelled)
        with self.assertRaisesRegex(RunFailed, 'without a result'):
            launcher(self.run, self.run_dir)

    def test_unknown_since_is_kept_across_commands(self):
        launcher = make_launcher([['UNKNOWN']], wait=False,
                                 unknown_timeout_s=0.3)
        launcher.launch([(self.run, self.run_dir)], self.tmp.name)
        self.assertEqual(launcher.pending, ['m/seed0'])
        with open(osp.join(self.run_dir, 'job.json')) as f:
            state = json.load(f)
        self.assertIn('unknown_since', state)
        time.sleep(0.4)
        # a later command, same job still UNKNOWN: past the bound
        later = make_launcher([['RUNNING']], wait=False, retries=1,
                              unknown_timeout_s=0.3)
        later.live = dict(launcher.live)
        later.launch([(self.run, self.run_dir)], self.tmp.name)
        self.assertTrue(launcher.jobs[0].cancelled)
        self.assertEqual(len(later.jobs), 1)  # resubmitted
        with open(osp.join(self.run_dir, 'job.json')) as f:
            state = json.load(f)
        self.assertEqual((state['job_id'], state['attempts']), ('100', 2))
        self.assertNotIn('unknown_since', state)

    def test_bad_timeout(self):
        with self.assertRaisesRegex(LaunchError, '--unknown-timeout -1'):
            SlurmLauncher(dry_run=True, unknown_timeout_s=-1)
