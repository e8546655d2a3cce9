"""Build the ride-sharing warehouse: raw -> clean + quarantine -> dimensions and facts -> marts.

1. ``generate`` hands over what the source systems would: the dispatch event log, the pricing
   service's quotes, the billing system's fares, the driver app's status log and driver table
   changes, the surge engine's log, riders, cities and zones. They land unchanged in ``raw``.
2. Cleaning, with every rejected row kept in ``quarantine`` with its reason:
   ``duplicate_event`` (an event delivered twice: the first delivery is kept),
   ``unknown_zone`` (the pickup zone id is not a zone: the whole request is held back, in every
   source, since a trip with no place cannot be sliced by city or zone),
   ``completed_without_start`` (a completed trip whose ``started`` event never arrived: its
   duration cannot be measured; the whole request is held back until the event turns up).
   Per source, rows in = rows loaded + rows quarantined.
3. Dimensions (``dim_driver`` is SCD2, built with :func:`datamodeling.scd2.build_scd2`), the
   transaction fact of events, the accumulating snapshot of trips, the driver status fact, the
   periodic snapshot of supply and demand per zone and 5 minutes, the surge fact.
4. Marts: ``mart.driver_daily``, ``mart.rider_monthly``, ``mart.city_hourly``.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from datamodeling import calendar, scd2
from datamodeling.registry import BuildReport

from . import generate as gen
from . import schema

T0 = pd.Timestamp(gen.START)
T0_US = int(gen.START.astype(np.int64))
STEP_US = gen.INTERVAL_MINUTES * 60 * 1_000_000
DRIVER_ATTRIBUTES = [
    "vehicle_make",
    "vehicle_model",
    "vehicle_type",
    "city_id",
    "driver_status",
    "driver_type",
]


@ibis.udf.scalar.builtin(signature=((dt.timestamp,), dt.int64))
def epoch_us(ts):
    """DuckDB's ``epoch_us``: microseconds since 1970, exact (``epoch_seconds`` truncates)."""


def seconds_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """``end - start`` in seconds, to the microsecond."""
    return (epoch_us(end) - epoch_us(start)) / 1e6


def interval_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Number of the 5-minute interval holding ``ts`` (0 = 2025-01-01 00:00)."""
    return (epoch_us(ts) - T0_US) // STEP_US


def date_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    return (ts.year() * 10000 + ts.month() * 100 + ts.day()).cast("int64")


def time_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    return (ts.hour() * 10000 + ts.minute() * 100).cast("int64")


# --------------------------------------------------------------------------------------------
# cleaning
# --------------------------------------------------------------------------------------------


def first_delivery(t: ir.Table, key: str) -> ir.Table:
    """Number the deliveries of each ``key`` by arrival: ``_copy`` 0 is the first."""
    w = ibis.window(group_by=key, order_by=[t.ingested_at, t.event_time])
    return t.mutate(_copy=ibis.row_number().over(w))


def held_back_trips(events: ir.Table, quotes: ir.Table, zones: ir.Table) -> ir.Table:
    """Trips to hold back, one reason each: unknown pickup zone, or completed with no start."""
    unknown = quotes.anti_join(zones, quotes.pickup_zone_id == zones.zone_id).select(
        "trip_id", reason=ibis.literal("unknown_zone"), priority=ibis.literal(1)
    )
    per_trip = events.group_by("trip_id").aggregate(
        completed=(events.event_type == "completed").any(),
        started=(events.event_type == "started").any(),
    )
    no_start = per_trip.filter(per_trip.completed & ~per_trip.started).select(
        "trip_id", reason=ibis.literal("completed_without_start"), priority=ibis.literal(2)
    )
    both = unknown.union(no_start)
    w = ibis.window(group_by="trip_id", order_by="priority")
    both = both.mutate(_n=ibis.row_number().over(w))
    return both.filter(both._n == 0).select("trip_id", "reason")


def tag_reasons(t: ir.Table, held: ir.Table, *, dedupe: bool) -> ir.Table:
    """Add ``reason`` (null for a row to load): a later delivery first, then the trip's reason.

    With ``dedupe``, ``t`` carries ``_copy`` from :func:`first_delivery`.
    """
    h = held.rename(held_reason="reason", held_trip="trip_id")
    t = t.left_join(h, t.trip_id == h.held_trip)
    reason = t.held_reason
    if dedupe:
        reason = ibis.ifelse(t._copy > 0, ibis.literal("duplicate_event"), reason)
    return t.mutate(reason=reason).drop("held_reason", "held_trip")


# --------------------------------------------------------------------------------------------
# dimensions
# --------------------------------------------------------------------------------------------


def dim_zone(zones: ir.Table, cities: ir.Table) -> ir.Table:
    z = zones.join(cities.select("city_id", "city_name"), "city_id")
    return z.select(
        "zone_id",
        "city_id",
        "city_name",
        "zone_name",
        "hex_q",
        "hex_r",
        is_centre=(z.hex_q == 0) & (z.hex_r == 0),
        latitude=z.latitude,
        longitude=z.longitude,
    )


def dim_driver(changes: ir.Table) -> ir.Table:
    built = scd2.build_scd2(
        changes, "driver_id", DRIVER_ATTRIBUTES, at="changed_at", deleted=None, sk="driver_sk"
    )
    return built.select(schema.DIM_DRIVER.column_names)


def applied_driver_changes(changes: ir.Table, drivers: ir.Table) -> ir.Table:
    """The change records that ``dim_driver`` reflects: the version valid at a record's time
    carries the record's attributes. A re-send of unchanged attributes is absorbed by the version
    already open, so it counts as applied; a record the dimension lost does not."""
    preds = [
        changes.driver_id == drivers.driver_id,
        drivers.valid_from <= changes.changed_at,
        changes.changed_at < drivers.valid_to,
        *[changes[a].identical_to(drivers[a]) for a in DRIVER_ATTRIBUTES],
    ]
    return changes.semi_join(drivers, preds)


def dim_rider(riders: ir.Table, trips: ir.Table) -> ir.Table:
    first = trips.group_by("rider_id").aggregate(first_request_at=trips.requested_at.min())
    r = riders.left_join(first, "rider_id")
    return r.select(
        "rider_id",
        "signup_at",
        "signup_channel",
        "home_city_id",
        "first_request_at",
        cohort_month=r.first_request_at.truncate("M").date(),
    )


# --------------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------------


def fact_trip_events(events: ir.Table) -> ir.Table:
    e = events.mutate(date_key=date_key(events.event_time), time_key=time_key(events.event_time))
    return e.select(schema.FACT_TRIP_EVENTS.column_names)


def trip_milestones(events: ir.Table) -> ir.Table:
    """Pivot the event fact into one row per trip: a timestamp per milestone."""
    e = events

    def at(kind):
        return e.event_time.min(where=e.event_type == kind)

    return e.group_by("trip_id").aggregate(
        requested_at=at("requested"),
        accepted_at=at("accepted"),
        arrived_at=at("arrived"),
        started_at=at("started"),
        completed_at=at("completed"),
        cancelled_at=at("cancelled"),
        expired_at=at("expired"),
        driver_id=e.driver_id.max(where=e.event_type == "accepted"),
        cancelled_by=e.cancelled_by.max(where=e.event_type == "cancelled"),
        declined_offers=(e.event_type == "declined").sum().cast("int64"),
    )


def fact_trips(
    events: ir.Table, quotes: ir.Table, fares: ir.Table, zones: ir.Table, drivers: ir.Table
) -> ir.Table:
    m = trip_milestones(events)
    q = quotes.select(
        "trip_id",
        "rider_id",
        "pickup_zone_id",
        "dropoff_zone_id",
        "surge_multiplier",
        "quoted_fare",
        "estimated_miles",
    )
    z = zones.select("zone_id", "city_id")
    t = m.join(q, "trip_id")
    t = t.join(z, t.pickup_zone_id == z.zone_id).drop("zone_id")
    t = t.left_join(fares, "trip_id")
    outcome = ibis.cases(
        (t.completed_at.notnull(), "completed"),
        (t.cancelled_by == "rider", "rider_cancelled"),
        (t.cancelled_by == "driver", "driver_cancelled"),
        else_="no_driver",
    )
    stage = ibis.cases(
        (t.cancelled_at.isnull(), ibis.null("string")),
        (t.accepted_at.isnull(), "before_match"),
        else_="after_match",
    )
    t = t.mutate(
        date_key=date_key(t.requested_at),
        outcome=outcome,
        cancel_stage=stage,
        trip_seconds=seconds_between(t.started_at, t.completed_at),
        seconds_to_accept=seconds_between(t.requested_at, t.accepted_at),
        seconds_to_arrive=seconds_between(t.accepted_at, t.arrived_at),
        wait_seconds=seconds_between(t.requested_at, t.arrived_at),
        seconds_at_pickup=seconds_between(t.arrived_at, t.started_at),
    )
    t = scd2.as_of_join(t, drivers, "driver_id", "accepted_at", columns=["driver_sk"])
    return t.select(schema.FACT_TRIPS.column_names)


def fact_driver_status(status: ir.Table, drivers: ir.Table) -> ir.Table:
    w = ibis.window(group_by="driver_id", order_by=["event_time", "status_event_id"])
    s = status.mutate(status_end=status.event_time.lead().over(w))
    s = s.mutate(
        duration_seconds=seconds_between(s.event_time, s.status_end),
        date_key=date_key(s.event_time),
    )
    s = scd2.as_of_join(s, drivers, "driver_id", "event_time", columns=["driver_sk"])
    return s.select(schema.FACT_DRIVER_STATUS.column_names)


def interval_spine() -> pd.DataFrame:
    """Every 5-minute interval of the period, with its keys."""
    k = np.arange(gen.INTERVALS, dtype=np.int64)
    start = pd.to_datetime(gen.START + k * np.timedelta64(gen.INTERVAL_MINUTES, "m"))
    return pd.DataFrame(
        {
            "interval_index": k,
            "interval_start": start.astype("datetime64[us]"),
            "date_key": (start.year * 10000 + start.month * 100 + start.day).astype("int64"),
            "time_key": (start.hour * 10000 + start.minute * 100).astype("int64"),
        }
    )


def driver_counts(status: ir.Table) -> ir.Table:
    """Drivers online / available per zone at each interval start (state at that instant).

    A status row covers the instants ``event_time <= t < status_end``; the interval starts it
    covers are numbers ``ceil((event_time - T0) / 5 min)`` to ``ceil((status_end - T0) / 5 min) - 1``.
    """
    s = status.filter(status.status != "offline")
    first = (epoch_us(s.event_time) - T0_US + STEP_US - 1) // STEP_US
    last = (epoch_us(s.status_end) - T0_US + STEP_US - 1) // STEP_US - 1
    s = s.mutate(interval_index=ibis.range(first, last + 1).unnest())
    return s.group_by("zone_id", "interval_index").aggregate(
        drivers_online=s.count(),
        available_drivers=(s.status == "available").sum().cast("int64"),
    )


def request_counts(trips: ir.Table) -> ir.Table:
    """Requests of each zone and interval and what became of them (additive measures)."""
    t = trips.mutate(interval_index=interval_index(trips.requested_at))
    return t.group_by(zone_id=t.pickup_zone_id, interval_index=t.interval_index).aggregate(
        requests=t.count(),
        abandoned_requests=(t.cancel_stage == "before_match").sum().cast("int64"),
        matched_requests=t.accepted_at.notnull().sum().cast("int64"),
        unfulfilled_requests=(t.outcome == "no_driver").sum().cast("int64"),
        completed_trips=(t.outcome == "completed").sum().cast("int64"),
        wait_seconds_sum=t.wait_seconds.sum(),
        waits=t.wait_seconds.notnull().sum().cast("int64"),
    )


def fact_supply_demand(
    spine: ir.Table, zones: ir.Table, requests: ir.Table, drivers: ir.Table, surge: ir.Table
) -> ir.Table:
    grid = zones.select("zone_id").cross_join(spine)
    g = grid.left_join(requests, ["zone_id", "interval_index"]).drop(
        "zone_id_right", "interval_index_right"
    )
    g = g.left_join(drivers, ["zone_id", "interval_index"]).drop(
        "zone_id_right", "interval_index_right"
    )
    g = g.left_join(surge, ["zone_id", "interval_start"]).drop(
        "zone_id_right", "interval_start_right"
    )
    zero = ibis.literal(0, type="int64")
    counts = [
        "requests",
        "abandoned_requests",
        "matched_requests",
        "unfulfilled_requests",
        "completed_trips",
        "waits",
        "drivers_online",
        "available_drivers",
    ]
    g = g.mutate(
        **{c: g[c].fill_null(zero) for c in counts},
        wait_seconds_sum=g.wait_seconds_sum.fill_null(0.0),
        surge_multiplier=g.surge_multiplier.fill_null(1.0),
        computed_multiplier=g.computed_multiplier.fill_null(1.0),
        is_holdout=g.is_holdout.fill_null(False),
    )
    return g.select(schema.FACT_SUPPLY_DEMAND.column_names)


# --------------------------------------------------------------------------------------------
# marts
# --------------------------------------------------------------------------------------------


def driver_daily(status: ir.Table, trips: ir.Table) -> ir.Table:
    s = status.filter(status.status != "offline")
    time = s.group_by("driver_id", "date_key").aggregate(
        online_seconds=s.duration_seconds.sum(),
        on_trip_seconds=s.duration_seconds.sum(where=s.status == "on_trip"),
    )
    done = trips.filter(trips.outcome == "completed")
    pay = done.group_by("driver_id", "date_key").aggregate(
        completed_trips=done.count(),
        earnings=(done.driver_pay + done.tips).sum(),
    )
    j = time.outer_join(pay, ["driver_id", "date_key"])
    j = j.select(
        driver_id=ibis.coalesce(j.driver_id, j.driver_id_right),
        date_key=ibis.coalesce(j.date_key, j.date_key_right),
        online_seconds=j.online_seconds.fill_null(0.0),
        on_trip_seconds=j.on_trip_seconds.fill_null(0.0),
        completed_trips=j.completed_trips.fill_null(0),
        earnings=j.earnings.fill_null(0.0),
    )
    return j


def rider_monthly(trips: ir.Table) -> ir.Table:
    t = trips.mutate(month_start=trips.requested_at.truncate("M").date())
    return t.group_by("rider_id", "month_start").aggregate(
        requests=t.count(),
        completed_trips=(t.outcome == "completed").sum().cast("int64"),
    )


def city_hourly(trips: ir.Table) -> ir.Table:
    t = trips.mutate(hour_start=trips.requested_at.truncate("h"))
    done = t.outcome == "completed"
    return t.group_by("city_id", "hour_start").aggregate(
        requests=t.count(),
        completed_trips=done.sum().cast("int64"),
        cancelled=t.cancelled_at.notnull().sum().cast("int64"),
        trip_miles=t.trip_miles.sum(where=done),
        trip_seconds=t.trip_seconds.sum(where=done),
        fares=t.base_passenger_fare.sum(where=done),
    )


# --------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------


def build(con, scale=None, seed=None, progress=None) -> BuildReport:
    """Generate, load, clean and model the ride-sharing platform into ``con``."""
    report = BuildReport.start("rideshare", scale, seed)
    rows, seed = report.scale_rows, report.seed
    say = progress or (lambda message: None)

    say(f"generating about {rows:,} ride requests (seed {seed})")
    data = gen.generate(rows, seed)
    say("loading raw tables")
    con.create_database("raw", force=True)
    for name in schema.RAW_TABLES:
        con.create_table(name, data[name], database="raw", overwrite=True)
    del data
    raw = {name: con.table(name, database="raw") for name in schema.RAW_TABLES}

    say("cleaning: duplicates, unknown zones, trips with no start")
    events = first_delivery(raw["trip_events"], "event_id")
    unique_events = events.filter(events._copy == 0)
    held = held_back_trips(unique_events, raw["trip_quotes"], raw["zones"])
    con.create_table("_held", held, overwrite=True)
    held = con.table("_held")
    con.create_table("_events", tag_reasons(events, held, dedupe=True), overwrite=True)
    status = first_delivery(raw["driver_status_events"], "status_event_id")
    dup = ibis.ifelse(status._copy > 0, ibis.literal("duplicate_event"), ibis.null("string"))
    con.create_table("_status", status.mutate(reason=dup), overwrite=True)
    # quotes and fares have one row per trip: only the trip's reason applies
    quotes = tag_reasons(raw["trip_quotes"], held, dedupe=False)
    con.create_table("_quotes", quotes.mutate(_copy=0), overwrite=True)
    fares = tag_reasons(raw["trip_fares"], held, dedupe=False)
    con.create_table("_fares", fares.mutate(_copy=0), overwrite=True)
    staged = {
        "trip_events": (con.table("_events"), "event_id"),
        "driver_status_events": (con.table("_status"), "status_event_id"),
        "trip_quotes": (con.table("_quotes"), "trip_id"),
        "trip_fares": (con.table("_fares"), "trip_id"),
    }
    parts = []
    for source, (t, id_col) in staged.items():
        bad = t.filter(t.reason.notnull())
        trip = bad.trip_id if "trip_id" in t.columns else ibis.null("int64")
        parts.append(
            bad.select(
                source=ibis.literal(source), record_id=bad[id_col], reason=bad.reason, trip_id=trip
            )
        )
    quarantine = parts[0].union(parts[1]).union(parts[2]).union(parts[3])
    con.create_table("quarantine", quarantine.order_by(["source", "record_id"]), overwrite=True)
    clean = {s: t.filter(t.reason.isnull()).drop("reason", "_copy") for s, (t, _) in staged.items()}

    say("dimensions")
    con.create_table("dim_city", raw["cities"], overwrite=True)
    con.create_table("dim_zone", dim_zone(raw["zones"], raw["cities"]), overwrite=True)
    con.create_table("dim_driver", dim_driver(raw["driver_changes"]), overwrite=True)
    # one day past the period: drivers still on shift at midnight go offline on 2025-07-01
    dates = calendar.date_dimension("2025-01-01", "2025-07-01")
    con.create_table("dim_date", dates, overwrite=True)
    con.create_table("dim_time", calendar.time_dimension("minute"), overwrite=True)
    drivers, zones = con.table("dim_driver"), con.table("dim_zone")

    say("facts: trip events, trips (accumulating snapshot), driver status")
    con.create_table("fact_trip_events", fact_trip_events(clean["trip_events"]), overwrite=True)
    ev = con.table("fact_trip_events")
    con.create_table(
        "fact_trips",
        fact_trips(ev, clean["trip_quotes"], clean["trip_fares"], zones, drivers),
        overwrite=True,
    )
    trips = con.table("fact_trips")
    con.create_table("dim_rider", dim_rider(raw["riders"], trips), overwrite=True)
    con.create_table(
        "fact_driver_status",
        fact_driver_status(clean["driver_status_events"], drivers),
        overwrite=True,
    )
    status = con.table("fact_driver_status")
    con.create_table("fact_surge", raw["surge_log"], overwrite=True)

    say("facts: supply and demand per zone and 5 minutes")
    con.create_table("_intervals", interval_spine(), overwrite=True)
    con.create_table(
        "fact_supply_demand",
        fact_supply_demand(
            con.table("_intervals"),
            zones,
            request_counts(trips),
            driver_counts(status),
            con.table("fact_surge"),
        ).order_by(["zone_id", "interval_start"]),
        overwrite=True,
    )

    say("marts")
    con.create_database("mart", force=True)
    con.create_table("driver_daily", driver_daily(status, trips), database="mart", overwrite=True)
    con.create_table("rider_monthly", rider_monthly(trips), database="mart", overwrite=True)
    con.create_table("city_hourly", city_hourly(trips), database="mart", overwrite=True)

    for name in ("_held", "_events", "_status", "_quotes", "_fares", "_intervals"):
        con.drop_table(name, force=True)

    say("reconciling")
    q = con.table("quarantine")
    per_source = q.group_by("source").aggregate(n=q.count()).to_pyarrow().to_pylist()
    q_counts = {r["source"]: r["n"] for r in per_source}
    loaded = {
        "cities": con.table("dim_city").count().execute(),
        "driver_changes": applied_driver_changes(raw["driver_changes"], drivers).count().execute(),
        "zones": zones.count().execute(),
        "riders": con.table("dim_rider").count().execute(),
        "surge_log": con.table("fact_surge").count().execute(),
        "trip_events": ev.count().execute(),
        "driver_status_events": status.count().execute(),
        "trip_quotes": trips.count().execute(),
        "trip_fares": trips.filter(trips.base_passenger_fare.notnull()).count().execute(),
    }
    for name in schema.RAW_TABLES:
        rows_in = raw[name].count().execute()
        if name in loaded:
            report.add_source(name, rows_in, int(loaded[name]), int(q_counts.get(name, 0)))
    for decl in schema.TABLES:
        t = con.table(decl.name, database=decl.database) if decl.database else con.table(decl.name)
        report.tables[decl.qualified_name] = int(t.count().execute())
    say("done")
    return report
