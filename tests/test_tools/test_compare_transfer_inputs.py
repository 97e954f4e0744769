"""``tools/compare_transfer.py`` (issue 18, items 3-4): every bad input of
a real lab's folders exits 2 naming the file or value, no traceback, the
work folder left byte-identical; spaces, symlinked folders, NFD names and
``x=A,y=A,z=B`` class maps work."""
import os
import os.path as osp
import shutil
import unicodedata
from unittest import mock

import cv2
import numpy as np

from tests.test_evaluation.test_transfer.fixtures import write_images
from tests.test_tools.test_compare_transfer import _run
from tests.test_tools.test_compare_transfer_work import WorkCase, snapshot


def _set(argv, option, value):
    argv = list(argv)
    argv[argv.index(option) + 1] = value
    return argv


class TestFiles(WorkCase):

    def test_broken_symlink(self):
        link = osp.join(self.paths['target'], 'Early', 'gone.png')
        os.symlink(osp.join(self.tmp, 'nowhere.png'), link)
        self.assert_refused(self.args(), link, 'broken symbolic link')

    def test_permission_denied(self):
        # run as root here, so chmod 000 would not stop a read: the read
        # of the image's bytes is mocked to fail as it would for a user
        from PIL import Image
        early = osp.join(self.paths['target'], 'Early')
        bad = osp.join(early, sorted(os.listdir(early))[0])
        real_open = Image.open

        def deny(path, *args, **kwargs):
            if str(path) == bad:
                raise PermissionError(13, 'Permission denied', path)
            return real_open(path, *args, **kwargs)

        with mock.patch.object(Image, 'open', deny):
            self.assert_refused(self.args(), bad, 'Permission denied')

    def test_truncated_jpeg(self):
        bad = osp.join(self.paths['target'], 'Early', 'P1_cut.jpg')
        img = np.random.default_rng(0).integers(0, 255, (64, 64, 3),
                                                 np.uint8)
        ok, data = cv2.imencode('.jpg', img)
        with open(bad, 'wb') as f:
            f.write(data.tobytes()[:len(data) * 2 // 3])
        self.assert_refused(self.args(), 'unreadable image', bad,
                            'truncated')

    def test_one_image_in_two_class_folders(self):
        src = osp.join(self.paths['target'], 'Benign', 'P1_Benign_001.png')
        dst = osp.join(self.paths['target'], 'Early', 'P1_again.png')
        shutil.copy(src, dst)
        self.assert_refused(self.args(), 'one image under two classes', src,
                            dst)

    def test_symlinked_subfolder_is_followed(self):
        extra = osp.join(self.tmp, 'extra')
        write_images(extra, dict(more=10), seed=7, patients=10)
        os.symlink(osp.join(extra, 'more'),
                   osp.join(self.paths['target'], 'Early', 'more'))
        code, out, err = _run(self.args('--dry-run', '--overwrite'))
        self.assertEqual(code, 0, out + err)
        total = sum(int(line.split(': ')[1].split()[0])
                    for line in out.splitlines()
                    if line.startswith('target ') and 'images' in line)
        self.assertEqual(total, 80)

    def test_symlink_loop(self):
        loop = osp.join(self.paths['target'], 'Early', 'loop')
        os.symlink(osp.join(self.paths['target'], 'Early'), loop)
        self.assert_refused(self.args(), 'symbolic link loop', loop)

    def test_nfd_and_nfc_folders_are_one_class(self):
        nfc = unicodedata.normalize('NFC', 'Précurseur')
        nfd = unicodedata.normalize('NFD', 'Précurseur')
        write_images(osp.join(self.paths['target']), {nfc: 4}, seed=3)
        write_images(osp.join(self.paths['target']), {nfd: 4}, seed=4)
        self.assert_refused(self.args(), 'one class name', 'NFC')

    def test_nfd_folder_matches_an_nfc_class_map(self):
        nfd = unicodedata.normalize('NFD', 'Précurseur')
        os.rename(osp.join(self.paths['target'], 'Pre'),
                  osp.join(self.paths['target'], nfd))
        code, out, err = _run(_set(self.args('--dry-run', '--overwrite'),
                                   '--class-map',
                                   'Benign=normal;Early,Précurseur=ALL'))
        self.assertEqual(code, 0, out + err)


class TestWorkFolderInputs(WorkCase):

    def test_work_dir_is_a_file(self):
        path = osp.join(self.tmp, 'afile')
        with open(path, 'w') as f:
            f.write('keep')
        code, out, err = _run(_set(self.args(), '--work-dir', path))
        self.assertEqual(code, 2, out + err)
        self.assertIn(f'{path} is a file', err)
        with open(path) as f:
            self.assertEqual(f.read(), 'keep')

    def test_work_dir_read_only(self):
        with mock.patch('dl4all_mm.evaluation.transfer.work_data.os.access',
                        return_value=False):
            self.assert_refused(self.args(), self.work, 'not writable')

    def test_paths_with_spaces(self):
        lab = osp.join(self.tmp, 'My Data')
        shutil.copytree(self.paths['target'], osp.join(lab, 'tgt set'))
        argv = _set(self.args('--dry-run'), '--target',
                    osp.join(lab, 'tgt set'))
        argv = _set(argv, '--work-dir', osp.join(lab, 'work dir'))
        code, out, err = _run(argv)
        self.assertEqual(code, 0, out + err)
        with open(osp.join(lab, 'work dir', 'data', 'val.txt')) as f:
            lines = f.read().splitlines()
        for line in lines:  # split as mmpretrain's CustomDataset does
            path, label = line.strip().rsplit(' ', 1)
            self.assertTrue(osp.isfile(path) and ' ' in path, path)


class TestValues(WorkCase):

    def test_img_size(self):
        for value in ('1', '0', '-5', '10000'):
            self.assert_refused(_set(self.args(), '--img-size', value),
                                f'--img-size {value}', '16 to 1024')
        self.assert_refused(_set(self.args('--allow-large-images'),
                                 '--img-size', '5000'), '16 to 4096')

    def test_split(self):
        self.assert_refused(self.args('--split', '0,0,0'), "'0,0,0'",
                            'adds up to 0')
        self.assert_refused(self.args('--split', '50,20,20'), 'adds up to 90')
        self.assert_refused(self.args('--split', '100,0,0'), 'positive')
        test = osp.join(self.tmp, 'test')
        write_images(test, dict(Benign=3, Early=3), seed=9)
        self.assert_refused(self.args('--split', '100', '--target-test',
                                      test), "--split '100'", 'TRAIN,VAL')

    def test_seeds(self):
        self.assert_refused(self.args('--seeds', '0,1,0'), 'seed(s) [0]',
                            'twice')
        self.assert_refused(self.args('--seeds', ','), 'at least one seed')

    def test_source_limit(self):
        for value in ('-3', '0', '2'):
            self.assert_refused(self.args('--source-limit', value),
                                f'source limit {value}'
                                if value == '2' else
                                f'--source-limit {value}', 'source limit')

    def test_one_class_target_and_source(self):
        self.assert_refused(_set(self.args(), '--class-map',
                                 'Benign,Early,Pre=ALL'), '--target',
                            'one class only', 'ALL')
        one = osp.join(self.tmp, 'one')
        write_images(one, dict(a=6), seed=8)
        self.assert_refused(self.args(source=one), '--source',
                            'one class only', "'a'")

    def test_group_regex_one_group(self):
        self.assert_refused(_set(self.args(), '--group-regex', '(P)'),
                            "--group-regex '(P)'", 'in 1 group(s)',
                            'at least 3 groups')

    def test_class_names_not_indices(self):
        self.assert_refused(_set(self.args(), '--target-sizes', '1,16'),
                            'target size 1', "missing class ['normal']")

    def test_unknown_class_in_class_map(self):
        self.assert_refused(_set(self.args(), '--class-map',
                                 'Benign=normal;Early,Pre,Pro=ALL'),
                            "class(es) ['Pro']", 'does not have')

    def test_class_map_pairs(self):
        code, out, err = _run(_set(self.args('--dry-run', '--overwrite'),
                                   '--class-map',
                                   'Benign=normal,Early=ALL,Pre=ALL'))
        self.assertEqual(code, 0, out + err)  # the split of the ';' form
        self.assertIn('per class: normal 18, ALL 24', out)
        self.before = snapshot(self.work)
        self.assert_refused(_set(self.args(), '--class-map',
                                 'Benign=normal,Early,Pre=ALL'),
                            "'Benign=normal,Early,Pre=ALL'", 'OLD=NEW')
