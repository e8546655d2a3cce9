"""E-commerce's incremental loads: day by day equals the full build, a day loaded twice changes
nothing, a late record within the lookback lands in its event's day, one beyond it is quarantined
with "later than the lookback" and loaded by its backfill, and a failed load writes nothing.

Every comparison is of whole warehouses: every table of every schema (``raw``, the model,
``mart``, ``quarantine``), every row, with ``EXCEPT ALL`` both ways. Expected late records are
computed here from the landing zone's files with pandas, not by the pipeline.
"""

from __future__ import annotations

import datetime as dt
import importlib
import shutil

import duckdb
import pandas as pd
import pytest
from pipeline_checks import days, differences, read_zone

from datamodeling import landing, pipeline, warehouse

build = importlib.import_module("datamodeling.ecommerce.build")
generate = importlib.import_module("datamodeling.ecommerce.generate")

SEED = 5
pytestmark = pytest.mark.xdist_group("ecommerce_pipeline")
#: Each fact feed: the time of its event (the event day is its UTC day) and its record key.
FEEDS = {
    "order_line_feed": ("order_time", "line_item_id"),
    "order_return_feed": ("return_time", "return_id"),
    "inventory_event_feed": ("event_time", "inventory_event_id"),
    "campaign_audience": ("assigned_at", "customer_id"),
}


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing") / "ecommerce-tiny" / "raw"
    build.write_landing(root, scale="tiny", seed=SEED)
    return root


@pytest.fixture(scope="module")
def raw(zone):
    return pipeline.ParquetLayer(zone)


def full_build(path, raw, lookback):
    con = warehouse.connect(path)
    report = pipeline.build(con, build.PIPELINE, raw, lookback_days=lookback)
    con.disconnect()
    assert report.reconciles(), report.unreconciled()
    return path


@pytest.fixture(scope="module")
def full(tmp_path_factory, raw):
    return full_build(tmp_path_factory.mktemp("full") / "full.duckdb", raw, 3)


@pytest.fixture(scope="module")
def full_1(tmp_path_factory, raw):
    return full_build(tmp_path_factory.mktemp("full1") / "full1.duckdb", raw, 1)


@pytest.fixture(scope="module")
def late(zone) -> dict[str, pd.DataFrame]:
    """Per fact feed, each record's landing day minus its event day (plain pandas)."""
    out = {}
    for source, (at, _) in FEEDS.items():
        df = read_zone(zone, source)
        df["event_day"] = df[at].dt.floor("D")
        df["late_days"] = (df.landing_date - df.event_day).dt.days
        out[source] = df
    return out


def once(df: pd.DataFrame, key: str) -> pd.Series:
    """True for the records delivered once (no duplicate of their key)."""
    return df[key].map(df.groupby(key).size()).eq(1)


# ---- the landing zone of the practice --------------------------------------------------------


def test_landing_zone_layout_and_late_partitions(zone, late):
    manifest = landing.read_manifest(zone)
    assert manifest["practice"] == "ecommerce" and manifest["seed"] == SEED
    assert set(manifest["sources"]) == set(build.KEYS)
    assert warehouse.landing_root(
        "data/generated/ecommerce-medium.duckdb"
    ).as_posix() == ("data/generated/ecommerce-medium/raw")
    for source, df in late.items():
        assert (df.late_days >= 0).all(), source  # nothing lands before its event
        # the planted delays stay within the default lookback: the default build loses nothing
        assert df.late_days.max() <= pipeline.DEFAULT_LOOKBACK_DAYS, source
    # lines land the night after the order; late batches and late returns 2 or 3 days after;
    # a till offline uploads its day's stock movements 1 to 3 days late
    lines = late["order_line_feed"]
    assert set(lines.late_days) == {1, 2, 3}
    assert set(late["order_return_feed"].late_days) == {1, 2, 3}
    stock = late["inventory_event_feed"]
    assert (stock.late_days == 0).mean() > 0.9 and (stock.late_days > 1).sum() > 0
    # every raw row keeps its event time: a late line's order is on an earlier day
    assert (lines.order_time.dt.floor("D") < lines.landing_date).all()
    # change records land with the extract that carries them (a late one after a newer one)
    extract = read_zone(zone, "customer_extract")
    assert (extract.landing_date == pd.to_datetime(extract.extract_date)).all()


def test_fast_in_memory_build_equals_the_build_from_disk(tmp_path, full):
    """The book's default warehouse skips the files (thousands of tiny ones): same warehouse."""
    con = warehouse.connect(tmp_path / "memory.duckdb")
    report = build.build(con, scale="tiny", seed=SEED)
    con.disconnect()
    assert report.reconciles()
    assert differences(tmp_path / "memory.duckdb", full) == {}


# ---- day by day = the full build --------------------------------------------------------------


@pytest.mark.parametrize(
    "lookback, loads",
    [
        # a range, then one day at a time over the end of February and the first of March (a
        # new month, and a leap day), then the rest as a range
        (3, [("2024-01-01", "2024-02-27"), *((d, d) for d in days("2024-02-28", "2024-03-01")),
             ("2024-03-02", None)]),
        # irregular batches over the whole period, with a lookback some records exceed
        (1, [("2024-01-01", "2024-03-10"), ("2024-03-11", "2024-03-11"),
             ("2024-03-12", "2025-06-30"), ("2025-07-01", None)]),
    ],
    ids=["lookback 3, day by day", "lookback 1, batches"],
)  # fmt: skip
def test_loading_day_by_day_equals_the_full_build(
    tmp_path, raw, full, full_1, lookback, loads
):
    last = raw.days()[1]
    con = warehouse.connect(tmp_path / "daily.duckdb")
    for first, to in loads:
        report = pipeline.load(
            con, build.PIPELINE, raw, first, to or last, lookback_days=lookback
        )
        assert report.reconciles(), (first, report.unreconciled())
    con.disconnect()
    expected = full if lookback == 3 else full_1
    assert differences(tmp_path / "daily.duckdb", expected) == {}


def test_loading_a_day_twice_changes_nothing(tmp_path, raw, full):
    path = tmp_path / "again.duckdb"
    shutil.copy(full, path)
    # an old day, long after it was first loaded, twice; then the last day again
    for day in ["2025-03-05", "2025-03-05", raw.days()[1]]:
        con = warehouse.connect(path)
        pipeline.load(con, build.PIPELINE, raw, day)
        con.disconnect()
        assert differences(path, full) == {}, day


# ---- late records ----------------------------------------------------------------------------


def test_a_late_record_within_the_lookback_lands_in_its_events_day(tmp_path, raw, late):
    lines = late["order_line_feed"]
    chosen = lines[
        lines.late_days.between(2, pipeline.DEFAULT_LOOKBACK_DAYS)
        & once(lines, "line_item_id")
        & (lines["count"] > 0)
    ].sort_values("line_item_id")
    assert len(chosen) > 0
    record = chosen.iloc[0]
    landed = record.landing_date.date()
    con = warehouse.connect(tmp_path / "w.duckdb")
    pipeline.load(
        con, build.PIPELINE, raw, raw.days()[0], landed - dt.timedelta(days=1)
    )
    line = f"SELECT * FROM fact_order_line WHERE line_item_id = {record.line_item_id}"
    assert len(con.sql(line).to_pandas()) == 0  # not landed yet
    pipeline.load(con, build.PIPELINE, raw, landed)
    after = con.sql(line).to_pandas()
    day = record.event_day
    assert len(after) == 1
    assert (
        after.date_key[0] == day.year * 10000 + day.month * 100 + day.day
    )  # its order's day
    assert after.order_time[0] == record.order_time
    order = con.sql(f"SELECT * FROM fact_order WHERE order_id = {record.order_id}")
    assert order.to_pandas().date_key.tolist() == [after.date_key[0]]
    con.disconnect()


def test_records_later_than_the_lookback_are_quarantined_then_backfilled(
    tmp_path, zone, late, full_1
):
    expected = pd.concat(
        [
            df.assign(source=source, record_id=df[key].astype(str))
            for source, (_, key) in FEEDS.items()
            for df in [late[source][late[source].late_days > 1]]
        ]
    )
    assert set(expected.source) == {
        "order_line_feed",
        "order_return_feed",
        "inventory_event_feed",
    }
    con = duckdb.connect(str(full_1), read_only=True)
    q = con.sql(
        "SELECT source, record_id, landing_date, event_date FROM quarantine WHERE reason = ?",
        params=[pipeline.LATE],
    ).df()
    con.close()

    def key(df):
        return sorted(
            zip(df.source, df.record_id, pd.to_datetime(df.landing_date), strict=True)
        )

    assert key(q) == key(expected)
    assert set(pd.to_datetime(q.event_date)) <= set(expected.event_day)

    # the backfill the quarantine row names loads a late line
    lines = late["order_line_feed"]
    record = (
        lines[
            (lines.late_days > 1) & once(lines, "line_item_id") & (lines["count"] > 0)
        ]
        .sort_values("line_item_id")
        .iloc[0]
    )
    command = pipeline.backfill_command(
        "ecommerce", record.event_day.date(), record.landing_date.date()
    )
    assert command.endswith(
        f"--day {record.landing_date.date()} --lookback {record.late_days}"
    )
    path = tmp_path / "backfill.duckdb"
    shutil.copy(full_1, path)
    con = warehouse.connect(path)
    report = build.load(
        con,
        record.landing_date.date(),
        landing_root=zone,
        lookback_days=int(record.late_days),
    )
    assert report.reconciles()
    quarantined = con.sql(
        "SELECT * FROM quarantine WHERE source = 'order_line_feed' "
        f"AND record_id = '{record.line_item_id}'"
    ).to_pandas()
    loaded = con.sql(
        f"SELECT * FROM fact_order_line WHERE line_item_id = {record.line_item_id}"
    ).to_pandas()
    con.disconnect()
    assert len(quarantined) == 0
    assert len(loaded) == 1 and loaded.order_time[0] == record.order_time


# ---- a load is all or nothing ----------------------------------------------------------------


def test_a_failed_load_writes_nothing(tmp_path, raw, full):
    path = tmp_path / "failed.duckdb"
    shutil.copy(full, path)

    def fail(ctx):
        raise RuntimeError("the machine went down")

    broken = pipeline.Pipeline(
        "ecommerce",
        build.KEYS,
        [*build.PIPELINE.steps, pipeline.Step("fail", fail)],
        build.PIPELINE.init,
        build.PIPELINE.report,
    )
    con = warehouse.connect(path)
    with pytest.raises(RuntimeError, match="went down"):
        pipeline.load(con, broken, raw, "2025-03-05", lookback_days=1)
    con.disconnect()
    assert differences(path, full) == {}
