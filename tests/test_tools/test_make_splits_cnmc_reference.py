"""``make_splits.py --protocol cnmc-reference``: the reference code's C-NMC
split (``splitfolders.ratio(datastore, seed=42, ratio=(.7, .2, .1))`` on a
folder per class), on a generated C-NMC tree, against split-folders itself
on the same images gathered into one folder per class."""
import contextlib
import io
import os
import os.path as osp
import shutil
import tempfile
from unittest import TestCase

from dl4all_mm.datasets import CNMC2019Dataset
from tests.fixtures.field_datasets import make_cnmc_tree
from tests.test_tools.test_make_splits import load_tool

make_splits = load_tool('tools/dataset_converters/make_splits.py')
SPLITS = ('train', 'val', 'test')


class TestMakeSplitsCnmcReference(TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.root = osp.join(self.tmp, 'cnmc')
        self.rows = make_cnmc_tree(self.root, rows=3, prelim=True,
                                   images=False)
        self.out = osp.join(self.tmp, 'splits')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_tool(self, *extra):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(err):
            summary = make_splits.main([
                '--dataset', 'cnmc', '--data-root', self.root, '--out-dir',
                self.out, '--protocol', 'cnmc-reference', *extra])
        return summary, err.getvalue()

    def test_equals_splitfolders_on_the_datastore(self):
        import splitfolders
        summary, err = self.run_tool()
        self.assertIn('cnmc-reference splits images, not patients', err)
        # the reference's datastore: one folder per class, training folds
        train = [r for r in self.rows if r['split'] == 'train']
        store = osp.join(self.tmp, 'datastore')
        for r in train:
            cls = ('hem', 'all')[r['label']]
            os.makedirs(osp.join(store, cls), exist_ok=True)
            open(osp.join(store, cls, osp.basename(r['rel'])), 'w').close()
        with contextlib.redirect_stderr(io.StringIO()):
            splitfolders.ratio(store, output=osp.join(self.tmp, 'sf'),
                               seed=42, ratio=(.7, .2, .1))
        total = 0
        for split in SPLITS:
            want = sorted(
                f'{cls}/{name}' for cls in ('hem', 'all')
                for name in os.listdir(osp.join(self.tmp, 'sf', split, cls)))
            ds = CNMC2019Dataset(data_root=self.root,
                                 ann_file=osp.join(self.out, f'{split}.txt'),
                                 serialize_data=False)
            got = sorted(
                f'{("hem", "all")[ds.get_data_info(i)["gt_label"]]}/'
                f'{osp.basename(ds.get_data_info(i)["img_path"])}'
                for i in range(len(ds)))
            self.assertEqual(got, want, split)
            self.assertEqual(summary[split], len(want))
            total += len(want)
        self.assertEqual(total, len(train))
        self.assertGreater(summary['val'], 0)
        self.assertGreater(summary['test'], 0)

    def test_only_for_cnmc(self):
        with self.assertRaises(SystemExit), \
                contextlib.redirect_stderr(io.StringIO()):
            make_splits.main(['--dataset', 'adp', '--data-root', self.root,
                              '--out-dir', self.out, '--protocol',
                              'cnmc-reference'])
