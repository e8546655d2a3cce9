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
from pipeline_checks import (
    a_day_twice_changes_nothing,
    a_failed_load_writes_nothing,
    days,
    loads_equal_full,
    memory_build_equals,
    read_zone,
)

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
    memory_build_equals(tmp_path, build, SEED, full)


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
    expected = full if lookback == 3 else full_1
    loads_equal_full(tmp_path, build.PIPELINE, raw, loads, lookback, expected)


def test_loading_a_day_twice_changes_nothing(tmp_path, raw, full):
    a_day_twice_changes_nothing(tmp_path, build.PIPELINE, raw, full, "2025-03-05")


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
    a_failed_load_writes_nothing(tmp_path, build.PIPELINE, raw, full, "2025-03-05")
