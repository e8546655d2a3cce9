"""The social media metrics: one Ibis function and one hand-written SQL query per requirement.

Conventions shared by every metric (each definition below relies on them):

* **Loaded period.** The days of ``dim_date`` (its rows with ``date_key >= 0``): every UTC day
  from the first loaded day to the last, both complete days. Nothing here is typed as a date:
  the first and last loaded day are read from ``dim_date``, so a warehouse whose data ends in
  the middle of a month gives correct answers too.
* **Time.** An event's time is its ``event_time`` (the client clock, stored in UTC), never
  ``received_at`` (load time); its day is the UTC calendar day of ``event_time``
  (``event_date``). There is no local time: the platform reports one day for all its users.
* **Users** are identified by their durable business key (``viewer_id`` on content events,
  ``user_id`` elsewhere). Inferred users (events name them, the app database has no record
  yet) are users like any other.
* **Active.** A user is active on a day when they have at least one content event (a view,
  like, comment or share) in ``fact_content_event`` on that day. Ad events do not make a user
  active.
* **Sign-up day.** The UTC day of the user's ``created_at`` in ``dim_user``; for a user with no
  ``created_at`` (an inferred user) the first active day; if the first active day is earlier
  than ``created_at``, the first active day.
* **Windows** are half-open, ``[start, end)``; "the 28 days ending on d" is ``[d - 27, d + 1)``:
  the anchor day d is included. **Months** are calendar months of ``event_date``.
* **Incomplete periods.** A window or month that is not entirely inside the loaded period is
  reported with ``is_complete = false``, or left out where a metric says so, never silently
  short. The first loaded period is *left-censored* for growth accounting: the period before it
  is not loaded, so whether a returning user was retained or resurrected is unknown.
* **Ratios** are DOUBLE, computed at the end from exact counts and DECIMAL sums; a ratio whose
  divisor is 0 is NULL.

Where the Ibis function reads a table the build derived (the cumulative table, the churn stats,
the marts), the SQL reads the facts, so a test comparing them checks the derivation too.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

#: The generated period (the exercises ask about its days; the metrics read ``dim_date``).
FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2026, 6, 30)
MAU_DAYS = 28
WAU_DAYS = 7
SESSION_GAP_MINUTES = 30


@ibis.udf.scalar.builtin
def bit_count(x: int) -> int:
    """DuckDB's ``bit_count``: the number of set bits."""


def _cum(con) -> ir.Table:
    return con.table("user_activity_cumulative", database="mart")


def _bits(days: int) -> int:
    return (1 << days) - 1


def _days(con) -> ir.Table:
    """The loaded days: the real rows of ``dim_date``."""
    d = con.table("dim_date")
    return d.filter(d.date_key >= 0)


def _first_day(con) -> ir.Scalar:
    return _days(con).calendar_date.min()


def _last_day(con) -> ir.Scalar:
    return _days(con).calendar_date.max()


def _month_end(month: ir.DateValue) -> ir.DateValue:
    """The last day of the month starting on ``month``."""
    return (month + ibis.interval(months=1) - ibis.interval(days=1)).cast("date")


def _signups(con) -> ir.Table:
    """One row per user of ``dim_user`` or of the facts: ``signup_date`` (see the conventions)."""
    u = con.table("dim_user")
    u = u.filter(u.user_id >= 0)
    created = u.group_by("user_id").aggregate(created=u.created_at.min().date())
    e = con.table("fact_content_event")
    first = e.group_by(f_user_id=e.viewer_id).aggregate(first_active=e.event_date.min())
    j = created.outer_join(first, created.user_id == first.f_user_id)
    signup = ibis.cases(
        (j.created.isnull(), j.first_active),
        (j.first_active.isnull() | (j.created <= j.first_active), j.created),
        else_=j.first_active,
    )
    return j.select(user_id=j.user_id.fill_null(j.f_user_id), signup_date=signup)


_BOUNDS = """bounds AS (   -- the loaded period
    SELECT MIN(calendar_date) AS first_day, MAX(calendar_date) AS last_day
    FROM dim_date WHERE date_key >= 0
)"""

_SIGNUP = """signup AS (   -- sign-up day: created_at, else (inferred users) the first active day
    SELECT COALESCE(c.user_id, f.user_id) AS user_id,
           CASE WHEN c.created IS NULL THEN f.first_active
                WHEN f.first_active IS NULL OR c.created <= f.first_active THEN c.created
                ELSE f.first_active END AS signup_date
    FROM (SELECT user_id, CAST(MIN(created_at) AS DATE) AS created
          FROM dim_user WHERE user_id >= 0 GROUP BY user_id) c
    FULL OUTER JOIN (SELECT viewer_id AS user_id, MIN(event_date) AS first_active
                     FROM fact_content_event GROUP BY viewer_id) f
      ON f.user_id = c.user_id
)"""


# ---------------------------------------------------------------------------------------------
# 1. DAU, MAU, stickiness
# ---------------------------------------------------------------------------------------------
def dau(con) -> ir.Table:
    cum = _cum(con)
    counts = cum.group_by(day="activity_date").aggregate(
        dau=((cum.activity_mask & 1) == 1).sum().cast("int64")
    )
    days = _days(con)
    j = days.left_join(counts, days.calendar_date == counts.day)
    return j.select(activity_date=j.calendar_date, dau=j.dau.fill_null(0))


DAU_SQL = """
SELECT d.calendar_date             AS activity_date,
       COUNT(DISTINCT e.viewer_id) AS dau
FROM dim_date d
LEFT JOIN fact_content_event e ON e.event_date = d.calendar_date
WHERE d.date_key >= 0
GROUP BY d.calendar_date
"""


def mau(con) -> ir.Table:
    cum = _cum(con)
    counts = cum.group_by(day="activity_date").aggregate(
        n=((cum.activity_mask & _bits(MAU_DAYS)) != 0).sum().cast("int64")
    )
    days = _days(con)
    r = days.left_join(counts, days.calendar_date == counts.day)
    rolling = r.select(
        window_type=ibis.literal("rolling_28d"),
        window_start=(r.calendar_date - ibis.interval(days=MAU_DAYS - 1)).cast("date"),
        window_end=r.calendar_date,
        active_users=r.n.fill_null(0),
    )
    stats = con.table("user_churn_stats", database="mart")
    active = stats.filter((stats.period == "month") & (stats.status != "churned"))
    per_month = active.group_by(m="period_start").aggregate(n=active.user_id.nunique())
    months = days.select(month=days.calendar_date.truncate("M")).distinct()
    c = months.left_join(per_month, months.month == per_month.m)
    calendar = c.select(
        window_type=ibis.literal("calendar_month"),
        window_start=c.month,
        window_end=_month_end(c.month),
        active_users=c.n.fill_null(0).cast("int64"),
    )
    both = rolling.union(calendar)
    return both.mutate(
        is_complete=(both.window_start >= _first_day(con)) & (both.window_end <= _last_day(con))
    )


MAU_SQL = f"""
WITH {_BOUNDS},
user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM fact_content_event
),
days AS (SELECT calendar_date AS d FROM dim_date WHERE date_key >= 0),
rolling AS (
    SELECT 'rolling_28d'             AS window_type,
           CAST(d - 27 AS DATE)      AS window_start,
           d                         AS window_end,
           COUNT(DISTINCT u.user_id) AS active_users
    FROM days
    LEFT JOIN user_day u ON u.event_date BETWEEN d - 27 AND d
    GROUP BY d
),
calendar AS (
    SELECT 'calendar_month'                                AS window_type,
           CAST(date_trunc('month', d) AS DATE)            AS window_start,
           CAST(last_day(d) AS DATE)                       AS window_end,
           COUNT(DISTINCT u.user_id)                       AS active_users
    FROM days
    LEFT JOIN user_day u ON u.event_date = d
    GROUP BY ALL
)
SELECT w.*, w.window_start >= b.first_day AND w.window_end <= b.last_day AS is_complete
FROM (SELECT * FROM rolling UNION ALL SELECT * FROM calendar) w
CROSS JOIN bounds b
"""


def stickiness(con) -> ir.Table:
    cum = _cum(con)
    counts = cum.group_by(day="activity_date").aggregate(
        dau=((cum.activity_mask & 1) == 1).sum().cast("int64"),
        wau_7d=((cum.activity_mask & _bits(WAU_DAYS)) != 0).sum().cast("int64"),
        mau_28d=((cum.activity_mask & _bits(MAU_DAYS)) != 0).sum().cast("int64"),
    )
    days = _days(con)
    j = days.left_join(counts, days.calendar_date == counts.day)
    t = j.select(
        activity_date=j.calendar_date,
        dau=j.dau.fill_null(0),
        wau_7d=j.wau_7d.fill_null(0),
        mau_28d=j.mau_28d.fill_null(0),
    )
    return t.mutate(
        stickiness=t.dau.cast("float64") / t.mau_28d.nullif(0),
        is_complete=(t.activity_date - ibis.interval(days=MAU_DAYS - 1)).cast("date")
        >= _first_day(con),
    )


STICKINESS_SQL = f"""
WITH {_BOUNDS},
user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM fact_content_event
),
days AS (SELECT calendar_date AS d FROM dim_date WHERE date_key >= 0),
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
       dau * 1.0 / NULLIF(mau_28d, 0)          AS stickiness,
       activity_date - 27 >= b.first_day       AS is_complete
FROM counts CROSS JOIN bounds b
"""


# ---------------------------------------------------------------------------------------------
# 2. engagement by content type
# ---------------------------------------------------------------------------------------------
def engagement_by_content_type(con) -> ir.Table:
    events = con.table("fact_content_event")
    content = con.table("dim_content").select("content_sk", "content_type")
    t = events.join(content, "content_sk")  # the version valid at the event, stored at load
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
        is_complete=(agg.month >= _first_day(con)) & (_month_end(agg.month) <= _last_day(con)),
    )


ENGAGEMENT_SQL = f"""
WITH {_BOUNDS},
agg AS (
    SELECT CAST(date_trunc('month', e.event_date) AS DATE)  AS month,
           c.content_type,
           COUNT(*) FILTER (WHERE e.event_type = 'view')    AS views,
           COUNT(*) FILTER (WHERE e.event_type = 'like')    AS likes,
           COUNT(*) FILTER (WHERE e.event_type = 'comment') AS comments,
           COUNT(*) FILTER (WHERE e.event_type = 'share')   AS shares,
           COUNT(DISTINCT e.viewer_id)                      AS active_users
    FROM fact_content_event e
    JOIN dim_content c ON c.content_sk = e.content_sk   -- the version valid at the event
    GROUP BY ALL
)
SELECT agg.*,
       likes    * 1.0 / NULLIF(views, 0)        AS likes_per_view,
       comments * 1.0 / NULLIF(views, 0)        AS comments_per_view,
       shares   * 1.0 / NULLIF(views, 0)        AS shares_per_view,
       likes    * 1.0 / NULLIF(active_users, 0) AS likes_per_active_user,
       comments * 1.0 / NULLIF(active_users, 0) AS comments_per_active_user,
       shares   * 1.0 / NULLIF(active_users, 0) AS shares_per_active_user,
       month >= b.first_day AND last_day(month) <= b.last_day AS is_complete
FROM agg CROSS JOIN bounds b
"""


# ---------------------------------------------------------------------------------------------
# 3. user growth and churn
# ---------------------------------------------------------------------------------------------
def _periods(con) -> ir.Table:
    """Every day and every calendar month of the loaded period: period, period_start, period_end."""
    days = _days(con)
    day = days.select(
        period=ibis.literal("day"),
        period_start=days.calendar_date,
        period_end=days.calendar_date,
    )
    month = days.select(
        period=ibis.literal("month"),
        period_start=days.calendar_date.truncate("M"),
        period_end=_month_end(days.calendar_date.truncate("M")),
    ).distinct()
    return day.union(month)


def user_growth(con) -> ir.Table:
    s = con.table("user_churn_stats", database="mart")
    counts = s.group_by(p="period", ps="period_start").aggregate(
        # COUNT(*) FILTER: a BIGINT on every engine (a SUM of flags is a HUGEINT on DuckDB)
        active=s.count(where=s.status != "churned"),
        new=s.count(where=s.status == "new"),
        returning_users=s.count(where=s.status.isin(["returning", "retained", "resurrected"])),
        retained=s.count(where=s.status == "retained"),
        resurrected=s.count(where=s.status == "resurrected"),
        churned=s.count(where=s.status == "churned"),
    )
    periods = _periods(con)
    j = periods.left_join(
        counts, (periods.period == counts.p) & (periods.period_start == counts.ps)
    ).drop("p", "ps")
    first = _first_day(con)
    censored = ibis.ifelse(
        j.period == "day", j.period_start == first, j.period_start == first.truncate("M")
    )

    def measured(x):
        return ibis.ifelse(censored, ibis.null("int64"), x.fill_null(0))

    t = j.select(
        "period",
        "period_start",
        active=j.active.fill_null(0),
        new=j.new.fill_null(0),
        returning_users=j.returning_users.fill_null(0),
        retained=measured(j.retained),
        resurrected=measured(j.resurrected),
        churned=measured(j.churned),
        is_left_censored=censored,
        is_complete=(j.period_start >= first) & (j.period_end <= _last_day(con)),
    )
    return t.mutate(quick_ratio=(t.new + t.resurrected).cast("float64") / t.churned.nullif(0))


USER_GROWTH_SQL = f"""
WITH {_BOUNDS}, {_SIGNUP},
user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM fact_content_event
),
periods AS (   -- every day and every month of the loaded period
    SELECT 'day' AS period, calendar_date AS period_start, calendar_date AS period_end
    FROM dim_date WHERE date_key >= 0
    UNION ALL
    SELECT DISTINCT 'month', CAST(date_trunc('month', calendar_date) AS DATE),
           CAST(last_day(calendar_date) AS DATE)
    FROM dim_date WHERE date_key >= 0
),
activity AS (  -- one row per user and period with activity, with the period of the sign-up
    SELECT DISTINCT 'day' AS period, u.user_id, u.event_date AS period_start,
           s.signup_date AS signup_start,
           CAST(u.event_date - INTERVAL 1 DAY AS DATE) AS previous_start,
           CAST(u.event_date + INTERVAL 1 DAY AS DATE) AS next_start,
           b.first_day AS first_start, b.last_day AS last_start
    FROM user_day u JOIN signup s USING (user_id) CROSS JOIN bounds b
    UNION ALL
    SELECT DISTINCT 'month', u.user_id, CAST(date_trunc('month', u.event_date) AS DATE),
           CAST(date_trunc('month', s.signup_date) AS DATE),
           CAST(date_trunc('month', u.event_date) - INTERVAL 1 MONTH AS DATE),
           CAST(date_trunc('month', u.event_date) + INTERVAL 1 MONTH AS DATE),
           CAST(date_trunc('month', b.first_day) AS DATE),
           CAST(date_trunc('month', b.last_day) AS DATE)
    FROM user_day u JOIN signup s USING (user_id) CROSS JOIN bounds b
),
states AS (
    SELECT a.period, a.period_start,
           CASE WHEN a.signup_start = a.period_start THEN 'new'
                WHEN a.period_start = a.first_start  THEN 'returning'
                WHEN p.user_id IS NOT NULL           THEN 'retained'
                ELSE 'resurrected' END AS status
    FROM activity a
    LEFT JOIN activity p
      ON p.period = a.period AND p.user_id = a.user_id AND p.period_start = a.previous_start
    UNION ALL
    SELECT a.period, a.next_start, 'churned'
    FROM activity a
    LEFT JOIN activity n
      ON n.period = a.period AND n.user_id = a.user_id AND n.period_start = a.next_start
    WHERE n.user_id IS NULL AND a.next_start <= a.last_start
),
counts AS (
    SELECT p.period, p.period_start,
           p.period_start = CASE p.period WHEN 'day' THEN b.first_day
                                          ELSE CAST(date_trunc('month', b.first_day) AS DATE)
                            END                                          AS is_left_censored,
           p.period_start >= b.first_day AND p.period_end <= b.last_day  AS is_complete,
           COUNT(s.status) FILTER (WHERE s.status <> 'churned')          AS active,
           COUNT(s.status) FILTER (WHERE s.status = 'new')               AS new,
           COUNT(s.status) FILTER (WHERE s.status IN ('returning', 'retained', 'resurrected'))
                                                                         AS returning_users,
           COUNT(s.status) FILTER (WHERE s.status = 'retained')          AS retained,
           COUNT(s.status) FILTER (WHERE s.status = 'resurrected')       AS resurrected,
           COUNT(s.status) FILTER (WHERE s.status = 'churned')           AS churned
    FROM periods p
    CROSS JOIN bounds b
    LEFT JOIN states s ON s.period = p.period AND s.period_start = p.period_start
    GROUP BY ALL
)
SELECT period, period_start, active, new, returning_users,
       CASE WHEN is_left_censored THEN NULL ELSE retained END     AS retained,
       CASE WHEN is_left_censored THEN NULL ELSE resurrected END  AS resurrected,
       CASE WHEN is_left_censored THEN NULL ELSE churned END      AS churned,
       is_left_censored, is_complete,
       CASE WHEN is_left_censored THEN NULL
            ELSE (new + resurrected) * 1.0 / NULLIF(churned, 0) END AS quick_ratio
FROM counts
"""


def _month_activity(con) -> ir.Table:
    """One row per user and calendar month with activity: the device of the month's first event
    (earliest event_time; a tie goes to the smallest event_id)."""
    e = con.table("fact_content_event")
    e = e.mutate(month=e.event_date.truncate("M"))
    first = ibis.row_number().over(
        group_by=[e.viewer_id, e.month], order_by=[e.event_time, e.event_id]
    )
    e = e.mutate(_n=first)
    e = e.filter(e._n == 0)
    return e.select(user_id=e.viewer_id, month=e.month, device_id=e.device_id)


def _with_churn_flag(con, m: ir.Table) -> ir.Table:
    """Flag each (user, month) whose user is not active the month after; keep only the months
    loaded whole whose next month is loaded whole too. The user's next active month comes from
    LEAD, in one pass."""
    next_month = (m.month + ibis.interval(months=1)).cast("date")
    following = m.month.lead().over(ibis.window(group_by=m.user_id, order_by=m.month))
    m = m.mutate(
        next_month=next_month,
        churned=following.isnull() | (following.cast("date") != next_month),
    )
    return m.filter((m.month >= _first_day(con)) & (_month_end(m.next_month) <= _last_day(con)))


def churn_rate(con) -> ir.Table:
    j = _with_churn_flag(con, _month_activity(con))
    t = j.group_by("month", "next_month").aggregate(
        active_users=j.count(),
        churned_users=j.churned.sum().cast("int64"),
    )
    return t.mutate(churn_rate=t.churned_users.cast("float64") / t.active_users)


CHURN_RATE_SQL = f"""
WITH {_BOUNDS},
month_user AS (
    SELECT DISTINCT CAST(date_trunc('month', event_date) AS DATE) AS month, viewer_id AS user_id
    FROM fact_content_event
)
SELECT cur.month,
       CAST(cur.month + INTERVAL 1 MONTH AS DATE)          AS next_month,
       COUNT(*)                                             AS active_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL)          AS churned_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL) * 1.0 / COUNT(*) AS churn_rate
FROM month_user cur
CROSS JOIN bounds b
LEFT JOIN month_user nxt
  ON nxt.user_id = cur.user_id AND nxt.month = cur.month + INTERVAL 1 MONTH
WHERE cur.month >= b.first_day                                     -- this month loaded whole
  AND cur.month + INTERVAL 2 MONTH - INTERVAL 1 DAY <= b.last_day  -- and the next month too
GROUP BY ALL
"""

#: The brief's churn query, verbatim (it reads the ``events`` view).
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
    j = _with_churn_flag(con, _month_activity(con))
    devices = con.table("dim_device").select("device_id", "device_type")
    j = j.join(devices, "device_id")
    t = j.group_by("month", "device_type").aggregate(
        active_users=j.count(),
        churned_users=j.churned.sum().cast("int64"),
    )
    return t.mutate(churn_rate=t.churned_users.cast("float64") / t.active_users)


CHURN_BY_DEVICE_SQL = f"""
WITH {_BOUNDS},
ranked AS (
    SELECT CAST(date_trunc('month', event_date) AS DATE) AS month,
           viewer_id                                     AS user_id,
           device_id,
           ROW_NUMBER() OVER (PARTITION BY viewer_id, date_trunc('month', event_date)
                              ORDER BY event_time, event_id) AS n
    FROM fact_content_event
),
month_user AS (SELECT month, user_id, device_id FROM ranked WHERE n = 1)
SELECT cur.month, d.device_type,
       COUNT(*)                                     AS active_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL)  AS churned_users,
       COUNT(*) FILTER (WHERE nxt.user_id IS NULL) * 1.0 / COUNT(*) AS churn_rate
FROM month_user cur
CROSS JOIN bounds b
JOIN dim_device d ON d.device_id = cur.device_id
LEFT JOIN month_user nxt
  ON nxt.user_id = cur.user_id AND nxt.month = cur.month + INTERVAL 1 MONTH
WHERE cur.month >= b.first_day
  AND cur.month + INTERVAL 2 MONTH - INTERVAL 1 DAY <= b.last_day
GROUP BY ALL
"""


def resurrection_rate(con) -> ir.Table:
    days = _days(con)
    months = days.select(month=days.calendar_date.truncate("M")).distinct()
    previous = (months.month - ibis.interval(months=1)).cast("date")
    months = months.filter(
        (previous >= _first_day(con)) & (_month_end(months.month) <= _last_day(con))
    ).mutate(previous=previous)
    u = con.table("dim_user")
    gone = u.filter(u.is_deleted & (u.user_id >= 0))
    closed = gone.group_by(c_user_id="user_id").aggregate(closed_at=gone.valid_from.min())
    users = _signups(con).view()  # dim_user is on both sides: a view keeps them apart
    users = users.left_join(closed, users.user_id == closed.c_user_id).drop("c_user_id")
    s = con.table("user_churn_stats", database="mart")
    active = s.filter((s.period == "month") & (s.status != "churned"))
    active = active.select(a_user_id="user_id", a_month="period_start")
    pool = months.cross_join(users).select(
        "month", "previous", "user_id", "signup_date", "closed_at"
    )
    pool = pool.filter(
        (pool.signup_date < pool.month)
        & (pool.closed_at.isnull() | (pool.closed_at >= pool.month.cast("timestamp")))
    )
    quiet = pool.anti_join(
        active, (pool.user_id == active.a_user_id) & (pool.previous == active.a_month)
    )
    back = active.select(r_user_id="a_user_id", r_month="a_month")
    j = quiet.left_join(back, (quiet.user_id == back.r_user_id) & (quiet.month == back.r_month))
    t = j.group_by("month").aggregate(
        dormant_users=j.count(), resurrected_users=j.r_user_id.notnull().sum().cast("int64")
    )
    return t.mutate(
        resurrection_rate=t.resurrected_users.cast("float64") / t.dormant_users.nullif(0)
    )


RESURRECTION_SQL = f"""
WITH {_BOUNDS}, {_SIGNUP},
month_user AS (
    SELECT DISTINCT CAST(date_trunc('month', event_date) AS DATE) AS month, viewer_id AS user_id
    FROM fact_content_event
),
months AS (    -- months loaded whole whose previous month is loaded whole too
    SELECT DISTINCT CAST(date_trunc('month', calendar_date) AS DATE) AS month
    FROM dim_date, bounds b
    WHERE date_key >= 0
      AND date_trunc('month', calendar_date) - INTERVAL 1 MONTH >= b.first_day
      AND last_day(calendar_date) <= b.last_day
),
closed AS (
    SELECT user_id, MIN(valid_from) AS closed_at
    FROM dim_user WHERE is_deleted AND user_id >= 0 GROUP BY user_id
),
dormant AS (   -- signed up before m, quiet in m - 1, account not closed before m
    SELECT m.month, s.user_id
    FROM months m
    JOIN signup s ON s.signup_date < m.month
    LEFT JOIN closed c ON c.user_id = s.user_id
    WHERE (c.closed_at IS NULL OR c.closed_at >= m.month)
      AND NOT EXISTS (SELECT 1 FROM month_user a
                      WHERE a.user_id = s.user_id AND a.month = m.month - INTERVAL 1 MONTH)
)
SELECT d.month,
       COUNT(*)                                          AS dormant_users,
       COUNT(a.user_id)                                  AS resurrected_users,
       COUNT(a.user_id) * 1.0 / NULLIF(COUNT(*), 0)      AS resurrection_rate
FROM dormant d
LEFT JOIN month_user a ON a.user_id = d.user_id AND a.month = d.month
GROUP BY d.month
"""


# ---------------------------------------------------------------------------------------------
# 4. ad performance
# ---------------------------------------------------------------------------------------------
def ad_performance(con) -> ir.Table:
    daily = con.table("campaign_daily", database="mart")
    camp = con.table("dim_campaign").select("campaign_id", "campaign_type")
    t = daily.join(camp, "campaign_id")
    cost, revenue = t.cost.cast("float64"), t.revenue.cast("float64")
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
        cpc=cost / t.clicks.nullif(0),
        cpa=cost / t.conversions.nullif(0),
        roas=revenue / cost.nullif(0),
    )


AD_PERFORMANCE_SQL = """
WITH daily AS (
    SELECT campaign_id, event_date,
           COUNT(*) FILTER (WHERE event_type = 'impression') AS impressions,
           COUNT(*) FILTER (WHERE event_type = 'click')      AS clicks,
           COUNT(*) FILTER (WHERE event_type = 'conversion') AS conversions,
           CAST(SUM(cost) AS DECIMAL(18, 2))                 AS cost,
           CAST(SUM(revenue) AS DECIMAL(18, 2))              AS revenue
    FROM fact_ad_event
    GROUP BY ALL
)
SELECT d.campaign_id, c.campaign_type, d.event_date,
       impressions, clicks, conversions, cost, revenue,
       clicks * 1.0 / NULLIF(impressions, 0)             AS ctr,
       conversions * 1.0 / NULLIF(clicks, 0)             AS cvr,
       CAST(cost AS DOUBLE) / NULLIF(clicks, 0)          AS cpc,
       CAST(cost AS DOUBLE) / NULLIF(conversions, 0)     AS cpa,
       CAST(revenue AS DOUBLE) / NULLIF(CAST(cost AS DOUBLE), 0) AS roas
FROM daily d
JOIN dim_campaign c USING (campaign_id)
"""


# ---------------------------------------------------------------------------------------------
# 5. behaviour across devices
# ---------------------------------------------------------------------------------------------
def device_behavior(con) -> ir.Table:
    s = con.table("session", database="mart")
    d = con.table("dim_device")
    t = s.join(d, "device_id")
    agg = t.group_by("device_type", "os").aggregate(
        users=t.user_id.nunique().cast("int64"),
        sessions=t.count(),
        avg_session_minutes=t.duration_ms.mean() / 60_000.0,
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
    FROM fact_content_event
    WINDOW w AS (PARTITION BY viewer_id, device_id ORDER BY event_time, event_id)
),
numbered AS (
    SELECT *, SUM(is_start) OVER (PARTITION BY viewer_id, device_id
                                  ORDER BY event_time, event_id) AS session_number
    FROM gaps
),
sessions AS (
    SELECT viewer_id, device_id, session_number,
           epoch_ms(MAX(event_time)) - epoch_ms(MIN(event_time)) AS duration_ms,
           COUNT(*)                                              AS events,
           COUNT(*) FILTER (WHERE event_type <> 'view')          AS engagements
    FROM numbered
    GROUP BY ALL
)
SELECT d.device_type, d.os,
       COUNT(DISTINCT s.viewer_id)               AS users,
       COUNT(*)                                  AS sessions,
       AVG(s.duration_ms) / 60000.0              AS avg_session_minutes,
       AVG(s.events)                             AS events_per_session,
       AVG(s.engagements)                        AS engagements_per_session,
       COUNT(*) * 1.0 / COUNT(DISTINCT s.viewer_id) AS sessions_per_user
FROM sessions s
JOIN dim_device d USING (device_id)
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


ACTIVITY_SEGMENTS_SQL = f"""
WITH {_BOUNDS},
user_day AS (
    SELECT DISTINCT viewer_id AS user_id, event_date FROM fact_content_event
),
firsts AS (SELECT user_id, MIN(event_date) AS first_day FROM user_day GROUP BY user_id),
grid AS (   -- every user on every loaded day since their first active day
    SELECT f.user_id, d.calendar_date AS activity_date
    FROM firsts f
    JOIN dim_date d ON d.date_key >= 0 AND d.calendar_date >= f.first_day
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


#: Terms every definition below uses, spelled out once (the module docstring has the rest).
ACTIVE = (
    "a user (the durable viewer_id; inferred users included) is active on a UTC day when they "
    "have at least one content event (view, like, comment or share) whose event_time falls on "
    "it"
)
LOADED = "the loaded period is the days of dim_date (date_key >= 0), first to last, both whole"
SIGNUP = (
    "a user's sign-up day is the UTC day of their earliest dim_user.created_at, or their first "
    "active day when that is earlier or created_at is missing (an inferred user)"
)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "dau",
            "Track daily and monthly active users (DAU/MAU)",
            f"Daily active users. One row per day of the loaded period (activity_date): the "
            f"number of distinct users active that day; 0 on a day without events. Ad events do "
            f"not make a user active. Terms: {ACTIVE}; {LOADED}.",
            dau,
            DAU_SQL,
            order_by=("activity_date",),
        ),
        Metric(
            "mau",
            "Track daily and monthly active users (DAU/MAU)",
            f"Monthly active users, two ways. window_type rolling_28d: one row per day d of the "
            f"loaded period, the distinct users active on at least one day of the 28 days ending "
            f"on d, d included (window_start = d - 27, window_end = d). window_type "
            f"calendar_month: one row per calendar month with a loaded day, the distinct users "
            f"active on at least one day of the month (window_start = its first day, window_end "
            f"= its last day). is_complete: the window lies entirely inside the loaded period "
            f"(otherwise the count covers only its loaded days). 0 when nobody was active. "
            f"Terms: {ACTIVE}; {LOADED}.",
            mau,
            MAU_SQL,
            order_by=("window_type", "window_end"),
        ),
        Metric(
            "stickiness",
            "Track daily and monthly active users (DAU/MAU)",
            f"One row per day d of the loaded period: dau (distinct users active on d), wau_7d "
            f"(distinct users active on at least one day of d - 6 .. d), mau_28d (of d - 27 .. "
            f"d), all windows including d; stickiness = dau / mau_28d as a double (null when "
            f"mau_28d is 0). is_complete is false when d - 27 is before the first loaded day "
            f"(the first 27 days). Terms: {ACTIVE}; {LOADED}.",
            stickiness,
            STICKINESS_SQL,
            order_by=("activity_date",),
        ),
        Metric(
            "engagement_by_content_type",
            "Analyze post engagement (likes, comments, shares) by content type",
            f"One row per calendar month of event_date (UTC) and content type, for the "
            f"combinations with at least one event. The content type is that of the post's "
            f"version valid at event_time (the content_sk stored on the event; Unknown for an "
            f"inferred post). views, likes, comments, shares: content events of each type; "
            f"active_users: distinct viewer_ids with at least one event of any type on posts of "
            f"that type that month; likes, comments and shares per view and per active user, as "
            f"doubles (null when the divisor is 0). is_complete: the month lies entirely inside "
            f"the loaded period. Terms: {LOADED}.",
            engagement_by_content_type,
            ENGAGEMENT_SQL,
            order_by=("month", "content_type"),
        ),
        Metric(
            "user_growth",
            "Monitor user growth and churn rates",
            f"Growth accounting: one row per period of the loaded period, for period day (each "
            f"UTC day) and month (each calendar month with a loaded day). A user active in "
            f"period t is new when their sign-up day is in t, else retained when also active in "
            f"t - 1, else resurrected. returning_users = retained + resurrected = active users "
            f"who signed up before t. churned = users active in t - 1 and not in t. active = "
            f"new + returning_users; churned(t) = active(t-1) - retained(t); quick_ratio = "
            f"(new + resurrected) / churned as a double (null when churned is 0). The first "
            f"loaded period is left-censored (is_left_censored true): t - 1 is not loaded, so "
            f"retained, resurrected, churned and quick_ratio are null there, while new and "
            f"returning_users are exact. is_complete: the period lies entirely inside the "
            f"loaded period (a partial last month's churn is provisional). Counts are 0 in a "
            f"period without activity. Terms: {ACTIVE}; {SIGNUP}; {LOADED}.",
            user_growth,
            USER_GROWTH_SQL,
            order_by=("period", "period_start"),
        ),
        Metric(
            "churn_rate",
            "Monitor user growth and churn rates",
            f"Monthly churn, labelled by the month the users were active (as the brief's query "
            f"does): for each calendar month m with at least one active user that lies entirely "
            f"inside the loaded period and whose next month m + 1 does too (the last day of m + "
            f"1 is on or before the last loaded day): active_users = distinct users active in "
            f"m, churned_users = those of them not active on any day of m + 1, churn_rate = "
            f"churned_users / active_users as a double; next_month = the first day of m + 1. "
            f"Months whose next month is missing or incomplete are left out, not reported as "
            f"churn. Terms: {ACTIVE}; {LOADED}.",
            churn_rate,
            CHURN_RATE_SQL,
            order_by=("month",),
        ),
        Metric(
            "churn_rate_by_device",
            "Monitor user growth and churn rates",
            f"Monthly churn per device type, over the same months and users as churn_rate: each "
            f"active (user, month) is counted under the device type of the user's first content "
            f"event in the month (earliest event_time, a tie going to the smallest event_id; "
            f"the device's current type in dim_device, Unknown for an inferred device); one row "
            f"per month and device type with at least one such user. Terms: {ACTIVE}; {LOADED}.",
            churn_rate_by_device,
            CHURN_BY_DEVICE_SQL,
            order_by=("month", "device_type"),
        ),
        Metric(
            "resurrection_rate",
            "Monitor user growth and churn rates",
            f"For each calendar month m that lies entirely inside the loaded period and whose "
            f"previous month m - 1 does too: dormant_users = users (of dim_user, reserved rows "
            f"excluded, or of the events) whose sign-up day is before the first day of m, who "
            f"were not active on any day of m - 1, and whose account was not closed before the "
            f"first day of m (closed: the valid_from of their earliest is_deleted version); "
            f"resurrected_users = those of them active in m; resurrection_rate = "
            f"resurrected_users / dormant_users as a double. A month with no dormant user has "
            f"no row. Terms: {ACTIVE}; {SIGNUP}; {LOADED}.",
            resurrection_rate,
            RESURRECTION_SQL,
            order_by=("month",),
        ),
        Metric(
            "ad_performance",
            "Measure ad performance (impressions, clicks, conversions)",
            "One row per campaign and UTC day of event_time with at least one ad event; each "
            "event counts on its own day (a click is not moved to its impression's day). "
            "impressions, clicks, conversions: ad events of each type; cost and revenue: exact "
            "DECIMAL(18, 2) sums of the events' cost and revenue; campaign_type: the campaign's "
            "current type (Unknown for an inferred campaign). CTR = clicks/impressions, CVR = "
            "conversions/clicks, CPC = cost/clicks, CPA = cost/conversions, ROAS = "
            "revenue/cost, as doubles, null when the divisor is 0.",
            ad_performance,
            AD_PERFORMANCE_SQL,
            order_by=("campaign_id", "event_date"),
        ),
        Metric(
            "device_behavior",
            "Analyze user behavior across different devices",
            "Sessions: a user's (viewer_id) content events on one device_id, in the order of "
            "(event_time, event_id); the first event, and every event more than 30 minutes "
            "after the previous one, starts a new session (exactly 30 minutes stays in it); "
            "sessions are not cut at midnight. One row per device type and OS of dim_device "
            "with at least one session: users (distinct users with a session), sessions, "
            "avg_session_minutes (the mean over sessions of the milliseconds from the first to "
            "the last event, each event_time truncated to the millisecond before subtracting, "
            "divided by 60,000; a one-event session lasts 0), events and engagements (likes, "
            "comments, shares) per session, and sessions per user.",
            device_behavior,
            DEVICE_BEHAVIOR_SQL,
            order_by=("device_type", "os"),
        ),
        Metric(
            "activity_segments",
            "Track daily and monthly active users (DAU/MAU)",
            f"One row per day d of the loaded period and segment, over the users first active "
            f"on or before d: L28 = the number of days of d - 27 .. d (loaded days only) on "
            f"which the user was active; core L28 >= 14, regular 4-13, casual 1-3, dormant 0 "
            f"(seen before, quiet for 28 days); users = how many. Segments with no users have "
            f"no row. Terms: {ACTIVE}; {LOADED}.",
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
    d = con.table("dim_device")
    t = s.join(d, "device_id")
    return t.group_by("device_type").aggregate(sessions=t.count())


def _ex_funnel(con) -> ir.Table:
    e = con.table("fact_ad_event").join(con.table("dim_campaign"), "campaign_id")
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
    g = g.filter((g.period == "month") & ~g.is_left_censored)
    return g.select(month=g.period_start, resurrected=g.resurrected)


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "social.grain",
            "Name the columns that identify one row of user_churn_stats (its grain).",
            {"user_id", "period", "period_start"},
            hint="The brief's six columns are not enough: period says day or month, not which one.",
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
            "resurrected, churned. New: signed up in April (dim_user.created_at).",
            _ex_growth,
            hint="Churned in April = active in March, not in April. New = sign-up in April. "
            "Of the other users active in April, retained were active in March, resurrected "
            "were not.",
        ),
        Exercise(
            "social.fix_churn",
            "Fix the brief's churn query: monthly churn rate as a fraction, columns month and "
            "churn_rate, leaving out every month whose next month is not complete in the data.",
            _ex_fix_churn,
            hint="The brief's last month shows 100%: nobody can be active in a month that is "
            "not loaded yet. Keep a month only if the last day of the month after it is loaded.",
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
            "Monthly churn pooled over all months whose next month is complete, per device type "
            "(the device of the user's first event in the month): columns device_type, "
            "churn_rate.",
            _ex_device_churn,
            hint="Pool counts, not rates: sum churned users and active users over the months, "
            "then divide.",
        ),
        Exercise(
            "social.resurrected",
            "Resurrected users per calendar month: active in the month, not in the previous "
            "month, signed up before the month. Columns month, resurrected: every loaded month "
            "after the first (0 when none).",
            _ex_resurrected,
            hint="Returning after a quiet month is not the same as new: the user signed up "
            "earlier. The first loaded month has no loaded month before it to be quiet in.",
        ),
    ]
}
