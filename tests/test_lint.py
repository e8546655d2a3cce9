"""ruff, as configured in pyproject.toml (notebooks included), finds nothing."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run(
        [str(ruff), "check", str(ROOT)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_notebooks_are_committed_without_outputs():
    import json

    dirty = []
    for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        cells = json.loads(nb.read_text())["cells"]
        if any(
            c.get("outputs") or c.get("execution_count")
            for c in cells
            if c["cell_type"] == "code"
        ):
            dirty.append(str(nb.relative_to(ROOT)))
    assert not dirty, f"clear outputs before committing: {dirty}"
