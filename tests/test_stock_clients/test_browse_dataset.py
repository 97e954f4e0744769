"""mmpretrain's ``tools/visualization/browse_dataset.py`` shows what each
domain's pipeline (training) and the validation pipeline feed the model."""
import os
import os.path as osp
import tempfile
import unittest

from .stock import DEMO_CONFIG, run_stock_tool


class TestStockBrowseDataset(unittest.TestCase):

    def _browse(self, phase: str, mode: str, number: int) -> list:
        with tempfile.TemporaryDirectory() as out:
            proc = run_stock_tool('visualization/browse_dataset.py', [
                DEMO_CONFIG, '--phase', phase, '--mode', mode,
                '--show-number',
                str(number), '--output-dir', out, '--not-show'
            ])
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
            return sorted(os.listdir(out))

    def test_train_shows_every_domain_step_by_step(self):
        names = self._browse('train', 'pipeline', 4)
        self.assertEqual(len(names), 4, names)
        # PBC (source) files are named BA_*, NE_*...; BCCD (target) ones
        # BloodImage_*: the first samples come from both domains in turn.
        self.assertEqual(
            sum(n.startswith('BloodImage') for n in names), 2, names)

    def test_val(self):
        names = self._browse('val', 'transformed', 2)
        self.assertEqual(len(names), 2, names)


class TestWrapperPipeline(unittest.TestCase):
    """The ``pipeline`` attribute that the tool reads and replaces."""

    def setUp(self):
        # the tool's config sets default_scope='mmpretrain'; alone, this
        # test must too (no earlier test leaves a default scope behind)
        from mmengine.registry import DefaultScope
        self.enterContext(DefaultScope.overwrite_default_scope('mmpretrain'))

    def test_get_and_set(self):
        from mmengine.dataset import Compose
        from mmpretrain.registry import DATASETS
        import dl4all_mm  # noqa: F401
        from dl4all_mm.datasets.interleaved_wrapper import DomainPipelines
        root = osp.join(osp.dirname(DEMO_CONFIG), '..', '..', 'data', 'demo')
        load = dict(type='LoadImageFromFileRobust')
        wrapper = DATASETS.build(
            dict(
                type='InterleavedDatasetWrapper',
                datasets=dict(
                    source=dict(
                        type='CustomDataset',
                        data_root=osp.join(root, 'pbc'),
                        pipeline=[load, dict(type='PackInputs')]),
                    target=dict(
                        type='CustomDataset',
                        data_root=osp.join(root, 'bccd_wbc'),
                        ann_file='splits/val.txt',
                        pipeline=[
                            load,
                            dict(type='Resize', scale=(8, 8)),
                            dict(type='PackInputs')
                        ]))))
        pipeline = wrapper.pipeline
        self.assertIsInstance(pipeline, DomainPipelines)
        info = wrapper.get_data_info(len(wrapper) - 1)
        self.assertEqual(pipeline(info)['inputs'].shape[-2:], (8, 8))
        with self.assertRaisesRegex(KeyError, "'domain'.*None"):
            pipeline(dict(img_path='x'))

        seen = []

        class Recording(Compose):

            def __call__(self, data):
                seen.append([type(t).__name__ for t in self.transforms])
                return super().__call__(data)

        wrapper.pipeline = Recording(pipeline.transforms)
        first = [wrapper[0], wrapper[len(wrapper) - 1]]
        self.assertEqual(seen, [
            ['LoadImageFromFileRobust', 'PackInputs'],
            ['LoadImageFromFileRobust', 'Resize', 'PackInputs'],
        ])
        self.assertEqual(first[1]['data_samples'].domain, 'target')
        # Iteration alternates the domains.
        domains = [s['data_samples'].domain for _, s in zip(range(4), wrapper)]
        self.assertEqual(domains, ['source', 'target'] * 2)
        # Any other pipeline replaces every domain's.
        wrapper.pipeline = Compose([load, dict(type='PackInputs')])
        self.assertEqual(wrapper[len(wrapper) - 1]['inputs'].shape[0], 3)


if __name__ == '__main__':
    unittest.main()
