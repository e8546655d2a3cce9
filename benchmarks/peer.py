"""Peer benchmark (issue 14): the book's queries against the tools readers know.

    PYTHONPATH=src .venv/bin/python benchmarks/peer.py                  # small scale, 3 runs
    PYTHONPATH=src .venv/bin/python benchmarks/peer.py --scale medium --db-dir DIR \\
        --out notebooks/scaling/02_fast_queries_peer.json               # the book's tables
    PYTHONPATH=src .venv/bin/python benchmarks/peer.py --part pairs ... # only the pairs

For each task (DAU, rolling MAU, monthly churn and sessions by device of the social practice,
and one metric of each other practice), on one warehouse per practice, in this one process:

* the engines: the book's Ibis (reading the marts, as the book does), the same Ibis function
  reading the facts (where the metric has a mart), the query a candidate writes first (where
  the book keeps one), the book's SQL, a faster DuckDB SQL (where one exists beyond the book's),
  Polars (lazy, from Parquet files exported once) and pandas (from the same Parquet files);
* first, every engine runs once and its rows are compared with the book's SQL (keys and counts
  exactly, floats within a relative 1e-9). If any engine disagrees, the benchmark stops before
  printing a single time;
* then the engines are timed round-robin (every engine of every task once, then again), and the
  median of ``--reps`` runs is reported, with the load average of the machine beside it;
* peak memory: each engine runs once more in a fresh child process. After the imports and
  opening the data, the child resets its peak resident memory (Linux's VmHWM, through
  /proc/self/clear_refs) and reports the peak during the query minus the resident memory just
  before it: the memory the query itself needed, DuckDB's buffer cache included;
* ratios: every engine against the fastest of (fast SQL, Polars), and the book's SQL against it
  (the issue's target: within 1.5x).

A second part (``--part pairs``) times every metric the book keeps a first query for (each
practice's ``metrics.NAIVE_SQL``): the first query against the book's (the expert's), checked
equal first, timed alternately, memory in a child process the same way. With ``--out``, the
parts not run are kept from the file as they were.

Times include producing the result in the engine's own format (Arrow for DuckDB and Ibis, a
Polars or pandas DataFrame); converting results for the comparison is not timed. Polars and
pandas read their input from Parquet in every run (their natural cold start, from the OS page
cache); DuckDB reads its own file through its buffer cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd

from datamodeling import registry, warehouse
from datamodeling.exercises import compare

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-9


# ---------------------------------------------------------------------------------------------
# reading Parquet: Polars lazily, pandas through Arrow (dates as datetime64, money as cents)
# ---------------------------------------------------------------------------------------------
def _pl():
    import polars as pl

    return pl


def read_pandas(path: Path, columns: list[str]) -> pd.DataFrame:
    """Columns of a Parquet file as pandas: DATE as datetime64, DECIMAL(18, 2) as integer cents.

    What a pandas expert does: object columns of ``datetime.date`` or ``Decimal`` would make
    every later step run in Python, one value at a time.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=columns)
    for i, f in enumerate(t.schema):
        if pa.types.is_date32(f.type):
            t = t.set_column(i, f.name, pc.cast(t.column(i), pa.timestamp("s")))
        elif pa.types.is_decimal(f.type):
            cents = pc.multiply(
                t.column(i), pa.scalar(Decimal(100), type=pa.decimal128(5, 0))
            )
            t = t.set_column(i, f.name, pc.cast(cents, pa.int64()))
    return t.to_pandas()


def _cents_to_decimal(s: pd.Series) -> list[Decimal]:
    return [Decimal(int(v)).scaleb(-2) for v in s]


# ---------------------------------------------------------------------------------------------
# social
# ---------------------------------------------------------------------------------------------
def _bounds_pd(p) -> tuple[pd.Timestamp, pd.Timestamp, pd.DataFrame]:
    days = read_pandas(p["dim_date"], ["date_key", "calendar_date"])
    days = days[days.date_key >= 0]
    return days.calendar_date.min(), days.calendar_date.max(), days


def _days_pl(p):
    pl = _pl()
    return pl.scan_parquet(p["dim_date"]).filter(pl.col("date_key") >= 0)


def social_dau_polars(p):
    pl = _pl()
    e = pl.scan_parquet(p["fact_content_event"]).select("viewer_id", "event_date")
    per_day = e.group_by("event_date").agg(
        dau=pl.col("viewer_id").n_unique().cast(pl.Int64)
    )
    days = _days_pl(p).select(activity_date="calendar_date")
    out = days.join(per_day, left_on="activity_date", right_on="event_date", how="left")
    return out.with_columns(pl.col("dau").fill_null(0)).collect()


def social_dau_pandas(p):
    e = read_pandas(p["fact_content_event"], ["viewer_id", "event_date"])
    per_day = e.groupby("event_date").viewer_id.nunique()
    _, _, days = _bounds_pd(p)
    dau = per_day.reindex(days.calendar_date, fill_value=0).to_numpy()
    return pd.DataFrame({"activity_date": days.calendar_date.to_numpy(), "dau": dau})


def social_mau_polars(p):
    pl = _pl()
    e = pl.scan_parquet(p["fact_content_event"])
    ud = e.select(user_id="viewer_id", event_date="event_date").unique()
    ud = ud.sort("user_id", "event_date")
    end = pl.col("event_date") + pl.duration(days=28)
    nxt = pl.col("event_date").shift(-1).over("user_id")
    spans = ud.with_columns(leave=pl.min_horizontal(end, nxt.fill_null(end)))
    enter = spans.group_by(d="event_date").agg(n=pl.len().cast(pl.Int64))
    leave = spans.group_by(d="leave").agg(n=-pl.len().cast(pl.Int64))
    changes = pl.concat([enter, leave]).group_by("d").agg(pl.col("n").sum())
    days = _days_pl(p).select(d="calendar_date")
    rolling = (
        days.join(changes, on="d", how="left")
        .sort("d")
        .select(
            window_type=pl.lit("rolling_28d"),
            window_start=pl.col("d") - pl.duration(days=27),
            window_end=pl.col("d"),
            active_users=pl.col("n").fill_null(0).cum_sum(),
        )
    )
    per_month = ud.group_by(m=pl.col("event_date").dt.truncate("1mo")).agg(
        n=pl.col("user_id").n_unique().cast(pl.Int64)
    )
    months = days.select(m=pl.col("d").dt.truncate("1mo")).unique()
    calendar = months.join(per_month, on="m", how="left").select(
        window_type=pl.lit("calendar_month"),
        window_start="m",
        window_end=pl.col("m").dt.month_end(),
        active_users=pl.col("n").fill_null(0),
    )
    bounds = days.select(first=pl.col("d").min(), last=pl.col("d").max())
    both = pl.concat([rolling, calendar]).join(bounds, how="cross")
    return both.select(
        "window_type",
        "window_start",
        "window_end",
        "active_users",
        is_complete=(pl.col("window_start") >= pl.col("first"))
        & (pl.col("window_end") <= pl.col("last")),
    ).collect()


def social_mau_pandas(p):
    e = read_pandas(p["fact_content_event"], ["viewer_id", "event_date"])
    ud = e.drop_duplicates().sort_values(["viewer_id", "event_date"], ignore_index=True)
    end = ud.event_date + pd.Timedelta(days=28)
    same_user = ud.viewer_id.shift(-1) == ud.viewer_id
    nxt = ud.event_date.shift(-1).where(same_user)
    leave = end.where(nxt.isna() | (end < nxt), nxt)
    change = ud.event_date.value_counts().sub(leave.value_counts(), fill_value=0)
    first, last, days = _bounds_pd(p)
    d = days.calendar_date.sort_values().to_numpy()
    active = change.reindex(d, fill_value=0).cumsum().astype("int64").to_numpy()
    rolling = pd.DataFrame(
        {
            "window_type": "rolling_28d",
            "window_start": d - pd.Timedelta(days=27),
            "window_end": d,
            "active_users": active,
        }
    )
    month = ud.event_date.dt.to_period("M").dt.start_time
    per_month = ud.viewer_id.groupby(month).nunique()
    months = pd.Series(d).dt.to_period("M").dt.start_time.drop_duplicates()
    calendar = pd.DataFrame(
        {
            "window_type": "calendar_month",
            "window_start": months.to_numpy(),
            "window_end": (months + pd.offsets.MonthEnd(0)).to_numpy(),
            "active_users": per_month.reindex(months, fill_value=0)
            .astype("int64")
            .to_numpy(),
        }
    )
    both = pd.concat([rolling, calendar], ignore_index=True)
    both["is_complete"] = (both.window_start >= first) & (both.window_end <= last)
    return both


def social_churn_polars(p):
    pl = _pl()
    e = pl.scan_parquet(p["fact_content_event"])
    mu = e.select(
        user_id="viewer_id", month=pl.col("event_date").dt.truncate("1mo")
    ).unique()
    mu = mu.sort("user_id", "month").with_columns(
        next_active=pl.col("month").shift(-1).over("user_id"),
        next_month=pl.col("month").dt.offset_by("1mo"),
    )
    churned = pl.col("next_active").is_null() | (
        pl.col("next_active") != pl.col("next_month")
    )
    days = _days_pl(p)
    bounds = days.select(
        first=pl.col("calendar_date").min(), last=pl.col("calendar_date").max()
    )
    kept = mu.join(bounds, how="cross").filter(
        (pl.col("month") >= pl.col("first"))
        & (pl.col("next_month").dt.month_end() <= pl.col("last"))
    )
    out = kept.group_by("month", "next_month").agg(
        active_users=pl.len().cast(pl.Int64), churned_users=churned.sum().cast(pl.Int64)
    )
    return out.with_columns(
        churn_rate=pl.col("churned_users") / pl.col("active_users")
    ).collect()


def social_churn_pandas(p):
    e = read_pandas(p["fact_content_event"], ["viewer_id", "event_date"])
    month = e.event_date.dt.to_period("M").dt.start_time
    mu = pd.DataFrame({"user_id": e.viewer_id, "month": month}).drop_duplicates()
    mu = mu.sort_values(["user_id", "month"], ignore_index=True)
    same_user = mu.user_id.shift(-1) == mu.user_id
    next_active = mu.month.shift(-1).where(same_user)
    mu["next_month"] = mu.month + pd.offsets.MonthBegin(1)
    mu["churned"] = next_active.isna() | (next_active != mu.next_month)
    first, last, _ = _bounds_pd(p)
    kept = mu[(mu.month >= first) & (mu.next_month + pd.offsets.MonthEnd(0) <= last)]
    out = kept.groupby(["month", "next_month"], as_index=False).agg(
        active_users=("churned", "size"), churned_users=("churned", "sum")
    )
    out["churn_rate"] = out.churned_users / out.active_users
    return out


def social_sessions_polars(p):
    pl = _pl()
    cols = ["viewer_id", "device_id", "event_id", "event_time", "event_type"]
    e = pl.scan_parquet(p["fact_content_event"]).select(cols)
    e = e.sort("viewer_id", "device_id", "event_time", "event_id")
    same = (pl.col("viewer_id") == pl.col("viewer_id").shift(1)) & (
        pl.col("device_id") == pl.col("device_id").shift(1)
    )
    prev = pl.when(same).then(pl.col("event_time").shift(1))
    e = e.with_columns(prev=prev)
    start = pl.col("prev").is_null() | (
        pl.col("event_time") > pl.col("prev") + pl.duration(minutes=30)
    )
    gap_ms = pl.col("event_time").dt.epoch("ms") - pl.col("prev").dt.epoch("ms")
    per = e.group_by("viewer_id", "device_id").agg(
        sessions=start.sum().cast(pl.Int64),
        inside_ms=gap_ms.filter(~start).sum(),
        events=pl.len().cast(pl.Int64),
        engagements=(pl.col("event_type") != "view").sum().cast(pl.Int64),
    )
    devices = pl.scan_parquet(p["dim_device"]).select("device_id", "device_type", "os")
    j = per.join(devices, on="device_id")
    g = j.group_by("device_type", "os").agg(
        users=pl.col("viewer_id").n_unique().cast(pl.Int64),
        sessions=pl.col("sessions").sum(),
        inside_ms=pl.col("inside_ms").sum(),
        events=pl.col("events").sum(),
        engagements=pl.col("engagements").sum(),
    )
    return g.select(
        "device_type",
        "os",
        "users",
        "sessions",
        avg_session_minutes=pl.col("inside_ms") / pl.col("sessions") / 60000.0,
        events_per_session=pl.col("events") / pl.col("sessions"),
        engagements_per_session=pl.col("engagements") / pl.col("sessions"),
        sessions_per_user=pl.col("sessions") / pl.col("users"),
    ).collect()


def social_sessions_pandas(p):
    cols = ["viewer_id", "device_id", "event_id", "event_time", "event_type"]
    e = read_pandas(p["fact_content_event"], cols)
    e = e.sort_values(
        ["viewer_id", "device_id", "event_time", "event_id"], ignore_index=True
    )
    same = (e.viewer_id.shift(1) == e.viewer_id) & (e.device_id.shift(1) == e.device_id)
    prev = e.event_time.shift(1).where(same)
    start = prev.isna() | (e.event_time > prev + pd.Timedelta(minutes=30))
    ms = (
        e.event_time.astype("int64") // 1000
    )  # microseconds since the epoch, to milliseconds
    gap_ms = (ms - ms.shift(1)).where(same & ~start, 0)
    e = e.assign(
        sessions=start.astype("int64"),
        inside_ms=gap_ms.astype("int64"),
        engagements=(e.event_type != "view").astype("int64"),
    )
    per = e.groupby(["viewer_id", "device_id"], as_index=False).agg(
        sessions=("sessions", "sum"),
        inside_ms=("inside_ms", "sum"),
        events=("event_id", "size"),
        engagements=("engagements", "sum"),
    )
    devices = read_pandas(p["dim_device"], ["device_id", "device_type", "os"])
    j = per.merge(devices, on="device_id")
    g = j.groupby(["device_type", "os"], as_index=False).agg(
        users=("viewer_id", "nunique"),
        sessions=("sessions", "sum"),
        inside_ms=("inside_ms", "sum"),
        events=("events", "sum"),
        engagements=("engagements", "sum"),
    )
    return pd.DataFrame(
        {
            "device_type": g.device_type,
            "os": g.os,
            "users": g.users,
            "sessions": g.sessions,
            "avg_session_minutes": g.inside_ms / g.sessions / 60000.0,
            "events_per_session": g.events / g.sessions,
            "engagements_per_session": g.engagements / g.sessions,
            "sessions_per_user": g.sessions / g.users,
        }
    )


# ---------------------------------------------------------------------------------------------
# e-commerce: daily sales by category, on the stores' own days
# ---------------------------------------------------------------------------------------------
def _ecommerce_days():
    from datamodeling.ecommerce import metrics as m

    return m.FIRST_LOCAL_DAY, m.LAST_LOCAL_DAY


def ecommerce_sales_polars(p):
    pl = _pl()
    first, last = _ecommerce_days()
    cols = [
        "order_id",
        "local_date_key",
        "product_category_id",
        "count",
        "amt",
        "discount",
    ]
    lines = pl.scan_parquet(p["fact_order_line"]).select(cols)
    days = pl.scan_parquet(p["dim_date"]).select("date_key", order_date="calendar_date")
    days = days.filter(pl.col("order_date").is_between(first, last))
    cats = pl.scan_parquet(p["dim_product_category"]).select(
        "product_category_id", "category_name", "top_category_id", "top_category_name"
    )
    t = lines.join(days, left_on="local_date_key", right_on="date_key").join(
        cats, on="product_category_id"
    )
    return (
        t.group_by(
            "order_date",
            "product_category_id",
            "category_name",
            "top_category_id",
            "top_category_name",
        )
        .agg(
            orders=pl.col("order_id").n_unique().cast(pl.Int64),
            units=pl.col("count").sum(),
            gross_sales=pl.col("amt").sum(),
            discount=pl.col("discount").sum(),
            net_sales=(pl.col("amt") - pl.col("discount")).sum(),
        )
        .collect()
    )


def ecommerce_sales_pandas(p):
    first, last = _ecommerce_days()
    cols = [
        "order_id",
        "local_date_key",
        "product_category_id",
        "count",
        "amt",
        "discount",
    ]
    lines = read_pandas(p["fact_order_line"], cols)
    days = read_pandas(p["dim_date"], ["date_key", "calendar_date"])
    days = days[days.calendar_date.between(pd.Timestamp(first), pd.Timestamp(last))]
    cats = read_pandas(
        p["dim_product_category"],
        [
            "product_category_id",
            "category_name",
            "top_category_id",
            "top_category_name",
        ],
    )
    t = lines.merge(days, left_on="local_date_key", right_on="date_key").merge(
        cats, on="product_category_id"
    )
    t["net"] = t.amt - t.discount
    keys = ["calendar_date", "product_category_id", "category_name", "top_category_id"]
    keys.append("top_category_name")
    g = t.groupby(keys, as_index=False).agg(
        orders=("order_id", "nunique"),
        units=("count", "sum"),
        gross_sales=("amt", "sum"),
        discount=("discount", "sum"),
        net_sales=("net", "sum"),
    )
    for col in ("gross_sales", "discount", "net_sales"):
        g[col] = _cents_to_decimal(g[col])
    return g.rename(columns={"calendar_date": "order_date"})


# ---------------------------------------------------------------------------------------------
# streaming: viewing patterns by the viewer's local day of week and hour
# ---------------------------------------------------------------------------------------------
def _streaming_window():
    from datamodeling.streaming import metrics as m

    return m.WINDOW_START_KEY, m.WINDOW_END_KEY


def streaming_patterns_polars(p):
    pl = _pl()
    lo, hi = _streaming_window()
    h = pl.scan_parquet(p["fact_playback_hour"]).select(
        "local_date_key", "local_hour", "played_seconds", "user_id"
    )
    h = h.filter(pl.col("local_date_key").is_between(lo, hi, closed="left"))
    d = pl.scan_parquet(p["dim_date"]).select("date_key", "day_of_week", "day_name")
    n = (
        d.filter(pl.col("date_key").is_between(lo, hi, closed="left"))
        .group_by("day_of_week")
        .agg(days=pl.len().cast(pl.Int64))
    )
    v = h.join(d, left_on="local_date_key", right_on="date_key")
    out = v.group_by("day_of_week", "day_name", "local_hour").agg(
        played_seconds=pl.col("played_seconds").sum(),
        viewers=pl.col("user_id").n_unique().cast(pl.Int64),
    )
    out = out.join(n, on="day_of_week")
    hours = pl.col("played_seconds") / 3600.0
    return out.with_columns(
        hours_played=hours, hours_per_day=hours / pl.col("days")
    ).collect()


def streaming_patterns_pandas(p):
    lo, hi = _streaming_window()
    cols = ["local_date_key", "local_hour", "played_seconds", "user_id"]
    h = read_pandas(p["fact_playback_hour"], cols)
    h = h[(h.local_date_key >= lo) & (h.local_date_key < hi)]
    d = read_pandas(p["dim_date"], ["date_key", "day_of_week", "day_name"])
    n = (
        d[(d.date_key >= lo) & (d.date_key < hi)]
        .groupby("day_of_week")
        .size()
        .rename("days")
    )
    v = h.merge(d, left_on="local_date_key", right_on="date_key")
    out = v.groupby(["day_of_week", "day_name", "local_hour"], as_index=False).agg(
        played_seconds=("played_seconds", "sum"), viewers=("user_id", "nunique")
    )
    out = out.merge(n.reset_index(), on="day_of_week")
    out["hours_played"] = out.played_seconds / 3600.0
    out["hours_per_day"] = out.hours_played / out.days
    return out


# ---------------------------------------------------------------------------------------------
# ride-sharing: ride metrics by city and local hour (the local hour computed from UTC)
# ---------------------------------------------------------------------------------------------
#: The book's ride-sharing SQL is the expert query (one time zone conversion per city and
#: 15-minute bucket); the first query, one conversion per request, is its ``NAIVE_SQL``.


def _ride_local_hours(buckets: pd.DataFrame, cities: pd.DataFrame) -> pd.DataFrame:
    """Local hour per (city, 15-minute UTC bucket): one conversion per time zone and bucket."""
    out = []
    for city_id, tz in zip(cities.city_id, cities.time_zone, strict=True):
        b = buckets[buckets.city_id == city_id]
        zone = tz if city_id > 0 else "UTC"
        local = b.bucket.dt.tz_localize("UTC").dt.tz_convert(zone).dt.hour
        out.append(b.assign(local_hour=local.astype("int64")))
    return pd.concat(out, ignore_index=True)


def rideshare_rides_polars(p):
    pl = _pl()
    cols = [
        "city_id",
        "trip_flags_key",
        "requested_at",
        "trip_miles",
        "trip_duration_ms",
    ]
    t = pl.scan_parquet(p["fact_trip"]).select([*cols, "base_passenger_fare"])
    t = t.with_columns(bucket=pl.col("requested_at").dt.truncate("15m"))
    flags = pl.scan_parquet(p["dim_trip_flags"]).select(
        "trip_flags_key", "outcome", "cancelled_by"
    )
    cities = pl.read_parquet(
        p["dim_city"], columns=["city_id", "city_name", "time_zone"]
    )
    buckets = t.select("city_id", "bucket").unique().collect()
    parts = []
    for city_id, tz in zip(cities["city_id"], cities["time_zone"], strict=True):
        zone = tz if city_id > 0 else "UTC"
        parts.append(
            buckets.filter(pl.col("city_id") == city_id).with_columns(
                local_hour=pl.col("bucket")
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(zone)
                .dt.hour()
                .cast(pl.Int64)
            )
        )
    local = pl.concat(parts).lazy().join(cities.lazy(), on="city_id")
    j = t.join(flags, on="trip_flags_key").join(local, on=["city_id", "bucket"])
    done = pl.col("outcome") == "completed"
    g = j.group_by("city_name", "local_hour").agg(
        requests=pl.len().cast(pl.Int64),
        completed_trips=done.sum().cast(pl.Int64),
        cancelled=(pl.col("cancelled_by") != "not cancelled").sum(),
        avg_trip_miles=pl.col("trip_miles").cast(pl.Float64).filter(done).mean(),
        avg_trip_minutes=(pl.col("trip_duration_ms") / 60000).filter(done).mean(),
        avg_fare=pl.col("base_passenger_fare").cast(pl.Float64).filter(done).mean(),
        total_fares=pl.col("base_passenger_fare").filter(done).sum(),
    )
    return g.select(
        "city_name",
        "local_hour",
        "requests",
        "completed_trips",
        completion_rate=pl.col("completed_trips") / pl.col("requests"),
        cancellation_rate=pl.col("cancelled") / pl.col("requests"),
        avg_trip_miles="avg_trip_miles",
        avg_trip_minutes="avg_trip_minutes",
        avg_fare="avg_fare",
        total_fares="total_fares",
    ).collect()


def rideshare_rides_pandas(p):
    cols = [
        "city_id",
        "trip_flags_key",
        "requested_at",
        "trip_miles",
        "trip_duration_ms",
    ]
    t = read_pandas(p["fact_trip"], [*cols, "base_passenger_fare"])
    t["bucket"] = t.requested_at.dt.floor("15min")
    flags = read_pandas(
        p["dim_trip_flags"], ["trip_flags_key", "outcome", "cancelled_by"]
    )
    cities = read_pandas(p["dim_city"], ["city_id", "city_name", "time_zone"])
    buckets = t[["city_id", "bucket"]].drop_duplicates()
    local = _ride_local_hours(buckets, cities).merge(cities[["city_id", "city_name"]])
    j = t.merge(flags, on="trip_flags_key").merge(local, on=["city_id", "bucket"])
    done = j.outcome == "completed"
    j = j.assign(
        done=done.astype("int64"),
        cancelled=(j.cancelled_by.notna() & (j.cancelled_by != "not cancelled")).astype(
            "int64"
        ),
        miles=j.trip_miles.where(done) / 100.0,
        minutes=(j.trip_duration_ms / 60000).where(done),
        fare=j.base_passenger_fare.where(done) / 100.0,
        fare_cents=j.base_passenger_fare.where(done, 0),
    )
    g = j.groupby(["city_name", "local_hour"], as_index=False).agg(
        requests=("done", "size"),
        completed_trips=("done", "sum"),
        cancelled=("cancelled", "sum"),
        avg_trip_miles=("miles", "mean"),
        avg_trip_minutes=("minutes", "mean"),
        avg_fare=("fare", "mean"),
        total_fares=("fare_cents", "sum"),
    )
    g["completion_rate"] = g.completed_trips / g.requests
    g["cancellation_rate"] = g.cancelled / g.requests
    g["total_fares"] = _cents_to_decimal(g.total_fares)
    return g.drop(columns="cancelled")


# ---------------------------------------------------------------------------------------------
# tasks
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Task:
    practice: str
    name: str  # the metric
    label: str
    tables: dict[str, list[str]]  # Parquet exports: table -> columns
    polars: Callable
    pandas: Callable
    fast_sql: str | None = (
        None  # a DuckDB query faster than the book's, where there is one
    )


_EVENTS = [
    "viewer_id",
    "device_id",
    "event_id",
    "event_time",
    "event_type",
    "event_date",
]
_DAYS = ["date_key", "calendar_date"]

TASKS = [
    Task(
        "social",
        "dau",
        "DAU per day",
        {"fact_content_event": ["viewer_id", "event_date"], "dim_date": _DAYS},
        social_dau_polars,
        social_dau_pandas,
    ),
    Task(
        "social",
        "mau",
        "rolling 28-day MAU, every day (and calendar months)",
        {"fact_content_event": ["viewer_id", "event_date"], "dim_date": _DAYS},
        social_mau_polars,
        social_mau_pandas,
    ),
    Task(
        "social",
        "churn_rate",
        "monthly churn",
        {"fact_content_event": ["viewer_id", "event_date"], "dim_date": _DAYS},
        social_churn_polars,
        social_churn_pandas,
    ),
    Task(
        "social",
        "device_behavior",
        "sessions (30-minute gap) by device",
        {
            "fact_content_event": _EVENTS,
            "dim_device": ["device_id", "device_type", "os"],
        },
        social_sessions_polars,
        social_sessions_pandas,
    ),
    Task(
        "ecommerce",
        "daily_sales_by_category",
        "daily sales by category (local days)",
        {
            "fact_order_line": [
                "order_id",
                "local_date_key",
                "product_category_id",
                "count",
                "amt",
                "discount",
            ],
            "dim_date": _DAYS,
            "dim_product_category": [
                "product_category_id",
                "category_name",
                "top_category_id",
                "top_category_name",
            ],
        },
        ecommerce_sales_polars,
        ecommerce_sales_pandas,
    ),
    Task(
        "streaming",
        "viewing_patterns",
        "viewing by local weekday and hour",
        {
            "fact_playback_hour": [
                "local_date_key",
                "local_hour",
                "played_seconds",
                "user_id",
            ],
            "dim_date": ["date_key", "day_of_week", "day_name"],
        },
        streaming_patterns_polars,
        streaming_patterns_pandas,
    ),
    Task(
        "rideshare",
        "ride_metrics",
        "ride metrics by city and local hour",
        {
            "fact_trip": [
                "city_id",
                "trip_flags_key",
                "requested_at",
                "trip_miles",
                "trip_duration_ms",
                "base_passenger_fare",
            ],
            "dim_trip_flags": ["trip_flags_key", "outcome", "cancelled_by"],
            "dim_city": ["city_id", "city_name", "time_zone"],
        },
        rideshare_rides_polars,
        rideshare_rides_pandas,
    ),
]


def metric_of(task: Task):
    return registry.get_practice(task.practice).metrics[task.name]


def _metrics_module(task: Task):
    return registry.get_practice(task.practice).module("metrics")


def engines(task: Task) -> list[str]:
    """The engines of a task, in the order they are timed and printed."""
    mod = _metrics_module(task)
    out = ["book Ibis"]
    if task.name in getattr(mod, "MART_SQL", {}):
        out.append("Ibis from facts")
    if task.name in getattr(mod, "NAIVE_SQL", {}):
        out.append("naive SQL")
    out.append("book SQL")
    if task.fast_sql:
        out.append("fast SQL")
    return [*out, "Polars", "pandas"]


def runner(
    task: Task, engine: str, con, parquet: dict[str, Path]
) -> Callable[[], object]:
    """A function of no argument that runs one engine once and returns its native result."""
    m = metric_of(task)
    mod = _metrics_module(task)
    if engine == "book Ibis":
        return lambda: m.table(con).to_pyarrow()
    if engine == "Ibis from facts":
        return lambda: m.table(con, source="facts").to_pyarrow()
    sql = {
        "naive SQL": getattr(mod, "NAIVE_SQL", {}).get(task.name),
        "book SQL": m.sql,
        "fast SQL": task.fast_sql,
    }.get(engine)
    if sql is not None:
        return lambda: con.raw_sql(sql).to_arrow_table()
    if engine == "Polars":
        return lambda: task.polars(parquet)
    if engine == "pandas":
        return lambda: task.pandas(parquet)
    raise ValueError(engine)


def to_pandas(result) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    return result.to_pandas()


def export_parquet(
    db: str | Path, practice: str, folder: Path, con=None
) -> dict[str, Path]:
    """Export the tables the practice's tasks read, once, to Parquet files in ``folder``.

    ``con``: an open Ibis connection to ``db`` to use (DuckDB refuses a second connection to a
    file with other settings in the same process).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, set[str]] = {}
    for task in TASKS:
        if task.practice == practice:
            for table, cols in task.tables.items():
                wanted.setdefault(table, set()).update(cols)
    paths = {}
    own = con is None
    con = con or warehouse.connect(db, read_only=True)
    try:
        for table, cols in wanted.items():
            path = folder / f"{practice}-{table}.parquet"
            if not path.exists():
                col_list = ", ".join(f'"{c}"' for c in sorted(cols))
                con.raw_sql(
                    f"COPY (SELECT {col_list} FROM {table}) TO '{path}' (FORMAT parquet)"
                )
            paths[table] = path
    finally:
        if own:
            con.disconnect()
    return paths


def run_once(task: Task, db: str | Path, parquet: dict[str, Path], con=None) -> dict:
    """Every engine once: engine -> result as a pandas DataFrame."""
    own = con is None
    con = con or warehouse.connect(db, read_only=True)
    try:
        return {e: to_pandas(runner(task, e, con, parquet)()) for e in engines(task)}
    finally:
        if own:
            con.disconnect()


def disagreement(task: Task, results: dict[str, pd.DataFrame]) -> str | None:
    """None when every engine gives the book SQL's rows, else which engine differs and how."""
    reference = results["book SQL"]
    if len(reference) == 0:
        return "the book's SQL returned no rows"
    for engine, df in results.items():
        problem = compare(reference, df, rtol=RTOL)
        if problem is not None:
            return f"{engine}: {problem}"
    return None


# ---------------------------------------------------------------------------------------------
# memory: one run in a fresh child process
# ---------------------------------------------------------------------------------------------
def _child(args: list[str]) -> None:
    task_name, engine, db, folder = args
    if task_name.startswith("pair:"):
        practice, name = task_name.removeprefix("pair:").split(".")
        con = warehouse.connect(db, read_only=True)
        fn = pair_runner(practice, name, engine, con)
    else:
        task = next(t for t in TASKS if f"{t.practice}.{t.name}" == task_name)
        con = warehouse.connect(db, read_only=True)
        parquet = export_parquet(db, task.practice, Path(folder), con)
        fn = runner(task, engine, con, parquet)
    import polars  # noqa: F401  (every child imports the same libraries before its baseline)
    import pyarrow.parquet  # noqa: F401

    reset_peak_memory()
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "memory_mb": (peak - before) / 1024}))


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_memory() -> None:
    """Reset the process's peak resident memory (VmHWM) to its current resident memory.

    Without it, a peak reached while importing the libraries would hide a smaller query's own
    peak: ``ru_maxrss`` and VmHWM only ever grow. Writing 5 to /proc/self/clear_refs resets the
    peak (Linux 4.0 and later).
    """
    Path("/proc/self/clear_refs").write_text("5")


def memory_in_child(task: Task | str, engine: str, db: Path, folder: Path) -> float:
    """Peak memory of one run in a child; ``task`` is a Task or "pair:PRACTICE.METRIC"."""
    name = task if isinstance(task, str) else f"{task.practice}.{task.name}"
    code = [sys.executable, __file__, "--child", name, engine]
    out = subprocess.run(
        [*code, str(db), str(folder)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["memory_mb"]


# ---------------------------------------------------------------------------------------------
# naive and expert pairs: the first query a candidate writes against the book's
# ---------------------------------------------------------------------------------------------
PAIR_ENGINES = ["naive SQL", "book SQL"]


def naive_pairs(practices=None) -> list[tuple[str, str]]:
    """(practice, metric) of every metric whose practice keeps its first query in NAIVE_SQL."""
    out = []
    for practice in practices or registry.practices():
        module = registry.get_practice(practice).module("metrics")
        out += [(practice, name) for name in getattr(module, "NAIVE_SQL", {})]
    return out


def pair_sql(practice: str, name: str, engine: str) -> str:
    p = registry.get_practice(practice)
    if engine == "naive SQL":
        return p.module("metrics").NAIVE_SQL[name]
    if engine == "book SQL":
        return p.metrics[name].sql
    raise ValueError(engine)


def pair_runner(practice: str, name: str, engine: str, con) -> Callable[[], object]:
    sql = pair_sql(practice, name, engine)
    return lambda: con.raw_sql(sql).to_arrow_table()


def run_pairs(pairs, dbs, cons, reps: int, memory: bool, tmp: Path) -> dict:
    """Check, time and measure every pair; print the table; return the figures and their meta."""
    loads = [load()]
    rows_of = {}
    for practice, name in pairs:
        con = cons[practice]
        naive = con.raw_sql(pair_sql(practice, name, "naive SQL")).df()
        book = con.raw_sql(pair_sql(practice, name, "book SQL")).df()
        if len(book) == 0:
            sys.exit(
                f"{practice}.{name}: the book's SQL returned no rows, no time printed"
            )
        problem = compare(book, naive, rtol=RTOL)
        if problem is not None:
            sys.exit(
                f"{practice}.{name}: first and book SQL disagree, no time printed. {problem}"
            )
        rows_of[practice, name] = len(book)
        print(
            f"agree: {practice}.{name}: first and book SQL, {len(book):,} rows",
            flush=True,
        )
    times = {(p, n, e): [] for p, n in pairs for e in PAIR_ENGINES}
    for rep in range(reps):
        for practice, name in pairs:
            for engine in PAIR_ENGINES:
                fn = pair_runner(practice, name, engine, cons[practice])
                start = time.perf_counter()
                fn()
                times[practice, name, engine].append(time.perf_counter() - start)
        loads.append(load())
        print(
            f"pairs: round {rep + 1}/{reps} done, load average {loads[-1]:.1f}",
            flush=True,
        )
    mem = {}
    if memory:
        for practice, name in pairs:
            for engine in PAIR_ENGINES:
                mem[practice, name, engine] = memory_in_child(
                    f"pair:{practice}.{name}", engine, dbs[practice], tmp
                )
        loads.append(load())
    figures = []
    print(
        "\nfirst query (naive SQL) against the book's (the expert's), median seconds, memory"
    )
    for practice, name in pairs:
        med = {e: statistics.median(times[practice, name, e]) for e in PAIR_ENGINES}
        cells = []
        for engine in PAIR_ENGINES:
            m = mem.get((practice, name, engine))
            cells.append(f"{med[engine]:8.3f} s {'' if m is None else f'{m:6.0f} MB'}")
            figures.append(
                {
                    "practice": practice,
                    "metric": name,
                    "engine": engine,
                    "seconds": med[engine],
                    "runs": times[practice, name, engine],
                    "memory_mb": m,
                    "rows": rows_of[practice, name],
                }
            )
        speedup = med["naive SQL"] / med["book SQL"]
        print(
            f"  {practice + '.' + name:<36} {cells[0]}  ->  {cells[1]}  x{speedup:5.1f}"
        )
    print(
        "load average (1 min) before, after each round and after memory runs: "
        + ", ".join(f"{x:.1f}" for x in loads)
    )
    return {"load_average": loads, "reps": reps, "figures": figures}


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------
def load() -> float:
    return os.getloadavg()[0]


def ensure_warehouse(practice: str, scale: str, folder: Path) -> Path:
    db = folder / f"{practice}-{scale}.duckdb"
    if not db.exists():
        print(f"building {practice} at scale {scale} into {db}", flush=True)
        warehouse.build_database(practice, db, scale=scale)
    return db


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument(
        "--db-dir",
        type=Path,
        help="warehouses PRACTICE-SCALE.duckdb (built if missing)",
    )
    parser.add_argument(
        "--reps", type=int, default=3, help="timed runs per engine (median)"
    )
    parser.add_argument("--tasks", nargs="*", help="PRACTICE.METRIC, default: all")
    parser.add_argument(
        "--part",
        choices=["tasks", "pairs", "both"],
        default="both",
        help="the peer tasks, the first-vs-book query pairs, or both (default)",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the child-process runs"
    )
    parser.add_argument(
        "--out", type=Path, help="write the figures as JSON (for the book)"
    )
    args = parser.parse_args(argv)

    tasks = [
        t for t in TASKS if not args.tasks or f"{t.practice}.{t.name}" in args.tasks
    ]
    tasks = tasks if args.part in ("tasks", "both") else []
    pairs = naive_pairs() if args.part in ("pairs", "both") else []
    if args.tasks:
        pairs = [(p, n) for p, n in pairs if f"{p}.{n}" in args.tasks]
    tmp = tempfile.TemporaryDirectory(prefix="peer-")
    db_dir = args.db_dir or Path(tmp.name)
    parquet_dir = Path(tmp.name) / "parquet"
    dbs, parquet, cons = {}, {}, {}
    for practice in dict.fromkeys(
        [*(t.practice for t in tasks), *(p for p, _ in pairs)]
    ):
        dbs[practice] = ensure_warehouse(practice, args.scale, db_dir)
        cons[practice] = warehouse.connect(dbs[practice], read_only=True)
        if any(t.practice == practice for t in tasks):
            parquet[practice] = export_parquet(
                dbs[practice], practice, parquet_dir, cons[practice]
            )
    command = "PYTHONPATH=src python benchmarks/peer.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    meta = {
        "scale": args.scale,
        "reps": args.reps,
        "cores": os.cpu_count(),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
    }
    out = {}
    if args.out and args.out.exists():
        out = json.loads(args.out.read_text())  # the parts not run this time are kept

    def merged(old: dict | None, figures: list, loads: list) -> dict:
        """The part's figures; with --tasks, the other tasks' rows of ``old`` are kept and
        the rerun is recorded beside the first run's meta."""
        if not (args.tasks and old):
            return {"meta": {**meta, "load_average": loads}, "figures": figures}
        rerun = {(r["practice"], r["metric"]) for r in figures}
        kept = [r for r in old["figures"] if (r["practice"], r["metric"]) not in rerun]
        reruns = [*old.get("reruns", []), {**meta, "load_average": loads}]
        return {"meta": old["meta"], "figures": kept + figures, "reruns": reruns}

    if tasks:
        figures, loads = run_tasks(tasks, dbs, parquet, cons, args, parquet_dir)
        old = {k: out[k] for k in ("meta", "figures", "reruns") if k in out}
        out.update(merged(old if "figures" in old else None, figures, loads))
    if pairs:
        result = run_pairs(pairs, dbs, cons, args.reps, not args.no_memory, parquet_dir)
        out["pairs"] = merged(
            out.get("pairs"), result["figures"], result["load_average"]
        )
    print(f"cores: {os.cpu_count()}; scale: {args.scale}; runs per engine: {args.reps}")
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {args.out}")
    for con in cons.values():
        con.disconnect()
    tmp.cleanup()


def run_tasks(
    tasks, dbs, parquet, cons, args, parquet_dir
) -> tuple[list[dict], list[float]]:
    """Check, time and measure every engine of every task; print the table."""
    # 1. every engine agrees with the book's SQL, or nothing is timed
    rows_of = {}
    for task in tasks:
        results = run_once(
            task, dbs[task.practice], parquet[task.practice], cons[task.practice]
        )
        problem = disagreement(task, results)
        if problem:
            sys.exit(
                f"{task.practice}.{task.name}: engines disagree, no time printed. {problem}"
            )
        rows_of[task] = len(results["book SQL"])
        print(
            f"agree: {task.practice}.{task.name}: {len(results)} engines, "
            f"{rows_of[task]:,} rows each",
            flush=True,
        )

    # 2. times, round-robin over every engine of every task
    times = {(t, e): [] for t in tasks for e in engines(t)}
    loads = [load()]
    for rep in range(args.reps):
        for task in tasks:
            for engine in engines(task):
                fn = runner(task, engine, cons[task.practice], parquet[task.practice])
                start = time.perf_counter()
                fn()
                times[task, engine].append(time.perf_counter() - start)
        loads.append(load())
        print(
            f"round {rep + 1}/{args.reps} done, load average {loads[-1]:.1f}",
            flush=True,
        )

    # 3. memory, one fresh child process per engine and task
    memory = {}
    if not args.no_memory:
        for task in tasks:
            for engine in engines(task):
                memory[task, engine] = memory_in_child(
                    task, engine, dbs[task.practice], parquet_dir
                )
        loads.append(load())

    # 4. the table
    figures = []
    for task in tasks:
        med = {e: statistics.median(times[task, e]) for e in engines(task)}
        peers = [med[e] for e in ("fast SQL", "Polars") if e in med]
        if "fast SQL" not in med:  # the book's SQL is the fastest DuckDB query we have
            peers.append(med["book SQL"])
        best = min(peers)
        print(f"\n{task.practice}.{task.name}: {task.label} ({rows_of[task]:,} rows)")
        for engine in engines(task):
            mem = memory.get((task, engine))
            mem_text = f"{mem:7.0f} MB" if mem is not None else "      -   "
            print(
                f"  {engine:<16} {med[engine]:8.3f} s  {mem_text}  "
                f"x{med[engine] / best:5.2f} of the fastest of (fast SQL, Polars)"
            )
            figures.append(
                {
                    "practice": task.practice,
                    "metric": task.name,
                    "task": task.label,
                    "engine": engine,
                    "seconds": med[engine],
                    "runs": times[task, engine],
                    "memory_mb": mem,
                    "ratio_to_fastest": med[engine] / best,
                }
            )
        print(
            f"  book SQL / fastest of (fast SQL, Polars) = {med['book SQL'] / best:.2f} (target 1.5)"
        )
    load_text = ", ".join(f"{x:.1f}" for x in loads)
    print(
        f"\nload average (1 min) before, after each round and after memory runs: {load_text}"
    )
    return figures, loads


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        main()
