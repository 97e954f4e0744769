"""Smoke test of ``benchmarks/transfer.py`` on generated images."""
import csv
import json
import os
import os.path as osp
import sys
import tempfile
import unittest

import cv2
import numpy as np
from dl4all_mm.evaluation.protocol import METRIC_KEYS

BENCH = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'benchmarks')
sys.path.insert(0, BENCH)
import transfer  # noqa: E402
import transfer_data as td  # noqa: E402
from dl4all_mm.evaluation.transfer import methods as tm  # noqa: E402

PBC = ['basophil', 'eosinophil', 'erythroblast', 'ig', 'lymphocyte',
       'monocyte', 'neutrophil', 'platelet']
ARIA = dict(Benign=6, Early=4, Pre=4, Pro=4)


def write_fake_root(root: str, size: int = 40) -> None:
    """pbc/ (8 classes x 3) and all_aria/ (18 fields) with manifests."""
    rng = np.random.default_rng(0)
    folders = dict(pbc={c: 3 for c in PBC}, all_aria=ARIA)
    for folder, classes in folders.items():
        rows = []
        for ci, (cls, n) in enumerate(classes.items()):
            os.makedirs(osp.join(root, folder, cls), exist_ok=True)
            for i in range(n):
                img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                img[..., ci % 3] += np.uint8(120 + 10 * ci)
                rel = f'{cls}/{cls}-{i:03d}.jpg'
                cv2.imwrite(osp.join(root, folder, rel), img)
                rows.append(dict(path=rel, label=cls,
                                 sha256_of_source_file=f'{ci:032x}{i:032x}'))
        with open(osp.join(root, folder, 'manifest.csv'), 'w',
                  newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


class TestTransferData(unittest.TestCase):

    def test_splits_are_stratified_disjoint_and_fixed(self):
        rows = [(f'{c}/{i}.jpg', c) for c, n in
                dict(Benign=40, Early=60, Pre=60, Pro=40).items()
                for i in range(n)]
        splits = td.make_splits(rows, n_train=50, n_val=60)
        self.assertEqual([len(splits[k]) for k in ('train', 'val', 'test')],
                         [50, 60, 90])
        # Benign is 20% of the set: 10 of 50, 12 of 60 (labels 0)
        self.assertEqual(sum(1 - lb for _, lb in splits['train']), 10)
        self.assertEqual(sum(1 - lb for _, lb in splits['val']), 12)
        paths = [set(p for p, _ in v) for v in splits.values()]
        self.assertEqual(len(set.union(*paths)), 200)
        self.assertEqual(splits, td.make_splits(rows, 50, 60))
        self.assertNotEqual(splits, td.make_splits(rows, 50, 60, seed=1))
        self.assertEqual(td.class_weights(splits['train']), [2.5, 0.625])

    def test_identical_images_stay_in_one_split(self):
        def content(cls: str, i: int) -> str:
            # Pro images 0-23 come in byte-identical pairs (as in all_aria)
            return f'Pro{i // 2}' if cls == 'Pro' and i < 24 else f'{cls}{i}'

        rows = [(f'{c}/{i}.jpg', c, content(c, i)) for c, n in
                dict(Benign=40, Early=60, Pre=60, Pro=40).items()
                for i in range(n)]
        self.assertEqual(td.duplicate_groups(rows), 12)
        for seed in range(5):
            splits = td.make_splits(rows, 50, 60, seed=seed)
            self.assertEqual(
                [len(splits[k]) for k in ('train', 'val', 'test')],
                [50, 60, 90])
            self.assertEqual(sum(1 - lb for _, lb in splits['train']), 10)
            ids = {p: g for p, _, g in rows}
            where = {}
            for name, part in splits.items():
                for path, _ in part:
                    self.assertEqual(where.setdefault(ids[path], name), name)
        # whole groups that cannot fill a split exactly: a clear error
        pairs = [(f'Pro/{i}.jpg', 'Pro', str(i // 2)) for i in range(20)]
        with self.assertRaisesRegex(ValueError, 'whole groups'):
            td.make_splits(pairs, 5, 6)

    def test_bad_inputs_raise_clear_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaisesRegex(FileNotFoundError, 'manifest.csv'):
                td.aria_rows(tmp)
            ann = osp.join(tmp, 'test.txt')
            with open(ann, 'w') as f:
                f.write('a.jpg 2\n')
            with self.assertRaisesRegex(ValueError, 'line 1'):
                td.read_test_ann(ann, tmp)
            with open(ann, 'w') as f:
                f.write('missing.jpg 1\n')
            with self.assertRaisesRegex(FileNotFoundError, 'missing.jpg'):
                td.read_test_ann(ann, tmp)
        with self.assertRaisesRegex(KeyError, 'unknown'):
            transfer.parse_recipe(['momentum=0.5'])
        with self.assertRaisesRegex(KeyError, 'methods'):
            tm.stages('fine-tune', 10, 'resnet18', tm.DEFAULT_RECIPE,
                      [1.0, 1.0], 240)

    def test_budgets(self):
        recipe = tm.recipe_of('dl4all-joint', dict(batch=(8, 24)))
        opts = tm.stages('dl4all-joint', 1200, 'resnet18', recipe,
                         [3.0, 0.6], 240)[0]['cfg_options']
        # epochs of ceil(240 / 24) = 10 steps: 120 epochs = 1,200 steps
        self.assertEqual(opts['train_cfg.max_epochs'], 120)
        self.assertEqual(
            opts['train_dataloader.batch_sampler.epoch_length'], 10)
        seq = tm.stages('sequential', 1200, 'efficientnet-lite0',
                        tm.recipe_of('sequential'), [3.0, 0.6], 240)
        self.assertEqual(
            [s['cfg_options']['train_cfg.max_iters'] for s in seq],
            [600, 600])
        backbone = seq[1]['cfg_options']['model.backbone']
        self.assertFalse(backbone['pretrained_imagenet'])
        self.assertEqual(backbone['init_cfg']['checkpoint'],
                         '{prev_checkpoint}')

    def test_dl4all_methods_as_the_reference_runs_them(self):
        recipe = tm.recipe_of('dl4all-joint')
        opts = {
            m: tm.stages(m, 1200, 'resnet18', recipe, [3.0, 0.6],
                         240)[0]['cfg_options']
            for m in ('dl4all-joint', 'dl4all-greedy',
                      'dl4all-greedy-samebatch')
        }
        joint = opts['dl4all-joint']
        self.assertEqual(joint['train_cfg.strategy'], 'joint')
        self.assertEqual(joint['train_cfg.warmup_mode'], 'reference')
        self.assertNotIn('train_cfg.greedy_rule', joint)
        self.assertEqual(
            opts['dl4all-greedy']['train_cfg.greedy_rule'], 'reference')
        self.assertEqual(
            opts['dl4all-greedy-samebatch']['train_cfg.greedy_rule'],
            'same_batch')
        # class weights from the training labels (both heads, torch's
        # weighted mean), BN re-estimated with momentum on target batches
        # of 8, at most one pass over the 240 training images (30 batches)
        hooks = {h['type']: h for h in joint['custom_hooks']}
        self.assertIn('DomainClassWeightHook', hooks)
        self.assertEqual(
            hooks['DomainBNRecalibHook'],
            dict(type='DomainBNRecalibHook', mode='momentum',
                 num_batches=30, batch_size=8))
        for domain in ('source', 'target'):
            self.assertEqual(
                joint[f'model.head.task_heads.{domain}.loss']['type'],
                'WeightedCrossEntropyLoss')
        self.assertNotIn('model.head.task_heads.target.loss.class_weight',
                         joint)
        # the tuned composition: 8 + 24 of the 32-image budget
        sizes = joint['train_dataloader.batch_sampler.batch_sizes']
        self.assertEqual(sizes, dict(source=8, target=24))
        self.assertEqual(joint['train_dataloader.batch_size'], 32)
        # the three DL4ALL methods differ only in their loop options
        for name, o in opts.items():
            rest = {k: v for k, v in o.items()
                    if not k.startswith('train_cfg.') or k in (
                        'train_cfg.max_epochs', 'train_cfg.warmup_epochs')}
            same = {k: v for k, v in joint.items()
                    if not k.startswith('train_cfg.') or k in (
                        'train_cfg.max_epochs', 'train_cfg.warmup_epochs')}
            self.assertEqual(rest, same, name)
        off = tm.stages('dl4all-joint', 1200, 'resnet18',
                        tm.recipe_of('dl4all-joint', dict(class_weight=0)),
                        [3.0, 0.6], 240)[0]['cfg_options']
        self.assertNotIn('DomainClassWeightHook',
                         [h['type'] for h in off['custom_hooks']])
        self.assertNotIn('model.head.task_heads.target.loss', off)
        self.assertEqual(transfer.dl4all_methods(list(tm.METHODS)),
                         ['dl4all-joint', 'dl4all-greedy',
                          'dl4all-greedy-samebatch'])

    def test_reused_baseline_records(self):
        def record(method, seed, split='test'):
            return dict(method=method, seed=seed, fold=None,
                        metrics={k: 0.5 for k in METRIC_KEYS}, wall_s=1.0,
                        backbone='resnet18', eval_split=split)

        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'old.json')
            with open(path, 'w') as f:
                json.dump([record('target-only', 0),
                           record('dl4all-joint', 0)], f)
            got = transfer.reused_records([path], ['dl4all-joint'],
                                          'resnet18', 'test')
            # the old DL4ALL record is not mixed into the re-run
            self.assertEqual([r['method'] for r in got], ['target-only'])
            with self.assertRaisesRegex(ValueError, 'eval split'):
                transfer.reused_records([path], ['dl4all-joint'],
                                        'resnet18', 'val')
            with self.assertRaisesRegex(ValueError, 'backbone'):
                transfer.reused_records([path], ['dl4all-joint'],
                                        'efficientnet-lite0', 'test')
        merged = transfer._report_order(
            [record('dl4all-greedy-samebatch', 0), record('dl4all-joint', 1),
             record('target-only', 1), record('dl4all-joint', 0)])
        self.assertEqual(
            [(r['method'], r['seed']) for r in merged],
            [('target-only', 1), ('dl4all-joint', 0), ('dl4all-joint', 1),
             ('dl4all-greedy-samebatch', 0)])

    def test_dl4all_keeps_the_runtime_checks(self):
        for bn_recalib in (20, 0):
            recipe = tm.recipe_of('dl4all-joint',
                                  dict(bn_recalib=bn_recalib))
            opts = tm.stages('dl4all-greedy', 1200, 'resnet18', recipe,
                             [3.0, 0.6], 240)[0]['cfg_options']
            types = [h['type'] for h in opts['custom_hooks']]
            self.assertEqual(
                types[:3],
                ['DomainConfigCheckHook', 'LeakageGuardHook',
                 'FiniteLossHook'])
            self.assertEqual('DomainBNRecalibHook' in types,
                             bn_recalib > 0)


class TestTransferSmoke(unittest.TestCase):

    def test_two_methods_one_seed(self):
        with tempfile.TemporaryDirectory() as tmp:
            raw = osp.join(tmp, 'raw')
            write_fake_root(raw)
            data = osp.join(tmp, 'data96')
            self.assertEqual(
                transfer.main(['--data-root', raw, '--prepare-data', data]),
                0)
            img = cv2.imread(osp.join(data, 'all_aria', 'Pre',
                                      'Pre-000.jpg'))
            self.assertEqual(img.shape, (96, 96, 3))
            work = osp.join(tmp, 'work')
            rc = transfer.main([
                '--data-root', data, '--work-dir', work, '--methods',
                'target-only,dl4all-greedy', '--seeds', '0', '--iters', '4',
                '--split-sizes', '6,6', '--recipe', 'class_weight=1',
                'batch=2,2', 'bn_batch=2', '--no-progress', '--jobs', '2'
            ])
            self.assertEqual(rc, 0)
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            self.assertEqual([r['method'] for r in records],
                             ['target-only', 'dl4all-greedy'])
            for record in records:
                self.assertEqual(record['backbone'], 'resnet18')
                self.assertEqual((record['seed'], record['fold']), (0, None))
                self.assertEqual(set(record['metrics']), set(METRIC_KEYS))
                self.assertEqual(record['eval_split'], 'test')
                self.assertGreater(record['wall_s'], 0)
            with open(osp.join(work, 'splits', 'test.txt')) as f:
                self.assertEqual(len(f.readlines()), 18 - 12)
            with open(osp.join(work, 'results.md')) as f:
                md = f.read()
            self.assertIn('| target-only | 1 |', md)
            self.assertIn('## dl4all-greedy minus target-only', md)
            self.assertIn('Wilcoxon p', md)
            # finished runs are skipped: a rerun trains nothing
            mtime = osp.getmtime(osp.join(work, 'runs', 'target-only',
                                          'seed0', 'record.json'))
            self.assertEqual(transfer.main([
                '--data-root', data, '--work-dir', work, '--methods',
                'target-only', '--seeds', '0', '--iters', '4',
                '--split-sizes', '6,6', '--recipe', 'class_weight=1',
                'batch=2,2', '--no-progress'
            ]), 0)
            self.assertEqual(mtime, osp.getmtime(osp.join(
                work, 'runs', 'target-only', 'seed0', 'record.json')))
            # re-running only the DL4ALL rows (finished: nothing trains)
            # with the baseline's records taken from a results.json
            old = osp.join(tmp, 'old_results.json')
            os.replace(osp.join(work, 'results.json'), old)
            self.assertEqual(transfer.main([
                '--data-root', data, '--work-dir', work, '--methods',
                'dl4all-greedy', '--seeds', '0', '--iters', '4',
                '--split-sizes', '6,6', '--recipe', 'class_weight=1',
                'batch=2,2', 'bn_batch=2', '--no-progress',
                '--baseline-records', old
            ]), 0)
            with open(osp.join(work, 'results.json')) as f:
                self.assertEqual([r['method'] for r in json.load(f)],
                                 ['target-only', 'dl4all-greedy'])
            with open(osp.join(work, 'results.md')) as f:
                md = f.read()
            self.assertIn('## dl4all-greedy minus target-only', md)
            self.assertIn('Not re-run: target-only (1 records', md)


if __name__ == '__main__':
    unittest.main()
