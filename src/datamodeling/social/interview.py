"""The social media mock interview: prompt, 45-minute script, rubric, drills, a design task, and a
metric investigation.

The design task (the follow graph) refers to the existing model through ``schema`` by business
key, so it holds whether the user table is called ``user`` or ``dim_user``. The investigation's
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
from datamodeling.schema import Column, ForeignKey, Table
from datamodeling.social.generate import PLANTED

C = Column

PROMPT = (
    "We run a social app: people post, others view, like, comment and share, and we sell ads "
    "next to the feed. Product wants daily, weekly and monthly active users and how sticky the "
    "app is, engagement by content type, which users churn and which come back, and how the ad "
    "campaigns perform. Design the warehouse behind those dashboards."
)

PHASES = (
    Phase(
        "Clarify",
        5,
        asks="“What do you need to know first?”",
        listens_for="A definition of 'active' and of each window, before any table.",
        strong="Asks what makes a user active (any event, or a view?), whether DAU is by UTC "
        "day or the user's day, whether the 28-day window includes today, what churned means "
        "(a month without activity?), how ads are priced (per click?), and how late phone "
        "events arrive.",
        acceptable="Defines 'active' and the windows, leaves churn or late data for later.",
        weak="Assumes DAU is COUNT(*) of events per day, or starts with the ads tables.",
    ),
    Phase(
        "Processes and grain",
        10,
        asks="“What are the facts, and what is one row of each?”",
        listens_for="Content interactions and ad events as two processes, each grain stated.",
        strong="'One row per interaction of a viewer with a piece of content (view, like, "
        "comment, share), retries removed' and 'one row per ad impression, click or "
        "conversion', said before columns; a per-user-per-day activity table named as a "
        "derived aggregate, not as the fact.",
        acceptable="The two facts at the right grain, deduplication added when asked.",
        weak="Daily counts per user as the only fact, or one table mixing posts, events and ads.",
    ),
    Phase(
        "Dimensions and facts",
        12,
        asks="“What do the events join to, and what changes?”",
        listens_for="User and content dimensions with a history choice per attribute; measures "
        "that add up.",
        strong="User as type 2 for status and contact changes, with fast-changing derived "
        "columns (last active, churned) as type 1; content as type 2; device and campaign "
        "type 1; revenue and cost as DECIMAL on the ad event, zero where they do not apply.",
        acceptable="The right dimensions, one history choice argued.",
        weak="Stores DAU, MAU or a CTR in a table that is then summed.",
    ),
    Phase(
        "Metrics in SQL",
        10,
        asks="“Write DAU, MAU and stickiness. Then CTR by campaign.”",
        listens_for="Distinct counts at the right window, ratios of sums.",
        strong="COUNT(DISTINCT viewer_id) per day; MAU over a trailing 28-day window, "
        "recomputed, not summed from DAU; stickiness as mean DAU / MAU with the incomplete "
        "first 27 days flagged; CTR as SUM(clicks) / SUM(impressions) per campaign.",
        acceptable="Correct DAU and CTR; MAU correct after a hint that distinct counts do not "
        "add up.",
        weak="MAU = SUM(DAU) over the month; CTR as the average of daily CTRs.",
    ),
    Phase(
        "Scale and trade-offs",
        8,
        asks="“A billion events a day. And product wants DAU live.”",
        listens_for="A cumulative activity table, approximate distinct counts, late events.",
        strong="A nightly cumulative table (one row per user per day with a 28-bit activity "
        "mask) so DAU/WAU/MAU read one partition; HyperLogLog sketches where approximate is "
        "acceptable; partition events by event date and reprocess a lookback for late events; "
        "a streaming approximate DAU for the live screen, reconciled nightly.",
        acceptable="Partitioning and pre-aggregation, no word on late events.",
        weak="'Add more nodes.' or drops the raw events after aggregating.",
    ),
)

DRILLS = (
    Drill(
        "keep-every-event",
        "Why keep every event? Store one row per user per day with their counts: a hundred "
        "times smaller.",
        "grain",
        "I build that table, as an aggregate, from the events. As the only fact it loses what "
        "the next question needs: the order of events (sessions, funnels), the content and "
        "device of each interaction, and anything at a finer time than a day. Events are the "
        "finest grain the app gives; aggregates are caches that can be rebuilt from them, the "
        "events cannot be rebuilt from the aggregates. Partitioned by event date, old events "
        "cost little.",
        (
            (
                "Yes, storage is expensive.",
                "Trades every future question for storage, which is the cheap part.",
            ),
            (
                "Keep the events for 7 days and then drop them.",
                "A 28-day MAU recount or a new breakdown over last quarter becomes impossible.",
            ),
        ),
    ),
    Drill(
        "mau-from-dau",
        "MAU is just the sum of DAU over the month, right?",
        "grain",
        "No: a user active on 20 days counts 20 times. Distinct counts are not additive over "
        "time (nor over devices: a user on phone and laptop counts once in the total). MAU is "
        "COUNT(DISTINCT user) over the window, recomputed from per-user rows. The cumulative "
        "table (one row per user and day with a 28-day activity mask) makes that one partition "
        "scan: MAU = users whose mask is non-zero.",
        (
            (
                "Sum DAU and divide by the number of days.",
                "That is the average DAU, a different number.",
            ),
            (
                "Store MAU per day in a table and sum it by week.",
                "Sums a non-additive count a second time.",
            ),
        ),
    ),
    Drill(
        "one-events-table",
        "Why two event facts, content and ads? One events table with a type column is simpler.",
        "star schema",
        "They are two processes with different grains and dimensions: an ad event has a "
        "campaign, a cost and a revenue; a content event has a content item and its creator. "
        "One table would carry NULLs for half its columns, every query would need the right "
        "type filter, and the ad measures would sit beside rows where they mean nothing. Two "
        "facts share the conformed user, device and date dimensions, so DAU and ad reach still "
        "compare.",
        (
            (
                "One table is easier to query.",
                "Until someone sums revenue without the type filter.",
            ),
            (
                "Separate tables per event type: views, likes, comments, shares.",
                "Splits one process; engagement per view then needs four joins.",
            ),
        ),
    ),
    Drill(
        "churn-fact-or-dimension",
        "The brief puts churned_date on the user. Is churn an attribute or a fact?",
        "fact vs dimension",
        "Both, at different grains. Churn happens in a period, so the record of it is a fact: "
        "one row per user and period with new / retained / resurrected / churned "
        "(`user_churn_stats`). The user's *current* state (churned since March) is a handy "
        "type 1 attribute on the dimension for filtering. The attribute alone cannot answer "
        "'how many churned in March and came back in May', the fact can.",
        (
            (
                "An attribute: it's on the user table.",
                "Keeps only the latest churn; resurrection and churn counts by month are lost.",
            ),
            (
                "A type 2 attribute: a new version every time it changes.",
                "A version per activity change floods the dimension; it is a fact.",
            ),
        ),
    ),
    Drill(
        "last-active-type1",
        "Your user is type 2. Why are last_active_date and churned_date type 1?",
        "SCD type",
        "They change almost every day for every active user. As type 2 they would add a "
        "version per active day, and the dimension would grow like a fact. Their history is "
        "already in the events (and in the churn table), so the dimension only needs today's "
        "value. Status, name, email and phone change rarely and their history matters (was "
        "the account deactivated when the ad was shown?), so those columns create versions. "
        "The SCD type is chosen per attribute, not per table.",
        (
            (
                "Type 2 for everything, to be safe.",
                "A version per day per user; joins slow down and nothing is gained.",
            ),
            (
                "Type 1 for everything: simpler.",
                "Loses when an account was deactivated, which ad and churn analysis need.",
            ),
        ),
    ),
    Drill(
        "business-key-on-events",
        "content_event carries viewer_id, not a user_sk. Isn't that wrong for a type 2 user?",
        "surrogate keys",
        "It is a choice with a cost. The events keep the business key the app sent, as the "
        "brief's schema does; a query that needs the user as they were joins on user_id *and* "
        "valid_from <= event_time < valid_to, a query that wants them as they are now joins "
        "to the current row. Resolving user_sk at load makes the first join a plain equi-join "
        "at the price of a lookup per event; at this volume I would add user_sk beside "
        "viewer_id (both keys, type 7).",
        (
            (
                "Join on viewer_id = user_id.",
                "Matches every version: the event count grows with each change of the user.",
            ),
            (
                "Surrogate keys are not needed in events.",
                "Needed as soon as a query wants the attributes as they were.",
            ),
        ),
    ),
    Drill(
        "late-phone-events",
        "Phones that were offline send their events two days late.",
        "late-arriving data",
        "Events are placed by event time, never by load time, so a late event belongs to the "
        "day it happened. The daily load reprocesses a lookback window (say 3 days) of event "
        "partitions and the cumulative activity table from the earliest changed day, "
        "idempotently (replace, never append). DAU for the last days is marked provisional "
        "until the window closes; events older than the window go to quarantine with a "
        "reason, and are counted.",
        (
            (
                "Count them on the day they arrive.",
                "Shifts activity between days; DAU on a holiday looks like a drop and a spike.",
            ),
            (
                "Drop events older than a day.",
                "Loses real activity silently; users on bad networks vanish from DAU.",
            ),
        ),
    ),
    Drill(
        "topics-bridge",
        "A post can be tagged with several topics. Product wants engagement by topic.",
        "bridge tables",
        "Post to topic is many-to-many, so a bridge: one row per content and topic. Engagement "
        "by topic joins events to the bridge and counts each event once per topic: the topic "
        "totals add up to more than the grand total, on purpose, and the report says so. If "
        "the totals must add up, the bridge carries a weight (1/number of topics) and the "
        "report sums weight × events.",
        (
            (
                "A topics column with a comma-separated list.",
                "Needs string parsing in every query and cannot be joined or checked.",
            ),
            (
                "Keep only the first topic.",
                "Silently misattributes engagement of multi-topic posts.",
            ),
        ),
    ),
    Drill(
        "live-dau",
        "Product wants DAU live on the office screen.",
        "real time",
        "A live number is an approximate one: a streaming job keeps a HyperLogLog sketch of "
        "the users seen today, per device type, and the screen shows its estimate (about 1 % "
        "error). The warehouse stays batch: the nightly build recomputes the exact DAU, and the "
        "screen labels today's number provisional. Both read the same event definition of "
        "'active', so they agree up to the sketch error and late events.",
        (
            (
                "Run the COUNT(DISTINCT) every minute on the warehouse.",
                "Rescans the day each minute and still misses late events.",
            ),
            (
                "Make the whole warehouse streaming.",
                "Rebuilds the model for one number; batch and stream then disagree.",
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# The schema-evolution task: the follow graph
# --------------------------------------------------------------------------------------------
TASK = DesignTask(
    name="social.follow_graph",
    practice="social",
    title="The follow graph",
    requirement=(
        "The app adds following. A user follows another user and can unfollow, and follow "
        "again later; creators want to know who follows them. A user follows many users and "
        "is followed by many."
    ),
    source={
        "follow_events": "follow_event_id, follower_id, followee_id, action (follow or "
        "unfollow), event_time, device_id",
    },
    questions=(
        "Followers of each creator at the end of any past day.",
        "New follows and unfollows per day, by the follower's device type.",
        "Follow-back rate: of the follows made in a month, the share returned within 7 days.",
        "Of the views of a creator's content, the share that came from their followers at the "
        "time of the view.",
    ),
    reference_question="Follow and unfollow events by the device type they came from.",
    entities=(
        Entity(
            "user",
            "the user",
            keys=("user_id", "follower_id", "followee_id"),
            model_key=("user_id",),
            slice_by=("status",),
        ),
        Entity(
            "device",
            "the device",
            keys=("device_id",),
            model_key=("device_id",),
            slice_by=("device_type",),
        ),
        Entity(
            "date", "the day", keys=("date_key",), model_key=("date_key",), time=True
        ),
        Entity("follow_event", "a follow event", keys=("follow_event_id",), event=True),
    ),
    grains=(("follow_event",), ("user", "user", "date")),
    references=(("user", 2), ("device", 1), ("date", 1)),
    history=(
        History(
            "Who followed whom on each past day",
            "user",
            attribute=("action", "event_type", "unfollow", "valid_to", "ended"),
            why="Followers at the end of March must count follows that ended in April, and "
            "not count follows that ended in February; an unfollow that deletes the row, or a "
            "re-follow that overwrites it, loses that.",
        ),
    ),
    links=(
        Link(
            "user",
            "user",
            why="a user follows many users and is followed by many: the follow graph is "
            "many-to-many.",
        ),
    ),
    measures=(
        Measure(
            "the change in followers (+1 a follow, -1 an unfollow)",
            hints=("delta", "net_change"),
            kind="count",
            required=False,
        ),
    ),
)

_FOLLOW_EVENT = Table(
    "fact_follow_event",
    role="fact",
    grain="One row per follow or unfollow, as the app logged it (retries removed).",
    columns=[
        C("follow_event_id", "int64", "Event id from the app.", False),
        C("follower_id", "int64", "The user who follows or unfollows.", False),
        C("followee_id", "int64", "The user followed or unfollowed.", False),
        C("device_id", "int64", "Device the follower used.", False),
        C("action", "string", "follow or unfollow.", False),
        C("event_time", "timestamp", "When it happened (UTC).", False),
        C("event_date", "date", "UTC date of event_time (the partition).", False),
        C("follower_delta", "int64", "+1 for a follow, -1 for an unfollow.", False),
    ],
    primary_key=["follow_event_id"],
    foreign_keys=[
        ForeignKey("follower_id", "dim_user", "user_id", point_in_time=True),
        ForeignKey("followee_id", "dim_user", "user_id", point_in_time=True),
        ForeignKey("device_id", "dim_device"),
    ],
)

#: Design A: a transaction fact of follow and unfollow events.
EVENTS_DESIGN = [_FOLLOW_EVENT]

_FOLLOW_SPAN = Table(
    "follow",
    role="fact",
    grain="One row per follow: a follower, a followee and the moment the follow began; it "
    "ends at the unfollow.",
    columns=[
        C("follower_id", "int64", "The follower.", False),
        C("followee_id", "int64", "The user followed.", False),
        C("followed_at", "timestamp", "When the follow began (inclusive).", False),
        C(
            "unfollowed_at",
            "timestamp",
            "When it ended (exclusive); 9999-12-31 while it holds.",
            False,
        ),
        C("device_id", "int64", "Device the follow was made on.", False),
        C(
            "is_follow_back",
            "boolean",
            "The followee already followed the follower.",
            False,
        ),
    ],
    primary_key=["follower_id", "followee_id", "followed_at"],
    foreign_keys=[
        ForeignKey("follower_id", "user", "user_id", point_in_time=True),
        ForeignKey("followee_id", "user", "user_id", point_in_time=True),
        ForeignKey("device_id", "device"),
    ],
    notes=[
        "Followers of x on day d: rows with followee x and followed_at <= d < unfollowed_at."
    ],
)

#: Design B: one row per follow span, with its start and end (the edge history).
SPANS_DESIGN = [_FOLLOW_SPAN]

#: What a rushed candidate draws: today's follows, and a follower count on the user.
WEAK_DESIGN = [
    Table(
        "follows",
        role="fact",
        grain="Follows.",
        columns=[
            C("follower_id", "int64", "Follower."),
            C("followee_id", "int64", "Followee."),
            C("created_at", "timestamp", "When followed."),
            C(
                "follow_back_rate",
                "float64",
                "Share of the followee's follows returned.",
            ),
        ],
        primary_key=["follower_id", "followee_id"],
        foreign_keys=[
            ForeignKey("follower_id", "user", "user_id"),
            ForeignKey("followee_id", "user", "user_id"),
        ],
    )
]

# --------------------------------------------------------------------------------------------
# The metric investigation: DAU falls on a Tuesday
# --------------------------------------------------------------------------------------------
_INCIDENT = PLANTED["incident"]
_DAY = _INCIDENT["day"]
#: The alarm Tuesday and the four before it; the date is written once, so the queries can be run
#: for another day (the tests do, on days without an incident).
_DAYS = f"""days AS (  -- the alarm Tuesday and the four Tuesdays before it
    SELECT DATE '{_DAY}' - CAST(7 * k AS INTEGER) AS day, k = 0 AS is_alarm_day
    FROM range(5) AS t(k)
)"""


def _by_day(frame, column: str):
    """``column`` of ``frame`` indexed by the day (ISO text), the alarm day apart."""
    values = frame.set_index(frame.day.astype(str).str[:10])[column].astype(float)
    return values[_DAY], values.drop(index=_DAY)


def _loaded_what_arrived(frame) -> bool:
    """Every Tuesday: nearly every row that arrived was loaded (retries and skewed clocks aside);
    on the alarm day fewer rows arrived than on the Tuesdays before."""
    kept = frame.loaded.astype(float) / frame.rows_in.astype(float)
    arrived, before = _by_day(frame, "rows_in")
    return bool((kept > 0.95).all()) and arrived < 0.85 * before.mean()


def _nothing_late(frame) -> bool:
    """No Tuesday's events arrived late: the share received after the day is tiny everywhere."""
    return bool((frame.received_after_the_day.astype(float) < 0.01).all())


def _one_platform_falls(frame) -> bool:
    """DAU by OS: one platform falls by a third or more; the others hold within a quarter."""
    value, expected = frame.value.astype(float), frame.expected.astype(float)
    change = value / expected - 1
    big = expected >= 10
    android = frame.os == _INCIDENT["os"]
    return bool((change[android] < -0.3).all()) and bool(
        (change[~android & big] > -0.25).all()
    )


def _users_were_there(frame) -> bool:
    """On the alarm day, the platform's users saw as many ads as on the Tuesdays before."""
    row = frame[frame.os == _INCIDENT["os"]].iloc[0]
    return 0.75 < float(row.value) / float(row.expected) < 1.33


def _likes_without_views(frame) -> bool:
    """On the alarm day nearly every like on the platform is on content its user did not view
    that day; on the Tuesdays before, almost none."""
    share, before = _by_day(frame, "share_without_a_view")
    return share > 0.9 and before.max() < 0.3


INVESTIGATION = Investigation(
    name="social.dau-drop",
    practice="social",
    title="DAU falls on a Tuesday",
    alarm=(
        "DAU on Tuesday 9 June 2026 was {value}: {change} below the average of the four "
        "Tuesdays before ({expected}). The head of product wants to know by lunch what "
        "happened. Where do you start?"
    ),
    alarm_format="count",
    alarm_sql=f"""
WITH {_DAYS},
dau AS (
    SELECT days.is_alarm_day, e.event_date, COUNT(DISTINCT e.viewer_id) AS dau
    FROM fact_content_event AS e
    JOIN days ON days.day = e.event_date
    GROUP BY ALL
)
SELECT MAX(dau) FILTER (WHERE is_alarm_day) AS value,
       AVG(dau) FILTER (WHERE NOT is_alarm_day) AS expected
FROM dau
""",
    day=_DAY,
    context=(
        "**What the interviewer adds when asked.** DAU counts the users with at least one "
        "content event (a view, like, comment or share) on the UTC day; ad events do not make a "
        "user active. The dashboard reads the warehouse, and its code did not change. Product "
        "shipped app releases that week, as most weeks. You have the warehouse: the `raw` schema "
        "holds both event logs as they arrived (with `received_at`), `quarantine` the rows the "
        "build refused, and `dim_device` each device's type and OS."
    ),
    options=(
        Option(
            "A",
            "A late-arriving partition: the day's events are still coming in.",
            "the day's events arrived within seconds, as on every Tuesday; nothing landed later.",
        ),
        Option(
            "B",
            "A duplicated load inflated the four Tuesdays before, so the baseline is too high.",
            "the build drops retried events on every day, and the Tuesdays before hold the usual "
            "share of them.",
        ),
        Option(
            "C",
            "A client release stopped logging one event type on one platform.",
            "Android logged no view that day, while its users liked, commented and saw ads as "
            "usual.",
        ),
        Option(
            "D",
            "A public holiday kept people off the app.",
            "a holiday takes people away with all their activity, on every platform; here most "
            "platforms held, and the users of the one that fell still liked, commented and saw "
            "ads.",
        ),
        Option(
            "E",
            "A real drop in engagement: people used the app less.",
            "people were there: likes, comments, shares and ad impressions held on every "
            "platform. One kind of event went missing, and only on one platform.",
        ),
    ),
    cause="C",
    segment={"os": _INCIDENT["os"], "event_type": _INCIDENT["event_type"]},
    aliases={
        _INCIDENT["event_type"]: ("views", "content view", "viewed"),
    },
    kind="count",
    result=(
        "the columns that name the segment, `value`: the users with at least one event of the segment on "
        "the alarm day, and `expected`: the average of the same count over the four Tuesdays "
        "before."
    ),
    reference_sql=f"""
WITH {_DAYS},
users AS (  -- users with at least one event of each type on each platform, per day
    SELECT dv.os, e.event_type, days.is_alarm_day, e.event_date,
           COUNT(DISTINCT e.viewer_id) AS users
    FROM fact_content_event AS e
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = e.event_date
    GROUP BY ALL
)
SELECT os, event_type,
       COALESCE(SUM(users) FILTER (WHERE is_alarm_day), 0) AS value,
       COALESCE(SUM(users) FILTER (WHERE NOT is_alarm_day), 0) / 4.0 AS expected
FROM users
GROUP BY os, event_type
ORDER BY value - expected
""",
    steps=(
        Step(
            "data",
            "Before any slicing: did the day's events arrive, and did the build load them? Rows "
            "in the raw content log per Tuesday, against the rows loaded.",
            f"""
WITH {_DAYS},
arrived AS (
    SELECT CAST(r.event_time AS DATE) AS day, COUNT(*) AS rows_in
    FROM raw.content_event AS r
    GROUP BY 1
),
loaded AS (
    SELECT event_date AS day, COUNT(*) AS loaded
    FROM fact_content_event
    GROUP BY 1
)
SELECT days.day, arrived.rows_in, loaded.loaded
FROM days
JOIN arrived USING (day)
JOIN loaded USING (day)
ORDER BY days.day DESC
""",
            "On every Tuesday the build loaded nearly every row that arrived (it refuses only "
            "retries and clocks set in the future, each with its reason in `quarantine`). On "
            "the alarm day fewer rows arrived in the first place: whatever is missing never "
            "reached the warehouse. The warehouse lost nothing; the source sent less.",
            _loaded_what_arrived,
        ),
        Step(
            "data",
            "Is part of the day still on its way (option A)? The share of each Tuesday's events "
            "received after the day ended.",
            f"""
WITH {_DAYS}
SELECT days.day,
       COUNT(*) AS events,
       AVG(CASE WHEN r.received_at >= days.day + INTERVAL 1 DAY THEN 1.0 ELSE 0.0 END)
           AS received_after_the_day
FROM raw.content_event AS r
JOIN days ON days.day = CAST(r.event_time AS DATE)
GROUP BY days.day
ORDER BY days.day DESC
""",
            "Events reach the server within seconds, on the alarm day as on the others: no "
            "partition is late, and waiting will not bring the missing events back.",
            _nothing_late,
        ),
        Step(
            "segments",
            "DAU by platform (the device's OS) on the alarm day, against the four Tuesdays before.",
            f"""
WITH {_DAYS},
users AS (
    SELECT dv.os, days.is_alarm_day, e.event_date, COUNT(DISTINCT e.viewer_id) AS users
    FROM fact_content_event AS e
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = e.event_date
    GROUP BY ALL
)
SELECT os,
       COALESCE(SUM(users) FILTER (WHERE is_alarm_day), 0) AS value,
       SUM(users) FILTER (WHERE NOT is_alarm_day) / 4.0 AS expected
FROM users
GROUP BY os
ORDER BY value / expected
""",
            "One platform, Android, lost a large part of its daily users; iOS, iPadOS and the "
            "desktops held. A real-world cause such as a holiday would hit every platform.",
            _one_platform_falls,
        ),
        Step(
            "segments",
            "Within the platform, which events? Users per platform and event type: this is the "
            "query that isolates it.",
            REFERENCE,
            "On Android, the users who viewed content fell to none, while the users who liked, "
            "commented or shared are where they always are. Nobody uses an app without seeing "
            "anything: the views happened and were not logged.",
            None,
        ),
        Step(
            "world",
            "Were the Android users in the app (options D and E)? The ad log is a separate log, "
            "sent by the same clients: ad events per platform on the alarm day.",
            f"""
WITH {_DAYS},
ads AS (
    SELECT dv.os, days.is_alarm_day, COUNT(*) AS ad_events
    FROM fact_ad_event AS a
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = a.event_date
    GROUP BY ALL
)
SELECT os,
       SUM(ad_events) FILTER (WHERE is_alarm_day) AS value,
       SUM(ad_events) FILTER (WHERE NOT is_alarm_day) / 4.0 AS expected
FROM ads
GROUP BY os
ORDER BY os
""",
            "Android users saw as many ads as on any Tuesday: they were in the app, scrolling "
            "the feed. No holiday and no loss of interest; the app stopped reporting one thing "
            "they did.",
            _users_were_there,
        ),
        Step(
            "world",
            "What changed in the app? Android likes on content the same user did not view that "
            "day: impossible in the product, the fingerprint of a logging change.",
            f"""
WITH {_DAYS},
android AS (
    SELECT e.event_date AS day, e.viewer_id, e.content_id, e.event_type
    FROM fact_content_event AS e
    JOIN dim_device AS dv USING (device_id)
    JOIN days ON days.day = e.event_date
    WHERE dv.os = '{_INCIDENT["os"]}'
),
viewed AS (
    SELECT DISTINCT day, viewer_id, content_id FROM android WHERE event_type = 'view'
)
SELECT l.day,
       COUNT(*) AS likes,
       AVG(CASE WHEN v.viewer_id IS NULL THEN 1.0 ELSE 0.0 END) AS share_without_a_view
FROM android AS l
LEFT JOIN viewed AS v USING (day, viewer_id, content_id)
WHERE l.event_type = 'like'
GROUP BY l.day
ORDER BY l.day DESC
""",
            "On the alarm day every Android like is on a post its user never viewed, which the "
            "app cannot do. Asked, the interviewer confirms: an Android release went out that "
            "morning, and its new feed stopped sending `view` events.",
            _likes_without_views,
        ),
    ),
    conclusion=(
        "**The cause: C, a client release that stopped logging one event type on one "
        "platform.** The Android release of 9 June sent no `view` events; users who only viewed "
        "content that day logged nothing and fell out of DAU, while likes, comments, shares "
        "and ads were logged as usual. Nobody left: the drop is in the measurement. **What I "
        "would say next:** annotate the dashboard and restate DAU from what can be recovered "
        "(the ad log shows who was in the app); ship the fix; and add a guard: a daily check "
        "of events per type and platform against the usual share, so a release that stops one "
        "event type is caught the same morning, and a release checklist that tests the "
        "logging."
    ),
    dispersion=1.5,
    minutes=15,
)

MOCK = MockInterview(
    practice="social",
    title="Social media analytics",
    prompt=PROMPT,
    phases=PHASES,
    drills=DRILLS,
    task=TASK,
    model_designs={
        "A: follow events (transaction fact)": EVENTS_DESIGN,
        "B: follow spans (one row per follow, with its end)": SPANS_DESIGN,
    },
    weak_design=WEAK_DESIGN,
    weak_design_misses=(
        "grain_stated",
        "fact_grain",
        "references",
        "history",
        "measures",
        "no_null_fk",
        "answers_on_data",
    ),
    investigation=INVESTIGATION,
)
