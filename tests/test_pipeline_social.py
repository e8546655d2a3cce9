"""Social media's incremental loads: day by day equals the full build, a day loaded twice changes
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

build = importlib.import_module("datamodeling.social.build")
generate = importlib.import_module("datamodeling.social.generate")

SEED = 5
pytestmark = pytest.mark.xdist_group("social_pipeline")


def lateness(zone) -> dict[str, pd.DataFrame]:
    """Per event log, each record's landing day minus its event day (plain pandas): an event
    belongs to its own UTC day, or to the day the server received it when its clock was ahead."""
    out = {}
    for source in ("content_event", "ad_event"):
        df = read_zone(zone, source)
        df["event_day"] = df[["event_time", "received_at"]].min(axis=1).dt.floor("D")
        df["late_days"] = (df.landing_date - df.event_day).dt.days
        out[source] = df
    return out


def once(df: pd.DataFrame) -> pd.Series:
    """Records delivered once (no retry) with a true clock: they load when accepted."""
    return df.event_id.map(df.groupby("event_id").size()).eq(1) & (
        df.event_time <= df.received_at
    )


# ---- the landing zone of the practice --------------------------------------------------------


def test_landing_zone_layout_and_late_partitions(zone):
    manifest = landing.read_manifest(zone)
    assert manifest["practice"] == "social" and manifest["seed"] == SEED
    assert set(manifest["sources"]) == set(build.KEYS)
    assert warehouse.landing_root("data/generated/social-medium.duckdb").as_posix() == (
        "data/generated/social-medium/raw"
    )
    late = lateness(zone)
    for source, df in late.items():
        assert (df.late_days >= 0).all(), source  # nothing lands before its event
        # the planted delays stay within the default lookback: the default build loses nothing
        assert df.late_days.max() <= pipeline.DEFAULT_LOOKBACK_DAYS, source
        # and some records land two or three days late: a lookback of one refuses them
        assert (df.late_days >= 2).sum() > 0, source
    # a phone offline holds back a user's whole day: every event of that user and day is late
    ce = late["content_event"]
    held = ce[ce.late_days >= 2].groupby(["viewer_id", "event_day"]).size()
    assert len(held) > 0
    pairs = ce.set_index(["viewer_id", "event_day"]).index.isin(held.index)
    assert (ce[pairs].late_days >= 1).all()
    # the ad feed of the day re-sent lands a day after the server received it
    feed = generate.LATE["resent_feed"]
    ad = late["ad_event"]
    resent = ad[ad.received_at.dt.floor("D") == pd.Timestamp(feed["day"])]
    assert len(resent) > 0
    assert (
        resent.landing_date >= pd.Timestamp(feed["day"]) + pd.Timedelta(days=1)
    ).all()
    # change records land on their day, some a day or two late; extracts on the first day
    changes = read_zone(zone, "user_changes")
    lag = (
        changes.landing_date - changes.updated_at.dt.floor("D").clip(lower="2026-01-01")
    ).dt.days
    assert lag.min() == 0 and set(lag[lag > 0]) <= {1, 2} and (lag > 0).sum() > 0
    assert set(read_zone(zone, "device").landing_date) == {pd.Timestamp("2026-01-01")}
    # every raw row keeps its event time: a late event's time is on an earlier day
    assert (ce.event_time.dt.floor("D") < ce.landing_date).sum() > 0


def test_the_landing_zone_is_the_same_bytes_for_the_same_seed(tmp_path, zone):
    other = tmp_path / "again" / "raw"
    build.write_landing(other, scale="tiny", seed=SEED, workers=1)
    for source in build.KEYS:
        found = landing.landed_days(zone, source)
        assert found == landing.landed_days(other, source)
        for day in found:
            a = landing.partition_file(zone, source, day).read_bytes()
            assert a == landing.partition_file(other, source, day).read_bytes()


def test_fast_in_memory_build_equals_the_build_from_disk(tmp_path, full):
    memory_build_equals(tmp_path, build, SEED, full)


# ---- day by day = the full build --------------------------------------------------------------


@pytest.mark.parametrize(
    "lookback, loads",
    [
        # a range, then one day at a time over the end of February and the first of March (a
        # new month for the monthly churn periods), then the rest as a range
        (3, [("2026-01-01", "2026-02-26"), *((d, d) for d in days("2026-02-27", "2026-03-02")),
             ("2026-03-03", None)]),
        # irregular batches over the whole period, with a lookback some records exceed
        (1, [("2026-01-01", "2026-01-09"), ("2026-01-10", "2026-01-10"),
             ("2026-01-11", "2026-03-31"), ("2026-04-01", "2026-04-01"),
             ("2026-04-02", "2026-06-29"), ("2026-06-30", None)]),
    ],
    ids=["lookback 3, day by day", "lookback 1, batches"],
)  # fmt: skip
def test_loading_day_by_day_equals_the_full_build(
    tmp_path, raw, full, full_1, lookback, loads
):
    expected = full if lookback == 3 else full_1
    loads_equal_full(tmp_path, build.PIPELINE, raw, loads, lookback, expected)


def test_loading_a_day_twice_changes_nothing(tmp_path, raw, full):
    a_day_twice_changes_nothing(tmp_path, build.PIPELINE, raw, full, "2026-03-05")


# ---- late records ----------------------------------------------------------------------------


def test_a_late_record_within_the_lookback_lands_in_its_events_day(tmp_path, zone, raw):
    ev = lateness(zone)["content_event"]
    late = ev[
        ev.late_days.between(2, pipeline.DEFAULT_LOOKBACK_DAYS) & once(ev)
    ].sort_values("event_id")
    assert len(late) > 0
    record = late.iloc[0]
    landed = record.landing_date.date()
    con = warehouse.connect(tmp_path / "w.duckdb")
    pipeline.load(
        con, build.PIPELINE, raw, raw.days()[0], landed - dt.timedelta(days=1)
    )
    query = f"SELECT * FROM fact_content_event WHERE event_id = {record.event_id}"
    assert len(con.sql(query).to_pandas()) == 0  # not landed yet
    pipeline.load(con, build.PIPELINE, raw, landed)
    after = con.sql(query).to_pandas()
    assert len(after) == 1 and after.event_time[0] == record.event_time
    # its own day, not the landing day
    assert pd.Timestamp(after.event_date[0]) == record.event_day
    # the user's activity of that day counts it: the cumulative row has the day's bit
    day = record.event_day.date()
    cum = con.sql(
        "SELECT activity_mask FROM mart.user_activity_cumulative "
        f"WHERE user_id = {record.viewer_id} AND activity_date = DATE '{day}'"
    ).to_pandas()
    assert len(cum) == 1 and cum.activity_mask[0] & 1 == 1
    con.disconnect()


def test_records_later_than_the_lookback_are_quarantined_then_backfilled(
    tmp_path, zone, raw, full_1
):
    late = lateness(zone)
    expected = pd.concat(
        [
            df[df.late_days > 1].assign(source=source, record_id=lambda d: d.event_id)
            for source, df in late.items()
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
    assert sorted(pd.to_datetime(q.event_date)) == sorted(expected.event_day)

    # the backfill the quarantine row names loads a late event
    events = late["content_event"]
    record = (
        events[(events.late_days > 1) & once(events)].sort_values("event_id").iloc[0]
    )
    command = pipeline.backfill_command(
        "social", record.event_day.date(), record.landing_date.date()
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
        "SELECT * FROM quarantine WHERE source = 'content_event' "
        f"AND record_id = {record.event_id}"
    ).to_pandas()
    loaded = con.sql(
        f"SELECT * FROM fact_content_event WHERE event_id = {record.event_id}"
    ).to_pandas()
    con.disconnect()
    assert len(quarantined) == 0
    assert len(loaded) == 1 and loaded.event_time[0] == record.event_time


# ---- a load is all or nothing ----------------------------------------------------------------


def test_a_failed_load_writes_nothing(tmp_path, raw, full):
    a_failed_load_writes_nothing(tmp_path, build.PIPELINE, raw, full, "2026-03-05")
