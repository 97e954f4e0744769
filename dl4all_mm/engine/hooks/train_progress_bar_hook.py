"""A one-line training progress bar: steps done, time left, loss."""
import sys
import time
from typing import Optional, TextIO

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class TrainProgressBarHook(Hook):
    """Draw the training progress as one line on the terminal.

    ``tools/run_demo.py`` sends mmengine's log records to each run's log
    file and shows this bar instead::

        DL4ALL       [#########...........]  96/208 steps  ETA 0:41  loss 0.612

    steps done out of the run's optimizer steps (``runner.max_iters``), the
    time left at the mean pace so far (validation included), and the mean
    training ``loss`` of the last ``window`` steps (``train/loss`` in the
    runner's message hub, where ``RuntimeInfoHook`` records it). On a
    terminal the line is redrawn in place (at most every ``refresh``
    seconds); written to anything else (a pipe, a file) it is printed once
    at each quarter of the run. ``after_train`` draws the final line with
    the elapsed time and ends it.

    Args:
        label (str): Name shown before the bar. Defaults to ``'train'``.
        width (int): Characters of the bar. Defaults to 20.
        window (int): Steps whose mean loss is shown. Defaults to 10.
        refresh (float): Seconds between redraws on a terminal.
            Defaults to 0.5.
        stream (TextIO, optional): Where to draw; ``sys.stdout`` at the time
            of drawing when None.
    """

    priority = 'LOW'

    def __init__(self,
                 label: str = 'train',
                 width: int = 20,
                 window: int = 10,
                 refresh: float = 0.5,
                 stream: Optional[TextIO] = None) -> None:
        for name, value in (('width', width), ('window', window)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f'TrainProgressBarHook: {name} must be an int >= 1, got '
                    f'{value!r}')
        if refresh < 0:
            raise ValueError(
                f'TrainProgressBarHook: refresh must be >= 0, got {refresh!r}')
        self.label = label
        self.width = width
        self.refresh = refresh
        self._stream = stream
        self.window = window
        self._start = 0.0
        self._last_draw = 0.0
        self._quarter = 0
        self._drawn = 0  # length of the line on screen (terminal)
        self._tty = False

    @property
    def stream(self) -> TextIO:
        """The stream drawn on."""
        return self._stream if self._stream is not None else sys.stdout

    def before_train(self, runner) -> None:
        """Start the clock; check once whether the stream is a terminal."""
        isatty = getattr(self.stream, 'isatty', None)
        self._tty = bool(isatty and isatty())
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._quarter = 0
        self._drawn = 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Redraw when due."""
        done, total = runner.iter + 1, runner.max_iters
        now = time.monotonic()
        if self._tty:
            if now - self._last_draw < self.refresh and done < total:
                return
        else:
            quarter = 4 * done // max(total, 1)
            if quarter <= self._quarter or done >= total:
                return  # the last line comes from after_train
            self._quarter = quarter
        self._last_draw = now
        elapsed = now - self._start
        eta = elapsed / done * (total - done)
        self._draw(
            self.line(done, total, f'ETA {_clock(eta)}', self._loss(runner)),
            end=False)

    def after_train(self, runner) -> None:
        """Draw the final line (elapsed time) and end it."""
        elapsed = time.monotonic() - self._start
        self._draw(
            self.line(runner.iter, runner.max_iters,
                      f'took {_clock(elapsed)}', self._loss(runner)),
            end=True)

    def line(self,
             done: int,
             total: int,
             timing: str,
             loss: Optional[float] = None) -> str:
        """The bar's text.

        Args:
            done: Steps done.
            total: Steps of the run.
            timing: ``ETA m:ss`` or ``took m:ss``.
            loss: The mean loss shown; no loss field when None.

        Returns:
            str: e.g. ``DL4ALL [####....] 96/208 steps ETA 0:41 loss 0.612``.
        """
        filled = self.width * done // max(total, 1)
        bar = '#' * filled + '.' * (self.width - filled)
        digits = len(str(total))
        text = (f'{self.label:<12} [{bar}] {done:>{digits}}/{total} steps  '
                f'{timing}')
        if loss is not None:
            text += f'  loss {loss:.3f}'
        return text

    def _loss(self, runner) -> Optional[float]:
        """Mean ``train/loss`` of the last :attr:`window` steps from the
        runner's message hub; None before any."""
        history = runner.message_hub.log_scalars.get('train/loss')
        if history is None:
            return None
        return float(history.mean(self.window))

    def _draw(self, text: str, end: bool) -> None:
        if self._tty:
            padded = text.ljust(self._drawn)  # cover a longer earlier line
            self._drawn = 0 if end else len(text)
            self.stream.write('\r' + padded + ('\n' if end else ''))
        else:
            self.stream.write(text + '\n')
        self.stream.flush()


def _clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f'{hours}:{minutes:02d}:{secs:02d}'
    return f'{minutes}:{secs:02d}'
