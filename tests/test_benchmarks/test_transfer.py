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
import transfer_methods as tm  # noqa: E402

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
                'target-only,dl4all-joint', '--seeds', '0', '--iters', '4',
                '--split-sizes', '6,6', '--recipe', 'class_weight=1',
                'batch=2,2', '--no-progress', '--jobs', '2'
            ])
            self.assertEqual(rc, 0)
            with open(osp.join(work, 'results.json')) as f:
                records = json.load(f)
            self.assertEqual([r['method'] for r in records],
                             ['target-only', 'dl4all-joint'])
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
            self.assertIn('## dl4all-joint minus target-only', md)
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


if __name__ == '__main__':
    unittest.main()
