"""A seeded ride-sharing market: riders, drivers, trips, surge, with planted truths and dirt.

What the generator simulates, vectorised with numpy (no loop over rows):

* **Cities and zones.** Three cities in three US time zones, each cut into seven hexagonal zones
  (a centre and a ring of six). ``zone_id = city_id * 100 + cell``, e.g. ``101`` is Northport's
  centre. Timestamps are UTC, to the millisecond; people live by the city's clock.
* **Demand.** Every zone-hour of the first half of 2025 gets a demand index: city size, zone
  popularity, the *local* hour of day (commute peaks at 08:30 and 18:00 on the city's clock,
  daylight saving time included), the local day of week, and a random *demand shock*. A rider
  *session* is a rider who wants a ride in that zone-hour; sessions follow the index.
* **Surge.** The pricing engine compares expected demand with the drivers positioned in the zone
  and computes a multiplier (1.0 to 3.0 in steps of 0.1) once per zone and hour, published for
  each 5-minute interval. A *switchback holdout* keeps 25 % of the zone-hours at 1.0 although the
  engine wanted a surge: those are the "comparable non-surge intervals" that make surge
  measurable (``is_holdout``).
* **Riders react to price.** When the quote shows multiplier ``m`` a rider confirms with
  probability ``0.95 * m ** -0.8`` and otherwise cancels at once and tries again a minute later
  (a burst of requests). So every session ends in one *kept* request after zero or more
  abandoned ones.
* **Drivers.** Full-time drivers work shifts of 4-8 hours, local time (starting from 05:00 and
  ending by 04:00 the next morning) and, at each hour, stay in their zone or move to another zone
  of their city. A few move city (they take the move day off), are suspended for a while, swap
  vehicles, or leave the platform: their account is deleted as they log off for the last time.
  Part-time drivers log on for one hour where surge is on, which makes the drivers positioned
  in a zone grow as ``m ** 0.6`` (the supply response). Thin markets get more slack (fewer
  requests per driver-hour) than big ones.
* **Dispatch.** An idle driver receives kept requests of their zone at the zone's rate per
  driver; a kept request that arrives while every driver is busy expires unfulfilled. A driver
  may decline an offer, cancel after accepting, or the rider may cancel while waiting.
* **Trips** have a pickup and a dropoff zone in one city, an ETA, distance, duration, a fare built
  like the public for-hire vehicle trip records (``base_passenger_fare``, ``tolls``, ``tips``,
  ``driver_pay``) and sometimes a rating. Money is exact: whole cents, handed over as
  ``DECIMAL(18, 2)``; so are miles, to the hundredth.
* **Retention.** Riders are grouped in monthly cohorts by their first request; a rider of a
  cohort is active (makes at least one request) ``k`` months later with the planted probability
  ``PLANTED["monthly_retention"][k]``.

Source systems hand over (the ``raw`` schema): ``cities``, ``zones``, ``riders``,
``driver_changes`` (a change log of the driver table), ``trip_events`` (the dispatch event log),
``driver_status_events`` (the driver app's status log) and ``surge_log`` (the pricing engine's
output). Planted dirt: pickup zones missing (no GPS fix) or with ids the zone table does not
know yet (a map newer than the zone extract), completed trips whose ``started`` event was lost,
and events delivered twice.

**The incident** of the metric investigation (``PLANTED["incident"]``, the sixth notebook): the
upload of Northport's dispatch events stalls on Friday 16 May 2025. Every ``trip_events`` record
of a trip requested that UTC day in Northport lands two days late, in the 2025-05-18 partition,
so the daily report that runs at 07:00 UTC the next morning misses the city's completed trips.
Only landing dates move, within the build's lookback: no event time changes and no random draw
is added, so every fact, dimension and mart of the warehouse stays as it was.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa

from datamodeling import synth

START = np.datetime64("2025-01-01T00:00:00", "us")
DAYS = 181  # 2025-01-01 .. 2025-06-30: six complete months
HOURS = DAYS * 24
END = START + np.timedelta64(DAYS, "D")  # exclusive
LAST_DAY = "2025-06-30"
INTERVAL_MINUTES = 5
INTERVALS = DAYS * 24 * 60 // INTERVAL_MINUTES
US = 1_000_000
HOUR_US = 3600 * US
MONTH_STARTS = np.array(
    [np.datetime64(f"2025-{m:02d}-01", "us") for m in range(1, 8)],
    dtype="datetime64[us]",
)

PLANTED = {
    # rider's decision at the quote: P(confirm | m) = base_keep_rate * m ** -price_elasticity
    "base_keep_rate": 0.95,
    "price_elasticity": 0.8,
    # drivers positioned in a zone-hour: E[drivers | m] = E[drivers | 1.0] * m ** supply_elasticity
    "supply_elasticity": 0.6,
    "holdout_share": 0.25,
    # share of a monthly cohort (by first request) that requests a ride k months later
    "monthly_retention": {0: 1.0, 1: 0.42, 2: 0.34, 3: 0.30, 4: 0.27, 5: 0.25},
    # dirt
    "missing_zone_share": 0.001,
    "unknown_zone_share": 0.002,
    "missing_start_share": 0.002,
    "duplicate_event_share": 0.004,
    "duplicate_status_share": 0.003,
    "expiry_seconds": 120,
    # late deliveries (the landing zone): a driver's phone offline holds its app's events, the
    # billing export of a day is re-sent the next day, the driver table's change feed lags
    "late_event_share": 0.004,
    "late_status_share": 0.003,
    "late_fare_share": 0.01,
    "late_change_share": 0.1,
    "max_delay_hours": 44,
    #: The metric investigation's planted cause: one city's partition of one day lands late.
    "incident": {
        "cause": "late partition",
        "day": "2025-05-16",  # a Friday: the UTC day the trips were requested
        "city_id": 1,
        "city_name": "Northport",
        "source": "trip_events",
        #: the stalled upload: those records land in this partition (two days late, within the
        #: default lookback of three days), or later if they were late anyway
        "landing_date": "2025-05-18",
        #: the daily report runs at this hour (UTC) on the morning after the day it reports
        "report_hour": 7,
    },
}
#: Event types the driver's app sends (the ones a phone without signal can hold back).
DRIVER_APP_EVENTS = ("declined", "accepted", "arrived", "started", "completed")

CITIES = [
    # city_id, name, demand share, base fare, per mile, per minute (fare card in cents), time zone
    (1, "Northport", 0.5, 275, 155, 35, "America/New_York"),
    (2, "Easton", 0.3, 250, 140, 30, "America/Chicago"),
    (3, "Lakeside", 0.2, 225, 130, 28, "America/Los_Angeles"),
]
#: Local clock of the market: shifts start from 05:00 and end by 04:00 the next morning, so no
#: full-time driver is on duty from 04:00 to 05:00; driver records change at 04:30.
FIRST_SHIFT_HOUR = 5
LAST_SHIFT_END_HOUR = 4
CHANGE_MINUTE_OF_DAY = 4 * 60 + 30
#: Local commute peaks of the demand curve (hours, local time).
MORNING_PEAK_HOUR, EVENING_PEAK_HOUR = 8.5, 18.0
CITY_CENTRES = {1: (40.71, -74.00), 2: (41.88, -87.63), 3: (47.61, -122.33)}
# Hexagonal cells in axial coordinates: the centre, then the ring of six clockwise from north.
HEX_CELLS = [(0, 0), (0, -1), (1, -1), (1, 0), (0, 1), (-1, 1), (-1, 0)]
HEX_NAMES = [
    "Centre",
    "North",
    "North-east",
    "South-east",
    "South",
    "South-west",
    "North-west",
]
ZONE_WEIGHTS = np.array([3.0, 1.4, 1.2, 1.0, 0.9, 0.8, 0.7])
ZONES_PER_CITY = len(HEX_CELLS)
N_ZONES = len(CITIES) * ZONES_PER_CITY
#: Zone ids that the map-matching step produces but the zone table does not know (yet).
BAD_ZONE_IDS = np.array([108, 199, 999, 400])
VEHICLES = [
    ("Toyota", "Camry", "standard"),
    ("Toyota", "Prius", "standard"),
    ("Honda", "Accord", "standard"),
    ("Hyundai", "Ioniq 5", "standard"),
    ("Tesla", "Model 3", "comfort"),
    ("Kia", "Sorento", "xl"),
    ("Toyota", "Sienna", "xl"),
    ("Mercedes", "E-Class", "premium"),
]
VEHICLE_WEIGHTS = [0.22, 0.18, 0.14, 0.1, 0.12, 0.1, 0.09, 0.05]
CHANNELS = ["organic", "referral", "paid_search", "social_ads"]


def zone_ids() -> np.ndarray:
    return np.array(
        [c[0] * 100 + cell + 1 for c in CITIES for cell in range(ZONES_PER_CITY)],
        dtype=np.int64,
    )


def keep_probability(multiplier) -> np.ndarray:
    """The planted chance that a rider confirms a request quoted at ``multiplier``."""
    m = np.asarray(multiplier, dtype=float)
    return PLANTED["base_keep_rate"] * m ** -PLANTED["price_elasticity"]


MONEY = pa.decimal128(18, 2)
#: The column holding a raw row's landing date: the UTC day its source system handed it over (the
#: ``date=`` partition of the landing zone).
LANDING = "landing_date"
DAY_US = 86_400 * US
#: The day the landing zone starts: the initial extracts of the reference tables and of the
#: records created before the period (drivers, riders) land on it.
FIRST_LANDING_DAY = int(START.astype(np.int64) // DAY_US)


def _day(us_since_start) -> np.ndarray:
    """UTC day numbers (days since 1970, Arrow's date32) of times in microseconds since START."""
    return (
        (np.asarray(us_since_start, np.int64) + START.astype(np.int64)) // DAY_US
    ).astype(np.int32)


def _day_number(iso: str) -> np.int32:
    """The UTC day number (days since 1970) of an ISO date."""
    return np.int32(np.datetime64(iso, "D").astype(np.int64))


def _late_delays(
    seed: int, stream: str, n: int, share: float, chunk: int = 0
) -> np.ndarray:
    """Delivery delays (microseconds, whole milliseconds): 0 for most records, 10 minutes to
    ``max_delay_hours`` for a ``share`` of them (drawn from their own stream)."""
    gen = synth.rng(seed, "rideshare", stream, chunk)
    late = np.flatnonzero(gen.random(n) < share)
    delay = np.zeros(n, dtype=np.int64)
    delay[late] = to_ms(
        gen.integers(10 * 60 * US, PLANTED["max_delay_hours"] * HOUR_US, len(late))
    )
    return delay


def hundredths(values) -> pa.Array:
    """Exact ``DECIMAL(18, 2)`` from integer hundredths (cents, or hundredths of a mile).

    Built from the integers' bytes (a decimal is a 128-bit integer and a scale), so no float is
    ever rounded on the way: ``hundredths([1999])`` is exactly ``19.99``.
    """
    v = np.ascontiguousarray(np.asarray(values, dtype=np.int64))
    words = np.empty(2 * len(v), dtype="<i8")
    words[0::2] = v
    words[1::2] = np.where(v < 0, -1, 0)  # the high 64 bits: the sign, extended
    return pa.Array.from_buffers(MONEY, len(v), [None, pa.py_buffer(words)])


def to_ms(us: np.ndarray) -> np.ndarray:
    """Microseconds floored to the millisecond: the source systems log milliseconds."""
    return np.asarray(us, dtype=np.int64) // 1000 * 1000


#: Hours of padding around the period in the local-time tables below.
PAD_HOURS = 48


@cache
def utc_offset_hours() -> np.ndarray:
    """UTC offset (hours) of each city at each hour ``h`` of the period, ``h`` from ``-PAD_HOURS``.

    Row ``c`` is city ``c``; column ``h + PAD_HOURS`` is the offset at ``START + h hours`` (UTC).
    The offsets of US zones are whole hours, so a UTC hour is one local hour.
    """
    utc = pd.date_range(
        pd.Timestamp(START) - pd.Timedelta(hours=PAD_HOURS),
        periods=HOURS + 2 * PAD_HOURS,
        freq="h",
        tz="UTC",
    )
    rows = []
    for city in CITIES:
        local = utc.tz_convert(city[6]).tz_localize(None)
        rows.append(
            ((local - utc.tz_localize(None)) // pd.Timedelta(hours=1)).to_numpy()
        )
    return np.array(rows, dtype=np.int64)


def local_hour_index(city: np.ndarray | int, hour: np.ndarray) -> np.ndarray:
    """Local hour number (hours since local midnight of 2025-01-01) of UTC hour ``hour``."""
    hour = np.asarray(hour, dtype=np.int64)
    return hour + utc_offset_hours()[city, hour + PAD_HOURS]


def utc_hour_of_local(city: int, local_hour: np.ndarray) -> np.ndarray:
    """The first UTC hour whose local hour number is ``>= local_hour`` (in city ``city``).

    A local hour that the spring change of clocks skips maps to the hour after it.
    """
    hours = np.arange(-PAD_HOURS, HOURS + PAD_HOURS)
    local = local_hour_index(city, hours)  # non-decreasing
    return hours[
        np.searchsorted(local, np.asarray(local_hour, dtype=np.int64), side="left")
    ]


def local_to_utc_us(city: np.ndarray, local_us: np.ndarray) -> np.ndarray:
    """UTC microseconds since START of local times (microseconds since local START) per city."""
    city = np.asarray(city, dtype=np.int64)
    local_us = np.asarray(local_us, dtype=np.int64)
    out = np.empty(len(local_us), dtype=np.int64)
    for c in range(len(CITIES)):
        sel = city == c
        hour, rest = np.divmod(local_us[sel], HOUR_US)
        out[sel] = utc_hour_of_local(c, hour) * HOUR_US + rest
    return out


def _hex_distance(a: int, b: int) -> int:
    (q1, r1), (q2, r2) = HEX_CELLS[a], HEX_CELLS[b]
    return (abs(q1 - q2) + abs(r1 - r2) + abs((q1 + r1) - (q2 + r2))) // 2


HEX_DISTANCE = np.array(
    [
        [_hex_distance(a, b) for b in range(ZONES_PER_CITY)]
        for a in range(ZONES_PER_CITY)
    ]
)
#: REACH[a, b]: how strongly a driver positioned in zone a is dispatched to requests of zone b:
#: 1 for the zone itself and its neighbours, 0.25 for the far side of the city, 0 elsewhere.
REACH = np.kron(np.eye(len(CITIES)), np.where(HEX_DISTANCE <= 1, 1.0, 0.25))
#: Zones each zone reaches, padded with -1 (every zone reaches at most 7).
REACH_LIST = np.array(
    [
        np.r_[np.flatnonzero(row), np.full(7 - int((row > 0).sum()), -1)]
        for row in REACH
    ],
    dtype=np.int64,
)
REACH_WEIGHT = np.take_along_axis(REACH, np.maximum(REACH_LIST, 0), axis=1) * (
    REACH_LIST >= 0
)


# --------------------------------------------------------------------------------------------
# market plan: demand, baseline supply, surge
# --------------------------------------------------------------------------------------------


def _demand_index(seed: int) -> np.ndarray:
    """Demand per (zone, UTC hour), summing to 1: each city follows its own local clock."""
    gen = synth.rng(seed, "rideshare", "demand")
    hod = np.arange(24)
    diurnal = (
        0.12
        + 1.0 * np.exp(-0.5 * ((hod - MORNING_PEAK_HOUR) / 1.6) ** 2)
        + 1.1 * np.exp(-0.5 * ((hod - EVENING_PEAK_HOUR) / 2.2) ** 2)
        + 0.35 * np.exp(-0.5 * ((hod - 13.0) / 2.5) ** 2)
    )
    dow_factor = np.array([0.95, 0.95, 1.0, 1.05, 1.25, 1.15, 0.8])  # Monday = 0
    hour_factor = np.empty((len(CITIES), HOURS))
    for c in range(len(CITIES)):
        local = local_hour_index(c, np.arange(HOURS))
        dow = (local // 24 + 2) % 7  # 2025-01-01 is a Wednesday
        hour_factor[c] = dow_factor[dow] * diurnal[local % 24]
    city_share = np.repeat([c[2] for c in CITIES], ZONES_PER_CITY)
    zone_w = np.tile(ZONE_WEIGHTS / ZONE_WEIGHTS.sum(), len(CITIES))
    shock = gen.lognormal(-0.5 * 0.45**2, 0.45, size=(N_ZONES, HOURS))
    zone_city = np.repeat(np.arange(len(CITIES)), ZONES_PER_CITY)
    index = (city_share * zone_w)[:, None] * hour_factor[zone_city] * shock
    return index / index.sum()


def _supply_share() -> np.ndarray:
    """How full-time drivers of a city spread over its zones (flatter than demand)."""
    w = ZONE_WEIGHTS**0.8
    return w / w.sum()


# --------------------------------------------------------------------------------------------
# drivers
# --------------------------------------------------------------------------------------------


def _driver_traits(seed: int, counts, kind: str) -> dict:
    """Home city, type and behaviour of ``counts[c]`` drivers per city (one stream per kind)."""
    gen = synth.rng(seed, "rideshare", "drivers", kind)
    city = np.repeat([c[0] for c in CITIES], counts).astype(np.int64)
    n = len(city)
    full = kind == "full_time"
    return {
        "city": city,
        "kind": np.full(n, kind, dtype=object),
        "decline": gen.beta(2, 14, size=n),  # chance to decline an offer
        "cancel": gen.beta(1.2, 30, size=n),  # chance to cancel after accepting
        "quality": np.clip(
            gen.normal(4.72, 0.18, size=n), 3.8, 5.0
        ),  # mean rating earned
        "vehicle": gen.choice(
            len(VEHICLES), size=n, p=np.array(VEHICLE_WEIGHTS) / sum(VEHICLE_WEIGHTS)
        ),
        "signup": synth.uniform_times(
            gen, np.datetime64("2023-01-01"), np.datetime64("2024-12-31"), n
        ).astype("datetime64[s]"),
        # changes during the period: a few full-time drivers move city, some are suspended
        "moves": full & (gen.random(n) < 0.05),
        "move_day": gen.integers(20, DAYS - 20, size=n),
        "new_city": ((city - 1 + gen.integers(1, len(CITIES), size=n)) % len(CITIES))
        + 1,
        "suspended": full & (gen.random(n) < 0.04),
        "susp_from": gen.integers(10, DAYS - 30, size=n),
        "susp_len": gen.integers(3, 15, size=n),
        "swaps": gen.random(n) < 0.2,
        "swap_day": gen.integers(5, DAYS - 5, size=n),
        "new_vehicle": gen.integers(1, len(VEHICLES), size=n),
        "resend": gen.random(n) < 0.1,
        "resend_day": gen.integers(1, DAYS - 1, size=n),
        # a few full-time drivers leave the platform: no shift from leave_day on
        "leaves": full & (gen.random(n) < 0.04),
        "leave_day": gen.integers(60, DAYS - 20, size=n),
    }


def _settle(tr: dict) -> dict:
    """Make the life events of a driver compatible (idempotent).

    A driver who moves is not suspended; a driver who leaves neither moves nor is suspended, and
    swaps no vehicle and re-sends no record (nothing changes after the deletion); no vehicle swap
    falls within a day of a move. Full-time drivers always include at least one who leaves, so
    every build has a deletion to show.
    """
    tr = dict(tr)
    tr["suspended"] = tr["suspended"] & ~tr["moves"]
    tr["susp_to"] = tr["susp_from"] + tr["susp_len"]
    leaves = tr["leaves"] & ~tr["moves"] & ~tr["suspended"]
    full = tr["kind"] == "full_time"
    candidates = np.flatnonzero(full & ~tr["moves"] & ~tr["suspended"])
    if not leaves.any() and len(candidates):
        leaves[candidates[np.argmin(tr["decline"][candidates])]] = True
    tr["leaves"] = leaves
    near_move = tr["moves"] & (np.abs(tr["swap_day"] - tr["move_day"]) <= 1)
    tr["swaps"] = tr["swaps"] & ~tr["suspended"] & ~near_move & ~leaves
    tr["resend"] = (
        tr["resend"] & ~tr["moves"] & ~tr["suspended"] & ~tr["swaps"] & ~leaves
    )
    return tr


def _concat_traits(a: dict, b: dict) -> dict:
    out = _settle({k: np.concatenate([a[k], b[k]]) for k in b})
    out["new_vehicle"] = (out["vehicle"] + out["new_vehicle"]) % len(VEHICLES)
    out["driver_id"] = np.arange(1, len(out["city"]) + 1, dtype=np.int64) + 5000
    return out


def _driver_changes(seed: int, tr: dict, last_seen_us: np.ndarray) -> dict:
    """The driver table's change log: signup, moves, suspensions, swaps, re-sends, deletions.

    Moves and suspensions take effect at 04:30 local time, when no shift of the city is running
    (shifts end by 04:00 and start from 05:00), and a driver who moves takes the move day off, so
    a trip always sees the driver's city of that day. A driver who leaves closes the account while
    logging off for the last time: the deletion record comes 5 to 60 seconds before the app's last
    (offline) status event (``last_seen_us``, microseconds since START, per driver), so that
    status event is a fact *after* the deletion.
    """
    gen = synth.rng(seed, "rideshare", "driver_changes")
    n = len(tr["city"])
    day_us = 86_400 * US
    start_us = START.astype(np.int64)
    idx = np.arange(n)

    def at_day(city, day):  # a random time between 06:00 and 20:00, local
        local = day * day_us + gen.integers(6 * HOUR_US, 20 * HOUR_US, size=len(day))
        return start_us + to_ms(local_to_utc_us(city - 1, local))

    def at_change(city, day):  # 04:30 local: no shift of the city is running
        local = day * day_us + CHANGE_MINUTE_OF_DAY * 60 * US
        return start_us + local_to_utc_us(city - 1, local)

    vehicle, city = tr["vehicle"], tr["city"]
    records = [
        (
            idx,
            tr["signup"].astype("datetime64[us]").astype(np.int64),
            vehicle,
            city,
            "active",
        )
    ]
    m = idx[tr["moves"]]
    swapped_before = tr["swaps"][m] & (tr["swap_day"][m] < tr["move_day"][m])
    move_vehicle = np.where(swapped_before, tr["new_vehicle"][m], vehicle[m])
    records.append(
        (
            m,
            at_change(city[m], tr["move_day"][m]),
            move_vehicle,
            tr["new_city"][m],
            "active",
        )
    )
    s = idx[tr["suspended"]]
    records.append(
        (s, at_change(city[s], tr["susp_from"][s]), vehicle[s], city[s], "suspended")
    )
    records.append(
        (s, at_change(city[s], tr["susp_to"][s]), vehicle[s], city[s], "active")
    )
    w = idx[tr["swaps"]]
    moved_before = tr["moves"][w] & (tr["swap_day"][w] > tr["move_day"][w])
    swap_city = np.where(moved_before, tr["new_city"][w], city[w])
    records.append(
        (
            w,
            at_day(swap_city, tr["swap_day"][w]),
            tr["new_vehicle"][w],
            swap_city,
            "active",
        )
    )
    r = idx[tr["resend"]]
    records.append(
        (r, at_day(city[r], tr["resend_day"][r]), vehicle[r], city[r], "active")
    )
    gone = idx[tr["leaves"]]
    seen = last_seen_us[gone]
    closed = np.where(
        seen >= 0,
        start_us + to_ms(seen - gen.integers(5 * US, 60 * US, size=len(gone))),
        at_change(city[gone], tr["leave_day"][gone]),
    )
    records.append((gone, closed, vehicle[gone], city[gone], "active", True))
    d_idx = np.concatenate([x[0] for x in records])
    d_time = np.concatenate([x[1] for x in records])
    d_vehicle = np.concatenate([x[2] for x in records])
    d_city = np.concatenate([x[3] for x in records])
    d_status = np.concatenate([np.full(len(x[0]), x[4], dtype=object) for x in records])
    d_deleted = np.concatenate([np.full(len(x[0]), len(x) > 5) for x in records])
    order = np.lexsort((d_time, d_idx))
    names = np.array(VEHICLES, dtype=object)
    return {
        "driver_id": tr["driver_id"][d_idx[order]],
        "changed_at": d_time[order].astype("datetime64[us]"),
        "vehicle_make": names[d_vehicle[order], 0],
        "vehicle_model": names[d_vehicle[order], 1],
        "vehicle_type": names[d_vehicle[order], 2],
        "city_id": d_city[order].astype(np.int64),
        "driver_status": d_status[order],
        "driver_type": tr["kind"][d_idx[order]],
        "is_deleted": d_deleted[order],
    }


def _full_time_shifts(seed: int, traits: dict):
    """Shifts of full-time drivers: (driver index, city, first UTC hour index, number of hours).

    Shifts are planned on the city's clock: they start from 05:00 local and end by 04:00 local
    the next morning, daylight saving time included (a shift across the spring change of clocks
    is one hour shorter in real time). Local day -1 (31 December) is planned too, so that the
    evening shifts that run into the first UTC hours of the period exist.
    """
    gen = synth.rng(seed, "rideshare", "shifts")
    full = np.arange(len(traits["city"]))
    days = np.arange(-1, DAYS)
    drv = np.repeat(full, len(days))
    day = np.tile(days, len(full))
    works = gen.random(len(drv)) < 0.72
    length = gen.integers(4, 9, size=len(drv))
    # start hours: morning drivers, afternoon/evening drivers, a few night owls
    u = gen.random(len(drv))
    start = np.where(
        u < 0.45,
        gen.integers(FIRST_SHIFT_HOUR, 9, size=len(drv)),
        np.where(
            u < 0.85,
            gen.integers(12, 17, size=len(drv)),
            gen.integers(19, 23, size=len(drv)),
        ),
    )
    start = np.minimum(
        start, 24 + LAST_SHIFT_END_HOUR - length
    )  # ends by 04:00 next morning
    city = traits["city"][drv]
    moves = traits["moves"][drv]
    moved = moves & (day > traits["move_day"][drv])
    city = np.where(moved, traits["new_city"][drv], city)
    away = (
        (
            traits["suspended"][drv]
            & (day >= traits["susp_from"][drv])
            & (day < traits["susp_to"][drv])
        )
        | (moves & (day == traits["move_day"][drv]))  # the move day is off
        | (traits["leaves"][drv] & (day >= traits["leave_day"][drv]))
    )
    first = np.zeros(len(drv), dtype=np.int64)
    end = np.zeros(len(drv), dtype=np.int64)
    for c in range(len(CITIES)):
        sel = city == c + 1
        first[sel] = utc_hour_of_local(c, day[sel] * 24 + start[sel])
        end[sel] = utc_hour_of_local(c, day[sel] * 24 + start[sel] + length[sel])
    keep = works & ~away & (first >= 0) & (end <= HOURS) & (end > first)
    return drv[keep], city[keep], first[keep], (end - first)[keep]


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------


def _plan(rows: int, seed: int) -> dict:
    """The market plan for the whole period: demand, drivers and their sessions, surge."""
    rows = int(rows)
    gen = synth.rng(seed, "rideshare", "market")
    zids = zone_ids()
    zone_city = np.repeat(
        np.arange(len(CITIES)), ZONES_PER_CITY
    )  # city index per zone index
    demand = _demand_index(seed)
    # sessions (kept requests): with abandoned attempts and the requests lost to busy drivers,
    # the requests come out a little above ``rows``
    sessions_total = rows / 1.1
    kept_rate = sessions_total * demand  # expected kept requests per zone-hour

    # ---- drivers: enough full-time driver-hours for ~1.45 kept requests per driver-hour
    city_sessions = np.array(
        [kept_rate[zone_city == c].sum() for c in range(len(CITIES))]
    )
    # kept requests per driver-hour: about 1.3 in a big market (drivers busy ~45 % of the time);
    # a thin market needs slack, or most requests find nobody (0.7 at one request an hour)
    per_city_hour = city_sessions / HOURS
    load = 0.7 + 0.6 * np.clip(
        np.log10(np.maximum(per_city_hour, 1.0)) / np.log10(20.0), 0, 1
    )
    driver_hours = city_sessions / load
    hours_per_driver = DAYS * 0.72 * 6.0 * 0.98
    n_full = np.maximum(10, np.ceil(driver_hours / hours_per_driver)).astype(int)
    # part-time pool sized after the surge plan below; create traits once we know it
    full_traits = _settle(_driver_traits(seed, n_full, "full_time"))
    drv, s_city, s_first, s_len = _full_time_shifts(seed, full_traits)
    # driver-hours per city-hour
    hour_of_block = np.repeat(s_first, s_len) + (
        np.arange(s_len.sum()) - np.repeat(np.cumsum(s_len) - s_len, s_len)
    )
    city_of_block = np.repeat(s_city, s_len) - 1
    on_duty = np.zeros((len(CITIES), HOURS))
    np.add.at(on_duty, (city_of_block, hour_of_block), 1)
    share = _supply_share()
    baseline = (
        on_duty[zone_city] * np.tile(share, len(CITIES))[:, None]
    )  # (zones, hours)

    # ---- the pricing engine
    capacity = (
        1.4 * load[zone_city][:, None]
    )  # requests a driver-hour serves before surging
    pressure = (REACH @ kept_rate) / (capacity * np.maximum(REACH @ baseline, 0.25))
    computed = np.round(1.0 + 1.0 * (pressure - 1.0), 1)
    computed = np.where(computed < 1.1, 1.0, np.minimum(computed, 3.0))
    # no driver of the city on duty: the market is closed, surging would not bring anyone
    computed = np.where(on_duty[zone_city] > 0, computed, 1.0)
    holdout = gen.random(computed.shape) < PLANTED["holdout_share"]
    applied = np.where(holdout, 1.0, computed)

    # ---- part-time drivers answer surge: extra driver-hours ~ Poisson(baseline * (m^eta - 1))
    extra_rate = baseline * (applied ** PLANTED["supply_elasticity"] - 1.0)
    extra = gen.poisson(extra_rate)
    # assign distinct part-timers within a city-hour; even and odd hours use separate halves of
    # the pool so nobody has two consecutive one-hour sessions
    ez, eh = np.nonzero(extra)
    ecount = extra[ez, eh]
    ez = np.repeat(ez, ecount)
    eh = np.repeat(eh, ecount)
    ecity = zone_city[ez]
    key = ecity * HOURS + eh
    order = np.argsort(key, kind="stable")
    ez, eh, ecity, key = ez[order], eh[order], ecity[order], key[order]
    first_of_key = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    counts = np.diff(np.r_[first_of_key, len(key)])
    rank = np.arange(len(key)) - np.repeat(first_of_key, counts)
    per_city_max = np.zeros(len(CITIES), dtype=int)
    if len(key):
        np.maximum.at(per_city_max, ecity[first_of_key], counts)
    half = np.maximum(per_city_max, 2)
    n_part = 2 * half
    traits = _concat_traits(full_traits, _driver_traits(seed, n_part, "part_time"))
    n_full_total = int(n_full.sum())
    part_offset = n_full_total + np.r_[0, np.cumsum(n_part)[:-1]]
    rot = synth.rng(seed, "rideshare", "part_rot").integers(
        0, 1 << 30, size=len(CITIES) * HOURS
    )
    slot = (rot[key] + rank) % half[ecity]
    part_driver = part_offset[ecity] + (eh % 2) * half[ecity] + slot

    # ---- sessions of drivers: full-time shifts (zones sticky, re-drawn with p=0.4 each hour)
    zgen = synth.rng(seed, "rideshare", "positions")
    n_blocks = int(s_len.sum())
    block_session = np.repeat(np.arange(len(drv)), s_len)
    block_pos = np.arange(n_blocks) - np.repeat(np.cumsum(s_len) - s_len, s_len)
    redraw = (zgen.random(n_blocks) < 0.4) | (block_pos == 0)
    drawn = zgen.choice(ZONES_PER_CITY, size=n_blocks, p=share)
    last = np.maximum.accumulate(np.where(redraw, np.arange(n_blocks), 0))
    block_cell = drawn[last]
    block_zone = (s_city[block_session] - 1) * ZONES_PER_CITY + block_cell
    block_hour = s_first[block_session] + block_pos
    # part-time one-hour sessions
    p_sess0 = len(drv)
    sess_driver = np.r_[drv, part_driver]
    sess_first = np.r_[s_first, eh]
    sess_len = np.r_[s_len, np.ones(len(eh), dtype=int)]
    max_len = int(sess_len.max()) if len(sess_len) else 1
    n_sess = len(sess_driver)
    sess_zones = np.full((n_sess, max_len + 1), -1, dtype=np.int64)
    sess_zones[block_session, block_pos] = block_zone
    sess_zones[p_sess0 + np.arange(len(eh)), 0] = ez
    all_block_zone = np.r_[block_zone, ez]
    all_block_hour = np.r_[block_hour, eh]
    all_block_driver = np.r_[sess_driver[block_session], part_driver]
    positioned = np.zeros((N_ZONES, HOURS))
    np.add.at(positioned, (all_block_zone, all_block_hour), 1)
    # driver-hours by (zone, hour), sorted once: an offer finds the drivers of its zone-hour
    bkey = all_block_zone.astype(np.int64) * HOURS + all_block_hour
    border = np.argsort(bkey, kind="stable")
    # a request goes to the drivers positioned within reach of its zone: each of them receives
    # kept_rate / drivers-in-reach of it while idle
    per_driver = kept_rate / np.maximum(REACH @ positioned, 1)  # (zones, hours)
    padded = np.vstack([per_driver, np.zeros((1, HOURS))])
    reach_rates = padded[REACH_LIST] * REACH_WEIGHT[:, :, None]  # (zones, 7, hours)
    # requests go to idle drivers: divide by the expected idle share (about 20 minutes of work
    # per request), so the kept demand is served whenever anyone is free
    offered = reach_rates.sum(axis=1)
    utilisation = np.clip(offered * 20.0 / 60.0, 0.0, 0.85)
    rate_per_driver = offered / (1.0 - utilisation) / HOUR_US  # per microsecond idle
    reach_cdf = (
        np.cumsum(reach_rates, axis=1)
        / np.maximum(reach_rates.sum(axis=1), 1e-12)[:, None, :]
    )

    return {
        "zids": zids,
        "zone_city": zone_city,
        "kept_rate": kept_rate,
        "computed": computed,
        "applied": applied,
        "holdout": holdout,
        "traits": traits,
        "sess_driver": sess_driver,
        "sess_first": sess_first,
        "sess_len": sess_len,
        "sess_zones": sess_zones,
        "rate_per_driver": rate_per_driver,
        "reach_cdf": reach_cdf,
        "positioned": positioned,
        "blocks_sorted": (border, bkey[border]),
        "block_driver": all_block_driver,
    }


#: Hour numbers (since START) where each UTC month of the period starts, and the end.
MONTH_HOURS = ((MONTH_STARTS - START) // np.timedelta64(1, "h")).astype(np.int64)


#: From this many ride requests on, :func:`stream` simulates the next month in a thread of its
#: own while it turns the current one into tables.
PARALLEL_ROWS = 500_000


def _month_arguments(seed: int, p: dict, m: int) -> tuple:
    """The arguments of :func:`_simulate` for the driver sessions starting in month ``m``."""
    h0, h1 = MONTH_HOURS[m], MONTH_HOURS[m + 1]
    sel = (p["sess_first"] >= h0) & (p["sess_first"] < h1)
    return (
        seed,
        p["sess_driver"][sel],
        p["sess_first"][sel],
        p["sess_len"][sel],
        p["sess_zones"][sel],
        p["rate_per_driver"],
        p["reach_cdf"],
        p["traits"],
        m,
    )


def _simulated_months(seed: int, p: dict, threads: int):
    """Yield the dispatch simulation of each month, in order.

    Each month draws from its own random streams, so a month can be simulated anywhere: with
    ``threads`` > 0, that many threads simulate the next months while the caller turns the
    earlier ones into tables (numpy releases the GIL in its loops), and the rows are the same.
    """
    months = range(len(MONTH_HOURS) - 1)
    if threads < 1:
        for m in months:
            yield _simulate(*_month_arguments(seed, p, m))
        return
    # threads, not processes: the months share the plan's arrays, and numpy's loops run in parallel
    pool = ThreadPoolExecutor(max_workers=threads)
    try:
        ahead = [
            pool.submit(_simulate, *_month_arguments(seed, p, m))
            for m in months[:threads]
        ]
        for m in months:
            if m + threads < len(months):  # a few months ahead, not all: memory
                ahead.append(
                    pool.submit(_simulate, *_month_arguments(seed, p, m + threads))
                )
            result, ahead[m] = ahead[m].result(), None
            yield result
    finally:  # also when the caller stops early (an error, Ctrl-C): start no other month
        pool.shutdown(wait=True, cancel_futures=True)


def stream(rows: int, seed: int, threads: int | None = None):
    """The raw data of about ``rows`` ride requests, seeded, handed over month by month.

    Yields ``(source, table)`` pieces (each table with its ``landing_date`` column) and, after
    each month, ``(None, day)``: no later piece of the logs lands before ``day``, so a writer can
    put the days before it on disk and forget them (:class:`datamodeling.landing.LandingWriter`).
    The plan (demand, drivers, surge) covers the whole period; the dispatch, the requests and
    their events are simulated one UTC month at a time, each month with its own random streams,
    so memory holds one month of requests (10 million requests fit in a few gigabytes).
    Riders, the driver table's changes, the surge log and the reference tables come last.

    ``threads``: how many threads simulate the next months ahead (default: one from
    :data:`PARALLEL_ROWS` requests on, else none). The rows are the same whatever the number.
    """
    rows = int(rows)
    if threads is None:
        threads = 1 if rows >= PARALLEL_ROWS else 0
    p = _plan(rows, seed)
    zids, zone_city, applied, traits = (
        p["zids"],
        p["zone_city"],
        p["applied"],
        p["traits"],
    )
    n_drivers = len(traits["city"])
    idle = np.zeros(p["kept_rate"].shape)
    reach_pos = REACH @ p["positioned"]
    cohorts = _Cohorts(seed)
    last_seen = np.full(n_drivers, -1, dtype=np.int64)
    carry = None  # matched trips requested after the month their driver's session started in
    next_trip, next_event, next_status = 1_000_001, 1, 1
    fares = np.array([[c[3], c[4], c[5]] for c in CITIES])  # cents
    sims = _simulated_months(seed, p, threads)
    for m in range(len(MONTH_HOURS) - 1):
        h0, h1 = MONTH_HOURS[m], MONTH_HOURS[m + 1]
        # ---- dispatch simulation of the driver sessions starting this month
        sim = next(sims)
        idle += sim["idle_us"]
        status = _status_table(
            seed, sim["status"], traits, zids, chunk=m, first_id=next_status
        )
        next_status += status.num_rows
        if len(sim["status"]["driver"]):
            seen = (
                pd.Series(sim["status"]["time"]).groupby(sim["status"]["driver"]).max()
            )
            last_seen[seen.index] = np.maximum(last_seen[seen.index], seen.to_numpy())
        yield from _with_landing(seed, {"driver_status_events": status}).items()
        trips = sim["trips"]
        if carry is not None:
            trips = {k: np.r_[carry[k], trips[k]] for k in trips}
        later = trips["request"] >= h1 * HOUR_US
        carry = {k: v[later] for k, v in trips.items()}
        t = {k: v[~later] for k, v in trips.items()}
        del sim, trips

        # ---- unmatched kept requests: arrive while every positioned driver is busy (the idle
        # time of this month's hours is complete: later sessions start later)
        hours = slice(h0, h1)
        idle_share = np.where(
            reach_pos[:, hours] > 0,
            (REACH @ idle[:, hours]) / np.maximum(reach_pos[:, hours], 1) / HOUR_US,
            0,
        )
        # a kept request expires when every driver within reach is busy (treated as independent)
        busy = (1.0 - np.clip(idle_share, 0.0, 1.0)) ** np.maximum(
            reach_pos[:, hours], 1
        )
        ugen = synth.rng(seed, "rideshare", "unmatched", m)
        n_un = ugen.poisson(p["kept_rate"][:, hours] * busy)
        uz, uh = np.nonzero(n_un)
        uc = n_un[uz, uh]
        uz, uh = np.repeat(uz, uc), np.repeat(uh + h0, uc)
        u_time = uh.astype(np.int64) * HOUR_US + ugen.integers(0, HOUR_US, size=len(uz))

        # ---- kept requests: matched trips + unmatched
        n_matched = len(t["zone"])
        k_zone = np.r_[t["zone"], uz]
        k_hour = np.r_[t["request"] // HOUR_US, uh]
        k_time = np.r_[t["request"], u_time]
        n_kept = len(k_zone)
        kgen = synth.rng(seed, "rideshare", "abandon", m)
        m_kept = applied[k_zone, k_hour]
        n_abandon = kgen.geometric(keep_probability(m_kept)) - 1
        a_parent = np.repeat(np.arange(n_kept), n_abandon)
        a_rank = np.arange(len(a_parent)) - np.repeat(
            np.cumsum(n_abandon) - n_abandon, n_abandon
        )
        a_time = k_time[a_parent] - (a_rank + 1) * kgen.integers(
            20 * US, 90 * US, size=len(a_parent)
        )
        hour_start = k_hour[a_parent].astype(np.int64) * HOUR_US
        early = a_time < hour_start
        a_time = np.where(
            early,
            hour_start
            + (kgen.random(len(a_parent)) * (k_time[a_parent] - hour_start)).astype(
                np.int64
            ),
            a_time,
        )

        # ---- every request: kept (matched, unmatched) then abandoned
        n_req = n_kept + len(a_parent)
        r_zone = np.r_[k_zone, k_zone[a_parent]]
        r_hour = np.r_[k_hour, k_hour[a_parent]]
        r_time = np.r_[k_time, a_time]
        r_session = np.r_[np.arange(n_kept), a_parent]
        r_kind = np.r_[
            np.zeros(n_matched, np.int8),
            np.ones(len(uz), np.int8),
            np.full(len(a_parent), 2, np.int8),
        ]
        r_m = applied[r_zone, r_hour]
        # destination and distance of every request (the matched trips' were drawn in _simulate)
        dgen = synth.rng(seed, "rideshare", "destinations", m)
        r_drop_cell = np.r_[
            t["drop_cell"],
            dgen.choice(
                ZONES_PER_CITY,
                size=n_req - n_matched,
                p=ZONE_WEIGHTS / ZONE_WEIGHTS.sum(),
            ),
        ]
        r_miles = np.r_[
            t["miles"],
            _miles(dgen, r_zone[n_matched:] % ZONES_PER_CITY, r_drop_cell[n_matched:]),
        ]
        r_city = zone_city[r_zone]
        est_minutes = r_miles / 17.0 * 60
        quoted = np.rint(  # cents
            np.maximum(
                700,
                fares[r_city, 0]
                + fares[r_city, 1] * r_miles
                + fares[r_city, 2] * est_minutes,
            )
            * r_m
        ).astype(np.int64)

        # ---- riders: monthly cohorts with the planted retention curve
        session_rider = cohorts.assign(m, zone_city[k_zone], k_time)
        r_rider = session_rider[r_session]

        # ---- trip ids in order of request time (months follow each other)
        order = np.argsort(r_time, kind="stable")
        trip_id = np.empty(n_req, dtype=np.int64)
        trip_id[order] = np.arange(n_req) + next_trip
        next_trip += n_req

        tables = _events(
            seed,
            trip_id=trip_id,
            r_time=r_time,
            r_zone=r_zone,
            r_drop_cell=r_drop_cell,
            r_kind=r_kind,
            r_m=r_m,
            r_miles=r_miles,
            r_rider=r_rider,
            quoted=quoted,
            trips=t,
            n_matched=n_matched,
            blocks_sorted=p["blocks_sorted"],
            block_driver=p["block_driver"],
            traits=traits,
            zids=zids,
            chunk=m,
            first_event_id=next_event,
        )
        next_event += tables["trip_events"].num_rows
        yield from _with_landing(seed, tables).items()
        # every later record happened (and so landed) from the next month on
        yield (
            None,
            dt.date.fromisoformat(str(MONTH_STARTS[m + 1].astype("datetime64[D]"))),
        )

    changes = _driver_changes(seed, traits, last_seen)
    tables = {
        "surge_log": _surge_table(p["computed"], applied, p["holdout"], zids),
        "cities": pa.table(
            {
                "city_id": pa.array([c[0] for c in CITIES], pa.int64()),
                "city_name": [c[1] for c in CITIES],
                "time_zone": [c[6] for c in CITIES],
                "base_fare": hundredths([c[3] for c in CITIES]),
                "per_mile": hundredths([c[4] for c in CITIES]),
                "per_minute": hundredths([c[5] for c in CITIES]),
            }
        ),
        "zones": _zones_table(zids),
        "riders": cohorts.table(),
        "driver_changes": pa.table(
            {
                "driver_id": changes["driver_id"],
                "changed_at": changes["changed_at"],
                "vehicle_make": changes["vehicle_make"],
                "vehicle_model": changes["vehicle_model"],
                "vehicle_type": changes["vehicle_type"],
                "city_id": changes["city_id"],
                "driver_status": changes["driver_status"],
                "driver_type": changes["driver_type"],
                "is_deleted": changes["is_deleted"],
            }
        ),
    }
    yield from _with_landing(seed, tables).items()


#: The order of the raw tables :func:`generate` returns.
SOURCES = [
    "trip_events",
    "trip_quotes",
    "trip_fares",
    "driver_status_events",
    "surge_log",
    "cities",
    "zones",
    "riders",
    "driver_changes",
]


def generate(rows: int, seed: int) -> dict[str, pa.Table]:
    """Raw tables for about ``rows`` ride requests (the trip fact's rows), seeded: the pieces of
    :func:`stream`, each source's pieces concatenated in order."""
    parts: dict[str, list[pa.Table]] = {name: [] for name in SOURCES}
    for name, table in stream(rows, seed):
        if name is not None:
            parts[name].append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def _with_landing(seed: int, tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Add each raw row's landing date (column ``landing_date``), the day its source handed it
    over. Logs land on the day they were ingested (``ingested_at``), the pricing service's quotes
    and the surge engine's log on the day they were written; the billing export lands with its
    delay and the dispatch log with the incident's stalled upload (both set in ``_events``).
    Records of the reference tables and of drivers and riders created before the period land in
    the initial extract, on the first day; the driver table's change feed lags: a share of its
    records land one or two days late."""

    def day_of(table, column):  # absolute timestamps (us since 1970)
        us = table[column].cast(pa.int64()).to_numpy()
        return np.maximum(us // DAY_US, FIRST_LANDING_DAY).astype(np.int32)

    landed_by = {
        "driver_status_events": "ingested_at",
        "trip_quotes": "quoted_at",
        "surge_log": "interval_start",
        "riders": "signup_at",
    }
    out = {}
    for name, table in tables.items():
        if LANDING in table.column_names:
            out[name] = table
            continue
        if name in landed_by:
            days = day_of(table, landed_by[name])
        elif name == "driver_changes":
            changes = day_of(table, "changed_at")
            cdc = synth.rng(seed, "rideshare", "change_feed")
            n = len(changes)
            lag = np.where(
                cdc.random(n) < PLANTED["late_change_share"], cdc.integers(1, 3, n), 0
            )
            days = changes + np.where(changes > FIRST_LANDING_DAY, lag, 0)
        else:  # reference tables: the initial extract
            days = np.full(table.num_rows, FIRST_LANDING_DAY, np.int32)
        out[name] = table.append_column(
            LANDING, pa.array(days.astype(np.int32), pa.date32())
        )
    return out


def _miles(gen, pick_cell, drop_cell) -> np.ndarray:
    hexd = HEX_DISTANCE[pick_cell, drop_cell]
    return np.round(0.6 + 1.9 * hexd + gen.gamma(2.0, 0.55, size=len(pick_cell)), 2)


def _simulate(
    seed,
    sess_driver,
    sess_first,
    sess_len,
    sess_zones,
    rate,
    reach_cdf,
    traits,
    chunk=0,
):
    """Walk every driver session forward: idle gaps, trips, repositioning, status events."""
    gen = synth.rng(seed, "rideshare", "dispatch", chunk)
    n = len(sess_driver)
    t = sess_first.astype(np.int64) * HOUR_US
    end = (sess_first + sess_len).astype(np.int64) * HOUR_US
    active = np.arange(n)
    idle = np.zeros(rate.shape)
    status = {k: [] for k in ("driver", "time", "status", "zone")}
    trips = {
        k: []
        for k in (
            "driver",
            "zone",
            "request",
            "accept",
            "outcome",
            "cancel_at",
            "arrive",
            "start",
            "complete",
            "drop_cell",
            "miles",
            "eta",
        )
    }

    def emit(driver, time, code, zone):
        status["driver"].append(driver)
        status["time"].append(time)
        status["status"].append(np.full(len(driver), code, np.int8))
        status["zone"].append(zone)

    emit(
        sess_driver, t.copy(), 0, sess_zones[:, 0]
    )  # 0 available, 1 on trip, 2 offline
    cancel_p = traits["cancel"]
    while len(active):
        ta = t[active]
        hour = ta // HOUR_US
        pos = hour - sess_first[active]
        zone = sess_zones[active, pos]
        boundary = (hour + 1) * HOUR_US
        limit = np.minimum(boundary, end[active])
        gap = gen.exponential(1.0, size=len(active)) / rate[zone, hour]
        t1 = ta + np.minimum(gap, 2.0 * HOUR_US).astype(np.int64)
        idle += np.bincount(
            zone * HOURS + hour, weights=np.minimum(t1, limit) - ta, minlength=idle.size
        ).reshape(idle.shape)
        crossed = t1 >= limit
        # draw a trip for everyone (cheap), use it where no boundary was crossed
        m = len(active)
        drop_cell = gen.choice(
            ZONES_PER_CITY, size=m, p=ZONE_WEIGHTS / ZONE_WEIGHTS.sum()
        )
        slot = (gen.random(m)[:, None] > reach_cdf[zone, :, hour]).sum(axis=1)
        pickup = REACH_LIST[zone, np.minimum(slot, 6)]
        pickup = np.where(pickup < 0, zone, pickup)
        drop_cell = np.where(gen.random(m) < 0.3, pickup % ZONES_PER_CITY, drop_cell)
        miles = _miles(gen, pickup % ZONES_PER_CITY, drop_cell)
        hod = local_hour_index(zone // ZONES_PER_CITY, hour) % 24
        rush = ((hod >= 7) & (hod <= 9)) | ((hod >= 16) & (hod <= 19))
        speed = gen.uniform(13.0, 24.0, size=m) * np.where(rush, 0.8, 1.0)
        ride_us = (miles / speed * HOUR_US).astype(np.int64)
        eta = np.clip(gen.gamma(3.0, 100.0, size=m), 60, 1200).astype(np.int64) * US
        pickup_wait = (
            np.clip(gen.gamma(2.0, 40.0, size=m), 10, 600).astype(np.int64) * US
        )
        u = gen.random(m)
        driver = sess_driver[active]
        p_driver = cancel_p[driver]
        p_rider = 0.025 + 0.04 * eta / (600 * US)
        outcome = np.where(
            u < p_driver, 2, np.where(u < p_driver + p_rider, 1, 0)
        )  # 0 done
        cancel_at = t1 + (gen.uniform(0.15, 0.95, size=m) * eta).astype(np.int64)
        ride_us = np.minimum(ride_us, 55 * 60 * US - eta - pickup_wait)
        arrive = t1 + eta
        start = arrive + pickup_wait
        complete = start + ride_us
        free_at = np.where(outcome == 0, complete, cancel_at)
        fits = free_at < end[active]
        take = ~crossed & fits
        idx = np.flatnonzero(take)
        if len(idx):
            delay = gen.integers(2 * US, 30 * US, size=len(idx))
            request = np.maximum(hour[idx] * HOUR_US, t1[idx] - delay)
            for k, v in (
                ("driver", driver[idx]),
                ("zone", pickup[idx]),
                ("request", request),
                ("accept", t1[idx]),
                ("outcome", outcome[idx]),
                ("cancel_at", cancel_at[idx]),
                ("arrive", arrive[idx]),
                ("start", start[idx]),
                ("complete", complete[idx]),
                ("drop_cell", drop_cell[idx]),
                ("miles", miles[idx]),
                ("eta", eta[idx]),
            ):
                trips[k].append(v)
            emit(driver[idx], t1[idx], 1, zone[idx])
            # crossing an hour while on a trip: reposition (heartbeat) at the boundary
            fa = free_at[idx]
            b = boundary[idx]
            over = fa > b
            sel = idx[over]
            if len(sel):
                nz = sess_zones[active[sel], pos[sel] + 1]
                moved = nz != zone[sel]
                emit(driver[sel][moved], b[over][moved], 1, nz[moved])
            new_hour = fa // HOUR_US
            nzone = sess_zones[active[idx], new_hour - sess_first[active[idx]]]
            emit(driver[idx], fa, 0, nzone)
            t[active[idx]] = fa
        # idle and crossed a boundary: session end or reposition
        cr = np.flatnonzero(crossed)
        if len(cr):
            lim = limit[cr]
            ends = lim >= end[active[cr]]
            done = cr[ends]
            emit(driver[done], lim[ends], 2, zone[done])
            mv = cr[~ends]
            if len(mv):
                nz = sess_zones[active[mv], pos[mv] + 1]
                changed = nz != zone[mv]
                emit(driver[mv][changed], limit[mv][changed], 0, nz[changed])
            t[active[cr]] = lim
        # a request the driver could not finish before the session end: let it pass
        skip = np.flatnonzero(~crossed & ~fits)
        t[active[skip]] = t1[skip]
        if len(cr):
            finished = np.zeros(len(active), dtype=bool)
            finished[cr[lim >= end[active[cr]]]] = True
            active = active[~finished]
    return {
        "idle_us": idle,
        "trips": {
            k: (np.concatenate(v) if v else np.array([], np.int64))
            for k, v in trips.items()
        },
        "status": {k: np.concatenate(v) for k, v in status.items()},
    }


class _Cohorts:
    """Riders, assigned to sessions month by month so that monthly cohorts follow the planted
    curve: a rider of the cohort of month ``m0`` is back in month ``m`` with probability
    ``PLANTED["monthly_retention"][m - m0]``."""

    def __init__(self, seed: int):
        self.seed = seed
        self.cohorts: dict[
            tuple[int, int], np.ndarray
        ] = {}  # (city, month) -> rider ids
        self.next_id = 100_001
        self.ids, self.city, self.first = (
            [],
            [],
            [],
        )  # new riders: id, city, first session

    def assign(self, month: int, session_city: np.ndarray, session_time: np.ndarray):
        """Riders of the sessions of ``month`` (each session's city and time)."""
        gen = synth.rng(self.seed, "rideshare", "riders", month)
        retention = PLANTED["monthly_retention"]
        session_rider = np.zeros(len(session_city), dtype=np.int64)
        mean_sessions = 2.6
        new_this_month = []
        for c in range(len(CITIES)):
            sel = np.flatnonzero(session_city == c)
            n_sess = len(sel)
            # returning riders from earlier cohorts of this city
            returning = []
            for m0 in range(month):
                ids = self.cohorts[(c, m0)]
                back = gen.random(len(ids)) < retention[month - m0]
                returning.append(ids[back])
            returning = (
                np.concatenate(returning) if returning else np.array([], np.int64)
            )
            wanted_active = max(1, int(round(n_sess / mean_sessions)))
            n_new = max(0, min(n_sess - len(returning), wanted_active - len(returning)))
            if month == 0:
                n_new = max(1, min(n_sess, wanted_active))
            new_ids = np.arange(self.next_id, self.next_id + n_new, dtype=np.int64)
            self.next_id += n_new
            self.cohorts[(c, month)] = new_ids
            self.ids.append(new_ids)
            self.city.append(np.full(n_new, c))
            new_this_month.append(new_ids)
            active = np.r_[new_ids, returning]
            if n_sess == 0:
                continue
            if len(active) > n_sess:  # cannot happen at sensible scales; keep it safe
                active = active[:n_sess]
            extra = n_sess - len(active)
            intensity = gen.gamma(1.2, 1.0, size=len(active))
            more = active[
                gen.choice(len(active), size=extra, p=intensity / intensity.sum())
            ]
            assigned = gen.permutation(np.r_[active, more])
            session_rider[sel] = assigned
        # a new rider's first session is in their cohort's month: this one
        new = np.concatenate(new_this_month)
        first = np.full(len(new), np.iinfo(np.int64).max)
        is_new = np.isin(session_rider, new)
        np.minimum.at(
            first, np.searchsorted(new, session_rider[is_new]), session_time[is_new]
        )
        self.first.append(first)
        return session_rider

    def table(self) -> pa.Table:
        """The rider table: signup a few days (sometimes weeks) before the first request."""
        gen = synth.rng(self.seed, "rideshare", "riders", "profile")
        rider_id = np.concatenate(self.ids)
        city = np.concatenate(self.city)
        first = np.concatenate(self.first)
        lead = (gen.exponential(4.0, size=len(rider_id)) * 86_400 * US).astype(np.int64)
        signup = START + (first - lead).astype("timedelta64[us]")
        channel = synth.weighted_choice(
            gen, CHANNELS, [0.45, 0.2, 0.2, 0.15], len(rider_id)
        )
        return pa.table(
            {
                "rider_id": rider_id,
                "signup_at": signup.astype("datetime64[s]").astype("datetime64[us]"),
                "home_city_id": city.astype(np.int64) + 1,
                "signup_channel": channel,
            }
        )


EVENT_TYPES = [
    "requested",
    "declined",
    "accepted",
    "arrived",
    "started",
    "completed",
    "cancelled",
    "expired",
]


def _events(
    seed,
    *,
    trip_id,
    r_time,
    r_zone,
    r_drop_cell,
    r_kind,
    r_m,
    r_miles,
    r_rider,
    quoted,
    trips,
    n_matched,
    blocks_sorted,
    block_driver,
    traits,
    zids,
    chunk=0,
    first_event_id=1,
):
    """Three sources about requests: the dispatch event log, the quotes, and the fares."""
    gen = synth.rng(seed, "rideshare", "events", chunk)
    n_req = len(trip_id)
    zone_city = np.repeat(np.arange(len(CITIES)), ZONES_PER_CITY)
    fares = np.array([[c[3], c[4], c[5]] for c in CITIES])  # cents
    start_us = START.astype(np.int64)
    t = trips
    mt = np.arange(n_matched)  # matched requests are the first n_matched
    outcome = t["outcome"]  # 0 completed, 1 rider cancelled, 2 driver cancelled
    driver = t["driver"]
    done = outcome == 0

    # ---- pricing service: one quote per request. The pickup zone can be missing (no GPS fix:
    # -1 below, NULL in the table) or an id the zone table does not know yet.
    pickup_zone = zids[r_zone]
    drop_zone = (zone_city[r_zone] + 1) * 100 + r_drop_cell + 1
    u = gen.random(n_req)
    unknown = u < PLANTED["unknown_zone_share"]
    missing = (u >= PLANTED["unknown_zone_share"]) & (
        u < PLANTED["unknown_zone_share"] + PLANTED["missing_zone_share"]
    )
    pickup_zone = np.where(
        unknown, BAD_ZONE_IDS[gen.integers(0, len(BAD_ZONE_IDS), n_req)], pickup_zone
    )
    pickup_zone = np.where(missing, -1, pickup_zone)
    quotes = pa.table(
        {
            "trip_id": trip_id,
            "rider_id": r_rider,
            "quoted_at": pa.array(to_ms(r_time) + start_us, pa.timestamp("us")),
            "pickup_zone_id": pa.array(pickup_zone, pa.int64(), mask=pickup_zone < 0),
            "dropoff_zone_id": drop_zone,
            "estimated_miles": hundredths(np.rint(r_miles * 100)),
            "surge_multiplier": r_m,
            "quoted_fare": hundredths(quoted),
        }
    )

    # ---- billing: one row per completed trip (fare built like the public FHV trip records)
    d = mt[done]
    minutes = (t["complete"][done] - t["start"][done]) / (60 * US)
    city = zone_city[t["zone"][done]]
    base = np.maximum(
        700,
        fares[city, 0] + fares[city, 1] * t["miles"][done] + fares[city, 2] * minutes,
    )
    # money in whole cents, handed over as DECIMAL(18, 2)
    fare = np.rint(base * r_m[d]).astype(np.int64)
    nd = len(d)
    tolls = np.where(gen.random(nd) < 0.03, 694, 0).astype(np.int64)
    tips = np.where(
        gen.random(nd) < 0.22, np.rint(fare * gen.uniform(0.1, 0.25, nd)), 0
    ).astype(np.int64)
    rated = gen.random(nd) < 0.7
    rating = np.clip(np.round(gen.normal(traits["quality"][driver[done]], 0.6)), 1, 5)
    fares_table = pa.table(
        {
            "trip_id": trip_id[d],
            "trip_miles": hundredths(np.rint(t["miles"][done] * 100)),
            "base_passenger_fare": hundredths(fare),
            "tolls": hundredths(tolls),
            "tips": hundredths(tips),
            "driver_pay": hundredths(np.rint(0.72 * fare).astype(np.int64) + tolls),
            "rider_rating": pa.array(rating.astype(np.int64), pa.int64(), mask=~rated),
        }
    )

    # ---- dispatch: the event log
    cols = {
        k: []
        for k in (
            "request",
            "trip_id",
            "event_type",
            "event_time",
            "driver_id",
            "zone_id",
            "by",
        )
    }

    def add(idx, etype, time, *, driver=None, zone=None, by=None):
        k = len(idx)
        cols["request"].append(idx)
        cols["trip_id"].append(trip_id[idx])
        cols["event_type"].append(np.full(k, EVENT_TYPES.index(etype), np.int8))
        cols["event_time"].append(time)
        cols["driver_id"].append(
            driver + 5001 if driver is not None else np.full(k, -1)
        )
        cols["zone_id"].append(zone if zone is not None else np.full(k, -1))
        cols["by"].append(by if by is not None else np.zeros(k, np.int8))

    add(np.arange(n_req), "requested", r_time, zone=pickup_zone)
    # declined offers: another driver positioned in the zone that hour saw the offer first
    kept = np.flatnonzero(r_kind < 2)
    offered = kept[gen.random(len(kept)) < 0.3]
    cell = r_zone[offered] * HOURS + (r_time[offered] // HOUR_US)
    border, bkey_sorted = blocks_sorted
    lo = np.searchsorted(bkey_sorted, cell, side="left")
    hi = np.searchsorted(bkey_sorted, cell, side="right")
    has = hi > lo
    pick = lo + (gen.random(len(cell)) * (hi - lo)).astype(np.int64)
    cand = np.where(has, block_driver[border[np.minimum(pick, len(border) - 1)]], -1)
    accepting = np.full(n_req, -1)
    accepting[:n_matched] = driver
    p_decline = np.minimum(1.0, traits["decline"][np.maximum(cand, 0)] * 3)
    declines = has & (cand != accepting[offered]) & (gen.random(len(cell)) < p_decline)
    dec = offered[declines]
    first_accept = np.full(n_req, np.iinfo(np.int64).max)
    first_accept[:n_matched] = t["accept"]
    until = np.minimum(first_accept[dec], r_time[dec] + PLANTED["expiry_seconds"] * US)
    frac = gen.uniform(0.1, 0.9, len(dec))
    add(
        dec,
        "declined",
        r_time[dec] + ((until - r_time[dec]) * frac).astype(np.int64),
        driver=cand[declines],
    )
    add(mt, "accepted", t["accept"], driver=driver)
    add(mt[done], "arrived", t["arrive"][done], driver=driver[done])
    # dirt: the "started" event of a few completed trips never arrives
    lost_start = done & (gen.random(n_matched) < PLANTED["missing_start_share"])
    st = done & ~lost_start
    add(mt[st], "started", t["start"][st], driver=driver[st])
    add(mt[done], "completed", t["complete"][done], driver=driver[done])
    canc = outcome > 0
    add(
        mt[canc],
        "cancelled",
        t["cancel_at"][canc],
        driver=driver[canc],
        by=np.where(outcome[canc] == 1, 1, 2).astype(np.int8),
    )
    # unmatched kept requests expire; abandoned ones are cancelled by the rider at the quote
    un = np.flatnonzero(r_kind == 1)
    add(un, "expired", r_time[un] + PLANTED["expiry_seconds"] * US)
    ab = np.flatnonzero(r_kind == 2)
    add(
        ab,
        "cancelled",
        r_time[ab] + gen.integers(3 * US, 25 * US, len(ab)),
        by=np.ones(len(ab), np.int8),
    )

    # delivery: events arrive a little after they happen, and some are delivered twice
    n_ev = sum(len(x) for x in cols["trip_id"])
    dup = np.flatnonzero(gen.random(n_ev) < PLANTED["duplicate_event_share"])
    rows = np.r_[np.arange(n_ev), dup]

    def column(name):
        a = np.concatenate(cols.pop(name))
        return np.concatenate([a, a[dup]])

    # a phone without signal holds the driver app's events back for minutes to hours (both
    # deliveries of a duplicated event come late)
    etype = column("event_type")
    by = column("by")
    from_app = np.isin(etype, [EVENT_TYPES.index(k) for k in DRIVER_APP_EVENTS]) | (
        by == 2
    )
    held = _late_delays(seed, "late_events", n_ev, PLANTED["late_event_share"], chunk)

    def labels(codes, names, null_code=None):
        mask = None if null_code is None else codes == null_code
        indices = pa.array(codes, pa.int8(), mask=mask)
        return pa.DictionaryArray.from_arrays(indices, pa.array(names)).cast(
            pa.string()
        )

    event_time = to_ms(column("event_time"))
    ingest = event_time + to_ms(gen.integers(1 * US, 20 * US, len(rows)))
    ingest[n_ev:] += to_ms(gen.integers(30 * US, 600 * US, len(dup)))
    ingest += np.where(from_app, held[rows], 0)
    # the landing date: the day of ingestion; the incident holds one city's partition of one day
    # back (its trips' records land with a later partition; no draw added)
    incident = PLANTED["incident"]
    request = column("request")
    landed = _day(ingest)
    hit = (zone_city[r_zone[request]] + 1 == incident["city_id"]) & (
        _day(r_time[request]) == _day_number(incident["day"])
    )
    landed[hit] = np.maximum(landed[hit], _day_number(incident["landing_date"]))
    driver_col = column("driver_id")
    zone_col = column("zone_id")
    events = pa.table(
        {
            "event_id": pa.array(rows + first_event_id, pa.int64()),
            "trip_id": column("trip_id"),
            "event_type": labels(etype, EVENT_TYPES),
            "event_time": pa.array(event_time + start_us, pa.timestamp("us")),
            "driver_id": pa.array(driver_col, pa.int64(), mask=driver_col < 0),
            "zone_id": pa.array(zone_col, pa.int64(), mask=zone_col < 0),
            "cancelled_by": labels(by, ["", "rider", "driver"], null_code=0),
            "ingested_at": pa.array(ingest + start_us, pa.timestamp("us")),
            LANDING: pa.array(landed, pa.date32()),
        }
    )
    # billing exports a fare 5 to 90 minutes after the trip ends; some days' exports are re-sent
    # (and land) the next day
    bgen = synth.rng(seed, "rideshare", "billing", chunk)
    billed = t["complete"][done] + bgen.integers(5 * 60 * US, 90 * 60 * US, nd)
    resent = bgen.random(nd) < PLANTED["late_fare_share"]
    fare_landing = _day(billed) + resent
    fares_table = fares_table.append_column(
        LANDING, pa.array(fare_landing, pa.date32())
    )
    return {"trip_events": events, "trip_quotes": quotes, "trip_fares": fares_table}


def _status_table(seed, status, traits, zids, chunk=0, first_id=1):
    """The driver app's status log (as delivered: some events twice)."""
    gen = synth.rng(seed, "rideshare", "status_log", chunk)
    n = len(status["time"])
    dup = np.flatnonzero(gen.random(n) < PLANTED["duplicate_status_share"])
    rows = np.r_[np.arange(n), dup]
    time = to_ms(status["time"][rows])
    ingest = time + to_ms(gen.integers(1 * US, 10 * US, len(rows)))
    ingest[n:] += to_ms(gen.integers(30 * US, 300 * US, len(dup)))
    ingest += _late_delays(seed, "late_status", n, PLANTED["late_status_share"], chunk)[
        rows
    ]
    indices = pa.array(status["status"][rows], pa.int8())
    names = pa.array(["available", "on_trip", "offline"])
    start_us = START.astype(np.int64)
    return pa.table(
        {
            "status_event_id": pa.array(rows + first_id, pa.int64()),
            "driver_id": status["driver"][rows].astype(np.int64) + 5001,
            "event_time": pa.array(time + start_us, pa.timestamp("us")),
            "status": pa.DictionaryArray.from_arrays(indices, names).cast(pa.string()),
            "zone_id": zids[status["zone"][rows]],
            "ingested_at": pa.array(ingest + start_us, pa.timestamp("us")),
        }
    )


def _surge_table(computed, applied, holdout, zids):
    """The pricing engine's log: every zone and 5-minute interval where it computed a surge."""
    z, h = np.nonzero(computed > 1.0)
    per_hour = 60 // INTERVAL_MINUTES
    z = np.repeat(z, per_hour)
    h = np.repeat(h, per_hour)
    k = np.tile(np.arange(per_hour), len(z) // per_hour if per_hour else 0)
    start = h.astype(np.int64) * HOUR_US + k * INTERVAL_MINUTES * 60 * US
    return pa.table(
        {
            "zone_id": zids[z],
            "interval_start": pa.array(
                start + START.astype(np.int64), pa.timestamp("us")
            ),
            "computed_multiplier": computed[z, h],
            "surge_multiplier": applied[z, h],
            "is_holdout": holdout[z, h],
        }
    )


def _zones_table(zids):
    rows = []
    for c in CITIES:
        lat0, lon0 = CITY_CENTRES[c[0]]
        for cell, ((q, r), name) in enumerate(zip(HEX_CELLS, HEX_NAMES, strict=True)):
            x = 0.02 * (np.sqrt(3) * q + np.sqrt(3) / 2 * r)
            y = 0.02 * 1.5 * r
            rows.append(
                (
                    c[0] * 100 + cell + 1,
                    c[0],
                    f"{c[1]} {name}",
                    q,
                    r,
                    lat0 - y,
                    lon0 + x,
                )
            )
    return pa.table(
        {
            "zone_id": pa.array([r[0] for r in rows], pa.int64()),
            "city_id": pa.array([r[1] for r in rows], pa.int64()),
            "zone_name": [r[2] for r in rows],
            "hex_q": pa.array([r[3] for r in rows], pa.int64()),
            "hex_r": pa.array([r[4] for r in rows], pa.int64()),
            "latitude": [round(r[5], 5) for r in rows],
            "longitude": [round(r[6], 5) for r in rows],
        }
    )
