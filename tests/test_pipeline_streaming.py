"""Video streaming's incremental loads: day by day equals the full build, a day loaded twice
changes nothing, a late record within the lookback lands in its event's day, one beyond it is
quarantined with "later than the lookback" and loaded by its backfill, and a failed load writes
nothing.

Every comparison is of whole warehouses: every table of every schema (``raw``, the model,
``mart``, ``quarantine``), every row, with ``EXCEPT ALL`` both ways. A player or quality event
belongs to the day its session started (its earliest event); an impression to the day it was
shown. Expected late records are computed here from the landing zone's files with pandas, not by
the pipeline.
"""

from __future__ import annotations

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

build = importlib.import_module("datamodeling.streaming.build")
generate = importlib.import_module("datamodeling.streaming.generate")

SEED = 5
pytestmark = pytest.mark.xdist_group("streaming_pipeline")


@pytest.fixture(scope="module")
def late(zone) -> dict[str, pd.DataFrame]:
    """Per log, each record's landing day minus its event day (plain pandas): a player or
    quality event belongs to the day of its session's earliest event in either log, an
    impression to the day it was shown."""
    viewing = read_zone(zone, "viewing_events")
    quality = read_zone(zone, "quality_events")
    both = pd.concat([viewing[["session_id", "event_time"]],
                      quality[["session_id", "event_time"]]])  # fmt: skip
    start_day = both.groupby("session_id").event_time.min().dt.floor("D")
    out = {}
    for source, df in (("viewing_events", viewing), ("quality_events", quality)):
        df["event_day"] = df.session_id.map(start_day)
        out[source] = df
    recs = read_zone(zone, "recommendation_events")
    recs["event_day"] = recs.shown_at.dt.floor("D")
    out["recommendation_events"] = recs
    for df in out.values():
        df["late_days"] = (df.landing_date - df.event_day).dt.days
    return out


def date_key(day) -> int:
    return day.year * 10000 + day.month * 100 + day.day


# ---- the landing zone of the practice --------------------------------------------------------


def test_landing_zone_layout_and_late_partitions(zone, late):
    manifest = landing.read_manifest(zone)
    assert manifest["practice"] == "streaming" and manifest["seed"] == SEED
    assert set(manifest["sources"]) == set(build.KEYS)
    assert landing.partition_file(
        zone, "viewing_events", landing.landed_days(zone, "viewing_events")[0]
    ).is_file()
    for source, df in late.items():
        assert (df.late_days >= 0).all(), source  # nothing lands before its event day
        # the planted delays stay within the default lookback: the default build loses nothing
        assert df.late_days.max() <= pipeline.DEFAULT_LOOKBACK_DAYS, source
    ev = late["viewing_events"]
    # held-back tails: some land one day late, some two or more (beyond a lookback of 1)
    assert (ev.late_days == 1).sum() > 0 and (ev.late_days >= 2).sum() > 0
    # every raw row keeps its event time: a held-back event happened on an earlier day
    moved = ev[ev.event_time.dt.floor("D") < ev.landing_date]
    assert len(moved) > 0
    # a session's first event always lands on its own day
    first = ev.sort_values("event_time").groupby("session_id").head(1)
    assert (first.landing_date == first.event_time.dt.floor("D")).all()
    # a re-sent feed hour: impressions that land the day after they were shown
    assert (late["recommendation_events"].late_days == 1).sum() > 0
    # the extracts land on the first day
    users = read_zone(zone, "users")
    assert set(users.landing_date) == {pd.Timestamp(generate.START).floor("D")}


def test_the_margins_a_load_relies_on_hold_in_the_data(zone, late):
    """A load recomputes the impressions of the day before its window and the daily mart of the
    day after it: every session lasts less than a day, and starts at most a day after the
    impression that started it (checked here on the landing zone, with pandas)."""
    ev = late["viewing_events"]
    span = ev.groupby("session_id").event_time.agg(["min", "max"])
    assert (span["max"] - span["min"]).max() < build.HOUR_MARGIN
    recs = read_zone(zone, "recommendation_events").set_index("rec_event_id")
    started = (
        ev[ev.rec_event_id.notna()]
        .groupby("session_id")
        .agg(rec=("rec_event_id", "max"), start=("event_time", "min"))
    )
    shown = started.rec.astype(int).map(recs.shown_at)
    assert shown.notna().all() and len(shown) > 0
    gap = started.start.dt.floor("D") - shown.dt.floor("D")
    assert gap.min() >= pd.Timedelta(0) and gap.max() <= build.REC_MARGIN


def test_landing_dates_are_deterministic_and_change_nothing_else():
    a = generate.generate_landed(300, SEED)
    b = generate.generate_landed(300, SEED)
    plain = generate.generate(300, SEED)
    for name, table in a.items():
        assert table.equals(b[name]), name
        assert table.drop_columns(["landing_date"]).equals(plain[name]), name


def test_fast_in_memory_build_equals_the_build_from_disk(tmp_path, full):
    memory_build_equals(tmp_path, build, SEED, full)


# ---- day by day = the full build --------------------------------------------------------------


@pytest.mark.parametrize(
    "lookback, loads",
    [
        # a range, then one day at a time over the end of January and the first of February
        # (sessions that play past midnight), then the rest as a range
        (3, [("2025-01-01", "2025-01-30"), *((d, d) for d in days("2025-01-31", "2025-02-01")),
             ("2025-02-02", None)]),
        # irregular batches over the whole period, with a lookback some records exceed
        (1, [("2025-01-01", "2025-01-09"), ("2025-01-10", "2025-01-10"),
             ("2025-01-11", "2025-03-30"), ("2025-03-31", None)]),
    ],
    ids=["lookback 3, day by day", "lookback 1, batches"],
)  # fmt: skip
def test_loading_day_by_day_equals_the_full_build(
    tmp_path, raw, full, full_1, lookback, loads
):
    expected = full if lookback == 3 else full_1
    loads_equal_full(tmp_path, build.PIPELINE, raw, loads, lookback, expected)


def test_loading_a_day_twice_changes_nothing(tmp_path, raw, full):
    a_day_twice_changes_nothing(tmp_path, build.PIPELINE, raw, full, "2025-02-10")


# ---- late records ----------------------------------------------------------------------------


def held_back(late: pd.DataFrame, days_late) -> pd.Series:
    """A stop event of a held-back tail landing ``days_late`` after its session's day, the
    session's only stop (so the session's end is known from it)."""
    ev = late
    stops = ev[ev.action_type == "stop"]
    once = stops.session_id.map(stops.groupby("session_id").size()).eq(1)
    found = stops[once & days_late(stops.late_days)].sort_values("event_id")
    assert len(found) > 0
    return found.iloc[0]


def test_a_late_record_within_the_lookback_lands_in_its_events_day(tmp_path, raw, late):
    ev = late["viewing_events"]
    record = held_back(ev, lambda d: d.between(2, pipeline.DEFAULT_LOOKBACK_DAYS))
    landed = record.landing_date.date()
    con = warehouse.connect(tmp_path / "w.duckdb")
    pipeline.load(
        con, build.PIPELINE, raw, raw.days()[0], landed - pd.Timedelta(days=1)
    )
    session = (
        f"SELECT * FROM fact_playback_session WHERE session_id = {record.session_id}"
    )
    before = con.sql(session).to_pandas()
    # the session is there, from the events that landed on time; not its held-back stop
    assert len(before) == 1 and before.ended_at[0] < record.event_time
    pipeline.load(con, build.PIPELINE, raw, landed)
    after = con.sql(session).to_pandas()
    assert after.ended_at[0] == record.event_time
    assert after.date_key[0] == date_key(record.event_day)  # its session's day
    event = con.sql(
        f"SELECT * FROM fact_viewing_event WHERE event_id = {record.event_id}"
    )
    event = event.to_pandas()
    assert len(event) == 1 and event.date_key[0] == date_key(record.event_time)
    con.disconnect()


def test_records_later_than_the_lookback_are_quarantined_then_backfilled(
    tmp_path, zone, raw, late, full_1
):
    keys = {
        "viewing_events": "event_id",
        "quality_events": "quality_event_id",
        "recommendation_events": "rec_event_id",
    }
    expected = pd.concat(
        [
            df.assign(source=source, record_id=df[key])
            for source, key in keys.items()
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

    # the backfill the quarantine row names loads a held-back event
    record = held_back(late["viewing_events"], lambda d: d > 1)
    command = pipeline.backfill_command(
        "streaming", record.event_day.date(), record.landing_date.date()
    )
    assert command.endswith(
        f"--day {record.landing_date.date()} --lookback {record.late_days}"
    )
    path = tmp_path / "backfill.duckdb"
    shutil.copy(full_1, path)
    con = warehouse.connect(path)
    session = (
        f"SELECT * FROM fact_playback_session WHERE session_id = {record.session_id}"
    )
    assert con.sql(session).to_pandas().ended_at[0] < record.event_time
    report = build.load(
        con,
        record.landing_date.date(),
        landing_root=zone,
        lookback_days=int(record.late_days),
    )
    assert report.reconciles()
    quarantined = con.sql(
        "SELECT * FROM quarantine WHERE source = 'viewing_events' "
        f"AND record_id = {record.event_id}"
    ).to_pandas()
    loaded = con.sql(
        f"SELECT * FROM fact_viewing_event WHERE event_id = {record.event_id}"
    )
    loaded = loaded.to_pandas()
    after = con.sql(session).to_pandas()
    con.disconnect()
    assert len(quarantined) == 0
    assert len(loaded) == 1 and loaded.event_time[0] == record.event_time
    assert after.ended_at[0] == record.event_time  # the session is whole again


# ---- a load is all or nothing ----------------------------------------------------------------


def test_a_failed_load_writes_nothing(tmp_path, raw, full):
    a_failed_load_writes_nothing(tmp_path, build.PIPELINE, raw, full, "2025-02-10")
