"""Build the ride-sharing warehouse: raw -> clean + quarantine -> dimensions and facts -> marts.

1. ``generate`` hands over what the source systems would: the dispatch event log, the pricing
   service's quotes, the billing system's fares, the driver app's status log and driver table
   changes, the surge engine's log, riders, cities and zones. They land unchanged in ``raw``.
2. Cleaning. Only rows that are not facts are quarantined, each with its reason:
   ``duplicate_event`` (an event delivered twice: the first delivery is kept). Real requests
   with a flaw are loaded and counted (book/conventions.md): a pickup zone the zone table does
   not know gets an *inferred* zone member, a missing pickup zone the *Unknown* zone (-1), and a
   completed trip whose ``started`` event was lost is loaded with no duration, flagged
   ``is_start_missing``. Per source, rows in = rows loaded + rows quarantined.
3. Dimensions, each with its reserved Unknown (-1) and Not applicable (-2) rows: ``dim_driver``
   is type 2 (built with :func:`datamodeling.scd2.build_scd2`, deletions kept as a final
   ``is_deleted`` version), the others type 1 or fixed. Facts store the driver version valid at
   their time (``scd2.resolve_key``) beside the driver's durable key (type 7), and no foreign
   key is ever NULL: a request no driver accepted points at Not applicable.
4. Facts: the transaction fact of events, the accumulating snapshot of trips (with UTC and local
   date keys), the driver status fact, the periodic snapshot of supply and demand per zone and
   5 minutes, the surge fact.
5. Marts: ``mart.driver_daily``, ``mart.rider_monthly``, ``mart.city_hourly``. Money is
   ``DECIMAL(18, 2)`` and durations integer milliseconds throughout, so every sum is exact and
   two builds with one seed are identical bit for bit.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from datamodeling import calendar, scd2
from datamodeling.registry import BuildReport
from datamodeling.schema import NOT_APPLICABLE_KEY, UNKNOWN_KEY, Table

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
#: The local days of the data: UTC 2025-01-01 00:00 is 31 December in America, and drivers still
#: on shift at the end go offline on 1 July.
FIRST_DATE, LAST_DATE = "2024-12-31", "2025-07-01"
NOT_CANCELLED = "not cancelled"
UNKNOWN = ibis.literal(UNKNOWN_KEY, type="int64")
NOT_APPLICABLE = ibis.literal(NOT_APPLICABLE_KEY, type="int64")


@ibis.udf.scalar.builtin(signature=((dt.timestamp,), dt.int64))
def epoch_us(ts):
    """DuckDB's ``epoch_us``: microseconds since 1970, exact (``epoch_seconds`` truncates)."""


def ms_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.IntegerValue:
    """``end - start`` in whole milliseconds: exact, since the sources log milliseconds."""
    return ((epoch_us(end) - epoch_us(start)) // 1000).cast("int64")


def interval_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Number of the 5-minute interval holding ``ts`` (0 = 2025-01-01 00:00 UTC)."""
    return (epoch_us(ts) - T0_US) // STEP_US


date_key = calendar.date_key


def time_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    return (ts.hour() * 10000 + ts.minute() * 100).cast("int64")


def utc_offsets(time_zones) -> pd.DataFrame:
    """:func:`calendar.utc_offsets` of the cities, padded by two days around the data."""
    return calendar.utc_offsets(
        time_zones, T0 - timedelta(days=2), pd.Timestamp(gen.END) + timedelta(days=2)
    )


def with_local_keys(t: ir.Table, at: str, offsets: ir.Table, *, hour: bool = True) -> ir.Table:
    """Add ``local_date_key`` (and ``local_hour``) of UTC ``t[at]`` on the clock of ``t.time_zone``.

    A row whose time zone is unknown keeps UTC (:func:`calendar.with_local_time`).
    """
    t = calendar.with_local_time(t, at, "time_zone", offsets, name="_local")
    keys = {"local_date_key": date_key(t._local)}
    if hour:
        keys["local_hour"] = t._local.hour().cast("int64")
    return t.mutate(**keys).drop("_local")


# --------------------------------------------------------------------------------------------
# cleaning: only rows that are not facts are quarantined
# --------------------------------------------------------------------------------------------


def first_delivery(t: ir.Table, key: str) -> ir.Table:
    """Number the deliveries of each ``key`` by arrival: ``_copy`` 0 is the first."""
    w = ibis.window(group_by=key, order_by=[t.ingested_at, t.event_time])
    return t.mutate(_copy=ibis.row_number().over(w))


def tag_duplicates(t: ir.Table, key: str) -> ir.Table:
    """Add ``reason``: ``duplicate_event`` on every delivery of ``key`` after the first."""
    t = first_delivery(t, key)
    reason = ibis.ifelse(t._copy > 0, ibis.literal("duplicate_event"), ibis.null("string"))
    return t.mutate(reason=reason).drop("_copy")


# --------------------------------------------------------------------------------------------
# dimensions
# --------------------------------------------------------------------------------------------


def with_members(decl: Table, table: ir.Table, links: tuple[str, ...] = ()) -> ir.Table:
    """``table`` plus the dimension's Unknown (-1) and Not applicable (-2) rows.

    ``links`` name foreign keys to another dimension (a zone's city): on the reserved rows they
    take the reserved number too, so the Unknown zone lies in the Unknown city and every link
    stays NOT NULL.
    """
    relaxed = dataclasses.replace(
        decl, columns=[dataclasses.replace(c, nullable=True) for c in decl.columns]
    )
    special = relaxed.special_members()
    for column in links:
        special[column] = special[decl.primary_key[0]]
    special = ibis.memtable(special).cast(decl.ibis_schema())
    return table.select(decl.column_names).cast(decl.ibis_schema()).union(special)


def inferred(dim: ir.Table, seen: ir.Table, key: str, sk: str | None = None) -> ir.Table:
    """:func:`scd2.add_inferred_members` for a dimension keyed by its business key (``sk`` None)."""
    if sk is not None:
        return scd2.add_inferred_members(dim, seen, key, sk)
    out = scd2.add_inferred_members(dim.mutate(_sk=dim[key]), seen, key, "_sk")
    return out.drop("_sk")


def dim_city(cities: ir.Table) -> ir.Table:
    return with_members(schema.DIM_CITY, cities)


def dim_zone(zones: ir.Table, cities: ir.Table, seen: ir.Table) -> ir.Table:
    """Zones of the zone table, inferred zones for ids ``seen`` in requests, reserved rows."""
    z = zones.join(cities.select("city_id", "city_name", "time_zone"), "city_id")
    z = z.select(
        "zone_id",
        "city_id",
        "city_name",
        "time_zone",
        "zone_name",
        "hex_q",
        "hex_r",
        is_centre=(z.hex_q == 0) & (z.hex_r == 0),
        latitude=z.latitude,
        longitude=z.longitude,
    )
    z = inferred(z, seen.filter(seen.zone_id.notnull()).select("zone_id"), "zone_id")
    z = z.mutate(city_id=z.city_id.fill_null(UNKNOWN))  # an inferred zone's city is unknown
    return with_members(schema.DIM_ZONE, z, links=("city_id",))


def dim_driver(changes: ir.Table, seen: ir.Table) -> ir.Table:
    """Type 2 from the change log (deletions as a final ``is_deleted`` version), inferred
    drivers for ids the facts name before the driver table does, and the reserved rows."""
    built = scd2.build_scd2(
        changes,
        "driver_id",
        DRIVER_ATTRIBUTES,
        at="changed_at",
        deleted="is_deleted",
        sk="driver_sk",
    )
    built = inferred(built, seen.filter(seen.driver_id.notnull()), "driver_id", "driver_sk")
    built = built.mutate(city_id=built.city_id.fill_null(UNKNOWN))
    return with_members(schema.DIM_DRIVER, built, links=("city_id",))


def applied_driver_changes(changes: ir.Table, drivers: ir.Table) -> ir.Table:
    """The change records that ``dim_driver`` reflects: the version valid at a record's time
    carries the record's attributes (and its deletion flag). A re-send of unchanged attributes is
    absorbed by the version already open, so it counts as applied; a lost record does not."""
    preds = [
        changes.driver_id == drivers.driver_id,
        drivers.valid_from <= changes.changed_at,
        changes.changed_at < drivers.valid_to,
        changes.is_deleted == drivers.is_deleted,
        *[changes[a].identical_to(drivers[a]) for a in DRIVER_ATTRIBUTES],
    ]
    return changes.semi_join(drivers, preds)


def dim_rider(riders: ir.Table, trips: ir.Table) -> ir.Table:
    """Riders, inferred riders for ids a request names that the rider table lacks, reserved rows."""
    first = trips.group_by("rider_id").aggregate(first_request_at=trips.requested_at.min())
    r = inferred(riders, trips.select("rider_id"), "rider_id")
    r = r.left_join(first, "rider_id")
    r = r.select(
        "rider_id",
        "signup_at",
        "signup_channel",
        home_city_id=r.home_city_id.fill_null(UNKNOWN),
        first_request_at=r.first_request_at,
        cohort_month=r.first_request_at.truncate("M").date(),
        is_inferred=r.is_inferred,
    )
    return with_members(schema.DIM_RIDER, r, links=("home_city_id",))


def dim_trip_flags() -> pd.DataFrame:
    """The junk dimension: every combination that can occur, keys 1, 2, ... (fixed)."""
    rows = [(i, *flags) for i, flags in enumerate(schema.TRIP_FLAGS, start=1)]
    return pd.DataFrame(rows, columns=schema.DIM_TRIP_FLAGS.column_names)


# --------------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------------


def fact_trip_event(events: ir.Table, drivers: ir.Table) -> ir.Table:
    """The transaction fact: keys resolved, never NULL (type 7 for the driver)."""
    e = events.mutate(date_key=date_key(events.event_time), time_key=time_key(events.event_time))
    e = scd2.resolve_key(e, drivers, "driver_id", "event_time", "driver_sk")
    e = e.mutate(
        driver_id=e.driver_id.fill_null(NOT_APPLICABLE),
        zone_id=ibis.ifelse(
            e.event_type == "requested", e.zone_id.fill_null(UNKNOWN), NOT_APPLICABLE
        ),
    )
    return e.select(schema.FACT_TRIP_EVENT.column_names)


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


def trip_flags(t: ir.Table) -> ir.Table:
    """The four flags of a request, from its milestones (columns of ``dim_trip_flags``)."""
    outcome = ibis.cases(
        (t.completed_at.notnull(), "completed"),
        (t.cancelled_by == "rider", "rider_cancelled"),
        (t.cancelled_by == "driver", "driver_cancelled"),
        else_="no_driver",
    )
    stage = ibis.cases(
        (t.cancelled_at.isnull(), NOT_CANCELLED),
        (t.accepted_at.isnull(), "before_match"),
        else_="after_match",
    )
    return t.mutate(
        outcome=outcome,
        cancelled_by=t.cancelled_by.fill_null(NOT_CANCELLED),
        cancel_stage=stage,
        is_start_missing=t.completed_at.notnull() & t.started_at.isnull(),
    )


def fact_trip(
    events: ir.Table,
    quotes: ir.Table,
    fares: ir.Table,
    zones: ir.Table,
    cities: ir.Table,
    drivers: ir.Table,
    flags: ir.Table,
    offsets: ir.Table,
) -> ir.Table:
    """The accumulating snapshot: one row per request, every key resolved, none NULL."""
    m = trip_milestones(events)
    q = quotes.select(
        "trip_id",
        "rider_id",
        "dropoff_zone_id",
        "surge_multiplier",
        "quoted_fare",
        "estimated_miles",
        pickup_zone_id=quotes.pickup_zone_id.fill_null(UNKNOWN),  # no GPS fix: Unknown zone
    )
    t = m.join(q, "trip_id")
    pickup = zones.select(zone_id="zone_id", _pickup_city="city_id")
    dropoff = zones.select(zone_id="zone_id", _dropoff_city="city_id")
    t = t.left_join(pickup, t.pickup_zone_id == pickup.zone_id).drop("zone_id")
    t = t.left_join(dropoff, t.dropoff_zone_id == dropoff.zone_id).drop("zone_id")
    # trips never leave their city: an unknown pickup zone takes the dropoff zone's city
    city = ibis.ifelse(t._pickup_city > 0, t._pickup_city, t._dropoff_city)
    t = t.mutate(city_id=city.fill_null(UNKNOWN)).drop("_pickup_city", "_dropoff_city")
    tz = cities.select("city_id", "time_zone")
    t = t.left_join(tz, "city_id").drop("city_id_right")
    t = with_local_keys(t, "requested_at", offsets).drop("time_zone")
    t = t.left_join(fares, "trip_id").drop("trip_id_right")
    t = trip_flags(t)
    keys = flags.select("trip_flags_key", "outcome", "cancelled_by", "cancel_stage",
                        "is_start_missing")  # fmt: skip
    t = t.left_join(keys, ["outcome", "cancelled_by", "cancel_stage", "is_start_missing"])
    t = t.mutate(
        trip_flags_key=t.trip_flags_key.fill_null(UNKNOWN),
        date_key=date_key(t.requested_at),
        trip_duration_ms=ms_between(t.started_at, t.completed_at),
        time_to_accept_ms=ms_between(t.requested_at, t.accepted_at),
        time_to_arrive_ms=ms_between(t.accepted_at, t.arrived_at),
        wait_ms=ms_between(t.requested_at, t.arrived_at),
        time_at_pickup_ms=ms_between(t.arrived_at, t.started_at),
    )
    t = scd2.resolve_key(t, drivers, "driver_id", "accepted_at", "driver_sk")
    t = t.mutate(driver_id=t.driver_id.fill_null(NOT_APPLICABLE))
    return t.select(schema.FACT_TRIP.column_names)


def fact_driver_status(status: ir.Table, drivers: ir.Table) -> ir.Table:
    w = ibis.window(group_by="driver_id", order_by=["event_time", "status_event_id"])
    s = status.mutate(status_end=status.event_time.lead().over(w))
    s = s.mutate(
        duration_ms=ms_between(s.event_time, s.status_end),
        date_key=date_key(s.event_time),
    )
    s = scd2.resolve_key(s, drivers, "driver_id", "event_time", "driver_sk")
    return s.select(schema.FACT_DRIVER_STATUS.column_names)


def interval_grid(zones: pd.DataFrame) -> pd.DataFrame:
    """Every zone of the zone table and every 5-minute interval, with UTC and local keys.

    ``zones`` holds ``zone_id`` and ``time_zone``. Local keys come from pandas' time-zone
    conversion of each interval start, the city's clock with daylight saving time.
    """
    k = np.arange(gen.INTERVALS, dtype=np.int64)
    start = pd.DatetimeIndex(gen.START + k * np.timedelta64(gen.INTERVAL_MINUTES, "m"))

    def keys(ts: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        day = (ts.year * 10000 + ts.month * 100 + ts.day).to_numpy(np.int64)
        minute = (ts.hour * 10000 + ts.minute * 100).to_numpy(np.int64)
        return day, minute

    utc_day, utc_minute = keys(start)
    local = {
        tz: keys(start.tz_localize("UTC").tz_convert(tz).tz_localize(None))
        for tz in sorted(set(zones.time_zone))
    }
    parts = []
    for zone_id, tz in zones[["zone_id", "time_zone"]].itertuples(index=False):
        parts.append(
            pd.DataFrame(
                {
                    "zone_id": np.full(len(k), zone_id, dtype=np.int64),
                    "interval_index": k,
                    "interval_start": start.astype("datetime64[us]"),
                    "date_key": utc_day,
                    "time_key": utc_minute,
                    "local_date_key": local[tz][0],
                    "local_time_key": local[tz][1],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


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


def request_counts(trips: ir.Table, flags: ir.Table) -> ir.Table:
    """Requests of each zone and interval and what became of them (additive measures)."""
    t = trips.join(flags, "trip_flags_key")
    t = t.mutate(interval_index=interval_index(t.requested_at))
    return t.group_by(zone_id=t.pickup_zone_id, interval_index=t.interval_index).aggregate(
        requests=t.count(),
        abandoned_requests=(t.cancel_stage == "before_match").sum().cast("int64"),
        matched_requests=t.accepted_at.notnull().sum().cast("int64"),
        unfulfilled_requests=(t.outcome == "no_driver").sum().cast("int64"),
        completed_trips=(t.outcome == "completed").sum().cast("int64"),
        wait_ms_sum=t.wait_ms.sum().cast("int64"),
        waits=t.wait_ms.notnull().sum().cast("int64"),
    )


def fact_supply_demand(
    grid: ir.Table, requests: ir.Table, drivers: ir.Table, surge: ir.Table
) -> ir.Table:
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
        "wait_ms_sum",
        "waits",
        "drivers_online",
        "available_drivers",
    ]
    g = g.mutate(
        **{c: g[c].fill_null(zero) for c in counts},
        surge_multiplier=g.surge_multiplier.fill_null(1.0),
        computed_multiplier=g.computed_multiplier.fill_null(1.0),
        is_holdout=g.is_holdout.fill_null(False),
    )
    return g.select(schema.FACT_SUPPLY_DEMAND.column_names)


# --------------------------------------------------------------------------------------------
# marts
# --------------------------------------------------------------------------------------------

MONEY = dt.Decimal(18, 2)


def on_trip_ms(trips: ir.Table) -> ir.IntegerValue:
    """A trip's time on trip for its driver: accepted_at to completed_at or cancelled_at."""
    return ms_between(trips.accepted_at, ibis.coalesce(trips.completed_at, trips.cancelled_at))


def driver_daily(status: ir.Table, trips: ir.Table, flags: ir.Table) -> ir.Table:
    """Per driver and UTC day: online time from the status log; on-trip time, completed trips
    and earnings from the same rows of ``fact_trip`` (one set of trips)."""
    s = status.filter(status.status != "offline")
    time = s.group_by("driver_id", "date_key").aggregate(
        online_ms=s.duration_ms.sum().cast("int64")
    )
    t = trips.filter(trips.driver_id > 0).join(flags, "trip_flags_key")
    done = t.outcome == "completed"
    pay = t.group_by("driver_id", "date_key").aggregate(
        on_trip_ms=on_trip_ms(t).sum().cast("int64"),
        completed_trips=done.sum().cast("int64"),
        earnings=(t.driver_pay + t.tips).sum(where=done).cast(MONEY),
    )
    j = time.outer_join(pay, ["driver_id", "date_key"])
    return j.select(
        driver_id=ibis.coalesce(j.driver_id, j.driver_id_right),
        date_key=ibis.coalesce(j.date_key, j.date_key_right),
        online_ms=j.online_ms.fill_null(0),
        on_trip_ms=j.on_trip_ms.fill_null(0),
        completed_trips=j.completed_trips.fill_null(0),
        earnings=j.earnings.fill_null(ibis.literal(0, type=MONEY)),
    )


def rider_monthly(trips: ir.Table, flags: ir.Table) -> ir.Table:
    t = trips.join(flags, "trip_flags_key")
    t = t.mutate(month_start=t.requested_at.truncate("M").date())
    return t.group_by("rider_id", "month_start").aggregate(
        requests=t.count(),
        completed_trips=(t.outcome == "completed").sum().cast("int64"),
    )


def city_hourly(trips: ir.Table, flags: ir.Table) -> ir.Table:
    t = trips.join(flags, "trip_flags_key")
    t = t.mutate(hour_start=t.requested_at.truncate("h"))
    done = t.outcome == "completed"
    timed = done & t.trip_duration_ms.notnull()
    zero = ibis.literal(0, type=MONEY)
    g = t.group_by("city_id", "hour_start").aggregate(
        # one local hour per UTC hour: the offsets of these cities are whole hours
        local_date_key=t.local_date_key.max(),
        local_hour=t.local_hour.max(),
        requests=t.count(),
        completed_trips=done.sum().cast("int64"),
        cancelled=(t.cancelled_by != NOT_CANCELLED).sum().cast("int64"),
        trip_miles=t.trip_miles.sum(where=done).cast(MONEY),
        timed_trips=timed.sum().cast("int64"),
        trip_duration_ms=t.trip_duration_ms.sum(where=timed).cast("int64"),
        fares=t.base_passenger_fare.sum(where=done).cast(MONEY),
    )
    return g.mutate(
        trip_miles=g.trip_miles.fill_null(zero),
        trip_duration_ms=g.trip_duration_ms.fill_null(0),
        fares=g.fares.fill_null(zero),
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

    say("cleaning: duplicate deliveries go to quarantine, every request is loaded")
    con.create_table("_events", tag_duplicates(raw["trip_events"], "event_id"), overwrite=True)
    con.create_table(
        "_status", tag_duplicates(raw["driver_status_events"], "status_event_id"), overwrite=True
    )
    staged = {
        "trip_events": (con.table("_events"), "event_id"),
        "driver_status_events": (con.table("_status"), "status_event_id"),
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
    quarantine = parts[0].union(parts[1])
    con.create_table("quarantine", quarantine.order_by(["source", "record_id"]), overwrite=True)
    clean = {s: t.filter(t.reason.isnull()).drop("reason") for s, (t, _) in staged.items()}

    say("dimensions (each with its Unknown and Not applicable members)")
    cities = dim_city(raw["cities"])
    con.create_table("dim_city", cities, overwrite=True)
    cities = con.table("dim_city")
    seen_zones = (
        raw["trip_quotes"]
        .select(zone_id="pickup_zone_id")
        .union(raw["trip_quotes"].select(zone_id="dropoff_zone_id"))
    )
    con.create_table("dim_zone", dim_zone(raw["zones"], raw["cities"], seen_zones), overwrite=True)
    seen_drivers = (
        clean["trip_events"]
        .select("driver_id")
        .union(clean["driver_status_events"].select("driver_id"))
    )
    con.create_table("dim_driver", dim_driver(raw["driver_changes"], seen_drivers), overwrite=True)
    dates = calendar.date_dimension(FIRST_DATE, LAST_DATE)
    con.create_table("dim_date", schema.DIM_DATE.with_special_members(ibis.memtable(dates)),
                     overwrite=True)  # fmt: skip
    minutes = calendar.time_dimension("minute")
    con.create_table("dim_time", schema.DIM_TIME.with_special_members(ibis.memtable(minutes)),
                     overwrite=True)  # fmt: skip
    flags = schema.DIM_TRIP_FLAGS.with_special_members(ibis.memtable(dim_trip_flags()))
    con.create_table("dim_trip_flags", flags, overwrite=True)
    drivers, zones, flags = (
        con.table("dim_driver"),
        con.table("dim_zone"),
        con.table("dim_trip_flags"),
    )
    time_zones = [c[6] for c in gen.CITIES]
    con.create_table("_utc_offsets", utc_offsets(time_zones), overwrite=True)
    offsets = con.table("_utc_offsets")

    say("facts: trip events, trips (accumulating snapshot), driver status")
    con.create_table(
        "fact_trip_event", fact_trip_event(clean["trip_events"], drivers), overwrite=True
    )
    ev = con.table("fact_trip_event")
    con.create_table(
        "fact_trip",
        fact_trip(
            ev, raw["trip_quotes"], raw["trip_fares"], zones, cities, drivers, flags, offsets
        ),
        overwrite=True,
    )
    trips = con.table("fact_trip")
    con.create_table("dim_rider", dim_rider(raw["riders"], trips), overwrite=True)
    con.create_table(
        "fact_driver_status",
        fact_driver_status(clean["driver_status_events"], drivers),
        overwrite=True,
    )
    status = con.table("fact_driver_status")
    con.create_table("fact_surge", raw["surge_log"], overwrite=True)

    say("facts: supply and demand per zone and 5 minutes")
    real_zones = zones.filter((zones.zone_id > 0) & ~zones.is_inferred)
    grid = interval_grid(real_zones.select("zone_id", "time_zone").order_by("zone_id").to_pandas())
    con.create_table("_grid", grid, overwrite=True)
    del grid
    con.create_table(
        "fact_supply_demand",
        fact_supply_demand(
            con.table("_grid"),
            request_counts(trips, flags),
            driver_counts(status),
            con.table("fact_surge"),
        ).order_by(["zone_id", "interval_start"]),
        overwrite=True,
    )

    say("marts")
    con.create_database("mart", force=True)
    con.create_table(
        "driver_daily", driver_daily(status, trips, flags), database="mart", overwrite=True
    )
    con.create_table("rider_monthly", rider_monthly(trips, flags), database="mart", overwrite=True)
    con.create_table("city_hourly", city_hourly(trips, flags), database="mart", overwrite=True)

    for name in ("_events", "_status", "_grid", "_utc_offsets"):
        con.drop_table(name, force=True)

    say("reconciling")
    q = con.table("quarantine")
    per_source = q.group_by("source").aggregate(n=q.count()).to_pyarrow().to_pylist()
    q_counts = {r["source"]: r["n"] for r in per_source}

    def real(t: ir.Table, key: str) -> ir.Table:  # the rows that came from the source
        t = t.filter(t[key] > 0)
        return t.filter(~t.is_inferred) if "is_inferred" in t.columns else t

    loaded = {
        "cities": real(cities, "city_id").count().execute(),
        "driver_changes": applied_driver_changes(raw["driver_changes"], drivers).count().execute(),
        "zones": real(zones, "zone_id").count().execute(),
        "riders": real(con.table("dim_rider"), "rider_id").count().execute(),
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
