"""Fixed intra-op threads and deterministic algorithms for a block of code.

The result of a CPU training run depends on the number of intra-op threads
(reductions are split across them), so a run repeats to the last digit only
with the same seed, ``randomness.deterministic=True`` and the same thread
count. :func:`fixed_threads` sets the count for a block and puts back
everything that block (or a Runner with ``deterministic=True`` in it)
changes process-wide.
"""
import contextlib
import os
from typing import Iterator

import torch

CUBLAS_ENV = 'CUBLAS_WORKSPACE_CONFIG'


@contextlib.contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """Run a block with ``threads`` intra-op threads, then restore the
    thread count, the deterministic-algorithm and cuDNN flags (which
    ``randomness.deterministic=True`` sets through
    :func:`mmengine.runner.set_random_seed`) and ``CUBLAS_WORKSPACE_CONFIG``
    (set to ``:4096:8`` where CUDA is available and it is unset:
    deterministic cuBLAS needs it).

    Args:
        threads: Intra-op threads (``torch.set_num_threads``), >= 1.

    Raises:
        ValueError: ``threads`` is not a positive int.
    """
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f'threads must be an int >= 1, got {threads!r}')
    saved = (torch.get_num_threads(),
             torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark, os.environ.get(CUBLAS_ENV))
    torch.set_num_threads(threads)
    if torch.cuda.is_available():
        os.environ.setdefault(CUBLAS_ENV, ':4096:8')
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
        torch.backends.cudnn.deterministic = saved[3]
        torch.backends.cudnn.benchmark = saved[4]
        if saved[5] is None:
            os.environ.pop(CUBLAS_ENV, None)
        else:
            os.environ[CUBLAS_ENV] = saved[5]
