"""Measure the cumulative activity table against recounting raw events.

Each variant runs in a fresh Python process that opens the built warehouse read-only with plain
DuckDB, so the wall time and the peak memory reported are the query's own (the process's peak
resident memory minus what it held before the query). The SQL of the nightly step is compiled
from the same Ibis function the build uses (:func:`build.cumulate_day`).

* :func:`compare_one_day`: one nightly update (yesterday's rows FULL OUTER JOIN today's active
  users) against a recount of distinct users over 28 days of raw events.
* :func:`compare_all_days`: DAU and MAU for every day of the period, from nightly updates run
  day after day, against the naive rolling distinct count over raw events.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import ibis
import pandas as pd

from . import metrics

_RUNNER = r"""
import json, resource, sys, time
import duckdb
job = json.load(sys.stdin)
con = duckdb.connect()
con.execute(f"ATTACH '{job['path']}' AS w (READ_ONLY)")
con.execute("USE w")
if job.get("threads"):
    con.execute(f"SET threads = {int(job['threads'])}")
for sql in job.get("setup", []):
    con.execute(sql)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
for sql in job["statements"]:
    con.execute(sql)
rows = con.execute(job["result"]).fetchall() if job.get("result") else []
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "query_mb": (peak - before) / 1024,
                  "result": [list(map(str, r)) for r in rows[:3]]}))
"""


def db_path(con) -> str:
    """The file of an Ibis DuckDB connection."""
    return con.raw_sql(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]


def run_measured(
    path: str | Path, statements, result=None, setup=(), threads=None
) -> dict:
    """Run SQL statements in a fresh process against the warehouse at ``path``; time and memory."""
    job = {
        "path": str(path),
        "statements": list(statements),
        "result": result,
        "setup": list(setup),
        "threads": threads,
    }
    out = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _step_sql(day: date, source: str = "mart.user_activity_cumulative") -> str:
    """SQL of one nightly run for ``day``, compiled from :func:`build.cumulate_day`."""
    from .build import cumulate_day
    from .schema import USER_ACTIVITY_CUMULATIVE

    cum = ibis.table(USER_ACTIVITY_CUMULATIVE.ibis_schema(), name="__cum__")
    events = ibis.table(
        {"viewer_id": "int64", "event_date": "date"}, name="fact_content_event"
    )
    yesterday = cum.filter(cum.activity_date == ibis.literal(day - timedelta(days=1)))
    today = events.filter(events.event_date == ibis.literal(day))
    today = today.select(user_id=today.viewer_id).distinct()
    sql = ibis.to_sql(cumulate_day(yesterday, today, day), dialect="duckdb")
    return str(sql).replace('"__cum__"', source)


def _recount_sql(day: date) -> str:
    return (
        "SELECT COUNT(DISTINCT viewer_id) AS mau FROM fact_content_event "
        f"WHERE event_date BETWEEN DATE '{day}' - 27 AND DATE '{day}'"
    )


def rows_read_one_day(path: str | Path, day: date) -> dict[str, int]:
    """Rows each approach reads for ``day``: cumulative rows of the day before + one day of
    events, against 28 days of events."""
    sql = f"""
        SELECT (SELECT COUNT(*) FROM mart.user_activity_cumulative
                 WHERE activity_date = DATE '{day}' - 1)
             + (SELECT COUNT(*) FROM fact_content_event WHERE event_date = DATE '{day}'),
               (SELECT COUNT(*) FROM fact_content_event
                 WHERE event_date BETWEEN DATE '{day}' - 27 AND DATE '{day}')
    """
    counts = run_measured(path, [], result=sql)["result"][0]
    return {"incremental": int(counts[0]), "recount": int(counts[1])}


def compare_one_day(path: str | Path, day: date) -> pd.DataFrame:
    """One nightly update against a 28-day recount from raw events, for ``day``."""
    rows = rows_read_one_day(path, day)
    step = run_measured(
        path,
        [f"CREATE TEMP TABLE today AS {_step_sql(day)}"],
        result="SELECT COUNT(*) FILTER (WHERE activity_mask <> 0) FROM today",
    )
    recount = run_measured(
        path,
        [f"CREATE TEMP TABLE today AS {_recount_sql(day)}"],
        result="SELECT * FROM today",
    )
    assert step["result"] == recount["result"], (step["result"], recount["result"])
    return pd.DataFrame(
        [
            {
                "approach": "incremental (cumulative table)",
                "rows_read": rows["incremental"],
                **_keep(step),
                "mau": step["result"][0][0],
            },
            {
                "approach": "recount 28 days of events",
                "rows_read": rows["recount"],
                **_keep(recount),
                "mau": recount["result"][0][0],
            },
        ]
    )


def compare_all_days(path: str | Path, threads=None) -> pd.DataFrame:
    """DAU and MAU for every day: nightly runs day after day vs the naive rolling count."""
    from .schema import USER_ACTIVITY_CUMULATIVE

    cols = ", ".join(
        f"{c.name} {c.ibis_type.copy(nullable=True)}"
        for c in USER_ACTIVITY_CUMULATIVE.columns
    )
    cols = cols.replace("int32", "INTEGER").replace("int64", "BIGINT")
    # the job keeps yesterday's rows (the state) and appends each day's counts; the rows of
    # older days would be written to storage, not kept in memory
    setup = [
        f"CREATE TEMP TABLE state ({cols})",
        "CREATE TEMP TABLE daily (activity_date DATE, dau BIGINT, mau BIGINT)",
    ]
    steps = []
    day = metrics.FIRST_DAY
    while day <= metrics.LAST_DAY:
        steps.append(
            f"CREATE OR REPLACE TEMP TABLE state AS {_step_sql(day, source='state')}"
        )
        steps.append(
            "INSERT INTO daily SELECT activity_date, "
            "COUNT(*) FILTER (WHERE activity_mask & 1 = 1), "
            "COUNT(*) FILTER (WHERE activity_mask <> 0) FROM state GROUP BY activity_date"
        )
        day += timedelta(days=1)
    final = "SELECT COUNT(*), SUM(dau), SUM(mau) FROM daily"
    cumulative = run_measured(path, steps, result=final, setup=setup, threads=threads)
    naive_sql = f"""
        CREATE TEMP TABLE naive AS
        WITH days AS (
            SELECT CAST(range AS DATE) AS d
            FROM range(DATE '{metrics.FIRST_DAY}', DATE '{metrics.LAST_DAY}' + 1, INTERVAL 1 DAY)
        )
        SELECT d AS activity_date,
               COUNT(DISTINCT e.viewer_id) FILTER (WHERE e.event_date = d) AS dau,
               COUNT(DISTINCT e.viewer_id) AS mau
        FROM days LEFT JOIN fact_content_event e ON e.event_date BETWEEN d - 27 AND d
        GROUP BY d
    """
    naive = run_measured(
        path,
        [naive_sql],
        result="SELECT COUNT(*), SUM(dau), SUM(mau) FROM naive",
        threads=threads,
    )
    assert cumulative["result"] == naive["result"], (
        cumulative["result"],
        naive["result"],
    )
    return pd.DataFrame(
        [
            {
                "approach": "cumulative table, one nightly run per day",
                **_keep(cumulative),
            },
            {"approach": "naive rolling distinct count", **_keep(naive)},
        ]
    )


def _keep(run: dict) -> dict:
    return {
        "seconds": run["seconds"],
        "peak_mb": run["peak_mb"],
        "query_mb": run["query_mb"],
    }
