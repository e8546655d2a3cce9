"""The CLI contract and the warehouse helpers: clear errors, atomic builds, paths from anywhere."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datamodeling import cli, warehouse
from datamodeling.teach import metric_agreement

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "datamodeling", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=300,
    )


def test_help_lists_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("build", "metrics", "describe"):
        assert command in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["build", "no_such_practice"], "unknown practice 'no_such_practice'"),
        (["metrics", "no_such_practice"], "unknown practice"),
        (["describe", "no_such_practice"], "unknown practice"),
    ],
)
def test_unknown_practice_is_a_one_line_error(args, message):
    out = run_cli(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unknown_scale_and_unwritable_path_are_one_line_errors(
    fake_practice, tmp_path, capsys
):
    for argv, message in [
        (["build", "fake", "--scale", "enormous"], "unknown scale 'enormous'"),
        (["build", "fake", "--db", "/proc/nope/x.duckdb"], "cannot write database"),
        (["build", "fake", "--db", str(tmp_path)], "it is a directory"),
        (
            ["metrics", "fake", "--db", str(tmp_path / "missing.duckdb")],
            "no warehouse at",
        ),
        (
            [
                "build",
                "fake",
                "--backend",
                "pyspark",
                "--db",
                str(tmp_path / "x.duckdb"),
            ],
            "pyspark",
        ),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_build_metrics_and_describe(fake_practice, tmp_path, capsys):
    db = tmp_path / "fake.duckdb"
    assert cli.main(["build", "fake", "--scale", "300", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "thing" in out and "300" in out and db.exists()
    cli.main(["metrics", "fake", "--db", str(db), "--format", "csv"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "metric,total,things" and lines[1].endswith(",300")
    cli.main(
        ["metrics", "fake", "--db", str(db), "--format", "json", "--name", "total_size"]
    )
    assert '"things":300' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["metrics", "fake", "--db", str(db), "--name", "nope"])
    assert "unknown metric 'nope'" in capsys.readouterr().err
    cli.main(["describe", "fake"])
    assert "grain: One row per thing." in capsys.readouterr().out


def test_an_interrupted_build_leaves_the_old_database_untouched(
    fake_practice, tmp_path
):
    import fakepractice.build as fake_build

    db = tmp_path / "fake.duckdb"
    warehouse.build_database("fake", db, scale=100)
    before = db.read_bytes()
    fake_build.FAIL_AFTER_FIRST_TABLE = True
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            warehouse.build_database("fake", db, scale=999)
    finally:
        fake_build.FAIL_AFTER_FIRST_TABLE = False
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fake.duckdb"
    ]  # no temp file left


def test_a_rebuild_replaces_the_database_whole(fake_practice, tmp_path):
    db = tmp_path / "fake.duckdb"
    warehouse.build_database("fake", db, scale=100)
    warehouse.build_database("fake", db, scale=250, seed=3)
    con = warehouse.connect(db, read_only=True)
    assert con.table("thing").count().execute() == 250
    assert con.table("_build_info").to_pandas().seed.tolist() == [3]


def test_open_practice_builds_once_and_rebuilds_when_code_changes(
    fake_practice, tmp_path, monkeypatch
):
    db = tmp_path / "fake.duckdb"
    con = warehouse.open_practice("fake", path=db)
    assert con.table("thing").count().execute() > 0
    con.disconnect()
    stamp = db.stat().st_mtime_ns
    warehouse.open_practice("fake", path=db).disconnect()
    assert db.stat().st_mtime_ns == stamp  # up to date: not rebuilt
    monkeypatch.setattr(warehouse, "code_fingerprint", lambda practice: "changed")
    warehouse.open_practice("fake", path=db).disconnect()
    assert db.stat().st_mtime_ns != stamp


def test_project_root_is_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("DATAMODELING_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert warehouse.project_root() == ROOT
    monkeypatch.chdir(ROOT / "tests")
    assert warehouse.project_root() == ROOT
    assert warehouse.default_db_path("x") == ROOT / "data" / "generated" / "x.duckdb"
    monkeypatch.setenv("DATAMODELING_ROOT", str(tmp_path))
    assert warehouse.project_root() == tmp_path


def test_metric_agreement_reports_a_disagreement(fake_practice):
    from dataclasses import replace

    con = warehouse.connect()
    fake_practice.build(con, scale=50, seed=2)
    metric = fake_practice.metrics["total_size"]
    result, difference = metric_agreement(metric, con)
    assert difference is None and int(result.things.iloc[0]) == 50
    wrong = replace(
        metric, sql="SELECT sum(size) + 1 AS total, count(*) AS things FROM thing"
    )
    _, difference = metric_agreement(wrong, con)
    assert difference and "rows differ" in difference


def test_unwritable_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(
            locked, os.W_OK
        ):  # root ignores permissions; use a path under /proc
            locked = Path("/proc/1")
        with pytest.raises(warehouse.WarehousePathError, match="not writable"):
            warehouse.check_writable(locked / "x.duckdb")
    finally:
        (tmp_path / "locked").chmod(0o700)


def test_show_metric_raises_on_disagreement_in_strict_mode(fake_practice, monkeypatch):
    from dataclasses import replace

    from datamodeling.teach import show_metric

    con = warehouse.connect()
    fake_practice.build(con, scale=50, seed=2)
    metric = fake_practice.metrics["total_size"]
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    assert len(show_metric(metric, con)) == 1
    wrong = replace(
        metric, sql="SELECT sum(size) + 1 AS total, count(*) AS things FROM thing"
    )
    with pytest.raises(AssertionError, match="disagree"):
        show_metric(wrong, con)


def test_a_build_that_loses_rows_writes_nothing(
    fake_practice, tmp_path, monkeypatch, capsys
):
    import fakepractice.build as fake_build

    db = tmp_path / "fake.duckdb"
    warehouse.build_database("fake", db, scale=100)
    before = db.read_bytes()
    monkeypatch.setattr(fake_build, "LOSE_A_ROW", True)
    with pytest.raises(warehouse.ReconciliationError, match="fake: .* for thing"):
        warehouse.build_database("fake", db, scale=100)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.duckdb"]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["build", "fake", "--scale", "100", "--db", str(db)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("datamodeling: error: fake: rows in != rows loaded")
    assert "nothing was written" in err[-1]


def test_duckdb_settings_apply_inside_and_restore_after_even_on_error():
    con = warehouse.connect()

    def setting(name):
        return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]

    con.raw_sql("SET memory_limit = '1GB'")
    before = setting("memory_limit"), setting("preserve_insertion_order")
    with pytest.raises(RuntimeError, match="inside"):
        with warehouse.duckdb_settings(
            con, memory_limit="300MB", preserve_insertion_order=False
        ):
            assert setting("memory_limit") != before[0]
            assert setting("preserve_insertion_order") is False
            raise RuntimeError("inside")
    assert setting("preserve_insertion_order") == before[1]
    # DuckDB shows memory rounded to 0.1 MiB, so the caller's limit comes back to that precision.
    restored, original = (
        float(v.split()[0]) for v in (setting("memory_limit"), before[0])
    )
    assert setting("memory_limit").endswith("MiB") and abs(restored - original) < 0.11


def test_append_arrow_adds_rows_and_leaves_nothing_registered():
    import pyarrow as pa

    con = warehouse.connect()
    con.create_database("raw")
    con.raw_sql("CREATE TABLE raw.events (id BIGINT, kind VARCHAR)")
    tables_before = set(con.list_tables())
    for start in (0, 3):
        chunk = pa.table({"id": range(start, start + 3), "kind": ["a", "b", "c"]})
        warehouse.append_arrow(con, "events", chunk, database="raw")
    assert con.table("events", database="raw").count().execute() == 6
    assert set(con.list_tables()) == tables_before  # no chunk view left behind


def test_progress_lines_spell_out_dicts_with_thousands_separators():
    message = (
        "cleaned events: content_event {'rows_in': 10299938, 'loaded': 10187420, "
        "'quarantined': 112518}, ad_event {'rows_in': 2000, 'loaded': 1999, 'quarantined': 1}"
    )
    assert cli.readable(message) == (
        "cleaned events: content_event (rows in 10,299,938, loaded 10,187,420, quarantined "
        "112,518), ad_event (rows in 2,000, loaded 1,999, quarantined 1)"
    )
    assert cli.readable("set {a, b} and {not python}") == "set {a, b} and {not python}"


def test_progress_prints_lines_and_draws_a_bar_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    plain = io.StringIO()
    with cli.Progress(plain) as progress:
        progress("loaded {'rows_in': 12345}")
        assert list(progress.track(range(3), 3, "metrics")) == [0, 1, 2]
    assert plain.getvalue().endswith("] loaded (rows in 12,345)\n")
    assert (
        "\x1b[" not in plain.getvalue()
    )  # no bar, no escape codes when not a terminal

    terminal = Terminal()
    with cli.Progress(terminal) as progress:
        progress("step one")
        progress("step two")
        assert list(progress.track(range(2), 2, "metrics")) == [0, 1]
    drawn = terminal.getvalue()
    assert "] step one" in drawn and "] step two" in drawn
    assert "\x1b[" in drawn  # rich drew the live bar


def test_first_sentence_of_a_definition():
    assert cli.first_sentence("Per day: orders. Revenue = net.") == "Per day: orders."
    assert cli.first_sentence("Rates, e.g. CTR and CVR, per day. Then more.") == (
        "Rates, e.g. CTR and CVR, per day."
    )
    assert cli.first_sentence("Under 0.5 % of play.  Next") == "Under 0.5 % of play."
    assert cli.first_sentence("No full stop") == "No full stop"
    assert cli.first_sentence("Two\n  lines wrapped. Second.") == "Two lines wrapped."


def test_list_shows_each_metrics_definition_not_its_requirement(capsys):
    from datamodeling import registry

    cli.main(["list"])
    out = capsys.readouterr().out
    for practice in registry.practices().values():
        for name, metric in practice.metrics.items():
            line = next(li for li in out.splitlines() if li.startswith(f"  {name}: "))
            shown = line.removeprefix(f"  {name}: ")
            assert " ".join(metric.definition.split()).startswith(shown)
            assert shown.endswith((".", "?", "!")) or shown == " ".join(
                metric.definition.split()
            )
    social = [
        li
        for li in out.splitlines()
        if li.startswith(("  dau:", "  mau:", "  stickiness:"))
    ]
    assert len(social) == 3 and len(set(li.split(": ", 1)[1] for li in social)) == 3
