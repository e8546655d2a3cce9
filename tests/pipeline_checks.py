"""Checks shared by the tests of every practice's pipeline (imported by ``test_pipeline_*.py``
and ``test_spark_pipeline.py``): whole-warehouse differences, day ranges, the landing zone read
back with pandas, and tables fetched from either engine in one comparable form."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datamodeling import landing, pipeline, warehouse


def differences(a, b) -> dict[str, int]:
    """Rows of each table of warehouse ``a`` not in ``b`` plus the other way round (``EXCEPT
    ALL`` both ways, every table of every schema); a table only one side has counts 1."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")

    def tables(catalog):
        return set(
            con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
                [catalog],
            ).fetchall()
        )

    found_a, found_b = tables("a"), tables("b")
    out = {f"missing {s}.{t}": 1 for s, t in found_a ^ found_b}
    for schema_name, table in sorted(found_a & found_b):
        t = f'"{schema_name}"."{table}"'
        n = con.execute(
            f"SELECT (SELECT count(*) FROM (FROM a.{t} EXCEPT ALL FROM b.{t})) "
            f"+ (SELECT count(*) FROM (FROM b.{t} EXCEPT ALL FROM a.{t}))"
        ).fetchone()[0]
        if n:
            out[f"{schema_name}.{table}"] = n
    assert len(found_a) > 10  # the model, raw and the marts are all there
    return out


def days(first: str, last: str) -> list[dt.date]:
    return list(
        landing.day_range(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    )


def read_zone(zone, source: str) -> pd.DataFrame:
    """Every file of ``source`` in the landing zone, with its folder's date as ``landing_date``."""
    frames = []
    for day in landing.landed_days(zone, source):
        df = pq.read_table(landing.partition_file(zone, source, day)).to_pandas()
        frames.append(df.assign(landing_date=pd.Timestamp(day)))
    return pd.concat(frames, ignore_index=True)


def arrow(con, decl) -> pa.Table:
    """The table's rows; timestamps as their text, which both engines print alike (Spark's
    transfer to Arrow goes through pandas, whose nanoseconds cannot hold 9999-12-31)."""
    t = (
        con.table(decl.name, database=decl.database)
        if decl.database
        else con.table(decl.name)
    )
    t = t.select(decl.column_names)
    text = {
        c: t[c].cast("string")
        for c, dtype in t.schema().items()
        if dtype.is_timestamp()
    }
    return t.mutate(**text).to_pyarrow()


def canonical(table: pa.Table, schema_like: pa.Schema) -> pa.Table:
    """Same column types, rows in one order (every column ascending)."""
    table = table.cast(schema_like)
    return table.sort_by([(c, "ascending") for c in table.column_names])


# ---- the checks every practice's pipeline passes (tests/test_pipeline_PRACTICE.py) ------------
# Their fixtures (``zone``, ``raw``, ``full``, ``full_1``) are in conftest.py.


def full_build(path, pipe, raw, lookback: int):
    """A warehouse at ``path`` loaded with every landing day of ``raw`` at once."""
    con = warehouse.connect(path)
    report = pipeline.build(con, pipe, raw, lookback_days=lookback)
    con.disconnect()
    assert report.reconciles(), report.unreconciled()
    return path


def memory_build_equals(tmp_path, build, seed: int, full) -> None:
    """The book's default warehouse skips the files (hundreds of tiny ones): same warehouse."""
    con = warehouse.connect(tmp_path / "memory.duckdb")
    report = build.build(con, scale="tiny", seed=seed)
    con.disconnect()
    assert report.reconciles()
    assert differences(tmp_path / "memory.duckdb", full) == {}


def loads_equal_full(tmp_path, pipe, raw, loads, lookback: int, expected) -> None:
    """Loading ``loads`` (first, last landing day; last None = the end) one after the other
    gives the warehouse of the full build ``expected``, every table and every row."""
    last = raw.days()[1]
    con = warehouse.connect(tmp_path / "daily.duckdb")
    for first, to in loads:
        report = pipeline.load(
            con, pipe, raw, first, to or last, lookback_days=lookback
        )
        assert report.reconciles(), (first, report.unreconciled())
    con.disconnect()
    assert differences(tmp_path / "daily.duckdb", expected) == {}


def a_day_twice_changes_nothing(tmp_path, pipe, raw, full, day: str) -> None:
    """An old day, long after it was first loaded, twice; then the last day again."""
    path = tmp_path / "again.duckdb"
    shutil.copy(full, path)
    for again in [day, day, raw.days()[1]]:
        con = warehouse.connect(path)
        pipeline.load(con, pipe, raw, again)
        con.disconnect()
        assert differences(path, full) == {}, again


def a_failed_load_writes_nothing(tmp_path, pipe, raw, full, day: str) -> None:
    """A step that fails after every other step has run: the warehouse is as it was."""
    path = tmp_path / "failed.duckdb"
    shutil.copy(full, path)

    def fail(ctx):
        raise RuntimeError("the machine went down")

    broken = pipeline.Pipeline(
        pipe.practice,
        pipe.keys,
        [*pipe.steps, pipeline.Step("fail", fail)],
        pipe.init,
        pipe.report,
    )
    con = warehouse.connect(path)
    with pytest.raises(RuntimeError, match="went down"):
        pipeline.load(con, broken, raw, day, lookback_days=1)
    con.disconnect()
    assert differences(path, full) == {}
