"""Date and time dimensions, and local time.

Both dimensions are small and fully derived, so they are generated rather than loaded: the date
dimension has one row per day between two dates, the time dimension one row per minute (1,440
rows) or per second (86,400 rows) of a day. Facts carry ``date_key`` (``yyyymmdd``) and
``time_key`` (``hhmmss``) integers, readable and sortable, and join to them with a plain
equi-join. Both dimensions also get the reserved Unknown (-1) and Not applicable (-2) rows when a
build adds them with ``DATE_TABLE.with_special_members``.

Timestamps are stored in UTC. Where a requirement means the local day or hour of a place (a
store's daily sales, a city's rush hour), the fact also carries a local date key and hour: Kimball's
dual date keys. :func:`utc_offsets` lists, per IANA time zone, the periods with one UTC offset
(daylight saving time splits a year in three), and :func:`with_local_time` applies them with a
range join, in plain Ibis, so the same code runs on DuckDB and on Spark.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from datamodeling.schema import Column, Table

DAY_PARTS = [(0, "night"), (6, "morning"), (12, "afternoon"), (18, "evening")]


def date_dimension(start, end) -> pd.DataFrame:
    """One row per day from ``start`` to ``end``, both included."""
    days = pd.date_range(
        pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="D"
    )
    if len(days) == 0:
        raise ValueError(f"date_dimension: end {end} is before start {start}")
    iso = days.isocalendar()
    return pd.DataFrame(
        {
            "date_key": (days.year * 10000 + days.month * 100 + days.day).astype(
                "int64"
            ),
            "calendar_date": days.date,
            "year": days.year.astype("int64"),
            "quarter": days.quarter.astype("int64"),
            "month": days.month.astype("int64"),
            "month_name": days.strftime("%B"),
            "day": days.day.astype("int64"),
            "day_of_week": (days.dayofweek + 1).astype("int64"),
            "day_name": days.strftime("%A"),
            "iso_week": iso.week.to_numpy().astype("int64"),
            "is_weekend": days.dayofweek >= 5,
            "week_start": (days - pd.to_timedelta(days.dayofweek, unit="D")).date,
            "month_start": days.to_period("M").to_timestamp().date,
        }
    )


def time_dimension(resolution: str = "minute") -> pd.DataFrame:
    """One row per minute (or second) of the day."""
    step = {"minute": 60, "second": 1}.get(resolution)
    if step is None:
        raise ValueError(
            f"time_dimension: resolution must be 'minute' or 'second', got {resolution!r}"
        )
    seconds = np.arange(0, 86_400, step)
    hour, minute, second = seconds // 3600, seconds // 60 % 60, seconds % 60
    bounds = [h for h, _ in DAY_PARTS]
    names = np.array([n for _, n in DAY_PARTS])
    return pd.DataFrame(
        {
            "time_key": (hour * 10000 + minute * 100 + second).astype("int64"),
            "hour": hour.astype("int64"),
            "minute": minute.astype("int64"),
            "second": second.astype("int64"),
            "day_part": names[np.searchsorted(bounds, hour, side="right") - 1],
        }
    )


DATE_TABLE = Table(
    "date",
    role="dimension",
    grain="One row per calendar day.",
    columns=[
        Column(
            "date_key", "int64", "Day as yyyymmdd, the key facts carry.", nullable=False
        ),
        Column(
            "calendar_date",
            "date",
            "The day (NULL on the Unknown / Not applicable rows).",
        ),
        Column("year", "int64", "Calendar year."),
        Column("quarter", "int64", "Quarter, 1-4."),
        Column("month", "int64", "Month, 1-12."),
        Column("month_name", "string", "Month name, e.g. January."),
        Column("day", "int64", "Day of the month."),
        Column("day_of_week", "int64", "ISO day of week: 1 = Monday ... 7 = Sunday."),
        Column("day_name", "string", "Day name, e.g. Monday."),
        Column("iso_week", "int64", "ISO week number."),
        Column("is_weekend", "boolean", "Saturday or Sunday."),
        Column("week_start", "date", "Monday of the day's week."),
        Column("month_start", "date", "First day of the day's month."),
    ],
    primary_key=["date_key"],
    business_key=["calendar_date"],
    scd_type=0,
    description="Generated calendar; never changes once written (SCD type 0).",
)

TIME_TABLE = Table(
    "time",
    role="dimension",
    grain="One row per minute (or second) of the day.",
    columns=[
        Column("time_key", "int64", "Time of day as hhmmss.", nullable=False),
        Column("hour", "int64", "Hour, 0-23."),
        Column("minute", "int64", "Minute, 0-59."),
        Column("second", "int64", "Second, 0-59."),
        Column(
            "day_part",
            "string",
            "night (0-6h), morning (6-12h), afternoon (12-18h), evening.",
        ),
    ],
    primary_key=["time_key"],
    scd_type=0,
)


def utc_offsets(time_zones, start, end) -> pd.DataFrame:
    """The UTC offset of each time zone over ``[start, end)``: one row per period of one offset.

    Columns: ``time_zone``, ``utc_from`` (inclusive), ``utc_to`` (exclusive), both UTC, and
    ``utc_offset_seconds`` (local = UTC + offset). Found by probing every hour with
    :mod:`zoneinfo`: every real zone changes offset on the hour. The first period starts at
    ``start`` and the last ends at ``end``; pad both by a day around the data.
    """
    lo = pd.Timestamp(start).to_pydatetime().replace(tzinfo=timezone.utc)
    hi = pd.Timestamp(end).to_pydatetime().replace(tzinfo=timezone.utc)
    if hi <= lo:
        raise ValueError(f"utc_offsets: end {end} is not after start {start}")
    rows = []
    for name in sorted(set(time_zones)):
        zone = ZoneInfo(name)
        hours = int((hi - lo).total_seconds() // 3600)
        period_start, current = lo, lo.astimezone(zone).utcoffset()
        for h in range(1, hours + 1):
            at = lo + timedelta(hours=h)
            offset = at.astimezone(zone).utcoffset()
            if offset != current:
                rows.append((name, period_start, at, current))
                period_start, current = at, offset
        rows.append((name, period_start, hi, current))
    frame = pd.DataFrame(rows, columns=["time_zone", "utc_from", "utc_to", "offset"])
    for column in ("utc_from", "utc_to"):
        frame[column] = frame[column].dt.tz_localize(None).astype("datetime64[us]")
    frame["utc_offset_seconds"] = frame.pop("offset").dt.total_seconds().astype("int64")
    return frame


def with_local_time(
    table: ir.Table, at: str, zone: str, offsets: ir.Table, *, name: str | None = None
) -> ir.Table:
    """Add ``name`` (default ``<at>_local``): the UTC timestamp ``at`` in the row's time zone.

    ``zone`` names the column holding the IANA time zone (joined from the store or city);
    ``offsets`` is :func:`utc_offsets` as a table. A row whose zone is unknown (NULL, or the
    Unknown member's label) keeps UTC, so the local keys are never NULL; say so where it matters.
    """
    name = name or f"{at}_local"
    o = offsets.select(
        _tz=offsets.time_zone,
        _from=offsets.utc_from,
        _to=offsets.utc_to,
        _offset=offsets.utc_offset_seconds,
    )
    ts = table[at].cast("timestamp")
    joined = table.left_join(o, [table[zone] == o._tz, o._from <= ts, ts < o._to])
    seconds = joined._offset.fill_null(0)
    local = joined[at].cast("timestamp") + seconds.as_interval("s")
    return joined.mutate(**{name: local}).drop("_tz", "_from", "_to", "_offset")


def date_key(ts: ir.TimestampValue | ir.DateValue) -> ir.IntegerValue:
    """The ``yyyymmdd`` key of the date dimension for a timestamp or date expression."""
    return (ts.year() * 10000 + ts.month() * 100 + ts.day()).cast("int64")
