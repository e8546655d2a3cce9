"""The expert queries of issue 14 give exactly the answers of the queries a candidate writes first.

Three kinds of check, none of them timed (speed is measured by ``benchmarks/peer.py``):

* on a built warehouse, every metric's first ("naive") SQL, its book SQL (the expert query), its
  Ibis function reading the marts, the same function reading the facts, and SQL reading the
  marts all give the same rows;
* on hand-made data whose answers are worked out by hand in the comments: the window edges of
  the rolling counts (a gap of 27, 28 and 29 days), the session gap (exactly 30 minutes stays,
  a microsecond more splits) and sub-millisecond event times;
* the benchmark's Polars and pandas versions agree with the book's SQL on the same warehouse.
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
    assert {"mau", "stickiness", "device_behavior", "activity_segments"} <= set(metrics.NAIVE_SQL)
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


def test_ecommerce_naive_and_expert_sql_agree(tmp_path):
    from datamodeling.ecommerce import PRACTICE as ECOMMERCE
    from datamodeling.ecommerce import metrics as eco

    con = ibis.duckdb.connect(str(tmp_path / "ecommerce.duckdb"))
    ECOMMERCE.build(con, scale=3_000, seed=5)
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
    assert r[d("2026-01-28")] == 3  # Jan 1 is the 28th day of [Jan 1, Jan 28]: all three
    assert r[d("2026-01-29")] == 3  # 1 (Jan 29), 2 (Jan 28), 3 (Jan 2 is in [Jan 2, Jan 29])
    assert r[d("2026-01-30")] == 2  # 3's Jan 2 has left the window
    assert r[d("2026-02-24")] == 2  # [Jan 28, Feb 24]: 1 (Jan 29) and 2 (Jan 28)
    assert r[d("2026-02-25")] == 1  # 2's Jan 28 has left
    assert r[d("2026-02-26")] == 0  # 1's Jan 29 has left: nobody, a 0 and not a missing row
    assert r[d("2026-03-31")] == 1
    assert len(r) == (LAST - FIRST).days + 1
    c = expert[expert.window_type == "calendar_month"].set_index("window_start").active_users
    c = c.sort_index()
    assert c.tolist() == [3, 0, 1]  # January, February (nobody), March


def test_stickiness_and_segments_at_the_window_edges(activity_fixture):
    naive = _q(activity_fixture, metrics.STICKINESS_NAIVE_SQL)
    expert = _q(activity_fixture, metrics.STICKINESS_SQL)
    assert compare(naive, expert) is None
    s = expert.set_index(pd.to_datetime(expert.activity_date).dt.date)
    d = date.fromisoformat
    assert s.loc[d("2026-01-02"), ["dau", "wau_7d", "mau_28d"]].tolist() == [1, 3, 3]
    assert s.loc[d("2026-01-08"), ["dau", "wau_7d", "mau_28d"]].tolist() == [0, 1, 3]  # Jan 2..8
    assert s.loc[d("2026-01-09"), ["dau", "wau_7d", "mau_28d"]].tolist() == [0, 0, 3]
    naive = _q(activity_fixture, metrics.ACTIVITY_SEGMENTS_NAIVE_SQL)
    expert = _q(activity_fixture, metrics.ACTIVITY_SEGMENTS_SQL)
    assert compare(naive, expert) is None
    seg = expert.set_index([pd.to_datetime(expert.activity_date).dt.date, "segment"]).users
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
    ev = pd.DataFrame(events, columns=["event_id", "viewer_id", "device_id", "event_time", "t"])
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
def test_benchmark_engines_agree_with_the_book(con, tmp_path):
    """Polars and pandas, as the peer benchmark runs them, on the same warehouse."""
    pytest.importorskip("polars")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        peer = importlib.import_module("peer")
    finally:
        sys.path.pop(0)
    path = con.raw_sql(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]
    tasks = [t for t in peer.TASKS if t.practice == "social"]
    assert {t.name for t in tasks} >= {"dau", "mau", "churn_rate", "device_behavior"}
    parquet = peer.export_parquet(path, "social", tmp_path, con=con)
    for task in tasks:
        results = peer.run_once(task, path, parquet, con=con)
        assert set(results) >= {"book SQL", "Polars", "pandas"}, task.name
        problem = peer.disagreement(task, results)
        assert problem is None, (task.name, problem)
