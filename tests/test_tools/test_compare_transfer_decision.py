"""``tools/compare_transfer.py --decision``: an unknown rule exits 2
naming it; a known one reaches the report (nothing trains here)."""
import io
import os.path as osp
import sys
import unittest
from contextlib import redirect_stderr
from unittest import mock

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))
import compare_transfer  # noqa: E402

ARGS = ['--source', 's', '--target', 't', '--work-dir', 'w']


class TestDecisionOption(unittest.TestCase):

    def test_unknown_rule_exits_2_naming_it(self):
        err = io.StringIO()
        with redirect_stderr(err), self.assertRaises(SystemExit) as cm:
            compare_transfer.main(ARGS + ['--decision', 'youden'])
        self.assertEqual(cm.exception.code, 2)
        self.assertIn("'youden'", err.getvalue())

    def test_rule_reaches_the_options(self):
        self.assertEqual(compare_transfer.parse_args(ARGS).decision,
                         'argmax')
        with mock.patch.object(compare_transfer, 'run_comparison',
                               return_value=0) as run:
            code = compare_transfer.main(ARGS + ['--decision', 'prior'])
        self.assertEqual(code, 0)
        self.assertEqual(run.call_args[0][1].decision, 'prior')


if __name__ == '__main__':
    unittest.main()
