"""The ride-sharing mock interview: prompt, 45-minute script, rubric, drills, a design task and a
metric investigation.

The design task (pooled rides) refers to the existing model through ``schema`` by business key,
so it holds whether the tables are called ``fact_trips`` or ``fact_trip``. The investigation's
cause is planted by the generator (``generate.PLANTED["incident"]``).
"""

from __future__ import annotations

from datamodeling.interview import (
    REFERENCE,
    DesignTask,
    Drill,
    Entity,
    History,
    Investigation,
    Link,
    Measure,
    MockInterview,
    Option,
    Phase,
    Step,
)
from datamodeling.rideshare.generate import PLANTED
from datamodeling.schema import Column, ForeignKey, Table

C = Column

PROMPT = (
    "We run a ride-hailing app in a handful of cities. Operations wants trips by city and "
    "hour, how many requests get cancelled and by whom, how long riders wait, how busy and how "
    "well paid drivers are, whether surge pricing brings drivers out, and how riders come back "
    "month after month. Design the warehouse."
)

PHASES = (
    Phase(
        "Clarify",
        5,
        asks="“Go ahead, where do you start?”",
        listens_for="What a trip is (a request or a completed ride), and the definitions of "
        "wait, cancellation and utilisation.",
        strong="Asks whether a cancelled request counts as a trip, whether wait is request to "
        "pickup or acceptance to pickup, who can cancel and when, whether utilisation is time "
        "on trip / time online, how surge is decided (per zone, every few minutes?), and in "
        "which time zone 'by hour' is.",
        acceptable="Pins down trip and wait, asks about surge later.",
        weak="Starts with a `rides` table: ride_id, rider, driver, fare, status.",
    ),
    Phase(
        "Processes and grain",
        10,
        asks="“What are your facts, and what is one row?”",
        listens_for="Trip lifecycle, driver status, supply and demand, pricing: each with a "
        "stated grain.",
        strong="'One row per event in the life of a request' (transaction) and 'one row per "
        "request, updated at each milestone' (accumulating snapshot); 'one row per driver "
        "status change'; 'one row per zone per 5 minutes, every interval' (periodic "
        "snapshot); surge decisions per zone and interval.",
        acceptable="Request-grain trip fact and driver status, the snapshot after a hint.",
        weak="Completed rides only: cancellations and unfulfilled requests have nowhere to live.",
    ),
    Phase(
        "Dimensions and facts",
        12,
        asks="“What does a trip join to? What changes?”",
        listens_for="Driver as type 2 (vehicle, city), zones with their city, measures that "
        "add up and states that do not.",
        strong="Driver type 2 with the version as of acceptance on the trip; rider, zone and "
        "city type 1; Not applicable (-2) as the driver of a request nobody accepted; the "
        "supply snapshot stores counts and sums (additive) and driver counts as states "
        "(semi-additive: never summed over time).",
        acceptable="The right dimensions, driver history argued when asked.",
        weak="Joins trips to the current driver row; a NULL driver key on unaccepted requests.",
    ),
    Phase(
        "Metrics in SQL",
        10,
        asks="“Cancellation rate by city and hour, and driver utilisation.”",
        listens_for="Ratios of sums, the right denominator, time in the city's zone.",
        strong="Cancelled requests / requests from the request-grain fact, by the city's local "
        "hour; utilisation as on-trip seconds / online seconds from status durations; says why "
        "averaging hourly rates is wrong.",
        acceptable="Correct rates after a hint on the denominator or local time.",
        weak="Cancellation rate from completed trips; AVG of hourly rates.",
    ),
    Phase(
        "Scale and trade-offs",
        8,
        asks="“Surge has to react within a minute. And we launch in 50 cities.”",
        listens_for="Streaming for the surge inputs, batch for the warehouse, additive snapshots.",
        strong="A streaming job keeps supply and demand per zone per minute for the surge "
        "engine; the warehouse's 5-minute snapshot is built from the same events and "
        "reconciled; additive columns so micro-batches add up; partitions by date and city; "
        "a switchback holdout to measure surge.",
        acceptable="Streaming for surge, no word on reconciliation.",
        weak="Runs the surge engine on warehouse queries.",
    ),
)

DRILLS = (
    Drill(
        "one-rides-table",
        "Why not one rides table with a status column?",
        "grain",
        "Because the status is overwritten as the ride moves on: the timestamps of earlier "
        "milestones are lost, declined offers cannot be counted, and a request that never "
        "became a ride has nowhere to live, so cancellation rates come out too low. I keep "
        "the events (one row per event in a request's life) and derive the one-row-per-"
        "request accumulating snapshot from them, with a column per milestone.",
        (
            (
                "Add a column per status.",
                "Closer, but without the events you cannot count repeated declines or rebuild.",
            ),
            (
                "Keep completed rides only; cancellations are rare.",
                "They are not rare, and the requirement asks for them.",
            ),
        ),
    ),
    Drill(
        "request-or-trip",
        "What is one row of your trip fact: a request or a completed ride?",
        "grain",
        "A request. Every rate the business asks for has requests in its denominator "
        "(completion, cancellation, unfulfilled); completed rides are a filter on the "
        "outcome column. 'One row per ride request, updated as it reaches each milestone', "
        "said before any column.",
        (
            (
                "A completed ride: that's what earns money.",
                "Cancellations and no-driver requests disappear from every rate.",
            ),
            (
                "Both, in the same table, with a type column.",
                "Two grains in one table: every count needs a filter and one will be forgotten.",
            ),
        ),
    ),
    Drill(
        "events-and-snapshot",
        "Why both fact_trip_events and fact_trips? That's the same data twice.",
        "star schema",
        "Two grains for two kinds of question. The events answer 'how many declines before "
        "acceptance', 'time between any two events', and they are the source of truth that "
        "can be replayed. The accumulating snapshot answers 'wait time by city' with one row "
        "per request and no self-joins. The snapshot is derived from the events and rebuilt "
        "from them; nothing is maintained twice by hand.",
        (
            (
                "Drop the events once the snapshot is built.",
                "Loses repeated events and the ability to fix a milestone rule later.",
            ),
            (
                "Drop the snapshot, use window functions.",
                "Every wait-time query pivots events again; slow and error prone.",
            ),
        ),
    ),
    Drill(
        "surge-fact-or-dimension",
        "Is surge a dimension of the trip, or a fact?",
        "fact vs dimension",
        "The surge engine's decision per zone and 5 minutes is a fact (a measurement with its "
        "own grain and time: the computed and the applied multiplier). The multiplier quoted "
        "to one rider is a measure on the trip. Neither is a dimension: there is no stable "
        "'surge' entity with attributes to slice by. Analysis of surge joins the trip to the "
        "supply snapshot on zone and interval.",
        (
            (
                "A surge dimension with multiplier values.",
                "A dimension of numbers: it adds a join and no attributes.",
            ),
            (
                "Only on the trip.",
                "Intervals with surge and no request are lost, so elasticity cannot be measured.",
            ),
        ),
    ),
    Drill(
        "driver-new-car",
        "The driver switched from a sedan to an SUV last week. Which vehicle gets last month's "
        "trips?",
        "SCD type",
        "The sedan: the trips were driven in it. The driver dimension is type 2 on vehicle, "
        "city and status, and the trip stores driver_sk, the version valid when the driver "
        "accepted, resolved at load. 'Trips by vehicle type' then counts last month's trips as "
        "sedan trips. The rider is type 1: nothing the business asks needs a rider's past "
        "attributes.",
        (
            (
                "The SUV, join on driver_id.",
                "Rewrites history, and with type 2 the join on driver_id also fans out.",
            ),
            (
                "Store the vehicle on the trip.",
                "Works for vehicle, but every other tracked attribute needs its own copy.",
            ),
        ),
    ),
    Drill(
        "no-driver",
        "A request that no driver accepted: what is its driver key?",
        "surrogate keys",
        "The reserved Not applicable member (-2): the reference does not apply, and the key is "
        "never NULL, so every inner join keeps the request and 'requests by driver type' shows "
        "a 'Not applicable' row instead of losing them. A driver id we cannot resolve points at "
        "Unknown (-1), or at an inferred member if the id is real but not yet loaded.",
        (
            (
                "NULL.",
                "An inner join drops the request; unfulfilled requests vanish from rates.",
            ),
            (
                "0.",
                "An undocumented magic value that joins to nothing: the same loss, better hidden.",
            ),
        ),
    ),
    Drill(
        "late-fare",
        "The fare arrives from the payments system hours after the trip ends.",
        "late-arriving data",
        "The accumulating snapshot is built for this: the request's row exists from the first "
        "event, and the fare columns fill in when the payment arrives. The load is idempotent "
        "per request (recompute the row from its events and the payment, never append), with "
        "a lookback of a few days; a fare for an unknown trip is quarantined with a reason. "
        "Revenue for the last hours is marked incomplete until the lookback closes.",
        (
            (
                "Insert a second row when the fare arrives.",
                "Two rows per request: every count doubles.",
            ),
            (
                "Wait a day before loading trips.",
                "Delays every metric for the one column that is late.",
            ),
        ),
    ),
    Drill(
        "promo-codes",
        "A trip can use several promo codes. Discount by promotion?",
        "bridge tables",
        "Trip to promotion is many-to-many: a bridge with one row per trip and promo code, "
        "carrying the discount amount that code gave on that trip. Discount by promotion is "
        "SUM(bridge.discount_amt) grouped by promotion, and the bridge's amounts add up to the "
        "trip's total discount (a test checks it). Joining the trip's fare through the bridge "
        "would repeat the fare once per code.",
        (
            (
                "promo_code_1 and promo_code_2 columns.",
                "Breaks at three codes and makes 'by promotion' a union of columns.",
            ),
            (
                "Join trips to the bridge and SUM(fare).",
                "Fan-out: a trip with two codes counts its fare twice.",
            ),
        ),
    ),
    Drill(
        "surge-real-time",
        "Surge must react within a minute. Real time, please.",
        "real time",
        "The surge engine does not read the warehouse. A streaming job counts requests and "
        "available drivers per zone per minute from the same event streams and feeds the "
        "engine; the warehouse gets the engine's decisions as a log (fact_surge) and builds "
        "the 5-minute snapshot in batch. The snapshot's columns are additive counts and sums, "
        "so micro-batches add up, and a nightly check reconciles streamed and batch counts.",
        (
            (
                "Query the warehouse every minute.",
                "Latency and cost grow with history; the warehouse is not an operational store.",
            ),
            (
                "Store averages per minute.",
                "Averages of micro-batches do not add up to the interval's average.",
            ),
        ),
    ),
    Drill(
        "fifty-cities",
        "We launch in 50 cities, 100× the trips.",
        "scale",
        "The model stays; the physical design changes: facts partitioned by date and clustered "
        "by city, incremental loads per day with a lookback, marts per city and hour for the "
        "dashboards. 'By hour' means the city's local hour, so trips carry the local date and "
        "hour keys from the city's time zone, computed at load. The zone dimension grows; "
        "zones stay type 1 unless the business redraws them and wants old boundaries.",
        (
            (
                "Shard the database per city.",
                "Cross-city questions (a driver who moves) become federated queries.",
            ),
            (
                "Use UTC hours everywhere.",
                "Rush hour in Los Angeles and in New York land in different 'hours'.",
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# The schema-evolution task: pooled rides
# --------------------------------------------------------------------------------------------
TASK = DesignTask(
    name="rideshare.pooled_rides",
    practice="rideshare",
    title="Pooled rides: several riders, several stops",
    requirement=(
        "The company launches Pool. One vehicle carries several riders along one route; each "
        "rider has their own request, pickup and drop-off and pays their own fare, while the "
        "driver is paid once for the whole pooled trip. The route is a sequence of stops "
        "(pickups and drop-offs, in order), and one stop can serve several riders."
    ),
    source={
        "pool_trips": "pool_id, driver_id, seats, started_at, completed_at, driver_pay, "
        "route_miles",
        "pool_riders": "pool_id, trip_id (the rider's request), rider_id, pickup_stop_seq, "
        "dropoff_stop_seq, fare, ride_seconds, solo_estimate_seconds",
        "pool_stops": "pool_id, stop_seq, zone_id, stop_type, arrived_at, boarding, alighting",
    },
    questions=(
        "Fares per rider and per pooled trip, and driver pay per pooled trip, per month.",
        "The detour each rider suffers: ride time in the pool against the solo estimate.",
        "Seats filled: riders aboard between consecutive stops, against the seats.",
        "Pooled trips by the driver's vehicle type at the time.",
    ),
    reference_question="Rider fares by rider signup channel, pickup zone and month.",
    entities=(
        Entity("pool", "the pooled trip", keys=("pool_id",), event=True),
        Entity(
            "request",
            "the rider's request",
            keys=("trip_id", "request_id"),
            model_key=("trip_id",),
            event=True,
        ),
        Entity(
            "rider",
            "the rider",
            keys=("rider_id",),
            model_key=("rider_id",),
            slice_by=("signup_channel",),
        ),
        Entity(
            "driver",
            "the driver",
            keys=("driver_id",),
            model_key=("driver_id",),
            slice_by=("vehicle_type",),
        ),
        Entity(
            "zone",
            "the zone",
            keys=("zone_id", "pickup_zone_id", "dropoff_zone_id"),
            model_key=("zone_id",),
            slice_by=("zone_name",),
        ),
        Entity("stop", "a stop of the route", keys=("stop_seq",)),
        Entity(
            "date",
            "the day",
            keys=("date_key",),
            model_key=("date_key",),
            time=True,
            slice_by=("month_start",),
        ),
    ),
    grains=(("request",), ("pool", "rider"), ("pool", "request")),
    references=(("rider", 1), ("driver", 1), ("zone", 1), ("date", 1)),
    history=(
        History(
            "The driver's vehicle on the day of the trip",
            "driver",
            attribute=("vehicle",),
            why="Pooled trips by vehicle type count each trip with the vehicle the driver had "
            "then; dim_driver is type 2 for that reason.",
        ),
    ),
    links=(
        Link(
            "pool",
            "rider",
            why="a pooled trip carries several riders, and a rider takes many pooled trips.",
        ),
    ),
    measures=(
        Measure(
            "each rider's fare", hints=("fare",), kind="money", why="Fares are summed."
        ),
        Measure(
            "the driver's pay",
            hints=("driver_pay",),
            kind="money",
            once_per=("pool",),
            why="The driver is paid once per pooled trip.",
        ),
        Measure(
            "ride and detour times",
            hints=("detour", "ride_seconds", "solo_estimate"),
            kind="duration",
            required=False,
        ),
    ),
)

_POOL_TRIP = Table(
    "fact_pool_trip",
    role="fact",
    grain="One row per pooled trip: one vehicle's route from the first pickup to the last "
    "drop-off.",
    columns=[
        C("pool_id", "int64", "Pooled trip id from dispatch.", False),
        C("driver_sk", "int64", "Driver version valid when the trip started.", False),
        C("date_key", "int64", "Day the trip started.", False),
        C("started_at", "timestamp", "First pickup (UTC).", False),
        C("completed_at", "timestamp", "Last drop-off (UTC).", False),
        C("seats", "int64", "Seats offered to riders.", False),
        C("stop_count", "int64", "Stops on the route.", False),
        C(
            "driver_pay_amt",
            "decimal(18, 2)",
            "Paid to the driver for the whole trip.",
            False,
        ),
    ],
    primary_key=["pool_id"],
    foreign_keys=[
        ForeignKey("driver_sk", "dim_driver"),
        ForeignKey("date_key", "dim_date"),
    ],
)

_POOL_RIDER = Table(
    "fact_pool_rider",
    role="fact",
    grain="One row per rider request served by a pooled trip.",
    columns=[
        C("trip_id", "int64", "The rider's request (as in the trip lifecycle).", False),
        C("pool_id", "int64", "The pooled trip that served it.", False),
        C("rider_id", "int64", "The rider.", False),
        C("pickup_zone_id", "int64", "Zone of the pickup stop.", False),
        C("dropoff_zone_id", "int64", "Zone of the drop-off stop.", False),
        C("date_key", "int64", "Day of the request.", False),
        C("requested_at", "timestamp", "When the rider requested.", False),
        C("pickup_stop_seq", "int64", "Position of the pickup on the route.", False),
        C("dropoff_stop_seq", "int64", "Position of the drop-off on the route.", False),
        C("fare_amt", "decimal(18, 2)", "The rider's own fare.", False),
        C("ride_seconds", "int64", "Pickup to drop-off.", False),
        C("solo_estimate_seconds", "int64", "Estimated ride time alone.", False),
        C("detour_seconds", "int64", "ride_seconds - solo_estimate_seconds.", False),
    ],
    primary_key=["trip_id"],
    foreign_keys=[
        ForeignKey("trip_id", "fact_trips"),
        ForeignKey("pool_id", "fact_pool_trip"),
        ForeignKey("rider_id", "dim_rider"),
        ForeignKey("pickup_zone_id", "dim_zone", "zone_id"),
        ForeignKey("dropoff_zone_id", "dim_zone", "zone_id"),
        ForeignKey("date_key", "dim_date"),
    ],
)

_POOL_STOP = Table(
    "fact_pool_stop",
    role="fact",
    grain="One row per stop of a pooled trip's route, in order.",
    columns=[
        C("pool_id", "int64", "The pooled trip.", False),
        C("stop_seq", "int64", "Position on the route, from 1.", False),
        C("zone_id", "int64", "Zone of the stop.", False),
        C("stop_type", "string", "pickup, dropoff or both.", False),
        C("arrived_at", "timestamp", "When the vehicle reached the stop.", False),
        C("boarding", "int64", "Riders picked up here.", False),
        C("alighting", "int64", "Riders dropped off here.", False),
    ],
    primary_key=["pool_id", "stop_seq"],
    foreign_keys=[
        ForeignKey("pool_id", "fact_pool_trip"),
        ForeignKey("zone_id", "dim_zone"),
    ],
)

#: Design A: a fact per pooled trip (the driver's pay), per rider request (the fares), per stop.
THREE_FACTS_DESIGN = [_POOL_TRIP, _POOL_RIDER, _POOL_STOP]

_POOL_LEG = Table(
    "pool_leg",
    role="fact",
    grain="One row per pooled trip and rider on it.",
    columns=[
        C("pool_id", "int64", "The pooled trip (degenerate dimension).", False),
        C("rider_id", "int64", "A rider on it.", False),
        C(
            "driver_id",
            "int64",
            "The driver (business key; version by requested_at).",
            False,
        ),
        C("pickup_zone_id", "int64", "Pickup zone.", False),
        C("date_key", "int64", "Day of the request.", False),
        C("requested_at", "timestamp", "When the rider requested.", False),
        C("fare_amt", "decimal(18, 2)", "The rider's fare.", False),
        C(
            "driver_pay_alloc_amt",
            "decimal(18, 2)",
            "The rider's share of the driver's pay, by miles ridden; sums to the trip's pay.",
            False,
        ),
        C("detour_seconds", "int64", "Ride time minus the solo estimate.", False),
    ],
    primary_key=["pool_id", "rider_id"],
    foreign_keys=[
        ForeignKey("rider_id", "dim_rider"),
        ForeignKey("driver_id", "dim_driver", point_in_time=True),
        ForeignKey("pickup_zone_id", "dim_zone", "zone_id"),
        ForeignKey("date_key", "dim_date"),
    ],
)

_STOP = Table(
    "pool_stop",
    role="fact",
    grain="One row per stop of a pooled route.",
    columns=[
        C("pool_id", "int64", "The pooled trip.", False),
        C("stop_seq", "int64", "Position on the route.", False),
        C("zone_id", "int64", "Zone.", False),
        C("arrived_at", "timestamp", "Arrival.", False),
        C(
            "riders_aboard_after",
            "int64",
            "Riders in the vehicle when it leaves the stop.",
            False,
        ),
    ],
    primary_key=["pool_id", "stop_seq"],
    foreign_keys=[ForeignKey("zone_id", "dim_zone")],
)

#: Design B: one fact per pooled trip and rider, with the driver's pay allocated, and stops.
LEGS_DESIGN = [_POOL_LEG, _STOP]

#: What a rushed candidate draws: one row per pooled trip with its riders in a list.
WEAK_DESIGN = [
    Table(
        "pool_rides",
        role="fact",
        grain="Pool rides.",
        columns=[
            C("pool_id", "int64", "Pool id."),
            C("driver_id", "int64", "Driver."),
            C("rider_ids", "array<int64>", "Riders."),
            C("started_at", "timestamp", "Start."),
            C("total_fare", "float64", "Sum of the fares."),
            C("driver_pay", "float64", "Driver pay."),
            C("avg_detour_minutes", "float64", "Average detour."),
        ],
        primary_key=["pool_id"],
        foreign_keys=[ForeignKey("driver_id", "dim_driver")],
    )
]

# --------------------------------------------------------------------------------------------
# The metric investigation: the daily report's completed trips fall on a Friday
# --------------------------------------------------------------------------------------------
_INCIDENT = PLANTED["incident"]
_DAY = _INCIDENT["day"]
#: The alarm Friday and the four before it; the date is written once, so the queries can be run
#: for another day (the tests do, on days without an incident).
_DAYS = f"""days AS (  -- the alarm Friday and the four Fridays before it
    SELECT DATE '{_DAY}' - CAST(7 * k AS INTEGER) AS day, k = 0 AS is_alarm_day
    FROM range(5) AS t(k)
)"""
#: When each completed trip's completion record landed (its first delivery), from the raw log.
_COMPLETION = """completion AS (  -- the partition each trip's completion record landed in
    SELECT trip_id, MIN(landing_date) AS landed
    FROM raw.trip_events
    WHERE event_type = 'completed'
    GROUP BY trip_id
)"""
#: The nightly load reads a day's partition once the day is over, and the report runs at 07:00
#: UTC the morning after: it counts a trip whose completion record landed on the day or before.
_IN_REPORT = "completion.landed <= d.calendar_date"
#: The completed trips of the five Fridays (the UTC day of the request), with their city.
_TRIPS = f"""trips AS (  -- the completed trips of the five Fridays
    SELECT t.trip_id, t.city_id, d.calendar_date AS friday, days.is_alarm_day,
           {_IN_REPORT} AS in_report
    FROM fact_trip AS t
    JOIN dim_trip_flags AS f USING (trip_flags_key)
    JOIN dim_date AS d USING (date_key)
    JOIN days ON days.day = d.calendar_date
    LEFT JOIN completion USING (trip_id)
    WHERE f.outcome = 'completed'
)"""


def _rows_of(frame, column: str):
    """The alarm day's row of ``frame`` (by ``column``, a date) and the other days' rows."""
    day = frame[column].astype(str).str[:10]
    return frame[day == _DAY].iloc[0], frame[day != _DAY]


def _only_the_report_is_low(frame) -> bool:
    """In the warehouse today the alarm day is an ordinary Friday; only the report saw less."""
    day, before = _rows_of(frame, "friday")
    now = float(day.in_the_warehouse_now) / float(before.in_the_warehouse_now.mean())
    seen = float(day.in_the_report) / float(day.in_the_warehouse_now)
    others = (
        before.in_the_report.astype(float) / before.in_the_warehouse_now.astype(float)
    ).min()
    return 0.6 < now < 1.6 and seen < 0.75 and others > 0.9


def _landed_late(frame) -> bool:
    """A large share of the alarm day's dispatch records landed two days or more after it; on
    the Fridays before, next to none."""
    day = frame.friday.astype(str).str[:10]
    records = frame.records.groupby(day).sum()
    late = frame.records.where(frame.days_late.astype(int) >= 2, 0).groupby(day).sum()
    share = late / records
    others = share.drop(index=_DAY)
    return share[_DAY] > 0.3 and share[_DAY] > 5 * max(others.max(), 0.02)


def _no_duplicates(frame) -> bool:
    """Every Friday's log sends each event about once (a retried delivery now and then)."""
    extra = frame.rows_in_the_log - frame.distinct_events
    return bool((extra <= 0.02 * frame.rows_in_the_log + 1).all())


def _the_city_rode(frame) -> bool:
    """The city's requests and completed trips of the alarm day are in the warehouse, as many as
    usual, at the usual surge."""
    day, before = _rows_of(frame, "friday")
    return (
        0.6 * float(before.requests.mean())
        <= float(day.requests)
        <= 1.6 * float(before.requests.mean())
        and float(day.completed) >= 0.6 * float(before.completed.mean())
        and float(day.avg_surge) <= float(before.avg_surge.max()) + 0.2
    )


def _the_upload_stalled(frame) -> bool:
    """Every record of the city's trips of the alarm day landed two days late or more, although
    nearly all of them reached the event collector on the day or the morning after."""
    late = frame.days_late.astype(int)
    records = frame.records.astype(float)
    on_time = frame.ingested_days_late.astype(int) <= 1
    return bool((late >= 2).all()) and records[on_time].sum() >= 0.95 * records.sum()


INVESTIGATION = Investigation(
    name="rideshare.daily-report",
    practice="rideshare",
    title="completed trips fall on a Friday",
    alarm=(
        "The daily report for Friday 16 May 2025 shows {value} completed trips: {change} fewer "
        "than the average of the four Fridays before ({expected}). The operations lead wants "
        "to know whether to call the city managers. Walk me through it."
    ),
    alarm_format="count",
    alarm_sql=f"""
WITH {_DAYS},
{_COMPLETION},
{_TRIPS},
report AS (  -- each Friday as the report saw it, at 07:00 UTC the next morning
    SELECT friday, is_alarm_day, COUNT(*) FILTER (WHERE in_report) AS completed_trips
    FROM trips
    GROUP BY ALL
)
SELECT MAX(completed_trips) FILTER (WHERE is_alarm_day) AS value,
       AVG(completed_trips) FILTER (WHERE NOT is_alarm_day) AS expected
FROM report
""",
    day=_DAY,
    context=(
        "**What the interviewer adds when asked.** The report is the operations team's daily "
        "email: completed trips of the previous UTC day (by the request's day), sent at 07:00 "
        "UTC. The nightly load reads each day's partition of the landing zone once the day is "
        "over, so the report counts the trips whose records had landed by the end of the day. "
        "Nobody changed the warehouse's code that week. You have the warehouse, loaded every "
        "night since with the usual lookback of three days: the `raw` schema keeps every landed "
        "record with its `landing_date` (the partition it came in), e.g. `raw.trip_events`, and "
        "`quarantine` the rows the build refused."
    ),
    options=(
        Option(
            "A",
            "A public holiday in one city kept its riders at home.",
            "by request time the city's Friday is in the warehouse now, as many requests and "
            "completed trips as on the Fridays before: its riders did ride.",
        ),
        Option(
            "B",
            "A late-arriving partition: part of the day's records reached the warehouse after "
            "the report ran.",
            "Northport's dispatch records of that Friday landed in Sunday's partition, after the "
            "report; by request time the day is an ordinary Friday.",
        ),
        Option(
            "C",
            "Surge set too high: riders saw high prices and cancelled at the quote.",
            "whatever surge did, the city's requests and completed trips of that Friday are in "
            "the warehouse now, as many as on the Fridays before: nothing fell by request time.",
        ),
        Option(
            "D",
            "A driver app outage: drivers could not accept or complete trips.",
            "the trips were accepted and completed at their usual times (the event times are "
            "those of an ordinary Friday); only when their records reached the warehouse "
            "changed.",
        ),
        Option(
            "E",
            "A duplicated load inflated the four Fridays before, so the baseline is too high.",
            "every Friday's log sends each event once (the odd retried delivery aside, which the "
            "build quarantines), and the four Fridays hold what their trips add up to.",
        ),
    ),
    cause="B",
    segment={"city": _INCIDENT["city_name"]},
    kind="count",
    result=(
        "the columns that name the segment, `value`: the alarm day's completed trips as the "
        "report counted them (the trips whose completion record had landed by the end of the "
        "day), and `expected`: the same trips in the complete data, as the warehouse holds "
        "them now."
    ),
    reference_sql=f"""
WITH {_COMPLETION}
SELECT c.city_name,
       COUNT(*) FILTER (WHERE {_IN_REPORT}) AS value,
       COUNT(*) AS expected
FROM fact_trip AS t
JOIN dim_trip_flags AS f USING (trip_flags_key)
JOIN dim_date AS d USING (date_key)
JOIN dim_city AS c USING (city_id)
LEFT JOIN completion USING (trip_id)
WHERE f.outcome = 'completed' AND d.calendar_date = DATE '{_DAY}'
GROUP BY c.city_name
ORDER BY value / expected
""",
    steps=(
        Step(
            "data",
            "Before any slicing: is the day itself low, or only the report? The five Fridays' "
            "completed trips as the report saw them and as the warehouse holds them now.",
            f"""
WITH {_DAYS},
{_COMPLETION},
{_TRIPS}
SELECT friday,
       COUNT(*) FILTER (WHERE in_report) AS in_the_report,
       COUNT(*) AS in_the_warehouse_now
FROM trips
GROUP BY friday
ORDER BY friday DESC
""",
            "In the warehouse today the alarm Friday is an ordinary Friday; the report saw only "
            "part of it. On the Fridays before, the report and the warehouse agree. Nothing was "
            "lost: the trips happened, and the report ran before their records came in.",
            _only_the_report_is_low,
        ),
        Step(
            "data",
            "When did the day's records come in? The five Fridays' dispatch records, by the "
            "number of days between the trip's day and the partition they landed in.",
            f"""
WITH {_DAYS}
SELECT d.calendar_date AS friday,
       e.landing_date - d.calendar_date AS days_late,
       COUNT(*) AS records
FROM raw.trip_events AS e
JOIN fact_trip AS t USING (trip_id)
JOIN dim_date AS d USING (date_key)
JOIN days ON days.day = d.calendar_date
GROUP BY ALL
ORDER BY friday DESC, days_late
""",
            "On an ordinary Friday nearly every record lands on the day, and the rest the day "
            "after (a trip that ends after midnight, a phone that held its events back). On the "
            "alarm Friday a large part of the records landed two days late: a data problem, "
            "found before looking at riders or drivers.",
            _landed_late,
        ),
        Step(
            "data",
            "Could the baseline be inflated instead (option E)? Rows per Friday in the raw "
            "dispatch log against the distinct events they carry.",
            f"""
WITH {_DAYS}
SELECT d.calendar_date AS friday,
       COUNT(*) AS rows_in_the_log,
       COUNT(DISTINCT e.event_id) AS distinct_events
FROM raw.trip_events AS e
JOIN fact_trip AS t USING (trip_id)
JOIN dim_date AS d USING (date_key)
JOIN days ON days.day = d.calendar_date
GROUP BY ALL
ORDER BY friday DESC
""",
            "Each Friday's log carries each event once, the odd retried delivery aside (the "
            "build quarantines it). No duplicated load inflated the four Fridays before.",
            _no_duplicates,
        ),
        Step(
            "segments",
            "Where are the missing trips? By city: the day's completed trips as the report "
            "counted them, against the same trips in the warehouse now. This is the query that "
            "isolates it.",
            REFERENCE,
            "Easton and Lakeside were in the report, as on any Friday; next to none of "
            "Northport's completed trips were. The segment is Northport, and the whole of it.",
            None,
        ),
        Step(
            "world",
            "Did Northport's riders stay home, or did surge scare them off (options A and C)? "
            "The city's requests, completed trips and average surge on the five Fridays, in "
            "the warehouse now.",
            f"""
WITH {_DAYS}
SELECT d.calendar_date AS friday,
       COUNT(*) AS requests,
       COUNT(*) FILTER (WHERE f.outcome = 'completed') AS completed,
       AVG(t.surge_multiplier) AS avg_surge
FROM fact_trip AS t
JOIN dim_trip_flags AS f USING (trip_flags_key)
JOIN dim_date AS d USING (date_key)
JOIN days ON days.day = d.calendar_date
JOIN dim_city AS c USING (city_id)
WHERE c.city_name = '{_INCIDENT["city_name"]}'
GROUP BY ALL
ORDER BY friday DESC
""",
            "By request time Northport had an ordinary Friday: as many requests and completed "
            "trips as on the Fridays before, at a surge within the range of a busy Friday. No "
            "holiday kept riders home, no price scared them off, and the drivers did complete "
            "the trips (option D).",
            _the_city_rode,
        ),
        Step(
            "world",
            "What happened to Northport's records? The city's dispatch records of the alarm "
            "day, by the day they reached the event collector (`ingested_at`) and the partition "
            "they landed in.",
            f"""
SELECT CAST(e.ingested_at AS DATE) - d.calendar_date AS ingested_days_late,
       e.landing_date - d.calendar_date AS days_late,
       COUNT(*) AS records
FROM raw.trip_events AS e
JOIN fact_trip AS t USING (trip_id)
JOIN dim_date AS d USING (date_key)
JOIN dim_city AS c USING (city_id)
WHERE d.calendar_date = DATE '{_DAY}' AND c.city_name = '{_INCIDENT["city_name"]}'
GROUP BY ALL
ORDER BY ALL
""",
            "The events reached the collector within seconds, as always; then every one of "
            "them landed two days late, in Sunday's partition. The file of Northport's Friday "
            "sat in an upload that stalled. Asked, the interviewer confirms: the city's "
            "uploader was stuck until Sunday morning.",
            _the_upload_stalled,
        ),
    ),
    conclusion=(
        "**The cause: B, a late-arriving partition.** The upload of Northport's dispatch records "
        "of Friday 16 May stalled; they landed in Sunday's partition, after Saturday's 07:00 "
        "report. The nightly load, with its lookback of three days, picked them up, so the "
        "warehouse shows an ordinary Friday by request time: no rider or driver was lost, and "
        "nobody needs to call the city managers. **What I would say next:** restate the report "
        "(send Friday's figure again, with the reason); make the report wait until every "
        "source's partition of the day has landed, for every city; or label the day "
        "*provisional* until the *watermark* passes it (the last event day no later load can "
        "change: the last landing day loaded minus the lookback); and alert on freshness per "
        "source and city, so a stalled upload is noticed on Saturday morning, not by "
        "operations on Monday."
    ),
    minutes=15,
)


MOCK = MockInterview(
    practice="rideshare",
    title="Ride-sharing",
    prompt=PROMPT,
    phases=PHASES,
    drills=DRILLS,
    task=TASK,
    model_designs={
        "A: three facts, per pooled trip, per rider request and per stop": THREE_FACTS_DESIGN,
        "B: one fact per pooled trip and rider, driver pay allocated": LEGS_DESIGN,
    },
    weak_design=WEAK_DESIGN,
    weak_design_misses=(
        "grain_stated",
        "fact_grain",
        "references",
        "history",
        "bridges",
        "measures",
        "no_null_fk",
        "answers_on_data",
    ),
    investigation=INVESTIGATION,
)
