"""Ride-sharing's incremental loads: day by day equals the full build, a day loaded twice changes
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

build = importlib.import_module("datamodeling.rideshare.build")
generate = importlib.import_module("datamodeling.rideshare.generate")

SEED = 5
pytestmark = pytest.mark.xdist_group("rideshare_pipeline")


def lateness(zone) -> dict[str, pd.DataFrame]:
    """Per fact source, each record's landing day minus its event day (plain pandas): a trip's
    records belong to the day of its request (the quote), a status event to its own day."""
    quotes = read_zone(zone, "trip_quotes")
    trip_day = quotes.set_index("trip_id").quoted_at.dt.floor("D")
    out = {}
    for source in ("trip_events", "trip_fares", "trip_quotes"):
        df = read_zone(zone, source)
        df["event_day"] = df.trip_id.map(trip_day)
        out[source] = df
    status = read_zone(zone, "driver_status_events")
    status["event_day"] = status.event_time.dt.floor("D")
    out["driver_status_events"] = status
    for df in out.values():
        df["late_days"] = (df.landing_date - df.event_day).dt.days
    return out


# ---- the landing zone of the practice --------------------------------------------------------


def test_landing_zone_layout_and_late_partitions(zone):
    manifest = landing.read_manifest(zone)
    assert manifest["practice"] == "rideshare" and manifest["seed"] == SEED
    assert set(manifest["sources"]) == set(build.KEYS)
    assert warehouse.landing_root(
        "data/generated/rideshare-medium.duckdb"
    ).as_posix() == ("data/generated/rideshare-medium/raw")
    late = lateness(zone)
    ev = late["trip_events"]
    assert (ev.late_days >= 0).all()  # nothing lands before its event
    assert (ev.late_days > 0).sum() > 0  # and some records land in later partitions
    # the planted delays stay within the default lookback: the default build loses nothing
    for df in late.values():
        assert df.late_days.max() <= pipeline.DEFAULT_LOOKBACK_DAYS
    # every raw row keeps its event time: a late event's time is on an earlier day
    moved = ev[ev.event_time.dt.floor("D") < ev.landing_date]
    assert len(moved) > 0


def test_fast_in_memory_build_equals_the_build_from_disk(tmp_path, full):
    memory_build_equals(tmp_path, build, SEED, full)


# ---- day by day = the full build --------------------------------------------------------------


@pytest.mark.parametrize(
    "lookback, loads",
    [
        # a range, then one day at a time over the end of February and the first of March (a
        # new month for the monthly mart), then the rest as a range
        (3, [("2025-01-01", "2025-02-26"), *((d, d) for d in days("2025-02-27", "2025-03-03")),
             ("2025-03-04", None)]),
        # irregular batches over the whole period, with a lookback some records exceed
        (1, [("2025-01-01", "2025-01-09"), ("2025-01-10", "2025-01-10"),
             ("2025-01-11", "2025-03-31"), ("2025-04-01", "2025-04-01"),
             ("2025-04-02", "2025-06-29"), ("2025-06-30", None)]),
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


def test_a_late_record_within_the_lookback_lands_in_its_events_day(tmp_path, zone, raw):
    ev = lateness(zone)["trip_events"]
    counts = ev.groupby("event_id").size()
    late = ev[
        (ev.event_type == "completed")
        & ev.late_days.between(1, pipeline.DEFAULT_LOOKBACK_DAYS)
        & ev.event_id.map(counts).eq(1)  # delivered once
    ].sort_values("event_id")
    assert len(late) > 0
    record = late.iloc[0]
    landed = record.landing_date.date()
    con = warehouse.connect(tmp_path / "w.duckdb")
    pipeline.load(
        con, build.PIPELINE, raw, raw.days()[0], landed - dt.timedelta(days=1)
    )
    trip = f"SELECT * FROM fact_trip WHERE trip_id = {record.trip_id}"
    before = con.sql(trip).to_pandas()
    assert len(before) == 1 and pd.isna(before.completed_at[0])  # not landed yet
    pipeline.load(con, build.PIPELINE, raw, landed)
    after = con.sql(trip).to_pandas()
    assert after.completed_at[0] == record.event_time
    day = record.event_day
    assert (
        after.date_key[0] == day.year * 10000 + day.month * 100 + day.day
    )  # its trip's day
    event = con.sql(f"SELECT * FROM fact_trip_event WHERE event_id = {record.event_id}")
    event = event.to_pandas()
    t = record.event_time
    assert (
        len(event) == 1 and event.date_key[0] == t.year * 10000 + t.month * 100 + t.day
    )
    con.disconnect()


def test_records_later_than_the_lookback_are_quarantined_then_backfilled(
    tmp_path, zone, raw, full_1
):
    late = lateness(zone)
    expected = pd.concat(
        [
            df.assign(source=source, record_id=df[key])  # df's own key: may be empty
            for source, key in [
                ("trip_events", "event_id"),
                ("trip_fares", "trip_id"),
                ("trip_quotes", "trip_id"),
                ("driver_status_events", "status_event_id"),
            ]
            for df in [late[source][late[source].late_days > 1]]
        ]
    )
    assert len(expected) > 0
    con = duckdb.connect(str(full_1), read_only=True)
    q = con.sql(
        "SELECT source, record_id, landing_date, event_date FROM quarantine WHERE reason = ?",
        params=[pipeline.LATE],
    ).df()
    con.close()

    def key(df):
        return sorted(
            zip(
                df.source,
                df.record_id.astype(int),
                pd.to_datetime(df.landing_date),
                strict=True,
            )
        )

    assert key(q) == key(expected)
    assert set(pd.to_datetime(q.event_date)) <= set(expected.event_day)

    # the backfill the quarantine row names loads a late event
    events = late["trip_events"]
    once = events.event_id.map(events.groupby("event_id").size()).eq(1)
    record = events[(events.late_days > 1) & once].sort_values("event_id").iloc[0]
    command = pipeline.backfill_command(
        "rideshare", record.event_day.date(), record.landing_date.date()
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
        f"SELECT * FROM quarantine WHERE source = 'trip_events' AND record_id = {record.event_id}"
    ).to_pandas()
    loaded = con.sql(
        f"SELECT * FROM fact_trip_event WHERE event_id = {record.event_id}"
    )
    loaded = loaded.to_pandas()
    con.disconnect()
    assert len(quarantined) == 0
    assert len(loaded) == 1 and loaded.event_time[0] == record.event_time


# ---- a load is all or nothing ----------------------------------------------------------------


def test_a_failed_load_writes_nothing(tmp_path, raw, full):
    a_failed_load_writes_nothing(tmp_path, build.PIPELINE, raw, full, "2025-03-05")
