"""The metric investigations of the mock interviews: planted causes, recovered and checked.

Each practice's generator plants an incident (``PLANTED["incident"]``) and its mock interview
states the alarm, the options and the model answer (``MOCK.investigation``). The tests check, on
the book's warehouse (default scale and seed, the one the notebooks open):

* the model answer recovers the planted segment and cause, and every step of its diagnosis
  shows what its text says;
* the alarm's figures equal an oracle computed in pandas from the raw tables the generator
  hands over, and the incident accounts for the whole drop: a second run of the generator with
  the incident switched off differs exactly where the incident says, and nowhere else;
* the checker fails wrong answers (segment, cause, query), each with its reason, passes other
  correct queries, and does not find a drop on days without one (its sampling error is
  calibrated on those days).

Oracles are the generators' output and plain pandas, never the investigation's own SQL.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from datamodeling import synth
from datamodeling.interview import (
    DIAGNOSIS_PHASES,
    REFERENCE,
    Investigation,
    Option,
    Step,
    _z_max,
    check_investigation,
    investigation,
    investigation_exercise,
    run_step,
    step_sql,
)
from datamodeling.warehouse import open_practice, project_root

PRACTICES = ["ecommerce", "social", "streaming", "rideshare"]
ROWS = synth.resolve_scale(None)  # the book's warehouse: default scale and seed
SEED = synth.DEFAULT_SEED


@pytest.fixture(scope="module")
def warehouses():
    opened = {}

    def get(practice):
        if practice not in opened:
            opened[practice] = open_practice(practice)
        return opened[practice]

    return get


def _generator(practice):
    import importlib

    return importlib.import_module(f"datamodeling.{practice}.generate")


def _day(practice) -> str:
    incident = _generator(practice).PLANTED["incident"]
    return {
        "ecommerce": incident.get("order_date"),
        "social": incident.get("day"),
        "streaming": incident.get("released_at", "")[:10],
        "rideshare": incident.get("day"),
    }[practice]


def _on_day(sql: str, inv: Investigation, day) -> str:
    """The same query for another alarm day (the investigations write the day once)."""
    assert sql.count(f"DATE '{inv.day}'") >= 1
    return sql.replace(f"DATE '{inv.day}'", f"DATE '{day}'")


def _raw(con, table: str) -> pd.DataFrame:
    return con.sql(f"SELECT * FROM raw.{table}").to_pandas()


# --------------------------------------------------------------------------------------------
# The generators document the incidents beside their other planted truths
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", PRACTICES)
def test_generator_documents_the_incident_beside_its_planted_truths(practice):
    gen = _generator(practice)
    incident = gen.PLANTED["incident"]
    inv = investigation(practice)
    assert incident["cause"] in ("late partition", "release")
    assert inv.day == _day(practice)
    assert (
        "the incident" in gen.__doc__.lower() and inv.day
    )  # the module says what it plants
    planted = {
        "ecommerce": [incident.get("store_name")],
        "social": [incident.get("os"), incident.get("event_type")],
        "rideshare": [incident.get("city_name")],
        "streaming": [incident.get("device_type"), incident.get("app_version")],
    }[practice]
    assert list(inv.segment.values()) == planted
    assert date.fromisoformat(inv.day).weekday() == {
        "ecommerce": 4,
        "rideshare": 4,
    }.get(practice, 1)


def test_incident_days_are_outside_the_windows_the_other_notebooks_quote():
    """E-commerce: outside every campaign window (the campaign notebooks measure lifts there);
    social: outside the exercises' windows (MAU ending 31 May, the last week of June); streaming:
    after the re-tag and the 5.3.0 release, which the metrics notebook reads."""
    from datamodeling.ecommerce import generate as ecommerce
    from datamodeling.streaming import generate as streaming

    day = (
        np.datetime64(_day("ecommerce")) - ecommerce.START.astype("datetime64[D]")
    ).astype(int)
    assert all(not (a <= day < b) for a, b in ecommerce.campaign_windows())
    social_day = date.fromisoformat(_day("social"))
    assert not (date(2026, 5, 4) <= social_day <= date(2026, 5, 31))
    assert social_day < date(2026, 6, 24)
    streaming_day = np.datetime64(_day("streaming"))
    assert (
        streaming_day > streaming.RETAG_AT
        and streaming_day > streaming.APP_RELEASES[-1]
    )


# --------------------------------------------------------------------------------------------
# The model answer recovers the planted cause, and each step shows what it says
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", PRACTICES)
def test_model_answer_recovers_the_planted_segment_and_cause(warehouses, practice):
    con = warehouses(practice)
    inv = investigation(practice)
    report = check_investigation(
        inv, segment=inv.segment, cause=inv.cause, sql=inv.reference_sql, con=con
    )
    assert report.passed, report
    rows = report.rows
    inside = rows[rows["in segment"] == "yes"]
    assert len(inside) == 1
    for column, value in zip(inv.segment, inv.segment.values(), strict=True):
        assert (inside.astype(str) == value).any(axis=None), (column, value)
    # the segment's drop is the largest, in sampling-error units, and beyond 3 sigma
    assert inside.sigmas.iloc[0] == rows.sigmas.min() < -3
    others = rows[(rows["in segment"] == "") & rows.expected.notna()]
    assert (others.sigmas.abs() <= _z_max(len(others) + 1)).all()


@pytest.mark.parametrize("practice", PRACTICES)
def test_every_step_shows_what_its_reading_says(warehouses, practice):
    con = warehouses(practice)
    inv = investigation(practice)
    phases = [s.phase for s in inv.steps]
    assert phases == sorted(phases, key=list(DIAGNOSIS_PHASES).index)
    assert set(phases) == set(DIAGNOSIS_PHASES)
    assert [s.sql for s in inv.steps].count(
        REFERENCE
    ) == 1  # the isolating query is a step
    claims = 0
    for i, step in enumerate(inv.steps):
        frame = run_step(inv, i, con)
        assert len(frame) > 0, step.question
        if step.shows is not None:
            assert step.shows(frame), (i, step.question, frame)
            claims += 1
    assert claims >= len(inv.steps) - 1


@pytest.mark.parametrize("practice", PRACTICES)
def test_step_claims_are_false_on_a_day_without_the_incident(warehouses, practice):
    """The claims that find the cause are not always true: on an ordinary day (four weeks
    before) the claim of the first step that points at the cause does not hold."""
    con = warehouses(practice)
    inv = investigation(practice)
    first = {"ecommerce": 0, "social": 0, "streaming": 1, "rideshare": 0}[practice]
    step = inv.steps[first]
    other = date.fromisoformat(inv.day) - timedelta(weeks=5)
    frame = con.sql(_on_day(step_sql(inv, first), inv, other)).to_pandas()
    shows = step.shows
    module = __import__(f"datamodeling.{practice}.interview", fromlist=["_DAY"])
    original = module._DAY
    try:  # the claim names the alarm day through the module's _DAY
        module._DAY = other.isoformat()
        assert not shows(frame)
    finally:
        module._DAY = original


# --------------------------------------------------------------------------------------------
# The alarm's figures, from the raw tables (pandas oracles)
# --------------------------------------------------------------------------------------------
def _alarm(inv, con):
    from datamodeling.interview import alarm_figures

    return alarm_figures(inv, con)


def test_ecommerce_alarm_equals_the_report_rebuilt_from_the_raw_feed(warehouses):
    con = warehouses("ecommerce")
    inv = investigation("ecommerce")
    incident = _generator("ecommerce").PLANTED["incident"]
    feed = _raw(con, "order_line_feed").sort_values(
        ["loaded_at", "batch_id", "line_item_id"]
    )
    feed = feed.drop_duplicates(
        "line_item_id"
    )  # a retried batch: the first arrival counts
    feed = feed[feed["count"] > 0]
    feed["day"] = feed.order_time.dt.normalize()
    day = pd.Timestamp(inv.day)
    fridays = [day - pd.Timedelta(weeks=k) for k in range(5)]
    report = {}
    for d in fridays:
        cut = d + pd.Timedelta(hours=24 + incident["report_hour"])
        lines = feed[(feed.day == d) & (feed.loaded_at < cut)]
        report[d] = float((lines.amt - lines.discount).astype(float).sum())
    alarm = _alarm(inv, con)
    assert alarm["value"] == pytest.approx(report[day], abs=0.005)
    expected = np.mean([report[d] for d in fridays[1:]])
    assert alarm["expected"] == pytest.approx(expected, abs=0.005)
    assert alarm["change"] < -0.25


def _clean_social_events(events: pd.DataFrame) -> pd.DataFrame:
    """The build's rules, in pandas: a clock ahead of the server is refused, then retries."""
    ok = events[events.event_time <= events.received_at]
    return ok.sort_values(["received_at", "event_id"]).drop_duplicates("event_id")


def test_social_alarm_equals_dau_rebuilt_from_the_raw_log(warehouses):
    con = warehouses("social")
    inv = investigation("social")
    events = _clean_social_events(_raw(con, "content_event"))
    day = pd.Timestamp(inv.day)
    dau = events.groupby(events.event_time.dt.normalize()).viewer_id.nunique()
    alarm = _alarm(inv, con)
    assert alarm["value"] == dau[day]
    assert alarm["expected"] == pytest.approx(
        np.mean([dau[day - pd.Timedelta(weeks=k)] for k in range(1, 5)])
    )
    assert alarm["change"] < -0.1


def test_streaming_alarm_equals_completion_rebuilt_from_the_raw_log(warehouses):
    con = warehouses("streaming")
    inv = investigation("streaming")
    raw = _raw(con, "viewing_events")
    changes = _raw(con, "content_changes")
    duration = (
        changes.drop_duplicates("content_id").set_index("content_id").duration_seconds
    )
    has_play = raw.groupby("session_id").action_type.agg(lambda s: (s == "play").any())
    raw = raw[raw.session_id.map(has_play)]
    sessions = raw.groupby("session_id").agg(
        started=("event_time", "min"),
        furthest=("position_seconds", "max"),
        content_id=("content_id", "first"),
    )
    length = sessions.content_id.map(duration)
    sessions["completed"] = np.minimum(sessions.furthest, length) >= 0.9 * length
    rate = sessions.groupby(sessions.started.dt.normalize()).completed.mean()
    day = pd.Timestamp(inv.day)
    alarm = _alarm(inv, con)
    assert alarm["value"] == pytest.approx(rate[day])
    # the baseline pools the four Tuesdays' streams (a rate over all of them)
    before = sessions[
        sessions.started.dt.normalize().isin(
            [day - pd.Timedelta(weeks=k) for k in range(1, 5)]
        )
    ]
    assert alarm["expected"] == pytest.approx(before.completed.mean())
    assert alarm["change"] < -0.08


def test_rideshare_alarm_equals_the_report_rebuilt_from_the_raw_log(warehouses):
    """The report of a Friday counts the trips requested that UTC day whose completion
    record (any delivery of it) had landed by the end of the day."""
    con = warehouses("rideshare")
    inv = investigation("rideshare")
    quotes = _raw(con, "trip_quotes").set_index("trip_id")
    events = _raw(con, "trip_events")
    done = (
        events[events.event_type == "completed"].groupby("trip_id").landing_date.min()
    )
    trips = pd.DataFrame({"landed": pd.to_datetime(done)})
    trips["day"] = trips.index.map(quotes.quoted_at.dt.normalize())
    day = pd.Timestamp(inv.day)
    report = {}
    for d in [day - pd.Timedelta(weeks=k) for k in range(5)]:
        report[d] = int(((trips.day == d) & (trips.landed <= d)).sum())
    alarm = _alarm(inv, con)
    assert alarm["value"] == report[day]
    expected = np.mean([report[day - pd.Timedelta(weeks=k)] for k in range(1, 5)])
    assert alarm["expected"] == pytest.approx(expected)
    assert alarm["change"] < -0.25


# --------------------------------------------------------------------------------------------
# The incident accounts for the whole drop: the generator with and without it
# --------------------------------------------------------------------------------------------
def test_ecommerce_incident_moves_only_the_loads_of_one_store_and_day(monkeypatch):
    gen = _generator("ecommerce")
    incident = gen.PLANTED["incident"]
    with_it = gen.generate(ROWS, SEED)["order_line_feed"].to_pandas()
    monkeypatch.setitem(gen.PLANTED, "incident", {**incident, "store_id": -99})
    without = gen.generate(ROWS, SEED)["order_line_feed"].to_pandas()
    assert len(with_it) == len(without)
    a = with_it.sort_values(["line_item_id", "batch_id"]).reset_index(drop=True)
    b = without.sort_values(["line_item_id", "batch_id"]).reset_index(drop=True)
    moved = a.loaded_at != b.loaded_at
    same = [c for c in a.columns if c not in ("loaded_at", "batch_id")]
    pd.testing.assert_frame_equal(a[same], b[same])
    hit = (a.store_id == incident["store_id"]) & (
        a.order_time.dt.normalize() == pd.Timestamp(incident["order_date"])
    )
    assert moved.any() and not (moved & ~hit).any()
    # every line of the store and day lands with the late load, or later (already late)
    assert (a.loaded_at[hit] >= pd.Timestamp(incident["landed_at"])).all()
    # the report misses the store's share of the day's lines: its planted share of orders,
    # within binomial error (lines per order do not depend on the store)
    day = a[a.order_time.dt.normalize() == pd.Timestamp(incident["order_date"])]
    day = day.drop_duplicates("line_item_id")
    share = gen.STORES[incident["store_id"] - 1][-1] / sum(s[-1] for s in gen.STORES)
    missing = float(hit[day.index].mean())

    # a store is drawn per shopping session, not per line: the binomial variance of a share of
    # lines is inflated by E[X^2] / E[X] for the lines per order (X = 1 + Poisson(1.2)) and for
    # the orders per session (X = 1 + Poisson(m - 1))
    def inflation(extra):
        return (extra + (1 + extra) ** 2) / (1 + extra)

    m = gen.PLANTED["orders_per_session"]
    factor = inflation(gen.LINES_PER_ORDER_EXTRA) * inflation(m - 1)
    sigma = math.sqrt(share * (1 - share) / len(day) * factor)
    assert abs(missing - share) < 4 * sigma, (missing, share, sigma)


def test_social_incident_removes_exactly_the_views_and_the_users_it_says(monkeypatch):
    gen = _generator("social")
    incident = gen.PLANTED["incident"]
    with_it = gen.generate(ROWS, SEED)["content_event"].to_pandas()
    monkeypatch.setattr(gen, "_unlogged", lambda columns, users: columns)
    tables = gen.generate(ROWS, SEED)
    without = tables["content_event"].to_pandas()
    os_of = tables["device"].to_pandas().set_index("device_id").os
    lost = without[~without.event_id.isin(with_it.event_id)]
    assert len(lost) > 0
    assert (lost.event_type == incident["event_type"]).all()
    assert (lost.device_id.map(os_of) == incident["os"]).all()
    assert (lost.event_time.dt.normalize() == pd.Timestamp(incident["day"])).all()
    kept = without[without.event_id.isin(with_it.event_id)]
    pd.testing.assert_frame_equal(
        kept.reset_index(drop=True), with_it.reset_index(drop=True), check_like=True
    )
    # DAU loses exactly the users whose every (clean) event of the day was an unlogged view
    day = pd.Timestamp(incident["day"])
    before = _clean_social_events(without)
    before = before[before.event_time.dt.normalize() == day]
    after = _clean_social_events(with_it)
    after = after[after.event_time.dt.normalize() == day]
    only_views = before.groupby("viewer_id").apply(
        lambda e: bool(
            (e.event_type == incident["event_type"]).all()
            and (e.device_id.map(os_of) == incident["os"]).all()
        ),
        include_groups=False,
    )
    gone = set(before.viewer_id) - set(after.viewer_id)
    assert gone == set(only_views[only_views].index)
    assert before.viewer_id.nunique() - after.viewer_id.nunique() == len(gone) > 0


def test_streaming_incident_cuts_only_the_patched_streams_at_the_credits(monkeypatch):
    gen = _generator("streaming")
    incident = dict(gen.INCIDENT)

    def sessions(tables):
        raw = tables["viewing_events"].to_pandas()
        quality = tables["quality_events"].to_pandas()
        duration = (
            tables["content_changes"]
            .to_pandas()
            .drop_duplicates("content_id")
            .set_index("content_id")
            .duration_seconds
        )
        s = raw.groupby("session_id").agg(
            furthest=("position_seconds", "max"),
            content_id=("content_id", "first"),
            device_id=("device_id", "first"),
        )
        s["length"] = s.content_id.map(duration)
        s["share"] = np.minimum(s.furthest, s.length) / s.length
        s["version"] = quality.groupby("session_id").app_version.first().astype(str)
        return s

    patched_tables = gen.generate(ROWS, SEED)
    monkeypatch.setitem(gen.INCIDENT, "released_at", "2030-01-01T00:00:00")
    monkeypatch.setitem(gen.INCIDENT, "rolled_back_at", "2030-01-02T00:00:00")
    plain_tables = gen.generate(ROWS, SEED)
    a, b = sessions(patched_tables), sessions(plain_tables)
    assert a.index.equals(b.index)
    devices = patched_tables["devices"].to_pandas().set_index("device_id").device_type
    on_patch = a.version == incident["app_version"]
    assert on_patch.sum() > 0 and (b.version != incident["app_version"]).all()
    # only TVs (a device missing from the registry extract has no type there)
    kinds = a.device_id[on_patch].map(devices)
    assert (
        kinds.dropna() == incident["device_type"]
    ).all() and kinds.notna().mean() > 0.9
    # streams not on the patch got exactly as far as without the incident
    pd.testing.assert_series_equal(a.share[~on_patch], b.share[~on_patch])
    # on the patch: a stream stops where the credits begin, or earlier if it stopped anyway
    lo, hi = incident["credits_start"]
    cut = a.share[on_patch] < b.share[on_patch]
    assert (a.share[on_patch] < hi).all() and (
        a.share[on_patch][cut] >= lo - 0.001
    ).all()
    assert (a.share[on_patch] <= b.share[on_patch]).all()
    # so every patched stream that would have completed did not, and no other stream changed
    would = b.share[on_patch] >= gen.COMPLETION_THRESHOLD
    assert (
        would.sum() > 0 and (a.share[on_patch][would] < gen.COMPLETION_THRESHOLD).all()
    )


def _rideshare_without_the_incident(monkeypatch):
    gen = _generator("rideshare")
    incident = gen.PLANTED["incident"]
    monkeypatch.setitem(gen.PLANTED, "incident", {**incident, "city_id": -99})
    return incident


def test_rideshare_incident_moves_only_landing_dates_of_one_city_and_day(monkeypatch):
    gen = _generator("rideshare")
    with_it = gen.generate(ROWS, SEED)
    incident = _rideshare_without_the_incident(monkeypatch)
    without = gen.generate(ROWS, SEED)
    for source in gen.SOURCES:  # every other source, and every other column, as it was
        if source != incident["source"]:
            assert with_it[source].equals(without[source]), source
    a = with_it[incident["source"]].to_pandas()
    b = without[incident["source"]].to_pandas()
    same = [c for c in a.columns if c != "landing_date"]
    pd.testing.assert_frame_equal(a[same], b[same])
    # the city of a trip: its dropoff zone (the pickup zone may be missing or unknown)
    quotes = with_it["trip_quotes"].to_pandas().set_index("trip_id")
    city = a.trip_id.map(quotes.dropoff_zone_id // 100)
    day = a.trip_id.map(quotes.quoted_at.dt.normalize())
    hit = (city == incident["city_id"]) & (day == pd.Timestamp(incident["day"]))
    landed_a, landed_b = pd.to_datetime(a.landing_date), pd.to_datetime(b.landing_date)
    moved = landed_a != landed_b
    assert moved.sum() > 100 and not (moved & ~hit).any()
    # every record of those trips lands in the stalled partition, or later if it was late
    stalled = pd.Timestamp(incident["landing_date"])
    assert (landed_a[hit] == landed_b[hit].clip(lower=stalled)).all()
    # two days after the trips' day: within the default lookback, so nothing is refused
    from datamodeling import pipeline

    late_days = (stalled - pd.Timestamp(incident["day"])).days
    assert 1 < late_days <= pipeline.DEFAULT_LOOKBACK_DAYS


def test_rideshare_incident_changes_no_table_of_the_warehouse(
    warehouses, monkeypatch, tmp_path
):
    """Built without the incident, every dimension, fact and mart holds the same rows as the
    book's warehouse (EXCEPT ALL, both ways). The quarantine differs only in the landing date
    of duplicate deliveries of the incident's trips."""
    import duckdb

    from datamodeling.rideshare import schema
    from datamodeling.warehouse import build_database

    con = warehouses("rideshare")
    incident = _rideshare_without_the_incident(monkeypatch)
    path = tmp_path / "without.duckdb"
    build_database("rideshare", path, scale=ROWS, seed=SEED, preflight_checks=False)
    other = duckdb.connect(str(path), read_only=True)
    try:
        for decl in schema.TABLES:
            book = con.table(decl.name, database=decl.database).to_pyarrow()
            other.register("book", book)
            ours = f"(SELECT {', '.join(book.column_names)} FROM {decl.qualified_name})"
            for left, right in ((ours, "book"), ("book", ours)):
                differ = other.sql(
                    f"SELECT * FROM {left} EXCEPT ALL SELECT * FROM {right}"
                ).to_df()
                if decl.name != "quarantine":
                    assert differ.empty, (decl.qualified_name, differ)
                    continue
                # the same rows but for the landing date of the incident's trips' records
                assert len(differ) > 0
                assert (differ.source == incident["source"]).all()
                assert (differ.event_date.astype(str) == incident["day"]).all()
            other.unregister("book")
        plain = [c for c in schema.QUARANTINE.column_names if c != "landing_date"]
        book = con.table("quarantine").to_pyarrow().select(plain)
        other.register("book", book)
        ours = f"(SELECT {', '.join(plain)} FROM quarantine)"
        for left, right in ((ours, "book"), ("book", ours)):
            extra = other.sql(f"SELECT * FROM {left} EXCEPT ALL SELECT * FROM {right}")
            assert len(extra.to_df()) == 0
    finally:
        other.close()


# --------------------------------------------------------------------------------------------
# The checker fails wrong answers, each with its reason
# --------------------------------------------------------------------------------------------
def _check(practice, con, **answer):
    inv = investigation(practice)
    full = {
        "segment": inv.segment,
        "cause": inv.cause,
        "sql": inv.reference_sql,
        **answer,
    }
    return check_investigation(inv, con=con, **full)


@pytest.mark.parametrize("practice", PRACTICES)
def test_every_wrong_option_fails_with_what_rules_it_out(warehouses, practice):
    con = warehouses(practice)
    inv = investigation(practice)
    for option in inv.options:
        report = _check(practice, con, cause=option.key)
        if option.key == inv.cause:
            assert report.passed
            continue
        assert report.failed() == ["cause"]
        assert option.verdict in report.result("cause").problems[0]
    assert _check(practice, con, cause=inv.cause.lower() + ".").passed  # "c." is C
    assert (
        "not an option" in _check(practice, con, cause="Z").result("cause").problems[0]
    )


@pytest.mark.parametrize("practice", PRACTICES)
def test_a_wrong_or_partial_segment_fails(warehouses, practice):
    con = warehouses(practice)
    inv = investigation(practice)
    values = list(inv.segment.values())
    wrong = {
        "ecommerce": ["Boston Downtown"],
        "social": ["iOS", "view"],
        "streaming": ["tv", "5.3.0"],
        "rideshare": ["Easton"],
    }
    report = _check(practice, con, segment=wrong[practice])
    assert report.failed() == ["segment"]
    if len(values) > 1:  # half of it: the drop is narrower
        report = _check(practice, con, segment=values[:1])
        assert "narrower" in " ".join(report.result("segment").problems)
    # spelling and keys are free: values compared without case, aliases accepted
    relaxed = {
        f"k{i}": (inv.aliases.get(v) or (v.upper(),))[0] for i, v in enumerate(values)
    }
    assert _check(practice, con, segment=relaxed).passed


def _reference_without(inv, con) -> pd.DataFrame:
    return con.sql(inv.reference_sql).to_pandas()


@pytest.mark.parametrize("practice", PRACTICES)
def test_the_query_fails_on_a_day_without_the_incident(warehouses, practice):
    con = warehouses(practice)
    inv = investigation(practice)
    other = date.fromisoformat(inv.day) - timedelta(weeks=6)
    report = _check(practice, con, sql=_on_day(inv.reference_sql, inv, other))
    assert report.failed() == ["query"]
    # the streaming patch did not exist six weeks before: no row is the segment at all
    expected = {
        "streaming": "no row of the result is the segment",
    }.get(practice, "not a drop beyond sampling error")
    assert expected in report.result("query").problems[0]


@pytest.mark.parametrize("practice", PRACTICES)
def test_the_query_fails_without_other_rows_or_without_the_segment(
    warehouses, practice
):
    con = warehouses(practice)
    inv = investigation(practice)
    rows = _reference_without(inv, con)
    text = (
        rows.select_dtypes(exclude="number").astype(str).apply(lambda s: s.str.lower())
    )
    inside = pd.Series(True, index=rows.index)
    for value in inv.segment.values():
        inside &= text.isin([value.lower()]).any(axis=1)
    only = _check(practice, con, sql=rows[inside])
    assert "no other segment" in " ".join(only.result("query").problems)
    without = _check(practice, con, sql=rows[~inside])
    assert "no row of the result is the segment" in " ".join(
        without.result("query").problems
    )


def test_a_segment_without_a_baseline_is_told_to_compare_with_what_existed(warehouses):
    """Streaming: a baseline per device type *and version* has none for the new version."""
    con = warehouses("streaming")
    inv = investigation("streaming")
    sql = inv.reference_sql.replace(
        "SELECT device_type, AVG(completed) AS rate",
        "SELECT device_type, app_version, AVG(completed) AS rate",
    ).replace("GROUP BY device_type\n)", "GROUP BY device_type, app_version\n)")
    sql = sql.replace(
        "JOIN usual USING (device_type)",
        "LEFT JOIN usual USING (device_type, app_version)",
    )
    assert sql != inv.reference_sql
    report = _check("streaming", con, sql=sql)
    assert report.failed() == ["query"]
    assert "have no `expected`" in report.result("query").problems[0]


@pytest.mark.parametrize("practice", PRACTICES)
def test_the_query_fails_when_the_comparison_is_not_like_for_like(warehouses, practice):
    """A quarter of every baseline: the other rows now move far beyond sampling error."""
    con = warehouses(practice)
    inv = investigation(practice)
    rows = _reference_without(inv, con)
    rows["expected"] = rows.expected.astype(float) / 4
    report = _check(practice, con, sql=rows)
    problems = " ".join(report.result("query").problems)
    assert report.failed() == ["query"] and "beyond sampling error" in problems


@pytest.mark.parametrize(
    "sql, reason",
    [
        ("SELECT 1 AS value; SELECT 2 AS value", "one query"),
        ("INSERT INTO dim_store SELECT * FROM dim_store", "write a query"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not files"),
        ("SELECT * FROM '/etc/passwd.csv'", "not files"),
        ("SELECT 1 AS value", "needs the column"),
        ("SELECT nope FROM nowhere", "does not run"),
    ],
)
def test_a_query_that_is_not_one_read_only_query_on_the_warehouse_is_refused(
    warehouses, sql, reason
):
    report = _check("social", warehouses("social"), sql=sql)
    assert report.failed() == ["query"]
    assert reason in report.result("query").problems[0]


ALTERNATIVES = {
    # by store id, name and type: more label columns, the web shop is still one row
    "ecommerce": """
        SELECT s.store_id, s.store_name, s.store_type,
               AVG(CASE WHEN l.loaded_at < d.calendar_date + INTERVAL 31 HOUR THEN 1.0 ELSE 0.0 END)
                   FILTER (WHERE d.calendar_date = DATE '{day}') AS value,
               AVG(CASE WHEN l.loaded_at < d.calendar_date + INTERVAL 31 HOUR THEN 1.0 ELSE 0.0 END)
                   FILTER (WHERE d.calendar_date <> DATE '{day}') AS expected,
               COUNT(*) FILTER (WHERE d.calendar_date = DATE '{day}') AS n
        FROM fact_order_line AS l
        JOIN dim_date AS d USING (date_key)
        JOIN dim_store AS s USING (store_id)
        WHERE d.calendar_date IN (DATE '{day}', DATE '{day}' - 7, DATE '{day}' - 14,
                                  DATE '{day}' - 21, DATE '{day}' - 28)
        GROUP BY ALL
    """,
    # finer: platform, event type and device type; the segment is two rows (phone, tablet)
    "social": """
        WITH per_day AS (
            SELECT dv.os, dv.device_type, e.event_type, e.event_date,
                   COUNT(DISTINCT e.viewer_id) AS users
            FROM fact_content_event AS e JOIN dim_device AS dv USING (device_id)
            WHERE e.event_date IN (DATE '{day}', DATE '{day}' - 7, DATE '{day}' - 14,
                                   DATE '{day}' - 21, DATE '{day}' - 28)
            GROUP BY ALL
        )
        SELECT os, device_type, event_type,
               COALESCE(SUM(users) FILTER (WHERE event_date = DATE '{day}'), 0) AS value,
               COALESCE(SUM(users) FILTER (WHERE event_date < DATE '{day}'), 0) / 4.0
                   AS expected
        FROM per_day GROUP BY ALL
    """,
    # finer: device type, OS and version; the baseline per device type and OS
    "streaming": """
        WITH s AS (
            SELECT dv.device_type, dv.os, p.app_version, CAST(p.started_at AS DATE) AS day,
                   CASE WHEN p.is_completed THEN 1.0 ELSE 0.0 END AS done
            FROM fact_playback_session AS p JOIN dim_device AS dv USING (device_id)
            WHERE CAST(p.started_at AS DATE) IN (DATE '{day}', DATE '{day}' - 7,
                  DATE '{day}' - 14, DATE '{day}' - 21, DATE '{day}' - 28)
        ),
        base AS (SELECT device_type, os, AVG(done) AS rate FROM s
                 WHERE day < DATE '{day}' GROUP BY ALL)
        SELECT s.device_type, s.os, s.app_version, AVG(done) AS value,
               ANY_VALUE(base.rate) AS expected, COUNT(*) AS n
        FROM s JOIN base USING (device_type, os)
        WHERE day = DATE '{day}'
        GROUP BY ALL
    """,
    # finer: city and pickup zone, a trip completed when its completion record exists; the
    # segment is Northport's zones (one row each)
    "rideshare": """
        WITH done AS (
            SELECT trip_id, MIN(landing_date) AS landed
            FROM raw.trip_events WHERE event_type = 'completed' GROUP BY trip_id
        )
        SELECT z.city_name, z.zone_name,
               COUNT(*) FILTER (WHERE done.landed <= DATE '{day}') AS value,
               COUNT(*) AS expected
        FROM fact_trip AS t
        JOIN dim_zone AS z ON z.zone_id = t.pickup_zone_id
        JOIN done USING (trip_id)
        WHERE CAST(t.requested_at AS DATE) = DATE '{day}'
        GROUP BY ALL
    """,
}


@pytest.mark.parametrize("practice", PRACTICES)
def test_another_correct_query_passes(warehouses, practice):
    con = warehouses(practice)
    inv = investigation(practice)
    sql = ALTERNATIVES[practice].format(day=inv.day)
    report = _check(practice, con, sql=sql)
    assert report.passed, report
    assert (report.rows["in segment"] == "yes").sum() >= 1


@pytest.mark.parametrize("practice", PRACTICES)
def test_the_checker_finds_no_drop_on_days_without_one(warehouses, practice):
    """Calibration: the reference query moved to ordinary days never passes (no drop there),
    and its rows stay within sampling error on nearly every day (the dispersion is right)."""
    con = warehouses(practice)
    inv = investigation(practice)
    day = date.fromisoformat(inv.day)
    first, last, step = {
        "ecommerce": (date(2024, 2, 1), date(2025, 12, 31), 7),
        "social": (date(2026, 1, 29), date(2026, 6, 30), 2),
        "streaming": (date(2025, 1, 29), date(2025, 3, 31), 1),
        "rideshare": (date(2025, 1, 8), date(2025, 6, 28), 3),
    }[practice]
    days = [first + timedelta(days=k) for k in range(0, (last - first).days + 1, step)]
    # leave out the alarm day and the days whose baseline holds it
    days = [d for d in days if (d - day).days not in (0, 7, 14, 21, 28)]
    assert len(days) >= 50
    loud = 0
    for d in days:
        report = _check(practice, con, sql=_on_day(inv.reference_sql, inv, d))
        assert not report.passed, d
        loud += "move beyond sampling error" in " ".join(
            report.result("query").problems
        )
    assert loud <= max(1, len(days) // 20), loud  # at most about one day in twenty


# --------------------------------------------------------------------------------------------
# The report, the declarations, the notebook
# --------------------------------------------------------------------------------------------
def test_not_answered_is_neither_right_nor_wrong():
    inv = investigation("social")
    report = check_investigation(inv)
    assert not report.passed and not report.answered and "not answered" in str(report)
    assert "not answered" in report._repr_html_()


def test_report_lists_each_part_with_its_problems(warehouses):
    inv = investigation("ecommerce")
    report = check_investigation(
        inv,
        segment={"store": "Chicago Loop"},
        cause="C",
        sql="SELECT 1 AS x",
        con=warehouses("ecommerce"),
    )
    text = str(report)
    assert "0/3" in text and text.count("❌") == 3
    html = report._repr_html_()
    assert html.count("✗") == 3 and "investigation-report" in html


def test_an_investigation_walks_the_diagnosis_order():
    inv = investigation("social")
    with pytest.raises(ValueError, match="diagnosis order"):
        dataclasses.replace(inv, steps=tuple(reversed(inv.steps)))
    with pytest.raises(ValueError, match="diagnosis order"):
        dataclasses.replace(inv, steps=tuple(s for s in inv.steps if s.phase != "data"))
    with pytest.raises(ValueError, match="one of them"):
        dataclasses.replace(inv, options=(Option("A", "x", "y"),), cause="B")
    with pytest.raises(ValueError, match="phase"):
        Step("later", "q", "SELECT 1", "r")


@pytest.mark.parametrize("practice", PRACTICES)
def test_notebook_holds_the_investigation(practice):
    path = project_root() / "notebooks" / practice / "06_mock_interview.ipynb"
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    inv = investigation(practice)
    exercise = sources.index(investigation_exercise(inv))
    answer = sources[exercise + 1]
    assert "my_segment = None" in answer and "check_investigation(inv" in answer
    start = sources.index(
        f"```{{solution-start}} {practice}-investigation\n:class: dropdown\n```"
    )
    end = next(
        i
        for i in range(start, len(sources))
        if sources[i].startswith("```{solution-end}")
    )
    assert exercise < start < end
    steps = [i for i, s in enumerate(sources) if s.startswith("show_step(")]
    assert [sources[i] for i in steps] == [
        f"show_step({k})" for k in range(len(inv.steps))
    ]
    assert all(start < i < end for i in steps)
    checked = [i for i, s in enumerate(sources) if "assert verdict.passed" in s]
    assert len(checked) == 1 and start < checked[0] < end
    # the glue call may be wrapped over several lines by the formatter
    assert any(re.search(rf'glue\(\s*"{practice}_alarm_change"', s) for s in sources)
    assert any(f"{{glue:text}}`{practice}_alarm_change`" in s for s in sources)
