import contextlib
import importlib.util
import io
import json
import os.path as osp
import shutil
import tempfile
from collections import Counter
from unittest import TestCase, skipUnless

import numpy as np

from dl4all_mm.datasets import CNMC2019Dataset
from dl4all_mm.datasets.splits import (group_holdout, make_folds,
                                       parse_cnmc_name)
from tests.fixtures.field_datasets import (CNMC_MANIFEST, make_adp_tree,
                                           make_allidb2_tree, make_cnmc_tree,
                                           write_image)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(rel):
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(rel))[0], osp.join(REPO, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_splits = load_tool('tools/dataset_converters/make_splits.py')


def read_split(out, k, split):
    with open(osp.join(out, f'fold_{k}', f'{split}.txt')) as f:
        return [line.rsplit(' ', 1) for line in f.read().splitlines()]


class TestMakeSplits(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.out = osp.join(self.tmp, 'splits')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_tool(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            summary = make_splits.main(
                ['--data-root', self.tmp, '--out-dir', self.out, *args])
        return summary, err.getvalue()

    def check_patient_folds(self, files, n_folds, group_of):
        """No group in two splits; every image in exactly one test fold."""
        in_test = Counter()
        for k in range(n_folds):
            seen = {}
            for split in ('train', 'val', 'test'):
                for rel, _ in read_split(self.out, k, split):
                    group = group_of(rel)
                    self.assertEqual(
                        seen.setdefault(group, split), split,
                        f'fold_{k}: {group} in two splits')
                    if split == 'test':
                        in_test[rel] += 1
            self.assertEqual(
                sum(
                    len(read_split(self.out, k, s))
                    for s in ('train', 'val', 'test')), len(files))
        self.assertEqual(set(in_test), set(files))
        self.assertEqual(set(in_test.values()), {1})

    def test_cnmc_patient_kfold(self):
        files = [f for f in make_cnmc_tree(self.tmp) if f['split'] == 'train']
        summary, _ = self.run_tool('--dataset', 'cnmc', '--protocol',
                                   'patient-kfold', '--folds', '3',
                                   '--val-ratio', '0.2', '--seed', '1')
        pid = {f['rel']: f['patient_id'] for f in files}
        self.check_patient_folds(pid, 3, pid.get)
        for k in range(3):
            for rel, label in read_split(self.out, k, 'test'):
                want = [f['label'] for f in files if f['rel'] == rel]
                self.assertEqual([int(label)], want)
            # stratified: both classes in every test fold
            fold = summary[f'fold_{k}']
            self.assertEqual(set(fold['test']['per_class']), {'hem', 'all'})
            self.assertEqual(fold['groups_in_two_splits'], 0)
            self.assertGreater(fold['val']['num_images'], 0)
        with open(osp.join(self.out, 'splits.json')) as f:
            saved = json.load(f)
        self.assertEqual(saved['classes'], ['hem', 'all'])
        test0 = saved['fold_0']['test']
        self.assertEqual(sum(test0['per_group'].values()), test0['num_images'])
        # the lead's configs load these files as they are
        dataset = CNMC2019Dataset(self.tmp, ann_file='splits/fold_0/test.txt')
        self.assertEqual(len(dataset), test0['num_images'])
        self.assertEqual(
            Counter(
                dataset.get_data_info(i)['patient_id']
                for i in range(len(dataset))), Counter(test0['per_group']))
        # same seed, same files; another seed, other files
        first = read_split(self.out, 0, 'test')
        self.run_tool('--dataset', 'cnmc', '--folds', '3', '--val-ratio',
                      '0.2', '--seed', '1')
        self.assertEqual(read_split(self.out, 0, 'test'), first)

    def test_cnmc_official_and_image_kfold(self):
        files = [f for f in make_cnmc_tree(self.tmp) if f['split'] == 'train']
        summary, _ = self.run_tool('--dataset', 'cnmc', '--protocol',
                                   'official')
        self.assertEqual(summary['folds'], 3)
        for k in range(3):
            test = {rel for rel, _ in read_split(self.out, k, 'test')}
            self.assertEqual(
                test, {f['rel']
                       for f in files if f['fold'] == f'fold_{k}'})
        summary, err = self.run_tool('--dataset', 'cnmc', '--protocol',
                                     'image-kfold', '--folds', '2')
        self.assertIn('leakage', err)
        self.assertIn('groups_in_two_splits', summary['fold_0'])
        with self.assertRaises(SystemExit):
            with contextlib.redirect_stderr(io.StringIO()):
                self.run_tool('--dataset', 'allidb2', '--protocol', 'official')

    def test_allidb2_holdout(self):
        make_allidb2_tree(self.tmp, n_per_class=6)
        summary, _ = self.run_tool('--dataset', 'allidb2', '--protocol',
                                   'holdout', '--folds', '3', '--test-ratio',
                                   '0.5', '--val-ratio', '0')
        tests = []
        for k in range(3):
            test = read_split(self.out, k, 'test')
            self.assertEqual(
                Counter(label for _, label in test), {
                    '0': 3,
                    '1': 3
                })
            self.assertEqual(len(read_split(self.out, k, 'train')), 6)
            tests.append(sorted(rel for rel, _ in test))
        self.assertGreater(len({tuple(t) for t in tests}), 1)

    def test_folder_group_regex(self):
        for cls in ('normal', 'blast'):
            for field in range(4):
                for j in range(3):
                    write_image(
                        osp.join(self.tmp, cls,
                                 f'Im{field:03d}_x_{cls}{j}.png'))
        summary, _ = self.run_tool('--dataset', 'folder', '--classes',
                                   'normal,blast', '--group-regex',
                                   r'(Im\d+)_', '--folds', '2', '--val-ratio',
                                   '0')
        self.assertEqual(summary['classes'], ['normal', 'blast'])
        self.assertEqual(summary['num_groups'], 4)
        files = [
            f'{c}/Im{i:03d}_x_{c}{j}.png' for c in ('normal', 'blast')
            for i in range(4) for j in range(3)
        ]
        self.check_patient_folds(files, 2, lambda r: r.split('/')[1][:5])
        labels = dict(
            read_split(self.out, 0, 'train') + read_split(self.out, 0, 'test'))
        self.assertEqual(labels['blast/Im000_x_blast0.png'], '1')
        with self.assertRaisesRegex(ValueError, 'group-regex'):
            self.run_tool('--dataset', 'folder', '--group-regex', 'Zz(\\d)')
        with self.assertRaisesRegex(FileNotFoundError, 'eosinophil'):
            self.run_tool('--dataset', 'folder', '--classes', 'eosinophil')

    def test_adp_slides(self):
        make_adp_tree(self.tmp, slides=('001', '002', '003', '004'))
        summary, _ = self.run_tool('--dataset', 'adp', '--folds', '2',
                                   '--val-ratio', '0.3')
        files = [
            f'img_res_1um_bicubic/{s}.png_crop_{c}.png'
            for s in ('001', '002', '003', '004') for c in (1, 16)
        ]
        self.check_patient_folds(files, 2, lambda r: r.split('/')[1][:3])
        self.assertEqual(summary['num_groups'], 4)

    @skipUnless(osp.isfile(CNMC_MANIFEST), 'needs ../shared/data manifest')
    def test_real_cnmc_names(self):
        files = make_cnmc_tree(
            self.tmp, rows='all', prelim=False, images=False)
        self.assertEqual(len(files), 10661)
        summary, _ = self.run_tool('--dataset', 'cnmc', '--protocol',
                                   'patient-kfold', '--folds', '5')
        self.assertEqual(summary['num_images'], 10661)
        self.assertEqual(summary['num_groups'], 73)
        pid = {f['rel']: f['patient_id'] for f in files}
        self.check_patient_folds(pid, 5, pid.get)
        for k in range(5):
            test = summary[f'fold_{k}']['test']['per_class']
            # stratified: every test fold near the overall 68% ALL
            self.assertAlmostEqual(
                test['all'] / (test['all'] + test['hem']), 0.68, delta=0.08)


class TestSplitHelpers(TestCase):

    def test_parse_cnmc_name(self):
        self.assertEqual(
            parse_cnmc_name('UID_h3_10_1_hem.bmp'),
            dict(patient_id='H3', image_no=10, cell_no=1, label='hem'))
        self.assertEqual(
            parse_cnmc_name('UID_51_2_3_all.bmp')['patient_id'], '51')
        with self.assertRaisesRegex(ValueError, 'UID_<patient>'):
            parse_cnmc_name('1.bmp')

    def test_holdout_and_folds(self):
        labels = np.repeat([0, 1], [40, 60])
        groups = np.arange(100) // 4
        held = group_holdout(labels, groups, 0.25, seed=0)
        # a group is held while its half fits: 10 of 40 -> 3 groups of 4,
        # 15 of 60 -> 4 groups of 4
        self.assertEqual(held[labels == 0].sum(), 12)
        self.assertEqual(held[labels == 1].sum(), 16)
        for g in np.unique(groups):
            self.assertEqual(len(set(held[groups == g])), 1)
        folds = make_folds(labels, groups, 'patient-kfold', 5, 0.1, 0)
        test = np.concatenate([f['test'] for f in folds])
        self.assertEqual(sorted(test), list(range(100)))
        with self.assertRaisesRegex(ValueError, 'folds'):
            make_folds(labels, groups, 'patient-kfold', 26)
