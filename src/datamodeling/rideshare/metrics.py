"""Every metric the ride-sharing requirements ask for: Ibis code and the SQL a candidate would write.

Conventions shared by all metrics (each definition below says which apply):

* Timestamps are UTC, to the millisecond. A request belongs to the hour, day or month of
  ``requested_at`` (event time, never load time). "Local" means the clock of the request's city
  (``dim_city.time_zone``, daylight saving time applied); the hand-written SQL computes local
  time with DuckDB's time-zone functions, independently of the keys the build stored.
* The data covers whole UTC days, 2025-01-01 00:00 to 2025-07-01 00:00 (exclusive): six complete
  UTC months. On a city's clock that is 31 December evening to 30 June evening, so the first and
  last *local* days are partial; a metric by local day reports only complete local days.
* Every request is in ``fact_trip``: nothing is quarantined but duplicate deliveries and, in a
  daily load, events that landed later than the lookback (their request keeps its row, with the
  Unknown outcome, until a backfill loads them; the book's builds have none). A request
  whose pickup zone is missing or unknown is counted in its city (trips never leave their city,
  so the dropoff zone names it); a completed trip whose ``started`` event was lost counts
  everywhere except in averages of trip duration.
* Rates are ratios of sums (never averages of per-row ratios); money is summed exactly as
  ``DECIMAL(18, 2)`` and turned into a ``DOUBLE`` only when divided; a ratio with a zero
  denominator is NULL.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

MONEY = dt.Decimal(18, 2)
MS_PER_HOUR = 3_600_000
#: The supply-demand board's default day: the last local day the data covers whole in every
#: city (the data ends at 2025-07-01 00:00 UTC, the evening of 30 June in these cities).
BOARD_DAY = "2025-06-29"


def _ratio(num, den):
    return ibis.ifelse(den == 0, ibis.null("float64"), num / den)


def _trips(con) -> ir.Table:
    """``fact_trip`` with its outcome flags (the junk dimension) joined."""
    return con.table("fact_trip").join(con.table("dim_trip_flags"), "trip_flags_key")


# --------------------------------------------------------------------------------------------
# ride metrics by city and local hour of day
# --------------------------------------------------------------------------------------------


def ride_metrics(con) -> ir.Table:
    h = con.table("city_hourly", database="mart")
    c = con.table("dim_city").select("city_id", "city_name")
    h = h.join(c, "city_id")
    g = h.group_by("city_name", "local_hour").aggregate(
        requests=h.requests.sum(),
        completed_trips=h.completed_trips.sum(),
        cancelled=h.cancelled.sum(),
        miles=h.trip_miles.sum(),
        timed_trips=h.timed_trips.sum(),
        duration_ms=h.trip_duration_ms.sum(),
        fares=h.fares.sum(),
    )
    return g.select(
        "city_name",
        "local_hour",
        "requests",
        "completed_trips",
        completion_rate=g.completed_trips / g.requests,
        cancellation_rate=g.cancelled / g.requests,
        avg_trip_miles=_ratio(g.miles.cast("float64"), g.completed_trips),
        avg_trip_minutes=_ratio(g.duration_ms / 60_000, g.timed_trips),
        avg_fare=_ratio(g.fares.cast("float64"), g.completed_trips),
        total_fares=g.fares.cast(MONEY),
    )


#: The query a candidate writes first: one time zone conversion per request (an ICU call each,
#: the slow part: 7.9x the expert query at medium scale, benchmarks/peer.py).
RIDE_METRICS_NAIVE_SQL = """
WITH trips AS (
    SELECT c.city_name,
           -- the city's clock, computed here from the UTC timestamp (not the stored key)
           hour((t.requested_at AT TIME ZONE 'UTC')
                AT TIME ZONE CASE WHEN c.city_id > 0 THEN c.time_zone ELSE 'UTC' END)
                                                                    AS local_hour,
           f.outcome, f.cancelled_by,
           t.trip_miles, t.trip_duration_ms, t.base_passenger_fare
    FROM fact_trip t
    JOIN dim_city c USING (city_id)
    JOIN dim_trip_flags f USING (trip_flags_key)
)
SELECT city_name,
       local_hour,
       count(*)                                                    AS requests,
       count(*) FILTER (WHERE outcome = 'completed')               AS completed_trips,
       count(*) FILTER (WHERE outcome = 'completed') / count(*)    AS completion_rate,
       count(*) FILTER (WHERE cancelled_by <> 'not cancelled') / count(*) AS cancellation_rate,
       avg(trip_miles) FILTER (WHERE outcome = 'completed')        AS avg_trip_miles,
       avg(trip_duration_ms / 60000) FILTER (WHERE outcome = 'completed') AS avg_trip_minutes,
       avg(base_passenger_fare) FILTER (WHERE outcome = 'completed')      AS avg_fare,
       coalesce(sum(base_passenger_fare) FILTER (WHERE outcome = 'completed'), 0) AS total_fares
FROM trips
GROUP BY city_name, local_hour
"""


#: The expert's query: the conversion runs once per city and 15-minute bucket of request time,
#: then joins back. Exact because every time zone offset of the book's cities is a whole number
#: of quarter hours, so all the requests of a bucket share their local hour (the tests show the
#: check failing for an offset off that grid).
RIDE_METRICS_SQL = """
WITH trips AS (
    SELECT t.city_id, time_bucket(INTERVAL 15 MINUTE, t.requested_at) AS bucket,
           f.outcome, f.cancelled_by,
           t.trip_miles, t.trip_duration_ms, t.base_passenger_fare
    FROM fact_trip t
    JOIN dim_trip_flags f USING (trip_flags_key)
),
local AS (     -- one conversion per city and bucket, not per request
    SELECT b.city_id, b.bucket, c.city_name,
           hour((b.bucket AT TIME ZONE 'UTC')
                AT TIME ZONE CASE WHEN c.city_id > 0 THEN c.time_zone ELSE 'UTC' END)
                                                                    AS local_hour
    FROM (SELECT DISTINCT city_id, bucket FROM trips) b
    JOIN dim_city c USING (city_id)
)
SELECT l.city_name,
       l.local_hour,
       count(*)                                                    AS requests,
       count(*) FILTER (WHERE outcome = 'completed')               AS completed_trips,
       count(*) FILTER (WHERE outcome = 'completed') / count(*)    AS completion_rate,
       count(*) FILTER (WHERE cancelled_by <> 'not cancelled') / count(*) AS cancellation_rate,
       avg(trip_miles) FILTER (WHERE outcome = 'completed')        AS avg_trip_miles,
       avg(trip_duration_ms / 60000) FILTER (WHERE outcome = 'completed') AS avg_trip_minutes,
       avg(base_passenger_fare) FILTER (WHERE outcome = 'completed')      AS avg_fare,
       coalesce(sum(base_passenger_fare) FILTER (WHERE outcome = 'completed'), 0) AS total_fares
FROM trips t
JOIN local l USING (city_id, bucket)
GROUP BY l.city_name, l.local_hour
"""


# --------------------------------------------------------------------------------------------
# drivers
# --------------------------------------------------------------------------------------------


def driver_performance(con) -> ir.Table:
    e = con.table("fact_trip_event")
    t = _trips(con)
    d = con.table("driver_daily", database="mart")
    o = e.filter(e.event_type.isin(["accepted", "declined"]))
    offers = o.group_by("driver_id").aggregate(
        offers=o.count(), accepted=(o.event_type == "accepted").sum().cast("int64")
    )
    trips = t.filter(t.driver_id > 0)
    outcomes = trips.group_by("driver_id").aggregate(
        driver_cancellations=(trips.outcome == "driver_cancelled").sum().cast("int64"),
        completed_trips=(trips.outcome == "completed").sum().cast("int64"),
        avg_rating=trips.rider_rating.mean(),
        ratings=trips.rider_rating.count(),
    )
    online = d.group_by("driver_id").aggregate(
        online_hours=d.online_ms.sum() / MS_PER_HOUR
    )
    online = online.filter(online.online_hours > 0)
    j = online.left_join(offers, "driver_id").drop("driver_id_right")
    j = j.left_join(outcomes, "driver_id").drop("driver_id_right")
    j = j.mutate(
        offers=j.offers.fill_null(0),
        accepted=j.accepted.fill_null(0),
        driver_cancellations=j.driver_cancellations.fill_null(0),
        completed_trips=j.completed_trips.fill_null(0),
        ratings=j.ratings.fill_null(0),
    )
    return j.select(
        "driver_id",
        "offers",
        "accepted",
        acceptance_rate=_ratio(j.accepted, j.offers),
        driver_cancellations=j.driver_cancellations,
        cancellation_rate=_ratio(j.driver_cancellations, j.accepted),
        completed_trips=j.completed_trips,
        avg_rating=j.avg_rating,
        ratings=j.ratings,
        online_hours=j.online_hours,
        trips_per_online_hour=_ratio(j.completed_trips, j.online_hours),
    )


DRIVER_PERFORMANCE_SQL = """
WITH online AS (
    SELECT driver_id, sum(duration_ms) / 3600000 AS online_hours
    FROM fact_driver_status
    WHERE status <> 'offline'
    GROUP BY driver_id
    HAVING sum(duration_ms) > 0
), offers AS (
    SELECT driver_id,
           count(*)                                         AS offers,
           count(*) FILTER (WHERE event_type = 'accepted')  AS accepted
    FROM fact_trip_event
    WHERE event_type IN ('accepted', 'declined')
    GROUP BY driver_id
), outcomes AS (
    SELECT t.driver_id,
           count(*) FILTER (WHERE f.outcome = 'driver_cancelled') AS driver_cancellations,
           count(*) FILTER (WHERE f.outcome = 'completed')        AS completed_trips,
           avg(t.rider_rating)                                    AS avg_rating,
           count(t.rider_rating)                                  AS ratings
    FROM fact_trip t
    JOIN dim_trip_flags f USING (trip_flags_key)
    WHERE t.driver_id > 0                -- -2: no driver accepted
    GROUP BY t.driver_id
)
SELECT o.driver_id,
       coalesce(f.offers, 0)                                    AS offers,
       coalesce(f.accepted, 0)                                  AS accepted,
       f.accepted / nullif(f.offers, 0)                         AS acceptance_rate,
       coalesce(r.driver_cancellations, 0)                      AS driver_cancellations,
       r.driver_cancellations / nullif(f.accepted, 0)           AS cancellation_rate,
       coalesce(r.completed_trips, 0)                           AS completed_trips,
       r.avg_rating,
       coalesce(r.ratings, 0)                                   AS ratings,
       o.online_hours,
       coalesce(r.completed_trips, 0) / o.online_hours          AS trips_per_online_hour
FROM online o
LEFT JOIN offers f USING (driver_id)
LEFT JOIN outcomes r USING (driver_id)
"""


def driver_earnings(con) -> ir.Table:
    d = con.table("driver_daily", database="mart")
    g = d.group_by("driver_id").aggregate(
        online_hours=d.online_ms.sum() / MS_PER_HOUR,
        on_trip_hours=d.on_trip_ms.sum() / MS_PER_HOUR,
        completed_trips=d.completed_trips.sum(),
        earnings=d.earnings.sum().cast(MONEY),
    )
    g = g.filter(g.online_hours > 0)
    return g.select(
        "driver_id",
        "online_hours",
        "on_trip_hours",
        utilization=g.on_trip_hours / g.online_hours,
        completed_trips=g.completed_trips,
        earnings=g.earnings,
        earnings_per_online_hour=g.earnings.cast("float64") / g.online_hours,
    )


DRIVER_EARNINGS_SQL = """
WITH online AS (                    -- time: the driver app's status log
    SELECT driver_id, sum(duration_ms) / 3600000 AS online_hours
    FROM fact_driver_status
    WHERE status IN ('available', 'on_trip')
    GROUP BY driver_id
), trips AS (                       -- one set of trips for time on trip, trips and money
    SELECT t.driver_id,
           sum(date_diff('millisecond', t.accepted_at,
                         coalesce(t.completed_at, t.cancelled_at))) / 3600000 AS on_trip_hours,
           count(*) FILTER (WHERE f.outcome = 'completed')                    AS completed_trips,
           sum(t.driver_pay + t.tips) FILTER (WHERE f.outcome = 'completed')  AS earnings
    FROM fact_trip t
    JOIN dim_trip_flags f USING (trip_flags_key)
    WHERE t.driver_id > 0
    GROUP BY t.driver_id
)
SELECT o.driver_id,
       o.online_hours,
       coalesce(t.on_trip_hours, 0)                     AS on_trip_hours,
       coalesce(t.on_trip_hours, 0) / o.online_hours    AS utilization,
       coalesce(t.completed_trips, 0)                   AS completed_trips,
       coalesce(t.earnings, 0)                          AS earnings,
       coalesce(t.earnings, 0) / o.online_hours         AS earnings_per_online_hour
FROM online o
LEFT JOIN trips t USING (driver_id)
WHERE o.online_hours > 0
"""


# --------------------------------------------------------------------------------------------
# supply and demand (the live board: one local day, every zone, every 5 minutes)
# --------------------------------------------------------------------------------------------


def supply_demand(con, day=None) -> ir.Table:
    s = con.table("fact_supply_demand")
    z = con.table("dim_zone")
    d = pd.Timestamp(day or BOARD_DAY)
    s = s.filter(s.local_date_key == d.year * 10000 + d.month * 100 + d.day)
    s = s.join(z.select("zone_id", "zone_name"), "zone_id")
    return s.select(
        "zone_id",
        "zone_name",
        "interval_start",
        "local_time_key",
        "requests",
        "drivers_online",
        "available_drivers",
        "unfulfilled_requests",
        avg_wait_seconds=_ratio(s.wait_ms_sum / 1000, s.waits),
        surge_multiplier=s.surge_multiplier,
    )


SUPPLY_DEMAND_SQL = """
-- Independent of fact_supply_demand: rebuilt from the trips, the driver status spans and the
-- surge log; each zone's local day is computed with DuckDB's time-zone functions.
WITH day AS (
    SELECT DATE '2025-06-29' AS d      -- the last local day the data covers whole
), zones AS (
    SELECT zone_id, zone_name, time_zone,
           (d::TIMESTAMP AT TIME ZONE time_zone) AT TIME ZONE 'UTC'       AS day_start,
           ((d + 1)::TIMESTAMP AT TIME ZONE time_zone) AT TIME ZONE 'UTC' AS day_end
    FROM dim_zone, day
    WHERE zone_id > 0 AND NOT is_inferred    -- the zones of the zone table
), grid AS (
    SELECT zone_id, zone_name, time_zone,
           unnest(generate_series(day_start, day_end - INTERVAL 5 MINUTE,
                                  INTERVAL 5 MINUTE))                     AS interval_start
    FROM zones
), requests AS (
    SELECT t.pickup_zone_id AS zone_id,
           time_bucket(INTERVAL 5 MINUTE, t.requested_at)      AS interval_start,
           count(*)                                            AS requests,
           count(*) FILTER (WHERE f.outcome = 'no_driver')     AS unfulfilled_requests,
           avg(t.wait_ms) / 1000                               AS avg_wait_seconds
    FROM fact_trip t
    JOIN dim_trip_flags f USING (trip_flags_key)
    GROUP BY ALL
), spans AS (
    -- status rows that overlap the day in some city
    SELECT s.* FROM fact_driver_status s
    WHERE s.status <> 'offline'
      AND s.event_time < (SELECT max(day_end) FROM zones)
      AND s.status_end > (SELECT min(day_start) FROM zones)
), drivers AS (
    -- the state at the interval start: the status row with event_time <= start < status_end
    SELECT g.zone_id, g.interval_start,
           count(*)                                            AS drivers_online,
           count(*) FILTER (WHERE s.status = 'available')      AS available_drivers
    FROM grid g
    JOIN spans s
      ON s.zone_id = g.zone_id
     AND s.event_time <= g.interval_start
     AND g.interval_start < s.status_end
    GROUP BY ALL
)
SELECT g.zone_id, g.zone_name, g.interval_start,
       hour(l.local_start) * 10000 + minute(l.local_start) * 100 AS local_time_key,
       coalesce(r.requests, 0)                 AS requests,
       coalesce(d.drivers_online, 0)           AS drivers_online,
       coalesce(d.available_drivers, 0)        AS available_drivers,
       coalesce(r.unfulfilled_requests, 0)     AS unfulfilled_requests,
       r.avg_wait_seconds,
       coalesce(s.surge_multiplier, 1.0)       AS surge_multiplier
FROM grid g
CROSS JOIN LATERAL (
    SELECT (g.interval_start AT TIME ZONE 'UTC') AT TIME ZONE g.time_zone AS local_start
) l
LEFT JOIN requests r USING (zone_id, interval_start)
LEFT JOIN drivers d USING (zone_id, interval_start)
LEFT JOIN fact_surge s USING (zone_id, interval_start)
"""


# --------------------------------------------------------------------------------------------
# surge effectiveness: surge vs the switchback holdout at the same computed multiplier
# --------------------------------------------------------------------------------------------

#: Bands of the multiplier the engine computed: (label, lower bound inclusive, upper exclusive).
SURGE_BANDS = [("1.1-1.3", 1.05, 1.35), ("1.4-1.7", 1.35, 1.75), ("1.8-2.2", 1.75, 2.25),
               ("2.3-3.0", 2.25, 3.05)]  # fmt: skip


def _band(m: ir.FloatingValue) -> ir.StringValue:
    return ibis.cases(*[(m < hi, label) for label, _, hi in SURGE_BANDS])


def five_minutes(ts: ir.TimestampValue) -> ir.TimestampValue:
    """The start of the 5-minute interval holding ``ts``: the hour plus whole 5 minutes.

    Written with ``truncate`` and an interval (not ``bucket``, which Ibis cannot compile for
    Spark), so the same expression runs on DuckDB and Spark.
    """
    return ts.truncate("h") + (ts.minute() // 5 * 5).as_interval("m")


def surge_effectiveness(con) -> ir.Table:
    s = con.table("fact_supply_demand")
    s = s.filter(s.computed_multiplier > 1)
    s = s.mutate(band=_band(s.computed_multiplier), surge=~s.is_holdout)
    trips = _trips(con)
    surge = con.table("fact_surge")
    t = trips.mutate(interval_start=five_minutes(trips.requested_at))
    t = t.join(surge, [t.pickup_zone_id == surge.zone_id, "interval_start"])
    revenue = t.group_by(
        band=_band(t.computed_multiplier), surge=~t.is_holdout
    ).aggregate(fares=t.base_passenger_fare.sum(where=t.outcome == "completed"))
    g = s.group_by("band", "surge").aggregate(
        intervals=s.count(),
        requests=s.requests.sum(),
        abandoned=s.abandoned_requests.sum(),
        completed=s.completed_trips.sum(),
        drivers=s.drivers_online.mean(),
        log_m_requests=(s.requests * s.surge_multiplier.ln()).sum(),
        log_m_intervals=s.surge_multiplier.ln().mean(),
    )
    g = g.left_join(revenue, ["band", "surge"]).drop("band_right", "surge_right")
    g = g.mutate(
        keep_rate=1 - _ratio(g.abandoned, g.requests),
        conversion=_ratio(g.completed, g.requests),
        revenue_per_request=_ratio(g.fares.cast("float64").fill_null(0.0), g.requests),
        mean_log_m_requests=_ratio(g.log_m_requests, g.requests),
    )
    on = g.filter(g.surge)
    off = g.filter(~g.surge)
    j = on.join(off, "band")
    return j.select(
        band=j.band,
        surge_intervals=j.intervals,
        holdout_intervals=j.intervals_right,
        surge_requests=j.requests,
        holdout_requests=j.requests_right,
        surge_keep_rate=j.keep_rate,
        holdout_keep_rate=j.keep_rate_right,
        surge_conversion=j.conversion,
        holdout_conversion=j.conversion_right,
        surge_drivers_online=j.drivers,
        holdout_drivers_online=j.drivers_right,
        surge_revenue_per_request=j.revenue_per_request,
        holdout_revenue_per_request=j.revenue_per_request_right,
        price_elasticity=-_ratio(j.keep_rate, j.keep_rate_right).ln()
        / j.mean_log_m_requests,
        supply_elasticity=_ratio(j.drivers, j.drivers_right).ln() / j.log_m_intervals,
    )


SURGE_EFFECTIVENESS_SQL = """
WITH intervals AS (
    SELECT *,
           CASE WHEN computed_multiplier < 1.35 THEN '1.1-1.3'
                WHEN computed_multiplier < 1.75 THEN '1.4-1.7'
                WHEN computed_multiplier < 2.25 THEN '1.8-2.2'
                ELSE '2.3-3.0' END                          AS band,
           NOT is_holdout                                   AS surge
    FROM fact_supply_demand
    WHERE computed_multiplier > 1
), revenue AS (
    SELECT CASE WHEN s.computed_multiplier < 1.35 THEN '1.1-1.3'
                WHEN s.computed_multiplier < 1.75 THEN '1.4-1.7'
                WHEN s.computed_multiplier < 2.25 THEN '1.8-2.2'
                ELSE '2.3-3.0' END                          AS band,
           NOT s.is_holdout                                 AS surge,
           sum(t.base_passenger_fare) FILTER (WHERE f.outcome = 'completed') AS fares
    FROM fact_trip t
    JOIN dim_trip_flags f USING (trip_flags_key)
    JOIN fact_surge s
      ON s.zone_id = t.pickup_zone_id
     AND s.interval_start = time_bucket(INTERVAL 5 MINUTE, t.requested_at)
    GROUP BY ALL
), arms AS (
    SELECT i.band, i.surge,
           count(*)                                          AS intervals,
           sum(requests)                                     AS requests,
           1 - sum(abandoned_requests) / nullif(sum(requests), 0) AS keep_rate,
           sum(completed_trips) / nullif(sum(requests), 0)   AS conversion,
           avg(drivers_online)                               AS drivers,
           coalesce(any_value(r.fares), 0) / nullif(sum(requests), 0) AS revenue_per_request,
           sum(requests * ln(surge_multiplier)) / nullif(sum(requests), 0) AS mean_log_m_requests,
           avg(ln(surge_multiplier))                         AS mean_log_m_intervals
    FROM intervals i
    LEFT JOIN revenue r USING (band, surge)
    GROUP BY i.band, i.surge
)
SELECT s.band,
       s.intervals            AS surge_intervals,
       h.intervals            AS holdout_intervals,
       s.requests             AS surge_requests,
       h.requests             AS holdout_requests,
       s.keep_rate            AS surge_keep_rate,
       h.keep_rate            AS holdout_keep_rate,
       s.conversion           AS surge_conversion,
       h.conversion           AS holdout_conversion,
       s.drivers              AS surge_drivers_online,
       h.drivers              AS holdout_drivers_online,
       s.revenue_per_request  AS surge_revenue_per_request,
       h.revenue_per_request  AS holdout_revenue_per_request,
       -ln(s.keep_rate / nullif(h.keep_rate, 0)) / s.mean_log_m_requests AS price_elasticity,
       ln(s.drivers / nullif(h.drivers, 0)) / s.mean_log_m_intervals      AS supply_elasticity
FROM arms s
JOIN arms h ON h.band = s.band AND NOT h.surge
WHERE s.surge
"""


# --------------------------------------------------------------------------------------------
# rider retention and frequency
# --------------------------------------------------------------------------------------------


def rider_retention(con) -> ir.Table:
    r = con.table("dim_rider")
    m = con.table("rider_monthly", database="mart")
    r = r.filter(r.cohort_month.notnull())
    sizes = r.group_by("cohort_month").aggregate(cohort_riders=r.count())
    a = m.join(r.select("rider_id", "cohort_month"), "rider_id")
    a = a.mutate(
        months_since_first=(
            (a.month_start.year() - a.cohort_month.year()) * 12
            + a.month_start.month()
            - a.cohort_month.month()
        ).cast("int64")
    )
    g = a.group_by("cohort_month", "months_since_first").aggregate(
        active_riders=a.count(),
        completed_rides=a.completed_trips.sum(),
        zero=(a.completed_trips == 0).sum(),
        one=(a.completed_trips == 1).sum(),
        two_three=a.completed_trips.between(2, 3).sum(),
        four_plus=(a.completed_trips >= 4).sum(),
    )
    g = g.join(sizes, "cohort_month")
    return g.select(
        "cohort_month",
        "months_since_first",
        "cohort_riders",
        "active_riders",
        retention_rate=g.active_riders / g.cohort_riders,
        completed_rides=g.completed_rides,
        rides_per_active_rider=g.completed_rides / g.active_riders,
        share_0_rides=g.zero / g.active_riders,
        share_1_ride=g.one / g.active_riders,
        share_2_3_rides=g.two_three / g.active_riders,
        share_4plus_rides=g.four_plus / g.active_riders,
    )


RIDER_RETENTION_SQL = """
WITH rider_months AS (
    SELECT t.rider_id,
           date_trunc('month', t.requested_at)::DATE           AS month_start,
           count(*) FILTER (WHERE f.outcome = 'completed')     AS rides
    FROM fact_trip t
    JOIN dim_trip_flags f USING (trip_flags_key)
    GROUP BY ALL
), cohorts AS (
    SELECT rider_id, min(month_start) AS cohort_month
    FROM rider_months
    GROUP BY rider_id
), active AS (
    SELECT c.cohort_month,
           date_diff('month', c.cohort_month, m.month_start) AS months_since_first,
           m.rides
    FROM rider_months m
    JOIN cohorts c USING (rider_id)
)
SELECT a.cohort_month,
       a.months_since_first,
       s.cohort_riders,
       count(*)                                             AS active_riders,
       count(*) / s.cohort_riders                           AS retention_rate,
       sum(a.rides)                                         AS completed_rides,
       sum(a.rides) / count(*)                              AS rides_per_active_rider,
       count(*) FILTER (WHERE a.rides = 0) / count(*)       AS share_0_rides,
       count(*) FILTER (WHERE a.rides = 1) / count(*)       AS share_1_ride,
       count(*) FILTER (WHERE a.rides BETWEEN 2 AND 3) / count(*) AS share_2_3_rides,
       count(*) FILTER (WHERE a.rides >= 4) / count(*)      AS share_4plus_rides
FROM active a
JOIN (SELECT cohort_month, count(*) AS cohort_riders FROM cohorts GROUP BY cohort_month) s
  USING (cohort_month)
GROUP BY a.cohort_month, a.months_since_first, s.cohort_riders
"""


#: The query a candidate writes first, where the book's SQL is a faster rewrite (issue 14).
NAIVE_SQL: dict[str, str] = {"ride_metrics": RIDE_METRICS_NAIVE_SQL}

METRICS = {
    m.name: m
    for m in [
        Metric(
            "ride_metrics",
            "Track ride metrics (distance, duration, fare) by city and time",
            "One row per city and local hour of day (0-23): the hour of requested_at on the "
            "city's clock (its IANA time zone in dim_city, daylight saving time applied; a "
            "request of an Unknown city would keep its UTC hour). All requests of the data, "
            "requested_at in [2025-01-01, 2025-07-01) UTC, so the local hours of 31 December "
            "evening are in and those of 30 June evening out. requests = all requests; "
            "completed_trips = requests with outcome completed; completion_rate = "
            "completed_trips / requests; cancellation_rate = requests cancelled by the rider "
            "(at the quote or after a match) or by the driver / requests. Per completed trip "
            "(every completed trip has its fare record, hence miles and fare): avg_trip_miles = "
            "sum of trip_miles / completed_trips; avg_trip_minutes = sum of "
            "started_at -> completed_at in minutes / completed trips that have both times (a "
            "completed trip whose 'started' event was lost is left out of this average only); "
            "avg_fare = sum of base_passenger_fare / completed_trips (NULL with no completed "
            "trip); total_fares = sum of base_passenger_fare of completed trips, exact DECIMAL, "
            "0 when none.",
            ride_metrics,
            RIDE_METRICS_SQL,
            order_by=("city_name", "local_hour"),
        ),
        Metric(
            "driver_performance",
            "Analyze driver performance and earnings",
            "One row per driver (driver_id > 0) with online time > 0, over the whole period "
            "(every row of the facts, by event time; shifts end before 2025-07-01 00:00 UTC). "
            "offers = the driver's 'accepted' + 'declined' events "
            "in fact_trip_event; accepted = 'accepted' events; acceptance_rate = accepted / "
            "offers (NULL with no offer); driver_cancellations = requests the driver accepted "
            "and then cancelled (fact_trip, outcome driver_cancelled); cancellation_rate = "
            "driver_cancellations / accepted (NULL when none accepted); completed_trips = the "
            "driver's requests with outcome completed; avg_rating = mean rider_rating over the "
            "driver's trips that have one (NULL if none) and ratings = their number; "
            "online_hours = sum of duration_ms of the driver's status rows with status "
            "available or on_trip, / 3,600,000 (a row lasts until the driver's next status "
            "row); trips_per_online_hour = completed_trips / online_hours.",
            driver_performance,
            DRIVER_PERFORMANCE_SQL,
            order_by=("driver_id",),
        ),
        Metric(
            "driver_earnings",
            "Analyze driver performance and earnings",
            "One row per driver (driver_id > 0) with online time > 0, over the whole period. "
            "Time online comes from the driver app's status log: online_hours = sum of "
            "duration_ms of status rows available or on_trip, / 3,600,000. Everything else "
            "comes from one set of trips, the requests the driver accepted (fact_trip rows with "
            "that driver_id; every request is loaded, none quarantined): on_trip_hours = sum of "
            "accepted_at -> completed_at (or -> cancelled_at for a trip cancelled after the "
            "match), in hours; completed_trips = those completed; earnings = sum of driver_pay "
            "+ tips of the completed ones (exact DECIMAL, 0 when none); utilization = "
            "on_trip_hours / online_hours; earnings_per_online_hour = earnings / online_hours.",
            driver_earnings,
            DRIVER_EARNINGS_SQL,
            order_by=("driver_id",),
        ),
        Metric(
            "supply_demand",
            "Monitor supply-demand balance in real-time",
            "One row per zone of the zone table (not the Unknown or inferred zones, which have "
            "no place on the map) and 5-minute interval [interval_start, + 5 min) whose start "
            "falls on local day `day` of the zone's city (default 2025-06-29, the last local "
            "day the data covers whole; a day with a change of clocks has 276 or 300 "
            "intervals). interval_start is UTC; local_time_key = its hhmm00 on the city's "
            "clock. requests = requests of the zone with requested_at in the interval; "
            "drivers_online and available_drivers = drivers positioned in the zone whose "
            "status at the instant interval_start is available or on_trip (resp. available), "
            "a status holding from its event_time (inclusive) to the driver's next status "
            "(exclusive); unfulfilled_requests = the interval's requests that expired with no "
            "driver; avg_wait_seconds = mean of requested_at -> arrived_at in seconds over the "
            "interval's requests a driver reached (NULL when none); surge_multiplier = the "
            "multiplier quoted in the interval (1.0 where the engine computed none).",
            supply_demand,
            SUPPLY_DEMAND_SQL,
            order_by=("zone_id", "interval_start"),
        ),
        Metric(
            "surge_effectiveness",
            "Measure the effectiveness of surge pricing",
            "Zone-intervals of fact_supply_demand where the engine computed a multiplier above "
            "1, by band of that multiplier ('1.1-1.3' = [1.05, 1.35), '1.4-1.7' = [1.35, "
            "1.75), '1.8-2.2' = [1.75, 2.25), '2.3-3.0' = [2.25, 3.05)) and arm: surge applied "
            "(is_holdout false) or the switchback holdout (surge withheld, quoted 1.0); one "
            "row per band, the two arms side by side. Per band and arm: intervals = rows; "
            "requests = their sum; keep_rate = 1 - abandoned_requests / requests (abandoned = "
            "cancelled by the rider at the quote, before any match); conversion = "
            "completed_trips / requests; drivers_online = mean of drivers_online over the rows "
            "(a state at each interval start); revenue_per_request = sum of "
            "base_passenger_fare of the completed trips requested in those zone-intervals "
            "(pickup zone and the 5-minute UTC bucket of requested_at) / requests. "
            "price_elasticity = -ln(surge keep_rate / holdout keep_rate) / (request-weighted "
            "mean of ln(surge_multiplier) over the surge arm's rows); supply_elasticity = "
            "ln(surge drivers_online / holdout drivers_online) / (mean of ln(surge_multiplier) "
            "over the surge arm's rows). A band with no row in one of the arms is left out.",
            surge_effectiveness,
            SURGE_EFFECTIVENESS_SQL,
            order_by=("band",),
        ),
        Metric(
            "rider_retention",
            "Analyze user retention and frequency of use",
            "Monthly cohorts: a rider's cohort is the UTC calendar month of their first request "
            "in the data (any outcome); cohort_riders = riders in it. For each cohort and "
            "months_since_first = k (difference of UTC calendar months, 0 = the cohort month): "
            "active_riders = cohort riders with at least one request in month k; "
            "retention_rate = active_riders / cohort_riders; completed_rides = those riders' "
            "completed trips in month k; rides_per_active_rider = completed_rides / "
            "active_riders; share_0_rides, share_1_ride, share_2_3_rides, share_4plus_rides = "
            "shares of active riders with 0, 1, 2-3, 4 or more completed rides in month k. A "
            "(cohort, k) row exists when some rider was active. All six UTC months "
            "(January-June 2025) are complete, so no partial month is reported; a later "
            "cohort simply has fewer months of follow-up (right-censored, not zero). The "
            "platform opened on 2025-01-01 (no request exists before it), so a first request "
            "in the data is a rider's first ever and the January cohort is not left-censored.",
            rider_retention,
            RIDER_RETENTION_SQL,
            order_by=("cohort_month", "months_since_first"),
        ),
    ]
}


# --------------------------------------------------------------------------------------------
# interview exercises (reference answers)
# --------------------------------------------------------------------------------------------

MILESTONES = {
    "requested",
    "accepted",
    "arrived",
    "started",
    "completed",
    "cancelled",
    "expired",
}
#: Northport's evening peak on Friday 27 June 2025, on the city's clock.
PEAK_CITY, PEAK_DAY, PEAK_FROM, PEAK_TO = "Northport", 20250627, 170000, 190000
NOW = "2025-06-30 18:00:00"


def _snapshot_lags(con) -> ir.Table:
    e = con.table("fact_trip_event")

    def at(kind):
        return e.event_time.min(where=e.event_type == kind)

    m = e.group_by("trip_id").aggregate(
        requested=at("requested"), arrived=at("arrived"), started=at("started"),
        completed=at("completed"),
    )  # fmt: skip
    m = m.filter(m.completed.notnull())
    return m.select(
        "trip_id",
        wait_seconds=m.arrived.delta(m.requested, unit="millisecond") / 1e3,
        trip_seconds=m.completed.delta(m.started, unit="millisecond") / 1e3,
    )


def _cancellations_by_who(con) -> ir.Table:
    t = _trips(con).join(con.table("dim_city"), "city_id")
    g = t.group_by("city_name").aggregate(
        n=t.count(),
        rb=((t.cancelled_by == "rider") & t.accepted_at.isnull()).sum(),
        ra=((t.cancelled_by == "rider") & t.accepted_at.notnull()).sum(),
        d=(t.cancelled_by == "driver").sum(),
    )
    return g.select(
        "city_name",
        rider_before_match=g.rb / g.n,
        rider_after_match=g.ra / g.n,
        driver=g.d / g.n,
    )


def _driver_utilization(con) -> ir.Table:
    s = con.table("fact_driver_status")
    s = s.filter(s.status != "offline")
    g = s.group_by("driver_id").aggregate(
        online=s.duration_ms.sum(),
        on_trip=s.duration_ms.sum(where=s.status == "on_trip"),
    )
    g = g.filter(g.online > 0)
    return g.select("driver_id", utilization=g.on_trip.fill_null(0) / g.online)


def _zone_balance(con) -> ir.Table:
    s = con.table("fact_supply_demand")
    z = con.table("dim_zone").select("zone_id", "city_name")
    s = s.join(z, "zone_id")
    s = s.filter(
        (s.city_name == PEAK_CITY)
        & (s.local_date_key == PEAK_DAY)
        & (s.local_time_key >= PEAK_FROM)
        & (s.local_time_key < PEAK_TO)
    )
    return s.group_by("zone_id").aggregate(
        requests=s.requests.sum(),
        avg_available_drivers=s.available_drivers.mean(),
        unfulfilled_requests=s.unfulfilled_requests.sum(),
    )


def _surge_conversion(con) -> ir.Table:
    s = con.table("fact_supply_demand")
    s = s.filter(s.computed_multiplier >= 1.5)
    g = s.group_by("is_holdout").aggregate(
        requests=s.requests.sum(), completed=s.completed_trips.sum()
    )
    return g.select("is_holdout", "requests", conversion=g.completed / g.requests)


def _january_retention(con) -> ir.Table:
    t = con.table("fact_trip")
    months = t.select("rider_id", month=t.requested_at.truncate("M").date()).distinct()
    first = months.group_by("rider_id").aggregate(cohort=months.month.min())
    j = months.join(first, "rider_id")
    j = j.filter(j.cohort == ibis.date("2025-01-01"))
    size = j.filter(j.month == j.cohort).count()
    j = j.mutate(months_since_first=(j.month.month() - 1).cast("int64"))
    g = j.group_by("months_since_first").aggregate(active=j.count())
    return g.select("months_since_first", retention_rate=g.active / size)


def _drivers_available_now(con) -> ir.Table:
    s = con.table("fact_driver_status")
    now = ibis.timestamp(NOW)
    s = s.filter(
        (s.event_time <= now) & (s.status_end > now) & (s.status == "available")
    )
    counts = s.group_by("zone_id").aggregate(available_drivers=s.count())
    zones = con.table("dim_zone")
    zones = zones.filter((zones.zone_id > 0) & ~zones.is_inferred).select("zone_id")
    j = zones.left_join(counts, "zone_id")
    # every zone of the zone table, 0 where no driver is available
    return j.select(zones.zone_id, available_drivers=j.available_drivers.fill_null(0))


def _local_rush_hour(con) -> ir.Table:
    t = con.table("fact_trip").join(con.table("dim_city"), "city_id")
    n = t.group_by("city_name", "local_hour").aggregate(requests=t.count())
    w = ibis.window(
        group_by="city_name", order_by=[ibis.desc("requests"), "local_hour"]
    )
    n = n.mutate(rank=ibis.row_number().over(w))
    return n.filter(n["rank"] == 0).select(
        "city_name", rush_hour="local_hour", requests="requests"
    )


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "rideshare.trip_milestones",
            "The accumulating snapshot fact_trip turns some event types of the transaction fact "
            "fact_trip_event into one timestamp column each. Which event types become milestone "
            "columns?",
            MILESTONES,
            hint="A milestone happens at most once per request. Can a request be declined twice?",
        ),
        Exercise(
            "rideshare.supply_grain",
            "Which columns identify one row of fact_supply_demand (its grain)?",
            {"zone_id", "interval_start"},
            hint="A periodic snapshot: one row per thing per period.",
        ),
        Exercise(
            "rideshare.snapshot_lags",
            "From fact_trip_event alone, for every completed trip: trip_id, wait_seconds "
            "(requested -> arrived) and trip_seconds (started -> completed; NULL when the "
            "'started' event was lost), in seconds. Fractional seconds (an epoch difference) "
            "or whole seconds (date_diff) both count: the check allows 1 second either way.",
            _snapshot_lags,
            hint="Pivot: one conditional MIN(event_time) per milestone, grouped by trip_id.",
            # date_diff('second', a, b) counts second boundaries: within 1 s of the exact lag
            atol=1.0,
        ),
        Exercise(
            "rideshare.cancellations_by_who",
            "Per city_name, the share of requests cancelled by the rider before a driver "
            "accepted (rider_before_match), by the rider after (rider_after_match), and by the "
            "driver (driver).",
            _cancellations_by_who,
            hint="Denominator: all requests of the city. The flags live in dim_trip_flags; "
            "accepted_at tells before from after.",
        ),
        Exercise(
            "rideshare.driver_utilization",
            "Per driver_id: utilization = time on trip / time online (available or on trip), "
            "from fact_driver_status.",
            _driver_utilization,
            hint="Offline rows are not online time; sum durations, then divide (no average of ratios).",
        ),
        Exercise(
            "rideshare.zone_balance",
            "Northport's evening peak: Friday 27 June 2025 from 17:00 to 19:00 on Northport's "
            "clock (24 intervals). Per zone_id of Northport: total requests, "
            "avg_available_drivers (average over the interval starts) and total "
            "unfulfilled_requests.",
            _zone_balance,
            hint="Driver counts are a state: average them over time, never sum them. "
            "interval_start is UTC; the fact also carries local keys.",
        ),
        Exercise(
            "rideshare.surge_conversion",
            "Among zone-intervals where the engine computed a multiplier of at least 1.5, per "
            "is_holdout: requests and conversion (completed trips / requests).",
            _surge_conversion,
            hint="fact_supply_demand has computed_multiplier and is_holdout on every row.",
        ),
        Exercise(
            "rideshare.january_retention",
            "For riders whose first request was in January 2025 (UTC): per months_since_first "
            "(0-5), retention_rate = share of the cohort with at least one request in that "
            "month.",
            _january_retention,
            hint="First find each rider's first month; the cohort size is its month-0 count.",
        ),
        Exercise(
            "rideshare.drivers_available_now",
            f"Real time: at {NOW} UTC exactly, how many drivers are available in each zone? "
            "One row per zone of the zone table (zone_id > 0, not inferred), every zone, with "
            "0 where none: available_drivers.",
            _drivers_available_now,
            hint="A status row holds from event_time (inclusive) to status_end (exclusive).",
        ),
        Exercise(
            "rideshare.local_rush_hour",
            "Per city_name: rush_hour, the hour of day on the city's own clock with the most "
            "requests over the whole period, and those requests.",
            _local_rush_hour,
            hint="requested_at is UTC, and the three cities are in three time zones.",
        ),
    ]
}
