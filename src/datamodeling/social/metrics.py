"""The social media metrics: one Ibis function and one hand-written SQL query per requirement.

Conventions shared by every metric:

* **time** is the event's ``event_time`` in UTC (the client clock), never ``received_at``; a day
  is a UTC calendar day (``event_date``). The data covers whole days from 2026-01-01 to
  2026-06-30: every day and every month in it is complete.
* **active**: a user is active on a day when they have at least one content event that day (a
  view, like, comment or share) that survived cleaning. Ad events do not make a user active.
* **windows** include both ends: "28 days ending on d" is ``[d - 27, d]``. A window that starts
  before the first loaded day is reported with ``is_complete = false``, never dropped silently.
* **months** are calendar months (``date_trunc('month', event_date)``).

Where the Ibis function reads a table the build derived (the cumulative table, the churn stats,
the marts), the SQL reads the cleaned events, so a test comparing them checks the derivation too.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2026, 6, 30)
MAU_DAYS = 28
WAU_DAYS = 7
SESSION_GAP_MINUTES = 30

_FIRST = f"DATE '{FIRST_DAY}'"
_LAST = f"DATE '{LAST_DAY}'"


@ibis.udf.scalar.builtin
def bit_count(x: int) -> int:
    """DuckDB's ``bit_count``: the number of set bits."""


def _cum(con) -> ir.Table:
    return con.table("user_activity_cumulative", database="mart")


def _bits(days: int) -> int:
    return (1 << days) - 1


# ---------------------------------------------------------------------------------------------
# 1. DAU, MAU, stickiness
# ---------------------------------------------------------------------------------------------
def dau(con) -> ir.Table:
    cum = _cum(con)
    return cum.group_by("activity_date").aggregate(
        dau=((cum.activity_mask & 1) == 1).sum().cast("int64")
    )


DAU_SQL = f"""
WITH days AS (
    SELECT CAST(range AS DATE) AS activity_date
    FROM range({_FIRST}, {_LAST} + INTERVAL 1 DAY, INTERVAL 1 DAY)
)
SELECT d.activity_date,
       COUNT(DISTINCT e.viewer_id) AS dau
FROM days d
LEFT JOIN content_event e ON e.event_date = d.activity_date
GROUP BY d.activity_date
"""


def mau(con) -> ir.Table:
    cum = _cum(con)
    rolling = cum.group_by("activity_date").aggregate(
        active_users=((cum.activity_mask & _bits(MAU_DAYS)) != 0).sum().cast("int64")
    )
    rolling = rolling.select(
        window_type=ibis.literal("rolling_28d"),
        window_start=(rolling.activity_date - ibis.interval(days=MAU_DAYS - 1)).cast("date"),
        window_end=rolling.activity_date.cast("date"),
        active_users=rolling.active_users.cast("int64"),
    )
    stats = con.table("user_churn_stats")
    months = stats.filter((stats.period == "month") & (stats.status != "churned"))
    months = months.group_by("period_start").aggregate(active_users=months.user_id.nunique())
    months = months.select(
        window_type=ibis.literal("calendar_month"),
        window_start=months.period_start.cast("date"),
        window_end=(months.period_start + ibis.interval(months=1) - ibis.interval(days=1)).cast(
            "date"
        ),
        active_users=months.active_users.cast("int64"),
    )
    both = rolling.union(months)
    return both.mutate(
        is_complete=(both.window_start >= ibis.literal(FIRST_DAY))
        & (both.window_end <= ibis.literal(LAST_DAY))
    )


MAU_SQL = f"""
WITH user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM content_event
),
days AS (
    SELECT CAST(range AS DATE) AS d
    FROM range({_FIRST}, {_LAST} + INTERVAL 1 DAY, INTERVAL 1 DAY)
),
rolling AS (
    SELECT 'rolling_28d'          AS window_type,
           CAST(d - 27 AS DATE)   AS window_start,
           d                      AS window_end,
           COUNT(DISTINCT u.user_id) AS active_users
    FROM days
    LEFT JOIN user_day u ON u.event_date BETWEEN d - 27 AND d
    GROUP BY d
),
calendar AS (
    SELECT 'calendar_month'                                  AS window_type,
           CAST(date_trunc('month', event_date) AS DATE)      AS window_start,
           CAST(last_day(event_date) AS DATE)                 AS window_end,
           COUNT(DISTINCT user_id)                            AS active_users
    FROM user_day
    GROUP BY ALL
)
SELECT *, window_start >= {_FIRST} AND window_end <= {_LAST} AS is_complete
FROM (SELECT * FROM rolling UNION ALL SELECT * FROM calendar)
"""


def stickiness(con) -> ir.Table:
    cum = _cum(con)
    t = cum.group_by("activity_date").aggregate(
        dau=((cum.activity_mask & 1) == 1).sum().cast("int64"),
        wau_7d=((cum.activity_mask & _bits(WAU_DAYS)) != 0).sum().cast("int64"),
        mau_28d=((cum.activity_mask & _bits(MAU_DAYS)) != 0).sum().cast("int64"),
    )
    return t.mutate(
        stickiness=t.dau.cast("float64") / t.mau_28d.nullif(0),
        is_complete=t.activity_date >= ibis.literal(FIRST_DAY) + ibis.interval(days=MAU_DAYS - 1),
    )


STICKINESS_SQL = f"""
WITH user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM content_event
),
days AS (
    SELECT CAST(range AS DATE) AS d
    FROM range({_FIRST}, {_LAST} + INTERVAL 1 DAY, INTERVAL 1 DAY)
),
counts AS (
    SELECT d AS activity_date,
           COUNT(DISTINCT u.user_id) FILTER (WHERE u.event_date = d)      AS dau,
           COUNT(DISTINCT u.user_id) FILTER (WHERE u.event_date > d - 7)  AS wau_7d,
           COUNT(DISTINCT u.user_id)                                      AS mau_28d
    FROM days
    LEFT JOIN user_day u ON u.event_date BETWEEN d - 27 AND d
    GROUP BY d
)
SELECT activity_date, dau, wau_7d, mau_28d,
       dau * 1.0 / NULLIF(mau_28d, 0)        AS stickiness,
       activity_date >= {_FIRST} + 27        AS is_complete
FROM counts
"""


# ---------------------------------------------------------------------------------------------
# 2. engagement by content type
# ---------------------------------------------------------------------------------------------
def engagement_by_content_type(con) -> ir.Table:
    from datamodeling.scd2 import as_of_join

    events = con.table("content_event")
    content = con.table("content")
    t = as_of_join(events, content, "content_id", "event_time", columns=["content_type"])
    t = t.mutate(month=t.event_date.truncate("M"))
    agg = t.group_by("month", "content_type").aggregate(
        views=(t.event_type == "view").sum().cast("int64"),
        likes=(t.event_type == "like").sum().cast("int64"),
        comments=(t.event_type == "comment").sum().cast("int64"),
        shares=(t.event_type == "share").sum().cast("int64"),
        active_users=t.viewer_id.nunique().cast("int64"),
    )
    views = agg.views.nullif(0).cast("float64")
    users = agg.active_users.nullif(0).cast("float64")
    return agg.mutate(
        likes_per_view=agg.likes / views,
        comments_per_view=agg.comments / views,
        shares_per_view=agg.shares / views,
        likes_per_active_user=agg.likes / users,
        comments_per_active_user=agg.comments / users,
        shares_per_active_user=agg.shares / users,
    )


ENGAGEMENT_SQL = """
WITH typed AS (
    SELECT e.*, c.content_type
    FROM content_event e
    LEFT JOIN content c
      ON c.content_id = e.content_id
     AND e.event_time >= c.valid_from AND e.event_time < c.valid_to
),
agg AS (
    SELECT CAST(date_trunc('month', event_date) AS DATE) AS month,
           content_type,
           COUNT(*) FILTER (WHERE event_type = 'view')    AS views,
           COUNT(*) FILTER (WHERE event_type = 'like')    AS likes,
           COUNT(*) FILTER (WHERE event_type = 'comment') AS comments,
           COUNT(*) FILTER (WHERE event_type = 'share')   AS shares,
           COUNT(DISTINCT viewer_id)                      AS active_users
    FROM typed
    GROUP BY ALL
)
SELECT *,
       likes    * 1.0 / NULLIF(views, 0)        AS likes_per_view,
       comments * 1.0 / NULLIF(views, 0)        AS comments_per_view,
       shares   * 1.0 / NULLIF(views, 0)        AS shares_per_view,
       likes    * 1.0 / NULLIF(active_users, 0) AS likes_per_active_user,
       comments * 1.0 / NULLIF(active_users, 0) AS comments_per_active_user,
       shares   * 1.0 / NULLIF(active_users, 0) AS shares_per_active_user
FROM agg
"""


# ---------------------------------------------------------------------------------------------
# 3. user growth and churn
# ---------------------------------------------------------------------------------------------
def user_growth(con) -> ir.Table:
    s = con.table("user_churn_stats")
    t = s.group_by("period", "period_start").aggregate(
        active=(s.status != "churned").sum().cast("int64"),
        new=(s.status == "new").sum().cast("int64"),
        retained=(s.status == "retained").sum().cast("int64"),
        resurrected=(s.status == "resurrected").sum().cast("int64"),
        churned=(s.status == "churned").sum().cast("int64"),
    )
    return t.mutate(quick_ratio=(t.new + t.resurrected).cast("float64") / t.churned.nullif(0))


USER_GROWTH_SQL = f"""
WITH user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM content_event
),
activity AS (   -- one row per user and period with activity, for both period types
    SELECT 'day' AS period, user_id, event_date AS period_start FROM user_day
    UNION
    SELECT 'month', user_id, CAST(date_trunc('month', event_date) AS DATE) FROM user_day
),
steps AS (
    SELECT *,
           CASE period WHEN 'day' THEN CAST(period_start - INTERVAL 1 DAY AS DATE)
                       ELSE CAST(period_start - INTERVAL 1 MONTH AS DATE) END AS previous_period,
           CASE period WHEN 'day' THEN CAST(period_start + INTERVAL 1 DAY AS DATE)
                       ELSE CAST(period_start + INTERVAL 1 MONTH AS DATE) END AS next_period
    FROM activity
),
states AS (
    SELECT a.period, a.period_start,
           CASE WHEN NOT EXISTS (SELECT 1 FROM activity b
                                 WHERE b.period = a.period AND b.user_id = a.user_id
                                   AND b.period_start < a.period_start) THEN 'new'
                WHEN EXISTS (SELECT 1 FROM activity b
                             WHERE b.period = a.period AND b.user_id = a.user_id
                               AND b.period_start = a.previous_period) THEN 'retained'
                ELSE 'resurrected' END AS status
    FROM steps a
    UNION ALL
    SELECT a.period, a.next_period, 'churned'
    FROM steps a
    LEFT JOIN activity b
      ON b.period = a.period AND b.user_id = a.user_id AND b.period_start = a.next_period
    WHERE b.user_id IS NULL
      AND a.next_period <= CASE a.period WHEN 'day' THEN {_LAST}
                                         ELSE CAST(date_trunc('month', {_LAST}) AS DATE) END
)
SELECT period, period_start,
       COUNT(*) FILTER (WHERE status <> 'churned')    AS active,
       COUNT(*) FILTER (WHERE status = 'new')         AS new,
       COUNT(*) FILTER (WHERE status = 'retained')    AS retained,
       COUNT(*) FILTER (WHERE status = 'resurrected') AS resurrected,
       COUNT(*) FILTER (WHERE status = 'churned')     AS churned,
       (COUNT(*) FILTER (WHERE status IN ('new', 'resurrected'))) * 1.0
         / NULLIF(COUNT(*) FILTER (WHERE status = 'churned'), 0) AS quick_ratio
FROM states
GROUP BY period, period_start
"""


def _month_activity(con) -> ir.Table:
    """One row per user and calendar month with activity, with the device used first that month."""
    e = con.table("content_event")
    return e.group_by(user_id=e.viewer_id, month=e.event_date.truncate("M")).aggregate(
        device_id=e.device_id.argmin(e.event_time)
    )


def _with_churn_flag(m: ir.Table) -> ir.Table:
    """Flag each (user, month) whose user is not active the month after; keep only months
    whose next month is loaded. The user's next active month comes from LEAD, in one pass."""
    next_month = (m.month + ibis.interval(months=1)).cast("date")
    following = m.month.lead().over(ibis.window(group_by=m.user_id, order_by=m.month))
    m = m.mutate(
        next_month=next_month,
        churned=following.isnull() | (following.cast("date") != next_month),
    )
    return m.filter(m.next_month <= ibis.literal(LAST_DAY))


def churn_rate(con) -> ir.Table:
    j = _with_churn_flag(_month_activity(con))
    t = j.group_by("month", "next_month").aggregate(
        active_users=j.count(),
        churned_users=j.churned.sum().cast("int64"),
    )
    return t.mutate(churn_rate=t.churned_users.cast("float64") / t.active_users)


CHURN_RATE_SQL = f"""
WITH month_user AS (
    SELECT DISTINCT CAST(date_trunc('month', event_date) AS DATE) AS month, viewer_id AS user_id
    FROM content_event
)
SELECT cur.month,
       CAST(cur.month + INTERVAL 1 MONTH AS DATE)          AS next_month,
       COUNT(*)                                             AS active_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL)          AS churned_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL) * 1.0 / COUNT(*) AS churn_rate
FROM month_user cur
LEFT JOIN month_user nxt
  ON nxt.user_id = cur.user_id AND nxt.month = cur.month + INTERVAL 1 MONTH
WHERE cur.month + INTERVAL 1 MONTH <= {_LAST}     -- the next month must be loaded
GROUP BY ALL
"""

#: The seed's churn query, verbatim (it reads the ``events`` view).
SEED_CHURN_SQL = """
with month_user as (
select date_trunc('month',event_date) as month, user_id
from events
group by all
order by 1,2
),
t2 as (
select current.month, current.user_id as active, next.user_id as churned
from month_user current
left join month_user next on current.user_id = next.user_id and current.month = next.month - interval '1 month'
order by 1,2
)
select month, sum(case when churned is null then 1 else 0 end)*100.0/count(*) as churned_rate
from t2
group by 1
order by 1
"""


def churn_rate_by_device(con) -> ir.Table:
    j = _with_churn_flag(_month_activity(con)).join(con.table("device"), "device_id")
    t = j.group_by("month", "device_type").aggregate(
        active_users=j.count(),
        churned_users=j.churned.sum().cast("int64"),
    )
    return t.mutate(churn_rate=t.churned_users.cast("float64") / t.active_users)


CHURN_BY_DEVICE_SQL = f"""
WITH month_user AS (
    SELECT CAST(date_trunc('month', event_date) AS DATE) AS month,
           viewer_id                                     AS user_id,
           arg_min(device_id, event_time)                AS device_id
    FROM content_event
    GROUP BY ALL
)
SELECT cur.month, d.device_type,
       COUNT(*)                                     AS active_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL)  AS churned_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL) * 1.0 / COUNT(*) AS churn_rate
FROM month_user cur
JOIN device d USING (device_id)
LEFT JOIN month_user nxt
  ON nxt.user_id = cur.user_id AND nxt.month = cur.month + INTERVAL 1 MONTH
WHERE cur.month + INTERVAL 1 MONTH <= {_LAST}
GROUP BY ALL
"""


def resurrection_rate(con) -> ir.Table:
    s = con.table("user_churn_stats")
    s = s.filter(s.period == "month")
    months = s.select("period_start").distinct()
    # users quiet in month m-1 after being active before it: first active before m-1, not in m-1
    first = s.group_by("user_id").aggregate(first_month=s.period_start.min())
    active = s.filter(s.status != "churned").select(a_user_id="user_id", a_month="period_start")
    pool = months.cross_join(first).filter(
        lambda t: t.first_month < (t.period_start - ibis.interval(months=1)).cast("date")
    )
    pool = pool.left_join(
        active,
        (pool.user_id == active.a_user_id)
        & ((pool.period_start - ibis.interval(months=1)).cast("date") == active.a_month),
    )
    pool = pool.filter(pool.a_user_id.isnull()).select("user_id", month="period_start")
    back = s.filter(s.status == "resurrected").select(r_user_id="user_id", r_month="period_start")
    j = pool.left_join(back, (pool.user_id == back.r_user_id) & (pool.month == back.r_month))
    t = j.group_by("month").aggregate(
        dormant_users=j.count(), resurrected_users=j.r_user_id.notnull().sum().cast("int64")
    )
    return t.mutate(resurrection_rate=t.resurrected_users.cast("float64") / t.dormant_users)


RESURRECTION_SQL = """
WITH month_user AS (
    SELECT DISTINCT CAST(date_trunc('month', event_date) AS DATE) AS month, viewer_id AS user_id
    FROM content_event
),
months AS (SELECT DISTINCT month FROM month_user),
dormant AS (   -- in month m: active before m - 1, not active in m - 1
    SELECT m.month, f.user_id
    FROM months m
    JOIN (SELECT user_id, MIN(month) AS first_month FROM month_user GROUP BY user_id) f
      ON f.first_month < m.month - INTERVAL 1 MONTH
    WHERE NOT EXISTS (SELECT 1 FROM month_user a
                      WHERE a.user_id = f.user_id AND a.month = m.month - INTERVAL 1 MONTH)
)
SELECT d.month,
       COUNT(*)                                          AS dormant_users,
       COUNT(a.user_id)                                  AS resurrected_users,
       COUNT(a.user_id) * 1.0 / COUNT(*)                 AS resurrection_rate
FROM dormant d
LEFT JOIN month_user a ON a.user_id = d.user_id AND a.month = d.month
GROUP BY d.month
"""


# ---------------------------------------------------------------------------------------------
# 4. ad performance
# ---------------------------------------------------------------------------------------------
def ad_performance(con) -> ir.Table:
    daily = con.table("campaign_daily", database="mart")
    camp = con.table("campaign").select("campaign_id", "campaign_type")
    t = daily.join(camp, "campaign_id")
    return t.select(
        "campaign_id",
        "campaign_type",
        "event_date",
        "impressions",
        "clicks",
        "conversions",
        "cost",
        "revenue",
        ctr=t.clicks / t.impressions.nullif(0).cast("float64"),
        cvr=t.conversions / t.clicks.nullif(0).cast("float64"),
        cpc=t.cost / t.clicks.nullif(0),
        cpa=t.cost / t.conversions.nullif(0),
        roas=t.revenue / t.cost.nullif(0),
    )


AD_PERFORMANCE_SQL = """
WITH daily AS (
    SELECT campaign_id, event_date,
           COUNT(*) FILTER (WHERE event_type = 'impression') AS impressions,
           COUNT(*) FILTER (WHERE event_type = 'click')      AS clicks,
           COUNT(*) FILTER (WHERE event_type = 'conversion') AS conversions,
           CAST(SUM(cost) AS DOUBLE)                          AS cost,
           CAST(SUM(revenue) AS DOUBLE)                       AS revenue
    FROM ad_event
    GROUP BY ALL
)
SELECT d.campaign_id, c.campaign_type, d.event_date,
       impressions, clicks, conversions, cost, revenue,
       clicks * 1.0 / NULLIF(impressions, 0)  AS ctr,
       conversions * 1.0 / NULLIF(clicks, 0)  AS cvr,
       cost / NULLIF(clicks, 0)               AS cpc,
       cost / NULLIF(conversions, 0)          AS cpa,
       revenue / NULLIF(cost, 0)              AS roas
FROM daily d
JOIN campaign c USING (campaign_id)
"""


# ---------------------------------------------------------------------------------------------
# 5. behaviour across devices
# ---------------------------------------------------------------------------------------------
def device_behavior(con) -> ir.Table:
    s = con.table("session", database="mart")
    d = con.table("device")
    t = s.join(d, "device_id")
    minutes = (t.session_end.epoch_seconds() - t.session_start.epoch_seconds()) / 60.0
    agg = t.group_by("device_type", "os").aggregate(
        users=t.user_id.nunique().cast("int64"),
        sessions=t.count(),
        avg_session_minutes=minutes.mean(),
        events_per_session=t.events.mean(),
        engagements_per_session=t.engagements.mean(),
    )
    return agg.mutate(sessions_per_user=agg.sessions.cast("float64") / agg.users)


DEVICE_BEHAVIOR_SQL = """
WITH gaps AS (
    SELECT *,
           CASE WHEN LAG(event_time) OVER w IS NULL
                  OR event_time > LAG(event_time) OVER w + INTERVAL 30 MINUTE
                THEN 1 ELSE 0 END AS is_start
    FROM content_event
    WINDOW w AS (PARTITION BY viewer_id, device_id ORDER BY event_time, event_id)
),
numbered AS (
    SELECT *, SUM(is_start) OVER (PARTITION BY viewer_id, device_id
                                  ORDER BY event_time, event_id) AS session_number
    FROM gaps
),
sessions AS (
    SELECT viewer_id, device_id, session_number,
           epoch(MAX(event_time)) - epoch(MIN(event_time))  AS seconds,
           COUNT(*)                                          AS events,
           COUNT(*) FILTER (WHERE event_type <> 'view')      AS engagements
    FROM numbered
    GROUP BY ALL
)
SELECT d.device_type, d.os,
       COUNT(DISTINCT s.viewer_id)               AS users,
       COUNT(*)                                  AS sessions,
       AVG(s.seconds) / 60.0                     AS avg_session_minutes,
       AVG(s.events)                             AS events_per_session,
       AVG(s.engagements)                        AS engagements_per_session,
       COUNT(*) * 1.0 / COUNT(DISTINCT s.viewer_id) AS sessions_per_user
FROM sessions s
JOIN device d USING (device_id)
GROUP BY ALL
"""


# ---------------------------------------------------------------------------------------------
# the cumulative table: L7 / L28 activity segments
# ---------------------------------------------------------------------------------------------
def activity_segments(con) -> ir.Table:
    cum = _cum(con)
    l28 = bit_count(cum.activity_mask & _bits(MAU_DAYS))
    segment = ibis.cases(
        (l28 == 0, "dormant"),
        (l28 >= 14, "core"),
        (l28 >= 4, "regular"),
        else_="casual",
    )
    t = cum.mutate(segment=segment)
    return t.group_by("activity_date", "segment").aggregate(users=t.count())


ACTIVITY_SEGMENTS_SQL = """
WITH user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM content_event
),
firsts AS (SELECT user_id, MIN(event_date) AS first_day FROM user_day GROUP BY user_id),
grid AS (   -- every user on every day since their first active day
    SELECT f.user_id, CAST(d.range AS DATE) AS activity_date
    FROM firsts f,
         range(f.first_day, DATE '2026-06-30' + INTERVAL 1 DAY, INTERVAL 1 DAY) d
),
l28 AS (
    SELECT g.activity_date, g.user_id, COUNT(u.event_date) AS days_active
    FROM grid g
    LEFT JOIN user_day u
      ON u.user_id = g.user_id AND u.event_date BETWEEN g.activity_date - 27 AND g.activity_date
    GROUP BY ALL
)
SELECT activity_date,
       CASE WHEN days_active = 0 THEN 'dormant' WHEN days_active >= 14 THEN 'core'
            WHEN days_active >= 4 THEN 'regular' ELSE 'casual' END AS segment,
       COUNT(*) AS users
FROM l28
GROUP BY ALL
"""


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "dau",
            "Track daily and monthly active users (DAU/MAU)",
            "Daily active users: distinct users with at least one content event on the UTC day "
            "(bit 0 of the cumulative activity mask). One row per day of the loaded period.",
            dau,
            DAU_SQL,
            order_by=("activity_date",),
        ),
        Metric(
            "mau",
            "Track daily and monthly active users (DAU/MAU)",
            "Monthly active users two ways: rolling 28 days ending on each day, both ends "
            "included ([d-27, d]), and calendar months. One row per window; is_complete is false "
            "when the window starts before the first loaded day.",
            mau,
            MAU_SQL,
            order_by=("window_type", "window_end"),
        ),
        Metric(
            "stickiness",
            "Track daily and monthly active users (DAU/MAU)",
            "DAU / MAU(28 days) per day: the share of the month's users who come on a given day; "
            "with DAU, WAU (7 days) and MAU (28 days), all windows ending on the day itself. "
            "The first 27 days have a short MAU window (is_complete false).",
            stickiness,
            STICKINESS_SQL,
            order_by=("activity_date",),
        ),
        Metric(
            "engagement_by_content_type",
            "Analyze post engagement (likes, comments, shares) by content type",
            "Per calendar month and content type (the content's version valid at the event): "
            "views, likes, comments, shares, distinct active users, and each engagement per view "
            "and per active user.",
            engagement_by_content_type,
            ENGAGEMENT_SQL,
            order_by=("month", "content_type"),
        ),
        Metric(
            "user_growth",
            "Monitor user growth and churn rates",
            "Growth accounting per day and per calendar month: active = new + retained + "
            "resurrected; churned(t) = active(t-1) - retained(t); quick ratio = (new + "
            "resurrected) / churned. New = first period ever active in the loaded data.",
            user_growth,
            USER_GROWTH_SQL,
            order_by=("period", "period_start"),
        ),
        Metric(
            "churn_rate",
            "Monitor user growth and churn rates",
            "Monthly churn: of the users active in a calendar month, the share not active in the "
            "next month. Only months whose next month is loaded (the last month is left out, "
            "not reported as 100%).",
            churn_rate,
            CHURN_RATE_SQL,
            order_by=("month",),
        ),
        Metric(
            "churn_rate_by_device",
            "Monitor user growth and churn rates",
            "Monthly churn per device type (the device of the user's first event in the month).",
            churn_rate_by_device,
            CHURN_BY_DEVICE_SQL,
            order_by=("month", "device_type"),
        ),
        Metric(
            "resurrection_rate",
            "Monitor user growth and churn rates",
            "Of the users quiet in the previous month after being active before it, the share "
            "active in the month (resurrected).",
            resurrection_rate,
            RESURRECTION_SQL,
            order_by=("month",),
        ),
        Metric(
            "ad_performance",
            "Measure ad performance (impressions, clicks, conversions)",
            "Per campaign and UTC day of the events: impressions, clicks, conversions, cost, "
            "revenue; CTR = clicks/impressions, CVR = conversions/clicks, CPC = cost/clicks, "
            "CPA = cost/conversions, ROAS = revenue/cost (null when the divisor is 0). Each "
            "event counts on its own day (a click is not moved to its impression's day).",
            ad_performance,
            AD_PERFORMANCE_SQL,
            order_by=("campaign_id", "event_date"),
        ),
        Metric(
            "device_behavior",
            "Analyze user behavior across different devices",
            "Sessions (a user's content events on one device; a gap over 30 minutes starts a new "
            "one) per device type and OS: users, sessions, mean length in minutes (first to last "
            "event), events and engagements per session, sessions per user.",
            device_behavior,
            DEVICE_BEHAVIOR_SQL,
            order_by=("device_type", "os"),
        ),
        Metric(
            "activity_segments",
            "Track daily and monthly active users (DAU/MAU)",
            "Users per day by days active in the last 28 (L28, from the bit mask): core >= 14, "
            "regular 4-13, casual 1-3, dormant 0 (seen before, quiet for 28 days).",
            activity_segments,
            ACTIVITY_SEGMENTS_SQL,
            order_by=("activity_date", "segment"),
        ),
    ]
}


# ---------------------------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------------------------
def _ex_dau_mau(con) -> ir.Table:
    cum = _cum(con)
    day = cum.filter(cum.activity_date == ibis.literal(date(2026, 5, 31)))
    return day.aggregate(
        dau=((day.activity_mask & 1) == 1).sum().cast("int64"),
        mau=(day.activity_mask != 0).sum().cast("int64"),
    )


def _ex_growth(con) -> ir.Table:
    g = user_growth(con)
    g = g.filter((g.period == "month") & (g.period_start == ibis.literal(date(2026, 4, 1))))
    return g.select("new", "retained", "resurrected", "churned")


def _ex_fix_churn(con) -> ir.Table:
    return churn_rate(con).select("month", "churn_rate")


def _ex_l7(con) -> ir.Table:
    cum = _cum(con)
    day = cum.filter(cum.activity_date == ibis.literal(date(2026, 6, 30)))
    day = day.filter((day.activity_mask & _bits(WAU_DAYS)) != 0)
    day = day.mutate(l7=bit_count(day.activity_mask & _bits(WAU_DAYS)).cast("int64"))
    return day.group_by("l7").aggregate(users=day.count())


def _ex_sessions(con) -> ir.Table:
    s = con.table("session", database="mart")
    d = con.table("device")
    t = s.join(d, "device_id")
    return t.group_by("device_type").aggregate(sessions=t.count())


def _ex_funnel(con) -> ir.Table:
    e = con.table("ad_event").join(con.table("campaign"), "campaign_id")
    t = e.group_by("campaign_type").aggregate(
        impressions=(e.event_type == "impression").sum(),
        clicks=(e.event_type == "click").sum(),
        conversions=(e.event_type == "conversion").sum(),
    )
    return t.select(
        "campaign_type",
        ctr=t.clicks / t.impressions.cast("float64"),
        cvr=t.conversions / t.clicks.cast("float64"),
    )


def _ex_device_churn(con) -> ir.Table:
    t = churn_rate_by_device(con)
    t = t.group_by("device_type").aggregate(
        active_users=t.active_users.sum(), churned_users=t.churned_users.sum()
    )
    return t.select("device_type", churn_rate=t.churned_users.cast("float64") / t.active_users)


def _ex_resurrected(con) -> ir.Table:
    g = user_growth(con)
    g = g.filter(g.period == "month")
    return g.select(month=g.period_start, resurrected=g.resurrected)


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "social.grain",
            "Name the columns that identify one row of user_churn_stats (its grain).",
            {"user_id", "period", "period_start"},
            hint="The seed's six columns are not enough: period says day or month, not which one.",
        ),
        Exercise(
            "social.dau_mau",
            "DAU and MAU (rolling 28 days, both ends included) on 2026-05-31: one row, columns "
            "dau and mau.",
            _ex_dau_mau,
            hint="A user is active on a day with at least one content event. 28 days ending on "
            "May 31 start on May 4.",
        ),
        Exercise(
            "social.growth_states",
            "Growth accounting for April 2026 (calendar month): one row, columns new, retained, "
            "resurrected, churned.",
            _ex_growth,
            hint="Churned in April = active in March, not in April. Resurrected = active in "
            "April, not in March, but in some month before March.",
        ),
        Exercise(
            "social.fix_churn",
            "Fix the seed's churn query: monthly churn rate as a fraction, columns month and "
            "churn_rate, leaving out the month that has no next month loaded.",
            _ex_fix_churn,
            hint="The seed's last month shows 100%: nobody can be active in a month that is "
            "not loaded yet.",
        ),
        Exercise(
            "social.l7",
            "From the cumulative table on 2026-06-30: how many users were active on exactly k of "
            "the last 7 days, for k = 1..7? Columns l7 and users.",
            _ex_l7,
            hint="Mask the low 7 bits (activity_mask & 127) and count the set bits: DuckDB has "
            "bit_count().",
        ),
        Exercise(
            "social.sessions",
            "Sessionise the content events (a gap over 30 minutes between a user's consecutive "
            "events on a device starts a new session) and count sessions per device type: "
            "columns device_type, sessions.",
            _ex_sessions,
            hint="LAG(event_time) over (user, device) ordered by time; flag starts; a running "
            "SUM of the flags numbers the sessions.",
        ),
        Exercise(
            "social.ad_funnel",
            "CTR (clicks per impression) and CVR (conversions per click) per campaign type over "
            "the whole period: columns campaign_type, ctr, cvr.",
            _ex_funnel,
            hint="Count each event type with a FILTER or a CASE, then divide as doubles.",
        ),
        Exercise(
            "social.device_churn",
            "Monthly churn pooled over all complete months, per device type (the device of the "
            "user's first event in the month): columns device_type, churn_rate.",
            _ex_device_churn,
            hint="Pool counts, not rates: sum churned users and active users over the months, "
            "then divide.",
        ),
        Exercise(
            "social.resurrected",
            "Resurrected users per calendar month: active in the month, not in the previous "
            "month, but active in some month before that. Columns month, resurrected (every "
            "loaded month, 0 when none).",
            _ex_resurrected,
            hint="Returning after a quiet month is not the same as new: the user needs earlier "
            "activity.",
        ),
    ]
}
