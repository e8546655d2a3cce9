"""Checks shared by the tests of every practice's pipeline (imported by ``test_pipeline_*.py``
and ``test_spark_pipeline.py``): whole-warehouse differences, day ranges, the landing zone read
back with pandas, and tables fetched from either engine in one comparable form."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from datamodeling import landing


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
