"""The streaming practice: metrics equal their hand-written SQL, the build equals a plain-pandas
reconstruction of the raw log, planted truths come back within sampling error, dirt is
quarantined with a reason and nothing is dropped silently, the book's conventions hold, and two
builds with one seed are identical bit for bit. The hand-made boundary cases are in
test_streaming_fixtures.py.
"""

from __future__ import annotations

import importlib
import math
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from datamodeling import warehouse
from datamodeling.exercises import WrongAnswer, check
from datamodeling.quality import check_model
from datamodeling.streaming import PRACTICE, build
from datamodeling.streaming import generate as gen
from datamodeling.streaming.metrics import EXERCISES, METRICS
from datamodeling.streaming.schema import TABLES

TINY = 3_000
PLANTED_ROWS = 60_000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("streaming") / "streaming.duckdb"
    con = warehouse.connect(path)
    report = build(con, scale=TINY, seed=7)
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def con(built):
    return built[0]


@pytest.fixture(scope="module")
def big():
    """A larger warehouse for planted truths (tolerances are derived from its sample sizes)."""
    c = warehouse.connect()
    build(c, scale=PLANTED_ROWS, seed=11)
    yield c
    c.disconnect()


def sql(con, query: str) -> pd.DataFrame:
    return con.raw_sql(query).df()


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame, keys, rtol=1e-9):
    assert sorted(left.columns) == sorted(right.columns)
    cols = sorted(left.columns)
    left = left[cols].sort_values(list(keys), ignore_index=True)
    right = right[cols].sort_values(list(keys), ignore_index=True)
    assert len(left) == len(right)
    for c in cols:
        a, b = left[c], right[c]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            np.testing.assert_allclose(
                a.astype(float).to_numpy(),
                b.astype(float).to_numpy(),
                rtol=rtol,
                atol=1e-9,
                err_msg=c,
            )
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), c


# ------------------------------------------------------------------------------------------
# Registry and metric names
# ------------------------------------------------------------------------------------------
def test_practice_registers_the_required_metrics():
    assert PRACTICE.name == "streaming"
    required = {
        "viewing_time",
        "completion_rate",
        "user_preferences",
        "viewing_patterns",
        "recommendation_effectiveness",
        "streaming_quality",
        "completion_by_quality",
        "content_performance",
        "genre_performance",
    }
    assert required <= set(METRICS)
    assert len(EXERCISES) >= 10
    assert all(name.startswith("streaming.") for name in EXERCISES)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_equals_its_sql(con, name):
    metric = METRICS[name]
    ibis_df = metric.to_pandas(con)
    sql_df = metric.sql_to_pandas(con)
    assert len(ibis_df) > 0
    assert_same_rows(ibis_df, sql_df, metric.order_by)


# ------------------------------------------------------------------------------------------
# The build against a plain-pandas reconstruction of the raw log
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pandas_sessions(con):
    """seconds played and furthest position per session, rebuilt from raw with pandas."""
    raw = sql(con, "SELECT * FROM raw.viewing_events")
    changes = sql(con, "SELECT content_id, duration_seconds FROM raw.content_changes")
    duration = (
        changes.drop_duplicates("content_id").set_index("content_id").duration_seconds
    )
    raw = raw.sort_values("event_id")
    dup = raw.duplicated(
        ["session_id", "action_type", "event_time", "position_seconds"]
    )
    ev = raw[~dup]
    has_play = ev.groupby("session_id").action_type.apply(lambda s: (s == "play").any())
    ev = ev[ev.session_id.map(has_play)].copy()
    ev["position"] = np.minimum(ev.position_seconds, ev.content_id.map(duration))
    ev = ev.sort_values(
        ["session_id", "event_time", "action_type", "position_seconds", "event_id"]
    )
    prev_action = ev.groupby("session_id").action_type.shift()
    prev_pos = ev.groupby("session_id").position.shift()
    ev["played"] = np.where(
        prev_action.isin(["play", "heartbeat"]), ev.position - prev_pos, 0
    )
    out = ev.groupby("session_id").agg(
        played_seconds=("played", "sum"),
        furthest_position_seconds=("position", "max"),
        events=("event_id", "size"),
    )
    return out, int(dup.sum()), int((~has_play).sum()), len(raw)


def test_sessions_equal_pandas_reconstruction(con, pandas_sessions):
    expected = pandas_sessions[0]
    got = sql(
        con,
        "SELECT session_id, played_seconds, furthest_position_seconds, event_count AS events "
        "FROM fact_playback_session",
    ).set_index("session_id")
    assert len(got) == TINY
    pd.testing.assert_frame_equal(
        got.sort_index(), expected.sort_index(), check_dtype=False, check_names=False
    )


def test_event_order_matters_and_is_event_time(con, pandas_sessions):
    """Some sessions arrive out of order; ordering by arrival (event_id) would change results."""
    out_of_order = sql(
        con,
        """
        SELECT COUNT(*) AS n FROM (
            SELECT session_id,
                   event_time < LAG(event_time) OVER (PARTITION BY session_id ORDER BY event_id)
                       AS back
            FROM fact_viewing_event) WHERE back
        """,
    ).n[0]
    assert out_of_order > 0
    by_arrival = (
        sql(
            con,
            """
        SELECT session_id, SUM(d) AS s FROM (
            SELECT session_id,
                   CASE WHEN LAG(action_type) OVER w IN ('play', 'heartbeat')
                        THEN position_seconds - LAG(position_seconds) OVER w ELSE 0 END AS d
            FROM fact_viewing_event WINDOW w AS (PARTITION BY session_id ORDER BY event_id))
        GROUP BY session_id
        """,
        )
        .set_index("session_id")
        .s
    )
    expected = pandas_sessions[0].played_seconds
    assert (by_arrival.sort_index() != expected.sort_index()).sum() > 0


def test_event_invariants(con):
    bad = sql(
        con,
        """
        SELECT
          SUM(CASE WHEN position_seconds > duration_seconds THEN 1 ELSE 0 END) AS over_end,
          SUM(CASE WHEN played_seconds < 0 THEN 1 ELSE 0 END)                 AS negative,
          SUM(CASE WHEN completion_percentage > 100 THEN 1 ELSE 0 END)        AS over_100
        FROM fact_viewing_event
        """,
    )
    assert bad.iloc[0].tolist() == [0, 0, 0]
    raw_over = sql(
        con,
        "SELECT COUNT(*) AS n FROM raw.viewing_events v JOIN dim_content c "
        "ON c.content_id = v.content_id AND c.is_current WHERE v.position_seconds > c.duration_seconds",
    ).n[0]
    assert raw_over > 0  # the planted overshoot exists and was capped


def test_hour_fact_totals_equal_event_totals(con):
    """fact_playback_hour redistributes the events' seconds, never adds or loses one; the daily
    mart is its sum by UTC day."""
    by_session = sql(
        con,
        """
        SELECT e.session_id, e.s AS events, h.s AS hours
        FROM (SELECT session_id, SUM(played_seconds) AS s FROM fact_viewing_event GROUP BY 1) e
        FULL JOIN (SELECT session_id, SUM(played_seconds) AS s FROM fact_playback_hour
                   GROUP BY 1) h USING (session_id)
        WHERE e.s > 0 OR h.s > 0
        """,
    )
    assert (by_session.events == by_session.hours).all() and len(by_session) > 0
    daily = sql(
        con,
        "SELECT date_key, user_id AS user_key, content_sk AS content_key, device_id AS device_key,"
        " SUM(played_seconds) AS played_seconds, COUNT(DISTINCT session_id) AS session_count "
        "FROM fact_playback_hour GROUP BY ALL",
    )
    mart = sql(
        con,
        "SELECT date_key, user_key, content_key, device_key, played_seconds, session_count "
        "FROM mart.viewing_daily",
    )
    assert_same_rows(mart, daily, ["date_key", "user_key", "content_key", "device_key"])
    totals = sql(
        con,
        "SELECT (SELECT SUM(played_seconds) FROM mart.viewing_daily) AS f, "
        "(SELECT SUM(played_seconds) FROM fact_viewing_event) AS e, "
        "(SELECT SUM(played_seconds) FROM fact_playback_session) AS s",
    ).iloc[0]
    assert totals.f == totals.e == totals.s > 0


def test_hours_equal_a_pandas_zoneinfo_split(con):
    """An independent split of every stretch, in pandas with zoneinfo: cut at the next UTC hour or
    the next local hour, whichever comes first (a stretch here lasts under half an hour, so it is
    cut at most once), seconds in proportion to the wall clock, floored."""
    ev = sql(
        con,
        "SELECT e.session_id, e.event_time, e.action_type, e.position_seconds, e.event_id, "
        "e.played_seconds, u.time_zone FROM fact_viewing_event e "
        "JOIN fact_playback_session s USING (session_id) JOIN dim_user u ON u.user_id = s.user_id",
    )
    ev = ev.sort_values(
        ["session_id", "event_time", "action_type", "position_seconds", "event_id"]
    )
    ev["t0"] = ev.groupby("session_id").event_time.shift()
    st = ev[ev.played_seconds > 0].copy()
    wall = (st.event_time - st.t0).dt.total_seconds()
    assert wall.max() < 1800
    parts = []
    for zone, g in st.groupby("time_zone"):
        t0 = g.t0.dt.tz_localize("UTC")
        local0 = t0.dt.tz_convert(zone)
        next_local = (local0.dt.floor("h") + pd.Timedelta(hours=1)).dt.tz_convert("UTC")
        next_utc = t0.dt.floor("h") + pd.Timedelta(hours=1)
        cut = next_local.where(next_local < next_utc, next_utc).dt.tz_localize(None)
        cut = cut.where(cut < g.event_time)
        wall_us = (g.event_time - g.t0) // pd.Timedelta(microseconds=1)
        before_us = (cut - g.t0) // pd.Timedelta(microseconds=1)
        first = (
            g.played_seconds * before_us.fillna(wall_us).astype("int64")
        ) // wall_us
        for start, seconds in ((g.t0, first), (cut, g.played_seconds - first)):
            piece = pd.DataFrame(
                {"session_id": g.session_id, "start": start, "s": seconds}
            )
            piece = piece[piece.start.notna()]
            local = piece.start.dt.tz_localize("UTC").dt.tz_convert(zone)
            piece["date_key"] = piece.start.dt.strftime("%Y%m%d").astype(int)
            piece["hour"] = piece.start.dt.hour
            piece["local_date_key"] = local.dt.strftime("%Y%m%d").astype(int)
            piece["local_hour"] = local.dt.hour
            parts.append(piece)
    keys = ["session_id", "date_key", "hour", "local_date_key", "local_hour"]
    expected = pd.concat(parts).groupby(keys).s.sum()
    expected = expected[expected > 0]
    got = sql(con, f"SELECT {', '.join(keys)}, played_seconds FROM fact_playback_hour")
    got = got.set_index(keys).played_seconds.sort_index()
    pd.testing.assert_series_equal(
        got,
        expected.sort_index(),
        check_names=False,
        check_index_type=False,
        check_dtype=False,
    )
    assert (
        got.index.get_level_values("date_key")
        != got.index.get_level_values("local_date_key")
    ).any()


def test_marts_equal_their_sql(con):
    """The marts against hand-written SQL over the facts, and no session lost on the way."""
    quality = sql(
        con,
        """
        SELECT s.date_key, d.device_type, d.os, s.app_version,
               COUNT(*) AS sessions,
               SUM(s.played_seconds) AS played_seconds,
               SUM(s.rebuffer_ms) AS rebuffer_ms
        FROM fact_playback_session s JOIN dim_device d ON d.device_id = s.device_id
        GROUP BY ALL
        """,
    )
    got = sql(con, "SELECT * FROM mart.quality_daily")
    assert_same_rows(got, quality, ["date_key", "device_type", "os", "app_version"])
    content = sql(
        con,
        """
        SELECT date_key, content_id, COUNT(*) AS sessions, COUNT(DISTINCT user_id) AS viewers,
               SUM(played_seconds) AS played_seconds,
               SUM(CASE WHEN is_completed THEN 1 ELSE 0 END) AS completions
        FROM fact_playback_session GROUP BY ALL
        """,
    )
    got = sql(con, "SELECT * FROM mart.content_daily")
    assert_same_rows(got, content, ["date_key", "content_id"])
    n = sql(con, "SELECT COUNT(*) AS n FROM fact_playback_session").n[0]
    assert sql(con, "SELECT SUM(sessions) AS n FROM mart.quality_daily").n[0] == n > 0
    assert sql(con, "SELECT SUM(sessions) AS n FROM mart.content_daily").n[0] == n


def test_content_is_scd2_with_retags_and_withdrawals(con):
    dim = sql(
        con,
        "SELECT content_id, COUNT(*) AS n, SUM(CASE WHEN is_deleted THEN 1 ELSE 0 END) AS deleted "
        "FROM dim_content WHERE NOT is_inferred AND content_id >= 0 GROUP BY 1",
    ).set_index("content_id")
    changes = sql(
        con,
        "SELECT content_id, title, genre_id, genre_list, changed_at, is_deleted "
        "FROM raw.content_changes ORDER BY content_id, changed_at, change_seq",
    )
    # a new version whenever (title, genres, deleted) differs from the previous record: pandas
    tracked = ["title", "genre_id", "genre_list", "is_deleted"]
    prev = changes.groupby("content_id")[tracked].shift()
    new = prev.title.isna() | (prev[tracked] != changes[tracked]).any(axis=1)
    expected = changes[new].groupby("content_id").size()
    pd.testing.assert_series_equal(
        dim.n.sort_index(), expected.sort_index(), check_names=False
    )
    assert (dim.n > 1).any()
    assert len(changes) > int(expected.sum())  # no-op records created no version
    # every withdrawal record ends in a deleted, current version
    withdrawn = set(changes[changes.is_deleted].content_id)
    assert set(dim[dim.deleted == 1].index) == withdrawn and withdrawn
    # each no-op record is quarantined with its reason; none arrive at the same instant here
    assert not changes.duplicated(["content_id", "changed_at"]).any()
    q = sql(
        con,
        "SELECT reason, COUNT(*) AS n FROM quarantine WHERE source = 'content_changes' GROUP BY 1",
    ).set_index("reason")
    assert q.n.to_dict() == {"unchanged": int((~new).sum())}


def test_facts_after_a_withdrawal_join_the_deleted_version(con):
    """Plays of downloaded copies after a title left the catalogue resolve to its deleted
    version, which the dimension keeps, so every one of them still joins."""
    after = sql(
        con,
        """
        SELECT COUNT(*) AS n, COUNT(c.content_sk) AS joined,
               SUM(CASE WHEN c.is_deleted THEN 1 ELSE 0 END) AS deleted
        FROM fact_viewing_event e
        JOIN (SELECT content_id, valid_from AS withdrawn_at FROM dim_content WHERE is_deleted) w
          ON w.content_id = e.content_id AND e.event_time >= w.withdrawn_at
        LEFT JOIN dim_content c ON c.content_sk = e.content_sk
        """,
    ).iloc[0]
    assert after.n == after.joined == after.deleted > 0


def test_brief_tables_are_views_with_the_brief_columns(con):
    """Every table of the brief's schema is a view with the brief's columns, so a query written
    against the brief runs verbatim."""
    from datamodeling.streaming.schema import SEED_TABLES

    views = set(
        sql(
            con,
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'",
        ).table_name
    )
    for seed_table in SEED_TABLES:
        assert seed_table.name in views, seed_table.name
        missing = set(seed_table.column_names) - set(con.table(seed_table.name).columns)
        assert not missing, (seed_table.name, missing)
    # the brief's summarising query, written with its own names
    brief = sql(
        con,
        """
        SELECT e.date_key, e.user_id, SUM(e.viewing_duration) AS seconds
        FROM viewing_event e
        JOIN "user" u ON u.user_id = e.user_id
        JOIN content c ON c.content_id = e.content_id AND c.is_current
        JOIN "date" d ON d.date_key = e.date_key
        GROUP BY e.date_key, e.user_id
        """,
    )
    total = sql(con, "SELECT SUM(played_seconds) AS s FROM fact_viewing_event").s[0]
    assert brief.seconds.sum() == total > 0
    assert set(sql(con, "SELECT DISTINCT time_key FROM viewing_fact").time_key) == {-2}


def test_check_model_passes_with_the_conventions(con):
    report = check_model(con, TABLES)
    assert report.passed, str(report)
    names = " | ".join(r.name for r in report)
    assert "dim_content: Unknown and Not applicable members" in names
    assert "fact_viewing_event: no foreign key is NULL" in names
    assert len(report) > 80


def test_inferred_devices_are_the_devices_missing_from_the_registry(con):
    """Every device the logs name and the registry extract lacks gets an inferred member (pandas
    count from raw), and every event on such a device is loaded."""
    logs = sql(
        con,
        "SELECT device_id FROM raw.viewing_events UNION SELECT device_id FROM raw.quality_events",
    )
    registry = set(sql(con, "SELECT device_id FROM raw.devices").device_id)
    missing = set(logs.device_id) - registry
    inferred = sql(
        con, "SELECT device_id, device_type FROM dim_device WHERE is_inferred"
    )
    assert set(inferred.device_id) == missing and missing
    assert set(inferred.device_type) == {"Unknown"}
    raw_events = sql(
        con,
        "SELECT COUNT(*) AS n FROM raw.viewing_events v WHERE device_id IN "
        "(SELECT device_id FROM dim_device WHERE is_inferred) AND NOT EXISTS "
        "(SELECT 1 FROM quarantine q WHERE q.source = 'viewing_events' "
        "AND q.record_id = v.event_id)",
    ).n[0]
    loaded = sql(
        con,
        "SELECT COUNT(*) AS n FROM fact_viewing_event WHERE device_id IN "
        "(SELECT device_id FROM dim_device WHERE is_inferred)",
    ).n[0]
    assert loaded == raw_events > 0


def test_durations_are_integers_and_no_float_is_stored_for_a_sum():
    from datamodeling.streaming import schema

    for t in schema.TABLES:
        for c in t.columns:
            if c.name.endswith(("_seconds", "_ms")):
                assert c.ibis_type.is_integer(), (t.name, c.name)
            assert not c.name.endswith("_duration"), (t.name, c.name)
        if t.role == "aggregate":  # sums are exact: the only float in a mart is a share
            floats = {c.name for c in t.columns if c.ibis_type.is_floating()}
            assert floats <= {"completion_percentage"}, (t.name, floats)


# ------------------------------------------------------------------------------------------
# Quarantine and reconciliation
# ------------------------------------------------------------------------------------------
def test_reconciliation(con, built):
    report = built[1]
    assert report.reconciles()
    for source, counts in report.sources.items():
        raw_rows = sql(con, f"SELECT COUNT(*) AS n FROM raw.{source}").n[0]
        assert counts["rows_in"] == raw_rows, source
    q = (
        sql(con, "SELECT source, COUNT(*) AS n FROM quarantine GROUP BY 1")
        .set_index("source")
        .n
    )
    sources = (
        "content_changes",
        "viewing_events",
        "quality_events",
        "recommendation_events",
    )
    for source in sources:
        counts = report.sources[source]
        assert counts["quarantined"] == q.get(source, 0) > 0
    from_extract = "WHERE NOT is_inferred AND {key} >= 0"
    loaded = {
        "users": "SELECT COUNT(*) n FROM dim_user "
        + from_extract.format(key="user_id"),
        "devices": "SELECT COUNT(*) n FROM dim_device "
        + from_extract.format(key="device_id"),
        "genres": "SELECT COUNT(*) n FROM dim_genre WHERE genre_id >= 0",
        "creators": "SELECT COUNT(*) n FROM dim_creator WHERE creator_id >= 0",
        "content_changes": "SELECT COUNT(*) n FROM dim_content "
        + from_extract.format(key="content_id"),
        "viewing_events": "SELECT COUNT(*) n FROM fact_viewing_event",
        "quality_events": "SELECT COUNT(*) n FROM fact_quality_event",
        "recommendation_events": "SELECT COUNT(*) n FROM fact_recommendation_event",
    }
    for source, query in loaded.items():
        assert report.sources[source]["loaded"] == sql(con, query).n[0], source


def test_reconciliation_fails_when_a_content_version_is_lost(monkeypatch):
    """Loaded change records are counted from the dimension, not assumed: drop a version and the
    report no longer reconciles."""
    build_module = importlib.import_module("datamodeling.streaming.build")
    whole = build_module.content_versions

    def one_version_lost(changes):
        dim = whole(changes)
        first = dim.content_sk.min()
        return dim.filter(dim.content_sk != first)

    monkeypatch.setattr(build_module, "content_versions", one_version_lost)
    other = warehouse.connect()
    report = build(other, scale=TINY, seed=7)
    other.disconnect()
    counts = report.sources["content_changes"]
    assert counts["rows_in"] == counts["loaded"] + counts["quarantined"] + 1
    assert not report.reconciles()


def test_quarantine_reasons_match_an_independent_count(con, pandas_sessions):
    _, duplicates, orphan_sessions, _ = pandas_sessions
    q = sql(
        con,
        "SELECT reason, COUNT(*) AS n, COUNT(DISTINCT session_id) AS sessions FROM quarantine "
        "WHERE source = 'viewing_events' GROUP BY 1",
    ).set_index("reason")
    assert set(q.index) == {"duplicate_event", "session_without_play"}
    assert q.loc["duplicate_event", "n"] == duplicates > 0
    assert q.loc["session_without_play", "sessions"] == orphan_sessions
    # the sessions without a play are the stop-only sessions of the raw log
    actions = sql(con, "SELECT session_id, action_type FROM raw.viewing_events")
    stop_only = (actions.action_type == "stop").groupby(actions.session_id).all()
    assert orphan_sessions == int(stop_only.sum()) > 0
    neg = sql(
        con, "SELECT COUNT(*) AS n FROM raw.quality_events WHERE duration_ms < 0"
    ).n[0]
    qn = sql(
        con, "SELECT COUNT(*) AS n FROM quarantine WHERE reason = 'negative_duration'"
    ).n[0]
    assert qn == neg > 0
    raw_r = sql(con, "SELECT * FROM raw.recommendation_events")
    dupes = raw_r.sort_values("rec_event_id").duplicated(
        ["user_id", "content_id", "algorithm", "shown_at"]
    )
    qr = sql(
        con,
        "SELECT COUNT(*) AS n FROM quarantine WHERE reason = 'duplicate_impression'",
    )
    assert qr.n[0] == dupes.sum() > 0


# ------------------------------------------------------------------------------------------
# Determinism
# ------------------------------------------------------------------------------------------
def test_same_seed_same_tables():
    a, b, c = gen.generate(1_500, 5), gen.generate(1_500, 5), gen.generate(1_500, 6)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["viewing_events"].equals(c["viewing_events"])


def test_two_builds_with_one_seed_are_identical_bit_for_bit(tmp_path):
    """Two builds of seed 7, one on one thread and one on four, into two files: every table of
    every schema holds the same rows, compared with EXCEPT ALL both ways (floats bit for bit).
    The build's DuckDB settings are lifted afterwards."""
    paths = [tmp_path / "one.duckdb", tmp_path / "four.duckdb"]
    names = ("memory_limit", "preserve_insertion_order", "enable_progress_bar")
    for path, threads in zip(paths, (1, 4), strict=True):
        c = warehouse.connect(path)
        c.raw_sql(f"SET threads = {threads}")
        c.raw_sql("SET enable_progress_bar = true")
        before = [
            c.raw_sql(f"SELECT current_setting('{n}')").fetchone()[0] for n in names
        ]
        build(c, scale=TINY, seed=7)
        after = [
            c.raw_sql(f"SELECT current_setting('{n}')").fetchone()[0] for n in names
        ]
        assert after == before
        c.disconnect()
    duck = warehouse.connect()
    duck.raw_sql(f"ATTACH '{paths[0]}' AS a (READ_ONLY)")
    duck.raw_sql(f"ATTACH '{paths[1]}' AS b (READ_ONLY)")
    tables = duck.raw_sql(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'a'"
    ).fetchall()
    assert len(tables) >= len(TABLES) + 8
    for schema_name, name in tables:
        ta, tb = f'a.{schema_name}."{name}"', f'b.{schema_name}."{name}"'
        n = duck.raw_sql(f"SELECT COUNT(*) FROM {ta}").fetchone()[0]
        assert n == duck.raw_sql(f"SELECT COUNT(*) FROM {tb}").fetchone()[0], name
        for left, right in ((ta, tb), (tb, ta)):
            extra = duck.raw_sql(
                f"SELECT COUNT(*) FROM (SELECT * FROM {left} EXCEPT ALL SELECT * FROM {right})"
            ).fetchone()[0]
            assert extra == 0, (schema_name, name)
    duck.disconnect()


def test_event_log_chunks_add_up_to_the_whole_log():
    """The build streams the player's log in chunks; together they are exactly ``generate``'s."""
    rows = gen.CHUNK_SESSIONS + 500  # two chunks of sessions, plus the orphans
    tables, chunks = gen.generate_parts(rows, 3)
    pieces = list(chunks)
    assert len(pieces) == 3
    whole = gen.generate(rows, 3)["viewing_events"]
    assert pa.concat_tables(pieces).equals(whole)
    ids = whole.column("event_id").to_numpy()
    assert (np.diff(ids) == 1).all() and ids[0] == 1
    log = whole.select(["session_id", "action_type"]).to_pandas()
    is_play = (log.action_type == "play").groupby(log.session_id)
    is_stop = (log.action_type == "stop").groupby(log.session_id)
    # every session is a played one (one per requested row) or a stop-only orphan
    assert int(is_play.any().sum()) == rows
    orphans = is_stop.all()
    assert int(orphans.sum()) == log.session_id.nunique() - rows > 0


# ------------------------------------------------------------------------------------------
# Planted truths
# ------------------------------------------------------------------------------------------
def _se(p: float, n: float) -> float:
    return math.sqrt(p * (1 - p) / n)


def test_recommendation_margin_recovered(big):
    df = METRICS["recommendation_effectiveness"].to_pandas(big).set_index("algorithm")
    p, t = df.loc["personalized"], df.loc["trending"]
    margin = p.ctr - t.ctr
    se = math.sqrt(_se(p.ctr, p.impressions) ** 2 + _se(t.ctr, t.impressions) ** 2)
    assert abs(margin - gen.PLANTED["ctr_margin"]) < 4 * se
    for algo, row in ((a, df.loc[a]) for a in gen.ALGORITHMS):
        want = gen.CTR[algo] * gen.WATCH_GIVEN_CLICK
        assert abs(row.watch_rate - want) < 4 * _se(want, row.impressions), algo
    organic = df.loc["organic"]
    lift = p.completion_rate - organic.completion_rate
    se = math.sqrt(
        _se(p.completion_rate, p.views) ** 2
        + _se(organic.completion_rate, organic.views) ** 2
    )
    assert abs(lift - gen.PERSONALIZED_COMPLETION_LIFT) < 4 * se


def test_rebuffering_lowers_completion_by_the_planted_amount(big):
    df = METRICS["completion_by_quality"].to_pandas(big).set_index("quality_band")
    none = df.loc["none"]
    stalled = df.loc[["low", "high"]]
    n_stalled = stalled.sessions.sum()
    rate_stalled = (stalled.completion_rate * stalled.sessions).sum() / n_stalled
    drop = none.completion_rate - rate_stalled
    se = math.sqrt(
        _se(none.completion_rate, none.sessions) ** 2
        + _se(rate_stalled, n_stalled) ** 2
    )
    assert abs(drop - gen.REBUFFER_COMPLETION_DROP) < 4 * se


def test_genre_affinity_per_segment_recovered(big):
    df = METRICS["user_preferences"].to_pandas(big)
    by = (
        df.groupby(["segment", "genre_name"])
        .organic_sessions.sum()
        .unstack(fill_value=0)
    )
    for segment, planted in gen.PLANTED["genre_affinity"].items():
        n = by.loc[segment].sum()
        total = sum(planted.values())
        for genre, weight in planted.items():
            p = weight / total
            share = by.loc[segment].get(genre, 0) / n
            assert abs(share - p) < 4 * _se(p, n) + 1e-9, (segment, genre, share, p)


def test_rebuffer_probability_by_device_and_bad_release(big):
    df = METRICS["streaming_quality"].to_pandas(big)
    good = df[df.app_version != gen.BAD_APP_VERSION]
    per = good.groupby("device_type")[["rebuffered_sessions", "sessions"]].sum()
    for device, p in gen.REBUFFER_PROBABILITY.items():
        n = per.loc[device, "sessions"]
        share = per.loc[device, "rebuffered_sessions"] / n
        assert abs(share - p) < 4 * _se(p, n), device
    # The bad release multiplies each device's probability by the planted factor. Per device d,
    # R_d = share_bad / share_good; by the delta method, with the planted probabilities,
    # var(log R_d) = (1 - p_bad) / (n_bad p_bad) + (1 - p_good) / (n_good p_good). The devices'
    # log R_d are pooled with inverse-variance weights: sigma = 1 / sqrt(sum of the weights)
    # (about 0.013 at PLANTED_ROWS and seed 11, so 4 sigma is about +-5 % around the factor).
    bad = df[df.app_version == gen.BAD_APP_VERSION]
    per_bad = bad.groupby("device_type")[["rebuffered_sessions", "sessions"]].sum()
    weighted, weights = 0.0, 0.0
    for device, p_good in gen.REBUFFER_PROBABILITY.items():
        p_bad = min(p_good * gen.BAD_APP_REBUFFER_FACTOR, 0.95)
        n_good, n_bad = per.loc[device, "sessions"], per_bad.loc[device, "sessions"]
        share_good = per.loc[device, "rebuffered_sessions"] / n_good
        share_bad = per_bad.loc[device, "rebuffered_sessions"] / n_bad
        var = (1 - p_bad) / (n_bad * p_bad) + (1 - p_good) / (n_good * p_good)
        weighted += math.log(share_bad / share_good) / var
        weights += 1 / var
    sigma = 1 / math.sqrt(weights)
    log_factor = weighted / weights
    assert abs(log_factor - math.log(gen.BAD_APP_REBUFFER_FACTOR)) < 4 * sigma, (
        math.exp(log_factor),
        sigma,
    )


def test_as_of_genre_differs_from_current_genre_for_retagged_titles(big):
    """Before the re-tag day, the current genre misfiles views of re-tagged titles."""
    diff = sql(
        big,
        """
        SELECT COUNT(*) AS n FROM fact_playback_session s
        JOIN dim_content v_then ON v_then.content_sk = s.content_sk
        JOIN dim_content cur  ON cur.content_id = s.content_id AND cur.is_current
        WHERE v_then.genre_id <> cur.genre_id
        """,
    ).n[0]
    # pandas oracle from the raw change log: the last record in effect at the session's start
    # (ties in time: the later arrival) against the title's last record
    changes = sql(
        big,
        "SELECT content_id, genre_id, changed_at, change_seq FROM raw.content_changes",
    ).sort_values(["changed_at", "change_seq"])
    sessions = sql(
        big, "SELECT session_id, content_id, started_at FROM fact_playback_session"
    )
    sessions["started_at"] = sessions.started_at.astype(changes.changed_at.dtype)
    then = pd.merge_asof(
        sessions.sort_values("started_at"),
        changes[["content_id", "genre_id", "changed_at"]],
        left_on="started_at",
        right_on="changed_at",
        by="content_id",
        direction="backward",
    )
    assert then.genre_id.notna().all()
    current = changes.groupby("content_id").genre_id.last()
    expected = int((then.genre_id != then.content_id.map(current)).sum())
    early = (sessions.started_at < pd.Timestamp(gen.PLANTED["retag_at"])).sum()
    assert diff == expected
    assert 0 < expected < early


def test_viewing_peaks_in_the_local_evening(big):
    """Visits start around the planted local hours; by local hour the evening peak stands out,
    by UTC hour it is smeared across time zones."""
    p = METRICS["viewing_patterns"].to_pandas(big)
    local = p.groupby("local_hour").hours_per_day.sum()
    evening = max(gen.PEAK_LOCAL_HOURS)
    assert local.loc[17:23].idxmax() in (evening, evening + 1)
    utc = sql(
        big, "SELECT hour, SUM(played_seconds) AS s FROM fact_playback_hour GROUP BY 1"
    )
    utc = utc.set_index("hour").s
    assert local.max() / local.min() > 2 * utc.max() / utc.min()


# ------------------------------------------------------------------------------------------
# Exercises
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_exercise_reference_passes_and_a_wrong_answer_fails(con, name, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    exercise = EXERCISES[name]
    reference = exercise.answer
    if isinstance(reference, set):
        assert check(name, sorted(reference), con=con)
        wrong = sorted(reference)[:-1]
    else:
        right = reference(con).to_pandas()
        assert check(name, right, con=con)
        wrong = right.copy()
        numeric = [c for c in wrong.columns if pd.api.types.is_numeric_dtype(wrong[c])]
        wrong[numeric[-1]] = wrong[numeric[-1]] * 1.5 + 1
    with pytest.raises(WrongAnswer):
        check(name, wrong, con=con)


def test_unanswered_exercise_never_raises(con, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    verdict = check("streaming.rewinds", None, con=con)
    assert verdict.correct is None


def test_cli_build_and_metrics(tmp_path, capsys):
    from datamodeling import cli

    db = tmp_path / "s.duckdb"
    assert cli.main(["build", "streaming", "--scale", "1500", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "viewing_event" in out and "quarantined" in out
    assert (
        cli.main(
            [
                "metrics",
                "streaming",
                "--db",
                str(db),
                "--name",
                "completion_by_quality",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("metric,quality_band")
    assert os.path.getsize(db) > 0
