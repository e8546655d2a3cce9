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


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the whole book once per test session, exactly as the README does (-W, all notebooks)."""
    import os
    import subprocess

    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "DATAMODELING_STRICT": "1"}
    proc = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(ROOT),
            "-W",
            "--keep-going",
            "--all",
            "--path-output",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    return proc, out / "_build" / "html"
