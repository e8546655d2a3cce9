"""The social media model: the brief's tables, declared once, plus the tables the metrics need.

``SEED_TABLES`` is the schema exactly as the brief draws it (notebook 02 compares the two).
``TABLES`` is the model the build creates, named by the book's conventions (book/conventions.md):
``dim_`` for dimensions, ``fact_`` for facts, ``mart.`` for aggregates. What changed, and why:

* ``dim_user`` and ``dim_content`` are Type 2: a surrogate key ``<entity>_sk`` and ``valid_from``
  / ``valid_to`` join the brief's ``is_current``, so a fact can find the version valid when it
  happened. The brief's ``user_id`` / ``content_id`` stay as business keys. A closed account
  keeps a final version flagged ``is_deleted``; a user or post that events name but the source
  has not delivered gets an inferred member (``is_inferred``). Every dimension has the reserved
  Unknown (-1) and Not applicable (-2) members.
* The brief's ``user.last_active_date`` and ``user.churned_date`` are measurements of activity,
  not descriptions of the user: they change every day a user is active. They live where the
  activity is (``mart.user_activity_cumulative`` per user and day, ``mart.user_churn_stats`` per
  user and period), not on the Type 2 dimension; the brief's ``user`` view reads them from there.
* ``fact_content_event`` and ``fact_ad_event`` store the surrogate key of every Type 2 version
  valid at the event (``content_sk``, ``viewer_sk``, ``creator_sk``, ``user_sk``), resolved once at
  load time, beside the brief's business keys (Kimball's type 7). ``creator_sk`` and
  ``viewer_sk`` are two roles of one dimension, ``dim_user`` (a role-playing dimension).
  Both facts gain ``event_date`` (the UTC date of ``event_time``) and ``date_key``.
* ``dim_date`` lists the days of the loaded period: the first and last loaded day of every metric
  come from it.
* ``mart.user_churn_stats`` keeps the brief's six columns; ``period`` holds ``day`` or ``month``
  as the brief says, so the table needs ``period_start`` to say *which* day or month a row is
  about, and ``status`` names the growth-accounting state the two flags only hint at.
* ``mart.user_activity_cumulative`` is the nightly cumulative table (one row per user per day
  with a 28-day activity bit mask), ``mart.session`` the sessionised events and
  ``mart.campaign_daily`` the ad funnel per campaign and day.
* ``quarantine`` keeps every raw row the build refused, with its reason, and every change
  record that made no Type 2 version, so rows in = rows loaded + rows quarantined per source.

``VIEWS`` keeps the brief's table names and columns available (``"user"``, ``content_event``,
``events``...), so the brief's SQL runs verbatim.
"""

from __future__ import annotations

import dataclasses

from datamodeling.calendar import DATE_TABLE
from datamodeling.schema import Column, ForeignKey, Table

SCD2_NOTE = (
    "Type 2: valid_from inclusive, valid_to exclusive (9999-12-31 on the current row); "
    "ranges of one business key never overlap and leave no gap."
)
RESERVED_NOTE = "Reserved members: Unknown (key -1) and Not applicable (key -2)."


def _flags() -> list[Column]:
    return [
        Column("is_current", "boolean", "True on the version valid now.", False),
        Column(
            "is_deleted",
            "boolean",
            "True on the final version of a closed account or removed post, from the deletion on.",
            False,
        ),
        Column(
            "is_inferred",
            "boolean",
            "True on an inferred member: a key events name that the source has not delivered.",
            False,
        ),
    ]


DIM_USER = Table(
    "dim_user",
    role="dimension",
    scd_type=2,
    grain="One row per version of a user account (a change of status, name, email or phone, "
    "or the account's closing).",
    columns=[
        Column(
            "user_sk", "int64", "Surrogate key: hash of user_id and valid_from.", False
        ),
        Column(
            "user_id",
            "int64",
            "Account id from the app database (business key).",
            False,
        ),
        Column("status", "string", "active or deactivated.", False),
        Column("name", "string", "Display name."),
        Column("email", "string", "E-mail address (changes create a version)."),
        Column("phone", "string", "Phone number (changes create a version)."),
        Column(
            "created_at", "timestamp", "When the account was created (sign-up), UTC."
        ),
        Column(
            "updated_at",
            "timestamp",
            "When the source row changed to this version, UTC.",
        ),
        Column("valid_from", "timestamp", "Version valid from (inclusive).", False),
        Column("valid_to", "timestamp", "Version valid to (exclusive).", False),
        *_flags(),
    ],
    primary_key=["user_sk"],
    business_key=["user_id"],
    notes=[SCD2_NOTE, RESERVED_NOTE],
)

DIM_CONTENT = Table(
    "dim_content",
    role="dimension",
    scd_type=2,
    grain="One row per version of a piece of content (an edit of its name or description).",
    columns=[
        Column(
            "content_sk",
            "int64",
            "Surrogate key: hash of content_id and valid_from.",
            False,
        ),
        Column("content_id", "int64", "Content id (business key).", False),
        Column("content_type", "string", "video, image, text or link.", False),
        Column("content_name", "string", "Title of the post."),
        Column("content_desc", "string", "Description of the post."),
        Column(
            "creator_id",
            "int64",
            "user_id of the creator (the durable key of dim_user; -1 on the reserved rows).",
        ),
        Column("created_at", "timestamp", "When the content was posted, UTC."),
        Column(
            "updated_at",
            "timestamp",
            "When the source row changed to this version, UTC.",
        ),
        Column("valid_from", "timestamp", "Version valid from (inclusive).", False),
        Column("valid_to", "timestamp", "Version valid to (exclusive).", False),
        *_flags(),
    ],
    primary_key=["content_sk"],
    business_key=["content_id"],
    foreign_keys=[ForeignKey("creator_id", "dim_user", "user_id", point_in_time=True)],
    notes=[SCD2_NOTE, RESERVED_NOTE],
)

DIM_CAMPAIGN = Table(
    "dim_campaign",
    role="dimension",
    scd_type=1,
    grain="One row per ad campaign.",
    columns=[
        Column(
            "campaign_id", "int64", "Campaign id from the ads system (the key).", False
        ),
        Column("campaign_type", "string", "brand, performance or retargeting.", False),
        Column("campaign_name", "string", "Name of the campaign."),
        Column("campaign_desc", "string", "Description."),
        Column("created_at", "timestamp", "When the campaign was set up, UTC."),
        Column("starttime", "timestamp", "When it starts serving (inclusive), UTC."),
        Column("endtime", "timestamp", "When it stops serving (exclusive), UTC."),
        Column(
            "is_inferred",
            "boolean",
            "True for a campaign id events name, unknown to the ads system.",
            False,
        ),
    ],
    primary_key=["campaign_id"],
    business_key=["campaign_id"],
    notes=[RESERVED_NOTE],
)

DIM_DEVICE = Table(
    "dim_device",
    role="dimension",
    scd_type=1,
    grain="One row per device (an installed app or a browser).",
    columns=[
        Column("device_id", "int64", "Device id (the key).", False),
        Column("device_type", "string", "mobile, desktop or tablet.", False),
        Column("os", "string", "Operating system.", False),
        Column(
            "is_inferred",
            "boolean",
            "True for a device id events name, never registered.",
            False,
        ),
    ],
    primary_key=["device_id"],
    business_key=["device_id"],
    notes=[RESERVED_NOTE],
)

DIM_DATE = dataclasses.replace(
    DATE_TABLE,
    name="dim_date",
    grain="One row per UTC day of the loaded period (every day the nightly job has run).",
    description="The loaded calendar: the first and last loaded day of every metric come from "
    "it. Type 0: a day never changes once written.",
    notes=[RESERVED_NOTE],
)

FACT_CONTENT_EVENT = Table(
    "fact_content_event",
    role="fact",
    grain="One row per interaction of a viewer with a piece of content: a view, like, comment "
    "or share (duplicates from client retries removed).",
    columns=[
        Column(
            "event_id",
            "int64",
            "Event id set by the client (retries repeat it).",
            False,
        ),
        Column(
            "event_time", "timestamp", "When it happened (UTC, client clock).", False
        ),
        Column(
            "event_date", "date", "UTC date of event_time (the daily partition).", False
        ),
        Column("date_key", "int64", "event_date as yyyymmdd (dim_date).", False),
        Column("event_type", "string", "view, like, comment or share.", False),
        Column(
            "content_sk", "int64", "The content's version valid at event_time.", False
        ),
        Column("content_id", "int64", "Content interacted with (business key).", False),
        Column(
            "creator_sk",
            "int64",
            "The creator's dim_user version valid at event_time (role: creator).",
            False,
        ),
        Column("creator_id", "int64", "Creator of that content (business key).", False),
        Column(
            "viewer_sk",
            "int64",
            "The viewer's dim_user version valid at event_time (role: viewer).",
            False,
        ),
        Column("viewer_id", "int64", "User who interacted (business key).", False),
        Column("device_id", "int64", "Device used (dim_device's key).", False),
        Column("ip_address", "string", "Client IP address."),
    ],
    primary_key=["event_id"],
    foreign_keys=[
        ForeignKey("date_key", "dim_date"),
        ForeignKey("content_sk", "dim_content"),
        ForeignKey("creator_sk", "dim_user", "user_sk"),
        ForeignKey("viewer_sk", "dim_user", "user_sk"),
        ForeignKey("device_id", "dim_device"),
    ],
    notes=[
        "Type 7: each Type 2 reference is stored twice, the surrogate key of the version valid "
        "at the event (history as it was) and the business key (join it to is_current for "
        "today's attributes)."
    ],
)

FACT_AD_EVENT = Table(
    "fact_ad_event",
    role="fact",
    grain="One row per ad event: an impression, a click or a conversion.",
    columns=[
        Column("event_id", "int64", "Event id (retries repeat it).", False),
        Column("event_time", "timestamp", "When it happened (UTC).", False),
        Column("event_date", "date", "UTC date of event_time.", False),
        Column("date_key", "int64", "event_date as yyyymmdd (dim_date).", False),
        Column("event_type", "string", "impression, click or conversion.", False),
        Column(
            "campaign_id",
            "int64",
            "Campaign the ad belongs to (dim_campaign's key).",
            False,
        ),
        Column("user_sk", "int64", "The user's version valid at event_time.", False),
        Column("user_id", "int64", "User who saw the ad (business key).", False),
        Column("device_id", "int64", "Device used (dim_device's key).", False),
        Column("ip_address", "string", "Client IP address."),
        Column(
            "revenue",
            "decimal(18, 2)",
            "Advertiser revenue on conversions, else 0.00.",
            False,
        ),
        Column(
            "cost",
            "decimal(18, 2)",
            "What the click cost (CPC pricing), else 0.00.",
            False,
        ),
    ],
    primary_key=["event_id"],
    foreign_keys=[
        ForeignKey("date_key", "dim_date"),
        ForeignKey("campaign_id", "dim_campaign"),
        ForeignKey("user_sk", "dim_user"),
        ForeignKey("device_id", "dim_device"),
    ],
)

#: Growth-accounting states of ``mart.user_churn_stats``.
STATUSES = ("new", "retained", "resurrected", "returning", "churned")

USER_CHURN_STATS = Table(
    "user_churn_stats",
    role="aggregate",
    database="mart",
    grain="One row per user, period type (day or month) and period in which the user was "
    "active, or churned (active in the previous period, not in this one).",
    columns=[
        Column("user_id", "int64", "The user.", False),
        Column(
            "last_active_date",
            "date",
            "Last active date up to the end of the period.",
            False,
        ),
        Column(
            "churned_flag",
            "boolean",
            "Active in the previous period, not in this one.",
            False,
        ),
        Column("churned_date", "date", "period_start when churned_flag, else null."),
        Column(
            "resurrected_flag",
            "boolean",
            "Active now, not in the previous period, signed up before it; null in the first "
            "loaded period for users who signed up before it (the period before is not loaded).",
        ),
        Column("period", "string", "day or month (the brief's column).", False),
        Column(
            "period_start", "date", "Added: the day, or first day of the month.", False
        ),
        Column(
            "status",
            "string",
            "Added: new (signed up in the period), retained, resurrected, returning (first "
            "loaded period, signed up before it: retained or resurrected, cannot tell) or "
            "churned.",
            False,
        ),
    ],
    primary_key=["user_id", "period", "period_start"],
    foreign_keys=[ForeignKey("user_id", "dim_user", "user_id", point_in_time=True)],
)

QUARANTINE = Table(
    "quarantine",
    role="raw",
    grain="One row per raw row the build refused (events) or that made no version (change logs).",
    columns=[
        Column("source", "string", "Raw table the row came from.", False),
        Column(
            "record_id",
            "int64",
            "Its event id (change logs: the user_id or content_id).",
            False,
        ),
        Column(
            "reason",
            "string",
            "Events: duplicate_event_id, future_timestamp, or later than the lookback (it "
            "landed more days after its event day than the daily load waits). Change logs: "
            "no_change (repeats "
            "the state before it) or same_instant (another record of the key at the same "
            "updated_at was kept).",
            False,
        ),
        Column(
            "event_time",
            "timestamp",
            "Its event time as sent (change logs: updated_at).",
        ),
        Column(
            "received_at",
            "timestamp",
            "When the server received it (change logs: null).",
        ),
        Column(
            "user_id", "int64", "The user id it named (content_changes: the creator)."
        ),
        Column(
            "event_date",
            "date",
            "Events: the day the event belongs to (its own; the day it was received when its "
            "clock was ahead). Change logs: the day of updated_at.",
        ),
        Column("landing_date", "date", "The day its source handed it over."),
    ],
)

USER_ACTIVITY_CUMULATIVE = Table(
    "user_activity_cumulative",
    role="aggregate",
    database="mart",
    grain="One row per user per day, from the user's first active day to the last loaded day.",
    columns=[
        Column(
            "activity_date",
            "date",
            "The day the row describes (the nightly run).",
            False,
        ),
        Column("user_id", "int64", "The user.", False),
        Column(
            "activity_mask",
            "int32",
            "28-bit mask: bit i set when active i days before activity_date (bit 0 = that day).",
            False,
        ),
        Column("first_active_date", "date", "First day ever active.", False),
        Column(
            "last_active_date", "date", "Last day active up to activity_date.", False
        ),
    ],
    primary_key=["activity_date", "user_id"],
    foreign_keys=[ForeignKey("user_id", "dim_user", "user_id", point_in_time=True)],
    notes=[
        "Built like a nightly job: day d = (day d-1 FULL OUTER JOIN the users active on d), "
        "mask = ((mask << 1) | active_today) & (2^28 - 1).",
        "DAU = bit 0 set; WAU = any of bits 0-6; MAU (28 days) = mask <> 0.",
    ],
)

SESSION = Table(
    "session",
    role="aggregate",
    database="mart",
    grain="One row per session: a user's events on one device with no gap over 30 minutes.",
    columns=[
        Column(
            "session_id",
            "int64",
            "A key from the MD5 of user, device and session start (the same on every engine).",
            False,
        ),
        Column("user_id", "int64", "The user.", False),
        Column("device_id", "int64", "The device.", False),
        Column("session_start", "timestamp", "First event.", False),
        Column("session_end", "timestamp", "Last event.", False),
        Column("session_date", "date", "UTC date of session_start.", False),
        Column(
            "duration_ms",
            "int64",
            "Milliseconds from the first to the last event (each time truncated to the "
            "millisecond): 0 for a one-event session.",
            False,
        ),
        Column("events", "int64", "Content events in the session.", False),
        Column("views", "int64", "Views.", False),
        Column("engagements", "int64", "Likes, comments and shares.", False),
    ],
    primary_key=["session_id"],
    foreign_keys=[
        ForeignKey("user_id", "dim_user", "user_id", point_in_time=True),
        ForeignKey("device_id", "dim_device"),
    ],
)

CAMPAIGN_DAILY = Table(
    "campaign_daily",
    role="aggregate",
    database="mart",
    grain="One row per campaign and UTC day with at least one ad event.",
    columns=[
        Column("campaign_id", "int64", "The campaign.", False),
        Column("event_date", "date", "UTC day of the events.", False),
        Column("impressions", "int64", "Impressions that day.", False),
        Column("clicks", "int64", "Clicks that day.", False),
        Column("conversions", "int64", "Conversions that day.", False),
        Column(
            "cost", "decimal(18, 2)", "Cost of that day's clicks (exact sum).", False
        ),
        Column(
            "revenue",
            "decimal(18, 2)",
            "Revenue of that day's conversions (exact sum).",
            False,
        ),
    ],
    primary_key=["campaign_id", "event_date"],
    foreign_keys=[ForeignKey("campaign_id", "dim_campaign")],
)

#: Every table of the model the build creates (the raw layer is described in generate.py).
TABLES = [
    DIM_USER,
    DIM_CONTENT,
    DIM_CAMPAIGN,
    DIM_DEVICE,
    DIM_DATE,
    FACT_CONTENT_EVENT,
    FACT_AD_EVENT,
    USER_CHURN_STATS,
    USER_ACTIVITY_CUMULATIVE,
    SESSION,
    CAMPAIGN_DAILY,
    QUARANTINE,
]

#: The brief's tables as views over the model, so the brief's SQL runs verbatim. Each carries the
#: brief's columns (first, in the brief's order) and may add some; the reserved members, which
#: describe nothing real, are left out. ``user`` is a reserved word: the view is ``"user"``.
VIEWS: dict[str, str] = {
    "user": """
SELECT u.user_id, u.status, u.name, u.email, u.phone, u.created_at, u.updated_at, u.is_current,
       a.last_active_date,
       -- the first day of the month after the last active one, once that month has started
       CASE WHEN last_day(a.last_active_date) < p.last_day
            THEN CAST(last_day(a.last_active_date) + 1 AS DATE)
       END AS churned_date,
       u.user_sk, u.valid_from, u.valid_to, u.is_deleted, u.is_inferred
FROM dim_user u
CROSS JOIN (SELECT MAX(calendar_date) AS last_day FROM dim_date) p
LEFT JOIN mart.user_activity_cumulative a
  ON a.user_id = u.user_id AND a.activity_date = p.last_day
WHERE u.user_id NOT IN (-1, -2)
""",
    "content": """
SELECT content_id, content_type, content_name, content_desc, creator_id, created_at, updated_at,
       is_current, content_sk, valid_from, valid_to, is_deleted, is_inferred
FROM dim_content
WHERE content_id NOT IN (-1, -2)
""",
    "campaign": """
SELECT campaign_id, campaign_type, campaign_name, campaign_desc, created_at, starttime, endtime
FROM dim_campaign
WHERE campaign_id NOT IN (-1, -2)
""",
    "device": """
SELECT device_id, device_type, os
FROM dim_device
WHERE device_id NOT IN (-1, -2)
""",
    "content_event": """
SELECT event_id, event_time, event_type, content_id, creator_id, viewer_id, device_id,
       ip_address, event_date
FROM fact_content_event
""",
    "ad_event": """
SELECT event_id, event_time, event_type, campaign_id, user_id, device_id, ip_address, revenue,
       cost, event_date
FROM fact_ad_event
""",
    "user_churn_stats": """
SELECT user_id, last_active_date, churned_flag, churned_date, resurrected_flag, period,
       period_start, status
FROM mart.user_churn_stats
""",
    # the table the brief's churn query reads: one row per content event, named by user
    "events": """
SELECT viewer_id AS user_id, event_date, event_time, event_type, content_id, device_id
FROM fact_content_event
""",
}


def view_name(name: str) -> str:
    """The view's name as SQL: ``"user"`` is a reserved word and must be quoted."""
    return f'"{name}"' if name == "user" else name


def _seed(name, pk, cols, fks=()):
    return Table(
        name,
        role="fact" if name.endswith("event") else "dimension",
        grain="(not stated by the brief)",
        columns=[Column(c, t, "") for c, t in cols],
        primary_key=pk,
        foreign_keys=[ForeignKey(c, tbl, ref) for c, tbl, ref in fks],
    )


#: The brief's schema as drawn in the source document, for the before/after in notebook 02.
SEED_TABLES = [
    _seed(
        "user",
        ["user_id"],
        [
            ("user_id", "int64"),
            ("status", "string"),
            ("name", "string"),
            ("email", "string"),
            ("phone", "string"),
            ("created_at", "timestamp"),
            ("updated_at", "timestamp"),
            ("is_current", "boolean"),
            ("last_active_date", "date"),
            ("churned_date", "date"),
        ],
    ),
    _seed(
        "content",
        ["content_id"],
        [
            ("content_id", "int64"),
            ("content_type", "string"),
            ("content_name", "string"),
            ("content_desc", "string"),
            ("creator_id", "int64"),
            ("created_at", "timestamp"),
            ("updated_at", "timestamp"),
            ("is_current", "boolean"),
        ],
        [("creator_id", "user", "user_id")],
    ),
    _seed(
        "campaign",
        ["campaign_id"],
        [
            ("campaign_id", "int64"),
            ("campaign_type", "string"),
            ("campaign_name", "string"),
            ("campaign_desc", "string"),
            ("created_at", "timestamp"),
            ("starttime", "timestamp"),
            ("endtime", "timestamp"),
        ],
    ),
    _seed(
        "content_event",
        ["event_id"],
        [
            ("event_id", "int64"),
            ("event_time", "timestamp"),
            ("event_type", "string"),
            ("content_id", "int64"),
            ("creator_id", "int64"),
            ("viewer_id", "int64"),
            ("device_id", "int64"),
            ("ip_address", "string"),
        ],
        [
            ("content_id", "content", None),
            ("creator_id", "user", "user_id"),
            ("viewer_id", "user", "user_id"),
            ("device_id", "device", None),
        ],
    ),
    _seed(
        "ad_event",
        ["event_id"],
        [
            ("event_id", "int64"),
            ("event_time", "timestamp"),
            ("event_type", "string"),
            ("campaign_id", "int64"),
            ("user_id", "int64"),
            ("device_id", "int64"),
            ("ip_address", "string"),
            ("revenue", "decimal(18, 2)"),
            ("cost", "decimal(18, 2)"),
        ],
        [
            ("campaign_id", "campaign", None),
            ("user_id", "user", None),
            ("device_id", "device", None),
        ],
    ),
    _seed(
        "device",
        ["device_id"],
        [("device_id", "int64"), ("device_type", "string"), ("os", "string")],
    ),
    _seed(
        "user_churn_stats",
        [],
        [
            ("user_id", "int64"),
            ("last_active_date", "date"),
            ("churned_flag", "boolean"),
            ("churned_date", "date"),
            ("resurrected_flag", "boolean"),
            ("period", "string"),
        ],
        [("user_id", "user", None)],
    ),
]


def table(name: str) -> Table:
    """The declaration of one table of ``TABLES`` by name."""
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(name)
