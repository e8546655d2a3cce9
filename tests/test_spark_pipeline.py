"""The same build on Spark: each practice that loads by day, at a small scale, from the same
landing zone, through the same pipeline steps on a local Spark session, gives every table and
every metric DuckDB gives, and loading a day again changes nothing.

``CASES`` lists the practices and, for each, the scale (the smallest where every table and
metric has rows: at ride-sharing's ``tiny`` 2,000 requests the engine never surges), the seed
and a landing day to load again.

The type 2 surrogate keys are compared as they are: both engines compute them the same way
(``scd2.surrogate_key``, an MD5 both engines implement), so no mapping is needed.

Needs the ``spark`` extra and Java 17; CI installs both and sets REQUIRE_SPARK=1 so that these
tests cannot silently skip there.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pipeline_checks import arrow, canonical

from datamodeling import cli, warehouse
from datamodeling.exercises import compare

try:
    import pyspark  # noqa: F401
except ImportError:
    if os.environ.get("REQUIRE_SPARK") == "1":
        raise
    pytest.skip("the spark extra is not installed", allow_module_level=True)

pytestmark = pytest.mark.xdist_group("spark")

#: practice -> (rows, seed, a landing day to load again)
CASES = {
    "rideshare": (4_000, 3, "2025-03-05"),
    "streaming": (2_000, 3, "2025-02-10"),
    "ecommerce": (2_000, 5, "2025-03-05"),
    "social": (2_000, 5, "2026-03-05"),
}


def module(practice: str, name: str):
    return importlib.import_module(f"datamodeling.{practice}.{name}")


def args(practice: str, db) -> list[str]:
    rows, seed, _ = CASES[practice]
    return [practice, "--scale", str(rows), "--seed", str(seed), "--db", str(db),
            "--backend", "pyspark"]  # fmt: skip


@pytest.fixture(scope="module")
def session():
    con = warehouse.connect(backend="pyspark")
    con._session.sparkContext.setLogLevel("ERROR")
    yield con
    con._session.stop()


@pytest.fixture(scope="module", params=sorted(CASES))
def practice(request):
    return request.param


@pytest.fixture(scope="module")
def db(tmp_path_factory, practice):
    """Where the DuckDB warehouse goes; its landing zone and its Spark folder go beside it."""
    rows = CASES[practice][0]
    return tmp_path_factory.mktemp(practice) / f"{practice}-{rows}.duckdb"


@pytest.fixture(scope="module")
def duck(db, practice):
    """The DuckDB build, as ``datamodeling build`` makes it: the landing zone, then every day."""
    rows, seed, _ = CASES[practice]
    report = warehouse.build_database(practice, db, scale=rows, seed=seed, landing=True)
    assert report.reconciles()
    con = warehouse.connect(db, read_only=True)
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def spark(session, duck, db, practice):
    """``datamodeling build PRACTICE --backend pyspark``, from the same landing zone."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["build", *args(practice, db)])
    assert code == 0
    return session, out.getvalue(), warehouse.spark_dir(db)


def test_spark_builds_every_table_and_reconciles(spark, duck, db, practice):
    _, printed, root = spark
    _, duck_report = duck
    # the report the command prints: every table's rows and every source reconciled, as DuckDB
    for table, rows in duck_report.tables.items():
        assert re.search(rf"^{re.escape(table)}\s+{rows:,}$", printed, re.M), table
    for source, s in duck_report.sources.items():
        line = f"{s['rows_in']:,}\\s+{s['loaded']:,}\\s+{s['quarantined']:,}"
        assert re.search(rf"^{source}\s+{line}$", printed, re.M), source
    # the warehouse is a folder of Parquet tables beside the DuckDB file, marked as this tool's
    assert root == db.with_name(f"{db.stem}-spark")
    tables = module(practice, "schema").TABLES
    for decl in tables:
        assert (root / (decl.database or "main") / decl.name).is_dir(), decl.name
    assert (root / warehouse.SPARK_MARKER).is_file()
    assert not list(root.parent.glob(f"{root.name}.tmp-*"))  # swapped in, nothing left


def table_differences(expected: pa.Table, got: pa.Table) -> list[str]:
    """The columns whose values differ between two tables of the same rows (empty: equal)."""
    expected = canonical(expected, expected.schema)
    got = canonical(got, expected.schema)
    out = []
    for name in expected.column_names:
        same = pc.all(pc.equal(got[name], expected[name])).as_py()
        nulls_same = got[name].null_count == expected[name].null_count
        both_null = pc.and_(pc.is_null(got[name]), pc.is_null(expected[name]))
        aligned = pc.sum(both_null).as_py() == got[name].null_count
        if not ((same in (True, None)) and nulls_same and aligned):
            out.append(name)
    return out


# Each test below covers every table (or metric) of one practice, so that the tests of one
# practice run together after its one build (a test per table would make pytest build a
# practice again whenever the order of the tests moves from one practice to another).


def test_every_table_equals_duckdbs_row_for_row(spark, duck, practice):
    problems = {}
    for decl in module(practice, "schema").TABLES:
        expected = arrow(duck[0], decl)
        got = arrow(spark[0], decl)
        if not (got.num_rows == expected.num_rows > 0 or decl.name == "quarantine"):
            problems[decl.qualified_name] = (
                f"{got.num_rows} rows, DuckDB {expected.num_rows}"
            )
        elif columns := table_differences(expected, got):
            problems[decl.qualified_name] = f"columns differ: {columns}"
    assert problems == {}


def test_every_metric_equals_duckdbs(spark, duck, practice):
    problems = {}
    for name, metric in sorted(module(practice, "metrics").METRICS.items()):
        expected = metric.to_pandas(duck[0])
        got = metric.table(spark[0]).to_pandas()
        if metric.order_by:
            got = got.sort_values(list(metric.order_by), ignore_index=True)
        # Spark types a literal such as 3600.0 as DECIMAL, so x / 3600.0 keeps 6 decimals.
        if len(expected) == 0:
            problems[name] = "no rows on DuckDB"
        elif (found := compare(expected, got, rtol=1e-6, atol=1e-6)) is not None:
            problems[name] = found
    assert problems == {}


def test_loading_a_day_again_on_spark_changes_nothing(spark, duck, db, practice):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["load", *args(practice, db), "--day", CASES[practice][2]])
    assert code == 0
    for decl in module(practice, "schema").TABLES:
        expected = canonical(arrow(duck[0], decl), arrow(duck[0], decl).schema)
        got = canonical(arrow(spark[0], decl), expected.schema)
        assert got.equals(expected), decl.qualified_name
