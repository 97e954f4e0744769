"""Shared pytest fixtures of the dl4all_mm tests."""
import pytest

from dl4all_mm.engine.runners import register_safe_loader


@pytest.fixture(autouse=True, scope='session')
def safe_checkpoint_loader():
    """mmengine loads local checkpoints with our trust policy in every test,
    as it does under a DL4ALLRunner or a config of ours (its custom_imports
    register the loader): tests build plain Runners from inline dicts, and
    under torch >= 2.6 mmengine 0.10.7's own loader refuses mmengine
    checkpoints. Tests of the upstream behaviour put mmengine's loader back
    with ``monkeypatch``."""
    register_safe_loader()
    yield
