"""The search's scoring, choice, ``--decision cv`` threshold and failure
handling, with an executor that writes known predictions instead of
training."""
import json
import os.path as osp
import tempfile
import unittest

from dl4all_mm.evaluation.transfer import methods as tm
from dl4all_mm.evaluation.transfer.cv_folds import read_ann
from dl4all_mm.evaluation.transfer.cv_report import (lr_search_markdown,
                                                     write_lr_search)
from dl4all_mm.evaluation.transfer.cv_search import (candidate_grid,
                                                     cv_search)
from dl4all_mm.evaluation.decision import balanced_accuracy

from dl4all_mm.evaluation.transfer.data_options import TaskData

from .test_cv_search import SIZE, builder

CLASSES = ['normal', 'ALL']


def fake_executor(p1_of, failing=()):
    """Writes ``predictions.csv`` of the held-out fold: p(ALL) =
    ``p1_of[lr][label]``; raises for an lr in ``failing``."""
    def run(spec, run_dir):
        opts = spec.stages[-1]['cfg_options']
        lr = opts.get('optim_wrapper.optimizer.lr',  # else the config's
                      tm.recipe_of('target-only')['lr'])
        if lr in failing:
            raise RuntimeError(f'lr {lr} diverged')
        rows = read_ann(opts['test_dataloader.dataset.ann_file'])
        p1 = [p1_of[lr][label] for _, label in rows]
        with open(osp.join(run_dir, 'predictions.csv'), 'w') as f:
            f.write('image,label,normal,ALL\n')
            for (image, label), p in zip(rows, p1):
                f.write(f'{image},{label},{1 - p:.8g},{p:.8g}\n')
        labels = [label for _, label in rows]
        ba = balanced_accuracy(labels, [int(p > 0.5) for p in p1], 2)
        metrics = {f'diagnostic/{k}': ba for k in (
            'accuracy', 'balanced_accuracy', 'macro_f1', 'sensitivity',
            'specificity', 'auc')}
        return dict(metrics=metrics, wall_s=0.0)
    return run


class TestSearchScoring(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = self.tmp.name
        self.paths = [osp.join(root, f'img{i}.png') for i in range(12)]
        self.labels = [0] * 4 + [1] * 8
        ann = osp.join(root, 'train.txt')
        with open(ann, 'w') as f:
            f.writelines(f'{p} {v}\n' for p, v in zip(self.paths,
                                                       self.labels))
        self.data = TaskData(
            source_ann=ann, source_classes=['a', 'b'], target_ann=ann,
            val_ann=osp.join(root, 'val.txt'),
            test_ann=osp.join(root, 'test.txt'), target_classes=CLASSES,
            source_norm=([100.0] * 3, [50.0] * 3),
            target_norm=([100.0] * 3, [50.0] * 3), img_size=32,
            n_source=10, n_target=12)

    def tearDown(self):
        self.tmp.cleanup()

    def search(self, executor, lrs):
        return cv_search(self.paths, self.labels, CLASSES, SIZE, 1,
                         ['target-only'], candidate_grid(lrs),
                         builder(self.data), self.tmp.name,
                         executor=executor)

    def test_pooled_choice_ties_and_threshold(self):
        p1_of = {0.01: {0: 0.6, 1: 0.8},  # argmax: all ALL, BA 0.5
                 0.001: {0: 0.6, 1: 0.8},  # the same: tie, smaller lr
                 0.1: {0: 0.6, 1: 0.4}}  # every image wrong: BA 0
        result = self.search(fake_executor(p1_of), [0.01, 0.1, 0.001])
        self.assertEqual(result['k'], 4)
        entry = result['methods']['target-only']
        self.assertEqual([c['pooled'] for c in entry['candidates']],
                         [0.5, 0.0, 0.5])
        self.assertEqual(entry['candidates'][0]['fold_scores'], [0.5] * 4)
        self.assertEqual(entry['choice'], {'lr': 0.001})
        # pooled p(ALL): 0.6 for the 4 normal, 0.8 for the 8 ALL images
        self.assertAlmostEqual(entry['threshold'], 0.7)
        self.assertEqual(entry['threshold_balanced_accuracy'], 1.0)
        path = osp.join(self.tmp.name, 'lr_search.json')
        written = write_lr_search([result], path)
        with open(path) as f:
            self.assertEqual(json.load(f), json.loads(json.dumps(written)))
        table = lr_search_markdown([result])
        self.assertIn('| lr0.01 | lr0.1 | lr0.001 | choice |', table[2])
        self.assertEqual(table[-1], f'| {SIZE} | 1 | 4 | target-only | '
                         '50.0 | 0.0 | 50.0 | lr0.001 | 50.0, 50.0, 50.0, '
                         '50.0 | 0.7 |')

    def test_norm_ties_follow_the_listed_order(self):
        result = cv_search(
            self.paths, self.labels, CLASSES, SIZE, 1, ['target-only'],
            candidate_grid([0.01], ['scalar-domain', 'pretrained']),
            lambda train, held, over: builder(self.data)(train, held, {
                m: {'lr': o['lr']} for m, o in over.items()}),
            self.tmp.name, executor=fake_executor({0.01: {0: .3, 1: .7}}))
        entry = result['methods']['target-only']
        self.assertEqual([c['pooled'] for c in entry['candidates']],
                         [1.0, 1.0])
        self.assertEqual(entry['choice'], {'lr': 0.01,
                                           'norm': 'scalar-domain'})

    def test_decision_cv_without_a_search(self):
        result = cv_search(
            self.paths, self.labels, CLASSES, SIZE, 1, ['target-only'],
            [{}], builder(self.data), self.tmp.name,
            executor=fake_executor({0.1: {0: .55, 1: .9}}))
        entry = result['methods']['target-only']
        self.assertEqual(entry['choice'], {})
        self.assertAlmostEqual(entry['threshold'], 0.725)
        self.assertTrue(osp.isfile(osp.join(
            self.tmp.name, 'lr_search', f'n{SIZE}_d1', 'recipe', 'fold3',
            'protocol.json')))

    def test_changed_folds_are_not_taken_for_finished_runs(self):
        executor = fake_executor({0.1: {0: .3, 1: .7}})
        args = (self.paths, self.labels, CLASSES, SIZE, 1, ['target-only'],
                [{}], builder(self.data), self.tmp.name)
        cv_search(*args, executor=executor)
        with self.assertRaisesRegex(ValueError, 'different spec'):
            cv_search(*args, executor=executor, seed=7)

    def test_failed_candidates(self):
        p1_of = {0.01: {0: 0.3, 1: 0.7}}
        result = self.search(fake_executor(p1_of, failing=(0.1, )),
                             [0.1, 0.01])
        entry = result['methods']['target-only']
        self.assertIsNone(entry['candidates'][0]['pooled'])
        self.assertEqual(entry['choice'], {'lr': 0.01})
        self.assertEqual(len(result['failures']), 4)
        self.assertIn('lr 0.1 diverged', result['failures'][0])
        with self.assertRaisesRegex(RuntimeError, r"\['target-only'\]"):
            self.search(fake_executor(p1_of, failing=(0.1, )), [0.1])


if __name__ == '__main__':
    unittest.main()
