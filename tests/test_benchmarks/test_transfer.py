"""``benchmarks/transfer.py``: a preset of ``tools/compare_transfer.py``;
the same protocol through its three front ends (the preset,
``compare_transfer.py``, ``run_protocol.py`` on the written protocol file)
gives byte-identical run specs."""
import csv
import glob
import importlib.util
import io
import json
import os
import os.path as osp
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
import transfer  # noqa: E402
import transfer_data as td  # noqa: E402

PBC = ['basophil', 'eosinophil', 'erythroblast', 'ig', 'lymphocyte',
       'monocyte', 'neutrophil', 'platelet']
ARIA = dict(Benign=8, Early=6, Pre=6, Pro=6)


def write_fake_root(root: str, size: int = 40) -> None:
    """pbc/ (8 classes x 3) and all_aria/ (26 fields) with manifests."""
    rng = np.random.default_rng(0)
    folders = dict(pbc={c: 3 for c in PBC}, all_aria=ARIA)
    for folder, classes in folders.items():
        rows = []
        for ci, (cls, n) in enumerate(classes.items()):
            os.makedirs(osp.join(root, folder, cls), exist_ok=True)
            for i in range(n):
                img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                img[..., ci % 3] += np.uint8(120 + 10 * ci)
                rel = f'{cls}/{cls}-{i:03d}.png'
                cv2.imwrite(osp.join(root, folder, rel), img)
                rows.append(dict(path=rel, label=cls))
        with open(osp.join(root, folder, 'manifest.csv'), 'w',
                  newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _quiet(fn, argv):
    with redirect_stderr(io.StringIO()) as err, \
            redirect_stdout(io.StringIO()):
        code = fn(argv)
    assert code == 0, err.getvalue()


def _specs(runs) -> list:
    return [json.dumps(r.to_dict(), sort_keys=True) for r in runs]


class _Capture:
    """Stands in for the runner: keeps the runs it is handed."""

    def __init__(self):
        self.runs = []

    def __call__(self, protocol, runs, work_dir, **kwargs):
        self.runs += list(runs)
        return [], []


class TestPreset(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.raw = osp.join(self.tmp, 'raw')
        write_fake_root(self.raw)

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp)

    def test_preset_is_short(self):
        with open(transfer.__file__) as f:
            self.assertLessEqual(len(f.readlines()), 60)

    def test_prepare_data(self):
        data = osp.join(self.tmp, 'data96')
        _quiet(transfer.main, ['--data-root', self.raw, '--prepare-data',
                               data])
        img = cv2.imread(osp.join(data, 'all_aria', 'Pre', 'Pre-000.jpg'))
        self.assertEqual(img.shape, (96, 96, 3))
        rows = td.read_manifest(osp.join(data, 'pbc'))
        self.assertEqual(len(rows), 24)
        self.assertTrue(all(r['path'].endswith('.jpg') for r in rows))
        with self.assertRaisesRegex(ValueError, 'new folder'):
            td.prepare_data(self.raw, self.raw)

    def test_prepare_data_drops_images_labelled_twice(self):
        """PBC holds one file under two classes; compare_transfer.py would
        refuse the prepared source, so both copies are left out."""
        import shutil
        pbc = osp.join(self.raw, 'pbc')
        shutil.copy(osp.join(pbc, 'basophil', 'basophil-000.png'),
                    osp.join(pbc, 'monocyte', 'monocyte-000.png'))
        data = osp.join(self.tmp, 'data96')
        with redirect_stdout(io.StringIO()) as out:
            td.prepare_data(self.raw, data)
        rows = td.read_manifest(osp.join(data, 'pbc'))
        self.assertEqual(len(rows), 22)
        paths = {r['path'] for r in rows}
        self.assertNotIn('basophil/basophil-000.jpg', paths)
        self.assertNotIn('monocyte/monocyte-000.jpg', paths)
        self.assertIn("labelled ['basophil', 'monocyte']", out.getvalue())

    def test_launcher_options(self):
        """The preset takes the launcher options of the other front ends:
        bad values exit 2 naming them; ``--launcher slurm --dry-run``
        writes one job array per target size and trains nothing."""
        work = osp.join(self.tmp, 'work')
        argv = ['--data-root', self.raw, '--work-dir', work, '--no-progress',
                '--target-sizes', '6,all', '--source-limit', '16',
                '--draws', '5']
        for extra, needle in ((['--launcher', 'pbs'], "--launcher 'pbs'"),
                              (['--jobs', '0'], '--jobs 0'),
                              (['--launcher', 'slurm', '--time', 'soon'],
                               "'soon'")):
            err = io.StringIO()
            with redirect_stderr(err), redirect_stdout(io.StringIO()):
                self.assertEqual(transfer.main(argv + extra), 2, extra)
            self.assertIn(needle, err.getvalue())
        _quiet(transfer.main, argv + [
            '--dry-run', '--launcher', 'slurm', '--partition', 'gpu',
            '--gpus-per-run', '1', '--time', '2:00:00', '--max-parallel',
            '4'])
        dirs = sorted(glob.glob(osp.join(work, 'n*', 'd*')))
        self.assertEqual(len(dirs), 2 * 5)  # sizes x draws
        for size_dir in dirs:
            with open(osp.join(size_dir, 'submitit', 'dry_run.sbatch')) as f:
                lines = f.read().splitlines()
            for line in ('#SBATCH --partition=gpu', '#SBATCH --time=120',
                         '#SBATCH --gpus-per-node=1',
                         '#SBATCH --array=0-6%4'):  # 7 methods
                self.assertIn(line, lines)
            self.assertFalse(osp.exists(osp.join(size_dir, 'runs')))
        self.assertFalse(osp.exists(osp.join(work, 'lr_search')))

    def test_front_ends_give_identical_run_specs(self):
        work = osp.join(self.tmp, 'work')
        extra = ['--work-dir', work, '--no-progress', '--target-sizes',
                 '6,all', '--source-limit', '16', '--seeds', '0,1',
                 '--draws', '2',
                 '--lr-search', '', '--iters', '8', '--methods',
                 'target-only,sequential,mixed,dl4all-joint,dl4all-greedy']
        patch = 'dl4all_mm.evaluation.transfer.compare.execute_protocol'
        preset, direct, tool = _Capture(), _Capture(), _Capture()
        with mock.patch(patch, preset):
            _quiet(transfer.main, ['--data-root', self.raw] + extra)
        with mock.patch(patch, direct):
            _quiet(transfer.compare_transfer.main,
                   transfer.preset_argv(self.raw, extra))
        spec = importlib.util.spec_from_file_location(
            'run_protocol', osp.join(ROOT, 'tools', 'run_protocol.py'))
        run_protocol = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(run_protocol)
        files = sorted(glob.glob(osp.join(work, 'n*', 'd*',
                                          'protocol.json')))
        self.assertEqual(len(files), 2 * 2)  # sizes x draws
        with mock.patch('dl4all_mm.evaluation.protocol_file.'
                        'execute_protocol', tool):
            for path in files:
                _quiet(run_protocol.main, [path, '--work-dir',
                                           osp.dirname(path)])
        self.assertEqual(len(preset.runs), 2 * 2 * 5 * 2)
        self.assertEqual(_specs(preset.runs), _specs(direct.runs))
        self.assertEqual(sorted(_specs(preset.runs)),
                         sorted(_specs(tool.runs)))
        # every config is a shipped file, named by an absolute path
        for run in preset.runs:
            for stage in run.stages:
                self.assertTrue(osp.isfile(stage['config']), stage)


if __name__ == '__main__':
    unittest.main()
