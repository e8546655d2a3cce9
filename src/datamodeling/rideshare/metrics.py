"""Every metric the ride-sharing requirements ask for: Ibis code and the SQL a candidate would write.

Conventions shared by all metrics: times are UTC; a request belongs to the hour, day or month of
``requested_at`` (event time, not load time); the data covers 2025-01-01 to 2025-06-30, six
complete months, so no metric has an incomplete last period. Rates are ratios of sums (never
averages of per-row ratios).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

from . import generate as gen


def _ratio(num, den):
    return ibis.ifelse(den == 0, ibis.null("float64"), num / den)


# --------------------------------------------------------------------------------------------
# ride metrics by city and hour of day
# --------------------------------------------------------------------------------------------


def ride_metrics(con) -> ir.Table:
    h = con.table("city_hourly", database="mart")
    c = con.table("dim_city")
    h = h.join(c.select("city_id", "city_name"), "city_id")
    h = h.mutate(hour_of_day=h.hour_start.hour().cast("int64"))
    g = h.group_by("city_name", "hour_of_day").aggregate(
        requests=h.requests.sum(),
        completed_trips=h.completed_trips.sum(),
        cancelled=h.cancelled.sum(),
        miles=h.trip_miles.sum(),
        seconds=h.trip_seconds.sum(),
        fares=h.fares.sum(),
    )
    return g.select(
        "city_name",
        "hour_of_day",
        "requests",
        "completed_trips",
        completion_rate=g.completed_trips / g.requests,
        cancellation_rate=g.cancelled / g.requests,
        avg_trip_miles=_ratio(g.miles, g.completed_trips),
        avg_trip_minutes=_ratio(g.seconds / 60, g.completed_trips),
        avg_fare=_ratio(g.fares, g.completed_trips),
        total_fares=g.fares.fill_null(0.0),
    )


RIDE_METRICS_SQL = """
SELECT c.city_name,
       hour(t.requested_at)                                    AS hour_of_day,
       count(*)                                                AS requests,
       count(*) FILTER (WHERE t.outcome = 'completed')         AS completed_trips,
       count(*) FILTER (WHERE t.outcome = 'completed') / count(*)          AS completion_rate,
       count(*) FILTER (WHERE t.cancelled_at IS NOT NULL) / count(*)       AS cancellation_rate,
       avg(t.trip_miles) FILTER (WHERE t.outcome = 'completed')            AS avg_trip_miles,
       avg(t.trip_seconds / 60) FILTER (WHERE t.outcome = 'completed')     AS avg_trip_minutes,
       avg(t.base_passenger_fare) FILTER (WHERE t.outcome = 'completed')   AS avg_fare,
       coalesce(sum(t.base_passenger_fare) FILTER (WHERE t.outcome = 'completed'), 0) AS total_fares
FROM fact_trips t
JOIN dim_city c USING (city_id)
GROUP BY c.city_name, hour(t.requested_at)
"""


# --------------------------------------------------------------------------------------------
# drivers
# --------------------------------------------------------------------------------------------


def driver_performance(con) -> ir.Table:
    e = con.table("fact_trip_events")
    t = con.table("fact_trips")
    d = con.table("driver_daily", database="mart")
    o = e.filter(e.event_type.isin(["accepted", "declined"]))
    offers = o.group_by("driver_id").aggregate(
        offers=o.count(), accepted=(o.event_type == "accepted").sum().cast("int64")
    )
    trips = t.filter(t.driver_id.notnull())
    outcomes = trips.group_by("driver_id").aggregate(
        driver_cancellations=(trips.outcome == "driver_cancelled").sum().cast("int64"),
        completed_trips=(trips.outcome == "completed").sum().cast("int64"),
        avg_rating=trips.rider_rating.mean(),
        ratings=trips.rider_rating.count(),
    )
    online = d.group_by("driver_id").aggregate(online_hours=d.online_seconds.sum() / 3600)
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
    SELECT driver_id, sum(duration_seconds) / 3600 AS online_hours
    FROM fact_driver_status
    WHERE status <> 'offline'
    GROUP BY driver_id
), offers AS (
    SELECT driver_id,
           count(*)                                         AS offers,
           count(*) FILTER (WHERE event_type = 'accepted')  AS accepted
    FROM fact_trip_events
    WHERE event_type IN ('accepted', 'declined')
    GROUP BY driver_id
), outcomes AS (
    SELECT driver_id,
           count(*) FILTER (WHERE outcome = 'driver_cancelled') AS driver_cancellations,
           count(*) FILTER (WHERE outcome = 'completed')        AS completed_trips,
           avg(rider_rating)                                    AS avg_rating,
           count(rider_rating)                                  AS ratings
    FROM fact_trips
    WHERE driver_id IS NOT NULL
    GROUP BY driver_id
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
       coalesce(r.completed_trips, 0) / nullif(o.online_hours, 0) AS trips_per_online_hour
FROM online o
LEFT JOIN offers f USING (driver_id)
LEFT JOIN outcomes r USING (driver_id)
"""


def driver_earnings(con) -> ir.Table:
    d = con.table("driver_daily", database="mart")
    g = d.group_by("driver_id").aggregate(
        online_hours=d.online_seconds.sum() / 3600,
        on_trip_hours=d.on_trip_seconds.sum() / 3600,
        completed_trips=d.completed_trips.sum(),
        earnings=d.earnings.sum(),
    )
    g = g.filter(g.online_hours > 0)
    return g.select(
        "driver_id",
        "online_hours",
        "on_trip_hours",
        utilization=g.on_trip_hours / g.online_hours,
        completed_trips=g.completed_trips,
        earnings=g.earnings,
        earnings_per_online_hour=g.earnings / g.online_hours,
    )


DRIVER_EARNINGS_SQL = """
WITH time_online AS (
    SELECT driver_id,
           sum(duration_seconds) / 3600                                 AS online_hours,
           coalesce(sum(duration_seconds) FILTER (WHERE status = 'on_trip'), 0) / 3600
                                                                        AS on_trip_hours
    FROM fact_driver_status
    WHERE status IN ('available', 'on_trip')
    GROUP BY driver_id
), pay AS (
    SELECT driver_id, count(*) AS completed_trips, sum(driver_pay + tips) AS earnings
    FROM fact_trips
    WHERE outcome = 'completed'
    GROUP BY driver_id
)
SELECT t.driver_id,
       t.online_hours,
       t.on_trip_hours,
       t.on_trip_hours / t.online_hours                 AS utilization,
       coalesce(p.completed_trips, 0)                   AS completed_trips,
       coalesce(p.earnings, 0)                          AS earnings,
       coalesce(p.earnings, 0) / t.online_hours         AS earnings_per_online_hour
FROM time_online t
LEFT JOIN pay p USING (driver_id)
WHERE t.online_hours > 0
"""


# --------------------------------------------------------------------------------------------
# supply and demand (the live board: one day, every zone, every 5 minutes)
# --------------------------------------------------------------------------------------------


def supply_demand(con, day=None) -> ir.Table:
    s = con.table("fact_supply_demand")
    z = con.table("dim_zone")
    day = ibis.date(str(day or gen.LAST_DAY))
    s = s.filter(s.interval_start.date() == day)
    s = s.join(z.select("zone_id", "zone_name"), "zone_id")
    return s.select(
        "zone_id",
        "zone_name",
        "interval_start",
        "requests",
        "drivers_online",
        "available_drivers",
        "unfulfilled_requests",
        avg_wait_seconds=_ratio(s.wait_seconds_sum, s.waits),
        surge_multiplier=s.surge_multiplier,
    )


SUPPLY_DEMAND_SQL = """
-- Independent of fact_supply_demand: rebuilt from the trips and the driver status spans.
WITH day AS (
    SELECT DATE '2025-06-30' AS d  -- the last day of the data
), grid AS (
    SELECT z.zone_id, z.zone_name, g.interval_start
    FROM dim_zone z
    CROSS JOIN (
        SELECT unnest(generate_series(d::TIMESTAMP, d::TIMESTAMP + INTERVAL 1 DAY - INTERVAL 5 MINUTE,
                                      INTERVAL 5 MINUTE)) AS interval_start
        FROM day
    ) g
), requests AS (
    SELECT pickup_zone_id AS zone_id,
           time_bucket(INTERVAL 5 MINUTE, requested_at)       AS interval_start,
           count(*)                                            AS requests,
           count(*) FILTER (WHERE outcome = 'no_driver')       AS unfulfilled_requests,
           avg(wait_seconds)                                   AS avg_wait_seconds
    FROM fact_trips
    GROUP BY ALL
), spans AS (
    -- status rows that overlap the day
    SELECT s.* FROM fact_driver_status s, day
    WHERE s.status <> 'offline'
      AND s.event_time < day.d + INTERVAL 1 DAY
      AND s.status_end > day.d
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
       coalesce(r.requests, 0)                 AS requests,
       coalesce(d.drivers_online, 0)           AS drivers_online,
       coalesce(d.available_drivers, 0)        AS available_drivers,
       coalesce(r.unfulfilled_requests, 0)     AS unfulfilled_requests,
       r.avg_wait_seconds,
       coalesce(s.surge_multiplier, 1.0)       AS surge_multiplier
FROM grid g
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


def surge_effectiveness(con) -> ir.Table:
    s = con.table("fact_supply_demand")
    s = s.filter(s.computed_multiplier > 1)
    s = s.mutate(band=_band(s.computed_multiplier), surge=~s.is_holdout)
    trips = con.table("fact_trips")
    surge = con.table("fact_surge")
    t = trips.mutate(interval_start=trips.requested_at.bucket(minutes=5))
    t = t.join(surge, [t.pickup_zone_id == surge.zone_id, "interval_start"])
    revenue = t.group_by(band=_band(t.computed_multiplier), surge=~t.is_holdout).aggregate(
        fares=t.base_passenger_fare.sum(where=t.outcome == "completed")
    )
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
        keep_rate=1 - g.abandoned / g.requests,
        conversion=g.completed / g.requests,
        revenue_per_request=g.fares.fill_null(0) / g.requests,
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
        price_elasticity=-(j.keep_rate / j.keep_rate_right).ln() / (j.log_m_requests / j.requests),
        supply_elasticity=(j.drivers / j.drivers_right).ln() / j.log_m_intervals,
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
           sum(t.base_passenger_fare) FILTER (WHERE t.outcome = 'completed') AS fares
    FROM fact_trips t
    JOIN fact_surge s
      ON s.zone_id = t.pickup_zone_id
     AND s.interval_start = time_bucket(INTERVAL 5 MINUTE, t.requested_at)
    GROUP BY ALL
), arms AS (
    SELECT i.band, i.surge,
           count(*)                                          AS intervals,
           sum(requests)                                     AS requests,
           1 - sum(abandoned_requests) / sum(requests)       AS keep_rate,
           sum(completed_trips) / sum(requests)              AS conversion,
           avg(drivers_online)                               AS drivers,
           coalesce(any_value(r.fares), 0) / sum(requests)   AS revenue_per_request,
           sum(requests * ln(surge_multiplier)) / sum(requests) AS mean_log_m_requests,
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
       -ln(s.keep_rate / h.keep_rate) / s.mean_log_m_requests AS price_elasticity,
       ln(s.drivers / h.drivers) / s.mean_log_m_intervals      AS supply_elasticity
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
    SELECT rider_id,
           date_trunc('month', requested_at)::DATE           AS month_start,
           count(*) FILTER (WHERE outcome = 'completed')     AS rides
    FROM fact_trips
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


METRICS = {
    m.name: m
    for m in [
        Metric(
            "ride_metrics",
            "Track ride metrics (distance, duration, fare) by city and time",
            "Per city and hour of day (UTC, by request time, Jan-Jun 2025): requests, completed "
            "trips, completion and cancellation rates (of requests), and per completed trip the "
            "average miles, minutes (start to drop-off) and fare (base passenger fare).",
            ride_metrics,
            RIDE_METRICS_SQL,
            order_by=("city_name", "hour_of_day"),
        ),
        Metric(
            "driver_performance",
            "Analyze driver performance and earnings",
            "Per driver over the whole period: offers (accepted + declined), acceptance rate, "
            "cancellations by the driver after accepting (rate of accepted), completed trips, "
            "average rating and number of ratings, online hours (available or on trip) and "
            "completed trips per online hour.",
            driver_performance,
            DRIVER_PERFORMANCE_SQL,
            order_by=("driver_id",),
        ),
        Metric(
            "driver_earnings",
            "Analyze driver performance and earnings",
            "Per driver over the whole period: online hours, on-trip hours (accept to drop-off or "
            "cancel), utilization = on-trip / online time, earnings = driver pay + tips of "
            "completed trips, and earnings per online hour.",
            driver_earnings,
            DRIVER_EARNINGS_SQL,
            order_by=("driver_id",),
        ),
        Metric(
            "supply_demand",
            "Monitor supply-demand balance in real-time",
            "Per zone and 5-minute interval of one day (default: the last day of data): requests "
            "made in the interval, drivers online and available at the interval start, requests "
            "that expired with no driver, average wait (request to driver arrival) of the "
            "interval's requests, and the surge multiplier applied.",
            supply_demand,
            SUPPLY_DEMAND_SQL,
            order_by=("zone_id", "interval_start"),
        ),
        Metric(
            "surge_effectiveness",
            "Measure the effectiveness of surge pricing",
            "Zone-intervals where the engine computed a surge, by band of that multiplier: surge "
            "applied vs the switchback holdout (surge withheld). Per arm: intervals, requests, "
            "keep rate (requests not abandoned at the quote), conversion (completed / requests), "
            "average drivers online, completed fares per request; then the price elasticity of "
            "the keep rate and the supply elasticity implied by the two arms.",
            surge_effectiveness,
            SURGE_EFFECTIVENESS_SQL,
            order_by=("band",),
        ),
        Metric(
            "rider_retention",
            "Analyze user retention and frequency of use",
            "Monthly cohorts by the month of a rider's first request: share of the cohort active "
            "(at least one request) k months later, and how often active riders ride (completed "
            "rides per active rider, share with 0, 1, 2-3 and 4+ rides). Six complete months.",
            rider_retention,
            RIDER_RETENTION_SQL,
            order_by=("cohort_month", "months_since_first"),
        ),
    ]
}


# --------------------------------------------------------------------------------------------
# interview exercises (reference answers)
# --------------------------------------------------------------------------------------------

MILESTONES = {"requested", "accepted", "arrived", "started", "completed", "cancelled", "expired"}
PEAK_START, PEAK_END = "2025-06-27 17:00:00", "2025-06-27 19:00:00"
NOW = "2025-06-30 18:00:00"


def _snapshot_lags(con) -> ir.Table:
    e = con.table("fact_trip_events")

    def at(kind):
        return e.event_time.min(where=e.event_type == kind)

    m = e.group_by("trip_id").aggregate(
        requested=at("requested"), arrived=at("arrived"), started=at("started"),
        completed=at("completed"),
    )  # fmt: skip
    m = m.filter(m.completed.notnull())
    return m.select(
        "trip_id",
        wait_seconds=m.arrived.delta(m.requested, unit="microsecond") / 1e6,
        trip_seconds=m.completed.delta(m.started, unit="microsecond") / 1e6,
    )


def _cancellations_by_who(con) -> ir.Table:
    t = con.table("fact_trips").join(con.table("dim_city"), "city_id")
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
        online=s.duration_seconds.sum(),
        on_trip=s.duration_seconds.sum(where=s.status == "on_trip"),
    )
    g = g.filter(g.online > 0)
    return g.select("driver_id", utilization=g.on_trip.fill_null(0) / g.online)


def _zone_balance(con) -> ir.Table:
    s = con.table("fact_supply_demand")
    s = s.filter(
        (s.interval_start >= ibis.timestamp(PEAK_START))
        & (s.interval_start < ibis.timestamp(PEAK_END))
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
    t = con.table("fact_trips")
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
    s = s.filter((s.event_time <= now) & (s.status_end > now) & (s.status == "available"))
    counts = s.group_by("zone_id").aggregate(available_drivers=s.count())
    zones = con.table("dim_zone").select("zone_id")
    j = zones.left_join(counts, "zone_id")
    # every zone of dim_zone, 0 where no driver is available
    return j.select(zones.zone_id, available_drivers=j.available_drivers.fill_null(0))


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "rideshare.trip_milestones",
            "The accumulating snapshot fact_trips turns some event types of the transaction fact "
            "into one timestamp column each. Which event types become milestone columns?",
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
            "From fact_trip_events alone, for every completed trip: trip_id, wait_seconds "
            "(requested -> arrived) and trip_seconds (started -> completed), in seconds. "
            "Fractional seconds (an epoch difference) or whole seconds (date_diff) both count: "
            "the check allows 1 second either way.",
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
            hint="Denominator: all requests of the city. accepted_at tells before from after.",
        ),
        Exercise(
            "rideshare.driver_utilization",
            "Per driver_id: utilization = seconds on trip / seconds online (available or on "
            "trip), from fact_driver_status.",
            _driver_utilization,
            hint="Offline rows are not online time; sum durations, then divide (no average of ratios).",
        ),
        Exercise(
            "rideshare.zone_balance",
            f"Evening peak {PEAK_START} to {PEAK_END} (24 intervals): per zone_id, total "
            "requests, avg_available_drivers (average over the interval starts) and total "
            "unfulfilled_requests.",
            _zone_balance,
            hint="Driver counts are a state: average them over time, never sum them.",
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
            "For riders whose first request was in January 2025: per months_since_first (0-5), "
            "retention_rate = share of the cohort with at least one request in that month.",
            _january_retention,
            hint="First find each rider's first month; the cohort size is its month-0 count.",
        ),
        Exercise(
            "rideshare.drivers_available_now",
            f"Real time: at {NOW} exactly, how many drivers are available in each zone? One "
            "row per zone_id of dim_zone, every zone, with 0 where none: available_drivers.",
            _drivers_available_now,
            hint="A status row holds from event_time (inclusive) to status_end (exclusive).",
        ),
    ]
}
