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

from datamodeling import calendar, landing, pipeline, scd2
from datamodeling.registry import BuildReport
from datamodeling.schema import NOT_APPLICABLE_KEY, UNKNOWN_KEY, Table

from . import generate as gen
from . import schema

T0 = pd.Timestamp(gen.START)
T0_MS = int(gen.START.astype(np.int64)) // 1000
STEP_MS = gen.INTERVAL_MINUTES * 60 * 1000
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


def epoch_ms(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Milliseconds since 1970, exact for the sources' millisecond timestamps, on DuckDB and
    Spark alike: whole seconds (``epoch_seconds`` of the time truncated to the second, which both
    engines compute the same way) and the milliseconds of the second."""
    seconds = ts.truncate("s").epoch_seconds().cast("int64")
    return seconds * 1000 + ts.millisecond().cast("int64")


def ms_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.IntegerValue:
    """``end - start`` in whole milliseconds: exact, since the sources log milliseconds."""
    return (epoch_ms(end) - epoch_ms(start)).cast("int64")


def interval_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Number of the 5-minute interval holding ``ts`` (0 = 2025-01-01 00:00 UTC)."""
    return (epoch_ms(ts) - T0_MS) // STEP_MS


def date_key(ts: ir.TimestampValue | ir.DateValue) -> ir.IntegerValue:
    """The ``yyyymmdd`` key of a timestamp or date, a BIGINT on every engine.

    Each part is cast before the arithmetic: Ibis drops a final ``cast("int64")`` of
    ``year * 10000 + ...`` on Spark (it types the sum as int64 already), where the engine then
    computes a 32-bit INT (``calendar.date_key`` has that gap).
    """
    return (
        ts.year().cast("int64") * 10000
        + ts.month().cast("int64") * 100
        + ts.day().cast("int64")
    )


def time_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.hour().cast("int64") * 10000 + ts.minute().cast("int64") * 100


def utc_offsets(time_zones) -> pd.DataFrame:
    """:func:`calendar.utc_offsets` of the cities, padded by two days around the data."""
    return calendar.utc_offsets(
        time_zones, T0 - timedelta(days=2), pd.Timestamp(gen.END) + timedelta(days=2)
    )


def with_local_keys(
    t: ir.Table, at: str, offsets: ir.Table, *, hour: bool = True
) -> ir.Table:
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
    reason = ibis.ifelse(
        t._copy > 0, ibis.literal("duplicate_event"), ibis.null("string")
    )
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


def inferred(
    dim: ir.Table, seen: ir.Table, key: str, sk: str | None = None
) -> ir.Table:
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
    z = z.mutate(
        city_id=z.city_id.fill_null(UNKNOWN)
    )  # an inferred zone's city is unknown
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
    built = inferred(
        built, seen.filter(seen.driver_id.notnull()), "driver_id", "driver_sk"
    )
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
    return with_members(
        schema.DIM_RIDER, rider_rows(riders, trips), links=("home_city_id",)
    )


def rider_rows(riders: ir.Table, trips: ir.Table) -> ir.Table:
    """The rows of ``dim_rider`` for the riders of ``riders`` and ``trips`` (no reserved rows):
    a rider's first request and cohort come from ``trips``."""
    first = trips.group_by("rider_id").aggregate(
        first_request_at=trips.requested_at.min()
    )
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
    return r.select(schema.DIM_RIDER.column_names).cast(schema.DIM_RIDER.ibis_schema())


def dim_trip_flags() -> pd.DataFrame:
    """The junk dimension: every combination that can occur, keys 1, 2, ... (fixed)."""
    rows = [(i, *flags) for i, flags in enumerate(schema.TRIP_FLAGS, start=1)]
    return pd.DataFrame(rows, columns=schema.DIM_TRIP_FLAGS.column_names)


# --------------------------------------------------------------------------------------------
# facts
# --------------------------------------------------------------------------------------------


def fact_trip_event(events: ir.Table, drivers: ir.Table) -> ir.Table:
    """The transaction fact: keys resolved, never NULL (type 7 for the driver)."""
    e = events.mutate(
        date_key=date_key(events.event_time), time_key=time_key(events.event_time)
    )
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
    """The accumulating snapshot: one row per request, every key resolved, none NULL.

    The quote is the request record, so a request gets its row even when none of its events
    has been loaded yet (they landed later than the lookback and wait in quarantine for the
    backfill): its milestones are empty and its flags the Unknown member until they arrive."""
    m = trip_milestones(events).mutate(_has_events=ibis.literal(True))
    q = quotes.select(
        "trip_id",
        "rider_id",
        "dropoff_zone_id",
        "surge_multiplier",
        "quoted_fare",
        "estimated_miles",
        pickup_zone_id=quotes.pickup_zone_id.fill_null(
            UNKNOWN
        ),  # no GPS fix: Unknown zone
        _quoted_at=quotes.quoted_at,
    )
    t = q.left_join(m, "trip_id").drop("trip_id_right")
    t = t.mutate(declined_offers=t.declined_offers.fill_null(0))
    # the quote is the request record: its time stands in for a requested event not loaded
    t = t.mutate(requested_at=t.requested_at.fill_null(t._quoted_at)).drop("_quoted_at")
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
    # no event loaded yet: the outcome is unknown, not "no driver" (Unknown flags below)
    t = t.mutate(
        outcome=ibis.ifelse(t._has_events.notnull(), t.outcome, ibis.null("string"))
    )
    keys = flags.select("trip_flags_key", "outcome", "cancelled_by", "cancel_stage",
                        "is_start_missing")  # fmt: skip
    t = t.left_join(
        keys, ["outcome", "cancelled_by", "cancel_stage", "is_start_missing"]
    )
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


def interval_grid(zones: pd.DataFrame, first_day=None, last_day=None) -> pd.DataFrame:
    """Every zone of the zone table and every 5-minute interval, with UTC and local keys.

    ``zones`` holds ``zone_id`` and ``time_zone``. Local keys come from pandas' time-zone
    conversion of each interval start, the city's clock with daylight saving time. Only the
    intervals of the UTC days ``first_day`` to ``last_day`` (default: the whole period).
    """
    per_day = 24 * 60 // gen.INTERVAL_MINUTES
    lo, hi = 0, gen.INTERVALS
    if first_day is not None:
        lo = max(lo, (pd.Timestamp(first_day) - T0).days * per_day)
    if last_day is not None:
        hi = min(hi, ((pd.Timestamp(last_day) - T0).days + 1) * per_day)
    k = np.arange(lo, max(lo, hi), dtype=np.int64)
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


def driver_counts(
    status: ir.Table, lo: int | None = None, hi: int | None = None
) -> ir.Table:
    """Drivers online / available per zone at each interval start (state at that instant).

    A status row covers the instants ``event_time <= t < status_end``; the interval starts it
    covers are numbers ``ceil((event_time - T0) / 5 min)`` to ``ceil((status_end - T0) / 5 min) - 1``.
    ``lo``/``hi`` keep the intervals ``lo <= interval_index < hi`` only.
    """
    s = status.filter((status.status != "offline") & status.status_end.notnull())
    first = (epoch_ms(s.event_time) - T0_MS + STEP_MS - 1) // STEP_MS
    last = (epoch_ms(s.status_end) - T0_MS + STEP_MS - 1) // STEP_MS - 1
    if lo is not None:
        first = ibis.greatest(first, lo)
    if hi is not None:
        last = ibis.least(last, hi - 1)
    s = s.mutate(_first=first, _last=last)
    s = s.filter(
        s._first <= s._last
    )  # no interval start inside: no row (Spark's sequence
    # refuses a range that ends before it starts)
    s = s.mutate(interval_index=ibis.range(s._first, s._last + 1).unnest())
    return s.group_by("zone_id", "interval_index").aggregate(
        drivers_online=s.count(),
        available_drivers=(s.status == "available").sum().cast("int64"),
    )


def request_counts(trips: ir.Table, flags: ir.Table) -> ir.Table:
    """Requests of each zone and interval and what became of them (additive measures)."""
    t = trips.join(flags, "trip_flags_key")
    t = t.mutate(interval_index=interval_index(t.requested_at))
    return t.group_by(
        zone_id=t.pickup_zone_id, interval_index=t.interval_index
    ).aggregate(
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
    return ms_between(
        trips.accepted_at, ibis.coalesce(trips.completed_at, trips.cancelled_at)
    )


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
# the load: the steps of the pipeline (datamodeling.pipeline runs them, for one day or a range)
# --------------------------------------------------------------------------------------------

LANDING = landing.LANDING
#: Record key of each source of the landing zone: the order of the rows in a day's file.
KEYS = {
    "cities": ["city_id"],
    "zones": ["zone_id"],
    "riders": ["rider_id"],
    "driver_changes": ["driver_id", "changed_at", "is_deleted"],
    "trip_events": ["event_id", "ingested_at"],
    "trip_quotes": ["trip_id"],
    "trip_fares": ["trip_id"],
    "driver_status_events": ["status_event_id", "ingested_at"],
    "surge_log": ["zone_id", "interval_start"],
}
assert list(KEYS) == schema.RAW_TABLES
TIME_ZONES = [c[6] for c in gen.CITIES]


def init(ctx: pipeline.Context) -> None:
    """A new warehouse: the static dimensions, the reserved rows of the rider dimension, and
    every other table empty, with its declared columns."""
    ctx.backend.create_database("mart")
    for decl in schema.TABLES:
        ctx.create(decl.name, pipeline.empty(decl), decl.database)
    dates = calendar.date_dimension(FIRST_DATE, LAST_DATE)
    ctx.create("dim_date", schema.DIM_DATE.with_special_members(ibis.memtable(dates)))
    minutes = calendar.time_dimension("minute")
    ctx.create("dim_time", schema.DIM_TIME.with_special_members(ibis.memtable(minutes)))
    flags = schema.DIM_TRIP_FLAGS.with_special_members(ibis.memtable(dim_trip_flags()))
    ctx.create("dim_trip_flags", flags)
    ctx.create("dim_rider", with_members(schema.DIM_RIDER, ctx.table("dim_rider"),
                                         links=("home_city_id",)))  # fmt: skip


def trip_days(ctx: pipeline.Context) -> ir.Table:
    """``(trip_id, trip_date)`` of every request landed: a trip belongs to the UTC day of its
    request (the pricing service's quote), even when its ride ends after midnight."""
    q = ctx.raw("trip_quotes")
    return q.select("trip_id", trip_date=q.quoted_at.date())


def with_trip_day(
    t: ir.Table, days: ir.Table, own: ir.DateValue | None = None
) -> ir.Table:
    """``t`` with ``event_date``: the day of its trip (else ``own``, e.g. its event's day)."""
    j = t.left_join(days, "trip_id").drop("trip_id_right")
    fallback = own if own is not None else j[LANDING]
    return j.mutate(event_date=j.trip_date.fill_null(fallback)).drop("trip_date")


def quarantine_rows(t: ir.Table, source: str, record_id: str, reason) -> ir.Table:
    trip = t.trip_id if "trip_id" in t.columns else ibis.null("int64")
    return t.select(
        source=ibis.literal(source),
        record_id=t[record_id].cast("int64"),
        reason=reason if isinstance(reason, ir.Value) else ibis.literal(reason),
        trip_id=trip.cast("int64"),
        event_date=t.event_date,
        landing_date=t[LANDING],
    )


def accepted_records(ctx: pipeline.Context, staged: str) -> ir.Table:
    """The staged records (``events`` or ``status``) that were not quarantined: a filter, not a
    table of their own (a copy of every event cost a minute of the large build)."""
    t = ctx.table(staged, "stage")
    return t.filter(t.reason.isnull()).drop("reason")


def step_clean(ctx: pipeline.Context) -> None:
    """Stage the window's records, each with its event day; quarantine duplicate deliveries and
    records later than the lookback."""
    w = ctx.window
    first = ibis.date(w.first_event_day)
    days = trip_days(ctx)
    window_days = ctx.stage("window_trips", days.filter(w.event_days(days.trip_date)))

    def window_records(
        source: str,
    ) -> ir.Table:  # a record lands on or after its event day
        t = ctx.raw(source)
        return t.filter(t[LANDING] >= first)

    # trip records: their trip's day
    ev = window_records("trip_events").join(window_days, "trip_id")
    ev = ctx.accepted(ev.rename(event_date="trip_date"), "event_date")
    events = ctx.stage("events", tag_duplicates(ev, "event_id"))
    st = window_records("driver_status_events")
    st = st.mutate(event_date=st.event_time.date())
    st = ctx.accepted(st.filter(w.event_days(st.event_date)), "event_date")
    status = ctx.stage("status", tag_duplicates(st, "status_event_id"))
    fa = window_records("trip_fares").join(window_days, "trip_id")
    ctx.stage("fares", ctx.accepted(fa.rename(event_date="trip_date"), "event_date"))
    qu = window_records("trip_quotes").join(window_days, "trip_id")
    ctx.stage("quotes", ctx.accepted(qu.rename(event_date="trip_date"), "event_date"))

    # what landed in the window later than the lookback
    def late(source: str, own=None) -> ir.Table:
        t = ctx.landed(source)
        t = (
            with_trip_day(t, days, own(t) if own else None)
            if "trip_id" in t.columns
            else t
        )
        if "event_date" not in t.columns:
            t = t.mutate(event_date=own(t))
        return ctx.too_late(t, "event_date")

    parts = [
        quarantine_rows(events.filter(events.reason.notnull()), "trip_events", "event_id",
                        events.reason),
        quarantine_rows(status.filter(status.reason.notnull()), "driver_status_events",
                        "status_event_id", status.reason),
        quarantine_rows(late("trip_events", lambda t: t.event_time.date()), "trip_events",
                        "event_id", pipeline.LATE),
        quarantine_rows(late("driver_status_events", lambda t: t.event_time.date()),
                        "driver_status_events", "status_event_id", pipeline.LATE),
        quarantine_rows(late("trip_fares"), "trip_fares", "trip_id", pipeline.LATE),
        quarantine_rows(late("trip_quotes", lambda t: t.quoted_at.date()), "trip_quotes",
                        "trip_id", pipeline.LATE),
    ]  # fmt: skip
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.union(part, distinct=False)
    quarantine = ctx.stage("quarantine", rows.cast(schema.QUARANTINE.ibis_schema()))
    ctx.replace(
        "quarantine",
        quarantine,
        lambda q: (
            ((q.reason != pipeline.LATE) & w.event_days(q.event_date))
            | ((q.reason == pipeline.LATE) & w.landed(q.landing_date))
        ),
    )


def step_dimensions(ctx: pipeline.Context) -> None:
    """Cities and zones as of their last extract; the day's driver changes merged into the type 2
    driver dimension (with the change log as history, so a late change lands in its place)."""
    cities = pipeline.latest(ctx.raw("cities"), "city_id")
    ctx.create("dim_city", dim_city(cities))
    # zone ids named by requests: those seen before (the inferred zones) and the window's
    q = ctx.landed("trip_quotes")
    known = ctx.table("dim_zone")  # staged: dim_zone is replaced below
    known = ctx.stage(
        "known_zones",
        known.filter(known.is_inferred).select(zone_id=known.zone_id.cast("int64")),
    )
    seen = (
        q.select(zone_id="pickup_zone_id")
        .union(q.select(zone_id="dropoff_zone_id"))
        .union(known)
    )
    ctx.create(
        "dim_zone", dim_zone(pipeline.latest(ctx.raw("zones"), "zone_id"), cities, seen)
    )

    old = ctx.table("dim_driver")
    real = old.filter((old.driver_id > 0) & ~old.is_inferred).drop("is_inferred")
    versions = scd2.merge_scd2(
        real,
        ctx.landed("driver_changes").drop(LANDING),
        "driver_id",
        DRIVER_ATTRIBUTES,
        at="changed_at",
        deleted="is_deleted",
        sk="driver_sk",
        history=ctx.raw("driver_changes").drop(LANDING),
    )
    events, status = (
        accepted_records(ctx, "events"),
        accepted_records(ctx, "status"),
    )
    before = old.filter(old.is_inferred & (old.driver_id > 0))
    seen = (
        before.select(driver_id=before.driver_id.cast("int64"))
        .union(events.select(driver_id=events.driver_id.cast("int64")))
        .union(status.select(driver_id=status.driver_id.cast("int64")))
    )
    built = inferred(
        versions, seen.filter(seen.driver_id.notnull()), "driver_id", "driver_sk"
    )
    built = built.mutate(city_id=built.city_id.fill_null(UNKNOWN))
    new = ctx.stage(
        "dim_driver", with_members(schema.DIM_DRIVER, built, links=("city_id",))
    )
    # drivers whose versions moved: their fact rows outside the window get their keys again
    cols = ["driver_id", "driver_sk", "valid_from", "valid_to"]
    a = ctx.table("dim_driver").select(cols).cast(new.select(cols).schema())
    b = new.select(cols)
    moved = a.difference(b).union(b.difference(a))
    ctx.stage(
        "moved_drivers",
        moved.filter(moved.driver_id > 0).select("driver_id").distinct(),
    )
    ctx.create("dim_driver", new)


def rekey(ctx: pipeline.Context, fact: str, at: str, outside) -> None:
    """Resolve ``driver_sk`` again for the rows of ``fact`` (outside the window) of the drivers
    whose versions moved: a late change that moves a version boundary re-keys their facts."""
    moved = ctx.table("moved_drivers", "stage")
    t = ctx.table(fact)

    def chosen(x):
        return x.driver_id.isin(moved.driver_id) & outside(x)

    rows = t.filter(chosen(t))
    if rows.count().execute() == 0:
        return
    fixed = scd2.resolve_key(rows.drop("driver_sk"), ctx.table("dim_driver"), "driver_id", at,
                             "driver_sk")  # fmt: skip
    ctx.replace(fact, ctx.stage(f"rekeyed_{fact}", fixed.select(t.columns)), chosen)


def fact_driver_status(
    status: ir.Table, drivers: ir.Table, following: ir.Table | None = None
) -> ir.Table:
    """One row per status event with how long it lasted (until the driver's next event).

    ``following`` (``driver_id``, ``_next``) gives each driver's next event after ``status`` when
    it lies outside ``status`` (an incremental load recomputes a window of days).
    """
    w = ibis.window(group_by="driver_id", order_by=["event_time", "status_event_id"])
    s = status.mutate(status_end=status.event_time.lead().over(w))
    if following is not None:
        s = s.left_join(following, "driver_id").drop("driver_id_right")
        s = s.mutate(status_end=s.status_end.fill_null(s._next)).drop("_next")
    s = s.mutate(
        duration_ms=ms_between(s.event_time, s.status_end),
        date_key=date_key(s.event_time),
    )
    s = scd2.resolve_key(s, drivers, "driver_id", "event_time", "driver_sk")
    return s.select(schema.FACT_DRIVER_STATUS.column_names)


def step_facts(ctx: pipeline.Context) -> None:
    """Trip events, trips and driver status of the window's event days, replaced; the status row
    before the window gets its end; facts of drivers whose versions moved are re-keyed."""
    w = ctx.window
    drivers, zones, cities, flags = (
        ctx.table("dim_driver"),
        ctx.table("dim_zone"),
        ctx.table("dim_city"),
        ctx.table("dim_trip_flags"),
    )
    window_trips = ctx.table("window_trips", "stage")
    offsets = ctx.stage("utc_offsets", utc_offsets(TIME_ZONES))
    new_events = ctx.stage("fact_trip_event",
                           fact_trip_event(accepted_records(ctx, "events"), drivers))  # fmt: skip

    def in_window_trips(t):
        return t.trip_id.isin(window_trips.trip_id)

    rekey(ctx, "fact_trip_event", "event_time", lambda t: ~in_window_trips(t))
    ctx.replace("fact_trip_event", new_events, in_window_trips)

    fares = ctx.table("fares", "stage").select(*[c for c in gen_fare_columns()])
    trips = fact_trip(new_events, ctx.table("quotes", "stage"), fares, zones, cities, drivers,
                      flags, offsets)  # fmt: skip

    def in_window_days(t):
        return w.event_keys(t.date_key)

    rekey(ctx, "fact_trip", "accepted_at", lambda t: ~in_window_days(t))
    ctx.replace("fact_trip", trips, in_window_days)

    # driver status: the window's rows, their ends, and the last row before the window
    fs = ctx.table("fact_driver_status")
    later = fs.filter(fs.date_key > w.last_key)
    following = later.group_by("driver_id").aggregate(_next=later.event_time.min())
    new_status = ctx.stage(
        "new_status",
        fact_driver_status(accepted_records(ctx, "status"), drivers, following),
    )
    old_window = fs.filter(in_window_days(fs))
    touched = new_status.select("driver_id").union(old_window.select("driver_id"))
    # a driver's last row before the window is the one whose end (the driver's next event)
    # lies in the window or later, or is still open: every earlier row ends before the window
    window_start = ibis.timestamp(pd.Timestamp(w.first_event_day).to_pydatetime())
    last = fs.filter(
        (fs.date_key < w.first_key)
        & (fs.status_end.isnull() | (fs.status_end >= window_start))
        & fs.driver_id.isin(touched.driver_id)
    )
    starts = new_status.select("driver_id", t="event_time").union(
        following.select("driver_id", t="_next"), distinct=False
    )
    nxt = starts.group_by("driver_id").aggregate(_end=starts.t.min())
    fixed = last.left_join(nxt, "driver_id").drop("driver_id_right")
    changed = fixed.filter(~fixed.status_end.identical_to(fixed._end))
    boundary = ctx.stage(
        "boundary_status",
        changed.mutate(
            _old_end=changed.status_end,
            status_end=changed._end,
            duration_ms=ms_between(changed.event_time, changed._end),
        ).drop("_end"),
    )
    corrected = boundary.drop("_old_end")
    rekey(ctx, "fact_driver_status", "event_time",
          lambda t: ~in_window_days(t) & ~t.status_event_id.isin(boundary.status_event_id))  # fmt: skip
    ctx.replace(
        "fact_driver_status",
        new_status.union(corrected.select(new_status.columns), distinct=False),
        lambda t: in_window_days(t) | t.status_event_id.isin(boundary.status_event_id),
    )
    # the days the corrected rows touch: the marts and the supply board recompute them
    span = boundary.filter(boundary.status != "offline")
    found = (
        span.aggregate(
            first=span.event_time.min(),
            last=ibis.greatest(span.status_end.max(), span._old_end.max()),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    days = boundary.select("date_key").distinct().to_pyarrow()["date_key"].to_pylist()
    ctx.state["status_days"] = sorted(set(days))
    first_day, last_day = w.first_event_day, w.day_to
    if found["first"] is not None:
        first_day = min(first_day, found["first"].date())
    if found["last"] is not None:
        last_day = max(last_day, found["last"].date())
    ctx.state["board_days"] = (first_day, last_day)


def gen_fare_columns() -> list[str]:
    return ["trip_id", "trip_miles", "base_passenger_fare", "tolls", "tips", "driver_pay",
            "rider_rating"]  # fmt: skip


def step_supply(ctx: pipeline.Context) -> None:
    """The surge log of the window's days, and the supply-demand board of every day touched."""
    w = ctx.window
    sl = ctx.raw("surge_log")
    sl = sl.filter(sl[LANDING] >= ibis.date(w.first_event_day))
    sl = ctx.accepted(sl.mutate(event_date=sl.interval_start.date()), "event_date")
    sl = sl.filter(w.event_days(sl.event_date))
    ctx.replace(
        "fact_surge",
        sl.select(schema.FACT_SURGE.column_names),
        lambda t: w.event_days(t.interval_start.date()),
    )
    first_day, last_day = ctx.state["board_days"]
    lo, hi = pipeline.date_key(first_day), pipeline.date_key(last_day)
    per_day = 24 * 60 // gen.INTERVAL_MINUTES
    lo_index = (pd.Timestamp(first_day) - T0).days * per_day
    hi_index = ((pd.Timestamp(last_day) - T0).days + 1) * per_day
    start = ibis.timestamp(pd.Timestamp(first_day).to_pydatetime())
    end = ibis.timestamp(
        (pd.Timestamp(last_day) + pd.Timedelta(days=1)).to_pydatetime()
    )
    zones = ctx.table("dim_zone")
    real_zones = zones.filter((zones.zone_id > 0) & ~zones.is_inferred)
    grid = interval_grid(
        real_zones.select("zone_id", "time_zone").order_by("zone_id").to_pandas(),
        first_day,
        last_day,
    )
    grid = ctx.stage("grid", grid)
    trips = ctx.table("fact_trip")
    trips = trips.filter(trips.date_key.between(lo, hi))
    fs = ctx.table("fact_driver_status")
    fs = fs.filter((fs.event_time < end) & (fs.status_end > start))
    surge = ctx.table("fact_surge")
    surge = surge.filter((surge.interval_start >= start) & (surge.interval_start < end))
    board = fact_supply_demand(
        grid,
        request_counts(trips, ctx.table("dim_trip_flags")),
        driver_counts(fs, lo_index, hi_index),
        surge,
    ).order_by(["zone_id", "interval_start"])
    ctx.replace(
        "fact_supply_demand",
        board,
        lambda t: t.date_key.between(lo, hi),
    )


def step_riders(ctx: pipeline.Context) -> None:
    """The riders whose record landed or who requested a ride in the window: their row again
    (first request and cohort from every trip of theirs)."""
    quotes = ctx.table("quotes", "stage")
    touched = ctx.stage(
        "touched_riders",
        ctx.landed("riders").select("rider_id").union(quotes.select("rider_id")),
    )
    riders = ctx.raw("riders")
    riders = pipeline.latest(
        riders.filter(riders.rider_id.isin(touched.rider_id)), "rider_id"
    )
    trips = ctx.table("fact_trip")
    trips = trips.filter(trips.rider_id.isin(touched.rider_id))
    ctx.replace(
        "dim_rider",
        rider_rows(riders, trips),
        lambda t: t.rider_id.isin(touched.rider_id),
    )


def step_marts(ctx: pipeline.Context) -> None:
    """The marts of the days (and months) the load touched."""
    w = ctx.window
    flags = ctx.table("dim_trip_flags")
    keys = sorted(
        {pipeline.date_key(d) for d in landing.day_range(w.first_event_day, w.day_to)}
        | set(ctx.state.get("status_days", []))
    )
    status, trips = ctx.table("fact_driver_status"), ctx.table("fact_trip")
    daily = driver_daily(
        status.filter(status.date_key.isin(keys)),
        trips.filter(trips.date_key.isin(keys)),
        flags,
    )
    ctx.replace(
        "driver_daily",
        daily,
        lambda t: t.date_key.isin(keys),
        "mart",
    )
    m0 = w.first_event_day.replace(day=1)
    m1 = w.day_to.replace(day=1)
    after = (pd.Timestamp(m1) + pd.offsets.MonthBegin(1)).to_pydatetime()
    t = trips.filter(
        (trips.requested_at >= ibis.timestamp(pd.Timestamp(m0).to_pydatetime()))
        & (trips.requested_at < ibis.timestamp(after))
    )
    ctx.replace(
        "rider_monthly",
        rider_monthly(t, flags),
        lambda x: x.month_start.between(ibis.date(m0), ibis.date(m1)),
        "mart",
    )
    t = trips.filter(w.event_keys(trips.date_key))
    ctx.replace(
        "city_hourly",
        city_hourly(t, flags),
        lambda x: w.event_days(x.hour_start.date()),
        "mart",
    )


def report(ctx: pipeline.Context, report: BuildReport) -> None:
    """Per source: rows landed = rows loaded + rows quarantined; rows per table."""
    raw = {name: ctx.raw(name) for name in schema.RAW_TABLES}
    q = ctx.table("quarantine")
    per_source = q.group_by("source").aggregate(n=q.count()).to_pyarrow().to_pylist()
    q_counts = {r["source"]: r["n"] for r in per_source}
    cities, zones, drivers = (
        ctx.table("dim_city"),
        ctx.table("dim_zone"),
        ctx.table("dim_driver"),
    )
    trips = ctx.table("fact_trip")

    def real(t: ir.Table, key: str) -> ir.Table:  # the rows that came from the source
        t = t.filter(t[key] > 0)
        return t.filter(~t.is_inferred) if "is_inferred" in t.columns else t

    loaded = {
        "cities": real(cities, "city_id"),
        "zones": real(zones, "zone_id"),
        "riders": real(ctx.table("dim_rider"), "rider_id"),
        "driver_changes": applied_driver_changes(
            raw["driver_changes"].drop(LANDING), drivers
        ),
        "trip_events": ctx.table("fact_trip_event"),
        "trip_quotes": trips,
        "trip_fares": trips.filter(trips.base_passenger_fare.notnull()),
        "driver_status_events": ctx.table("fact_driver_status"),
        "surge_log": ctx.table("fact_surge"),
    }
    counts = pipeline.count_rows(
        {
            **{f"in {name}": raw[name] for name in schema.RAW_TABLES},
            **{f"loaded {name}": t for name, t in loaded.items()},
            **{d.qualified_name: ctx.table(d.name, d.database) for d in schema.TABLES},
        }
    )
    for name in schema.RAW_TABLES:
        report.add_source(
            name,
            counts[f"in {name}"],
            counts[f"loaded {name}"],
            int(q_counts.get(name, 0)),
        )
    report.tables.clear()
    for decl in schema.TABLES:
        report.tables[decl.qualified_name] = counts[decl.qualified_name]


PIPELINE = pipeline.Pipeline(
    practice="rideshare",
    keys=KEYS,
    steps=[
        pipeline.Step(
            "clean", step_clean, "staging: duplicates and late records to quarantine"
        ),
        pipeline.Step(
            "dimensions", step_dimensions, "dimensions: cities, zones, drivers (type 2)"
        ),
        pipeline.Step("facts", step_facts, "facts: trip events, trips, driver status"),
        pipeline.Step(
            "supply", step_supply, "facts: surge, supply and demand per 5 minutes"
        ),
        pipeline.Step(
            "riders", step_riders, "the rider dimension of the riders touched"
        ),
        pipeline.Step("marts", step_marts, "marts of the days touched"),
    ],
    init=init,
    report=report,
)


def write_landing(
    root, scale=None, seed=None, workers: int | None = None, progress=None
) -> dict:
    """Generate the raw data and write it as the landing zone at ``root``, month by month (a
    month's files are written while the next is generated); return its manifest."""
    start = BuildReport.start("rideshare", scale, seed)
    say = progress or (lambda message: None)
    manifest = {
        "practice": "rideshare",
        "scale_rows": start.scale_rows,
        "seed": start.seed,
    }
    with landing.LandingWriter(
        root, KEYS, workers=workers, manifest=manifest
    ) as writer:
        for source, piece in gen.stream(start.scale_rows, start.seed):
            if source is None:
                say(f"landing zone: writing the days before {piece}")
                writer.flush(before=piece)
            else:
                writer.add(source, piece)
    return landing.read_manifest(root)


def build(
    con,
    scale=None,
    seed=None,
    progress=None,
    *,
    landing_root=None,
    lookback_days: int = pipeline.DEFAULT_LOOKBACK_DAYS,
) -> BuildReport:
    """Generate the ride-sharing platform's raw data and load every day of it into ``con``.

    With ``landing_root`` the raw data is written there first, as the landing zone (Parquet by
    source and day), and read back day by day as a nightly load would. Without it the same rows
    stay in memory (the fast path of the book's small warehouse): the load is the same.
    """
    report, raw = pipeline.raw_for_build(
        "rideshare",
        scale,
        seed,
        gen.generate,
        write_landing,
        landing_root=landing_root,
        progress=progress,
        what="ride requests",
    )
    say = progress or (lambda message: None)
    pipeline.build(
        con,
        PIPELINE,
        raw,
        lookback_days=lookback_days,
        progress=progress,
        report=report,
    )
    say("done")
    return report


def load(
    con, day_from, day_to=None, *, landing_root, lookback_days=None, progress=None
) -> BuildReport:
    """Load the days ``day_from``..``day_to`` of the landing zone at ``landing_root``."""
    return pipeline.load_landing(
        con,
        PIPELINE,
        day_from,
        day_to,
        landing_root=landing_root,
        lookback_days=lookback_days,
        progress=progress,
    )
