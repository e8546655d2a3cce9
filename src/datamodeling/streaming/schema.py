"""The video streaming model: seed tables kept by name, plus the tables the build adds.

Layers:

* ``raw``: what the sources hand over. The player's event log (``viewing_events``,
  ``quality_events``), the recommender's impression log (``recommendation_events``), the content
  management system's change log (``content_changes``) and extracts of users and devices.
* main schema: the dimensional model with the seed's names. Event-level facts
  (``viewing_event``, ``recommendation_event``, ``streaming_quality_event``) are the system of
  record; ``playback_session`` (added) and ``viewing_fact`` (the seed's daily aggregate) are built
  from ``viewing_event``, never generated separately.
* ``mart``: small aggregates for dashboards, rebuilt from the facts.

SCD decisions (argued in notebook 02): ``content`` is Type 2 on its genre and title, because the
catalogue team re-tags titles and "what did people choose to watch" must use the genre that was
shown when they chose; ``user`` and ``device`` are Type 1 (corrections and PII overwrite; the app
version a stream ran on is recorded on the stream's own events, not read from the device).
"""

from __future__ import annotations

from datamodeling.calendar import DATE_TABLE, TIME_TABLE
from datamodeling.schema import Column, ForeignKey, Table

C = Column

# --------------------------------------------------------------------------------------------
# The seed's schema as given (for notebook 02's before/after)
# --------------------------------------------------------------------------------------------
SEED_TABLES = [
    Table(
        "user",
        "dimension",
        "One row per user.",
        [
            C("user_id", "int64", "User id.", False),
            C("name", "string", "Name."),
            C("email", "string", "Email."),
            C("signup_date", "date", "Sign-up date."),
        ],
        primary_key=["user_id"],
    ),
    Table(
        "device",
        "dimension",
        "One row per device.",
        [
            C("device_id", "int64", "Device id.", False),
            C("device_type", "string", "Device type."),
            C("os", "string", "Operating system."),
            C("app_version", "string", "App version."),
        ],
        primary_key=["device_id"],
    ),
    Table(
        "date",
        "dimension",
        "One row per day.",
        [
            C("date_key", "int64", "Date key.", False),
            C("calendar_date", "date", "Date."),
            C("day_of_week", "int64", "Day of week."),
            C("month", "int64", "Month."),
            C("year", "int64", "Year."),
        ],
        primary_key=["date_key"],
    ),
    Table(
        "time",
        "dimension",
        "One row per second of the day.",
        [
            C("time_key", "int64", "Time key.", False),
            C("hour", "int64", "Hour."),
            C("minute", "int64", "Minute."),
            C("second", "int64", "Second."),
        ],
        primary_key=["time_key"],
    ),
    Table(
        "genre",
        "dimension",
        "One row per genre.",
        [C("genre_id", "int64", "Genre id.", False), C("genre_name", "string", "Genre name.")],
        primary_key=["genre_id"],
    ),
    Table(
        "creator",
        "dimension",
        "One row per creator.",
        [
            C("creator_id", "int64", "Creator id.", False),
            C("creator_name", "string", "Creator name."),
        ],
        primary_key=["creator_id"],
    ),
    Table(
        "content",
        "dimension",
        "One row per title.",
        [
            C("content_id", "int64", "Content id.", False),
            C("title", "string", "Title."),
            C("genre_id", "int64", "Genre."),
            C("creator_id", "int64", "Creator."),
            C("release_date", "date", "Release date."),
            C("content_type", "string", "Movie, episode..."),
        ],
        primary_key=["content_id"],
        foreign_keys=[ForeignKey("genre_id", "genre"), ForeignKey("creator_id", "creator")],
    ),
    Table(
        "viewing_event",
        "fact",
        "One row per playback event (play, pause, seek, stop).",
        [
            C("event_id", "int64", "Event id.", False),
            C("date_key", "int64", "Day of the event."),
            C("time_key", "int64", "Time of the event."),
            C("user_id", "int64", "User."),
            C("content_id", "int64", "Content."),
            C("device_id", "int64", "Device."),
            C("session_id", "int64", "Playback session."),
            C("event_time", "timestamp", "When."),
            C("viewing_duration", "int64", "Seconds watched."),
            C("action_type", "string", "play/pause/stop/seek."),
            C("position_seconds", "int64", "Position in the title."),
            C("duration_seconds", "int64", "Length of the title."),
            C("is_recommended", "boolean", "Started from a recommendation."),
            C("completion_percentage", "float64", "Share of the title watched."),
        ],
        primary_key=["event_id"],
        foreign_keys=[
            ForeignKey("date_key", "date"),
            ForeignKey("time_key", "time"),
            ForeignKey("user_id", "user"),
            ForeignKey("content_id", "content"),
            ForeignKey("device_id", "device"),
        ],
    ),
    Table(
        "viewing_fact",
        "aggregate",
        "Daily user-content aggregate (grain not stated in the seed).",
        [
            C("date_key", "int64", "Day."),
            C("time_key", "int64", "Time."),
            C("user_key", "int64", "User."),
            C("content_key", "int64", "Content."),
            C("device_key", "int64", "Device."),
            C("viewing_duration", "int64", "Seconds watched."),
            C("completion_percentage", "float64", "Share watched."),
            C("is_recommended", "boolean", "Recommended."),
        ],
        foreign_keys=[
            ForeignKey("date_key", "date"),
            ForeignKey("time_key", "time"),
            ForeignKey("user_key", "user", "user_id"),
            ForeignKey("content_key", "content", "content_id"),
            ForeignKey("device_key", "device", "device_id"),
        ],
    ),
    Table(
        "recommendation_event",
        "fact",
        "One row per recommendation shown.",
        [
            C("rec_event_id", "int64", "Recommendation event id.", False),
            C("date_key", "int64", "Day shown."),
            C("user_id", "int64", "User."),
            C("content_id", "int64", "Content recommended."),
            C("recommendation_algorithm", "string", "Algorithm."),
            C("was_clicked", "boolean", "Clicked."),
            C("was_watched", "boolean", "Watched."),
            C("rec_shown_time", "timestamp", "When shown."),
        ],
        primary_key=["rec_event_id"],
        foreign_keys=[
            ForeignKey("date_key", "date"),
            ForeignKey("user_id", "user"),
            ForeignKey("content_id", "content"),
        ],
    ),
    Table(
        "streaming_quality_event",
        "fact",
        "One row per quality event.",
        [
            C("quality_event_id", "int64", "Quality event id.", False),
            C("date_key", "int64", "Day."),
            C("time_key", "int64", "Time."),
            C("user_id", "int64", "User."),
            C("content_id", "int64", "Content."),
            C("device_id", "int64", "Device."),
            C("buffering_instances", "int64", "Buffering instances."),
            C("average_bitrate", "float64", "Average bitrate."),
            C("stream_start_time", "timestamp", "Stream start."),
            C("stream_end_time", "timestamp", "Stream end."),
            C("quality_change_type", "string", "Kind of quality change."),
        ],
        primary_key=["quality_event_id"],
        foreign_keys=[
            ForeignKey("date_key", "date"),
            ForeignKey("time_key", "time"),
            ForeignKey("user_id", "user"),
            ForeignKey("content_id", "content"),
            ForeignKey("device_id", "device"),
        ],
    ),
]

# --------------------------------------------------------------------------------------------
# Raw layer: what the sources hand over
# --------------------------------------------------------------------------------------------
RAW_TABLES = [
    Table(
        "users",
        "raw",
        "One row per user account in the accounts database extract.",
        [
            C("user_id", "int64", "Account id.", False),
            C("name", "string", "Display name."),
            C("email", "string", "Login email."),
            C("signup_date", "date", "Day the account was created."),
            C("country", "string", "Billing country (ISO code)."),
            C("plan", "string", "Subscription plan today."),
            C("segment", "string", "Taste segment from the personalisation team's model."),
        ],
        primary_key=["user_id"],
        database="raw",
    ),
    Table(
        "devices",
        "raw",
        "One row per registered device in the device registry extract.",
        [
            C("device_id", "int64", "Device id.", False),
            C("user_id", "int64", "Account the device is registered to."),
            C("device_type", "string", "tv, mobile, tablet or web."),
            C("os", "string", "Operating system."),
            C("app_version", "string", "App version the device last reported."),
            C("registered_at", "timestamp", "When the device was registered."),
        ],
        primary_key=["device_id"],
        database="raw",
    ),
    Table(
        "genres",
        "raw",
        "One row per genre in the catalogue taxonomy.",
        [C("genre_id", "int64", "Genre id.", False), C("genre_name", "string", "Genre name.")],
        primary_key=["genre_id"],
        database="raw",
    ),
    Table(
        "creators",
        "raw",
        "One row per studio or creator.",
        [
            C("creator_id", "int64", "Creator id.", False),
            C("creator_name", "string", "Studio or creator name."),
            C("country", "string", "Country of the studio."),
        ],
        primary_key=["creator_id"],
        database="raw",
    ),
    Table(
        "content_changes",
        "raw",
        "One row per change record of the content management system (full image after the change).",
        [
            C("content_id", "int64", "Title id.", False),
            C("title", "string", "Title."),
            C("genre_id", "int64", "Genre the title is filed under."),
            C("creator_id", "int64", "Studio or creator."),
            C("release_date", "date", "Release date."),
            C("content_type", "string", "movie or episode."),
            C("duration_seconds", "int64", "Running time in seconds."),
            C("changed_at", "timestamp", "When the change took effect.", False),
            C("change_seq", "int64", "Arrival sequence of the change record."),
        ],
        database="raw",
    ),
    Table(
        "viewing_events",
        "raw",
        "One row per event the player sent, in arrival order (event_id), with the dirt real logs have.",
        [
            C(
                "event_id",
                "int64",
                "Id assigned on arrival (arrival order, not event order).",
                False,
            ),
            C("session_id", "int64", "Playback session the player opened."),
            C("event_time", "timestamp", "Device clock, UTC."),
            C("user_id", "int64", "User."),
            C("content_id", "int64", "Title."),
            C("device_id", "int64", "Device."),
            C("action_type", "string", "play, pause, seek, heartbeat or stop."),
            C("position_seconds", "int64", "Playhead position when the event fired."),
            C("is_recommended", "boolean", "Playback started from a recommendation."),
            C("rec_event_id", "int64", "The recommendation that started it, if any."),
        ],
        primary_key=["event_id"],
        database="raw",
    ),
    Table(
        "recommendation_events",
        "raw",
        "One row per recommendation the recommender showed.",
        [
            C("rec_event_id", "int64", "Impression id.", False),
            C("user_id", "int64", "User."),
            C("content_id", "int64", "Recommended title."),
            C("algorithm", "string", "Algorithm that produced it."),
            C("shown_at", "timestamp", "When it was shown."),
            C("clicked_at", "timestamp", "When it was clicked; null if never."),
        ],
        primary_key=["rec_event_id"],
        database="raw",
    ),
    Table(
        "quality_events",
        "raw",
        "One row per quality event the player sent: start-up, rebuffer, bitrate change.",
        [
            C("quality_event_id", "int64", "Id assigned on arrival.", False),
            C("session_id", "int64", "Playback session."),
            C("event_time", "timestamp", "Device clock, UTC."),
            C("user_id", "int64", "User."),
            C("content_id", "int64", "Title."),
            C("device_id", "int64", "Device."),
            C("app_version", "string", "App version running the stream."),
            C("event_type", "string", "startup, rebuffer or bitrate_change."),
            C("duration_ms", "int64", "Start-up or stall duration in ms."),
            C("bitrate_kbps", "int64", "Bitrate in effect after the event."),
        ],
        primary_key=["quality_event_id"],
        database="raw",
    ),
]

# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
USER = Table(
    "user",
    role="dimension",
    grain="One row per user account.",
    scd_type=1,
    columns=[
        C("user_id", "int64", "Account id (also the user_key facts carry).", False),
        C("name", "string", "Display name (PII, overwritten on correction)."),
        C("email", "string", "Login email (PII, overwritten on correction)."),
        C("signup_date", "date", "Day the account was created."),
        C("country", "string", "Billing country."),
        C("plan", "string", "Subscription plan today."),
        C("segment", "string", "Taste segment from the personalisation model."),
    ],
    primary_key=["user_id"],
    business_key=["user_id"],
    description="Type 1: history of name/email is not wanted; plan history is out of scope.",
)

DEVICE = Table(
    "device",
    role="dimension",
    grain="One row per registered device.",
    scd_type=1,
    columns=[
        C("device_id", "int64", "Device id (also the device_key facts carry).", False),
        C("user_id", "int64", "Account the device belongs to."),
        C("device_type", "string", "tv, mobile, tablet or web."),
        C("os", "string", "Operating system."),
        C("app_version", "string", "Latest app version the device reported (Type 1)."),
        C("registered_at", "timestamp", "When the device was registered."),
    ],
    primary_key=["device_id"],
    business_key=["device_id"],
    foreign_keys=[ForeignKey("user_id", "user")],
    notes=(
        "app_version here is the latest one; quality by app version uses the version recorded "
        "on each stream's events.",
    ),
)

GENRE = Table(
    "genre",
    role="dimension",
    grain="One row per genre.",
    scd_type=1,
    columns=[
        C("genre_id", "int64", "Genre id.", False),
        C("genre_name", "string", "Genre name.", False),
    ],
    primary_key=["genre_id"],
    business_key=["genre_id"],
)

CREATOR = Table(
    "creator",
    role="dimension",
    grain="One row per studio or creator.",
    scd_type=1,
    columns=[
        C("creator_id", "int64", "Creator id.", False),
        C("creator_name", "string", "Studio or creator name.", False),
        C("country", "string", "Country of the studio."),
    ],
    primary_key=["creator_id"],
    business_key=["creator_id"],
)

CONTENT = Table(
    "content",
    role="dimension",
    grain="One row per version of a title: a new row when its genre or title changes.",
    scd_type=2,
    columns=[
        C(
            "content_sk",
            "int64",
            "Surrogate key of this version (hash of content_id, valid_from).",
            False,
        ),
        C("content_id", "int64", "Title id from the content management system.", False),
        C("title", "string", "Title (tracked)."),
        C("genre_id", "int64", "Genre the title was filed under (tracked)."),
        C("creator_id", "int64", "Studio or creator (never changes)."),
        C("release_date", "date", "Release date (never changes)."),
        C("content_type", "string", "movie or episode (never changes)."),
        C("duration_seconds", "int64", "Running time in seconds (never changes)."),
        C("valid_from", "timestamp", "Start of the version, inclusive.", False),
        C("valid_to", "timestamp", "End of the version, exclusive; 9999-12-31 if current.", False),
        C("is_current", "boolean", "The version valid today.", False),
    ],
    primary_key=["content_sk"],
    business_key=["content_id"],
    foreign_keys=[ForeignKey("genre_id", "genre"), ForeignKey("creator_id", "creator")],
)

_EVENT_FKS = [
    ForeignKey("date_key", "date"),
    ForeignKey("time_key", "time"),
    ForeignKey("user_id", "user"),
    ForeignKey("content_id", "content", point_in_time=True),
    ForeignKey("device_id", "device"),
]

VIEWING_EVENT = Table(
    "viewing_event",
    role="fact",
    grain="One row per playback event the player sent (play, pause, seek, heartbeat, stop), "
    "after removing duplicates and sessions that never played.",
    columns=[
        C("event_id", "int64", "Event id (arrival order).", False),
        C("event_time", "timestamp", "When the event happened (device clock, UTC).", False),
        C("date_key", "int64", "Day of event_time.", False),
        C("time_key", "int64", "Time of day of event_time (hhmmss).", False),
        C("user_id", "int64", "User.", False),
        C("content_id", "int64", "Title (business key; version by event_time).", False),
        C("device_id", "int64", "Device.", False),
        C("session_id", "int64", "Playback session.", False),
        C("action_type", "string", "play, pause, seek, heartbeat or stop.", False),
        C("position_seconds", "int64", "Playhead position, capped at the title's duration.", False),
        C("duration_seconds", "int64", "Running time of the title.", False),
        C(
            "viewing_duration",
            "int64",
            "Seconds played between the previous event and this one.",
            False,
        ),
        C(
            "completion_percentage",
            "float64",
            "Furthest position so far in the session / duration x 100.",
        ),
        C("is_recommended", "boolean", "Session started from a recommendation.", False),
        C("rec_event_id", "int64", "Recommendation that started the session, if any."),
    ],
    primary_key=["event_id"],
    foreign_keys=[*_EVENT_FKS, ForeignKey("rec_event_id", "recommendation_event")],
)

PLAYBACK_SESSION = Table(
    "playback_session",
    role="fact",
    grain="One row per playback session (one title on one device, from play to stop).",
    columns=[
        C("session_id", "int64", "Playback session.", False),
        C("user_id", "int64", "User.", False),
        C("content_id", "int64", "Title (business key).", False),
        C("content_sk", "int64", "Version of the title valid when the session started.", False),
        C("device_id", "int64", "Device.", False),
        C("date_key", "int64", "Day the session started.", False),
        C("time_key", "int64", "Time the session started.", False),
        C("started_at", "timestamp", "First event.", False),
        C("ended_at", "timestamp", "Last event.", False),
        C("is_recommended", "boolean", "Started from a recommendation.", False),
        C("rec_event_id", "int64", "Recommendation that started it."),
        C("event_count", "int64", "Events in the session.", False),
        C("pause_count", "int64", "Pauses.", False),
        C("seek_count", "int64", "Seeks.", False),
        C("seconds_played", "int64", "Seconds of playback (skipped parts not counted).", False),
        C("furthest_position", "int64", "Furthest playhead position reached.", False),
        C("duration_seconds", "int64", "Running time of the title.", False),
        C("completion_percentage", "float64", "furthest_position / duration x 100.", False),
        C("is_completed", "boolean", "furthest_position >= 90% of the duration.", False),
        C("app_version", "string", "App version that ran the stream."),
        C("startup_seconds", "float64", "Time to first frame."),
        C("rebuffer_count", "int64", "Stalls.", False),
        C("rebuffer_seconds", "float64", "Seconds stalled.", False),
        C("avg_bitrate_kbps", "float64", "Time-weighted average bitrate."),
    ],
    primary_key=["session_id"],
    foreign_keys=[
        ForeignKey("date_key", "date"),
        ForeignKey("time_key", "time"),
        ForeignKey("user_id", "user"),
        ForeignKey("content_sk", "content"),
        ForeignKey("device_id", "device"),
        ForeignKey("rec_event_id", "recommendation_event"),
    ],
    description="Added: the grain most questions are asked at, built from viewing_event.",
)

VIEWING_FACT = Table(
    "viewing_fact",
    role="aggregate",
    grain="One row per day, user, title and device: what was played that day.",
    columns=[
        C("date_key", "int64", "Day the playback happened (event date).", False),
        C("time_key", "int64", "Time of the day's first event for this row.", False),
        C("user_key", "int64", "User (user_id: the user dimension is Type 1).", False),
        C("content_key", "int64", "content_sk of the version valid at the first event.", False),
        C("device_key", "int64", "Device (device_id: Type 1).", False),
        C(
            "content_id",
            "int64",
            "Title business key (added for joins to the current version).",
            False,
        ),
        C("viewing_duration", "int64", "Seconds played that day.", False),
        C(
            "completion_percentage",
            "float64",
            "Furthest position reached that day / duration x 100.",
            False,
        ),
        C(
            "is_recommended",
            "boolean",
            "Any of the day's sessions came from a recommendation.",
            False,
        ),
        C("session_count", "int64", "Sessions with events that day (added).", False),
    ],
    primary_key=["date_key", "user_key", "content_key", "device_key"],
    foreign_keys=[
        ForeignKey("date_key", "date"),
        ForeignKey("time_key", "time"),
        ForeignKey("user_key", "user", "user_id"),
        ForeignKey("content_key", "content", "content_sk"),
        ForeignKey("device_key", "device", "device_id"),
    ],
    description="The seed's aggregate, built from viewing_event by the warehouse's ELT.",
)

RECOMMENDATION_EVENT = Table(
    "recommendation_event",
    role="fact",
    grain="One row per recommendation shown to a user.",
    columns=[
        C("rec_event_id", "int64", "Impression id.", False),
        C("date_key", "int64", "Day shown.", False),
        C("time_key", "int64", "Time shown (added).", False),
        C("user_id", "int64", "User.", False),
        C("content_id", "int64", "Recommended title.", False),
        C("recommendation_algorithm", "string", "Algorithm that produced it.", False),
        C("was_clicked", "boolean", "Clicked.", False),
        C(
            "was_watched",
            "boolean",
            "A playback session started from it (from viewing_event).",
            False,
        ),
        C("rec_shown_time", "timestamp", "When shown.", False),
        C("clicked_at", "timestamp", "When clicked (added)."),
        C("session_id", "int64", "Playback session it started (added)."),
    ],
    primary_key=["rec_event_id"],
    foreign_keys=[
        ForeignKey("date_key", "date"),
        ForeignKey("time_key", "time"),
        ForeignKey("user_id", "user"),
        ForeignKey("content_id", "content", point_in_time=True),
    ],
)

STREAMING_QUALITY_EVENT = Table(
    "streaming_quality_event",
    role="fact",
    grain="One row per quality event of a stream: start-up, rebuffer or bitrate change.",
    columns=[
        C("quality_event_id", "int64", "Quality event id.", False),
        C("date_key", "int64", "Day of the event.", False),
        C("time_key", "int64", "Time of the event.", False),
        C("user_id", "int64", "User.", False),
        C("content_id", "int64", "Title.", False),
        C("device_id", "int64", "Device.", False),
        C("session_id", "int64", "Playback session (added).", False),
        C("event_time", "timestamp", "When (added).", False),
        C("app_version", "string", "App version running the stream (added).", False),
        C("buffering_instances", "int64", "1 for a rebuffer, else 0.", False),
        C("rebuffer_seconds", "float64", "Stall length for a rebuffer, else 0 (added).", False),
        C("startup_seconds", "float64", "Time to first frame on the startup event (added)."),
        C(
            "average_bitrate",
            "float64",
            "Bitrate (kbps) in effect from this event to the next.",
            False,
        ),
        C("stream_start_time", "timestamp", "First event of the session.", False),
        C("stream_end_time", "timestamp", "Last event of the session.", False),
        C("quality_change_type", "string", "startup, rebuffer, bitrate_up or bitrate_down.", False),
    ],
    primary_key=["quality_event_id"],
    foreign_keys=[*_EVENT_FKS, ForeignKey("session_id", "playback_session")],
)

QUARANTINE = Table(
    "quarantine",
    role="raw",
    grain="One row per raw row that was not loaded, with the reason.",
    columns=[
        C("source", "string", "Raw table the row came from.", False),
        C("record_id", "int64", "Its id in that table.", False),
        C("reason", "string", "Why it was not loaded.", False),
        C("session_id", "int64", "Its session, when it has one."),
        C("detail", "string", "Extra context."),
    ],
    primary_key=["source", "record_id"],
)

CONTENT_DAILY = Table(
    "content_daily",
    role="aggregate",
    grain="One row per day and title with at least one session started.",
    database="mart",
    columns=[
        C("date_key", "int64", "Day the sessions started.", False),
        C("content_id", "int64", "Title.", False),
        C("sessions", "int64", "Sessions started.", False),
        C("viewers", "int64", "Distinct users.", False),
        C("hours_played", "float64", "Hours of playback in those sessions.", False),
        C("completions", "int64", "Completed sessions.", False),
    ],
    primary_key=["date_key", "content_id"],
)

QUALITY_DAILY = Table(
    "quality_daily",
    role="aggregate",
    grain="One row per day, device type, OS and app version.",
    database="mart",
    columns=[
        C("date_key", "int64", "Day the sessions started.", False),
        C("device_type", "string", "Device type.", False),
        C("os", "string", "Operating system.", False),
        C("app_version", "string", "App version that ran the streams.", False),
        C("sessions", "int64", "Sessions.", False),
        C("play_seconds", "int64", "Seconds played.", False),
        C("rebuffer_seconds", "float64", "Seconds stalled.", False),
    ],
    primary_key=["date_key", "device_type", "os", "app_version"],
)

DATE = DATE_TABLE
TIME = TIME_TABLE

TABLES = [
    USER,
    DEVICE,
    DATE,
    TIME,
    GENRE,
    CREATOR,
    CONTENT,
    VIEWING_EVENT,
    PLAYBACK_SESSION,
    VIEWING_FACT,
    RECOMMENDATION_EVENT,
    STREAMING_QUALITY_EVENT,
    QUARANTINE,
    CONTENT_DAILY,
    QUALITY_DAILY,
]

#: Point-in-time references are checked against the business key by ``check_model``.
BY_NAME = {t.name: t for t in [*TABLES, *RAW_TABLES]}
