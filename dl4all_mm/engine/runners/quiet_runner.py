"""A Runner whose terminal shows errors only."""
import logging
from typing import Optional, Union

from mmengine.logging import MMLogger
from mmpretrain.registry import RUNNERS

from .dl4all_runner import DL4ALLRunner


@RUNNERS.register_module()
class QuietRunner(DL4ALLRunner):
    """:class:`DL4ALLRunner` with a quiet terminal.

    The runner's logger writes every record of ``log_level`` and above to
    the run's log file (``WORK_DIR/TIMESTAMP/TIMESTAMP.log``) as usual, but
    its terminal handler only records of :attr:`terminal_level` (ERROR) and
    above: no environment and config dump, hook table, per-iteration lines,
    checkpoint messages or warnings on the terminal (all in the log file).
    Only this runner's logger is touched; exceptions propagate unchanged.
    ``tools/run_demo.py`` uses it (``--verbose`` goes back to
    :class:`DL4ALLRunner`); with ``tools/train.py``, set
    ``runner_type = 'mmpretrain.QuietRunner'`` in a config.
    """

    terminal_level: Union[int, str] = logging.ERROR

    def build_logger(self,
                     log_level: Union[int, str] = 'INFO',
                     log_file: Optional[str] = None,
                     **kwargs) -> MMLogger:
        """Build the run's logger, then raise its terminal handler's level.

        Args:
            log_level: Level of the log file (and of the terminal if higher
                than :attr:`terminal_level`). Defaults to ``'INFO'``.
            log_file: Path of the log file; ``LOG_DIR/TIMESTAMP.log`` when
                None.
            **kwargs: Passed to :class:`MMLogger`.

        Returns:
            MMLogger: The runner's logger.
        """
        logger = super().build_logger(
            log_level=log_level, log_file=log_file, **kwargs)
        level = self.terminal_level
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
        if not isinstance(level, int):
            raise ValueError(f'QuietRunner.terminal_level: unknown level '
                             f'{self.terminal_level!r}')
        for handler in logger.handlers:
            if (isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler)):
                handler.setLevel(max(handler.level, level))
        return logger
