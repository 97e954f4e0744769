"""Image sets, splits and the written data of a comparison."""
import os
import os.path as osp
import tempfile
import unittest

from dl4all_mm.evaluation.transfer.image_set import (InputError, ImageSet,
                                                     apply_class_map,
                                                     parse_class_map,
                                                     read_image_set,
                                                     self_labels)
from dl4all_mm.datasets.group_split import (group_ids, nested_subsets,
                                            split_groups)
from dl4all_mm.evaluation.transfer.task import (TaskInputs, class_weights,
                                                prepare_task)

from .fixtures import make_task, write_images

CLASS_MAP = 'Benign=normal;Early,Pre=ALL'


class TestImageSet(unittest.TestCase):

    def test_folder_and_annotation_file_agree(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            folder = read_image_set(paths['target'])
            ann = osp.join(tmp, 'ann.txt')
            with open(ann, 'w') as f:
                for p, label in zip(folder.paths, folder.labels):
                    f.write(f'{osp.relpath(p, paths["target"])} {label}\n')
            listed = read_image_set(ann, paths['target'])
            self.assertEqual(listed.paths, folder.paths)
            self.assertEqual(listed.labels, folder.labels)
            self.assertEqual(folder.classes, ['Benign', 'Early', 'Pre'])

    def test_class_map_merges_in_map_order(self):
        images = ImageSet(['a', 'b', 'c'], ['Pre', 'Benign', 'Early'])
        mapped = apply_class_map(images, parse_class_map(CLASS_MAP), 'x')
        self.assertEqual(mapped.classes, ['normal', 'ALL'])
        self.assertEqual(mapped.indices(), [1, 0, 1])
        with self.assertRaisesRegex(InputError, r"\['Pre'\]"):
            apply_class_map(images, parse_class_map('Benign=n;Early=A'), 'x')
        with self.assertRaisesRegex(InputError, 'twice'):
            parse_class_map('A=x;A=y')

    def test_self_labels_from_file_names(self):
        images = ImageSet(['/d/s1_x.png', '/d/s2_y.png', '/d/s1_z.png'],
                          ['?'] * 3)
        labelled = self_labels(images, r'^(s\d)_')
        self.assertEqual(labelled.labels, ['s1', 's2', 's1'])
        with self.assertRaisesRegex(InputError, 'matches nothing'):
            self_labels(images, r'^q(\d)')


class TestSplits(unittest.TestCase):

    def test_groups_stay_whole_and_classes_stratified(self):
        labels = [i % 2 for i in range(100)]
        groups = [i // 4 for i in range(100)]  # 4 images a group
        splits = split_groups(labels, groups, (0.6, 0.2, 0.2), seed=3)
        self.assertEqual(sorted(sum(splits.values(), [])), list(range(100)))
        where = {}
        for name, idx in splits.items():
            for i in idx:
                self.assertEqual(where.setdefault(groups[i], name), name)
        for name, frac in (('train', 0.6), ('val', 0.2), ('test', 0.2)):
            self.assertAlmostEqual(len(splits[name]) / 100, frac, delta=0.05)
            self.assertEqual(len({labels[i] for i in splits[name]}), 2)

    def test_nested_stratified_subsets(self):
        labels = [0] * 30 + [1] * 90
        subsets = nested_subsets(labels, [8, 24, 120], seed=0)
        self.assertTrue(set(subsets[8]) < set(subsets[24]) < set(
            subsets[120]))
        self.assertEqual(sum(labels[i] == 0 for i in subsets[24]), 6)
        self.assertEqual(sum(labels[i] == 0 for i in subsets[8]), 2)
        with self.assertRaisesRegex(ValueError, 'only 120'):
            nested_subsets(labels, [200])
        with self.assertRaisesRegex(ValueError, 'every class'):
            nested_subsets([0] * 99 + [1], [2])
        # the authors' N / max(n_c, 10): 4 normal, 20 ALL -> 24/10, 24/20
        self.assertEqual(class_weights([0] * 4 + [1] * 20, 2), [2.4, 1.2])

    def test_identical_files_share_a_group(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_images(tmp, dict(a=3), patients=0)
            names = sorted(os.listdir(osp.join(tmp, 'a')))
            with open(osp.join(tmp, 'a', names[0]), 'rb') as f:
                data = f.read()
            with open(osp.join(tmp, 'a', 'copy.png'), 'wb') as f:
                f.write(data)
            images = read_image_set(tmp)
            ids = group_ids(images.paths, None)
            self.assertEqual(len(set(ids)), 3)
            by_name = dict(zip(map(osp.basename, images.paths), ids))
            self.assertEqual(by_name['copy.png'], by_name[names[0]])


class TestPrepareTask(unittest.TestCase):

    def test_written_data(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            out = osp.join(tmp, 'data')
            task = prepare_task(
                TaskInputs(paths['source'], paths['target'],
                           class_map=CLASS_MAP, group_regex=r'/(P\d+)_',
                           sizes=(8, 16, 'all'), img_size=32), out)
            self.assertEqual(task.sizes[:2], [8, 16])
            self.assertEqual(task.draws, [0, 1, 2, 3, 4])  # default 5
            full = max(task.sizes)
            data = task.subsets[(full, 0)].data
            self.assertEqual(data.target_classes, ['normal', 'ALL'])
            self.assertEqual(data.source_classes, ['a', 'b', 'c'])

            def rows(path):
                with open(path) as f:
                    return [line.split() for line in f]

            train = rows(data.target_ann)
            self.assertEqual(len(train), full)
            small = rows(task.subsets[(8, 0)].data.target_ann)
            self.assertTrue({p for p, _ in small} <= {p for p, _ in train})
            patients = {}
            for name in ('train', 'val', 'test'):
                path = data.target_ann if name == 'train' else \
                    getattr(data, f'{name}_ann')
                for p, _ in rows(path):
                    patient = osp.basename(p).split('_')[0]
                    self.assertEqual(patients.setdefault(patient, name), name)
            self.assertEqual(len(rows(data.source_ann)), 36)
            self.assertEqual(len(task.subsets[(8, 0)].weights), 2)
            # the authors' N / max(n_c, 10): 36 source images, 12 a class
            self.assertEqual(data.source_weights, [3.0] * 3)
            self.assertTrue(all(0 < m < 255 for m in data.target_norm[0]))
            self.assertIn('--group-regex', task.notes[0])

    def test_a_training_image_in_the_test_set_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            paths = make_task(tmp)
            test = osp.join(tmp, 'test')
            write_images(test, dict(Benign=4, Early=4), seed=9)
            # a byte-identical copy of a target image under another name
            src = sorted(os.listdir(osp.join(paths['target'], 'Pre')))[0]
            with open(osp.join(paths['target'], 'Pre', src), 'rb') as f:
                data = f.read()
            copy = osp.join(test, 'Early', 'copy.png')
            with open(copy, 'wb') as f:
                f.write(data)
            with self.assertRaisesRegex(InputError,
                                        'identical images') as ctx:
                prepare_task(
                    TaskInputs(paths['source'], paths['target'],
                               target_test=test,
                               class_map=CLASS_MAP, sizes=(8, ),
                               split=(0.8, 0.2, 0.0), img_size=32),
                    osp.join(tmp, 'data'))
            self.assertIn(copy, str(ctx.exception))

