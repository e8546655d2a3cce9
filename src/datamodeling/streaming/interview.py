"""The video streaming mock interview: prompt, 45-minute script, rubric, drills, a design task,
and a metric investigation.

The design task (profiles inside a household account) refers to the existing model through
``schema`` by business key, so it holds whether the account table is ``user`` or ``dim_user``.
The investigation's cause is planted by the generator (``generate.PLANTED["incident"]``).
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
from datamodeling.schema import Column, ForeignKey, Table
from datamodeling.streaming.generate import PLANTED

C = Column

PROMPT = (
    "We stream films and series to TVs, phones and browsers. The content team wants to know "
    "what people watch and finish, the product team how recommendations perform, and "
    "engineering how often streams stall, by device and app version. Design the warehouse; "
    "the player sends events every few seconds."
)

PHASES = (
    Phase(
        "Clarify",
        5,
        asks="“Where would you like to start?”",
        listens_for="Definitions of 'watched', 'completed' and 'a stall', and the event "
        "volume, before tables.",
        strong="Asks what counts as a view (any play, or 2 minutes?), whether completion means "
        "reaching 90 % of the running time, whether a recommendation 'works' when clicked or "
        "when watched, which app version a stall belongs to, and how often the player sends "
        "heartbeats.",
        acceptable="Defines completion and a view, asks about volume.",
        weak="Starts with a `views` table with a watched_minutes column.",
    ),
    Phase(
        "Processes and grain",
        10,
        asks="“What are your facts?”",
        listens_for="Playback, recommendation and quality as processes; event and session "
        "grains stated.",
        strong="'One row per playback event the player sent' as the atomic fact, 'one row per "
        "playback session (a title on a device, play to stop)' built from it, 'one row per "
        "recommendation shown', 'one row per quality event'; names the seed's daily viewing "
        "table as an aggregate.",
        acceptable="Sessions and recommendations at the right grain, events kept when asked.",
        weak="A daily per-user-per-title table as the only fact: time of day and pauses are gone.",
    ),
    Phase(
        "Dimensions and facts",
        12,
        asks="“What changes over time, and what do you sum?”",
        listens_for="A history choice per attribute; additive measures with units.",
        strong="Content as type 2 (a title refiled to another genre keeps its old genre for "
        "old sessions); user and device type 1 with the reason; the app version recorded on "
        "each stream, not read from the device; seconds played as an integer, completion "
        "computed from furthest position and running time.",
        acceptable="The right dimensions, genre history argued when asked.",
        weak="Reads the app version from the device dimension; stores completion percentages "
        "and averages them.",
    ),
    Phase(
        "Metrics in SQL",
        10,
        asks="“Completion rate by genre, and recommendation click-through.”",
        listens_for="Ratios of sums at the grain named; genre as of the session.",
        strong="Completed sessions / sessions per genre of the version at session start; "
        "click-through as clicks / impressions per algorithm; says the mean of per-title "
        "rates is not the genre's rate.",
        acceptable="Correct after one hint about the genre version or the ratio of sums.",
        weak="AVG(completion_percentage) over events; genre from the current content row.",
    ),
    Phase(
        "Scale and trade-offs",
        8,
        asks="“Heartbeats every 10 seconds from 50 million devices. What now?”",
        listens_for="Session-level aggregation, late and out-of-order events, partitions.",
        strong="Sessionise in the pipeline and keep the session fact for most questions; keep "
        "raw events partitioned by day for a shorter retention; order events by event time "
        "within a session, not by arrival; reprocess late sessions in a lookback window; a "
        "quality mart by day, device and app version.",
        acceptable="Partitioning and the session fact, no word on ordering.",
        weak="Keeps only daily aggregates, or orders events by id.",
    ),
)

DRILLS = (
    Drill(
        "session-grain",
        "Why build a session fact? You have the events.",
        "grain",
        "Most questions are asked per session: did they finish, did it stall, did it start "
        "from a recommendation. From events, each needs a window over a session's events "
        "ordered by time; the session fact does it once, at load, and keeps additive columns "
        "(seconds played, stalls, stall seconds) so any rollup is a SUM. The events stay, at "
        "their own grain, for the questions sessions cannot answer (where people pause).",
        (
            (
                "Sessions are smaller, so drop the events.",
                "Loses pause and seek positions and the ability to re-sessionise.",
            ),
            (
                "Compute sessions in every query.",
                "Each analyst re-derives it differently; the numbers stop agreeing.",
            ),
        ),
    ),
    Drill(
        "viewing-fact-from-seed",
        "The brief's viewing_fact is one row per day, user, title and device. Why is it not "
        "your fact?",
        "star schema",
        "It is an aggregate of the playback facts, and I build it, because the brief's queries "
        "use it. As the fact it would be too coarse: a session across midnight is split, a "
        "title watched twice a day is one row, and the time of day, pauses and stalls are gone. "
        "The star's facts are at the grain the player gives (events, sessions); marts like "
        "viewing_fact are derived from them and can be rebuilt.",
        (
            (
                "It is what the brief gives, so it is the model.",
                "Keeps the brief's gaps; hour-of-day viewing becomes impossible.",
            ),
            (
                "Replace it with a wide table of everything.",
                "Loses the shared dimensions and the history of content.",
            ),
        ),
    ),
    Drill(
        "recommendation-fact",
        "Is a recommendation a dimension of the session, or a fact?",
        "fact vs dimension",
        "A fact: showing a recommendation is an event with its own time, user, title and "
        "algorithm, and most are never clicked, so they cannot live on sessions. The session "
        "carries the id of the recommendation that started it (a foreign key to the "
        "recommendation fact), which links the two processes: click-through is clicks / "
        "impressions on the recommendation fact, watch-through follows the link.",
        (
            (
                "A flag is_recommended on the session is enough.",
                "Cannot count impressions that were never clicked, so no click-through.",
            ),
            (
                "A dimension of algorithms.",
                "The algorithm is a dimension; the impressions are the fact.",
            ),
        ),
    ),
    Drill(
        "genre-refiled",
        "A title moved from Drama to Thriller last month. Which genre gets last year's hours?",
        "SCD type",
        "Drama, if the business reads genre hours 'as they were', which is how the content "
        "team sets budgets per genre. So content is type 2 on genre and title, and the "
        "session stores content_sk, the version valid when the session started. Running time "
        "and release date never change (type 0). For 'hours by today's genre', join the "
        "business key to the current row. I would ask which one the dashboard means.",
        (
            (
                "Thriller, that's the genre now.",
                "Restates history; Drama's hours for last year drop after a refile.",
            ),
            (
                "Type 2 on every column of the title.",
                "Corrections of a typo create versions nobody wants.",
            ),
        ),
    ),
    Drill(
        "app-version-on-device",
        "Stalls by app version: why not read the version from the device table?",
        "SCD type",
        "Because the device dimension is type 1: it holds the version the device runs today, "
        "so every past stall would be blamed on today's release. The version that ran the "
        "stream is a fact about the stream, so it is recorded on the session and on the "
        "quality events. Alternatively the device becomes type 2 on app_version and the fact "
        "stores the device version's surrogate key, resolved at the stream's time; for an "
        "attribute that changes every few weeks on millions of devices, the column on the fact "
        "is simpler.",
        (
            (
                "Join on device_id and take app_version.",
                "Attributes last month's stalls to this month's release.",
            ),
            (
                "Keep the version only in the raw events.",
                "Every quality query has to go back to raw events.",
            ),
        ),
    ),
    Drill(
        "content-sk",
        "The session has content_id. Why also store content_sk?",
        "surrogate keys",
        "content_id names the title; content_sk names the version of the title valid when the "
        "session started (its genre and name then). The build resolves it once, at load, with "
        "an as-of join, so every query joins on one integer and gets the right genre with no "
        "time condition. content_id stays beside it for 'as it is now' (join to the current "
        "row): both keys, Kimball's type 7. The surrogate is a hash of content_id and "
        "valid_from, so a rebuild gives the same keys.",
        (
            (
                "It's redundant: content_id is enough.",
                "Every genre query must then add valid_from <= started_at < valid_to, and the "
                "one that forgets it fans out.",
            ),
            (
                "Use a sequence number for content_sk.",
                "A rebuild renumbers versions and breaks every fact that stored the old keys.",
            ),
        ),
    ),
    Drill(
        "completion-average",
        "Completion by genre: average the titles' completion rates?",
        "grain",
        "No: a title watched twice weighs as much as one watched ten thousand times. The rate "
        "is completed sessions / sessions, summed at the grain the question names (sessions), "
        "then divided. I store the counts (sessions, completions) in marts and never a rate, "
        "so any rollup stays a ratio of sums.",
        (
            (
                "AVG(completion_percentage).",
                "Averages a percentage over events or titles; weights are wrong.",
            ),
            (
                "Store the rate in the daily mart.",
                "The next rollup averages averages.",
            ),
        ),
    ),
    Drill(
        "out-of-order-events",
        "Heartbeats arrive late and out of order. What breaks?",
        "late-arriving data",
        "Anything computed from consecutive events: seconds played, furthest position, pauses. "
        "So the build orders a session's events by event time (device clock), with a stable "
        "tie-break, never by id or arrival; a late event makes the session rebuilt, within a "
        "lookback window; events after the window are quarantined with a reason and counted. "
        "The session's date is its start, so late events do not move it.",
        (
            (
                "Order by event_id.",
                "Ids record arrival; a late event lands in the wrong place.",
            ),
            (
                "Drop late events.",
                "Drops watch time silently, more on bad networks and phones.",
            ),
        ),
    ),
    Drill(
        "genres-bridge",
        "A title can have several genres. Your content row has one genre_id.",
        "bridge tables",
        "Then title to genre is many-to-many: a bridge keyed by content version and genre, "
        "with a weight summing to 1 per title when hours must add up. Hours by genre joins "
        "sessions to the bridge through content_sk; without weights, a two-genre title counts "
        "in both and the genre totals exceed the total, which the report must say. The "
        "primary genre stays on the content row for simple reports.",
        (
            (
                "A genres string column: 'Drama|Thriller'.",
                "LIKE filters and string splits in every query, no integrity checks.",
            ),
            (
                "One content row per genre.",
                "Duplicates the title: every session join double counts.",
            ),
        ),
    ),
    Drill(
        "100x-heartbeats",
        "Ten times the devices, heartbeats every 10 seconds.",
        "scale",
        "Events grow, the model does not change. Sessionise in the pipeline (streaming or "
        "micro-batch) and load sessions; keep raw events partitioned by date with a shorter "
        "retention; marts by day, device type and app version for the quality dashboard; "
        "approximate distinct viewers (HyperLogLog) where exact counts are not needed. The "
        "session fact stays small enough for ad-hoc questions.",
        (
            (
                "Sample 1 % of the events.",
                "Stalls are rare; sampling loses them, and per-user questions break.",
            ),
            (
                "Aggregate events into daily rows at ingest.",
                "Loses sessions and time of day for good.",
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# The schema-evolution task: profiles inside a household account
# --------------------------------------------------------------------------------------------
TASK = DesignTask(
    name="streaming.profiles",
    practice="streaming",
    title="Profiles inside a household account",
    requirement=(
        "Accounts become households. An account (the payer, with the plan) has up to five "
        "profiles; each profile has a name and a maturity setting (kids, teen or adult) that "
        "parents change, and its own watch history and recommendations. Plans change too, and "
        "the business now wants their history. Devices are shared: the living-room TV is used "
        "by several profiles, and a profile watches on several devices."
    ),
    source={
        "profiles (change log)": "profile_id, user_id (the account), profile_name, maturity, "
        "updated_at, is_deleted",
        "playback events": "as today, plus profile_id",
        "accounts (change log)": "user_id, plan, updated_at",
    },
    questions=(
        "Hours watched per month by profile maturity, as it was set when watching.",
        "Active profiles per account per month, by the plan the account was on that month.",
        "Recommendation click-through per profile.",
        "How many profiles watch on each device.",
    ),
    reference_question="Seconds played by profile maturity, account plan and day.",
    entities=(
        Entity(
            "account",
            "the account",
            keys=("user_id", "account_id"),
            model_key=("user_id",),
            slice_by=("plan",),
        ),
        Entity("profile", "the profile", keys=("profile_id",), slice_by=("maturity",)),
        Entity(
            "device",
            "the device",
            keys=("device_id",),
            model_key=("device_id",),
            slice_by=("device_type",),
        ),
        Entity("content", "the title", keys=("content_id",), model_key=("content_id",)),
        Entity(
            "session",
            "a playback session",
            keys=("session_id",),
            model_key=("session_id",),
            event=True,
        ),
        Entity(
            "date",
            "the day",
            keys=("date_key",),
            model_key=("date_key",),
            time=True,
            slice_by=("month_start",),
        ),
    ),
    grains=(("session",), ("profile", "date")),
    references=(("profile", 1), ("account", 1), ("date", 1)),
    history=(
        History(
            "The profile's maturity setting when watching",
            "profile",
            attribute=("maturity", "kids"),
            why="Parents move a profile from kids to teen; hours watched under the kids "
            "setting stay kids' hours.",
        ),
        History(
            "The account's plan that month",
            "account",
            attribute=("plan",),
            why="Active profiles by plan count each account under the plan it paid for that "
            "month; the existing user dimension is type 1 and holds today's plan.",
        ),
    ),
    links=(
        Link(
            "profile",
            "device",
            why="a TV is shared by the profiles of a household, and a profile watches on "
            "several devices.",
        ),
    ),
    measures=(
        Measure(
            "time watched",
            hints=("played", "watch"),
            kind="duration",
            why="Hours watched are a sum of it.",
        ),
    ),
)

_VALIDITY = [
    C("valid_from", "timestamp", "Version valid from (inclusive).", False),
    C(
        "valid_to",
        "timestamp",
        "Valid to (exclusive); 9999-12-31 on the current version.",
        False,
    ),
    C("is_current", "boolean", "The version valid now.", False),
]

_ACCOUNT_SCD2 = Table(
    "dim_user",
    role="dimension",
    scd_type=2,
    grain="One row per version of an account: a new row when its plan or country changes.",
    columns=[
        C("user_sk", "int64", "Surrogate key: hash of user_id and valid_from.", False),
        C("user_id", "int64", "Account id (business key).", False),
        C("name", "string", "Display name (type 1: overwritten on every version)."),
        C("country", "string", "Billing country (tracked)."),
        C(
            "plan",
            "string",
            "Subscription plan (tracked: the business wants its history).",
        ),
        *_VALIDITY,
    ],
    primary_key=["user_sk"],
    business_key=["user_id"],
)

_PROFILE_SCD2 = Table(
    "dim_profile",
    role="dimension",
    scd_type=2,
    grain="One row per version of a profile: a new row when its maturity or name changes.",
    columns=[
        C(
            "profile_sk",
            "int64",
            "Surrogate key: hash of profile_id and valid_from.",
            False,
        ),
        C("profile_id", "int64", "Profile id (business key).", False),
        C(
            "user_id",
            "int64",
            "The account the profile belongs to (never changes).",
            False,
        ),
        C("profile_name", "string", "Name shown on the profile picker."),
        C("maturity", "string", "kids, teen or adult (tracked).", False),
        *_VALIDITY,
    ],
    primary_key=["profile_sk"],
    business_key=["profile_id"],
)

_SESSION = Table(
    "fact_playback_session",
    role="fact",
    grain="One row per playback session: one profile watching one title on one device, from "
    "play to stop.",
    columns=[
        C("session_id", "int64", "Playback session.", False),
        C(
            "profile_sk",
            "int64",
            "Profile version valid when the session started.",
            False,
        ),
        C("user_sk", "int64", "Account version valid when the session started.", False),
        C("device_id", "int64", "Device.", False),
        C(
            "content_sk",
            "int64",
            "Title version valid when the session started.",
            False,
        ),
        C("date_key", "int64", "Day the session started.", False),
        C("started_at", "timestamp", "First event.", False),
        C("played_seconds", "int64", "Seconds of playback.", False),
        C("is_completed", "boolean", "Reached 90 % of the running time.", False),
    ],
    primary_key=["session_id"],
    foreign_keys=[
        ForeignKey("profile_sk", "dim_profile"),
        ForeignKey("user_sk", "dim_user"),
        ForeignKey("device_id", "dim_device"),
        ForeignKey("content_sk", "dim_content"),
        ForeignKey("date_key", "dim_date"),
    ],
)

#: Design A: profiles and accounts as type 2, the session fact gains the profile.
SESSION_DESIGN = [_ACCOUNT_SCD2, _PROFILE_SCD2, _SESSION]

_PROFILE_SCD1 = Table(
    "profile",
    role="dimension",
    scd_type=1,
    grain="One row per profile.",
    columns=[
        C("profile_id", "int64", "Profile id.", False),
        C("user_id", "int64", "The account.", False),
        C("profile_name", "string", "Name (overwritten)."),
    ],
    primary_key=["profile_id"],
    business_key=["profile_id"],
    foreign_keys=[ForeignKey("user_id", "user")],
)

_PROFILE_DAY = Table(
    "profile_daily",
    role="fact",
    grain="One row per profile and day with playback (periodic snapshot of the day).",
    columns=[
        C("profile_id", "int64", "The profile.", False),
        C("date_key", "int64", "The day.", False),
        C("user_id", "int64", "The account.", False),
        C(
            "maturity",
            "string",
            "Maturity setting in force that day (recorded).",
            False,
        ),
        C("plan", "string", "The account's plan that day (recorded).", False),
        C("sessions", "int64", "Sessions started.", False),
        C("watch_seconds", "int64", "Seconds played.", False),
    ],
    primary_key=["profile_id", "date_key"],
    foreign_keys=[
        ForeignKey("profile_id", "profile"),
        ForeignKey("date_key", "date"),
        ForeignKey("user_id", "user"),
    ],
)

_PROFILE_DEVICE = Table(
    "profile_device",
    role="bridge",
    grain="One row per profile and device it has watched on.",
    columns=[
        C("profile_id", "int64", "The profile.", False),
        C("device_id", "int64", "The device.", False),
        C(
            "first_seen_at",
            "timestamp",
            "First session of the profile on the device.",
            False,
        ),
    ],
    primary_key=["profile_id", "device_id"],
    foreign_keys=[
        ForeignKey("profile_id", "profile"),
        ForeignKey("device_id", "device"),
    ],
)

#: Design B: a daily snapshot per profile that records the setting and the plan of the day,
#: and a bridge of profiles and devices.
DAILY_DESIGN = [_PROFILE_SCD1, _PROFILE_DAY, _PROFILE_DEVICE]

#: What a rushed candidate draws: the profile hangs off the device.
WEAK_DESIGN = [
    Table(
        "profiles",
        role="dimension",
        grain="Profiles.",
        columns=[
            C("profile_id", "int64", "Profile."),
            C("user_id", "int64", "Account."),
            C("device_id", "int64", "The profile's device."),
            C("is_kids", "boolean", "Kids profile (current)."),
        ],
        primary_key=["profile_id"],
        business_key=["profile_id"],
        scd_type=1,
        foreign_keys=[ForeignKey("user_id", "user"), ForeignKey("device_id", "device")],
    ),
    Table(
        "profile_watch",
        role="fact",
        grain="One row per profile and month.",
        columns=[
            C("profile_id", "int64", "Profile."),
            C("month", "date", "Month."),
            C("avg_watch_hours", "float64", "Average hours per session."),
        ],
        primary_key=["profile_id", "month"],
        foreign_keys=[ForeignKey("profile_id", "profiles")],
    ),
]

# --------------------------------------------------------------------------------------------
# The metric investigation: completion falls on a Tuesday
# --------------------------------------------------------------------------------------------
_INCIDENT = PLANTED["incident"]
_DAY = _INCIDENT["released_at"][:10]
#: The alarm Tuesday and the four before it; the date is written once, so the queries can be run
#: for another day (the tests do, on days without an incident).
_DAYS = f"""days AS (  -- the alarm Tuesday and the four Tuesdays before it
    SELECT DATE '{_DAY}' - CAST(7 * k AS INTEGER) AS day, k = 0 AS is_alarm_day
    FROM range(5) AS t(k)
)"""


def _floats(frame, *columns):
    return [frame[c].astype(float) for c in columns]


def _logs_are_whole(frame) -> bool:
    """Every Tuesday: nearly every session in the player's log has its play and its stop, and
    the alarm day has as many sessions as the Tuesdays before."""
    play, stop, sessions = _floats(frame, "with_play", "with_stop", "sessions")
    day = frame.day.astype(str).str[:10] == _DAY
    return bool((play > 0.97).all() and (stop > 0.97).all()) and (
        sessions[day].iloc[0] > 0.7 * sessions[~day].mean()
    )


def _within_noise(value, expected, n):
    """Is each rate within 3 sigma of its usual value (binomial, the baseline's noise too)?"""
    sigma = (expected * (1 - expected) / n.clip(lower=1) * 1.25) ** 0.5
    return (value - expected).abs() <= 3 * sigma


def _one_device_falls(frame) -> bool:
    """Completion by device type: the TV falls by more than 20 points; the others stay within
    the noise of a day's streams."""
    value, expected, n = _floats(frame, "value", "expected", "n")
    tv = frame.device_type == _INCIDENT["device_type"]
    return bool((value[tv] - expected[tv] < -0.2).all()) and bool(
        _within_noise(value, expected, n)[~tv].all()
    )


def _same_mix(frame) -> bool:
    """The alarm day's titles: the same share of films and the same average length as before."""
    films, minutes = _floats(frame, "film_share", "average_title_minutes")
    day = frame.day.astype(str).str[:10] == _DAY
    return abs(films[day].iloc[0] - films[~day].mean()) < 0.12 and (
        abs(minutes[day].iloc[0] / minutes[~day].mean() - 1) < 0.15
    )


def _stops_at_the_credits(frame) -> bool:
    """On the patch, no stream passes 90 % of its title, and many stop between 84 and 90 %;
    on the version before, many streams pass 90 %."""

    def by_band(version):
        rows = frame[frame.app_version == version].set_index("reached")
        return rows.sessions.astype(float)

    patch, before = by_band(_INCIDENT["app_version"]), by_band("5.3.0")
    return (
        patch.get("90-100 %", 0.0) == 0
        and patch.get("84-90 %", 0.0) > 0.3 * patch.sum()
        and before.get("90-100 %", 0.0) > 0.3 * before.sum()
    )


def _stalls_as_usual(frame) -> bool:
    """Every device type and version stalls as often as the device type usually does."""
    value, expected, n = _floats(frame, "value", "expected", "n")
    return bool(_within_noise(value, expected, n).all())


INVESTIGATION = Investigation(
    name="streaming.completion-drop",
    practice="streaming",
    title="completion falls on a Tuesday",
    alarm=(
        "The completion rate of streams started on Tuesday 25 March 2025 was {value}, down "
        "{change} from the average of the four Tuesdays before ({expected}). The content team "
        "asks whether people stopped liking the catalogue. What do you do?"
    ),
    alarm_format="share",
    alarm_sql=f"""
WITH {_DAYS},
sessions AS (
    SELECT days.is_alarm_day, s.is_completed
    FROM fact_playback_session AS s
    JOIN days ON days.day = CAST(s.started_at AS DATE)
)
SELECT AVG(CASE WHEN is_completed THEN 1.0 ELSE 0.0 END) FILTER (WHERE is_alarm_day) AS value,
       AVG(CASE WHEN is_completed THEN 1.0 ELSE 0.0 END) FILTER (WHERE NOT is_alarm_day)
           AS expected
FROM sessions
""",
    day=_DAY,
    context=(
        "**What the interviewer adds when asked.** A stream is *completed* when the viewer "
        "reached 90 % of the title; streams are counted on the UTC day they started. The "
        "dashboard and the warehouse's code did not change. The app teams ship releases "
        "often, on every platform. You have the warehouse: `fact_playback_session` (one row "
        "per stream, with the app version that ran it), `fact_quality_event` (start-ups, "
        "stalls), `dim_device`, `dim_user` (with the country), `dim_content`, and the raw "
        "player log in `raw.viewing_events`."
    ),
    options=(
        Option(
            "A",
            "Missing stop events: streams that ended were never closed, so they look unfinished.",
            "every stream of the day has its play and its stop in the player's log, as on any "
            "Tuesday.",
        ),
        Option(
            "B",
            "A mix shift: people watched a long new title and did not finish it.",
            "the day's streams are the usual mix of films and episodes, of the usual length; "
            "and the drop is on one device type, whatever the title.",
        ),
        Option(
            "C",
            "A release on one device type that ends streams early.",
            "TV app 5.3.1, live for that day only, stopped every stream where the end credits "
            "begin, short of the 90 % that counts as completed.",
        ),
        Option(
            "D",
            "A CDN outage in one country: streams stalled and viewers gave up.",
            "streams stalled as often as usual, and the drop is on one device type in every "
            "country, not on every device in one country.",
        ),
        Option(
            "E",
            "Late events: the last positions arrived after the sessions were built, so streams "
            "look shorter than they were.",
            "the sessions are built from the whole log, late events included; their stops carry "
            "the positions the sessions show.",
        ),
    ),
    cause="C",
    segment={
        "device_type": _INCIDENT["device_type"],
        "app_version": _INCIDENT["app_version"],
    },
    aliases={
        _INCIDENT["device_type"]: ("television", "tvs", "smart tv", "connected tv"),
        _INCIDENT["app_version"]: (f"v{_INCIDENT['app_version']}",),
    },
    kind="share",
    result=(
        "the columns that name the segment, `value`: the completion rate of the segment's streams started "
        "on the alarm day, `expected`: the completion rate of the same device type's streams "
        "over the four Tuesdays before, and `n`: the segment's streams on the alarm day."
    ),
    reference_sql=f"""
WITH {_DAYS},
sessions AS (
    SELECT dv.device_type, s.app_version, days.is_alarm_day,
           CASE WHEN s.is_completed THEN 1.0 ELSE 0.0 END AS completed
    FROM fact_playback_session AS s
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = CAST(s.started_at AS DATE)
),
usual AS (  -- each device type's completion over the four Tuesdays before
    SELECT device_type, AVG(completed) AS rate
    FROM sessions
    WHERE NOT is_alarm_day
    GROUP BY device_type
)
SELECT device_type, app_version,
       AVG(completed) AS value,
       ANY_VALUE(usual.rate) AS expected,
       COUNT(*) AS n
FROM sessions
JOIN usual USING (device_type)
WHERE is_alarm_day
GROUP BY device_type, app_version
ORDER BY value - expected
""",
    steps=(
        Step(
            "data",
            "Before any slicing: is the player's log whole? Per Tuesday, the streams in the raw "
            "log, and the share that have their `play` and their `stop` (option A).",
            f"""
WITH {_DAYS},
streams AS (
    SELECT session_id,
           CAST(MIN(event_time) AS DATE) AS day,
           BOOL_OR(action_type = 'play') AS has_play,
           BOOL_OR(action_type = 'stop') AS has_stop
    FROM raw.viewing_events
    GROUP BY session_id
)
SELECT days.day,
       COUNT(*) AS sessions,
       AVG(CASE WHEN has_play THEN 1.0 ELSE 0.0 END) AS with_play,
       AVG(CASE WHEN has_stop THEN 1.0 ELSE 0.0 END) AS with_stop
FROM streams
JOIN days USING (day)
GROUP BY days.day
ORDER BY days.day DESC
""",
            "As many streams as on any Tuesday, and each has its play and its stop (the few "
            "stops without a play are quarantined, as every day). The sessions are built from "
            "the whole log, late events included, so a late heartbeat cannot shorten them "
            "(option E). The data is complete: the drop is in what viewers did, or in what the "
            "apps did.",
            _logs_are_whole,
        ),
        Step(
            "segments",
            "Completion by device type on the alarm day, against each "
            "device type's four Tuesdays before.",
            f"""
WITH {_DAYS},
sessions AS (
    SELECT dv.device_type, days.is_alarm_day,
           CASE WHEN s.is_completed THEN 1.0 ELSE 0.0 END AS completed
    FROM fact_playback_session AS s
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = CAST(s.started_at AS DATE)
)
SELECT device_type,
       AVG(completed) FILTER (WHERE is_alarm_day) AS value,
       AVG(completed) FILTER (WHERE NOT is_alarm_day) AS expected,
       COUNT(*) FILTER (WHERE is_alarm_day) AS n
FROM sessions
GROUP BY device_type
ORDER BY value - expected
""",
            "The TVs fell far below their usual rate; phones, tablets and browsers moved no more "
            "than a day's few dozen streams per device type move by chance. A CDN outage in one country (option D) would hit every device "
            "there; a title everyone watched (option B) would hit every device.",
            _one_device_falls,
        ),
        Step(
            "segments",
            "Within the TVs, by the app version that ran the stream: this is the query that "
            "isolates it.",
            REFERENCE,
            "All of the TVs' drop is on version 5.3.1, which appears that day and nowhere "
            "before: none of its streams completed. The TVs still on 5.3.0 completed as "
            "usual.",
            None,
        ),
        Step(
            "segments",
            "Could it still be the titles (option B)? The day's streams by kind of title and "
            "length, against the Tuesdays before.",
            f"""
WITH {_DAYS}
SELECT days.day,
       COUNT(*) AS sessions,
       AVG(CASE WHEN c.content_type = 'movie' THEN 1.0 ELSE 0.0 END) AS film_share,
       AVG(c.duration_seconds) / 60 AS average_title_minutes
FROM fact_playback_session AS s
JOIN dim_content AS c USING (content_sk)
JOIN days ON days.day = CAST(s.started_at AS DATE)
GROUP BY days.day
ORDER BY days.day DESC
""",
            "The usual mix: the same share of films, titles of the usual length. No long new "
            "title dragged completion down.",
            _same_mix,
        ),
        Step(
            "world",
            "What does 5.3.1 do to a stream? How far the TVs' streams got, as a share of the "
            "title, on 5.3.1 and on 5.3.0 over the same five Tuesdays.",
            f"""
WITH {_DAYS},
tv AS (
    SELECT s.app_version,
           s.furthest_position_seconds * 1.0 / s.duration_seconds AS share_of_title
    FROM fact_playback_session AS s
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = CAST(s.started_at AS DATE)
    WHERE dv.device_type = '{_INCIDENT["device_type"]}'
      AND s.app_version IN ('5.3.0', '{_INCIDENT["app_version"]}')
)
SELECT app_version,
       CASE WHEN share_of_title >= 0.9 THEN '90-100 %'
            WHEN share_of_title >= 0.84 THEN '84-90 %'
            ELSE 'under 84 %' END AS reached,
       COUNT(*) AS sessions
FROM tv
GROUP BY ALL
ORDER BY app_version, reached
""",
            "On 5.3.0, many streams pass 90 % of the title. On 5.3.1 none does, and a crowd stops between 84 % and 90 %: where the end credits begin. The "
            "viewers watched the film; the app cut the stream at the credits.",
            _stops_at_the_credits,
        ),
        Step(
            "world",
            "Is it a stalling bug? Streams with a stall, per device type and version on the "
            "alarm day, against the same device type's four Tuesdays before.",
            f"""
WITH {_DAYS},
sessions AS (
    SELECT dv.device_type, s.app_version, days.is_alarm_day,
           CASE WHEN s.rebuffer_count > 0 THEN 1.0 ELSE 0.0 END AS stalled
    FROM fact_playback_session AS s
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = CAST(s.started_at AS DATE)
),
usual AS (
    SELECT device_type, AVG(stalled) AS rate
    FROM sessions WHERE NOT is_alarm_day GROUP BY device_type
)
SELECT device_type, app_version,
       AVG(stalled) AS value, ANY_VALUE(usual.rate) AS expected, COUNT(*) AS n
FROM sessions JOIN usual USING (device_type)
WHERE is_alarm_day
GROUP BY device_type, app_version
ORDER BY device_type, app_version
""",
            "Stalls are as frequent as usual, on 5.3.1 too: no CDN outage, no buffering bug. "
            "Asked, the interviewer confirms: the TV team pushed patch 5.3.1 that morning and "
            "rolled it back at midnight; its new end-of-title screen closed the stream when the "
            "credits began.",
            _stalls_as_usual,
        ),
    ),
    conclusion=(
        "**The cause: C, a release on one device type that ends streams early.** TV app 5.3.1, "
        "live for one day, stopped each stream where the end credits begin, short of the 90 % "
        "that counts as completed. Viewers did not like the catalogue less: the other devices, "
        "and the TVs still on 5.3.0, completed as usual. **What I would say next:** annotate "
        "the day on the dashboard (the patch is rolled back); keep the definition, but report "
        "completion by app version so a release that moves it shows up the same day; and add "
        "a release check that plays a title to its end on each platform. If the product wants "
        "to end streams at the credits on purpose, the completion threshold must move with it, "
        "or the metric will say people stopped finishing."
    ),
    dispersion=1.2,
    minutes=15,
)

MOCK = MockInterview(
    practice="streaming",
    title="Video streaming",
    prompt=PROMPT,
    phases=PHASES,
    drills=DRILLS,
    task=TASK,
    model_designs={
        "A: the session fact gains the profile (type 2 profile and account)": SESSION_DESIGN,
        "B: a daily profile snapshot and a profile-device bridge": DAILY_DESIGN,
    },
    weak_design=WEAK_DESIGN,
    weak_design_misses=("grain_stated", "history", "bridges", "measures", "no_null_fk"),
    investigation=INVESTIGATION,
)
