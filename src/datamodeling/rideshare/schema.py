"""The ride-sharing model, designed from the requirements alone.

The seed gives a scenario and five requirements but no tables, so there is nothing to keep:
``SEED_TABLES`` is empty and ``FIRST_DRAFT`` is the one-big-table a candidate often sketches
first, which notebook 02 takes apart. The model has four business processes, each with its own
fact at its own grain:

* the **trip lifecycle**, twice: ``fact_trip_events`` (transaction fact, one row per event) and
  ``fact_trips`` (accumulating snapshot, one row per request with a column per milestone);
* **driver status**: ``fact_driver_status``, one row per status change with how long it lasted;
* **supply and demand**: ``fact_supply_demand``, a periodic snapshot per zone and 5 minutes;
* **pricing**: ``fact_surge``, the surge engine's decisions per zone and 5 minutes.

Dimensions: ``dim_driver`` (SCD2: vehicle, city, status), ``dim_rider``, ``dim_zone`` (hexagonal
zones with their city), ``dim_city``, ``dim_date`` and ``dim_time``.
"""

from __future__ import annotations

import dataclasses

from datamodeling.calendar import DATE_TABLE, TIME_TABLE
from datamodeling.schema import Column, ForeignKey, Table

C = Column

DIM_DATE = dataclasses.replace(DATE_TABLE, name="dim_date")
DIM_TIME = dataclasses.replace(
    TIME_TABLE, name="dim_time", grain="One row per minute of the day (1,440 rows)."
)

DIM_CITY = Table(
    "dim_city",
    role="dimension",
    grain="One row per city the platform operates in.",
    scd_type=1,
    columns=[
        C("city_id", "int64", "City number from the operations system.", nullable=False),
        C("city_name", "string", "City name.", nullable=False),
        C("base_fare", "float64", "Fixed part of a fare, in dollars."),
        C("per_mile", "float64", "Fare per mile, in dollars."),
        C("per_minute", "float64", "Fare per minute, in dollars."),
    ],
    primary_key=["city_id"],
    business_key=["city_id"],
    description="Fare card overwritten in place (type 1): history of prices is out of scope.",
)

DIM_ZONE = Table(
    "dim_zone",
    role="dimension",
    grain="One row per hexagonal zone.",
    scd_type=1,
    columns=[
        C("zone_id", "int64", "Zone id: city_id * 100 + cell (1 = centre).", nullable=False),
        C("city_id", "int64", "City the zone belongs to.", nullable=False),
        C("city_name", "string", "City name (denormalised for slicing)."),
        C("zone_name", "string", "Readable name, e.g. 'Northport Centre'."),
        C("hex_q", "int64", "Axial hexagon coordinate q."),
        C("hex_r", "int64", "Axial hexagon coordinate r."),
        C("is_centre", "boolean", "The city's central zone."),
        C("latitude", "float64", "Centroid latitude."),
        C("longitude", "float64", "Centroid longitude."),
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
        C("driver_sk", "int64", "Surrogate key: hash of driver_id and valid_from.", nullable=False),
        C(
            "driver_id",
            "int64",
            "Driver number from the driver app (business key).",
            nullable=False,
        ),
        C("vehicle_make", "string", "Vehicle make."),
        C("vehicle_model", "string", "Vehicle model."),
        C(
            "vehicle_type",
            "string",
            "Product the vehicle qualifies for: standard, comfort, xl, premium.",
        ),
        C("city_id", "int64", "City the driver is licensed to drive in."),
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
        C("signup_at", "timestamp", "When the account was created."),
        C("signup_channel", "string", "organic, referral, paid_search or social_ads."),
        C("home_city_id", "int64", "City of the rider's requests."),
        C("first_request_at", "timestamp", "The rider's first request (derived from fact_trips)."),
        C("cohort_month", "date", "Month of the first request: the retention cohort."),
    ],
    primary_key=["rider_id"],
    business_key=["rider_id"],
    foreign_keys=[ForeignKey("home_city_id", "dim_city", "city_id")],
)

FACT_TRIP_EVENTS = Table(
    "fact_trip_events",
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
        C("event_time", "timestamp", "When it happened (UTC).", nullable=False),
        C("date_key", "int64", "Day of the event.", nullable=False),
        C("time_key", "int64", "Minute of the event (hhmm00).", nullable=False),
        C("driver_id", "int64", "Driver concerned (declined/accepted and later events)."),
        C("zone_id", "int64", "Pickup zone (on 'requested' events)."),
        C("cancelled_by", "string", "rider or driver (on 'cancelled' events)."),
    ],
    primary_key=["event_id"],
    foreign_keys=[
        ForeignKey("trip_id", "fact_trips"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("time_key", "dim_time"),
        ForeignKey("driver_id", "dim_driver", point_in_time=True),
        ForeignKey("zone_id", "dim_zone"),
    ],
    notes=[
        "No driver_sk here: the trip's driver version is on fact_trips (as of acceptance); "
        "an event needing the version joins through trip_id.",
    ],
)

FACT_TRIPS = Table(
    "fact_trips",
    role="fact",
    grain="One row per ride request, updated as it reaches each milestone (accumulating snapshot).",
    columns=[
        C("trip_id", "int64", "Request number (degenerate dimension).", nullable=False),
        C("rider_id", "int64", "Rider who requested.", nullable=False),
        C("driver_id", "int64", "Driver who accepted (null if nobody did)."),
        C("driver_sk", "int64", "Version of that driver at acceptance."),
        C("pickup_zone_id", "int64", "Zone of the pickup point.", nullable=False),
        C("dropoff_zone_id", "int64", "Zone of the destination."),
        C("city_id", "int64", "City of the pickup zone.", nullable=False),
        C("date_key", "int64", "Day of the request.", nullable=False),
        C("requested_at", "timestamp", "Milestone: rider requested.", nullable=False),
        C("accepted_at", "timestamp", "Milestone: a driver accepted."),
        C("arrived_at", "timestamp", "Milestone: the driver arrived at the pickup."),
        C("started_at", "timestamp", "Milestone: the ride started."),
        C("completed_at", "timestamp", "Milestone: the ride ended at the destination."),
        C("cancelled_at", "timestamp", "When the request was cancelled."),
        C("expired_at", "timestamp", "When the request expired with no driver."),
        C(
            "outcome",
            "string",
            "completed, rider_cancelled, driver_cancelled or no_driver.",
            nullable=False,
        ),
        C("cancelled_by", "string", "rider or driver, when cancelled."),
        C("cancel_stage", "string", "before_match (at the quote) or after_match, when cancelled."),
        C("surge_multiplier", "float64", "Multiplier quoted to the rider.", nullable=False),
        C("quoted_fare", "float64", "Fare quoted at request time."),
        C("estimated_miles", "float64", "Distance estimated at request time."),
        C("declined_offers", "int64", "Offers drivers declined before acceptance.", nullable=False),
        C("trip_miles", "float64", "Distance driven with the rider (completed trips)."),
        C("trip_seconds", "float64", "started_at -> completed_at in seconds."),
        C("base_passenger_fare", "float64", "Fare before tolls and tips (surge included)."),
        C("tolls", "float64", "Tolls paid."),
        C("tips", "float64", "Tips."),
        C("driver_pay", "float64", "Paid to the driver, tips excluded."),
        C("rider_rating", "int64", "1-5 stars the rider gave the driver, if any."),
        C("seconds_to_accept", "float64", "Lag requested -> accepted."),
        C(
            "seconds_to_arrive",
            "float64",
            "Lag accepted -> arrived (driver's drive to the pickup).",
        ),
        C("wait_seconds", "float64", "Lag requested -> arrived: how long the rider waited."),
        C("seconds_at_pickup", "float64", "Lag arrived -> started."),
    ],
    primary_key=["trip_id"],
    foreign_keys=[
        ForeignKey("rider_id", "dim_rider"),
        ForeignKey("driver_sk", "dim_driver"),
        ForeignKey("pickup_zone_id", "dim_zone", "zone_id"),
        ForeignKey("dropoff_zone_id", "dim_zone", "zone_id"),
        ForeignKey("city_id", "dim_city"),
        ForeignKey("date_key", "dim_date"),
    ],
)

FACT_DRIVER_STATUS = Table(
    "fact_driver_status",
    role="fact",
    grain="One row per driver status change, with how long the status lasted.",
    columns=[
        C("status_event_id", "int64", "Event number from the driver app.", nullable=False),
        C("driver_id", "int64", "Driver.", nullable=False),
        C("driver_sk", "int64", "Driver version valid at event_time."),
        C("status", "string", "available, on_trip or offline.", nullable=False),
        C("zone_id", "int64", "Zone the driver is positioned in (dispatch zone).", nullable=False),
        C("event_time", "timestamp", "Status starts.", nullable=False),
        C("status_end", "timestamp", "Next status of the driver (null for the last)."),
        C("duration_seconds", "float64", "status_end - event_time in seconds."),
        C("date_key", "int64", "Day the status started.", nullable=False),
    ],
    primary_key=["status_event_id"],
    foreign_keys=[
        ForeignKey("driver_sk", "dim_driver"),
        ForeignKey("zone_id", "dim_zone"),
        ForeignKey("date_key", "dim_date"),
    ],
)

FACT_SUPPLY_DEMAND = Table(
    "fact_supply_demand",
    role="fact",
    grain="One row per zone and 5-minute interval, every interval (periodic snapshot).",
    columns=[
        C("zone_id", "int64", "Zone.", nullable=False),
        C("interval_start", "timestamp", "Interval [start, start + 5 min).", nullable=False),
        C("date_key", "int64", "Day of the interval.", nullable=False),
        C("time_key", "int64", "Minute the interval starts (hhmm00).", nullable=False),
        C("requests", "int64", "Requests made in the interval.", nullable=False),
        C(
            "abandoned_requests",
            "int64",
            "Of which the rider cancelled at the quote.",
            nullable=False,
        ),
        C("matched_requests", "int64", "Of which a driver accepted.", nullable=False),
        C("unfulfilled_requests", "int64", "Of which expired with no driver.", nullable=False),
        C("completed_trips", "int64", "Of which ended in a completed ride.", nullable=False),
        C("wait_seconds_sum", "float64", "Sum of wait_seconds of those requests.", nullable=False),
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
        C("surge_multiplier", "float64", "Multiplier applied in the interval.", nullable=False),
        C("computed_multiplier", "float64", "Multiplier the engine computed.", nullable=False),
        C("is_holdout", "boolean", "Surge withheld by the switchback experiment.", nullable=False),
    ],
    primary_key=["zone_id", "interval_start"],
    foreign_keys=[
        ForeignKey("zone_id", "dim_zone"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("time_key", "dim_time"),
    ],
    notes=[
        "Sums and counts only (additive), so a micro-batch can add to a row; averages are "
        "computed when reading: avg wait = wait_seconds_sum / waits.",
        "Driver counts are a state at interval_start (semi-additive: never sum them over time).",
    ],
)

FACT_SURGE = Table(
    "fact_surge",
    role="fact",
    grain="One row per zone and 5-minute interval in which the engine computed a surge.",
    columns=[
        C("zone_id", "int64", "Zone.", nullable=False),
        C("interval_start", "timestamp", "Interval start.", nullable=False),
        C("computed_multiplier", "float64", "What the engine wanted (1.1 - 3.0).", nullable=False),
        C(
            "surge_multiplier",
            "float64",
            "What riders were quoted (1.0 in a holdout).",
            nullable=False,
        ),
        C("is_holdout", "boolean", "Switchback holdout: surge withheld.", nullable=False),
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
        C("record_id", "int64", "Its id in that table (event id or trip id).", nullable=False),
        C("reason", "string", "Why it was not loaded.", nullable=False),
        C("trip_id", "int64", "Trip concerned, if any."),
    ],
)

MART_DRIVER_DAILY = Table(
    "driver_daily",
    role="aggregate",
    database="mart",
    grain="One row per driver and day they were online.",
    columns=[
        C("driver_id", "int64", "Driver.", nullable=False),
        C("date_key", "int64", "Day (of the status start / trip request).", nullable=False),
        C("online_seconds", "float64", "Seconds available or on trip."),
        C("on_trip_seconds", "float64", "Seconds on trip (accept to drop-off or cancel)."),
        C("completed_trips", "int64", "Trips completed."),
        C("earnings", "float64", "driver_pay + tips of completed trips."),
    ],
    primary_key=["driver_id", "date_key"],
)

MART_RIDER_MONTHLY = Table(
    "rider_monthly",
    role="aggregate",
    database="mart",
    grain="One row per rider and month with at least one request.",
    columns=[
        C("rider_id", "int64", "Rider.", nullable=False),
        C("month_start", "date", "Month.", nullable=False),
        C("requests", "int64", "Requests in the month."),
        C("completed_trips", "int64", "Completed rides in the month."),
    ],
    primary_key=["rider_id", "month_start"],
)

MART_CITY_HOURLY = Table(
    "city_hourly",
    role="aggregate",
    database="mart",
    grain="One row per city and clock hour with at least one request.",
    columns=[
        C("city_id", "int64", "City.", nullable=False),
        C("hour_start", "timestamp", "Hour.", nullable=False),
        C("requests", "int64", "Requests."),
        C("completed_trips", "int64", "Completed rides."),
        C("cancelled", "int64", "Requests cancelled by rider or driver."),
        C("trip_miles", "float64", "Miles of completed rides."),
        C("trip_seconds", "float64", "Seconds of completed rides."),
        C("fares", "float64", "base_passenger_fare of completed rides."),
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
    FACT_TRIP_EVENTS,
    FACT_TRIPS,
    FACT_DRIVER_STATUS,
    FACT_SUPPLY_DEMAND,
    FACT_SURGE,
    MART_DRIVER_DAILY,
    MART_RIDER_MONTHLY,
    MART_CITY_HOURLY,
    QUARANTINE,
]

#: The seed gives no schema for this practice: the design starts from the requirements.
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
