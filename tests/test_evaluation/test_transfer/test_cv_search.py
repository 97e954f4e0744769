"""The in-budget cross-validation search on generated folders: fold files
hold only the size's training images, a tiny real search writes every
fold's score and the choice, and a rerun trains nothing."""
import json
import os.path as osp
import shutil
import tempfile
import unittest
from unittest import mock

from dl4all_mm.evaluation.protocol_worker import subprocess_executor
from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.cv_folds import read_ann
from dl4all_mm.evaluation.transfer.cv_search import (candidate_grid,
                                                     candidate_name,
                                                     cv_search)
from dl4all_mm.evaluation.transfer.data_options import task_data
from dl4all_mm.evaluation.transfer.task import TaskInputs, prepare_task

from .fixtures import make_task

CLASS_MAP = 'Benign=normal;Early,Pre=ALL'
SIZE = 16


def builder(data, iters=2, use_val=False):
    """A fold's protocol as the comparison builds one: the size's data with
    the fold's training file and the held-out fold as the test split; no
    validation (``--selection last``: the last checkpoint is tested; the
    held-out fold fills the configs' val role, never evaluated as
    validation starts after the last step)."""
    spec = tm.backbone_spec('resnet18', 'none', data.img_size)

    def build(train_ann, held_ann, overrides):
        fold = type(data)(**dict(
            data.__dict__, target_ann=train_ann, test_ann=held_ann,
            val_ann=data.val_ann if use_val else held_ann))
        methods = []
        for name, over in overrides.items():
            recipe = tm.recipe_of(name, dict(over, bn_recalib=0))
            stages = tm.stages(name, iters, spec, recipe, [1.0, 1.0], SIZE,
                               fold)
            if not use_val:  # never validate
                stages[-1]['cfg_options']['train_cfg.val_begin'] = iters + 1
            methods.append(dict(name=name, stages=stages))
        return dict(methods=methods, data=task_data(fold), seeds=[0],
                    folds=['cv'], env=dict(CUDA_VISIBLE_DEVICES=''),
                    select_metric='diagnostic/balanced_accuracy',
                    positive_index=1, title='cv', record_fields=dict(
                        target_size=SIZE))
    return build


class TestCvSearch(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        paths = make_task(cls.tmp)
        cls.task = prepare_task(TaskInputs(
            paths['source'], paths['target'], class_map=CLASS_MAP,
            group_regex=r'/(P\d+)_', sizes=(SIZE, ), img_size=32),
            osp.join(cls.tmp, 'data'))
        cls.data = cls.task.subsets[(SIZE, 0)].data
        rows = read_ann(cls.data.target_ann)
        cls.paths = [p for p, _ in rows]
        cls.labels = [v for _, v in rows]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def search(self, work, build, executor=None, methods=('target-only', )):
        return cv_search(
            self.paths, self.labels, self.data.target_classes, SIZE, 0,
            methods, candidate_grid([0.01, 0.001]), build, work,
            forbidden_anns=[self.data.val_ann, self.data.test_ann],
            executor=executor)

    def test_a_protocol_reading_val_is_refused_before_training(self):
        work = osp.join(self.tmp, 'work_val')
        with mock.patch('dl4all_mm.evaluation.transfer.cv_search.'
                        'execute_protocol') as train:
            with self.assertRaisesRegex(ValueError, 'validation or test'):
                self.search(work, builder(self.data, use_val=True))
        train.assert_not_called()

    def test_tiny_search_and_rerun(self):
        work = osp.join(self.tmp, 'work')
        calls = []

        def executor(run, run_dir):
            calls.append(run.name)
            return subprocess_executor(run, run_dir)

        result = self.search(work, builder(self.data), executor)
        counts = [self.labels.count(c) for c in (0, 1)]
        k = min(4, min(counts))
        self.assertEqual(result['k'], k)
        self.assertEqual(len(calls), 2 * k)  # 2 candidates x k folds
        root = osp.join(work, 'lr_search', f'n{SIZE}_d0')
        forbidden = {p for ann in (self.data.val_ann, self.data.test_ann)
                     for p, _ in read_ann(ann)}
        for f in range(k):  # folds: only this size's training images
            for part in ('train', 'held'):
                images = {p for p, _ in read_ann(
                    osp.join(root, 'folds', f'fold{f}_{part}.txt'))}
                self.assertTrue(images <= set(self.paths))
                self.assertFalse(images & forbidden)
        with open(osp.join(root, 'cv_search.json')) as f:
            stored = json.load(f)
        self.assertEqual(stored, json.loads(json.dumps(result)))
        self.assertEqual(stored['grid'], [{'lr': 0.01}, {'lr': 0.001}])
        entry = stored['methods']['target-only']
        self.assertEqual(len(entry['candidates']), 2)
        for cand in entry['candidates']:
            self.assertEqual(len(cand['fold_scores']), k)
            self.assertTrue(all(0 <= s <= 1 for s in cand['fold_scores']))
            self.assertTrue(0 <= cand['pooled'] <= 1)
        best = max(entry['candidates'], key=lambda c: (
            c['pooled'], -c['candidate']['lr']))
        self.assertEqual(entry['choice'], best['candidate'])
        self.assertEqual(entry['pooled'], best['pooled'])
        chosen = osp.join(root, candidate_name(entry['choice']), 'fold0',
                          'runs', 'target-only', 'seed0-foldcv')
        self.assertTrue(osp.isfile(osp.join(chosen, 'result.json')))
        if osp.exists(osp.join(chosen, 'predictions.csv')):  # the writer
            self.assertIsNotNone(entry['threshold'])
        else:
            self.assertEqual(entry['threshold_note'],
                             'no predictions.csv in the fold runs')
        self.assertTrue(osp.isfile(osp.join(
            root, candidate_name({'lr': 0.01}), 'fold0', 'protocol.json')))
        calls.clear()  # the same search again: every run is finished
        again = self.search(work, builder(self.data), executor)
        self.assertEqual(calls, [])
        self.assertEqual(again, result)


if __name__ == '__main__':
    unittest.main()
