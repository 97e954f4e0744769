"""``tools/compare_transfer.py`` (issue 18, items 1-2): no target
validation/test image reaches a training set, by content; a failing command
leaves the work folder byte-identical; another task is refused; adding a
size retrains nothing finished."""
import json
import os
import os.path as osp
import shutil
import tempfile
import unittest
from unittest import mock

import cv2

from tests.test_evaluation.test_transfer.fixtures import (make_task,
                                                          write_images)
from tests.test_tools.test_compare_transfer import CLASS_MAP, _run


def snapshot(folder: str) -> dict:
    """Relative path -> bytes of every file under ``folder``."""
    out = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, folder)] = f.read()
    return out


class WorkCase(unittest.TestCase):
    """Generated folders and a work folder that already holds a dry run."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.paths = make_task(self.tmp)
        self.work = osp.join(self.tmp, 'work')
        code, out, err = _run(self.args('--dry-run'))
        self.assertEqual(code, 0, out + err)
        self.before = snapshot(self.work)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def args(self, *extra, source=None):
        return ['--source', source or self.paths['source'], '--target',
                self.paths['target'], '--class-map', CLASS_MAP,
                '--group-regex', r'/(P\d+)_', '--target-sizes', '8,16',
                '--img-size', '32', '--work-dir', self.work,
                '--no-progress', *extra]

    def assert_refused(self, argv, *needles) -> str:
        """Exit 2, each needle in the message, work folder untouched,
        nothing trained."""
        with mock.patch('dl4all_mm.evaluation.transfer.compare.'
                        'execute_protocol') as train:
            code, out, err = _run(argv)
        train.assert_not_called()
        self.assertEqual(code, 2, out + err)
        self.assertNotIn('Traceback', err)
        for needle in needles:
            self.assertIn(needle, err)
        self.assertEqual(snapshot(self.work), self.before)
        return err

    def listed(self, name):
        with open(osp.join(self.work, 'data', f'{name}.txt')) as f:
            return [line.rsplit(' ', 1)[0] for line in f]


class TestNoHeldOutImageInTraining(WorkCase):

    def test_source_equal_to_target_is_refused(self):
        test = self.listed('test')
        err = self.assert_refused(
            self.args(source=self.paths['target']),
            'target validation/test image(s) are also source images',
            'source vs test: 14 files in both', test[0],
            '--allow-source-overlap drop')
        self.assertIn('28 target validation/test image(s)', err)

    def test_reencoded_copy_in_the_source_is_refused(self):
        test_image = self.listed('test')[0]
        copy = osp.join(self.paths['source'], 'a', 'copy.bmp')
        cv2.imwrite(copy, cv2.imread(test_image))  # other bytes, same pixels
        self.assert_refused(self.args(), '1 target validation/test image',
                            'identical pixels', copy, test_image)

    def test_drop_leaves_the_overlap_out_and_says_so(self):
        src = osp.join(self.tmp, 'all')  # a lab's "all images" folder
        shutil.copytree(self.paths['source'], src)
        val, test = self.listed('val'), self.listed('test')
        for path in val[:2] + test[:3]:
            shutil.copy(path, osp.join(src, 'b', 'x_' + osp.basename(path)))
        self.assert_refused(self.args(source=src), '5 target validation')
        code, out, err = _run(self.args('--allow-source-overlap', 'drop',
                                        '--overwrite', '--dry-run',
                                        source=src))
        self.assertEqual(code, 0, out + err)
        self.assertIn('5 source image(s) shared with the target '
                      'validation/test split left out', out)
        source = self.listed('source')
        self.assertEqual(len(source), 36)
        self.assertFalse([p for p in source if 'x_' in osp.basename(p)])

    def test_training_image_copy_in_test_is_refused(self):
        test = osp.join(self.tmp, 'test')
        write_images(test, dict(Benign=3, Early=3), seed=9)
        train = [p for p in self.listed('train_n16_d0') if '/Early/' in p][0]
        shutil.copy(train, osp.join(test, 'Early', 'copy.png'))
        self.assert_refused(self.args('--target-test', test),
                            'also training', train,
                            osp.join(test, 'Early', 'copy.png'))


class TestWorkFolder(WorkCase):

    def test_another_task_is_refused_unless_overwrite(self):
        self.assert_refused(self.args('--split', '70,15,15'), 'split',
                            '[0.6, 0.2, 0.2] before', '--overwrite')
        self.assert_refused(self.args('--img-size', '48'), 'img_size')
        code, out, err = _run(self.args('--split', '70,15,15', '--overwrite',
                                        '--dry-run'))
        self.assertEqual(code, 0, out + err)
        with open(osp.join(self.work, 'data', 'task.json')) as f:
            self.assertEqual(json.load(f)['split'], [0.7, 0.15, 0.15])
        self.assertFalse([n for n in os.listdir(self.work)
                          if n.startswith('.data')])  # no temporary left

    def test_unknown_data_folder_is_refused(self):
        os.remove(osp.join(self.work, 'data', 'task.json'))
        self.before = snapshot(self.work)
        self.assert_refused(self.args(), 'unknown task', 'task.json')

    def test_dry_run_writes_no_command_and_prints_the_plan(self):
        self.assertFalse(osp.exists(osp.join(self.work, 'command.txt')))
        code, out, err = _run(self.args('--dry-run'))
        self.assertEqual(code, 0, out + err)
        self.assertIn('target train: 42 images, 6 groups; per class: '
                      'normal 18, ALL 24', out)
        self.assertIn('target size 8 draw 0: normal 3, ALL 5', out)
        self.assertIn('target size 16 draw 4: ', out)  # 5 draws
        self.assertIn('source: 36 images, classes a 12, b 12, c 12', out)

    def test_a_new_size_changes_no_other_fingerprint(self):
        def fingerprint(size):
            with open(osp.join(self.work, f'n{size}', 'd0',
                                   'protocol.json')) as f:
                return json.load(f)['env']['DL4ALL_COMPARE_DATA']

        before = {s: fingerprint(s) for s in (8, 16)}
        argv = self.args('--dry-run')
        argv[argv.index('8,16')] = '8,12,16,all'
        code, out, err = _run(argv)
        self.assertEqual(code, 0, out + err)
        self.assertEqual({s: fingerprint(s) for s in (8, 16)}, before)
        self.assertNotEqual(fingerprint(12), before[8])


class TestResume(unittest.TestCase):

    def test_adding_a_size_retrains_nothing_finished(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = osp.join(tmp, 'My Data')  # spaces work end to end
            paths = make_task(tmp)
            work = osp.join(tmp, 'work dir')
            argv = ['--source', paths['source'], '--target',
                    paths['target'], '--class-map', CLASS_MAP,
                    '--group-regex', r'/(P\d+)_', '--target-sizes', '8',
                    '--methods', 'target-only', '--seeds', '0',
                    '--draws', '1', '--iters', '2', '--img-size', '32',
                    '--backbone', 'resnet18', '--recipe', 'lr=0.01', 'bn_recalib=0',
                    '--no-progress', '--work-dir', work]
            code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            record = osp.join(work, 'n8', 'd0', 'runs', 'target-only',
                              'seed0-foldn8-d0', 'record.json')
            with open(record, 'rb') as f:
                first = f.read()
            stamp = os.stat(record).st_mtime_ns
            argv[argv.index('8')] = '8,16'
            code, out, err = _run(argv)
            self.assertEqual(code, 0, out + err)
            self.assertEqual(os.stat(record).st_mtime_ns, stamp)
            with open(record, 'rb') as f:
                self.assertEqual(f.read(), first)
            with open(osp.join(work, 'results.json')) as f:
                sizes = sorted(r['target_size'] for r in json.load(f))
            self.assertEqual(sizes, [8, 16])
            with open(osp.join(work, 'command.txt')) as f:
                self.assertIn('--target-sizes 8,16', f.read())
