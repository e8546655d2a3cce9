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

import importlib
import os

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datamodeling import pipeline, warehouse
from datamodeling.exercises import compare

try:
    import pyspark  # noqa: F401
except ImportError:
    if os.environ.get("REQUIRE_SPARK") == "1":
        raise
    pytest.skip("the spark extra is not installed", allow_module_level=True)

build = importlib.import_module("datamodeling.rideshare.build")
from datamodeling.rideshare import metrics, schema  # noqa: E402

pytestmark = pytest.mark.xdist_group("spark")
SEED = 3
ROWS = 4_000  # the smallest scale where every table and metric has rows (tiny has no surge)


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing") / "rideshare-4000" / "raw"
    build.write_landing(root, scale=ROWS, seed=SEED)
    return root


@pytest.fixture(scope="module")
def duck(zone, tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("duck") / "rideshare.duckdb")
    report = pipeline.build(con, build.PIPELINE, pipeline.ParquetLayer(zone))
    assert report.reconciles()
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def spark(zone, tmp_path_factory):
    con = warehouse.connect(backend="pyspark")
    con._session.sparkContext.setLogLevel("ERROR")
    root = tmp_path_factory.mktemp("spark") / "rideshare-4000-spark"
    raw = pipeline.ParquetLayer(zone)
    report = pipeline.load_spark_directory(
        con, root, lambda backend: pipeline.build(backend, build.PIPELINE, raw)
    )
    yield con, report, root
    con._session.stop()


def arrow(con, decl) -> pa.Table:
    """The table's rows; timestamps as their text, which both engines print alike (Spark's
    transfer to Arrow goes through pandas, whose nanoseconds cannot hold 9999-12-31)."""
    t = con.table(decl.name, database=decl.database) if decl.database else con.table(decl.name)
    t = t.select(decl.column_names)
    text = {c: t[c].cast("string") for c, dtype in t.schema().items() if dtype.is_timestamp()}
    return t.mutate(**text).to_pyarrow()


def canonical(table: pa.Table, schema_like: pa.Schema) -> pa.Table:
    """Same column types, rows in one order (every column ascending)."""
    table = table.cast(schema_like)
    return table.sort_by([(c, "ascending") for c in table.column_names])


def test_spark_builds_every_table_and_reconciles(spark, duck):
    _, spark_report, root = spark
    _, duck_report = duck
    assert spark_report.reconciles(), spark_report.unreconciled()
    assert spark_report.sources == duck_report.sources
    assert spark_report.tables == duck_report.tables
    # the warehouse is a directory of Parquet folders, one per table, reopened by a new session
    assert (root / "main" / "fact_trip").is_dir() and (root / "mart" / "city_hourly").is_dir()
    assert not list(root.parent.glob(f"{root.name}.tmp-*"))  # swapped in, nothing left over


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
