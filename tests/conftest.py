import sys
from pathlib import Path

import pytest

from datamodeling import registry

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def fake_practice(monkeypatch):
    """Register tests/fakepractice as the only extra practice."""
    import fakepractice

    real = registry.practices

    def with_fake():
        return {**real(), "fake": fakepractice.PRACTICE}

    monkeypatch.setattr(registry, "practices", with_fake)
    return fakepractice.PRACTICE
