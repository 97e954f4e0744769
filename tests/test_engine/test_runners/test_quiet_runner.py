"""QuietRunner: the log file gets every record, the terminal errors only;
other loggers are left alone."""
import contextlib
import io
import tempfile
from unittest import TestCase

from mmengine.logging import MMLogger
from torch import nn

from dl4all_mm.engine import QuietRunner


class TestQuietRunner(TestCase):

    def test_terminal_errors_only_file_everything(self):
        other = MMLogger.get_instance('quiet_runner_test_other')
        other_levels = [h.level for h in other.handlers]
        with tempfile.TemporaryDirectory() as tmp:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                runner = QuietRunner(
                    model=nn.Linear(2, 2),
                    work_dir=tmp,
                    experiment_name='quiet_runner_test',
                    default_scope='mmpretrain')
                runner.logger.info('an info record')
                runner.logger.warning('a warning record')
                runner.logger.error('an error record')
            with open(runner.logger.log_file) as f:
                log = f.read()
            for handler in runner.logger.handlers:
                handler.close()
        for record in ('an info record', 'a warning record',
                       'an error record', 'System environment',
                       'Hooks will be executed'):
            self.assertIn(record, log)
        self.assertIn('an error record', out.getvalue())
        self.assertNotIn('an info record', out.getvalue())
        self.assertNotIn('a warning record', out.getvalue())
        self.assertNotIn('System environment', out.getvalue())
        self.assertNotIn('Hooks will be executed', out.getvalue())
        self.assertEqual([h.level for h in other.handlers], other_levels)

    def test_unknown_level(self):

        class Bad(QuietRunner):
            terminal_level = 'LOUD'

        with tempfile.TemporaryDirectory() as tmp, \
                contextlib.redirect_stdout(io.StringIO()), \
                self.assertRaisesRegex(ValueError, "'LOUD'"):
            Bad(model=nn.Linear(2, 2), work_dir=tmp,
                experiment_name='quiet_runner_bad', default_scope='mmpretrain')
