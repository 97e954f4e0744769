"""Tests of FlushDenormalHook: on for the run, logged, state restored."""
import logging
import os
import os.path as osp
from unittest import TestCase, mock

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmpretrain.registry import HOOKS

import dl4all_mm  # noqa: F401
from dl4all_mm.utils import denormals_flushed, set_flush_denormals

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


class TestFlushDenormalHook(TestCase):

    def setUp(self):
        self.addCleanup(set_flush_denormals, denormals_flushed())
        set_flush_denormals(False)
        self.logger = MMLogger.get_instance('test_flush_denormal_hook')

    def _run(self, hook) -> str:
        with self.assertLogs(self.logger, level=logging.INFO) as logs:
            hook.before_run(runner=mock.Mock())
        return '\n'.join(logs.output)

    def test_flushes_during_the_run_and_restores(self):
        hook = HOOKS.build(dict(type='FlushDenormalHook'))
        self.assertIn('flushed to zero', self._run(hook))
        self.assertTrue(denormals_flushed())
        hook.after_run(runner=mock.Mock())
        self.assertFalse(denormals_flushed())

    def test_turned_off(self):
        hook = HOOKS.build(dict(type='FlushDenormalHook', flush=False))
        self.assertIn('kept (flush=False)', self._run(hook))
        self.assertFalse(denormals_flushed())
        with mock.patch.dict(os.environ, {'DL4ALL_KEEP_DENORMALS': '1'}):
            hook = HOOKS.build(dict(type='FlushDenormalHook'))
            self.assertIn('DL4ALL_KEEP_DENORMALS=1', self._run(hook))
        self.assertFalse(denormals_flushed())
        with self.assertRaisesRegex(TypeError, 'flush must be a bool'):
            HOOKS.build(dict(type='FlushDenormalHook', flush='yes'))

    def test_on_in_the_shared_runtime(self):
        """A default hook: configs that replace custom_hooks keep it."""
        cfg = Config.fromfile(
            osp.join(ROOT, 'configs', 'dl4all',
                     'dl4all_resnet18_demo_pbc2bccd.py'))
        self.assertEqual(cfg.default_hooks.flush_denormal,
                         dict(type='FlushDenormalHook'))
