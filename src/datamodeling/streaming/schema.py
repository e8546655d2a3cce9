"""The video streaming model: the book's ``dim_`` / ``fact_`` tables, and the brief's names as views.

Layers:

* ``raw``: what the sources hand over. The player's event log (``viewing_events``,
  ``quality_events``), the recommender's impression log (``recommendation_events``), the content
  management system's change log (``content_changes``) and extracts of users and devices.
* main schema: the dimensional model (book/conventions.md). Event-level facts
  (``fact_viewing_event``, ``fact_recommendation_event``, ``fact_quality_event``) are the system
  of record; ``fact_playback_session`` and ``fact_playback_hour`` are built from the viewing
  events, never generated separately. The brief's tables (``user``, ``content``,
  ``viewing_event``, ``viewing_fact``, ...) are views over them with the brief's columns
  (:data:`BRIEF_VIEWS`), so the brief's names and columns still answer.
* ``mart``: aggregates rebuilt from the facts, among them ``viewing_daily``, the brief's daily
  ``viewing_fact``.

SCD decisions (argued in notebook 02): ``dim_content`` is Type 2 on its genres and title, because
the catalogue team re-tags titles and "what did people choose to watch" must use the genre that
was shown when they chose; a withdrawn title keeps a final version flagged ``is_deleted``.
``dim_user`` and ``dim_device`` are Type 1 (corrections and PII overwrite; the app version a
stream ran on is recorded on the stream's own events, not read from the device). Every dimension
has the reserved Unknown (-1) and Not applicable (-2) members; facts carry ``content_sk``, the
version valid at the event, next to the business key ``content_id`` (Kimball's type 7).
"""

from __future__ import annotations

from dataclasses import replace

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
        [
            C("genre_id", "int64", "Genre id.", False),
            C("genre_name", "string", "Genre name."),
        ],
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
        foreign_keys=[
            ForeignKey("genre_id", "genre"),
            ForeignKey("creator_id", "creator"),
        ],
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
            C(
                "segment",
                "string",
                "Taste segment from the personalisation team's model.",
            ),
            C("time_zone", "string", "Home time zone of the account (IANA name)."),
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
        [
            C("genre_id", "int64", "Genre id.", False),
            C("genre_name", "string", "Genre name."),
        ],
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
            C("genre_id", "int64", "Primary genre the title is filed under."),
            C(
                "genre_list",
                "string",
                "Every genre of the title, primary first: '3,7'.",
            ),
            C("creator_id", "int64", "Studio or creator."),
            C("release_date", "date", "Release date."),
            C("content_type", "string", "movie or episode."),
            C("duration_seconds", "int64", "Running time in seconds."),
            C("changed_at", "timestamp", "When the change took effect.", False),
            C("is_deleted", "boolean", "The title was withdrawn (its licence ended)."),
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
_INFERRED = C(
    "is_inferred",
    "boolean",
    "An inferred member: a key the facts name and the source extract lacks.",
    False,
)

DIM_USER = Table(
    "dim_user",
    role="dimension",
    grain="One row per user account.",
    scd_type=1,
    columns=[
        C(
            "user_id",
            "int64",
            "Account id, the key facts carry (type 1: no versions).",
            False,
        ),
        C("name", "string", "Display name (PII, overwritten on correction)."),
        C("email", "string", "Login email (PII, overwritten on correction)."),
        C("signup_date", "date", "Day the account was created."),
        C("country", "string", "Billing country."),
        C("plan", "string", "Subscription plan today."),
        C("segment", "string", "Taste segment from the personalisation model."),
        C(
            "time_zone",
            "string",
            "Home time zone (IANA): the clock of the viewer's local hour.",
        ),
        _INFERRED,
    ],
    primary_key=["user_id"],
    business_key=["user_id"],
    description="Type 1: history of name/email is not wanted; plan history is out of scope.",
)

DIM_DEVICE = Table(
    "dim_device",
    role="dimension",
    grain="One row per registered device.",
    scd_type=1,
    columns=[
        C("device_id", "int64", "Device id, the key facts carry (type 1).", False),
        C("user_id", "int64", "Account the device belongs to (-1 when unknown)."),
        C("device_type", "string", "tv, mobile, tablet or web."),
        C("os", "string", "Operating system."),
        C("app_version", "string", "Latest app version the device reported (Type 1)."),
        C("registered_at", "timestamp", "When the device was registered."),
        _INFERRED,
    ],
    primary_key=["device_id"],
    business_key=["device_id"],
    foreign_keys=[ForeignKey("user_id", "dim_user")],
    notes=(
        "app_version here is the latest one; quality by app version uses the version recorded "
        "on each stream's events.",
        "Devices registered after the registry extract are inferred members (Unknown type).",
    ),
)

DIM_GENRE = Table(
    "dim_genre",
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

DIM_CREATOR = Table(
    "dim_creator",
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

DIM_CONTENT = Table(
    "dim_content",
    role="dimension",
    grain="One row per version of a title: a new row when its title or genres change, and a "
    "final row when it is withdrawn.",
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
        C("genre_id", "int64", "Primary genre the title was filed under (tracked)."),
        C(
            "genre_list",
            "string",
            "Every genre of the version, primary first, for display; analyse them through "
            "bridge_title_genre (tracked).",
        ),
        C("creator_id", "int64", "Studio or creator (never changes)."),
        C("release_date", "date", "Release date (never changes)."),
        C("content_type", "string", "movie or episode (never changes)."),
        C("duration_seconds", "int64", "Running time in seconds (never changes)."),
        C("valid_from", "timestamp", "Start of the version, inclusive.", False),
        C(
            "valid_to",
            "timestamp",
            "End of the version, exclusive; 9999-12-31 if current.",
            False,
        ),
        C("is_current", "boolean", "The version valid today.", False),
        C("is_deleted", "boolean", "The title was withdrawn at valid_from.", False),
        _INFERRED,
    ],
    primary_key=["content_sk"],
    business_key=["content_id"],
    foreign_keys=[
        ForeignKey("genre_id", "dim_genre"),
        ForeignKey("creator_id", "dim_creator"),
    ],
)

DIM_DATE = replace(
    DATE_TABLE,
    name="dim_date",
    description="Generated calendar; plays the UTC day (date_key) and the viewer's local day "
    "(local_date_key): a role-playing dimension.",
)
DIM_TIME = replace(TIME_TABLE, name="dim_time", grain="One row per second of the day.")

BRIDGE_TITLE_GENRE = Table(
    "bridge_title_genre",
    role="bridge",
    grain="One row per version of a title and genre it is listed under.",
    columns=[
        C("content_sk", "int64", "Version of the title.", False),
        C("genre_id", "int64", "One of its genres.", False),
        C(
            "genre_rank",
            "int64",
            "1 for the primary genre, then the CMS's order.",
            False,
        ),
        C("is_primary", "boolean", "The primary genre (dim_content.genre_id).", False),
        C(
            "weighting_factor",
            "float64",
            "1 / number of genres of the version: the weights of a version add up to 1.",
            False,
        ),
    ],
    primary_key=["content_sk", "genre_id"],
    foreign_keys=[
        ForeignKey("content_sk", "dim_content"),
        ForeignKey("genre_id", "dim_genre"),
    ],
    description="Multi-valued genres: facts reach genres through this bridge. Weighted, a "
    "title's hours split across its genres and add up to the total; unweighted, each genre "
    "counts the title's hours whole and the genres add up to more than the total.",
)

_CONTENT_FKS = [
    ForeignKey("content_sk", "dim_content"),
    ForeignKey("content_id", "dim_content", point_in_time=True),
]
_EVENT_FKS = [
    ForeignKey("date_key", "dim_date"),
    ForeignKey("time_key", "dim_time"),
    ForeignKey("user_id", "dim_user"),
    *_CONTENT_FKS,
    ForeignKey("device_id", "dim_device"),
]
_CONTENT_KEYS = [
    C(
        "content_id",
        "int64",
        "Title, business key (type 7: join the current version).",
        False,
    ),
    C(
        "content_sk",
        "int64",
        "Version of the title valid at the event, resolved at load time (type 7).",
        False,
    ),
]
_REC_EVENT_ID = C(
    "rec_event_id",
    "int64",
    "Recommendation that started the session; -2 (Not applicable) for an organic play. A "
    "degenerate reference to fact_recommendation_event.",
    False,
)

FACT_VIEWING_EVENT = Table(
    "fact_viewing_event",
    role="fact",
    grain="One row per playback event the player sent (play, pause, seek, heartbeat, stop), "
    "after removing duplicates and sessions that never played.",
    columns=[
        C("event_id", "int64", "Event id (arrival order).", False),
        C(
            "event_time",
            "timestamp",
            "When the event happened (device clock, UTC).",
            False,
        ),
        C("date_key", "int64", "UTC day of event_time.", False),
        C("time_key", "int64", "UTC time of day of event_time (hhmmss).", False),
        C("user_id", "int64", "User.", False),
        *_CONTENT_KEYS,
        C("device_id", "int64", "Device.", False),
        C("session_id", "int64", "Playback session (degenerate dimension).", False),
        C("action_type", "string", "play, pause, seek, heartbeat or stop.", False),
        C(
            "position_seconds",
            "int64",
            "Playhead position, capped at the title's duration.",
            False,
        ),
        C("duration_seconds", "int64", "Running time of the title (NULL if unknown)."),
        C(
            "played_seconds",
            "int64",
            "Seconds played in the stretch that this event closes: the playhead's advance since "
            "the previous event when that one was a play or a heartbeat, else 0 (the brief's "
            "viewing_duration).",
            False,
        ),
        C(
            "completion_percentage",
            "float64",
            "Furthest position so far in the session / duration x 100.",
        ),
        C("is_recommended", "boolean", "Session started from a recommendation.", False),
        _REC_EVENT_ID,
    ],
    primary_key=["event_id"],
    foreign_keys=_EVENT_FKS,
)

FACT_PLAYBACK_SESSION = Table(
    "fact_playback_session",
    role="fact",
    grain="One row per playback session (one title on one device, from play to stop).",
    columns=[
        C("session_id", "int64", "Playback session.", False),
        C("user_id", "int64", "User.", False),
        C("content_id", "int64", "Title, business key (type 7).", False),
        C(
            "content_sk",
            "int64",
            "Version of the title valid when the session started (type 7).",
            False,
        ),
        C("device_id", "int64", "Device.", False),
        C("date_key", "int64", "UTC day the session started.", False),
        C("time_key", "int64", "UTC time the session started.", False),
        C("started_at", "timestamp", "First event.", False),
        C("ended_at", "timestamp", "Last event.", False),
        C("is_recommended", "boolean", "Started from a recommendation.", False),
        _REC_EVENT_ID,
        C("event_count", "int64", "Events in the session.", False),
        C("pause_count", "int64", "Pauses.", False),
        C("seek_count", "int64", "Seeks.", False),
        C(
            "played_seconds",
            "int64",
            "Seconds of playback (skipped parts not counted).",
            False,
        ),
        C(
            "furthest_position_seconds",
            "int64",
            "Furthest playhead position reached, by playing or by seeking.",
            False,
        ),
        C("duration_seconds", "int64", "Running time of the title (NULL if unknown)."),
        C(
            "completion_percentage",
            "float64",
            "furthest_position_seconds / duration x 100.",
        ),
        C(
            "is_completed",
            "boolean",
            "furthest_position_seconds >= 90% of the duration (false if the duration is unknown).",
            False,
        ),
        C("app_version", "string", "App version that ran the stream."),
        C("startup_ms", "int64", "Time to first frame."),
        C("rebuffer_count", "int64", "Stalls.", False),
        C("rebuffer_ms", "int64", "Time stalled.", False),
        C("avg_bitrate_kbps", "float64", "Time-weighted average bitrate."),
    ],
    primary_key=["session_id"],
    foreign_keys=[
        ForeignKey("date_key", "dim_date"),
        ForeignKey("time_key", "dim_time"),
        ForeignKey("user_id", "dim_user"),
        *_CONTENT_FKS,
        ForeignKey("device_id", "dim_device"),
    ],
    description="Added: the grain most questions are asked at, built from fact_viewing_event.",
)

FACT_PLAYBACK_HOUR = Table(
    "fact_playback_hour",
    role="fact",
    grain="One row per playback session and hour of play, an hour starting at every hour "
    "boundary of UTC and of the viewer's local clock: a stretch of playback that crosses "
    "midnight or an hour is split, each second booked where it was played.",
    columns=[
        C("session_id", "int64", "Playback session.", False),
        C("date_key", "int64", "UTC day of the seconds.", False),
        C("hour", "int64", "UTC hour of the seconds, 0-23.", False),
        C(
            "local_date_key",
            "int64",
            "The viewer's local day (dim_user.time_zone).",
            False,
        ),
        C("local_hour", "int64", "The viewer's local hour, 0-23.", False),
        C("user_id", "int64", "User.", False),
        C("content_id", "int64", "Title, business key (type 7).", False),
        C(
            "content_sk",
            "int64",
            "Version valid when the session started (type 7).",
            False,
        ),
        C("device_id", "int64", "Device.", False),
        C(
            "is_recommended",
            "boolean",
            "The session started from a recommendation.",
            False,
        ),
        C("played_seconds", "int64", "Seconds played in this hour.", False),
        C(
            "furthest_position_seconds",
            "int64",
            "Furthest playhead position reached by playing in this hour.",
            False,
        ),
    ],
    primary_key=["session_id", "date_key", "hour", "local_date_key", "local_hour"],
    foreign_keys=[
        ForeignKey("date_key", "dim_date"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
        ForeignKey("user_id", "dim_user"),
        *_CONTENT_FKS,
        ForeignKey("device_id", "dim_device"),
    ],
    description="Added: seconds played where they were played. A stretch between two player "
    "events is split at hour boundaries in proportion to its wall-clock time.",
)

VIEWING_DAILY = Table(
    "viewing_daily",
    role="aggregate",
    grain="One row per UTC day, user, title version and device with playback that day.",
    database="mart",
    columns=[
        C("date_key", "int64", "UTC day the seconds were played.", False),
        C("user_key", "int64", "User (user_id: the user dimension is Type 1).", False),
        C(
            "content_key",
            "int64",
            "content_sk of the version the session started on.",
            False,
        ),
        C("device_key", "int64", "Device (device_id: Type 1).", False),
        C(
            "content_id",
            "int64",
            "Title business key (for the current version).",
            False,
        ),
        C(
            "played_seconds",
            "int64",
            "Seconds played that day (the brief's viewing_duration).",
            False,
        ),
        C(
            "furthest_position_seconds",
            "int64",
            "Furthest playhead position reached by playing that day.",
            False,
        ),
        C(
            "completion_percentage",
            "float64",
            "furthest_position_seconds / duration x 100.",
        ),
        C(
            "is_recommended",
            "boolean",
            "Any of the day's sessions came from a recommendation.",
            False,
        ),
        C("session_count", "int64", "Sessions with playback that day.", False),
    ],
    primary_key=["date_key", "user_key", "content_key", "device_key"],
    foreign_keys=[
        ForeignKey("date_key", "dim_date"),
        ForeignKey("user_key", "dim_user", "user_id"),
        ForeignKey("content_key", "dim_content", "content_sk"),
        ForeignKey("device_key", "dim_device", "device_id"),
    ],
    description="The brief's viewing_fact, built from fact_playback_hour. The brief's time_key "
    "is dropped: a daily row has no time of day (the view shows -2, Not applicable).",
)

FACT_RECOMMENDATION_EVENT = Table(
    "fact_recommendation_event",
    role="fact",
    grain="One row per recommendation shown to a user.",
    columns=[
        C("rec_event_id", "int64", "Impression id.", False),
        C("date_key", "int64", "UTC day shown.", False),
        C("time_key", "int64", "UTC time shown (added).", False),
        C("user_id", "int64", "User.", False),
        *_CONTENT_KEYS,
        C("recommendation_algorithm", "string", "Algorithm that produced it.", False),
        C("was_clicked", "boolean", "Clicked.", False),
        C(
            "was_watched",
            "boolean",
            "A playback session started from it (from the viewing events).",
            False,
        ),
        C("rec_shown_time", "timestamp", "When shown.", False),
        C("clicked_at", "timestamp", "When clicked (added; NULL if not clicked)."),
        C(
            "session_id",
            "int64",
            "Playback session it started (added); -2 (Not applicable) if none.",
            False,
        ),
    ],
    primary_key=["rec_event_id"],
    foreign_keys=[
        ForeignKey("date_key", "dim_date"),
        ForeignKey("time_key", "dim_time"),
        ForeignKey("user_id", "dim_user"),
        *_CONTENT_FKS,
    ],
)

FACT_QUALITY_EVENT = Table(
    "fact_quality_event",
    role="fact",
    grain="One row per quality event of a stream: start-up, rebuffer or bitrate change.",
    columns=[
        C("quality_event_id", "int64", "Quality event id.", False),
        C("date_key", "int64", "UTC day of the event.", False),
        C("time_key", "int64", "UTC time of the event.", False),
        C("user_id", "int64", "User.", False),
        *_CONTENT_KEYS,
        C("device_id", "int64", "Device.", False),
        C(
            "session_id",
            "int64",
            "Playback session (degenerate dimension; added).",
            False,
        ),
        C("event_time", "timestamp", "When (added).", False),
        C("app_version", "string", "App version running the stream (added).", False),
        C("buffering_instances", "int64", "1 for a rebuffer, else 0.", False),
        C(
            "rebuffer_ms",
            "int64",
            "Stall length for a rebuffer, else 0 (added).",
            False,
        ),
        C("startup_ms", "int64", "Time to first frame on the startup event (added)."),
        C(
            "average_bitrate",
            "int64",
            "Bitrate (kbps) in effect from this event to the next.",
            False,
        ),
        C("stream_start_time", "timestamp", "First event of the session.", False),
        C("stream_end_time", "timestamp", "Last event of the session.", False),
        C(
            "quality_change_type",
            "string",
            "startup, rebuffer, bitrate_up or bitrate_down.",
            False,
        ),
    ],
    primary_key=["quality_event_id"],
    foreign_keys=_EVENT_FKS,
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
        C(
            "event_date",
            "date",
            "Day the record belongs to (its session's start, the day an "
            "impression was shown, the day of a change).",
        ),
        C("landing_date", "date", "Day the source handed the record over."),
    ],
    primary_key=["source", "record_id"],
)

CONTENT_DAILY = Table(
    "content_daily",
    role="aggregate",
    grain="One row per UTC day and title with at least one session started.",
    database="mart",
    columns=[
        C("date_key", "int64", "UTC day the sessions started.", False),
        C("content_id", "int64", "Title.", False),
        C("sessions", "int64", "Sessions started.", False),
        C("viewers", "int64", "Distinct users.", False),
        C("played_seconds", "int64", "Seconds of playback in those sessions.", False),
        C("completions", "int64", "Completed sessions.", False),
    ],
    primary_key=["date_key", "content_id"],
)

QUALITY_DAILY = Table(
    "quality_daily",
    role="aggregate",
    grain="One row per UTC day, device type, OS and app version.",
    database="mart",
    columns=[
        C("date_key", "int64", "UTC day the sessions started.", False),
        C("device_type", "string", "Device type.", False),
        C("os", "string", "Operating system.", False),
        C("app_version", "string", "App version that ran the streams.", False),
        C("sessions", "int64", "Sessions.", False),
        C("played_seconds", "int64", "Seconds played.", False),
        C("rebuffer_ms", "int64", "Time stalled.", False),
    ],
    primary_key=["date_key", "device_type", "os", "app_version"],
)

TABLES = [
    DIM_USER,
    DIM_DEVICE,
    DIM_DATE,
    DIM_TIME,
    DIM_GENRE,
    DIM_CREATOR,
    DIM_CONTENT,
    BRIDGE_TITLE_GENRE,
    FACT_VIEWING_EVENT,
    FACT_PLAYBACK_SESSION,
    FACT_PLAYBACK_HOUR,
    FACT_RECOMMENDATION_EVENT,
    FACT_QUALITY_EVENT,
    QUARANTINE,
    VIEWING_DAILY,
    CONTENT_DAILY,
    QUALITY_DAILY,
]

#: The brief's tables, as views over the model with the brief's columns (``SEED_TABLES``), so
#: that a query written against the brief's schema runs verbatim. Dimensions show every column;
#: facts rename the columns the book renamed. ``viewing_fact.time_key`` is -2 (Not applicable):
#: a daily row has no time of day.
BRIEF_VIEWS = {
    "user": "SELECT * FROM dim_user",
    "device": "SELECT * FROM dim_device",
    "date": "SELECT * FROM dim_date",
    "time": "SELECT * FROM dim_time",
    "genre": "SELECT * FROM dim_genre",
    "creator": "SELECT * FROM dim_creator",
    "content": "SELECT * FROM dim_content",
    "viewing_event": (
        "SELECT event_id, date_key, time_key, user_id, content_id, device_id, session_id, "
        "event_time, played_seconds AS viewing_duration, action_type, position_seconds, "
        "duration_seconds, is_recommended, completion_percentage FROM fact_viewing_event"
    ),
    "viewing_fact": (
        "SELECT date_key, -2 AS time_key, user_key, content_key, device_key, "
        "played_seconds AS viewing_duration, completion_percentage, is_recommended "
        "FROM mart.viewing_daily"
    ),
    "recommendation_event": (
        "SELECT rec_event_id, date_key, user_id, content_id, recommendation_algorithm, "
        "was_clicked, was_watched, rec_shown_time FROM fact_recommendation_event"
    ),
    "streaming_quality_event": (
        "SELECT quality_event_id, date_key, time_key, user_id, content_id, device_id, "
        "buffering_instances, average_bitrate, "
        "stream_start_time, stream_end_time, quality_change_type FROM fact_quality_event"
    ),
}

BY_NAME = {t.name: t for t in [*TABLES, *RAW_TABLES]}
