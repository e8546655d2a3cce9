"""The ride-sharing model, designed from the requirements alone.

The brief gives a scenario and five requirements but no tables, so there is nothing to keep:
``SEED_TABLES`` is empty (no brief names to offer as views) and ``FIRST_DRAFT`` is the
one-big-table a candidate often sketches first, which notebook 02 takes apart. The model has
four business processes, each with its own fact at its own grain:

* the **trip lifecycle**, twice: ``fact_trip_event`` (transaction fact, one row per event) and
  ``fact_trip`` (accumulating snapshot, one row per request with a column per milestone);
* **driver status**: ``fact_driver_status``, one row per status change with how long it lasted;
* **supply and demand**: ``fact_supply_demand``, a periodic snapshot per zone and 5 minutes;
* **pricing**: ``fact_surge``, the surge engine's decisions per zone and 5 minutes.

Dimensions: ``dim_driver`` (type 2: vehicle, city, status; deleted drivers keep a final
``is_deleted`` version), ``dim_rider``, ``dim_zone`` (hexagonal zones with their city),
``dim_city`` (with its time zone), ``dim_date``, ``dim_time`` and the junk dimension
``dim_trip_flags``. Every dimension has the reserved Unknown (-1) and Not applicable (-2) rows,
and no foreign key of a fact is NULL (book/conventions.md).

Conventions: timestamps are UTC, to the millisecond; money is ``DECIMAL(18, 2)`` (and so are
miles, to the hundredth, so that every sum is exact); durations are integer milliseconds
(``_ms``); facts whose requirement means local time carry ``local_date_key`` and ``local_hour``
beside the UTC ``date_key``.
"""

from __future__ import annotations

import dataclasses

from datamodeling.calendar import DATE_TABLE, TIME_TABLE
from datamodeling.schema import Column, ForeignKey, Table

C = Column
MONEY = "decimal(18, 2)"
MILES = "decimal(18, 2)"

DIM_DATE = dataclasses.replace(
    DATE_TABLE,
    name="dim_date",
    grain="One row per calendar day, 2024-12-31 to 2025-07-01 (the local days of the data).",
)
DIM_TIME = dataclasses.replace(
    TIME_TABLE, name="dim_time", grain="One row per minute of the day (1,440 rows)."
)

DIM_CITY = Table(
    "dim_city",
    role="dimension",
    grain="One row per city the platform operates in.",
    scd_type=1,
    columns=[
        C(
            "city_id",
            "int64",
            "City number from the operations system.",
            nullable=False,
        ),
        C("city_name", "string", "City name.", nullable=False),
        C("time_zone", "string", "IANA time zone of the city, e.g. America/New_York."),
        C("base_fare", MONEY, "Fixed part of a fare, in dollars."),
        C("per_mile", MONEY, "Fare per mile, in dollars."),
        C("per_minute", MONEY, "Fare per minute, in dollars."),
    ],
    primary_key=["city_id"],
    business_key=["city_id"],
    description="Fare card overwritten in place (type 1): history of prices is out of scope.",
)

DIM_ZONE = Table(
    "dim_zone",
    role="dimension",
    grain="One row per hexagonal zone (and per zone id seen in a request before the zone table).",
    scd_type=1,
    columns=[
        C(
            "zone_id",
            "int64",
            "Zone id: city_id * 100 + cell (1 = centre).",
            nullable=False,
        ),
        C(
            "city_id",
            "int64",
            "City the zone belongs to (-1 for Unknown and inferred zones).",
            nullable=False,
        ),
        C("city_name", "string", "City name (denormalised for slicing)."),
        C("time_zone", "string", "The city's IANA time zone (denormalised)."),
        C("zone_name", "string", "Readable name, e.g. 'Northport Centre'."),
        C("hex_q", "int64", "Axial hexagon coordinate q."),
        C("hex_r", "int64", "Axial hexagon coordinate r."),
        C("is_centre", "boolean", "The city's central zone."),
        C("latitude", "float64", "Centroid latitude."),
        C("longitude", "float64", "Centroid longitude."),
        C(
            "is_inferred",
            "boolean",
            "Inferred member: a zone id a request named that the zone table does not list.",
            nullable=False,
        ),
    ],
    primary_key=["zone_id"],
    business_key=["zone_id"],
    foreign_keys=[ForeignKey("city_id", "dim_city")],
)

DIM_DRIVER = Table(
    "dim_driver",
    role="dimension",
    grain="One row per driver per version of their vehicle, city and status.",
    scd_type=2,
    columns=[
        C(
            "driver_sk",
            "int64",
            "Surrogate key: hash of driver_id and valid_from.",
            nullable=False,
        ),
        C(
            "driver_id",
            "int64",
            "Driver number from the driver app (business key, the durable key of type 7).",
            nullable=False,
        ),
        C("vehicle_make", "string", "Vehicle make."),
        C("vehicle_model", "string", "Vehicle model."),
        C(
            "vehicle_type",
            "string",
            "Product the vehicle qualifies for: standard, comfort, xl, premium.",
        ),
        C(
            "city_id",
            "int64",
            "City the driver is licensed to drive in.",
            nullable=False,
        ),
        C("driver_status", "string", "active or suspended."),
        C("driver_type", "string", "full_time or part_time."),
        C("valid_from", "timestamp", "Version starts (inclusive).", nullable=False),
        C(
            "valid_to",
            "timestamp",
            "Version ends (exclusive); 9999-12-31 when current.",
            nullable=False,
        ),
        C("is_current", "boolean", "The driver's current version.", nullable=False),
        C(
            "is_deleted",
            "boolean",
            "The account was closed: the final version, from the deletion on, with the last "
            "attributes.",
            nullable=False,
        ),
        C(
            "is_inferred",
            "boolean",
            "Inferred member: a driver the facts name before the driver table does.",
            nullable=False,
        ),
    ],
    primary_key=["driver_sk"],
    business_key=["driver_id"],
    foreign_keys=[ForeignKey("city_id", "dim_city")],
    description="Type 2: a trip must be analysed with the vehicle and city of its day.",
)

DIM_RIDER = Table(
    "dim_rider",
    role="dimension",
    grain="One row per rider.",
    scd_type=1,
    columns=[
        C("rider_id", "int64", "Rider number from the rider app.", nullable=False),
        C("signup_at", "timestamp", "When the account was created (UTC)."),
        C("signup_channel", "string", "organic, referral, paid_search or social_ads."),
        C("home_city_id", "int64", "City of the rider's requests.", nullable=False),
        C(
            "first_request_at",
            "timestamp",
            "The rider's first request (derived from fact_trip).",
        ),
        C(
            "cohort_month",
            "date",
            "UTC month of the first request: the retention cohort.",
        ),
        C(
            "is_inferred",
            "boolean",
            "Inferred member: a rider a request named that the rider table does not list.",
            nullable=False,
        ),
    ],
    primary_key=["rider_id"],
    business_key=["rider_id"],
    foreign_keys=[ForeignKey("home_city_id", "dim_city", "city_id")],
)

#: The combinations of the junk dimension, in key order (keys 1, 2, ...). Only these can occur:
#: a trip that is not cancelled has no canceller and no stage; only a completed trip can have
#: lost its start.
TRIP_FLAGS = [
    # outcome, cancelled_by, cancel_stage, is_start_missing
    ("completed", "not cancelled", "not cancelled", False),
    ("completed", "not cancelled", "not cancelled", True),
    ("rider_cancelled", "rider", "before_match", False),
    ("rider_cancelled", "rider", "after_match", False),
    ("driver_cancelled", "driver", "after_match", False),
    ("no_driver", "not cancelled", "not cancelled", False),
]

DIM_TRIP_FLAGS = Table(
    "dim_trip_flags",
    role="dimension",
    grain="One row per combination of a request's outcome flags that can occur (junk dimension).",
    scd_type=0,
    columns=[
        C(
            "trip_flags_key",
            "int64",
            "Key of the combination (1, 2, ...).",
            nullable=False,
        ),
        C(
            "outcome",
            "string",
            "completed, rider_cancelled, driver_cancelled or no_driver.",
            nullable=False,
        ),
        C(
            "cancelled_by",
            "string",
            "rider, driver or 'not cancelled'.",
            nullable=False,
        ),
        C(
            "cancel_stage",
            "string",
            "before_match (at the quote), after_match, or 'not cancelled'.",
            nullable=False,
        ),
        C(
            "is_start_missing",
            "boolean",
            "A completed trip whose 'started' event never arrived: no duration.",
            nullable=False,
        ),
    ],
    primary_key=["trip_flags_key"],
    description="Low-cardinality flags of a request, gathered in one small dimension so the fact "
    "carries one key instead of four columns.",
)

FACT_TRIP_EVENT = Table(
    "fact_trip_event",
    role="fact",
    grain="One row per event in the life of a ride request (transaction fact).",
    columns=[
        C("event_id", "int64", "Event number from the dispatch log.", nullable=False),
        C("trip_id", "int64", "The request the event belongs to.", nullable=False),
        C(
            "event_type",
            "string",
            "requested, declined, accepted, arrived, started, completed, cancelled or expired.",
            nullable=False,
        ),
        C(
            "event_time",
            "timestamp",
            "When it happened (UTC, milliseconds).",
            nullable=False,
        ),
        C("date_key", "int64", "UTC day of the event.", nullable=False),
        C("time_key", "int64", "UTC minute of the event (hhmm00).", nullable=False),
        C(
            "driver_sk",
            "int64",
            "Version of the driver at event_time (-2: the event concerns no driver).",
            nullable=False,
        ),
        C(
            "driver_id",
            "int64",
            "Driver concerned, durable key (-2 on requested, expired and quote cancellations).",
            nullable=False,
        ),
        C(
            "zone_id",
            "int64",
            "Pickup zone on 'requested' events (-1 when the request had none); -2 otherwise.",
            nullable=False,
        ),
        C("cancelled_by", "string", "rider or driver (on 'cancelled' events)."),
    ],
    primary_key=["event_id"],
    foreign_keys=[
        ForeignKey("trip_id", "fact_trip"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("time_key", "dim_time"),
        ForeignKey("driver_sk", "dim_driver"),
        ForeignKey("driver_id", "dim_driver", point_in_time=True),
        ForeignKey("zone_id", "dim_zone"),
    ],
    notes=[
        "Type 7: driver_sk is the version valid at the event (history as it was), driver_id the "
        "durable key (join it to the current row for history as it is now).",
    ],
)

FACT_TRIP = Table(
    "fact_trip",
    role="fact",
    grain="One row per ride request, updated as it reaches each milestone (accumulating snapshot).",
    columns=[
        C("trip_id", "int64", "Request number (degenerate dimension).", nullable=False),
        C("rider_id", "int64", "Rider who requested.", nullable=False),
        C(
            "driver_sk",
            "int64",
            "Version of the accepting driver at acceptance (-2: nobody accepted).",
            nullable=False,
        ),
        C(
            "driver_id",
            "int64",
            "Driver who accepted, durable key (-2: nobody accepted).",
            nullable=False,
        ),
        C(
            "pickup_zone_id",
            "int64",
            "Zone of the pickup point (-1 when the request had none; an inferred member when "
            "the zone table does not list it).",
            nullable=False,
        ),
        C("dropoff_zone_id", "int64", "Zone of the destination.", nullable=False),
        C(
            "city_id",
            "int64",
            "City of the request: the pickup zone's, else the dropoff zone's (trips never leave "
            "their city).",
            nullable=False,
        ),
        C(
            "trip_flags_key",
            "int64",
            "Outcome flags (junk dimension dim_trip_flags).",
            nullable=False,
        ),
        C("date_key", "int64", "UTC day of the request.", nullable=False),
        C(
            "local_date_key",
            "int64",
            "Day of the request on the city's clock.",
            nullable=False,
        ),
        C(
            "local_hour",
            "int64",
            "Hour of the request on the city's clock (0-23).",
            nullable=False,
        ),
        C(
            "requested_at",
            "timestamp",
            "Milestone: rider requested (UTC).",
            nullable=False,
        ),
        C("accepted_at", "timestamp", "Milestone: a driver accepted."),
        C("arrived_at", "timestamp", "Milestone: the driver arrived at the pickup."),
        C("started_at", "timestamp", "Milestone: the ride started."),
        C("completed_at", "timestamp", "Milestone: the ride ended at the destination."),
        C("cancelled_at", "timestamp", "When the request was cancelled."),
        C("expired_at", "timestamp", "When the request expired with no driver."),
        C(
            "surge_multiplier",
            "float64",
            "Multiplier quoted to the rider.",
            nullable=False,
        ),
        C("quoted_fare", MONEY, "Fare quoted at request time."),
        C("estimated_miles", MILES, "Distance estimated at request time."),
        C(
            "declined_offers",
            "int64",
            "Offers drivers declined before acceptance.",
            nullable=False,
        ),
        C("trip_miles", MILES, "Distance driven with the rider (completed trips)."),
        C("trip_duration_ms", "int64", "started_at -> completed_at, in milliseconds."),
        C("base_passenger_fare", MONEY, "Fare before tolls and tips (surge included)."),
        C("tolls", MONEY, "Tolls paid."),
        C("tips", MONEY, "Tips."),
        C("driver_pay", MONEY, "Paid to the driver, tips excluded."),
        C("rider_rating", "int64", "1-5 stars the rider gave the driver, if any."),
        C("time_to_accept_ms", "int64", "Lag requested -> accepted."),
        C(
            "time_to_arrive_ms",
            "int64",
            "Lag accepted -> arrived (the drive to the pickup).",
        ),
        C("wait_ms", "int64", "Lag requested -> arrived: how long the rider waited."),
        C("time_at_pickup_ms", "int64", "Lag arrived -> started."),
    ],
    primary_key=["trip_id"],
    foreign_keys=[
        ForeignKey("rider_id", "dim_rider"),
        ForeignKey("driver_sk", "dim_driver"),
        ForeignKey("driver_id", "dim_driver", point_in_time=True),
        ForeignKey("pickup_zone_id", "dim_zone", "zone_id"),
        ForeignKey("dropoff_zone_id", "dim_zone", "zone_id"),
        ForeignKey("city_id", "dim_city"),
        ForeignKey("trip_flags_key", "dim_trip_flags"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
    ],
    notes=[
        "Dual date keys: date_key is the UTC day (the company's books), local_date_key and "
        "local_hour the city's clock (its rush hours).",
        "Type 7: driver_sk for the driver's version at acceptance, driver_id for today's row.",
    ],
)

FACT_DRIVER_STATUS = Table(
    "fact_driver_status",
    role="fact",
    grain="One row per driver status change, with how long the status lasted.",
    columns=[
        C(
            "status_event_id",
            "int64",
            "Event number from the driver app.",
            nullable=False,
        ),
        C("driver_sk", "int64", "Driver version valid at event_time.", nullable=False),
        C("driver_id", "int64", "Driver, durable key.", nullable=False),
        C("status", "string", "available, on_trip or offline.", nullable=False),
        C(
            "zone_id",
            "int64",
            "Zone the driver is positioned in (dispatch zone).",
            nullable=False,
        ),
        C("event_time", "timestamp", "Status starts (UTC).", nullable=False),
        C("status_end", "timestamp", "Next status of the driver (null for the last)."),
        C(
            "duration_ms",
            "int64",
            "status_end - event_time in milliseconds (null for the last).",
        ),
        C("date_key", "int64", "UTC day the status started.", nullable=False),
    ],
    primary_key=["status_event_id"],
    foreign_keys=[
        ForeignKey("driver_sk", "dim_driver"),
        ForeignKey("driver_id", "dim_driver", point_in_time=True),
        ForeignKey("zone_id", "dim_zone"),
        ForeignKey("date_key", "dim_date"),
    ],
)

FACT_SUPPLY_DEMAND = Table(
    "fact_supply_demand",
    role="fact",
    grain="One row per zone of the zone table and 5-minute interval, every interval (periodic "
    "snapshot).",
    columns=[
        C("zone_id", "int64", "Zone.", nullable=False),
        C(
            "interval_start",
            "timestamp",
            "Interval [start, start + 5 min), UTC.",
            nullable=False,
        ),
        C("date_key", "int64", "UTC day of the interval.", nullable=False),
        C(
            "time_key",
            "int64",
            "UTC minute the interval starts (hhmm00).",
            nullable=False,
        ),
        C(
            "local_date_key",
            "int64",
            "Day of the interval on the city's clock.",
            nullable=False,
        ),
        C(
            "local_time_key",
            "int64",
            "Minute the interval starts on the city's clock (hhmm00).",
            nullable=False,
        ),
        C("requests", "int64", "Requests made in the interval.", nullable=False),
        C(
            "abandoned_requests",
            "int64",
            "Of which the rider cancelled at the quote.",
            nullable=False,
        ),
        C("matched_requests", "int64", "Of which a driver accepted.", nullable=False),
        C(
            "unfulfilled_requests",
            "int64",
            "Of which expired with no driver.",
            nullable=False,
        ),
        C(
            "completed_trips",
            "int64",
            "Of which ended in a completed ride.",
            nullable=False,
        ),
        C("wait_ms_sum", "int64", "Sum of wait_ms of those requests.", nullable=False),
        C("waits", "int64", "Requests with a wait (driver arrived).", nullable=False),
        C(
            "drivers_online",
            "int64",
            "Drivers positioned in the zone at interval_start.",
            nullable=False,
        ),
        C(
            "available_drivers",
            "int64",
            "Of which available (idle) at interval_start.",
            nullable=False,
        ),
        C(
            "surge_multiplier",
            "float64",
            "Multiplier applied in the interval.",
            nullable=False,
        ),
        C(
            "computed_multiplier",
            "float64",
            "Multiplier the engine computed.",
            nullable=False,
        ),
        C(
            "is_holdout",
            "boolean",
            "Surge withheld by the switchback experiment.",
            nullable=False,
        ),
    ],
    primary_key=["zone_id", "interval_start"],
    foreign_keys=[
        ForeignKey("zone_id", "dim_zone"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("time_key", "dim_time"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
        ForeignKey("local_time_key", "dim_time", "time_key"),
    ],
    notes=[
        "Sums and counts only (additive), so a micro-batch can add to a row; averages are "
        "computed when reading: avg wait = wait_ms_sum / waits.",
        "Driver counts are a state at interval_start (semi-additive: never sum them over time).",
        "Zones of the zone table only: a request whose pickup zone is Unknown or inferred has no "
        "place on the map; it is counted in fact_trip and every city metric.",
    ],
)

FACT_SURGE = Table(
    "fact_surge",
    role="fact",
    grain="One row per zone and 5-minute interval in which the engine computed a surge.",
    columns=[
        C("zone_id", "int64", "Zone.", nullable=False),
        C("interval_start", "timestamp", "Interval start (UTC).", nullable=False),
        C(
            "computed_multiplier",
            "float64",
            "What the engine wanted (1.1 - 3.0).",
            nullable=False,
        ),
        C(
            "surge_multiplier",
            "float64",
            "What riders were quoted (1.0 in a holdout).",
            nullable=False,
        ),
        C(
            "is_holdout",
            "boolean",
            "Switchback holdout: surge withheld.",
            nullable=False,
        ),
    ],
    primary_key=["zone_id", "interval_start"],
    foreign_keys=[ForeignKey("zone_id", "dim_zone")],
)

QUARANTINE = Table(
    "quarantine",
    role="raw",
    grain="One row per raw record that was not loaded, with the reason.",
    columns=[
        C("source", "string", "Raw table the record came from.", nullable=False),
        C("record_id", "int64", "Its id in that table (event id).", nullable=False),
        C(
            "reason",
            "string",
            "Why it was not loaded: duplicate_event, or later than the lookback.",
            nullable=False,
        ),
        C("trip_id", "int64", "Trip concerned, if any."),
        C(
            "event_date",
            "date",
            "UTC day the record belongs to: its trip's request, else its event.",
            nullable=False,
        ),
        C(
            "landing_date",
            "date",
            "Day the record landed (its landing-zone partition).",
            nullable=False,
        ),  # fmt: skip
    ],
    notes=[
        "A record later than the lookback is loaded by the backfill "
        "`datamodeling load rideshare --day <landing_date> --lookback <landing_date - "
        "event_date>`, which re-opens its event day.",
    ],
)

MART_DRIVER_DAILY = Table(
    "driver_daily",
    role="aggregate",
    database="mart",
    grain="One row per driver and UTC day with online time or a trip.",
    columns=[
        C("driver_id", "int64", "Driver.", nullable=False),
        C(
            "date_key",
            "int64",
            "UTC day: of the status start (online time), of the request (trips).",
            nullable=False,
        ),
        C(
            "online_ms",
            "int64",
            "Milliseconds available or on trip (status log).",
            nullable=False,
        ),
        C(
            "on_trip_ms",
            "int64",
            "Milliseconds on trip: accepted_at to completed_at or cancelled_at, of the driver's "
            "rows of fact_trip.",
            nullable=False,
        ),
        C("completed_trips", "int64", "Trips completed.", nullable=False),
        C("earnings", MONEY, "driver_pay + tips of completed trips.", nullable=False),
    ],
    primary_key=["driver_id", "date_key"],
)

MART_RIDER_MONTHLY = Table(
    "rider_monthly",
    role="aggregate",
    database="mart",
    grain="One row per rider and UTC month with at least one request.",
    columns=[
        C("rider_id", "int64", "Rider.", nullable=False),
        C("month_start", "date", "UTC month.", nullable=False),
        C("requests", "int64", "Requests in the month."),
        C("completed_trips", "int64", "Completed rides in the month."),
    ],
    primary_key=["rider_id", "month_start"],
)

MART_CITY_HOURLY = Table(
    "city_hourly",
    role="aggregate",
    database="mart",
    grain="One row per city and UTC hour with at least one request.",
    columns=[
        C("city_id", "int64", "City.", nullable=False),
        C("hour_start", "timestamp", "UTC hour.", nullable=False),
        C(
            "local_date_key",
            "int64",
            "Day of that hour on the city's clock.",
            nullable=False,
        ),
        C(
            "local_hour",
            "int64",
            "That hour on the city's clock (0-23).",
            nullable=False,
        ),
        C("requests", "int64", "Requests.", nullable=False),
        C("completed_trips", "int64", "Completed rides.", nullable=False),
        C(
            "cancelled",
            "int64",
            "Requests cancelled by rider or driver.",
            nullable=False,
        ),
        C("trip_miles", MILES, "Miles of completed rides.", nullable=False),
        C(
            "timed_trips",
            "int64",
            "Completed rides with a duration (their 'started' event arrived).",
            nullable=False,
        ),
        C("trip_duration_ms", "int64", "Milliseconds of those rides.", nullable=False),
        C("fares", MONEY, "base_passenger_fare of completed rides.", nullable=False),
    ],
    primary_key=["city_id", "hour_start"],
)

TABLES = [
    DIM_CITY,
    DIM_ZONE,
    DIM_DRIVER,
    DIM_RIDER,
    DIM_DATE,
    DIM_TIME,
    DIM_TRIP_FLAGS,
    FACT_TRIP_EVENT,
    FACT_TRIP,
    FACT_DRIVER_STATUS,
    FACT_SUPPLY_DEMAND,
    FACT_SURGE,
    MART_DRIVER_DAILY,
    MART_RIDER_MONTHLY,
    MART_CITY_HOURLY,
    QUARANTINE,
]

#: The brief gives no schema for this practice: the design starts from the requirements, and
#: there are no brief table names to keep as views.
SEED_TABLES: list[Table] = []

#: The one-big-table a candidate often sketches first (notebook 02 takes it apart).
FIRST_DRAFT = [
    Table(
        "rides",
        role="fact",
        grain="One row per ride ... but which rides? Requested, or completed?",
        columns=[
            C("ride_id", "int64", "Ride id."),
            C("rider_id", "int64", "Rider."),
            C("driver_id", "int64", "Driver."),
            C("city", "string", "City name."),
            C("driver_name", "string", "Driver's name."),
            C("vehicle", "string", "Driver's vehicle (today's, not the ride's)."),
            C("pickup_time", "timestamp", "Pickup time."),
            C("dropoff_time", "timestamp", "Drop-off time."),
            C("distance", "float64", "Distance."),
            C("fare", "float64", "Fare."),
            C("surge", "float64", "Surge multiplier."),
            C("status", "string", "Latest status: overwritten as the ride progresses."),
        ],
        primary_key=["ride_id"],
    )
]

RAW_TABLES = [
    "cities",
    "zones",
    "riders",
    "driver_changes",
    "trip_events",
    "trip_quotes",
    "trip_fares",
    "driver_status_events",
    "surge_log",
]
