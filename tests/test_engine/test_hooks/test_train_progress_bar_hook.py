"""TrainProgressBarHook: one line a run with steps, ETA and loss; redrawn
in place on a terminal, a line a quarter elsewhere."""
import io
from types import SimpleNamespace
from unittest import TestCase

import torch
from mmengine.logging import MessageHub

from dl4all_mm.engine.hooks import TrainProgressBarHook


class Tty(io.StringIO):

    def isatty(self):
        return True


def make_runner(total, name):
    hub = MessageHub.get_instance(f'test_train_progress_bar_{name}')
    return SimpleNamespace(iter=0, max_iters=total, message_hub=hub)


def run(hook, total, losses, name):
    runner = make_runner(total, name)
    hook.before_train(runner)
    for step, loss in enumerate(losses):
        runner.iter = step
        # what RuntimeInfoHook (priority VERY_HIGH) records first
        runner.message_hub.update_scalar(
            'train/loss', torch.tensor(loss, requires_grad=True))
        hook.after_train_iter(runner, step)
    runner.iter = total
    hook.after_train(runner)


class TestTrainProgressBarHook(TestCase):

    def test_pipe_gets_a_line_a_quarter_and_the_end(self):
        out = io.StringIO()
        hook = TrainProgressBarHook(label='DL4ALL', window=2, stream=out)
        run(hook, 8, [float(i) for i in range(8)], 'pipe')
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 4, lines)  # 2/8, 4/8, 6/8, final
        self.assertNotIn('\r', out.getvalue())
        self.assertTrue(lines[0].startswith('DL4ALL'))
        self.assertIn('[#####...............] 2/8 steps  ETA ', lines[0])
        self.assertIn('loss 0.500', lines[0])  # mean of steps 1-2: 0, 1
        self.assertIn('[####################] 8/8 steps  took ', lines[-1])
        self.assertTrue(lines[-1].endswith('loss 6.500'), lines[-1])

    def test_terminal_line_is_redrawn_in_place(self):
        out = Tty()
        hook = TrainProgressBarHook(refresh=0, stream=out)
        run(hook, 3, [3.0, 2.0, 1.0], 'tty')
        text = out.getvalue()
        self.assertEqual(text.count('\n'), 1, repr(text))  # ended once
        self.assertTrue(text.endswith('\n'))
        self.assertEqual(text.count('\r'), 4)  # 3 steps + final
        self.assertIn('3/3 steps  took 0:00  loss 2.000', text)

    def test_no_loss_no_loss_field(self):
        out = io.StringIO()
        hook = TrainProgressBarHook(stream=out)
        runner = make_runner(1, 'no_loss')
        hook.before_train(runner)
        hook.after_train_iter(runner, 0, outputs=None)
        runner.iter = 1
        hook.after_train(runner)
        self.assertNotIn('loss', out.getvalue())

    def test_bad_arguments(self):
        for kwargs in (dict(width=0), dict(window=1.5), dict(refresh=-1)):
            with self.assertRaisesRegex(ValueError, 'TrainProgressBarHook'):
                TrainProgressBarHook(**kwargs)
