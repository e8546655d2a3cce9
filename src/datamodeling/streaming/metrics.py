"""Every metric the streaming requirements ask for: an Ibis function and the SQL a candidate
would write, run on the same warehouse and checked equal by the tests.

Conventions stated once for all metrics:

* the data window is 2025-01-01 to 2025-03-31 (90 days, UTC); a session belongs to the day it
  *started*; seconds played belong to the day they were *played* (event time, not load time);
* ``viewing_time`` and ``viewing_patterns`` stop at the window's end: the few minutes played after
  midnight of 31 March by sessions still running would be an incomplete day;
* a session is *completed* when its furthest playhead position reaches 90 % of the title's
  duration (``COMPLETION_THRESHOLD``); seeking back and rewatching does not raise it, skipping
  ahead does (the viewer did get there);
* "seconds played" never counts a jump of the playhead: only the advance between a ``play`` or
  ``heartbeat`` and the next event.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

from .generate import COMPLETION_THRESHOLD

WINDOW_END_KEY = 20250401  # first date_key after the window
REBUFFER_BAND = 0.005  # rebuffering ratio separating "low" from "high"


def _current_content(con) -> ir.Table:
    c = con.table("content")
    g = con.table("genre")
    cur = c.filter(c.is_current)
    return cur.join(g, "genre_id").select(
        "content_id", "title", "genre_name", "creator_id", "release_date"
    )


# ---------------------------------------------------------------------------------------------
# viewing_time
# ---------------------------------------------------------------------------------------------
def viewing_time(con) -> ir.Table:
    f = con.table("viewing_fact")
    f = f.filter(f.date_key < WINDOW_END_KEY)
    out = f.group_by(["date_key", f.user_key.name("user_id"), "content_id"]).agg(
        seconds_played=f.viewing_duration.sum(),
        sessions=f.session_count.sum(),
    )
    return out.mutate(hours_played=out.seconds_played / 3600.0)


VIEWING_TIME_SQL = """
SELECT date_key,
       user_id,
       content_id,
       SUM(viewing_duration)           AS seconds_played,
       COUNT(DISTINCT session_id)      AS sessions,
       SUM(viewing_duration) / 3600.0  AS hours_played
FROM viewing_event
WHERE date_key < 20250401
GROUP BY date_key, user_id, content_id
"""


# ---------------------------------------------------------------------------------------------
# completion_rate
# ---------------------------------------------------------------------------------------------
def completion_rate(con) -> ir.Table:
    s = con.table("playback_session")
    per_title = s.group_by("content_id").agg(
        sessions=s.count(),
        completed_sessions=s.is_completed.cast("int64").sum(),
        avg_completion_pct=s.completion_percentage.mean(),
    )
    out = per_title.join(_current_content(con), "content_id")
    return out.select(
        "content_id",
        "title",
        "genre_name",
        "sessions",
        "completed_sessions",
        completion_rate=out.completed_sessions / out.sessions,
        avg_completion_pct=out.avg_completion_pct,
    )


COMPLETION_RATE_SQL = """
WITH per_session AS (
    SELECT session_id,
           content_id,
           MAX(position_seconds) AS furthest,
           MAX(duration_seconds) AS duration
    FROM viewing_event
    GROUP BY session_id, content_id
)
SELECT p.content_id,
       c.title,
       g.genre_name,
       COUNT(*)                                                     AS sessions,
       SUM(CASE WHEN p.furthest >= 0.9 * p.duration THEN 1 ELSE 0 END) AS completed_sessions,
       AVG(CASE WHEN p.furthest >= 0.9 * p.duration THEN 1.0 ELSE 0.0 END) AS completion_rate,
       AVG(100.0 * p.furthest / p.duration)                        AS avg_completion_pct
FROM per_session p
JOIN content c ON c.content_id = p.content_id AND c.is_current
JOIN genre g   ON g.genre_id = c.genre_id
GROUP BY p.content_id, c.title, g.genre_name
"""


# ---------------------------------------------------------------------------------------------
# user_preferences and viewing_patterns
# ---------------------------------------------------------------------------------------------
def user_preferences(con) -> ir.Table:
    s = con.table("playback_session")
    c = con.table("content").select("content_sk", "genre_id")
    g = con.table("genre")
    u = con.table("user").select("user_id", "segment")
    v = s.join(c, "content_sk").join(g, "genre_id").join(u, "user_id")
    per = v.group_by(["user_id", "segment", "genre_name"]).agg(
        sessions=v.count(),
        organic_sessions=(~v.is_recommended).cast("int64").sum(),
        hours_played=v.seconds_played.sum() / 3600.0,
    )
    user_total = per.hours_played.sum().over(group_by="user_id")
    rank = ibis.row_number().over(
        group_by="user_id", order_by=[ibis.desc("hours_played"), "genre_name"]
    )
    return per.mutate(
        share_of_hours=ibis.ifelse(user_total > 0, per.hours_played / user_total, 0.0),
        affinity_rank=(rank + 1).cast("int64"),
    )


USER_PREFERENCES_SQL = """
WITH sessions AS (
    SELECT session_id,
           MIN(user_id)            AS user_id,
           MIN(content_id)         AS content_id,
           MIN(event_time)         AS started_at,
           BOOL_OR(is_recommended) AS is_recommended,
           SUM(viewing_duration)   AS seconds_played
    FROM viewing_event
    GROUP BY session_id
), per_genre AS (
    SELECT s.user_id,
           u.segment,
           g.genre_name,
           COUNT(*)                                               AS sessions,
           SUM(CASE WHEN s.is_recommended THEN 0 ELSE 1 END)      AS organic_sessions,
           SUM(s.seconds_played) / 3600.0                         AS hours_played
    FROM sessions s
    JOIN content c ON c.content_id = s.content_id           -- the genre the title had
                  AND s.started_at >= c.valid_from           -- when the session started
                  AND s.started_at <  c.valid_to
    JOIN genre g  ON g.genre_id = c.genre_id
    JOIN "user" u ON u.user_id = s.user_id
    GROUP BY s.user_id, u.segment, g.genre_name
)
SELECT *,
       CASE WHEN SUM(hours_played) OVER (PARTITION BY user_id) > 0
            THEN hours_played / SUM(hours_played) OVER (PARTITION BY user_id)
            ELSE 0.0 END                                         AS share_of_hours,
       ROW_NUMBER() OVER (PARTITION BY user_id
                          ORDER BY hours_played DESC, genre_name) AS affinity_rank
FROM per_genre
"""


def viewing_patterns(con) -> ir.Table:
    e = con.table("viewing_event")
    e = e.filter(e.date_key < WINDOW_END_KEY)
    d = con.table("date").select("date_key", "day_of_week", "day_name")
    t = con.table("time").select("time_key", "hour")
    v = e.join(d, "date_key").join(t, "time_key")
    out = v.group_by(["day_of_week", "day_name", "hour"]).agg(
        seconds_played=v.viewing_duration.sum(),
        viewers=v.user_id.nunique(),
    )
    return out.mutate(hours_played=out.seconds_played / 3600.0)


VIEWING_PATTERNS_SQL = """
SELECT d.day_of_week,
       d.day_name,
       t.hour,
       SUM(e.viewing_duration)          AS seconds_played,
       COUNT(DISTINCT e.user_id)        AS viewers,
       SUM(e.viewing_duration) / 3600.0 AS hours_played
FROM viewing_event e
JOIN "date" d ON d.date_key = e.date_key
JOIN "time" t ON t.time_key = e.time_key
WHERE e.date_key < 20250401
GROUP BY d.day_of_week, d.day_name, t.hour
"""


# ---------------------------------------------------------------------------------------------
# recommendation_effectiveness
# ---------------------------------------------------------------------------------------------
def recommendation_effectiveness(con) -> ir.Table:
    r = con.table("recommendation_event")
    s = con.table("playback_session")
    shown = r.group_by(algorithm=r.recommendation_algorithm).agg(
        impressions=r.count(),
        clicks=r.was_clicked.cast("int64").sum(),
        watched=r.was_watched.cast("int64").sum(),
    )
    algo = r.select(_rid=r.rec_event_id, algorithm=r.recommendation_algorithm)
    sessions = s.left_join(algo, s.rec_event_id == algo._rid)
    sessions = sessions.mutate(algorithm=sessions.algorithm.fill_null("organic"))
    views = sessions.group_by("algorithm").agg(
        views=sessions.count(),
        completion_rate=sessions.is_completed.cast("float64").mean(),
        avg_minutes_played=sessions.seconds_played.mean() / 60.0,
    )
    out = views.left_join(shown, views.algorithm == shown.algorithm).select(
        views.algorithm,
        "impressions",
        "clicks",
        "watched",
        "views",
        "completion_rate",
        "avg_minutes_played",
    )
    return out.mutate(
        ctr=out.clicks / out.impressions,
        watch_rate=out.watched / out.impressions,
    )


RECOMMENDATION_EFFECTIVENESS_SQL = """
WITH shown AS (
    SELECT recommendation_algorithm                         AS algorithm,
           COUNT(*)                                         AS impressions,
           SUM(CASE WHEN was_clicked THEN 1 ELSE 0 END)     AS clicks,
           SUM(CASE WHEN was_watched THEN 1 ELSE 0 END)     AS watched
    FROM recommendation_event
    GROUP BY recommendation_algorithm
), sessions AS (
    SELECT session_id,
           MAX(rec_event_id)                                AS rec_event_id,
           SUM(viewing_duration)                            AS seconds_played,
           MAX(position_seconds) >= 0.9 * MAX(duration_seconds) AS completed
    FROM viewing_event
    GROUP BY session_id
), views AS (
    SELECT COALESCE(r.recommendation_algorithm, 'organic') AS algorithm,
           COUNT(*)                                         AS views,
           AVG(CASE WHEN s.completed THEN 1.0 ELSE 0.0 END) AS completion_rate,
           AVG(s.seconds_played) / 60.0                     AS avg_minutes_played
    FROM sessions s
    LEFT JOIN recommendation_event r ON r.rec_event_id = s.rec_event_id
    GROUP BY 1
)
SELECT v.algorithm, sh.impressions, sh.clicks, sh.watched, v.views, v.completion_rate,
       v.avg_minutes_played,
       sh.clicks * 1.0 / sh.impressions  AS ctr,
       sh.watched * 1.0 / sh.impressions AS watch_rate
FROM views v
LEFT JOIN shown sh ON sh.algorithm = v.algorithm
"""


# ---------------------------------------------------------------------------------------------
# streaming_quality and completion_by_quality
# ---------------------------------------------------------------------------------------------
def streaming_quality(con) -> ir.Table:
    s = con.table("playback_session")
    d = con.table("device").select("device_id", "device_type", "os")
    v = s.join(d, "device_id")
    out = v.group_by(["device_type", "os", "app_version"]).agg(
        sessions=v.count(),
        play_seconds=v.seconds_played.sum(),
        rebuffer_seconds=v.rebuffer_seconds.sum(),
        rebuffered_sessions=(v.rebuffer_count > 0).cast("int64").sum(),
        avg_startup_seconds=v.startup_seconds.mean(),
        avg_bitrate_kbps=v.avg_bitrate_kbps.mean(),
    )
    return out.mutate(
        rebuffering_ratio=out.rebuffer_seconds / (out.rebuffer_seconds + out.play_seconds),
        rebuffered_share=out.rebuffered_sessions / out.sessions,
    )


_SESSION_QUALITY_SQL = """
WITH played AS (
    SELECT session_id, MIN(device_id) AS device_id, SUM(viewing_duration) AS play_seconds,
           MAX(position_seconds) >= 0.9 * MAX(duration_seconds) AS completed
    FROM viewing_event
    GROUP BY session_id
), q AS (
    SELECT session_id, app_version, event_time, quality_change_type, rebuffer_seconds,
           startup_seconds, average_bitrate,
           EPOCH(COALESCE(LEAD(event_time) OVER (PARTITION BY session_id
                                                 ORDER BY event_time, quality_event_id),
                          stream_end_time)) - EPOCH(event_time) AS held_seconds
    FROM streaming_quality_event
), per_session AS (
    SELECT session_id,
           MAX(app_version)                                        AS app_version,
           SUM(rebuffer_seconds)                                   AS rebuffer_seconds,
           SUM(CASE WHEN quality_change_type = 'rebuffer' THEN 1 ELSE 0 END) AS stalls,
           MAX(startup_seconds)                                    AS startup_seconds,
           CASE WHEN SUM(held_seconds) > 0
                THEN SUM(average_bitrate * held_seconds) / SUM(held_seconds)
                ELSE AVG(average_bitrate) END                      AS avg_bitrate_kbps
    FROM q
    GROUP BY session_id
), sessions AS (
    SELECT p.session_id, p.device_id, p.play_seconds, p.completed, ps.app_version,
           COALESCE(ps.rebuffer_seconds, 0) AS rebuffer_seconds,
           COALESCE(ps.stalls, 0)           AS stalls,
           ps.startup_seconds, ps.avg_bitrate_kbps
    FROM played p
    LEFT JOIN per_session ps ON ps.session_id = p.session_id
)"""

STREAMING_QUALITY_SQL = (
    _SESSION_QUALITY_SQL
    + """
SELECT d.device_type,
       d.os,
       s.app_version,
       COUNT(*)                                          AS sessions,
       SUM(s.play_seconds)                               AS play_seconds,
       SUM(s.rebuffer_seconds)                           AS rebuffer_seconds,
       SUM(CASE WHEN s.stalls > 0 THEN 1 ELSE 0 END)     AS rebuffered_sessions,
       AVG(s.startup_seconds)                            AS avg_startup_seconds,
       AVG(s.avg_bitrate_kbps)                           AS avg_bitrate_kbps,
       SUM(s.rebuffer_seconds) / (SUM(s.rebuffer_seconds) + SUM(s.play_seconds))
                                                         AS rebuffering_ratio,
       AVG(CASE WHEN s.stalls > 0 THEN 1.0 ELSE 0.0 END) AS rebuffered_share
FROM sessions s
JOIN device d ON d.device_id = s.device_id
GROUP BY d.device_type, d.os, s.app_version
"""
)


def quality_band(rebuffer_seconds, seconds_played) -> ir.StringValue:
    """``none`` (no stall), ``low`` (ratio under 0.5 %) or ``high``."""
    ratio = rebuffer_seconds / (rebuffer_seconds + seconds_played)
    return ibis.cases(
        (rebuffer_seconds == 0, "none"),
        (ratio < REBUFFER_BAND, "low"),
        else_="high",
    )


def completion_by_quality(con) -> ir.Table:
    s = con.table("playback_session")
    s = s.mutate(quality_band=quality_band(s.rebuffer_seconds, s.seconds_played))
    return s.group_by("quality_band").agg(
        sessions=s.count(),
        completion_rate=s.is_completed.cast("float64").mean(),
        avg_completion_pct=s.completion_percentage.mean(),
    )


COMPLETION_BY_QUALITY_SQL = """
WITH per_session AS (
    SELECT session_id,
           SUM(viewing_duration)                                 AS play_seconds,
           MAX(position_seconds)                                 AS furthest,
           MAX(duration_seconds)                                 AS duration
    FROM viewing_event
    GROUP BY session_id
), stalls AS (
    SELECT session_id, SUM(rebuffer_seconds) AS rebuffer_seconds
    FROM streaming_quality_event
    GROUP BY session_id
), banded AS (
    SELECT p.*,
           CASE WHEN COALESCE(st.rebuffer_seconds, 0) = 0 THEN 'none'
                WHEN st.rebuffer_seconds / (st.rebuffer_seconds + p.play_seconds) < 0.005
                     THEN 'low'
                ELSE 'high' END                                  AS quality_band
    FROM per_session p
    LEFT JOIN stalls st ON st.session_id = p.session_id
)
SELECT quality_band,
       COUNT(*)                                                   AS sessions,
       AVG(CASE WHEN furthest >= 0.9 * duration THEN 1.0 ELSE 0.0 END) AS completion_rate,
       AVG(100.0 * furthest / duration)                           AS avg_completion_pct
FROM banded
GROUP BY quality_band
"""


# ---------------------------------------------------------------------------------------------
# content_performance
# ---------------------------------------------------------------------------------------------
def content_performance(con) -> ir.Table:
    daily = con.table("content_daily", database="mart")
    per_title = daily.group_by("content_id").agg(
        sessions=daily.sessions.sum(),
        hours_played=daily.hours_played.sum(),
        completions=daily.completions.sum(),
    )
    cr = con.table("creator").select("creator_id", "creator_name")
    t = per_title.join(_current_content(con), "content_id").join(cr, "creator_id")
    t = t.mutate(release_year=t.release_date.year().cast("string"))

    def by(dimension: str, column: str) -> ir.Table:
        g = t.group_by(value=t[column]).agg(
            titles=t.content_id.nunique(),
            sessions=t.sessions.sum(),
            hours_played=t.hours_played.sum(),
            completions=t.completions.sum(),
        )
        return g.select(
            dimension=ibis.literal(dimension),
            value=g.value,
            titles=g.titles,
            sessions=g.sessions,
            hours_played=g.hours_played,
            hours_per_title=g.hours_played / g.titles,
            completion_rate=g.completions / g.sessions,
        )

    return (
        by("genre", "genre_name")
        .union(by("creator", "creator_name"))
        .union(by("release_year", "release_year"))
    )


CONTENT_PERFORMANCE_SQL = """
WITH per_session AS (
    SELECT session_id,
           MIN(content_id)                                       AS content_id,
           SUM(viewing_duration)                                 AS seconds_played,
           MAX(position_seconds) >= 0.9 * MAX(duration_seconds)  AS completed
    FROM viewing_event
    GROUP BY session_id
), titles AS (
    SELECT s.content_id,
           g.genre_name,
           cr.creator_name,
           CAST(YEAR(c.release_date) AS VARCHAR)                 AS release_year,
           COUNT(*)                                              AS sessions,
           SUM(s.seconds_played) / 3600.0                        AS hours_played,
           SUM(CASE WHEN s.completed THEN 1 ELSE 0 END)          AS completions
    FROM per_session s
    JOIN content c  ON c.content_id = s.content_id AND c.is_current
    JOIN genre g    ON g.genre_id = c.genre_id
    JOIN creator cr ON cr.creator_id = c.creator_id
    GROUP BY 1, 2, 3, 4
), rolled AS (
    SELECT 'genre' AS dimension, genre_name AS value, COUNT(*) AS titles,
           SUM(sessions) AS sessions, SUM(hours_played) AS hours_played,
           SUM(completions) AS completions
    FROM titles GROUP BY genre_name
    UNION ALL
    SELECT 'creator', creator_name, COUNT(*), SUM(sessions), SUM(hours_played), SUM(completions)
    FROM titles GROUP BY creator_name
    UNION ALL
    SELECT 'release_year', release_year, COUNT(*), SUM(sessions), SUM(hours_played),
           SUM(completions)
    FROM titles GROUP BY release_year
)
SELECT dimension, value, titles, sessions, hours_played,
       hours_played / titles            AS hours_per_title,
       completions * 1.0 / sessions     AS completion_rate
FROM rolled
"""

# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------
_WINDOW = "Window: 2025-01-01 to 2025-03-31 UTC, event time."
_COMPLETED = f"Completed = furthest position >= {COMPLETION_THRESHOLD:.0%} of the duration."

METRICS = {
    m.name: m
    for m in [
        Metric(
            "viewing_time",
            "Track viewing time and completion rates for content",
            "Seconds and hours played, and sessions, per day, user and title. Seconds belong to "
            "the day they were played; the partial day after the window's end is excluded. "
            + _WINDOW,
            viewing_time,
            VIEWING_TIME_SQL,
            order_by=("date_key", "user_id", "content_id"),
        ),
        Metric(
            "completion_rate",
            "Track viewing time and completion rates for content",
            "Per title (with its current genre): sessions, completed sessions and their share, "
            "and the mean furthest position as a percentage. " + _COMPLETED,
            completion_rate,
            COMPLETION_RATE_SQL,
            order_by=("content_id",),
        ),
        Metric(
            "user_preferences",
            "Analyze user preferences and viewing patterns",
            "Genre affinity per user: sessions, organic sessions and hours per genre, the "
            "genre's share of the user's hours and its rank. The genre is the one the title "
            "was filed under when the session started (as-of join).",
            user_preferences,
            USER_PREFERENCES_SQL,
            order_by=("user_id", "genre_name"),
        ),
        Metric(
            "viewing_patterns",
            "Analyze user preferences and viewing patterns",
            "Hours played and distinct viewers by day of week and hour of day, through the "
            "date and time dimensions; each stretch of playback is counted at the hour of the "
            "event that closes it (at most six minutes later). " + _WINDOW,
            viewing_patterns,
            VIEWING_PATTERNS_SQL,
            order_by=("day_of_week", "hour"),
        ),
        Metric(
            "recommendation_effectiveness",
            "Measure the effectiveness of content recommendations",
            "Per algorithm: impressions, clicks, CTR = clicks / impressions, watch rate = "
            "impressions that started a playback / impressions; and for its views and for "
            "organic views: sessions, completion rate and mean minutes played. " + _COMPLETED,
            recommendation_effectiveness,
            RECOMMENDATION_EFFECTIVENESS_SQL,
            order_by=("algorithm",),
        ),
        Metric(
            "streaming_quality",
            "Monitor streaming quality and user experience metrics",
            "Per device type, OS and the app version that ran the stream: rebuffering ratio = "
            "stall seconds / (stall + play seconds), share of sessions with a stall, mean "
            "start-up time, mean of the sessions' time-weighted bitrate.",
            streaming_quality,
            STREAMING_QUALITY_SQL,
            order_by=("device_type", "os", "app_version"),
        ),
        Metric(
            "completion_by_quality",
            "Monitor streaming quality and user experience metrics",
            "Completion by quality band: none (no stall), low (rebuffering ratio under 0.5 %), "
            "high. " + _COMPLETED,
            completion_by_quality,
            COMPLETION_BY_QUALITY_SQL,
            order_by=("quality_band",),
        ),
        Metric(
            "content_performance",
            "Analyze content performance by genre, creator, and release date",
            "Titles watched, sessions, hours, hours per title and completion rate, rolled up "
            "by current genre, by creator and by release year (one table, a `dimension` "
            "column says which). " + _COMPLETED,
            content_performance,
            CONTENT_PERFORMANCE_SQL,
            order_by=("dimension", "value"),
        ),
    ]
}


# ---------------------------------------------------------------------------------------------
# Interview exercises
# ---------------------------------------------------------------------------------------------
def _ex_completion_by_genre(con) -> ir.Table:
    s = con.table("playback_session")
    t = s.join(_current_content(con), "content_id")
    return t.group_by("genre_name").agg(completion_rate=t.is_completed.cast("float64").mean())


def _ex_sessions_from_events(con) -> ir.Table:
    e = con.table("viewing_event")
    w = ibis.window(group_by="session_id", order_by=["event_time", "event_id"])
    e = e.mutate(
        played=ibis.ifelse(
            e.action_type.lag().over(w).isin(["play", "heartbeat"]),
            e.position_seconds - e.position_seconds.lag().over(w),
            0,
        )
    )
    return e.group_by("session_id").agg(
        seconds_played=e.played.sum(), furthest_position=e.position_seconds.max()
    )


def _ex_recommendation_lift(con) -> ir.Table:
    r = con.table("recommendation_event")
    ctr = r.group_by("recommendation_algorithm").agg(ctr=r.was_clicked.cast("float64").mean())
    p = ctr.filter(ctr.recommendation_algorithm == "personalized").select(p="ctr")
    t = ctr.filter(ctr.recommendation_algorithm == "trending").select(t="ctr")
    j = p.cross_join(t)
    return j.select(ctr_lift=j.p - j.t)


def _ex_rebuffering_ratio(con) -> ir.Table:
    s = con.table("playback_session")
    d = con.table("device").select("device_id", "device_type")
    v = s.join(d, "device_id")
    out = v.group_by("device_type").agg(r=v.rebuffer_seconds.sum(), p=v.seconds_played.sum())
    return out.select("device_type", rebuffering_ratio=out.r / (out.r + out.p))


def _ex_release_cohort(con) -> ir.Table:
    s = con.table("playback_session")
    c = con.table("content")
    c = c.filter(c.is_current).select("content_id", "release_date")
    v = s.join(c, "content_id")
    return v.group_by(release_year=v.release_date.year().cast("int64")).agg(
        hours_played=v.seconds_played.sum() / 3600.0
    )


def _ex_as_of_genre(con) -> ir.Table:
    s = con.table("playback_session")
    c = con.table("content")
    g = con.table("genre")
    v = s.join(
        c,
        [s.content_id == c.content_id, c.valid_from <= s.started_at, s.started_at < c.valid_to],
    ).join(g, "genre_id")
    return v.group_by("genre_name").agg(sessions=v.count())


def _ex_rewinds(con) -> ir.Table:
    e = con.table("viewing_event")
    w = ibis.window(group_by="session_id", order_by=["event_time", "event_id"])
    e = e.mutate(
        prev_action=e.action_type.lag().over(w), prev_position=e.position_seconds.lag().over(w)
    )
    back = e.filter(
        (e.action_type == "play")
        & (e.prev_action == "seek")
        & (e.position_seconds < e.prev_position)
    )
    return back.agg(sessions_with_rewind=back.session_id.nunique())


def _ex_monthly_viewers(con) -> ir.Table:
    f = con.table("viewing_fact")
    f = f.filter(f.date_key < WINDOW_END_KEY)
    return f.group_by(month=(f.date_key // 100 % 100).cast("int64")).agg(
        viewers=f.user_key.nunique()
    )


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "streaming.fact_grain",
            "Name the columns that make up the grain of viewing_fact.",
            {"date_key", "user_key", "content_key", "device_key"},
            hint="One row per ... what? Look at the GROUP BY that builds it, and remember that "
            "content_key is a version of a title.",
        ),
        Exercise(
            "streaming.completion_by_genre",
            "Completion rate per genre (current genre): completed sessions / sessions. "
            "Columns: genre_name, completion_rate.",
            _ex_completion_by_genre,
            hint="Average the sessions, not the titles' rates: a title with 3 sessions must not "
            "weigh as much as one with 300.",
        ),
        Exercise(
            "streaming.sessions_from_events",
            "From viewing_event alone, rebuild per session the seconds played and the furthest "
            "position. Columns: session_id, seconds_played, furthest_position.",
            _ex_sessions_from_events,
            hint="Order each session's events by event_time (not event_id). Only the advance "
            "after a play or a heartbeat is playback; a seek's jump is not.",
        ),
        Exercise(
            "streaming.recommendation_lift",
            "By how much does the click-through rate of 'personalized' exceed that of "
            "'trending'? One row, one column: ctr_lift (a difference of proportions).",
            _ex_recommendation_lift,
            hint="CTR = clicks / impressions, per algorithm; then subtract.",
        ),
        Exercise(
            "streaming.rebuffering_ratio",
            "Rebuffering ratio per device type: stall seconds / (stall seconds + play seconds), "
            "summed over sessions. Columns: device_type, rebuffering_ratio.",
            _ex_rebuffering_ratio,
            hint="A ratio of sums, not the mean of per-session ratios.",
        ),
        Exercise(
            "streaming.release_cohort",
            "Hours played per release year of the title. Columns: release_year (integer), "
            "hours_played.",
            _ex_release_cohort,
            hint="content is SCD2: join the current version only, or every re-tagged title "
            "counts twice.",
        ),
        Exercise(
            "streaming.as_of_genre",
            "Sessions per genre, using the genre each title was filed under when the session "
            "started. Columns: genre_name, sessions.",
            _ex_as_of_genre,
            hint="Join content on content_id and valid_from <= started_at < valid_to (or use "
            "the content_sk the build already stored on each session).",
        ),
        Exercise(
            "streaming.monthly_viewers",
            "Distinct viewers per month, January to March 2025, from viewing_fact. Columns: "
            "month (1-3), viewers.",
            _ex_monthly_viewers,
            hint="A viewer who watched on 20 days of a month is one viewer that month: count "
            "distinct users over the month, do not add up daily counts.",
        ),
        Exercise(
            "streaming.rewinds",
            "How many sessions contain a rewind: a seek followed by a play at an earlier "
            "position? One row, one column: sessions_with_rewind. (viewing_fact cannot answer "
            "this: why?)",
            _ex_rewinds,
            hint="You need consecutive events of a session: LAG over event_time.",
        ),
    ]
}
