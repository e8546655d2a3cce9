"""The expert queries of issue 14 give exactly the answers of the queries a candidate writes first.

Four kinds of check, none of them timed (speed is measured by ``benchmarks/peer.py``):

* on a built warehouse, every metric's first ("naive") SQL, its book SQL (the expert query), its
  Ibis function reading the marts, the same function reading the facts, and SQL reading the
  marts all give the same rows;
* on hand-made data whose answers are worked out by hand in the comments: the window edges of
  the rolling counts (a gap of 27, 28 and 29 days), the session gap (exactly 30 minutes stays,
  a microsecond more splits) and sub-millisecond event times;
* the benchmark's engines (Polars, pandas, the ride-sharing fast SQL) agree with the book's SQL
  on a warehouse of each practice, and its check names an engine that differs;
* the ride-sharing fast SQL, which converts time zones per 15-minute bucket, on hand-made trips
  across daylight-saving changes, and a zone off the quarter-hour grid where it must differ.
"""

from __future__ import annotations

import importlib
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest

from datamodeling.exercises import compare
from datamodeling.social import PRACTICE

metrics = importlib.import_module("datamodeling.social.metrics")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("fast") / "social.duckdb"
    con = ibis.duckdb.connect(str(path))
    PRACTICE.build(con, scale=3_000, seed=5)
    return con


def _sorted(df: pd.DataFrame, keys) -> pd.DataFrame:
    return df.sort_values(list(keys), ignore_index=True)


# ---------------------------------------------------------------------------------------------
# on a built warehouse
# ---------------------------------------------------------------------------------------------
def test_every_slow_metric_has_a_naive_and_an_expert_query():
    # the metrics the issue names first, and the book SQL is not the naive one
    assert {"mau", "stickiness", "device_behavior", "activity_segments"} <= set(
        metrics.NAIVE_SQL
    )
    for name, naive in metrics.NAIVE_SQL.items():
        assert metrics.METRICS[name].sql.strip() != naive.strip(), name


@pytest.mark.parametrize("name", sorted(metrics.NAIVE_SQL))
def test_naive_and_expert_sql_agree(con, name):
    m = metrics.METRICS[name]
    naive = con.sql(metrics.NAIVE_SQL[name]).to_pandas()
    expert = m.sql_to_pandas(con)
    assert len(expert) > 0
    assert compare(naive, expert, rtol=1e-9) is None


@pytest.mark.parametrize("name", sorted(metrics.MART_SQL))
def test_ibis_and_sql_agree_from_the_facts_and_from_the_marts(con, name):
    """Four ways to one answer: the book SQL (facts) is the oracle of the other three."""
    m = metrics.METRICS[name]
    oracle = m.sql_to_pandas(con)
    assert len(oracle) > 0
    from_facts = m.to_pandas(con, source="facts")
    from_marts = m.to_pandas(con, source="marts")
    mart_sql = con.sql(metrics.MART_SQL[name]).to_pandas()
    # the facts side must not read a derived table, the marts side must
    facts_sql = str(ibis.to_sql(m.table(con, source="facts"), dialect="duckdb"))
    marts_sql = str(ibis.to_sql(m.table(con, source="marts"), dialect="duckdb"))
    assert '"mart".' not in facts_sql and '"mart".' in marts_sql
    assert "mart." in metrics.MART_SQL[name]
    for got in (from_facts, from_marts, mart_sql):
        assert compare(oracle, got, rtol=1e-9) is None


@pytest.fixture(scope="module")
def other_warehouses(tmp_path_factory):
    """One small warehouse of each other practice: practice -> (Ibis connection, path)."""
    from datamodeling import registry

    folder = tmp_path_factory.mktemp("others")
    out = {}
    for name in ("ecommerce", "streaming", "rideshare"):
        path = folder / f"{name}.duckdb"
        other = ibis.duckdb.connect(str(path))
        registry.get_practice(name).build(other, scale=3_000, seed=5)
        out[name] = (other, path)
    return out


def test_ecommerce_naive_and_expert_sql_agree(other_warehouses):
    from datamodeling.ecommerce import metrics as eco

    con, _ = other_warehouses["ecommerce"]
    assert set(eco.NAIVE_SQL) == {"daily_sales_by_category"}
    for name, naive in eco.NAIVE_SQL.items():
        m = eco.METRICS[name]
        assert m.sql.strip() != naive.strip()
        expert = m.sql_to_pandas(con)
        assert len(expert) > 0
        assert compare(con.sql(naive).to_pandas(), expert, rtol=0, atol=0) is None
        assert compare(expert, m.to_pandas(con), rtol=0, atol=0) is None


def test_source_must_be_named():
    with pytest.raises(ValueError, match="source"):
        metrics.METRICS["mau"].table(ibis.duckdb.connect(), source="raw")


# ---------------------------------------------------------------------------------------------
# hand-made data: window edges
# ---------------------------------------------------------------------------------------------
FIRST = date(2026, 1, 1)
LAST = date(2026, 3, 31)


def _days_table(con) -> None:
    days = pd.DataFrame({"calendar_date": pd.date_range(FIRST, LAST).date})
    days["date_key"] = [int(d.strftime("%Y%m%d")) for d in days.calendar_date]
    con.register("_days", days)
    con.execute(
        "CREATE TABLE dim_date AS SELECT date_key, CAST(calendar_date AS DATE) AS calendar_date "
        "FROM _days UNION ALL SELECT -1, NULL"  # a reserved row, which every query must skip
    )


@pytest.fixture()
def activity_fixture():
    """Three users. 1: Jan 1 and Jan 29 (28 days apart); 2: Jan 1 and Jan 28 (27 days apart);
    3: Jan 1, Jan 2 and Mar 31 (the last loaded day). Several events on some days."""
    con = duckdb.connect()
    _days_table(con)
    rows = [
        (1, "2026-01-01"),
        (1, "2026-01-01"),
        (1, "2026-01-29"),
        (2, "2026-01-01"),
        (2, "2026-01-28"),
        (3, "2026-01-01"),
        (3, "2026-01-02"),
        (3, "2026-01-02"),
        (3, "2026-03-31"),
    ]
    ev = pd.DataFrame(rows, columns=["viewer_id", "event_date"])
    ev["event_date"] = pd.to_datetime(ev.event_date).dt.date
    con.register("_ev", ev)
    con.execute(
        "CREATE TABLE fact_content_event AS "
        "SELECT viewer_id, CAST(event_date AS DATE) AS event_date FROM _ev"
    )
    return con


def _q(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def test_rolling_counts_at_the_window_edges(activity_fixture):
    naive = _q(activity_fixture, metrics.MAU_NAIVE_SQL)
    expert = _q(activity_fixture, metrics.MAU_SQL)
    assert compare(naive, expert) is None
    r = expert[expert.window_type == "rolling_28d"].set_index("window_end").active_users
    r.index = pd.to_datetime(r.index).date
    d = date.fromisoformat
    assert r[d("2026-01-01")] == 3
    assert (
        r[d("2026-01-28")] == 3
    )  # Jan 1 is the 28th day of [Jan 1, Jan 28]: all three
    assert (
        r[d("2026-01-29")] == 3
    )  # 1 (Jan 29), 2 (Jan 28), 3 (Jan 2 is in [Jan 2, Jan 29])
    assert r[d("2026-01-30")] == 2  # 3's Jan 2 has left the window
    assert r[d("2026-02-24")] == 2  # [Jan 28, Feb 24]: 1 (Jan 29) and 2 (Jan 28)
    assert r[d("2026-02-25")] == 1  # 2's Jan 28 has left
    assert (
        r[d("2026-02-26")] == 0
    )  # 1's Jan 29 has left: nobody, a 0 and not a missing row
    assert r[d("2026-03-31")] == 1
    assert len(r) == (LAST - FIRST).days + 1
    c = (
        expert[expert.window_type == "calendar_month"]
        .set_index("window_start")
        .active_users
    )
    c = c.sort_index()
    assert c.tolist() == [3, 0, 1]  # January, February (nobody), March


def test_stickiness_and_segments_at_the_window_edges(activity_fixture):
    naive = _q(activity_fixture, metrics.STICKINESS_NAIVE_SQL)
    expert = _q(activity_fixture, metrics.STICKINESS_SQL)
    assert compare(naive, expert) is None
    s = expert.set_index(pd.to_datetime(expert.activity_date).dt.date)
    d = date.fromisoformat
    assert s.loc[d("2026-01-02"), ["dau", "wau_7d", "mau_28d"]].tolist() == [1, 3, 3]
    assert s.loc[d("2026-01-08"), ["dau", "wau_7d", "mau_28d"]].tolist() == [
        0,
        1,
        3,
    ]  # Jan 2..8
    assert s.loc[d("2026-01-09"), ["dau", "wau_7d", "mau_28d"]].tolist() == [0, 0, 3]
    naive = _q(activity_fixture, metrics.ACTIVITY_SEGMENTS_NAIVE_SQL)
    expert = _q(activity_fixture, metrics.ACTIVITY_SEGMENTS_SQL)
    assert compare(naive, expert) is None
    seg = expert.set_index(
        [pd.to_datetime(expert.activity_date).dt.date, "segment"]
    ).users
    # Jan 2: 3 has two active days in the window, 1 and 2 one each: all casual
    assert seg[(d("2026-01-02"), "casual")] == 3
    # Feb 26: nobody active in [Jan 30, Feb 26]; all three seen before: dormant
    assert seg[(d("2026-02-26"), "dormant")] == 3
    assert (d("2026-02-26"), "casual") not in seg.index  # an empty segment has no row


# ---------------------------------------------------------------------------------------------
# hand-made data: sessions
# ---------------------------------------------------------------------------------------------
def test_sessions_gap_and_sub_millisecond_times():
    con = duckdb.connect()
    t0 = datetime(2026, 2, 1, 10, 0, 0, 900)  # 0.9 ms past the second
    events = [
        # user 1 on device 9: 0, +30 min (stays), +60 min + 1 us (splits), +5 h (splits)
        (1, 1, 9, t0, "view"),
        (2, 1, 9, t0 + timedelta(minutes=30), "like"),
        (3, 1, 9, t0 + timedelta(minutes=60, microseconds=1), "view"),
        (4, 1, 9, t0 + timedelta(hours=5), "share"),
        # user 2 on device 8: two events 1.0002 s apart, and a tie in time broken by event_id
        (5, 2, 8, t0, "view"),
        (6, 2, 8, t0 + timedelta(seconds=1, microseconds=200), "comment"),
        (7, 2, 8, t0 + timedelta(seconds=1, microseconds=200), "view"),
    ]
    ev = pd.DataFrame(
        events, columns=["event_id", "viewer_id", "device_id", "event_time", "t"]
    )
    ev = ev.rename(columns={"t": "event_type"})
    con.register("_ev", ev)
    con.execute("CREATE TABLE fact_content_event AS SELECT * FROM _ev")
    con.execute(
        "CREATE TABLE dim_device AS SELECT * FROM (VALUES (9, 'mobile', 'iOS'), "
        "(8, 'desktop', 'Windows')) t(device_id, device_type, os)"
    )
    naive = _q(con, metrics.DEVICE_BEHAVIOR_NAIVE_SQL)
    expert = _q(con, metrics.DEVICE_BEHAVIOR_SQL)
    assert compare(naive, expert, rtol=1e-12) is None
    mobile = expert.set_index("device_type").loc["mobile"]
    assert mobile.sessions == 3  # [e1, e2], [e3], [e4]
    # lengths in ms of times truncated to the ms: 30 min, 0, 0 -> mean 10 minutes
    assert mobile.avg_session_minutes == pytest.approx(10.0, abs=1e-12)
    desktop = expert.set_index("device_type").loc["desktop"]
    assert desktop.sessions == 1
    # 10:00:00.000900 -> 10:00:01.001100: 1001 ms once each time is cut to the millisecond
    assert desktop.avg_session_minutes == pytest.approx(1001 / 60_000, abs=1e-15)
    assert desktop.engagements_per_session == 1.0


# ---------------------------------------------------------------------------------------------
# the benchmark's other engines
# ---------------------------------------------------------------------------------------------
def _peer():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module("peer")
    finally:
        sys.path.pop(0)


def _path_of(con) -> str:
    return con.raw_sql(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]


def _engines_agree(peer, tasks, con, path, folder) -> None:
    parquet = peer.export_parquet(path, tasks[0].practice, folder, con=con)
    for task in tasks:
        results = peer.run_once(task, path, parquet, con=con)
        assert set(results) >= {"book Ibis", "book SQL", "Polars", "pandas"}, task.name
        assert set(results) == set(peer.engines(task)), task.name
        problem = peer.disagreement(task, results)
        assert problem is None, (task.name, problem)


def test_benchmark_engines_agree_with_the_book(con, tmp_path):
    """Polars and pandas, as the peer benchmark runs them, on the same warehouse."""
    pytest.importorskip("polars")
    peer = _peer()
    tasks = [t for t in peer.TASKS if t.practice == "social"]
    assert {t.name for t in tasks} >= {"dau", "mau", "churn_rate", "device_behavior"}
    _engines_agree(peer, tasks, con, _path_of(con), tmp_path)


@pytest.mark.parametrize("practice", ["ecommerce", "streaming", "rideshare"])
def test_benchmark_engines_agree_on_the_other_practices(
    other_warehouses, practice, tmp_path
):
    """Every engine of the other practices' tasks, the ride-sharing fast SQL included."""
    pytest.importorskip("polars")
    peer = _peer()
    tasks = [t for t in peer.TASKS if t.practice == practice]
    assert len(tasks) == 1
    con, path = other_warehouses[practice]
    _engines_agree(peer, tasks, con, str(path), tmp_path)


def test_disagreement_names_the_engine_that_differs(con, tmp_path):
    """The benchmark's check can fail: one user fewer on one day is reported, with the engine."""
    peer = _peer()
    task = next(t for t in peer.TASKS if t.name == "dau")
    book = metrics.METRICS["dau"].sql_to_pandas(con)
    wrong = book.copy()
    wrong.loc[wrong.index[len(wrong) // 2], "dau"] -= 1
    assert peer.disagreement(task, {"book SQL": book, "Polars": book}) is None
    problem = peer.disagreement(task, {"book SQL": book, "Polars": wrong})
    assert problem is not None and problem.startswith("Polars")


# ---------------------------------------------------------------------------------------------
# hand-made data: the ride-sharing local hour, one time zone conversion per 15-minute bucket
# ---------------------------------------------------------------------------------------------
def _ride_tables(con, cities, start, end, step_seconds) -> None:
    """A trip every ``step_seconds`` in [start, end) in every city, outcomes in turn."""
    from datamodeling.rideshare import metrics as rides

    assert rides.RIDE_METRICS_SQL  # the book's query reads these three tables
    con.execute(
        "CREATE TABLE dim_city AS SELECT * FROM (VALUES "
        + ", ".join(f"({i}, '{name}', '{tz}')" for i, name, tz in cities)
        + ") t(city_id, city_name, time_zone)"
    )
    con.execute(
        "CREATE TABLE dim_trip_flags AS SELECT * FROM (VALUES "
        "(1, 'completed', 'not cancelled'), (3, 'rider_cancelled', 'rider'), "
        "(6, 'no_driver', 'not cancelled')) t(trip_flags_key, outcome, cancelled_by)"
    )
    con.execute(
        f"""
        CREATE TABLE fact_trip AS
        SELECT c.city_id,
               [1, 1, 3, 6][1 + (i % 4)]                         AS trip_flags_key,
               TIMESTAMP '{start}' + to_seconds(i * {step_seconds}) AS requested_at,
               CAST(1 + (i % 7) AS DECIMAL(18, 2))               AS trip_miles,
               60000 * (5 + i % 11)                              AS trip_duration_ms,
               CAST(3 + (i % 5) * 1.25 AS DECIMAL(18, 2))        AS base_passenger_fare
        FROM dim_city c,
             range((epoch(TIMESTAMP '{end}') - epoch(TIMESTAMP '{start}'))::BIGINT
                   // {step_seconds}) r(i)
        """
    )


RIDE_CITIES = [
    (1, "Northport", "America/New_York"),
    (2, "Lakeside", "America/Los_Angeles"),
    (3, "Kathmandu", "Asia/Kathmandu"),  # UTC+5:45, all year
    (4, "Lord Howe", "Australia/Lord_Howe"),  # a 30-minute daylight saving shift
    (-1, "Unknown", "Unknown"),  # converted as UTC
]


@pytest.mark.parametrize(
    "start, end",
    [
        ("2026-03-07 00:00:00", "2026-03-10 00:00:00"),  # US clocks go forward (Mar 8)
        ("2026-10-31 00:00:00", "2026-11-03 00:00:00"),  # US clocks go back (Nov 1)
        (
            "2026-04-04 00:00:00",
            "2026-04-06 00:00:00",
        ),  # Lord Howe goes back 30 minutes
    ],
)
def test_ride_expert_sql_converts_per_bucket_without_changing_an_hour(start, end):
    """The book's SQL converts one 15-minute bucket at a time; the first query every trip.

    A trip every 7 minutes (so trips fall at every minute of a bucket over the days) in zones
    whose offsets are whole quarter hours, across daylight-saving changes: the same rows.
    """
    from datamodeling.rideshare import metrics as rides

    con = duckdb.connect()
    _ride_tables(con, RIDE_CITIES, start, end, 7 * 60)
    book = con.sql(rides.RIDE_METRICS_NAIVE_SQL).df()
    fast = con.sql(rides.RIDE_METRICS_SQL).df()
    # every city and local hour has trips (a day-long window or more)
    assert len(book) == 5 * 24
    assert compare(book, fast, rtol=1e-12) is None


def test_ride_expert_sql_check_can_fail_off_the_quarter_hour_grid():
    """Liberia ran on UTC-0:44:30 until 1972: its local hours begin at 44:30 past a UTC hour,
    inside a bucket, so trips in that bucket's last half minute change hour. With a trip every
    30 seconds the per-bucket conversion gives other rows, and the check above would say so."""
    from datamodeling.rideshare import metrics as rides

    con = duckdb.connect()
    _ride_tables(
        con,
        [(1, "Monrovia", "Africa/Monrovia")],
        "1970-06-01 00:00:00",
        "1970-06-02 00:00:00",
        30,
    )
    book = con.sql(rides.RIDE_METRICS_NAIVE_SQL).df()
    fast = con.sql(rides.RIDE_METRICS_SQL).df()
    assert compare(book, fast, rtol=1e-12) is not None


def test_rideshare_naive_and_expert_sql_agree(other_warehouses):
    from datamodeling.rideshare import metrics as rides

    con, _ = other_warehouses["rideshare"]
    assert set(rides.NAIVE_SQL) == {"ride_metrics"}
    m = rides.METRICS["ride_metrics"]
    assert m.sql.strip() != rides.RIDE_METRICS_NAIVE_SQL.strip()
    expert = m.sql_to_pandas(con)
    assert len(expert) > 0
    assert compare(con.sql(rides.RIDE_METRICS_NAIVE_SQL).to_pandas(), expert) is None
    assert compare(expert, m.to_pandas(con)) is None
