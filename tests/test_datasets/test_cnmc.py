import os
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

from mmpretrain.registry import DATASETS

from dl4all_mm.datasets import CNMC2019Dataset
from tests.fixtures.field_datasets import CNMC_LAYOUTS, make_cnmc_tree

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


class TestCNMC2019Dataset(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def _check_train(self, root, files, dataset):
        train = {f['rel']: f for f in files if f['split'] == 'train'}
        self.assertEqual(len(dataset), len(train))
        self.assertEqual(dataset.metainfo['classes'], ('hem', 'all'))
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            rel = osp.relpath(info['img_path'], root).replace(os.sep, '/')
            self.assertEqual(info['gt_label'], train[rel]['label'], rel)
            self.assertEqual(info['patient_id'], train[rel]['patient_id'])
            self.assertEqual(info['fold'], train[rel]['fold'])
            self.assertEqual(info['gt_label'],
                             int(rel.split('/')[-2] == 'all'))

    def test_layouts(self):
        for layout in ('kaggle', 'tcia'):
            root = osp.join(self.tmp, layout)
            files = make_cnmc_tree(root, layout)
            dataset = DATASETS.build(
                dict(type='CNMC2019Dataset', data_root=root))
            self._check_train(root, files, dataset)
            pids = {
                dataset.get_data_info(i)['patient_id']
                for i in range(len(dataset))
            }
            # normal patients keep their H prefix, UID_h3 reads as H3
            self.assertIn('H3', pids)
            self.assertTrue(any(p.isdigit() for p in pids))
            self.assertTrue(all(p.isdigit() or p[0] == 'H' for p in pids))

    def test_folds_and_pipeline(self):
        files = make_cnmc_tree(self.tmp)
        dataset = CNMC2019Dataset(
            self.tmp, folds=[0, 'fold_2'], pipeline=PIPELINE)
        want = [f for f in files if f['fold'] in ('fold_0', 'fold_2')]
        self.assertEqual(len(dataset), len(want))
        sample = dataset[0]
        self.assertEqual(tuple(sample['inputs'].shape), (3, 16, 16))
        self.assertEqual(sample['data_samples'].gt_label.tolist(),
                         [dataset.get_data_info(0)['gt_label']])
        with self.assertRaisesRegex(FileNotFoundError, r'fold_7'):
            CNMC2019Dataset(self.tmp, folds=7)
        with self.assertRaisesRegex(ValueError, 'split'):
            CNMC2019Dataset(self.tmp, split='test')

    def test_prelim_test(self):
        for layout in ('kaggle', 'tcia'):
            root = osp.join(self.tmp, layout)
            files = make_cnmc_tree(root, layout)
            dataset = CNMC2019Dataset(root, split='prelim_test')
            prelim = [f for f in files if f['split'] == 'prelim_test']
            self.assertEqual(len(dataset), len(prelim))
            for i, want in enumerate(prelim):
                info = dataset.get_data_info(i)
                self.assertEqual(info['img_path'], osp.join(root, want['rel']))
                self.assertEqual(info['gt_label'], want['label'])
                self.assertEqual(info['patient_id'], want['patient_id'])

    def test_ann_file(self):
        files = make_cnmc_tree(self.tmp)
        train = [f for f in files if f['split'] == 'train'][:5]
        ann = osp.join(self.tmp, 'ann.txt')
        with open(ann, 'w') as f:
            f.writelines(f'{x["rel"]} {x["label"]}\n' for x in train)
        dataset = CNMC2019Dataset(self.tmp, ann_file='ann.txt')
        self.assertEqual(len(dataset), 5)
        for i, want in enumerate(train):
            info = dataset.get_data_info(i)
            self.assertEqual(info['gt_label'], want['label'])
            self.assertEqual(info['patient_id'], want['patient_id'])
        # a label that contradicts the name is caught
        with open(ann, 'w') as f:
            f.write(f'{train[0]["rel"]} {1 - train[0]["label"]}\n')
        with self.assertRaisesRegex(ValueError, 'contradicts'):
            CNMC2019Dataset(self.tmp, ann_file='ann.txt')
        with self.assertRaisesRegex(FileNotFoundError, 'missing.txt'):
            CNMC2019Dataset(self.tmp, ann_file='missing.txt')
        with open(ann, 'w') as f:
            f.write('C-NMC_Leukemia/training_data/fold_0/all/nope.bmp 1\n')
        with self.assertRaisesRegex(ValueError, 'UID_<patient>'):
            CNMC2019Dataset(self.tmp, ann_file='ann.txt')

    def test_bad_layouts(self):
        with self.assertRaisesRegex(FileNotFoundError,
                                    'docs/datasets.md') as cm:
            CNMC2019Dataset(osp.join(self.tmp, 'nothing'))
        self.assertIn('nothing', str(cm.exception))
        os.makedirs(osp.join(self.tmp, 'empty'))
        with self.assertRaisesRegex(FileNotFoundError,
                                    'C-NMC_Leukemia/training_data'):
            CNMC2019Dataset(osp.join(self.tmp, 'empty'))

        make_cnmc_tree(self.tmp)
        train_dir = osp.join(self.tmp, CNMC_LAYOUTS['kaggle'][0])
        # unknown file-name pattern
        bad = osp.join(train_dir, 'fold_1', 'all', 'cell_1.bmp')
        open(bad, 'wb').close()
        with self.assertRaisesRegex(ValueError, 'cell_1.bmp.*UID_<patient>'):
            CNMC2019Dataset(self.tmp)
        os.remove(bad)
        # a hem cell in the all folder
        wrong = osp.join(train_dir, 'fold_1', 'all', 'UID_H2_1_1_hem.bmp')
        open(wrong, 'wb').close()
        with self.assertRaisesRegex(ValueError, 'UID_H2_1_1_hem.*contradicts'):
            CNMC2019Dataset(self.tmp)
        os.remove(wrong)
        # empty class folder
        hem = osp.join(train_dir, 'fold_2', 'hem')
        shutil.rmtree(hem)
        os.makedirs(hem)
        with self.assertRaisesRegex(ValueError, 'fold_2/hem.*no image'):
            CNMC2019Dataset(self.tmp)
        # missing labels CSV
        os.remove(osp.join(self.tmp, CNMC_LAYOUTS['kaggle'][2]))
        with self.assertRaisesRegex(FileNotFoundError,
                                    'labels CSV.*docs/datasets.md'):
            CNMC2019Dataset(self.tmp, split='prelim_test')

    def test_bad_labels_csv(self):
        make_cnmc_tree(self.tmp)
        path = osp.join(self.tmp, CNMC_LAYOUTS['kaggle'][2])
        with open(path, 'w') as f:
            f.write('id,file,label\nUID_57_29_1_all.bmp,1.bmp,1\n')
        with self.assertRaisesRegex(ValueError, 'Patient_ID'):
            CNMC2019Dataset(self.tmp, split='prelim_test')
        with open(path, 'w') as f:
            f.write('Patient_ID,new_names,labels\n'
                    'UID_57_29_1_all.bmp,1.bmp,2\n')
        with self.assertRaisesRegex(ValueError, r'labels_csv|:2: labels'):
            CNMC2019Dataset(self.tmp, split='prelim_test')
