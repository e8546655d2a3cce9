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


# ---- the fixtures of each practice's pipeline tests (tests/test_pipeline_PRACTICE.py) -------
# The module names its practice's build module ``build`` and its random seed ``SEED``.


@pytest.fixture(scope="module")
def zone(request, tmp_path_factory):
    """The practice's landing zone at the tiny scale, written once per module."""
    build = request.module.build
    root = (
        tmp_path_factory.mktemp("landing") / f"{build.PIPELINE.practice}-tiny" / "raw"
    )
    build.write_landing(root, scale="tiny", seed=request.module.SEED)
    return root


@pytest.fixture(scope="module")
def raw(zone):
    from datamodeling import pipeline

    return pipeline.ParquetLayer(zone)


@pytest.fixture(scope="module")
def full(request, tmp_path_factory, raw):
    """The full build with the default lookback (3 days)."""
    from pipeline_checks import full_build

    path = tmp_path_factory.mktemp("full") / "full.duckdb"
    return full_build(path, request.module.build.PIPELINE, raw, 3)


@pytest.fixture(scope="module")
def full_1(request, tmp_path_factory, raw):
    """The full build with a lookback of one day (some records are later than it)."""
    from pipeline_checks import full_build

    path = tmp_path_factory.mktemp("full1") / "full1.duckdb"
    return full_build(path, request.module.build.PIPELINE, raw, 1)


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
