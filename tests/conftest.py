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
    """Build the whole book once per test session, exactly as the README does (-W, all notebooks).

    ``DATAMODELING_BOOK_HTML=path/to/_build/html`` reuses a site built before (to rerun the
    browser tests quickly); the build's own tests are then skipped, since there is no log.
    """
    import os
    import subprocess
    import types

    reuse = os.environ.get("DATAMODELING_BOOK_HTML")
    if reuse:
        html = Path(reuse)
        if not (html / "index.html").is_file():
            pytest.fail(f"DATAMODELING_BOOK_HTML={reuse}: no built site there")
        return types.SimpleNamespace(
            returncode=0, stdout="", stderr="", reused=True
        ), html

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
