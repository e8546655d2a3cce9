"""Fault injection: a build never loses or damages data (issue 9).

Each probe runs the ``datamodeling`` command against a folder holding a good warehouse (and
whatever the probe puts there: a text file, a symlink, a read-only file...), then records the
exit code, the message (a failure is exactly one line on stderr, never a traceback) and the
damage: every file of the folder whose bytes, mode or type changed, and every file left behind.
The damage is always "none".

    PYTHONPATH=src .venv/bin/python tests/test_faults.py     # prints the probe table (Markdown)

Faults are real where the machine allows: a real small file system for a full disk (skipped with
the reason where it cannot be mounted), DuckDB really running out of memory under a memory
limit, numpy really failing to allocate, real SIGKILL / SIGTERM / SIGINT sent to a build in a
subprocess at several points. A full disk is also injected at the checkpoint and during a
table's write, so both code paths run everywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import duckdb
import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

import fakepractice  # noqa: E402
import fakepractice.build as fake_build  # noqa: E402

from datamodeling import cli, exercises, registry, safety, warehouse  # noqa: E402
from datamodeling.registry import Practice  # noqa: E402

#: A second practice built by the same code, so "another practice's warehouse" is a real one.
OTHER = Practice(name="other", title="Another practice", package="fakepractice")
ENOSPC = 'IO Error: Could not write file "{}": No space left on device'


@contextlib.contextmanager
def registered():
    """The fake practices registered next to the real ones (as tests/conftest.py does)."""
    real = registry.practices
    extra = {"fake": fakepractice.PRACTICE, "other": OTHER}
    with mock.patch.object(registry, "practices", lambda: {**real(), **extra}):
        yield


# ---------------------------------------------------------------------------------------------
# What a probe changed
# ---------------------------------------------------------------------------------------------
def snapshot(*places: Path) -> dict[str, tuple]:
    """Type, mode and content hash (or link target) of every path under ``places``."""
    seen = {}
    for place in places:
        paths = (
            [place, *place.rglob("*")]
            if place.is_dir() and not place.is_symlink()
            else [place]
        )
        for path in paths:
            if not os.path.lexists(path):
                continue
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            if stat.S_ISREG(st.st_mode):
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            else:
                content = None
            seen[str(path)] = (kind, stat.S_IMODE(st.st_mode), content)
    return seen


def damage(before: dict, after: dict, expected_new: tuple[str, ...] = ()) -> str:
    """``none``, or what changed: files changed, gone, or left behind."""
    problems = [f"changed {p}" for p in before if p in after and before[p] != after[p]]
    problems += [f"gone {p}" for p in before if p not in after]
    problems += [
        f"left {p}"
        for p in after
        if p not in before and not any(p.endswith(name) for name in expected_new)
    ]
    return "; ".join(problems) or "none"


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp-" in p.name)


# ---------------------------------------------------------------------------------------------
# Setups and injected faults
# ---------------------------------------------------------------------------------------------
def good(
    folder: Path, name: str = "fake.duckdb", practice: str = "fake", scale: int = 100
):
    warehouse.build_database(practice, folder / name, scale=scale, seed=1)
    return folder / name


def text_file(folder: Path):
    (folder / "notes.txt").write_text("my notes, not a database\n")


def symlink_to_text(folder: Path):
    text_file(folder)
    (folder / "link.duckdb").symlink_to(folder / "notes.txt")


def read_only(folder: Path):
    os.chmod(good(folder), 0o444)


def other_practice(folder: Path):
    good(folder, "other.duckdb", practice="other")


def foreign_duckdb(folder: Path):
    con = duckdb.connect(str(folder / "mine.duckdb"))
    con.execute("CREATE TABLE my_work AS SELECT 42 AS answer")
    con.close()


def corrupt(folder: Path):
    path = good(folder)
    data = path.read_bytes()
    path.write_bytes(
        data[:12] + b"\0" * (len(data) - 12)
    )  # DuckDB's header, then nothing


def a_folder(folder: Path):
    (folder / "adir.duckdb").mkdir()


def a_fifo(folder: Path):
    os.mkfifo(folder / "pipe.duckdb")


def wrap_build(after: Callable) -> contextlib.AbstractContextManager:
    """The fake build, then ``after(con)``: a fault in the middle of a build's writes."""
    real = fake_build.build

    def build(con, scale=None, seed=None, progress=None):
        report = real(con, scale=scale, seed=seed, progress=progress)
        after(con)
        return report

    return mock.patch.object(fake_build, "build", build)


def disk_full_at_checkpoint():
    def checkpoint(con):
        raise duckdb.IOException(ENOSPC.format("x.duckdb.tmp"))

    return mock.patch.object(warehouse, "_checkpoint", checkpoint)


def disk_full_while_writing():
    def write(con):
        con.raw_sql("CREATE TABLE half AS SELECT range AS id FROM range(1000)")
        raise duckdb.IOException(ENOSPC.format("x.duckdb.tmp"))

    return wrap_build(write)


def save_loses_rows():
    """The save 'succeeds' but the file lacks rows: what a failed save at close once did."""
    real = warehouse._checkpoint

    def checkpoint(con):
        con.raw_sql("DELETE FROM thing WHERE thing_id < 10")
        real(con)

    return mock.patch.object(warehouse, "_checkpoint", checkpoint)


def duckdb_out_of_memory():
    def hog(con):
        con.raw_sql("SET memory_limit = '30MB'")
        con.raw_sql(
            "SET temp_directory = ''"
        )  # nowhere to spill: a real out-of-memory error
        con.raw_sql(
            "CREATE TABLE hog AS SELECT range % 1000003 AS k, list(range) AS l "
            "FROM range(20000000) GROUP BY ALL"
        )

    return wrap_build(hog)


def numpy_out_of_memory():
    return wrap_build(lambda con: np.empty(10**16))  # a real allocation failure


def memory_short():
    return mock.patch.object(warehouse, "available_memory", lambda: 1_000_000)


def disk_short():
    usage = shutil.disk_usage("/")._replace(free=1_000)
    return mock.patch.object(warehouse.shutil, "disk_usage", lambda path: usage)


# ---------------------------------------------------------------------------------------------
# The probes
# ---------------------------------------------------------------------------------------------
@dataclass
class Probe:
    id: str
    finding: int
    what: str
    argv: list[str]  # "{dir}" stands for the probe's folder
    code: int
    message: str  # a regular expression the last line of stderr matches
    setup: Callable | None = good
    inject: Callable | None = None
    creates: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()  # paths outside the folder that must not change
    env: dict = field(default_factory=dict)


BUILD = ["build", "fake", "--scale", "300", "--db", "{dir}/fake.duckdb"]
METRICS = ["metrics", "fake", "--db"]

PROBES = [
    Probe(
        "disk-full-checkpoint",
        1,
        "disk full at the checkpoint (injected)",
        BUILD,
        1,
        r"no space left on device under .*: nothing was replaced",
        inject=disk_full_at_checkpoint,
    ),
    Probe(
        "disk-full-write",
        1,
        "disk full while a table is written (injected)",
        BUILD,
        1,
        r"no space left on device under .*: nothing was replaced",
        inject=disk_full_while_writing,
    ),
    Probe(
        "save-loses-rows",
        1,
        "the save loses rows without an error (injected)",
        BUILD,
        1,
        r"does not match the build \(thing has 290 rows, the build wrote 300\)",
        inject=save_loses_rows,
    ),
    Probe(
        "db-text-file",
        2,
        "--db is a text file",
        ["build", "fake", "--db", "{dir}/notes.txt"],
        2,
        r"refusing to replace .*notes.txt: it is not a DuckDB database",
        setup=text_file,
    ),
    Probe(
        "db-symlink-to-text",
        2,
        "--db is a symlink to a text file",
        ["build", "fake", "--db", "{dir}/link.duckdb"],
        2,
        r"refusing to replace .*notes.txt: it is not a DuckDB database",
        setup=symlink_to_text,
    ),
    Probe(
        "db-device",
        2,
        "--db /dev/null",
        ["build", "fake", "--db", "/dev/null"],
        2,
        r"refusing to replace /dev/null: it is not a regular file",
        watch=("/dev/null",),
    ),
    Probe(
        "db-fifo",
        2,
        "--db is a named pipe",
        ["build", "fake", "--db", "{dir}/pipe.duckdb"],
        2,
        r"it is not a regular file",
        setup=a_fifo,
    ),
    Probe(
        "db-directory",
        2,
        "--db is a directory",
        ["build", "fake", "--db", "{dir}/adir.duckdb"],
        2,
        r"it is a directory",
        setup=a_folder,
    ),
    Probe(
        "db-read-only",
        2,
        "--db is a read-only warehouse (mode 0444)",
        BUILD,
        2,
        r"it is read-only \(mode 0444\)",
        setup=read_only,
    ),
    Probe(
        "db-other-practice",
        2,
        "--db is another practice's warehouse",
        ["build", "fake", "--db", "{dir}/other.duckdb"],
        2,
        r"it holds the other warehouse, not fake's",
        setup=other_practice,
    ),
    Probe(
        "db-foreign-duckdb",
        2,
        "--db is a DuckDB file this tool did not build",
        ["build", "fake", "--db", "{dir}/mine.duckdb"],
        2,
        r"a DuckDB database that datamodeling did not build",
        setup=foreign_duckdb,
    ),
    Probe(
        "seed-negative",
        6,
        "--seed -1",
        [*BUILD, "--seed", "-1"],
        2,
        r"seed must be a whole number from 0 to 4,294,967,295",
    ),
    Probe(
        "seed-huge",
        6,
        "--seed 2**127",
        [*BUILD, "--seed", str(2**127)],
        2,
        r"seed must be a whole number",
    ),
    Probe(
        "scale-superscript",
        6,
        "--scale ²",
        ["build", "fake", "--scale", "²"],
        2,
        r"unknown scale '²'",
    ),
    Probe(
        "scale-overflow",
        6,
        "--scale 99999999999999999999999",
        ["build", "fake", "--scale", "9" * 23],
        2,
        r"over the limit of 100,000,000 rows",
    ),
    Probe(
        "scale-trillion",
        6,
        "--scale 1000000000000",
        ["build", "fake", "--scale", "1000000000000"],
        2,
        r"over the limit of 100,000,000 rows",
    ),
    Probe(
        "metrics-corrupt",
        6,
        "metrics on a corrupt warehouse",
        [*METRICS, "{dir}/fake.duckdb"],
        2,
        r"cannot read metrics from .*fake.duckdb: DuckDB cannot open it",
        setup=corrupt,
    ),
    Probe(
        "metrics-text-file",
        6,
        "metrics on a text file",
        [*METRICS, "{dir}/notes.txt"],
        2,
        r"cannot read metrics from .*notes.txt: it is not a DuckDB database",
        setup=text_file,
    ),
    Probe(
        "metrics-other-practice",
        6,
        "metrics on another practice's warehouse",
        [*METRICS, "{dir}/other.duckdb"],
        2,
        r"holds the other warehouse, not fake's",
        setup=other_practice,
    ),
    Probe(
        "oom-duckdb",
        6,
        "DuckDB runs out of memory (real, 30 MB limit)",
        BUILD,
        1,
        r"out of memory building fake at 300 rows: nothing was replaced",
        inject=duckdb_out_of_memory,
    ),
    Probe(
        "oom-numpy",
        6,
        "numpy cannot allocate (real)",
        BUILD,
        1,
        r"out of memory building fake at 300 rows: nothing was replaced",
        inject=numpy_out_of_memory,
    ),
    Probe(
        "preflight-memory",
        6,
        "preflight: not enough memory (1 MB available, injected)",
        BUILD,
        2,
        r"not enough memory: .* nothing was written",
        inject=memory_short,
    ),
    Probe(
        "preflight-disk",
        6,
        "preflight: not enough disk (1 KB free, injected)",
        BUILD,
        2,
        r"not enough disk space under .*: .* nothing was written",
        inject=disk_short,
    ),
    Probe(
        "path-not-utf8",
        6,
        "--db path not valid UTF-8",
        ["build", "fake", "--db", "{dir}/\udcff.duckdb"],
        2,
        r"the path is not valid UTF-8",
    ),
    Probe(
        "metrics-name-empty",
        6,
        "metrics --name ''",
        [*METRICS, "{dir}/fake.duckdb", "--name", ""],
        2,
        r"unknown metric '': choose one of total_size",
    ),
    Probe(
        "metrics-rows-negative",
        6,
        "metrics --rows -1",
        [*METRICS, "{dir}/fake.duckdb", "--rows", "-1"],
        2,
        r"argument --rows: expected a whole number of at least 1",
    ),
    Probe(
        "scale-own-file",
        7,
        "build --scale tiny without --db (the default file exists)",
        ["build", "fake", "--scale", "tiny"],
        0,
        r"wrote .*fake-tiny.duckdb",
        setup=lambda d: good(d / "data" / "generated"),
        creates=("fake-tiny.duckdb", "generated"),
        env={"DATAMODELING_ROOT": "{dir}"},
    ),
    Probe(
        "tilde-build",
        8,
        "build --db ~/... (HOME is the folder)",
        ["build", "fake", "--scale", "300", "--db", "~/fake.duckdb"],
        0,
        r"wrote .*/fake.duckdb",
        setup=None,
        creates=("fake.duckdb",),
        env={"HOME": "{dir}"},
    ),
    Probe(
        "tilde-metrics",
        8,
        "metrics --db ~/... (HOME is the folder)",
        [*METRICS, "~/fake.duckdb"],
        0,
        r"^$",
        env={"HOME": "{dir}"},
    ),
]


def run_probe(probe: Probe, folder: Path) -> tuple[int, str, list[str], str]:
    """Run one probe in ``folder``; return (exit code, stderr lines, stdout, damage)."""
    fill = {"dir": str(folder)}
    with registered():
        if probe.setup:
            (folder / "data" / "generated").mkdir(parents=True, exist_ok=True)
            probe.setup(folder)
        watched = [folder, *map(Path, probe.watch)]
        before = snapshot(*watched)
        argv = [a.format(**fill) for a in probe.argv]
        env = {k: v.format(**fill) for k, v in probe.env.items()}
        out, err = io.StringIO(), io.StringIO()
        inject = probe.inject() if probe.inject else contextlib.nullcontext()
        with (
            mock.patch.dict(os.environ, env),
            inject,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:
                code = exit_.code
        after = snapshot(*watched)
    return (
        code,
        err.getvalue().splitlines(),
        out.getvalue(),
        damage(before, after, probe.creates),
    )


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_probe(probe, tmp_path):
    code, err, out, harm = run_probe(probe, tmp_path)
    assert code == probe.code, err
    assert harm == "none"
    assert not temp_files(tmp_path)
    assert all("Traceback" not in line for line in err)
    if (
        probe.code
    ):  # one error line, the last; bad input (exit 2) is refused before any progress
        errors = [line for line in err if line.startswith("datamodeling: error: ")]
        assert len(errors) == 1 and err[-1] == errors[0], err
        assert re.search(probe.message, err[-1]), err[-1]
        if probe.code == 2:
            assert len(err) == 1, err
    elif probe.message != r"^$":
        assert re.search(probe.message, err[-1]), err


def test_the_probes_left_what_they_should(tmp_path):
    """The success probes wrote what they say, and only there."""
    code, _, _, _ = run_probe(
        next(p for p in PROBES if p.id == "scale-own-file"), tmp_path
    )
    generated = tmp_path / "data" / "generated"
    assert code == 0 and sorted(p.name for p in generated.iterdir()) == [
        "fake-tiny.duckdb",
        "fake.duckdb",
    ]
    assert (
        warehouse.inspect_warehouse(generated / "fake-tiny.duckdb").scale_rows == 2_000
    )
    assert warehouse.inspect_warehouse(generated / "fake.duckdb").scale_rows == 100
    home = tmp_path / "home"
    home.mkdir()
    code, _, _, _ = run_probe(next(p for p in PROBES if p.id == "tilde-build"), home)
    assert (
        code == 0
        and warehouse.inspect_warehouse(home / "fake.duckdb").scale_rows == 300
    )
    code, _, out, _ = run_probe(
        next(p for p in PROBES if p.id == "tilde-metrics"), home
    )
    assert code == 0 and "== total_size" in out


# ---------------------------------------------------------------------------------------------
# Replacing only what the tool owns: symlinks followed, modes kept, readers' tables kept aside
# ---------------------------------------------------------------------------------------------
def test_a_symlink_is_followed_and_its_target_replaced(fake_practice, tmp_path):
    real = good(tmp_path, "real.duckdb")
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    warehouse.build_database("fake", link, scale=250, seed=2)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert warehouse.inspect_warehouse(real).scale_rows == 250
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.duckdb", "real.duckdb"]


def test_the_file_mode_is_kept(fake_practice, tmp_path):
    db = good(tmp_path)
    os.chmod(db, 0o640)
    warehouse.build_database("fake", db, scale=250)
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
    assert warehouse.inspect_warehouse(db).scale_rows == 250


def test_a_rebuild_keeps_a_warehouse_with_the_readers_own_tables_aside(
    fake_practice, tmp_path
):
    db = good(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE my_analysis AS SELECT 42 AS answer")
    con.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    report = warehouse.build_database("fake", db, scale=250)
    kept = report.kept_aside
    assert kept is not None and re.fullmatch(
        r"fake\.kept-\d{8}-\d{6}\.duckdb", kept.name
    )
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == before  # byte for byte
    assert duckdb.connect(str(kept), read_only=True).sql(
        "FROM my_analysis"
    ).fetchall() == [(42,)]
    assert warehouse.inspect_warehouse(db).scale_rows == 250
    # an untouched warehouse is simply replaced: nothing more is kept
    warehouse.build_database("fake", db, scale=260)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.duckdb", kept.name]


def test_rows_a_reader_added_to_a_built_table_also_keep_it_aside(
    fake_practice, tmp_path
):
    db = good(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO thing VALUES (100000, 1)")
    con.close()
    assert (
        warehouse.build_database("fake", db, scale=100, seed=1).kept_aside is not None
    )


def test_open_practice_rebuilds_a_stale_warehouse_without_losing_the_readers_tables(
    fake_practice, tmp_path, monkeypatch, capsys
):
    db = tmp_path / "fake.duckdb"
    warehouse.open_practice("fake", path=db).disconnect()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE my_analysis AS SELECT 1 AS x")
    con.close()
    monkeypatch.setattr(warehouse, "code_fingerprint", lambda practice: "changed")
    reader = warehouse.open_practice("fake", path=db)
    line = capsys.readouterr().out.strip()
    kept = next(tmp_path.glob("fake.kept-*.duckdb"))
    assert line.startswith(f"Rebuilt {db} for the current code") and str(kept) in line
    assert "my_analysis" not in reader.list_tables()
    assert duckdb.connect(str(kept), read_only=True).sql(
        "FROM my_analysis"
    ).fetchall() == [(1,)]


def test_open_practice_says_when_the_warehouse_is_not_the_sites_scale(
    fake_practice, tmp_path, capsys
):
    db = tmp_path / "fake.duckdb"
    warehouse.build_database("fake", db, scale="tiny", seed=7)
    warehouse.open_practice("fake", path=db).disconnect()
    first = capsys.readouterr().out.strip().splitlines()[0]
    assert first == (
        f"Note: {db} was built at scale tiny (2,000 rows), seed 7, not small (20,000 rows), "
        "seed 42 as asked: numbers will differ from the published site's."
    )
    assert warehouse.inspect_warehouse(db).scale_rows == 2_000  # used, not rebuilt
    warehouse.open_practice("fake", path=db, scale="tiny", seed=7).disconnect()
    assert capsys.readouterr().out == ""  # what was asked: nothing to say


def test_one_warehouse_per_scale_and_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAMODELING_ROOT", str(tmp_path))
    generated = tmp_path / "data" / "generated"
    assert warehouse.default_db_path("social") == generated / "social.duckdb"
    assert (
        warehouse.default_db_path("social", "small", 42) == generated / "social.duckdb"
    )
    assert (
        warehouse.default_db_path("social", "medium")
        == generated / "social-medium.duckdb"
    )
    assert (
        warehouse.default_db_path("social", 5000, 7)
        == generated / "social-5000-seed7.duckdb"
    )


def test_tilde_is_expanded_by_open_practice(fake_practice, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    warehouse.open_practice("fake", path="~/fake.duckdb").disconnect()
    assert (tmp_path / "fake.duckdb").is_file() and not Path("~").exists()


# ---------------------------------------------------------------------------------------------
# A full disk, for real: a small file system
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs (needs root or CAP_SYS_ADMIN; skipped with the reason otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    out = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.skip(
            f"cannot mount a small file system here: {out.stderr.strip() or out}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def filler(con):
    """Incompressible rows: about 40 MB, more than the small disk holds."""
    con.raw_sql("CREATE TABLE filler AS SELECT hash(range) AS h FROM range(5000000)")


def test_a_full_disk_for_real_leaves_the_old_warehouse_and_no_temp_file(
    fake_practice, small_disk, capsys
):
    db = small_disk / "fake.duckdb"
    warehouse.build_database("fake", db, scale=100, preflight_checks=False)
    before = snapshot(small_disk)
    with wrap_build(filler), pytest.raises(SystemExit) as exit_:
        cli.main(["build", "fake", "--scale", "300", "--db", str(db), "--no-preflight"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 1
    assert err[-1] == (
        f"datamodeling: error: no space left on device under {small_disk}: nothing was replaced"
    )
    assert damage(before, snapshot(small_disk)) == "none" and not temp_files(small_disk)
    assert (
        shutil.disk_usage(small_disk).used < 2_000_000
    )  # the temporary files are gone


def test_preflight_refuses_what_the_small_disk_cannot_hold(
    fake_practice, small_disk, capsys
):
    db = small_disk / "fake.duckdb"
    warehouse.build_database("fake", db, scale=100, preflight_checks=False)
    before = snapshot(small_disk)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["build", "fake", "--scale", "large", "--db", str(db)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1
    assert err[0].startswith(
        f"datamodeling: error: not enough disk space under {small_disk}:"
    )
    assert damage(before, snapshot(small_disk)) == "none"


# ---------------------------------------------------------------------------------------------
# Killed builds: real signals sent to a build running in a subprocess
# ---------------------------------------------------------------------------------------------
LAUNCHER = r"""
import os, sys, time, types
sys.path.insert(0, sys.argv.pop(1))
import fakepractice
from datamodeling import registry
from datamodeling.registry import BuildReport, Practice


def slow_build(con, scale=None, seed=None, progress=None):
    report = BuildReport.start("slow", scale, seed)
    con.raw_sql("CREATE TABLE thing AS SELECT range AS id FROM range(1000)")
    report.tables["thing"] = 1000
    mode = os.environ.get("SLOW_MODE", "duckdb")
    progress(f"slow step: {mode}")
    if mode == "quick":
        return report
    if mode == "duckdb":  # minutes of work in one DuckDB query
        con.raw_sql(
            "CREATE TABLE big AS SELECT sum(hash(a.range * b.range)) AS s "
            "FROM range(1000000) a, range(1000000) b"
        )
    elif mode == "stubborn":  # code that swallows the interruption: the CLI's deadline ends it
        while True:
            try:
                time.sleep(0.01)
            except BaseException:
                pass
    else:
        while True:
            time.sleep(0.01)
    return report


package = types.ModuleType("slowpractice")
package.__path__ = []
sys.modules["slowpractice"] = package
for part, attrs in {"build": {"build": slow_build}, "metrics": {"METRICS": {}},
                    "schema": {"TABLES": []}}.items():
    module = types.ModuleType(f"slowpractice.{part}")
    module.__dict__.update(attrs)
    sys.modules[module.__name__] = module
real = registry.practices
slow = Practice("slow", "A slow practice", "slowpractice")
registry.practices = lambda: {**real(), "fake": fakepractice.PRACTICE, "slow": slow}
from datamodeling import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def launch(argv: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(TESTS), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
    )


def signal_at(
    proc: subprocess.Popen,
    at: str | int,
    signum: int,
    timeout: float = 240,
    delay: float = 0.3,
):
    """Send ``signum`` at a line of the build's stderr; return (code, lines, seconds, line).

    ``at`` is a regular expression, or N for the N-th progress line (``[   1.2s] ...``): kill
    points that do not depend on how a practice words its steps.
    """
    lines: list[str] = []
    seen = threading.Event()
    matched: list[str] = []

    def hit(line: str) -> bool:
        if isinstance(at, int):
            return (
                line.startswith("[") and sum(li.startswith("[") for li in lines) == at
            )
        return re.search(at, line) is not None

    def read():
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if not seen.is_set() and hit(lines[-1]):
                matched.append(lines[-1])
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not seen.wait(0.2):
        if not reader.is_alive() or time.monotonic() > deadline:  # ended, or too slow
            proc.kill()
            raise AssertionError(f"never saw {at!r}: {lines}")
    time.sleep(delay)  # into the step, not at its first line
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        code = proc.wait(
            timeout=30
        )  # generous: the budget is 5 s, measured and printed
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(
            f"still running 30 s after {signal.Signals(signum).name}"
        ) from None
    seconds = time.monotonic() - sent
    reader.join(5)
    print(
        f"{signal.Signals(signum).name} at {matched[0]!r}: exit {code} after {seconds:.2f} s"
    )
    return code, lines, seconds, matched[0]


SLOW_SIGNALS = [
    ("sigint-in-duckdb", "duckdb", signal.SIGINT, 130),
    ("sigterm-in-duckdb", "duckdb", signal.SIGTERM, 143),
    ("sigterm-in-python", "python", signal.SIGTERM, 143),
    ("sigint-in-python", "python", signal.SIGINT, 130),
    ("sigterm-swallowed", "stubborn", signal.SIGTERM, 143),
]


def slow_signal_probe(tmp_path: Path, mode: str, signum: int):
    """A signal to a build of an existing warehouse, in a long DuckDB query or Python loop."""
    argv = ["build", "slow", "--scale", "100", "--db", str(tmp_path / "slow.duckdb")]
    first = launch(
        argv, env={"SLOW_MODE": "quick"}
    )  # the old warehouse, built for real
    assert first.wait(timeout=300) == 0, first.stderr.read()
    first.stderr.close()
    first.stdout.close()
    before = snapshot(tmp_path)
    code, lines, seconds, _ = signal_at(
        launch(argv, env={"SLOW_MODE": mode}), "slow step", signum
    )
    return code, lines, seconds, damage(before, snapshot(tmp_path))


@pytest.mark.parametrize(
    "name, mode, signum, code", SLOW_SIGNALS, ids=[s[0] for s in SLOW_SIGNALS]
)
def test_a_signal_stops_a_build_at_once_and_leaves_nothing(
    tmp_path, name, mode, signum, code
):
    exit_code, lines, seconds, harm = slow_signal_probe(tmp_path, mode, signum)
    assert exit_code == code, lines
    assert lines[-1] == "datamodeling: interrupted; nothing was written"
    assert not any("Traceback" in line for line in lines)
    assert harm == "none" and not temp_files(tmp_path)


@pytest.fixture(scope="module")
def ecommerce_tiny(tmp_path_factory):
    """A real, good e-commerce warehouse at the tiny scale (copied into each test's folder)."""
    path = tmp_path_factory.mktemp("ecommerce") / "ecommerce.duckdb"
    warehouse.build_database("ecommerce", path, scale="tiny")
    return path


#: Points of a real build, by the number of its progress line (1 and 2 are the CLI's own; then
#: the practice's steps: generation, dimensions, facts, marts at the tiny scale), and the signal.
KILL_POINTS = [
    ("sigterm-line-3", 3, signal.SIGTERM, 143),
    ("sigint-line-5", 5, signal.SIGINT, 130),
    ("sigterm-line-8", 8, signal.SIGTERM, 143),
    ("sigint-line-10", 10, signal.SIGINT, 130),
]


def real_build_probe(
    ecommerce_tiny: Path, folder: Path, at: str | int, signum: int, delay: float = 0.3
):
    db = folder / "ecommerce.duckdb"
    shutil.copy(ecommerce_tiny, db)
    before = snapshot(folder)
    proc = launch(
        ["build", "ecommerce", "--scale", "tiny", "--seed", "5", "--db", str(db)]
    )
    code, lines, seconds, line = signal_at(proc, at, signum, delay=delay)
    return code, lines, seconds, damage(before, snapshot(folder)), line


@pytest.mark.parametrize(
    "name, at, signum, code", KILL_POINTS, ids=[k[0] for k in KILL_POINTS]
)
def test_a_real_build_stopped_at_any_point_leaves_the_old_warehouse(
    ecommerce_tiny, tmp_path, name, at, signum, code
):
    exit_code, lines, _, harm, _ = real_build_probe(
        ecommerce_tiny, tmp_path, at, signum
    )
    assert exit_code == code, lines
    assert lines[-1] == "datamodeling: interrupted; nothing was written"
    assert harm == "none" and not temp_files(tmp_path)


def test_a_signal_while_saving_leaves_either_the_old_or_the_complete_new_warehouse(
    ecommerce_tiny, tmp_path
):
    exit_code, lines, _, harm, _ = real_build_probe(
        ecommerce_tiny, tmp_path, r"saving and verifying", signal.SIGTERM, delay=0
    )
    if (
        exit_code == 143
        and lines[-1] == "datamodeling: interrupted; nothing was written"
    ):
        assert harm == "none"
    else:  # the rename had happened: the new warehouse is complete, and the message says so
        assert exit_code == 0 or lines[-1].startswith(
            "datamodeling: interrupted; the new warehouse was already complete"
        ), lines
        assert warehouse.inspect_warehouse(tmp_path / "ecommerce.duckdb").seed == 5
    assert not temp_files(tmp_path)


def test_sigkill_leftovers_are_removed_by_the_next_build(ecommerce_tiny, tmp_path):
    db = tmp_path / "ecommerce.duckdb"
    shutil.copy(ecommerce_tiny, db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    proc = launch(["build", "ecommerce", "--scale", "tiny", "--db", str(db)])
    code, _, _, _ = signal_at(proc, 8, signal.SIGKILL)
    assert code == -signal.SIGKILL
    left = temp_files(tmp_path)
    assert left and all(
        f".tmp-{proc.pid}-" in name for name in left
    )  # named after the build
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "datamodeling",
            "build",
            "ecommerce",
            "--scale",
            "tiny",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r"removed \d+ temporary files of killed builds", out.stderr)
    assert not temp_files(tmp_path)


def test_leftovers_of_a_live_build_are_kept(fake_practice, tmp_path):
    db = good(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    mine = tmp_path / f"fake.duckdb.tmp-{os.getpid()}-1"
    theirs = [
        tmp_path / f"fake.duckdb.tmp-{dead_pid}-2",
        tmp_path / f"fake.duckdb.tmp-{dead_pid}-2.wal",
    ]
    (tmp_path / f"fake.duckdb.tmp-{dead_pid}-2.tmp").mkdir()
    (tmp_path / f"fake.duckdb.tmp-{dead_pid}-2.tmp" / "spill.block").write_bytes(
        b"x" * 1000
    )
    for path in (mine, *theirs):
        path.write_bytes(b"x" * 100)
    report = warehouse.build_database("fake", db, scale=100)
    assert len(report.removed_leftovers) == 3
    assert temp_files(tmp_path) == [
        mine.name
    ]  # a build still running (this one) is left alone


# ---------------------------------------------------------------------------------------------
# The table for the issue note
# ---------------------------------------------------------------------------------------------
def _short(line: str, folder: Path) -> str:
    return line.replace(str(folder), "DIR").replace("datamodeling: error: ", "")


def print_table() -> None:  # pragma: no cover - run by hand
    import tempfile

    print("| # | probe | exit | message | damage |")
    print("|---|---|---:|---|---|")
    for probe in PROBES:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            code, err, _, harm = run_probe(probe, folder)
            harm = harm if not temp_files(folder) else f"{harm}; temp files left"
            message = _short(err[-1], folder) if err else ""
            print(
                f"| {probe.finding} | {probe.what} | {code} | {message} | {harm} |",
                flush=True,
            )
    for _name, mode, signum, _ in SLOW_SIGNALS:
        with tempfile.TemporaryDirectory() as tmp:
            code, lines, seconds, harm = slow_signal_probe(Path(tmp), mode, signum)
            what = f"{signal.Signals(signum).name} during a long {mode} step ({seconds:.1f} s)"
            print(
                f"| 4, 5 | {what} | {code} | {_short(lines[-1], Path(tmp))} | {harm} |"
            )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source" / "ecommerce.duckdb"
        source.parent.mkdir()
        warehouse.build_database("ecommerce", source, scale="tiny")
        for name, at, signum, _ in KILL_POINTS:
            folder = Path(tmp) / name
            folder.mkdir()
            code, lines, seconds, harm, line = real_build_probe(
                source, folder, at, signum
            )
            step = line.split("] ", 1)[-1]
            what = f"{signal.Signals(signum).name} at `{step}` of a real build ({seconds:.1f} s)"
            print(
                f"| 4 | {what} | {code} | {_short(lines[-1], folder)} | {harm} |",
                flush=True,
            )
        folder = Path(tmp) / "sigkill"
        folder.mkdir()
        db = folder / "ecommerce.duckdb"
        shutil.copy(source, db)
        before = snapshot(folder)
        proc = launch(["build", "ecommerce", "--scale", "tiny", "--db", str(db)])
        code, _, _, line = signal_at(proc, 8, signal.SIGKILL)
        left = temp_files(folder)
        print(
            f"| 4 | SIGKILL at `{line.split('] ', 1)[-1]}` of a real build | {code} | "
            "(none: killed) "
            f"| old warehouse unchanged: {snapshot(folder)[str(db)] == before[str(db)]}; "
            f"{len(left)} temporary files left |"
        )
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "datamodeling",
                "build",
                "ecommerce",
                "--scale",
                "tiny",
                "--db",
                str(db),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        removed = next((li for li in out.stderr.splitlines() if "removed" in li), "")
        print(
            f"| 4 | the next build of the same path | {out.returncode} | "
            f"{_short(removed, folder)} | none; {len(temp_files(folder))} temporary files left |"
        )
    with tempfile.TemporaryDirectory() as tmp:
        mount = Path(tmp) / "small"
        mount.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode == 0:
            try:
                with registered():
                    db = mount / "fake.duckdb"
                    warehouse.build_database(
                        "fake", db, scale=100, preflight_checks=False
                    )
                    before = snapshot(mount)
                    err = io.StringIO()
                    with wrap_build(filler), contextlib.redirect_stderr(err):
                        try:
                            cli.main(
                                [
                                    "build",
                                    "fake",
                                    "--scale",
                                    "300",
                                    "--db",
                                    str(db),
                                    "--no-preflight",
                                ]
                            )
                        except SystemExit as exit_:
                            code = exit_.code
                harm = damage(before, snapshot(mount))
                line = _short(err.getvalue().splitlines()[-1], mount)
                print(
                    f"| 1 | disk full for real (16 MB tmpfs, 40 MB to write) | {code} | "
                    f"{line} | {harm} |"
                )
            finally:
                subprocess.run(["umount", str(mount)], check=False)
        else:
            print(f"| 1 | disk full for real | skipped | {mounted.stderr.strip()} | |")
    import test_faults_sql

    with tempfile.TemporaryDirectory() as tmp, registered():
        folder = Path(tmp)
        other = Path(tmp) / "other.duckdb"
        db = good(folder)
        good(folder, "other.duckdb", practice="other")
        reader = warehouse.open_practice("fake", path=db)
        for name, sql, _ in test_faults_sql.HOSTILE:
            sql = sql.format(db=db, other=other, dir=folder)
            before = snapshot(folder)
            with mock.patch.dict(os.environ, {"DATAMODELING_STRICT": "0"}):
                verdict = exercises.check("fake.big", sql, reader)
            try:
                reader.sql(sql)
                helper = "ran"
            except safety.QueryRefused as exc:
                helper = str(exc).split(";")[0]
            shown = verdict.message.split(";")[0]
            same = "same" if shown == helper else f"helper: {helper}"
            print(
                f"| 3 | `{name}` via check() and con.sql() | - | {shown} ({same}) | "
                f"{damage(before, snapshot(folder))} |"
            )
        reader.disconnect()


if __name__ == "__main__":  # pragma: no cover
    print_table()
