"""The social media model: the seed's tables, declared once, plus the tables the metrics need.

``SEED_TABLES`` is the schema exactly as the seed draws it (notebook 02 compares the two).
``TABLES`` is the model the build creates. What changed, and why:

* ``user`` and ``content`` are Type 2: a surrogate key ``<entity>_sk`` and ``valid_from`` /
  ``valid_to`` join the seed's ``is_current``, so a fact can find the version valid when it
  happened. The seed's ``user_id`` / ``content_id`` stay as business keys.
* ``user.last_active_date`` and ``user.churned_date`` are derived from activity and change almost
  every day. Tracking them in Type 2 would add a version per active day, so they are Type 1
  columns: overwritten on every version of the user with today's value.
* ``content_event`` and ``ad_event`` gain ``event_date`` (the UTC date of ``event_time``), the
  partition column every daily job filters on.
* ``user_churn_stats`` keeps the seed's six columns; ``period`` holds ``day`` or ``month`` as the
  seed says, so the table needs ``period_start`` to say *which* day or month a row is about, and
  ``status`` names the growth-accounting state the two flags only hint at.
* ``mart.user_activity_cumulative`` is the nightly cumulative table (one row per user per day
  with a 28-day activity bit mask), ``mart.session`` the sessionised events and
  ``mart.campaign_daily`` the ad funnel per campaign and day.
* ``quarantine`` keeps every raw row the build refused, with its reason, and every change
  record that made no Type 2 version, so rows in = rows loaded + rows quarantined per source.
"""

from __future__ import annotations

from datamodeling.schema import Column, ForeignKey, Table

SCD2_NOTE = (
    "Type 2: valid_from inclusive, valid_to exclusive (9999-12-31 on the current row); "
    "ranges of one business key never overlap."
)

USER = Table(
    "user",
    role="dimension",
    scd_type=2,
    grain="One row per version of a user account (a change of status, name, email or phone).",
    columns=[
        Column("user_sk", "int64", "Surrogate key: hash of user_id and valid_from.", False),
        Column("user_id", "int64", "Account id from the app database (business key).", False),
        Column("status", "string", "active or deactivated.", False),
        Column("name", "string", "Display name."),
        Column("email", "string", "E-mail address (changes create a version)."),
        Column("phone", "string", "Phone number (changes create a version)."),
        Column("created_at", "timestamp", "When the account was created (sign-up).", False),
        Column(
            "updated_at", "timestamp", "When the source row was changed to this version.", False
        ),
        Column("is_current", "boolean", "True on the version valid now.", False),
        Column("last_active_date", "date", "Type 1: last UTC date with a content event."),
        Column(
            "churned_date",
            "date",
            "Type 1: first day of the month the user churned in, "
            "if the user is churned now (not active this month or last).",
        ),
        Column("valid_from", "timestamp", "Version valid from (inclusive).", False),
        Column("valid_to", "timestamp", "Version valid to (exclusive).", False),
    ],
    primary_key=["user_sk"],
    business_key=["user_id"],
    notes=[SCD2_NOTE],
)

CONTENT = Table(
    "content",
    role="dimension",
    scd_type=2,
    grain="One row per version of a piece of content (an edit of its name or description).",
    columns=[
        Column("content_sk", "int64", "Surrogate key: hash of content_id and valid_from.", False),
        Column("content_id", "int64", "Content id (business key).", False),
        Column("content_type", "string", "video, image, text or link.", False),
        Column("content_name", "string", "Title of the post."),
        Column("content_desc", "string", "Description of the post."),
        Column("creator_id", "int64", "user_id of the creator.", False),
        Column("created_at", "timestamp", "When the content was posted.", False),
        Column(
            "updated_at", "timestamp", "When the source row was changed to this version.", False
        ),
        Column("is_current", "boolean", "True on the version valid now.", False),
        Column("valid_from", "timestamp", "Version valid from (inclusive).", False),
        Column("valid_to", "timestamp", "Version valid to (exclusive).", False),
    ],
    primary_key=["content_sk"],
    business_key=["content_id"],
    foreign_keys=[ForeignKey("creator_id", "user", "user_id", point_in_time=True)],
    notes=[SCD2_NOTE],
)

CAMPAIGN = Table(
    "campaign",
    role="dimension",
    scd_type=1,
    grain="One row per ad campaign.",
    columns=[
        Column("campaign_id", "int64", "Campaign id from the ads system.", False),
        Column("campaign_type", "string", "brand, performance or retargeting.", False),
        Column("campaign_name", "string", "Name of the campaign."),
        Column("campaign_desc", "string", "Description."),
        Column("created_at", "timestamp", "When the campaign was set up.", False),
        Column("starttime", "timestamp", "When it starts serving (inclusive).", False),
        Column("endtime", "timestamp", "When it stops serving (exclusive).", False),
    ],
    primary_key=["campaign_id"],
    business_key=["campaign_id"],
)

DEVICE = Table(
    "device",
    role="dimension",
    scd_type=1,
    grain="One row per device (an installed app or a browser).",
    columns=[
        Column("device_id", "int64", "Device id.", False),
        Column("device_type", "string", "mobile, desktop or tablet.", False),
        Column("os", "string", "Operating system.", False),
    ],
    primary_key=["device_id"],
    business_key=["device_id"],
)

CONTENT_EVENT = Table(
    "content_event",
    role="fact",
    grain="One row per interaction of a viewer with a piece of content: a view, like, comment "
    "or share (duplicates from client retries removed).",
    columns=[
        Column("event_id", "int64", "Event id set by the client (retries repeat it).", False),
        Column("event_time", "timestamp", "When it happened (UTC, client clock).", False),
        Column("event_date", "date", "UTC date of event_time (added: the daily partition).", False),
        Column("event_type", "string", "view, like, comment or share.", False),
        Column("content_id", "int64", "Content interacted with.", False),
        Column("creator_id", "int64", "Creator of that content (degenerate copy).", False),
        Column("viewer_id", "int64", "User who interacted.", False),
        Column("device_id", "int64", "Device used.", False),
        Column("ip_address", "string", "Client IP address."),
    ],
    primary_key=["event_id"],
    foreign_keys=[
        ForeignKey("content_id", "content", point_in_time=True),
        ForeignKey("creator_id", "user", "user_id", point_in_time=True),
        ForeignKey("viewer_id", "user", "user_id", point_in_time=True),
        ForeignKey("device_id", "device"),
    ],
)

AD_EVENT = Table(
    "ad_event",
    role="fact",
    grain="One row per ad event: an impression, a click or a conversion.",
    columns=[
        Column("event_id", "int64", "Event id (retries repeat it).", False),
        Column("event_time", "timestamp", "When it happened (UTC).", False),
        Column("event_date", "date", "UTC date of event_time (added).", False),
        Column("event_type", "string", "impression, click or conversion.", False),
        Column("campaign_id", "int64", "Campaign the ad belongs to.", False),
        Column("user_id", "int64", "User who saw the ad.", False),
        Column("device_id", "int64", "Device used.", False),
        Column("ip_address", "string", "Client IP address."),
        Column("revenue", "decimal(12, 2)", "Advertiser revenue on conversions, else 0.", False),
        Column("cost", "decimal(12, 2)", "What the click cost (CPC pricing), else 0.", False),
    ],
    primary_key=["event_id"],
    foreign_keys=[
        ForeignKey("campaign_id", "campaign"),
        ForeignKey("user_id", "user", point_in_time=True),
        ForeignKey("device_id", "device"),
    ],
)

USER_CHURN_STATS = Table(
    "user_churn_stats",
    role="aggregate",
    grain="One row per user, period type (day or month) and period in which the user was "
    "active, or churned (active in the previous period, not in this one).",
    columns=[
        Column("user_id", "int64", "The user.", False),
        Column("last_active_date", "date", "Last active date up to the end of the period.", False),
        Column("churned_flag", "boolean", "Active in the previous period, not in this one.", False),
        Column("churned_date", "date", "period_start when churned_flag, else null."),
        Column(
            "resurrected_flag",
            "boolean",
            "Active now, not in the previous period, but active at some earlier period.",
            False,
        ),
        Column("period", "string", "day or month (the seed's column).", False),
        Column("period_start", "date", "Added: the day, or first day of the month.", False),
        Column("status", "string", "Added: new, retained, resurrected or churned.", False),
    ],
    primary_key=["user_id", "period", "period_start"],
    foreign_keys=[ForeignKey("user_id", "user", point_in_time=True)],
)

QUARANTINE = Table(
    "quarantine",
    role="raw",
    grain="One row per raw row the build refused (events) or that made no version (change logs).",
    columns=[
        Column("source", "string", "Raw table the row came from.", False),
        Column(
            "record_id", "int64", "Its event id (change logs: the user_id or content_id).", False
        ),
        Column(
            "reason",
            "string",
            "Events: duplicate_event_id, future_timestamp or unknown_user. Change logs:"
            " no_change (repeats the state before it) or same_instant (another record of the"
            " key at the same updated_at was kept).",
            False,
        ),
        Column("event_time", "timestamp", "Its event time as sent (change logs: updated_at)."),
        Column("received_at", "timestamp", "When the server received it (change logs: null)."),
        Column("user_id", "int64", "The user id it named (content_changes: the creator)."),
    ],
)

USER_ACTIVITY_CUMULATIVE = Table(
    "user_activity_cumulative",
    role="aggregate",
    database="mart",
    grain="One row per user per day, from the user's first active day to the last loaded day.",
    columns=[
        Column("activity_date", "date", "The day the row describes (the nightly run).", False),
        Column("user_id", "int64", "The user.", False),
        Column(
            "activity_mask",
            "int32",
            "28-bit mask: bit i set when active i days before activity_date (bit 0 = that day).",
            False,
        ),
        Column("first_active_date", "date", "First day ever active.", False),
        Column("last_active_date", "date", "Last day active up to activity_date.", False),
    ],
    primary_key=["activity_date", "user_id"],
    foreign_keys=[ForeignKey("user_id", "user", point_in_time=True)],
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
        Column("session_id", "int64", "Hash of user, device and session start.", False),
        Column("user_id", "int64", "The user.", False),
        Column("device_id", "int64", "The device.", False),
        Column("session_start", "timestamp", "First event.", False),
        Column("session_end", "timestamp", "Last event.", False),
        Column("session_date", "date", "UTC date of session_start.", False),
        Column("events", "int64", "Content events in the session.", False),
        Column("views", "int64", "Views.", False),
        Column("engagements", "int64", "Likes, comments and shares.", False),
    ],
    primary_key=["session_id"],
    foreign_keys=[
        ForeignKey("user_id", "user", point_in_time=True),
        ForeignKey("device_id", "device"),
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
        Column("cost", "float64", "Cost of that day's clicks.", False),
        Column("revenue", "float64", "Revenue of that day's conversions.", False),
    ],
    primary_key=["campaign_id", "event_date"],
    foreign_keys=[ForeignKey("campaign_id", "campaign")],
)

#: Every table of the model the build creates (the raw layer is described in generate.py).
TABLES = [
    USER,
    CONTENT,
    CAMPAIGN,
    DEVICE,
    CONTENT_EVENT,
    AD_EVENT,
    USER_CHURN_STATS,
    USER_ACTIVITY_CUMULATIVE,
    SESSION,
    CAMPAIGN_DAILY,
    QUARANTINE,
]


def _seed(name, pk, cols, fks=()):
    return Table(
        name,
        role="fact" if name.endswith("event") else "dimension",
        grain="(not stated by the seed)",
        columns=[Column(c, t, "") for c, t in cols],
        primary_key=pk,
        foreign_keys=[ForeignKey(c, tbl, ref) for c, tbl, ref in fks],
    )


#: The seed's schema as drawn in the source document, for the before/after in notebook 02.
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
            ("revenue", "decimal(12, 2)"),
            ("cost", "decimal(12, 2)"),
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
