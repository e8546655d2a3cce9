"""The streaming build on a hand-made boundary fixture (data/fixtures/streaming/README.md).

Every expected number below is worked out by hand from the fixture's CSV files, in the comment
next to it: none is read back from the code under test.
"""

from __future__ import annotations

import math

import pandas as pd
import pyarrow.csv as pacsv
import pytest

from datamodeling import warehouse
from datamodeling.quality import check_model
from datamodeling.streaming.build import build_from_raw
from datamodeling.streaming.metrics import METRICS, distinct_seconds
from datamodeling.streaming.schema import RAW_TABLES, TABLES

FIXTURES = warehouse.fixtures_dir() / "streaming"


def read_fixture(decl):
    types = {c.name: c.ibis_type.copy(nullable=True).to_pyarrow() for c in decl.columns}
    return pacsv.read_csv(
        FIXTURES / f"{decl.name}.csv",
        convert_options=pacsv.ConvertOptions(
            column_types=types, true_values=["true"], false_values=["false"]
        ),
    )


@pytest.fixture(scope="module")
def built():
    con = warehouse.connect()
    report = build_from_raw(con, {d.name: read_fixture(d) for d in RAW_TABLES})
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def con(built):
    return built[0]


def sql(con, query: str) -> pd.DataFrame:
    return con.raw_sql(query).df()


def rows(df: pd.DataFrame, columns) -> list[tuple]:
    return sorted(
        tuple(r) for r in df[list(columns)].itertuples(index=False, name=None)
    )


# ------------------------------------------------------------------------------------------
# Seconds belong to the day (and hour) they were played
# ------------------------------------------------------------------------------------------
def test_a_stretch_across_midnight_is_split(con):
    """Session 1: play 23:51, heartbeat 23:57 (360 s), heartbeat 00:03 (360 s, half before
    midnight), stop 00:04 (60 s): 360 + 180 = 540 s on 1 January, 180 + 60 = 240 s on 2 January.
    """
    for got in (
        METRICS["viewing_time"].to_pandas(con),
        METRICS["viewing_time"].sql_to_pandas(con),
    ):
        mine = got[(got.user_id == 1) & (got.content_id == 200)]
        assert rows(mine, ["date_key", "played_seconds", "sessions"]) == [
            (20250101, 540, 1),
            (20250102, 240, 1),
        ]
    # the brief's event table books each stretch on the day of the event that closes it
    naive = sql(
        con,
        "SELECT date_key, SUM(viewing_duration) AS s FROM viewing_event "
        "WHERE session_id = 1 GROUP BY date_key",
    )
    assert rows(naive, ["date_key", "s"]) == [(20250101, 360), (20250102, 420)]


def test_the_part_before_the_window_end_is_kept(con):
    """Session 2: play 31 March 23:55, heartbeat 1 April 00:01 (360 s: 300 before midnight),
    stop 00:02 (60 s). viewing_time keeps the 300 s of 31 March and leaves out 1 April."""
    got = METRICS["viewing_time"].to_pandas(con)
    assert rows(
        got[got.user_id == 3], ["date_key", "content_id", "played_seconds"]
    ) == [
        (20250105, 400, 600),
        (20250115, 300, 300),
        (20250210, 300, 600),
        (20250331, 200, 300),
    ]
    assert (got.date_key < 20250401).all()
    april = sql(
        con,
        "SELECT SUM(played_seconds) AS s FROM fact_playback_hour WHERE date_key = 20250401",
    )
    assert april.s[0] == 60 + 60


def test_hours_are_split_at_utc_and_local_hour_boundaries(con):
    """UTC day and hour next to the viewer's local day and hour (dual keys)."""
    h = sql(con, "SELECT * FROM fact_playback_hour")
    cols = ["date_key", "hour", "local_date_key", "local_hour", "played_seconds"]
    # New York is UTC-5 in January: 23:51-00:04 UTC is 18:51-19:04 local, on 1 January.
    assert rows(h[h.session_id == 1], cols) == [
        (20250101, 23, 20250101, 18, 540),
        (20250102, 0, 20250101, 19, 240),
    ]
    # Kolkata is UTC+5:30: the pause-free stretch 14:00-14:50 UTC is 19:30-20:20 local, cut at
    # 20:00 local (14:30 UTC), inside one UTC hour.
    assert rows(h[h.session_id == 3], cols) == [
        (20250110, 14, 20250110, 19, 1800),
        (20250110, 14, 20250110, 20, 1200),
    ]
    # 01:00-01:50 UTC on 20 January is 20:00-20:50 on 19 January in New York.
    assert rows(h[h.session_id == 5], cols) == [(20250120, 1, 20250119, 20, 3000)]
    # London is on summer time (UTC+1) from 30 March: 23:55 UTC is 00:55 local on 1 April.
    assert rows(h[h.session_id == 2], cols) == [
        (20250331, 23, 20250401, 0, 300),
        (20250401, 0, 20250401, 1, 120),
    ]
    # every session's hours add up to its seconds played
    by_session = h.groupby("session_id").played_seconds.sum()
    sessions = sql(con, "SELECT session_id, played_seconds FROM fact_playback_session")
    assert (
        by_session.to_dict()
        == sessions.set_index("session_id").played_seconds.to_dict()
    )


def test_viewing_patterns_use_the_local_weekday_and_average_per_day(con):
    """Kolkata's 1,800 s at 19:00 local on Friday 10 January (1 January to 31 March 2025 holds
    13 Fridays, 3 January to 28 March); New York's 3,000 s at 20:00 on Sunday 19 January, played
    on Monday 20 January in UTC."""
    for got in (
        METRICS["viewing_patterns"].to_pandas(con),
        METRICS["viewing_patterns"].sql_to_pandas(con),
    ):
        p = got.set_index(["day_name", "local_hour"])
        friday = p.loc[("Friday", 19)]
        assert (friday.played_seconds, friday.days, friday.viewers) == (1800, 13, 1)
        assert math.isclose(friday.hours_per_day, 0.5 / 13)
        assert p.loc[("Sunday", 20), "played_seconds"] == 3000
        # the stretch of 31 March 23:55 UTC is 00:55 on Tuesday 1 April in London: outside
        # the local window
        assert ("Tuesday", 0) not in p.index


# ------------------------------------------------------------------------------------------
# Completion: per session, and per viewer on distinct seconds
# ------------------------------------------------------------------------------------------
def test_completion_per_session_and_per_viewer(con):
    """Title 100 lasts 6,000 s. Viewer 2 plays 0-3,000 (session 3), then 3,000-4,200, seeks and
    plays 5,700-6,000 (session 4: furthest 6,000, complete). Viewer 1 plays 0-3,000 (session 5)
    then 3,000-6,000 (session 6, complete). Sessions: 2 of 4 complete. Viewers: viewer 1 saw
    6,000 distinct seconds (complete), viewer 2 saw 3,000 + 1,200 + 300 = 4,500 (75 %, not)."""
    watched = distinct_seconds(con.table("fact_viewing_event")).to_pandas()
    by_user = watched[watched.content_id == 100].set_index("user_id").distinct_seconds
    assert by_user.to_dict() == {1: 6000, 2: 4500}
    for got in (
        METRICS["completion_rate"].to_pandas(con),
        METRICS["completion_rate"].sql_to_pandas(con),
    ):
        film = got.set_index("content_id").loc[100]
        assert (
            film.sessions,
            film.completed_sessions,
            film.viewers,
            film.completed_viewers,
        ) == (
            4,
            2,
            2,
            1,
        )
        assert film.completion_rate == film.viewer_completion_rate == 0.5
        # title 400 is unknown to the catalogue: its one session is kept, never completes
        unknown = got.set_index("content_id").loc[400]
        assert (unknown.genre_name, unknown.sessions, unknown.completed_sessions) == (
            "Unknown",
            1,
            0,
        )


def test_rewatching_counts_once_in_distinct_seconds():
    """Intervals [0, 100), [50, 150), [40, 60) and [300, 310): 150 + 10 = 160 distinct seconds."""
    import ibis

    events = ibis.memtable(
        {
            "user_id": [1, 1, 1, 1, 1],
            "content_id": [7, 7, 7, 7, 7],
            "position_seconds": [100, 150, 60, 310, 500],
            "played_seconds": [100, 100, 20, 10, 0],
        }
    )
    got = distinct_seconds(events).to_pandas()
    assert got.distinct_seconds.tolist() == [160]


# ------------------------------------------------------------------------------------------
# Conventions: reserved members, inferred members, deleted versions, no NULL foreign key
# ------------------------------------------------------------------------------------------
def test_check_model_enforces_the_conventions(con, built):
    report = check_model(con, TABLES)
    assert report.passed, str(report)
    names = [r.name for r in report]
    assert sum("Unknown and Not applicable members" in n for n in names) == 7
    assert sum("no foreign key is NULL" in n for n in names) == 5
    assert built[1].reconciles()


def test_withdrawn_title_keeps_a_deleted_version_that_later_facts_join(con):
    """Title 300 was withdrawn on 1 February: a live version until then, a deleted one after.
    Session 8 (15 January) plays the live one; session 7 (10 February, a downloaded copy) and
    recommendation 5004 (5 February) the deleted one, and both still join the dimension."""
    versions = sql(
        con,
        "SELECT content_sk, valid_from, valid_to, is_current, is_deleted FROM dim_content "
        "WHERE content_id = 300 ORDER BY valid_from",
    )
    assert versions.is_deleted.tolist() == [False, True]
    assert versions.is_current.tolist() == [False, True]
    assert (
        str(versions.valid_to[0])
        == str(versions.valid_from[1])
        == "2025-02-01 00:00:00"
    )
    live, deleted = versions.content_sk.tolist()
    got = sql(
        con,
        """
        SELECT 'session ' || s.session_id AS fact, c.content_sk, c.is_deleted
        FROM fact_playback_session s JOIN dim_content c ON c.content_sk = s.content_sk
        WHERE s.content_id = 300
        UNION ALL
        SELECT 'recommendation ' || r.rec_event_id, c.content_sk, c.is_deleted
        FROM fact_recommendation_event r JOIN dim_content c ON c.content_sk = r.content_sk
        WHERE r.content_id = 300
        """,
    )
    assert rows(got, ["fact", "content_sk", "is_deleted"]) == sorted(
        [
            ("session 8", live, False),
            ("session 7", deleted, True),
            ("recommendation 5004", deleted, True),
        ]
    )


def test_unknown_keys_are_loaded_against_inferred_members(con):
    """Device 99 is missing from the registry and title 400 from the catalogue: each gets an
    inferred member and its facts are loaded, none quarantined."""
    device = sql(con, "SELECT * FROM dim_device WHERE device_id = 99").iloc[0]
    assert (device.device_type, device.is_inferred, device.user_id) == (
        "Unknown",
        True,
        -1,
    )
    title = sql(con, "SELECT * FROM dim_content WHERE content_id = 400").iloc[0]
    assert (title.title, title.genre_id, title.is_inferred) == ("Unknown", -1, True)
    assert pd.isna(title.duration_seconds)
    s = sql(con, "SELECT * FROM fact_playback_session ORDER BY session_id").set_index(
        "session_id"
    )
    assert s.loc[2, "device_id"] == 99 and s.loc[2, "played_seconds"] == 300 + 60 + 60
    assert s.loc[9, "played_seconds"] == 600 and not s.loc[9, "is_completed"]
    assert pd.isna(s.loc[9, "completion_percentage"])
    # nine sessions with a play (1-9); session 10 is a lone stop
    assert s.index.tolist() == list(range(1, 10))


def test_not_applicable_references(con):
    """Only session 3 came from a recommendation (5001); the others point at -2, and so do the
    recommendations that started no session."""
    s = sql(con, "SELECT session_id, rec_event_id FROM fact_playback_session")
    assert dict(zip(s.session_id, s.rec_event_id, strict=True)) == {
        1: -2,
        2: -2,
        3: 5001,
        4: -2,
        5: -2,
        6: -2,
        7: -2,
        8: -2,
        9: -2,
    }
    r = sql(
        con,
        "SELECT rec_event_id, session_id, was_watched FROM fact_recommendation_event",
    )
    assert rows(r, ["rec_event_id", "session_id", "was_watched"]) == [
        (5001, 3, True),
        (5002, -2, False),
        (5004, -2, False),
    ]


def test_only_rows_that_are_not_facts_are_quarantined(con):
    q = sql(con, "SELECT source, record_id, reason FROM quarantine")
    assert rows(q, ["source", "record_id", "reason"]) == [
        ("quality_events", 9004, "negative_duration"),
        ("recommendation_events", 5003, "duplicate_impression"),
        ("viewing_events", 4, "duplicate_event"),
        ("viewing_events", 26, "session_without_play"),
    ]
    # a start-up whose playback session never arrived is still a start-up: loaded, with its
    # own time as the stream's span
    orphan = sql(con, "SELECT * FROM fact_quality_event WHERE session_id = 777").iloc[0]
    assert orphan.startup_ms == 900
    assert orphan.stream_start_time == orphan.stream_end_time == orphan.event_time


# ------------------------------------------------------------------------------------------
# The genre bridge
# ------------------------------------------------------------------------------------------
def test_bridge_weights_and_the_double_count(con):
    """Seconds per title: 100 (Drama, Comedy) 3,000 + 1,500 + 3,000 + 3,000 = 10,500;
    200 (Comedy) 780 + 420 = 1,200; 300 (Action, Drama, Comedy) 300 + 600 = 900; 400 (Unknown)
    600. Total 13,200 s. Weighted: Drama 5,250 + 300, Comedy 5,250 + 1,200 + 300, Action 300,
    Unknown 600 (adds up to 13,200). Tagged: Drama 10,500 + 900, Comedy 10,500 + 1,200 + 900,
    Action 900, Unknown 600 (25,500: the double count)."""
    b = sql(
        con,
        "SELECT content_sk, SUM(weighting_factor) AS w FROM bridge_title_genre GROUP BY 1",
    )
    assert (b.w - 1).abs().max() < 1e-12
    expected = {
        "Drama": (5550, 11400),
        "Comedy": (6750, 12600),
        "Action": (300, 900),
        "Unknown": (600, 600),
    }
    for got in (
        METRICS["genre_performance"].to_pandas(con),
        METRICS["genre_performance"].sql_to_pandas(con),
    ):
        got = got.set_index("genre_name")
        assert set(got.index) == set(expected)
        for genre, (weighted, tagged) in expected.items():
            assert math.isclose(got.loc[genre, "hours_weighted"] * 3600, weighted)
            assert math.isclose(got.loc[genre, "hours_tagged"] * 3600, tagged)
        assert math.isclose(got.share_of_hours.sum(), 1.0)
        assert math.isclose(got.hours_tagged.sum() * 3600, 25500)


# ------------------------------------------------------------------------------------------
# The brief's names, and every metric against its SQL on the edge cases
# ------------------------------------------------------------------------------------------
def test_brief_views_keep_the_brief_columns(con):
    """viewing_fact.time_key is -2: a daily row has no time of day, and the brief's join to
    "time" lands on the Not applicable member."""
    got = sql(
        con,
        'SELECT DISTINCT f.time_key, t.day_part FROM viewing_fact f JOIN "time" t '
        "ON t.time_key = f.time_key",
    )
    assert rows(got, ["time_key", "day_part"]) == [(-2, "Not applicable")]
    total = sql(con, "SELECT SUM(viewing_duration) AS s FROM viewing_fact").s[0]
    assert total == 13200  # every second of sessions 1-9, the 120 s of 1 April included


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_equals_its_sql_on_the_fixture(con, name):
    from datamodeling.exercises import compare

    metric = METRICS[name]
    ibis_df, sql_df = metric.to_pandas(con), metric.sql_to_pandas(con)
    assert len(ibis_df) > 0
    assert compare(ibis_df, sql_df) is None
