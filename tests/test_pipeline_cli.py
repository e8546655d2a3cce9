"""``datamodeling build`` writes the landing zone beside the warehouse; ``datamodeling load``
loads a day into it in one transaction, refuses what it cannot do with a one-line message
(exit 2), and leaves the warehouse one that a later build replaces without keeping it aside."""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil

import duckdb
import pytest

from datamodeling import cli, landing, warehouse

build = importlib.import_module("datamodeling.rideshare.build")
pytestmark = pytest.mark.xdist_group("rideshare_pipeline")


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def tables(path) -> dict[str, list]:
    """Every table's rows, as sorted tuples (the warehouse's content)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE table_name <> '_build_info'"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(con.execute(f'FROM "{s}"."{t}"').fetchall(), key=repr)
            for s, t in names
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    db = folder / "rideshare-tiny.duckdb"
    assert (
        cli.main(
            ["build", "rideshare", "--scale", "tiny", "--seed", "9", "--db", str(db)]
        )
        == 0
    )
    return db


def test_build_writes_the_landing_zone_beside_the_warehouse(built):
    root = warehouse.landing_root(built)
    assert root == built.parent / "rideshare-tiny" / "raw"
    manifest = landing.read_manifest(root)
    assert (manifest["practice"], manifest["seed"]) == ("rideshare", 9)
    days = landing.landed_days(root, "trip_events")
    assert len(days) > 170  # about one partition per day of the half year
    assert warehouse.inspect_warehouse(built).seed == 9


def test_load_a_day_and_a_range_again_changes_nothing(built, tmp_path, capsys):
    db = tmp_path / "rideshare-tiny.duckdb"
    shutil.copy(built, db)
    shutil.copytree(warehouse.landing_root(built), warehouse.landing_root(db))
    before = tables(db)
    code, out, err = run(
        capsys, "load", "rideshare", "--db", str(db), "--day", "2025-03-05"
    )
    assert code == 0, err
    assert "fact_trip" in out and "quarantined" in out  # the report: tables and sources
    assert "lookback 3 days" in err
    code, out, err = run(
        capsys,
        "load",
        "rideshare",
        "--db",
        str(db),
        "--from",
        "2025-05-30",
        "--to",
        "2025-06-02",
    )
    assert code == 0, err
    assert tables(db) == before
    # the warehouse still counts as this tool's own: a rebuild replaces it, keeps nothing aside
    report = warehouse.build_database("rideshare", db, scale="tiny", seed=9)
    assert report.kept_aside is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--day", "2025-03-05", "--to", "2025-03-06"], "--to goes with --from"),
        (["--day", "2031-01-01"], "nothing landed"),
        (["--day", "2025-02-30"], "not a day"),
        (["--day", "2025-03-05", "--lookback", "-1"], "whole number of days"),
        (
            ["--from", "2025-03-06", "--to", "2025-03-05"],
            "--to 2025-03-05 is before --from",
        ),
        (["--to", "2025-03-05"], "one of the arguments --day --from is required"),
    ],
)
def test_load_refuses_bad_input_in_one_line(built, tmp_path, capsys, argv, message):
    db = tmp_path / "w.duckdb"
    shutil.copy(built, db)
    shutil.copytree(warehouse.landing_root(built), warehouse.landing_root(db))
    before = tables(db)
    code, out, err = run(capsys, "load", "rideshare", "--db", str(db), *argv)
    assert code == 2 and message in err
    assert err.strip().splitlines()[-1].startswith("datamodeling: error:")
    assert tables(db) == before


def test_load_needs_the_warehouse_and_its_landing_zone(
    built, tmp_path, capsys, fake_practice
):
    code, _, err = run(capsys, "load", "rideshare", "--db", str(tmp_path / "no.duckdb"), "--day",
                       "2025-03-05")  # fmt: skip
    assert code == 2 and "build it first" in err
    db = tmp_path / "w.duckdb"
    shutil.copy(built, db)
    code, _, err = run(
        capsys, "load", "rideshare", "--db", str(db), "--day", "2025-03-05"
    )
    assert code == 2 and "no landing zone" in err
    other = tmp_path / "other"
    build.write_landing(other, scale="tiny", seed=10)
    shutil.copytree(other, warehouse.landing_root(db))
    code, _, err = run(
        capsys, "load", "rideshare", "--db", str(db), "--day", "2025-03-05"
    )
    assert code == 2 and "generated for" in err and "seed 10" in err
    # a practice whose build does not load by day (the test practice builds in one pass)
    code, _, err = run(capsys, "load", "fake", "--day", "2025-03-05")
    assert code == 2 and "does not load by day" in err


def test_a_load_that_loses_rows_writes_nothing(built, tmp_path, capsys, monkeypatch):
    db = tmp_path / "w.duckdb"
    shutil.copy(built, db)
    shutil.copytree(warehouse.landing_root(built), warehouse.landing_root(db))
    before = tables(db)
    report = build.PIPELINE.report

    def lossy(ctx, r):  # as if the facts had lost a trip event
        report(ctx, r)
        r.sources["trip_events"]["loaded"] -= 1

    monkeypatch.setattr(
        build, "PIPELINE", dataclasses.replace(build.PIPELINE, report=lossy)
    )
    code, _, err = run(
        capsys, "load", "rideshare", "--db", str(db), "--day", "2025-03-05"
    )
    assert code == 2 and "nothing was written" in err and "trip_events" in err
    assert tables(db) == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--day", "2031-01-01"], "nothing landed"),
        (["--from", "2025-03-06", "--to", "2025-03-05"], "is before"),
    ],
)
def test_a_bad_spark_load_is_refused_before_spark_starts(
    built, tmp_path, capsys, monkeypatch, argv, message
):
    db = tmp_path / "w.duckdb"
    shutil.copytree(warehouse.landing_root(built), warehouse.landing_root(db))
    folder = warehouse.spark_dir(db)
    folder.mkdir()
    marker = {"practice": "rideshare", "scale_rows": 2_000, "seed": 9}
    (folder / warehouse.SPARK_MARKER).write_text(json.dumps(marker))
    assert landing.read_manifest(warehouse.landing_root(db))["scale_rows"] == 2_000
    connect = warehouse.connect

    def no_spark(*args, backend="duckdb", **kwargs):
        assert backend != "pyspark", (
            "a Spark session was started for a load that cannot run"
        )
        return connect(*args, backend=backend, **kwargs)

    monkeypatch.setattr(warehouse, "connect", no_spark)
    code, _, err = run(
        capsys, "load", "rideshare", "--db", str(db), "--backend", "pyspark", *argv
    )
    assert code == 2 and message in err, err
    assert sorted(p.name for p in folder.iterdir()) == [warehouse.SPARK_MARKER]
    assert not list(tmp_path.glob("*.tmp-*"))
