"""The same build on Spark: ride-sharing at a tiny scale, from the same landing zone, through the
same pipeline steps on a local Spark session, gives every table and every metric DuckDB gives.

The scale is 4,000 requests rather than ``tiny``'s 2,000: at 2,000 the engine never surges, so
the surge tables and the surge metric would compare two empty results.

The type 2 surrogate keys are compared as they are: both engines compute them the same way
(``scd2.surrogate_key``, an MD5 both engines implement), so no mapping is needed.

Needs the ``spark`` extra and Java 17; CI installs both and sets REQUIRE_SPARK=1 so that these
tests cannot silently skip there.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datamodeling import cli, warehouse
from datamodeling.exercises import compare

try:
    import pyspark  # noqa: F401
except ImportError:
    if os.environ.get("REQUIRE_SPARK") == "1":
        raise
    pytest.skip("the spark extra is not installed", allow_module_level=True)

from datamodeling.rideshare import metrics, schema  # noqa: E402

pytestmark = pytest.mark.xdist_group("spark")
SEED = 3
ROWS = 4_000  # the smallest scale where every table and metric has rows (tiny has no surge)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Where the DuckDB warehouse goes; its landing zone and its Spark folder go beside it."""
    return tmp_path_factory.mktemp("both") / "rideshare-4000.duckdb"


@pytest.fixture(scope="module")
def duck(db):
    """The DuckDB build, as ``datamodeling build`` makes it: the landing zone, then every day."""
    report = warehouse.build_database(
        "rideshare", db, scale=ROWS, seed=SEED, landing=True
    )
    assert report.reconciles()
    con = warehouse.connect(db, read_only=True)
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def spark(duck, db):
    """``datamodeling build rideshare --backend pyspark``, from the same landing zone."""
    con = warehouse.connect(backend="pyspark")
    con._session.sparkContext.setLogLevel("ERROR")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(
            ["build", "rideshare", "--scale", str(ROWS), "--seed", str(SEED), "--db", str(db),
             "--backend", "pyspark"]
        )  # fmt: skip
    assert code == 0
    yield con, out.getvalue(), warehouse.spark_dir(db)
    con._session.stop()


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


def test_spark_builds_every_table_and_reconciles(spark, duck, db):
    _, printed, root = spark
    _, duck_report = duck
    # the report the command prints: every table's rows and every source reconciled, as DuckDB
    for table, rows in duck_report.tables.items():
        assert re.search(rf"^{re.escape(table)}\s+{rows:,}$", printed, re.M), table
    for source, s in duck_report.sources.items():
        line = f"{s['rows_in']:,}\\s+{s['loaded']:,}\\s+{s['quarantined']:,}"
        assert re.search(rf"^{source}\s+{line}$", printed, re.M), source
    # the warehouse is a folder of Parquet tables beside the DuckDB file, marked as this tool's
    assert root == db.with_name("rideshare-4000-spark")
    assert (root / "main" / "fact_trip").is_dir() and (
        root / "mart" / "city_hourly"
    ).is_dir()
    assert (root / warehouse.SPARK_MARKER).is_file()
    assert not list(
        root.parent.glob(f"{root.name}.tmp-*")
    )  # swapped in, nothing left over


@pytest.mark.parametrize("decl", schema.TABLES, ids=lambda d: d.qualified_name)
def test_every_table_equals_duckdbs_row_for_row(spark, duck, decl):
    expected = arrow(duck[0], decl)
    got = arrow(spark[0], decl)
    assert got.num_rows == expected.num_rows > 0 or decl.name == "quarantine"
    expected = canonical(expected, expected.schema)
    got = canonical(got, expected.schema)
    for name in expected.column_names:
        same = pc.all(pc.equal(got[name], expected[name])).as_py()
        nulls_same = got[name].null_count == expected[name].null_count
        both_null = pc.and_(pc.is_null(got[name]), pc.is_null(expected[name]))
        aligned = pc.sum(both_null).as_py() == got[name].null_count
        assert (same in (True, None)) and nulls_same and aligned, f"{decl.name}.{name}"


@pytest.mark.parametrize("name", sorted(metrics.METRICS))
def test_every_metric_equals_duckdbs(spark, duck, name):
    metric = metrics.METRICS[name]
    expected = metric.to_pandas(duck[0])
    got = metric.table(spark[0]).to_pandas()
    if metric.order_by:
        got = got.sort_values(list(metric.order_by), ignore_index=True)
    assert len(expected) > 0
    # Spark types a literal such as 3600.0 as DECIMAL, so x / 3600.0 keeps 6 decimals.
    assert compare(expected, got, rtol=1e-6, atol=1e-6) is None


def test_loading_a_day_again_on_spark_changes_nothing(spark, duck, db):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(
            ["load", "rideshare", "--scale", str(ROWS), "--seed", str(SEED), "--db", str(db),
             "--backend", "pyspark", "--day", "2025-03-05"]
        )  # fmt: skip
    assert code == 0
    for decl in schema.TABLES:
        expected = canonical(arrow(duck[0], decl), arrow(duck[0], decl).schema)
        got = canonical(arrow(spark[0], decl), expected.schema)
        assert got.equals(expected), decl.qualified_name
