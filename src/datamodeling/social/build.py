"""Build the social warehouse: raw -> dimensional model -> marts, with Ibis on any backend.

Layers (``schema.py`` declares every table, ``generate.RAW_SCHEMAS`` the raw layer):

1. ``raw``: the sources' tables as they hand them over (from the generator, or from the hand-made
   fixtures in ``data/fixtures/social/`` through :func:`build_from_raw`).
2. Cleaning. Quarantine is for rows that are not facts: ``future_timestamp`` (event_time after
   the server received it: an impossible value) and ``duplicate_event_id`` (a client retry: the
   first received copy is kept). A change record that makes no Type 2 version is quarantined too
   (``no_change``: it repeats the state before it; ``same_instant``: another record of the key at
   the same time was kept). Rows in = rows loaded + rows quarantined, per source. An event that
   names a user, post, device or campaign the sources have not delivered is a real event: it
   loads, against an *inferred member* created for that key.
3. Dimensions: ``dim_user`` and ``dim_content`` (Type 2 from the change logs, closed accounts as
   a final ``is_deleted`` version), ``dim_campaign``, ``dim_device``, ``dim_date`` (the loaded
   days); every one with its reserved Unknown (-1) and Not applicable (-2) members.
4. Facts: ``fact_content_event`` and ``fact_ad_event``, with the surrogate key of each Type 2
   version valid at the event resolved once, here (``scd2.resolve_key``).
5. ``mart``: ``user_activity_cumulative`` (the nightly cumulative table, built one day at a
   time), ``user_churn_stats`` (growth accounting per user and period), ``session`` (30-minute
   sessions) and ``campaign_daily``.
6. The brief's tables as views (``schema.VIEWS``): ``"user"``, ``content``, ``content_event``,
   ``events``... so the brief's SQL runs verbatim.

The load (:data:`PIPELINE`, run by :mod:`datamodeling.pipeline`) works one landing day, or a
range, at a time: every raw row carries its ``landing_date``. An event belongs to its own UTC day
(the day it was received, when its clock was ahead); a load recomputes the event days from the
first landing day minus the lookback to the last: their facts, the sessions that reach them (a
session over midnight belongs to the day of its first event, so the evening before is read), the
cumulative rows and the churn periods from there to the last loaded day. Change records merge
into the type 2 dimensions with the change log as history, and the facts of keys whose versions
moved are re-keyed. An event later than the lookback is quarantined with that reason. The
build is "load every day" into an empty warehouse: the same rows as loading the days one by one.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from datamodeling import calendar, landing, pipeline, scd2
from datamodeling.registry import BuildReport
from datamodeling.schema import Table

from . import generate as gen
from . import schema

#: The generated period: first and last UTC day with data (both complete days).
FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2026, 6, 30)
#: Bits of the activity mask: bit i is "active i days before activity_date".
MASK_DAYS = 28
MASK_ALL = (1 << MASK_DAYS) - 1
#: Inactivity gap that ends a session.
SESSION_GAP_MINUTES = 30
#: Reserved keys (book/conventions.md).
UNKNOWN, NOT_APPLICABLE = -1, -2

USER_ATTRS = ["status", "name", "email", "phone", "created_at"]
CONTENT_ATTRS = [
    "content_type",
    "content_name",
    "content_desc",
    "creator_id",
    "created_at",
]


# --------------------------------------------------------------------------------------------
# cleaning
# --------------------------------------------------------------------------------------------
def suspect_rows(events: ir.Table) -> ir.Table:
    """The few raw events that may be refused: those breaking a row rule, and repeated ids.

    ``reason`` holds the row rule broken (``future_timestamp``: event_time after the server
    received it), or null. Repeated ids are found on the narrow (event_id) column alone, so the
    wide rows are never sorted or buffered: two scans of the log instead of a window over all of
    it. An unknown user is *not* a reason: that event is real, and loads against an inferred
    member.
    """
    reason = ibis.ifelse(
        events.event_time > events.received_at,
        ibis.literal("future_timestamp"),
        ibis.null("string"),
    )
    e = events.mutate(reason=reason)
    ok = e.filter(e.reason.isnull())
    repeated = ok.group_by("event_id").aggregate(copies=ok.count())
    repeated = repeated.filter(repeated.copies > 1)
    return e.filter(e.reason.notnull() | e.event_id.isin(repeated.event_id))


def rejected_rows(suspects: ir.Table) -> ir.Table:
    """The raw events to refuse, each with its ``reason``; the rest load.

    Rules in order, the first that matches wins: ``future_timestamp``, then
    ``duplicate_event_id`` among the rows that passed it: the first copy received is kept
    (ties on received_at: the earlier event_time), later copies are refused. A raw row is
    identified by (event_id, received_at).
    """
    flagged = suspects.filter(suspects.reason.notnull())
    ok = suspects.filter(suspects.reason.isnull())
    copy_number = ibis.row_number().over(
        group_by=ok.event_id, order_by=[ok.received_at, ok.event_time]
    )
    ok = ok.mutate(_copy=copy_number)
    retries = ok.filter(ok._copy > 0).mutate(reason=ibis.literal("duplicate_event_id"))
    return flagged.union(retries.drop("_copy"))


def quarantine_rows(rejected: ir.Table, source: str, user_col: str) -> ir.Table:
    """``quarantine`` rows for the rejected raw events of one source."""
    return rejected.select(
        source=ibis.literal(source),
        record_id=rejected.event_id,
        reason=rejected.reason,
        event_time=rejected.event_time,
        received_at=rejected.received_at,
        user_id=rejected[user_col],
    )


def unversioned_changes(
    changes: ir.Table, key: str, attributes: list[str], deleted: str | None = None
) -> ir.Table:
    """The change records that should make no Type 2 version, each with its ``reason``.

    ``same_instant``: another record of the key at the same ``updated_at`` is kept (the rule of
    :func:`datamodeling.scd2.build_scd2`: a deletion wins, then the last in the order of the
    attributes); ``no_change``: the record repeats the state of the record before it (a deletion
    repeats it when the record before is a deletion too, or when nothing came before: it deletes
    nothing). ``deleted`` names a boolean column marking deletions. Found from the change log
    alone, never from the versions built, so the build can check versions + these records = rows
    in: a lost change or a version made from nothing breaks the equation.
    """
    flag = changes[deleted].cast("boolean") if deleted else ibis.literal(False)
    t = changes.mutate(_del=flag)
    tie = ibis.window(
        group_by=[t[key], t.updated_at],
        order_by=[ibis.desc(t._del), *[ibis.desc(t[a]) for a in attributes]],
    )
    t = t.mutate(_rank=ibis.row_number().over(tie))
    kept = t.filter(t._rank == 0)
    by_time = ibis.window(group_by=kept[key], order_by=kept.updated_at)
    first = kept.updated_at.lag().over(by_time).isnull()
    previous_deleted = kept._del.lag().over(by_time)
    same_state = ibis.and_(
        *[kept[a].identical_to(kept[a].lag().over(by_time)) for a in attributes]
    )
    repeats = ibis.ifelse(
        first,
        kept._del,  # a deletion with nothing open deletes nothing
        kept._del.identical_to(previous_deleted) & (kept._del | same_state),
    )
    # the window's verdict becomes a column before a filter reads it (Spark cannot filter on a
    # window expression)
    kept = kept.mutate(_repeats=repeats)
    no_change = kept.filter(kept._repeats).drop("_repeats")
    no_change = no_change.mutate(reason=ibis.literal("no_change"))
    ties = t.filter(t._rank > 0).mutate(reason=ibis.literal("same_instant"))
    return no_change.union(ties).drop("_rank", "_del")


def loaded_rows(events: ir.Table, rejected: ir.Table) -> ir.Table:
    """The raw events that pass every rule, with ``event_date`` and ``date_key`` (UTC day)."""
    good = events.join(
        rejected.select("event_id", "received_at"),
        ["event_id", "received_at"],
        how="anti",
    )
    day = good.event_time.date()
    return good.mutate(event_date=day, date_key=calendar.date_key(day)).drop(
        "received_at"
    )


# --------------------------------------------------------------------------------------------
# dimensions
# --------------------------------------------------------------------------------------------
def _deleted(changes: ir.Table) -> ir.Table:
    return changes.mutate(_is_deleted=changes["op"].fill_null("") == "delete")


def user_versions(user_changes: ir.Table) -> ir.Table:
    """Type 2 versions of ``dim_user`` from the change log: one per change, a closed account's
    last version flagged ``is_deleted`` (from the ``delete`` record on)."""
    dim = scd2.build_scd2(
        _deleted(user_changes),
        "user_id",
        USER_ATTRS,
        at="updated_at",
        deleted="_is_deleted",
        sk="user_sk",
    )
    return dim.mutate(updated_at=dim.valid_from, is_inferred=ibis.literal(False))


def content_versions(content_changes: ir.Table) -> ir.Table:
    """Type 2 versions of ``dim_content`` from the change log (a ``delete`` record removes a post)."""
    dim = scd2.build_scd2(
        _deleted(content_changes),
        "content_id",
        CONTENT_ATTRS,
        at="updated_at",
        deleted="_is_deleted",
        sk="content_sk",
    )
    return dim.mutate(updated_at=dim.valid_from, is_inferred=ibis.literal(False))


def with_inferred_type2(
    versions: ir.Table, seen: ir.Table, key: str, sk: str
) -> ir.Table:
    """Add an inferred member for each key in ``seen`` (column ``key``) that has no version."""
    return scd2.add_inferred_members(versions, seen.select(key), key, sk)


def finish_dimension(decl: Table, dim: ir.Table) -> ir.Table:
    """The dimension in its declared columns, plus its reserved Unknown and Not applicable rows."""
    return decl.with_special_members(dim)


def date_dimension(first_day: date, last_day: date) -> ir.Table:
    """``dim_date``: one row per day of the loaded period, plus the reserved members."""
    days = calendar.date_dimension(first_day, last_day)
    return finish_dimension(schema.DIM_DATE, ibis.memtable(days))


# --------------------------------------------------------------------------------------------
# facts: surrogate keys resolved once, at load time
# --------------------------------------------------------------------------------------------
def _role(dim_user: ir.Table, role: str) -> ir.Table:
    """``dim_user`` in one role: its business key renamed to the fact's column."""
    return dim_user.select(
        **{f"{role}_id": dim_user.user_id},
        valid_from=dim_user.valid_from,
        valid_to=dim_user.valid_to,
        user_sk=dim_user.user_sk,
    )


def resolve(fact: ir.Table, dim: ir.Table, key: str, sk: str, name: str) -> ir.Table:
    """Add ``name``: the surrogate key ``sk`` of the version of ``dim`` valid at ``event_time``.

    Every reference in this practice applies to every event (a view always has a viewer, a post
    and a creator), so a NULL business key is Unknown (-1) too; Not applicable (-2) is unused.
    """
    return scd2.resolve_key(
        fact, dim, key, "event_time", sk, name=name, missing=UNKNOWN, unmatched=UNKNOWN
    )


def content_event_fact(
    events: ir.Table, dim_user: ir.Table, dim_content: ir.Table
) -> ir.Table:
    """``fact_content_event`` from the cleaned events: content, creator and viewer keys resolved."""
    t = resolve(events, dim_content, "content_id", "content_sk", "content_sk")
    t = resolve(t, _role(dim_user, "creator"), "creator_id", "user_sk", "creator_sk")
    t = resolve(t, _role(dim_user, "viewer"), "viewer_id", "user_sk", "viewer_sk")
    return t.select(schema.FACT_CONTENT_EVENT.column_names)


def ad_event_fact(events: ir.Table, dim_user: ir.Table) -> ir.Table:
    """``fact_ad_event`` from the cleaned events: the user's key resolved."""
    t = resolve(events, dim_user, "user_id", "user_sk", "user_sk")
    return t.select(schema.FACT_AD_EVENT.column_names)


# --------------------------------------------------------------------------------------------
# activity: user-days, the cumulative table, growth accounting
# --------------------------------------------------------------------------------------------
def user_days(content_event: ir.Table) -> ir.Table:
    """One row per user and UTC day with at least one content event: who was active when."""
    return content_event.select(
        user_id=content_event.viewer_id, event_date=content_event.event_date
    ).distinct()


def cumulate_day(yesterday: ir.Table, active_today: ir.Table, day: date) -> ir.Table:
    """One nightly run: yesterday's cumulative rows FULL OUTER JOIN today's active users.

    ``yesterday`` holds the rows of ``day - 1`` (or none on the first day), ``active_today`` one
    row per user active on ``day`` (column ``user_id``). Every user ever seen keeps a row; the
    mask shifts by one day and bit 0 says whether the user was active today.
    """
    today = active_today.select(t_user_id=active_today.user_id)
    joined = yesterday.outer_join(today, yesterday.user_id == today.t_user_id)
    active = joined.t_user_id.notnull()
    d = ibis.literal(day, type="date")
    old_mask = joined.activity_mask.fill_null(0).cast("int32")
    return joined.select(
        activity_date=d,
        user_id=joined.user_id.fill_null(joined.t_user_id),
        activity_mask=(((old_mask << 1) | active.cast("int32")) & MASK_ALL).cast(
            "int32"
        ),
        first_active_date=joined.first_active_date.fill_null(d),
        last_active_date=ibis.ifelse(active, d, joined.last_active_date),
    )


def signups(dim_user: ir.Table, user_day: ir.Table) -> ir.Table:
    """One row per active user: ``signup_date``, the UTC day the account was created.

    An inferred user (events name them, the app database has no record) has no ``created_at``:
    their first active day stands in. A sign-up is never after the first activity (the earlier
    of the two is taken).
    """
    real = dim_user.filter(dim_user.user_id >= 0)
    created = real.group_by("user_id").aggregate(created=real.created_at.min().date())
    first = user_day.group_by("user_id").aggregate(
        first_active=user_day.event_date.min()
    )
    j = first.left_join(created, first.user_id == created.user_id)
    signup = ibis.ifelse(
        j.created.notnull() & (j.created <= j.first_active), j.created, j.first_active
    )
    return j.select(user_id=first.user_id, signup_date=signup)


def _month_start(d: ir.DateValue) -> ir.DateValue:
    """The first day of the month of ``d``, a date on every engine (Spark's ``date_trunc``
    returns a timestamp, and Ibis drops a cast to the date it believes it already has)."""
    return d.cast("timestamp").truncate("M").date()


def period_activity(user_day: ir.Table, period: str) -> ir.Table:
    """One row per user and period (``day`` or ``month``) with activity: period_start, last day."""
    start = (
        user_day.event_date if period == "day" else _month_start(user_day.event_date)
    )
    return user_day.group_by(user_id=user_day.user_id, period_start=start).aggregate(
        last_active_date=user_day.event_date.max()
    )


def _step(period: str) -> ir.IntervalValue:
    return ibis.interval(days=1) if period == "day" else ibis.interval(months=1)


def _next_period(d: ir.DateValue, period: str) -> ir.DateValue:
    """The start of the period after the one starting on ``d``. Through a timestamp: Spark
    types ``date + INTERVAL 1 DAY`` as a timestamp, and Ibis drops a cast to the date it
    believes it already has."""
    return (d.cast("timestamp") + _step(period)).date()


def _period_start(d: date, period: str) -> date:
    return d if period == "day" else d.replace(day=1)


def churn_stats(
    user_day: ir.Table,
    signup: ir.Table,
    period: str,
    first_day: date,
    last_day: date,
    since: date | None = None,
    users: ir.Table | None = None,
) -> ir.Table:
    """``mart.user_churn_stats`` rows of one period type: growth-accounting state per user.

    Active in the period: ``new`` (signed up in it), ``returning`` (the first loaded period, and
    signed up before it: retained or resurrected, we cannot tell, because the period before is
    not loaded), ``retained`` (also active in the previous period) or ``resurrected`` (not active
    in the previous period, signed up before it). Not active, but active in the previous period:
    ``churned``, dated at the period it churned in (never past the last loaded period).

    ``since`` (a day): only the rows of the periods from the one holding ``since`` on, read
    from the activity of the period before it on (an incremental load), except for the users
    in ``users`` (column ``user_id``), whose rows of every period are returned.
    """
    first_start = ibis.literal(_period_start(first_day, period), type="date")
    last_start = ibis.literal(_period_start(last_day, period), type="date")
    act = period_activity(user_day, period)
    if since is not None:
        lo = _period_start(since, period)
        before = (
            lo - timedelta(days=1)
            if period == "day"
            else (lo - timedelta(days=1)).replace(day=1)
        )
        keep = act.period_start >= ibis.literal(before, type="date")
        if users is not None:
            keep = keep | act.user_id.isin(users.user_id)
        act = act.filter(keep)
    s = signup.select(s_user_id="user_id", signup_date="signup_date")
    act = act.join(s, act.user_id == s.s_user_id).drop("s_user_id")
    signup_start = act.signup_date if period == "day" else _month_start(act.signup_date)
    w = ibis.window(group_by=act.user_id, order_by=act.period_start)
    prev_start = act.period_start.lag().over(w)
    next_start = act.period_start.lead().over(w)
    act = act.mutate(
        status=ibis.cases(
            (signup_start == act.period_start, "new"),
            (act.period_start == first_start, "returning"),
            (_next_period(prev_start, period) == act.period_start, "retained"),
            else_="resurrected",
        ),
        _next_start=next_start,
    )
    active_rows = act.select(
        "user_id",
        "last_active_date",
        churned_flag=ibis.literal(False),
        churned_date=ibis.null("date"),
        resurrected_flag=ibis.ifelse(
            act.status == "returning", ibis.null("boolean"), act.status == "resurrected"
        ),
        period=ibis.literal(period),
        period_start="period_start",
        status="status",
    )
    churn_start = _next_period(act.period_start, period)
    gone = act.filter(
        (act._next_start.isnull() | (act._next_start != churn_start))
        & (churn_start <= last_start)
    )
    gone_start = _next_period(gone.period_start, period)
    churn_rows = gone.select(
        "user_id",
        "last_active_date",
        churned_flag=ibis.literal(True),
        churned_date=gone_start,
        resurrected_flag=ibis.literal(False),
        period=ibis.literal(period),
        period_start=gone_start,
        status=ibis.literal("churned"),
    )
    rows = active_rows.union(churn_rows)
    if since is not None:
        keep = rows.period_start >= ibis.literal(lo, type="date")
        if users is not None:
            keep = keep | rows.user_id.isin(users.user_id)
        rows = rows.filter(keep)
    return rows


# --------------------------------------------------------------------------------------------
# sessions and ads
# --------------------------------------------------------------------------------------------
def epoch_ms(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Milliseconds since 1970 of ``ts`` truncated to the millisecond, the same on DuckDB and
    Spark: whole seconds (``epoch_seconds`` of the time truncated to the second) and the
    milliseconds of the second (Spark's own millisecond difference counts whole seconds)."""
    seconds = ts.truncate("s").epoch_seconds().cast("int64")
    return seconds * 1000 + ts.millisecond().cast("int64")


def sessionize(
    content_event: ir.Table, gap_minutes: int = SESSION_GAP_MINUTES
) -> ir.Table:
    """Number each user's events on a device into sessions: a gap over ``gap_minutes`` starts one.

    Adds ``session_number`` (0, 1, ... per user and device, in time order).
    """
    w = ibis.window(
        group_by=[content_event.viewer_id, content_event.device_id],
        order_by=[content_event.event_time, content_event.event_id],
    )
    prev = content_event.event_time.lag().over(w)
    starts = prev.isnull() | (
        content_event.event_time > prev + ibis.interval(minutes=gap_minutes)
    )
    t = content_event.mutate(_new=starts.cast("int64"))
    w2 = ibis.window(
        group_by=[t.viewer_id, t.device_id],
        order_by=[t.event_time, t.event_id],
        preceding=None,
        following=0,
    )
    return t.mutate(session_number=t._new.sum().over(w2) - 1).drop("_new")


def sessions(content_event: ir.Table) -> ir.Table:
    """``mart.session``: one row per session, its length in integer milliseconds."""
    t = sessionize(content_event)
    s = t.group_by(
        user_id=t.viewer_id, device_id=t.device_id, session_number=t.session_number
    ).aggregate(
        session_start=t.event_time.min(),
        session_end=t.event_time.max(),
        events=t.count(),
        views=(t.event_type == "view").sum().cast("int64"),
        engagements=(t.event_type != "view").sum().cast("int64"),
    )
    s = s.mutate(
        session_id=scd2.surrogate_key(s.user_id, s.device_id, s.session_start),
        session_date=s.session_start.date(),
        duration_ms=(epoch_ms(s.session_end) - epoch_ms(s.session_start)).cast("int64"),
    )
    return s.select(schema.SESSION.column_names)


def campaign_daily(ad_event: ir.Table) -> ir.Table:
    """``mart.campaign_daily``: counts and exact DECIMAL sums per campaign and UTC day."""
    t = ad_event
    money = schema.CAMPAIGN_DAILY.column("cost").ibis_type
    return t.group_by("campaign_id", "event_date").aggregate(
        impressions=(t.event_type == "impression").sum().cast("int64"),
        clicks=(t.event_type == "click").sum().cast("int64"),
        conversions=(t.event_type == "conversion").sum().cast("int64"),
        cost=t.cost.sum().cast(money),
        revenue=t.revenue.sum().cast(money),
    )


def view_expression(con, name: str) -> ir.Table:
    """The brief's table ``name`` (``schema.VIEWS``) as an Ibis expression over the model: its
    SQL, written for DuckDB, parsed by the engine's connection (Spark gets it translated)."""
    sql = schema.VIEWS[name].strip()
    if con.name == "duckdb":
        return con.sql(sql)
    return con.sql(sql, dialect="duckdb")


def create_views(backend) -> None:
    """The brief's tables as views over the model (``schema.VIEWS``), through the backend: on
    Spark a view of the main database, its SQL kept in the warehouse folder for a later
    session (:meth:`datamodeling.backends.SparkBackend.create_view`)."""
    for name in schema.VIEWS:
        backend.create_view(name, view_expression(backend.con, name))


# --------------------------------------------------------------------------------------------
# the load: the steps of the pipeline (datamodeling.pipeline runs them, for one day or a range)
# --------------------------------------------------------------------------------------------
LANDING = landing.LANDING
#: Record key of each source of the landing zone: the order of the rows in a day's file.
KEYS = {
    "user_changes": ["user_id", "updated_at", "op", "status", "email", "phone", "name"],
    "content_changes": [
        "content_id",
        "updated_at",
        "op",
        "content_name",
        "content_desc",
    ],
    "campaign": ["campaign_id"],
    "device": ["device_id"],
    "content_event": ["event_id", "received_at"],
    "ad_event": ["event_id", "received_at"],
}
assert list(KEYS) == list(gen.RAW_SCHEMAS)
EVENT_LOGS = {"content_event": "viewer_id", "ad_event": "user_id"}
CHANGE_LOGS = {
    "user_changes": ("user_id", "user_id", USER_ATTRS, "dim_user", "user_sk"),
    "content_changes": ("content_id", "creator_id", CONTENT_ATTRS, "dim_content",
                        "content_sk"),
}  # fmt: skip


def event_day(t: ir.Table) -> ir.DateValue:
    """The day a raw event belongs to: its own, or the day the server received it when the
    device's clock was ahead (a future time is no day of the period)."""
    return ibis.least(t.event_time, t.received_at).date()


def _ids(t: ir.Table, key: str) -> ir.Table:
    """The column ``key`` of ``t`` alone, as nullable int64 (so any two of them union)."""
    return t.select(**{key: t[key].cast("int64")})


def _quarantine_events(t: ir.Table, source: str, user_col: str, reason) -> ir.Table:
    return t.select(
        source=ibis.literal(source),
        record_id=t.event_id,
        reason=reason,
        event_time=t.event_time,
        received_at=t.received_at,
        user_id=t[user_col],
        event_date=t._event_day,
        landing_date=t[LANDING],
    )


def make_pipeline(first_day: date, last_day: date) -> pipeline.Pipeline:
    """The social warehouse's load for the period ``first_day``..``last_day`` (``dim_date``; the
    cumulative table and the churn periods never go past the last day, even when late records
    land after it)."""

    def period_end(w: pipeline.Window) -> date:
        return min(w.high_water, last_day)

    def init(ctx: pipeline.Context) -> None:
        """A new warehouse: ``dim_date``, the reserved rows of the dimensions, every other
        table empty with its declared columns."""
        ctx.backend.create_database("mart")
        for decl in schema.TABLES:
            ctx.create(decl.name, pipeline.empty(decl), decl.database)
        ctx.create("dim_date", date_dimension(first_day, last_day))
        for decl in (schema.DIM_USER, schema.DIM_CONTENT, schema.DIM_DEVICE,
                     schema.DIM_CAMPAIGN):  # fmt: skip
            ctx.create(decl.name, finish_dimension(decl, ctx.table(decl.name)))

    def step_clean(ctx: pipeline.Context) -> None:
        """The event logs' records of the window's event days, within the lookback, staged;
        duplicates, future times and records later than the lookback to quarantine."""
        w = ctx.window
        parts = []
        for name, user_col in EVENT_LOGS.items():
            t = ctx.raw(name)
            t = t.filter(
                t[LANDING] >= ibis.date(w.first_event_day)
            )  # never before its day
            t = t.mutate(_event_day=event_day(t))
            t = ctx.accepted(t.filter(w.event_days(t._event_day)), "_event_day")
            suspects = ctx.stage(f"suspects_{name}", suspect_rows(t))
            rejected = ctx.stage(f"rejected_{name}", rejected_rows(suspects))
            clean = loaded_rows(t, rejected).drop(LANDING, "_event_day")
            ctx.stage(f"clean_{name}", clean)
            parts.append(_quarantine_events(rejected, name, user_col, rejected.reason))
            late = ctx.landed(name)
            late = ctx.too_late(late.mutate(_event_day=event_day(late)), "_event_day")
            parts.append(
                _quarantine_events(late, name, user_col, ibis.literal(pipeline.LATE))
            )
        rows = parts[0]
        for part in parts[1:]:
            rows = rows.union(part, distinct=False)
        rows = ctx.stage("quarantine", rows.cast(schema.QUARANTINE.ibis_schema()))
        ctx.replace(
            "quarantine",
            rows,
            lambda q: (
                q.source.isin(list(EVENT_LOGS))
                & (
                    ((q.reason != pipeline.LATE) & w.event_days(q.event_date))
                    | ((q.reason == pipeline.LATE) & w.landed(q.landing_date))
                )
            ),
        )

    def step_dimensions(ctx: pipeline.Context) -> None:
        """The window's change records merged into the type 2 dimensions (with the change log
        as history, so a late change lands in its place); inferred members for the keys only
        the events name; devices and campaigns as of their last extract."""
        ce = ctx.table("clean_content_event", pipeline.STAGE)
        ae = ctx.table("clean_ad_event", pipeline.STAGE)
        seen = {
            "user_changes": ce.select(user_id=ce.viewer_id)
            .union(ce.select(user_id=ce.creator_id))
            .union(ae.select("user_id"))
            .union(ctx.landed("content_changes").select(user_id="creator_id")),
            "content_changes": ce.select("content_id"),
        }
        for source, (key, user_col, attrs, dim_name, sk) in CHANGE_LOGS.items():
            landed = ctx.landed(source)
            touched = ctx.stage(f"touched_{source}", landed.select(key).distinct())
            old = ctx.table(dim_name)
            real = old.filter((old[key] >= 0) & ~old.is_inferred)
            real = real.select(sk, key, *attrs, "valid_from", "valid_to", "is_current",
                               "is_deleted")  # fmt: skip
            versions = scd2.merge_scd2(
                real,
                _deleted(landed.drop(LANDING)),
                key,
                attrs,
                at="updated_at",
                deleted="_is_deleted",
                sk=sk,
                history=_deleted(ctx.raw(source).drop(LANDING)),
            )
            versions = versions.mutate(
                updated_at=versions.valid_from, is_inferred=ibis.literal(False)
            )
            before = old.filter(old.is_inferred & (old[key].isnull() | (old[key] >= 0)))
            keys = _ids(seen[source], key).union(_ids(before, key))
            dim = finish_dimension(
                schema.DIM_USER if dim_name == "dim_user" else schema.DIM_CONTENT,
                with_inferred_type2(versions, keys, key, sk),
            )
            if dim_name == "dim_content":
                dim = dim.mutate(creator_id=dim.creator_id.fill_null(UNKNOWN))
            new = ctx.stage(dim_name, dim)
            # keys whose versions moved: their facts outside the window get their keys again
            cols = [key, sk, "valid_from", "valid_to"]
            a = ctx.table(dim_name).select(cols).cast(new.select(cols).schema())
            b = new.select(cols)
            moved = a.difference(b).union(b.difference(a))
            ctx.stage(
                f"moved_{dim_name}",
                moved.filter(moved[key] >= 0).select(key).distinct(),
            )
            ctx.create(dim_name, new)
            # the records of the keys touched that make no version: quarantined again
            history = ctx.raw(source)
            history = history.filter(history[key].isin(touched[key])).drop(LANDING)
            absorbed = unversioned_changes(_deleted(history), key, attrs, "_is_deleted")
            absorbed = absorbed.select(
                source=ibis.literal(source),
                record_id=absorbed[key],
                reason=absorbed.reason,
                event_time=absorbed.updated_at,
                received_at=ibis.null("timestamp"),
                user_id=absorbed[user_col],
                event_date=absorbed.updated_at.date(),
                landing_date=ibis.null("date"),
            )
            ctx.replace(
                "quarantine",
                ctx.stage(
                    f"absorbed_{source}", absorbed.cast(schema.QUARANTINE.ibis_schema())
                ),
                lambda q, source=source, touched=touched, key=key: (
                    (q.source == source) & q.record_id.isin(touched[key])
                ),
            )
        # type 1 reference dimensions, keyed by their business key
        for name, key, decl, seen_keys in [
            ("device", "device_id", schema.DIM_DEVICE,
             ce.select("device_id").union(ae.select("device_id"))),
            ("campaign", "campaign_id", schema.DIM_CAMPAIGN, ae.select("campaign_id")),
        ]:  # fmt: skip
            old = ctx.table(decl.name)
            before = old.filter(old.is_inferred & (old[key].isnull() | (old[key] >= 0)))
            rows = pipeline.latest(ctx.raw(name), key).select(*decl.column_names[:-1])
            rows = scd2.add_inferred_members(
                rows, _ids(seen_keys, key).union(_ids(before, key)), key, key
            )
            ctx.create(decl.name, ctx.stage(decl.name, finish_dimension(decl, rows)))

    def rekey(ctx, fact: str, chosen, make) -> None:
        """Resolve the surrogate keys again for the rows ``chosen`` of ``fact`` (outside the
        window): a late change that moves a version re-keys the facts of its key."""
        t = ctx.table(fact)
        ids = ctx.stage(f"rekey_{fact}", t.filter(chosen(t)).select("event_id"))
        if ids.count().to_pyarrow().as_py() == 0:
            return
        rows = t.filter(t.event_id.isin(ids.event_id))
        fixed = ctx.stage(f"rekeyed_{fact}", make(rows).select(t.columns))
        ctx.replace(fact, fixed, lambda x: x.event_id.isin(ids.event_id))

    def step_facts(ctx: pipeline.Context) -> None:
        """The facts of the window's event days, replaced; the facts of keys whose versions
        moved, re-keyed."""
        w = ctx.window
        dim_user, dim_content = ctx.table("dim_user"), ctx.table("dim_content")
        users = ctx.table("moved_dim_user", pipeline.STAGE)
        contents = ctx.table("moved_dim_content", pipeline.STAGE)
        sks = ["content_sk", "creator_sk", "viewer_sk"]

        def ce_moved(t):
            return ~w.event_days(t.event_date) & (
                t.viewer_id.isin(users.user_id)
                | t.creator_id.isin(users.user_id)
                | t.content_id.isin(contents.content_id)
            )

        rekey(ctx, "fact_content_event", ce_moved,
              lambda r: content_event_fact(r.drop(*sks), dim_user, dim_content))  # fmt: skip
        # read from the stage and the dimensions, never from the fact: no copy needed first
        new = content_event_fact(
            ctx.table("clean_content_event", pipeline.STAGE), dim_user, dim_content
        )
        ctx.replace("fact_content_event", new, lambda t: w.event_days(t.event_date))

        def ae_moved(t):
            return ~w.event_days(t.event_date) & t.user_id.isin(users.user_id)

        rekey(ctx, "fact_ad_event", ae_moved,
              lambda r: ad_event_fact(r.drop("user_sk"), dim_user))  # fmt: skip
        new = ad_event_fact(ctx.table("clean_ad_event", pipeline.STAGE), dim_user)
        ctx.replace("fact_ad_event", new, lambda t: w.event_days(t.event_date))

    def step_activity(ctx: pipeline.Context) -> None:
        """The cumulative table and the growth accounting of the days (and months) touched."""
        w = ctx.window
        last = period_end(w)
        lo = max(w.first_event_day, first_day)
        ud = ctx.stage("user_day", user_days(ctx.table("fact_content_event")))
        touched = ctx.table("touched_user_changes", pipeline.STAGE)
        if lo <= last:
            ctx.replace(
                "user_activity_cumulative",
                cumulative(ud, lo, last),
                lambda t: t.activity_date.between(ibis.date(lo), ibis.date(last)),
                "mart",
            )
        since = lo if lo <= last else None
        signup = signups(ctx.table("dim_user"), ud)
        parts = [
            churn_stats(ud, signup, period, first_day, last, since=since or last,
                        users=touched)
            for period in ("day", "month")
        ]  # fmt: skip
        stats = parts[0].union(parts[1]).select(schema.USER_CHURN_STATS.column_names)
        if (
            since is None
        ):  # no period of the data touched: only the users whose record landed
            stats = stats.filter(stats.user_id.isin(touched.user_id))

        def chosen(t):
            users = t.user_id.isin(touched.user_id)
            if since is None:
                return users
            day = (t.period == "day") & (t.period_start >= ibis.date(since))
            month = (t.period == "month") & (
                t.period_start >= ibis.date(since.replace(day=1))
            )
            return day | month | users

        ctx.replace("user_churn_stats", stats, chosen, "mart")

    def step_marts(ctx: pipeline.Context) -> None:
        """Sessions that hold an event of the window's days (with the evening before, so a
        session over midnight stays one), and the campaigns' days of the window."""
        w = ctx.window
        start = pd.Timestamp(w.first_event_day).to_pydatetime()
        reach = start - timedelta(minutes=SESSION_GAP_MINUTES)
        old = ctx.table("session", "mart")
        hit = old.filter(old.session_end >= ibis.timestamp(reach))
        cut = ctx.stage(
            "session_cut",
            hit.group_by(_u="user_id", _d="device_id").aggregate(
                _cut=ibis.least(hit.session_start.min(), ibis.timestamp(start))
            ),
        )
        fce = ctx.table("fact_content_event")
        earliest = cut._cut.min().to_pyarrow().as_py()
        earliest = start if earliest is None else min(earliest, start)
        e = fce.filter(fce.event_time >= ibis.timestamp(earliest))
        e = e.left_join(cut, [e.viewer_id == cut._u, e.device_id == cut._d])
        e = e.filter(e.event_time >= e._cut.fill_null(ibis.timestamp(start)))
        new = ctx.stage("session", sessions(e.drop("_u", "_d", "_cut")))
        ctx.replace(
            "session", new, lambda t: t.session_end >= ibis.timestamp(reach), "mart"
        )
        ad = ctx.table("fact_ad_event")
        ctx.replace(
            "campaign_daily",
            campaign_daily(ad.filter(w.event_days(ad.event_date))),
            lambda t: w.event_days(t.event_date),
            "mart",
        )
        create_views(ctx.backend)

    def report(ctx: pipeline.Context, report: BuildReport) -> None:
        """Per source: rows landed = rows loaded + rows quarantined (a load that loses a row
        fails); rows per table."""
        raw = {name: ctx.raw(name) for name in KEYS}
        q = ctx.table("quarantine")
        per_source = (
            q.group_by("source").aggregate(n=q.count()).to_pyarrow().to_pylist()
        )
        q_counts = {r["source"]: r["n"] for r in per_source}

        def real(
            t: ir.Table, key: str
        ) -> ir.Table:  # the rows that came from the source
            return t.filter((t[key] >= 0) & ~t.is_inferred)

        loaded = {
            "user_changes": real(ctx.table("dim_user"), "user_id"),
            "content_changes": real(ctx.table("dim_content"), "content_id"),
            "campaign": real(ctx.table("dim_campaign"), "campaign_id"),
            "device": real(ctx.table("dim_device"), "device_id"),
            "content_event": ctx.table("fact_content_event"),
            "ad_event": ctx.table("fact_ad_event"),
        }
        counts = pipeline.count_rows(
            {
                **{f"in {name}": raw[name] for name in KEYS},
                **{f"loaded {name}": t for name, t in loaded.items()},
                **{
                    d.qualified_name: ctx.table(d.name, d.database)
                    for d in schema.TABLES
                },
            }
        )
        for name in KEYS:
            rows_in, done = counts[f"in {name}"], counts[f"loaded {name}"]
            refused = int(q_counts.get(name, 0))
            report.add_source(name, rows_in, done, refused)
            if done + refused != rows_in:  # nothing may be dropped silently
                raise RuntimeError(
                    f"{name}: {rows_in} rows in, {done} loaded + {refused} refused"
                )
        report.tables.clear()
        for decl in schema.TABLES:
            report.tables[decl.qualified_name] = counts[decl.qualified_name]

    return pipeline.Pipeline(
        practice="social",
        keys=KEYS,
        steps=[
            pipeline.Step(
                "clean",
                step_clean,
                "staging: duplicates, future times and late records to quarantine",
            ),
            pipeline.Step(
                "dimensions",
                step_dimensions,
                "dimensions: users and content (type 2), devices, campaigns",
            ),
            pipeline.Step("facts", step_facts, "facts: content events, ad events"),
            pipeline.Step(
                "activity",
                step_activity,
                "the cumulative activity table and growth accounting",
            ),
            pipeline.Step(
                "marts", step_marts, "marts: sessions, campaign_daily; the views"
            ),
        ],  # fmt: skip
        init=init,
        report=report,
    )


def cumulative(user_day: ir.Table, first: date, last: date) -> ir.Table:
    """``mart.user_activity_cumulative`` for the days ``first``..``last``, in one query.

    The nightly recurrence (:func:`cumulate_day`) unrolled: a user has a row on every day from
    their first active day on; bit ``i`` of the mask is set when they were active ``i`` days
    before; ``last_active_date`` is the last active day up to that day. ``user_day`` holds every
    active day so far (one row per user and day).
    """
    days = list(landing.day_range(first, last))
    grid_days = ibis.memtable(
        pa.table(
            {
                "activity_date": pa.array(days, pa.date32()),
                "_dn": pa.array([(d - pipeline.EPOCH).days for d in days], pa.int64()),
            }
        )
    )
    offsets = ibis.memtable(
        pa.table(
            {
                "_k": pa.array(range(MASK_DAYS), pa.int64()),
                "_bit": pa.array([1 << k for k in range(MASK_DAYS)], pa.int64()),
            }
        )
    )
    ud = user_day.mutate(_dn=pipeline.day_number(user_day.event_date))
    firsts = ud.group_by("user_id").aggregate(
        first_active_date=ud.event_date.min(), _first=ud._dn.min()
    )
    lo, hi = (first - pipeline.EPOCH).days, (last - pipeline.EPOCH).days
    prior = ud.filter(ud._dn < lo)
    prior = prior.group_by(_pu="user_id").aggregate(_prior=prior.event_date.max())
    grid = firsts.filter(firsts._first <= hi).cross_join(grid_days)
    grid = grid.filter(grid._dn >= grid._first)
    recent = ud.filter(ud._dn.between(lo - MASK_DAYS + 1, hi))
    spread = recent.cross_join(offsets)
    spread = spread.mutate(_at=spread._dn + spread._k)
    spread = spread.filter(spread._at.between(lo, hi))
    masks = spread.group_by(_mu="user_id", _at="_at").aggregate(_mask=spread._bit.sum())
    today = recent.filter(recent._dn >= lo).select(
        _tu="user_id", _td="_dn", _active="event_date"
    )
    g = grid.left_join(masks, [grid.user_id == masks._mu, grid._dn == masks._at])
    g = g.left_join(today, [g.user_id == today._tu, g._dn == today._td])
    g = g.left_join(prior, g.user_id == prior._pu)
    so_far = ibis.window(
        group_by=g.user_id, order_by=g.activity_date, preceding=None, following=0
    )
    return g.select(
        activity_date=g.activity_date,
        user_id=g.user_id,
        activity_mask=g._mask.fill_null(0).cast("int32"),
        first_active_date=g.first_active_date,
        last_active_date=g._active.max().over(so_far).fill_null(g._prior),
    )


# --------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------
#: DuckDB's memory ceiling for the build: large steps spill to disk instead.
MEMORY_LIMIT = "500MB"
PIPELINE = make_pipeline(FIRST_DAY, LAST_DAY)


def write_landing(
    root, scale=None, seed=None, workers: int | None = None, progress=None
) -> dict:
    """Generate the raw data and write it as the landing zone at ``root``; return its manifest.

    The event logs come in chunks of users, each spanning the whole period, so every day's file
    is written once the last chunk is in."""
    start = BuildReport.start("social", scale, seed)
    say = progress or (lambda message: None)
    manifest = {
        "practice": "social",
        "scale_rows": start.scale_rows,
        "seed": start.seed,
    }
    with landing.LandingWriter(
        root, KEYS, workers=workers, manifest=manifest
    ) as writer:
        for source, piece in gen.landed_chunks(start.scale_rows, start.seed):
            writer.add(source, piece)
        say("landing zone: writing the files of every day")
    return landing.read_manifest(root)


def _run(con, pipe, raw, report, lookback_days, progress, days=None) -> BuildReport:
    """Load every day of ``raw`` (or the landing days ``days``: first, last) into an empty
    warehouse, with the build's DuckDB settings."""
    first, last = days or raw.days()
    if con.name != "duckdb":
        return pipeline.load(con, pipe, raw, first, last, lookback_days=lookback_days,
                             progress=progress, report=report)  # fmt: skip
    _reset(con)
    return pipeline.load(con, pipe, raw, first, last, lookback_days=lookback_days,
                         progress=progress, report=report, memory_limit=MEMORY_LIMIT)  # fmt: skip


def build(
    con,
    scale=None,
    seed=None,
    progress=None,
    *,
    landing_root=None,
    lookback_days: int = pipeline.DEFAULT_LOOKBACK_DAYS,
) -> BuildReport:
    """Generate the social platform's raw data and load every day of it into ``con``.

    With ``landing_root`` the raw data is written there first, as the landing zone (Parquet by
    source and day), and read back as a nightly load would. Without it the same rows stay in
    memory (the fast path of the book's small warehouse): the load is the same.
    """
    report, raw = pipeline.raw_for_build(
        "social",
        scale,
        seed,
        gen.generate_landed,
        write_landing,
        landing_root=landing_root,
        progress=progress,
        what="rows' worth of platform activity",
    )
    say = progress or (lambda message: None)
    _run(con, PIPELINE, raw, report, lookback_days, progress)
    say("done")
    return report


def load(
    con, day_from, day_to=None, *, landing_root, lookback_days=None, progress=None
) -> BuildReport:
    """Load the days ``day_from``..``day_to`` of the landing zone at ``landing_root``."""
    return pipeline.load_landing(
        con,
        PIPELINE,
        day_from,
        day_to,
        landing_root=landing_root,
        lookback_days=lookback_days,
        progress=progress,
        memory_limit=MEMORY_LIMIT if con.name == "duckdb" else None,
    )


def landed_fixture(
    raw: dict[str, pd.DataFrame], first_day: date, last_day: date
) -> dict[str, pa.Table]:
    """Raw tables given whole, each with a ``landing_date``: an event lands on its own day, a
    change on the day it was made, the reference extracts on the first day (every landing day
    within the period ``first_day``..``last_day``)."""
    out = {}
    for name, columns in gen.RAW_SCHEMAS.items():
        frame = raw[name][list(columns)]
        table = ibis.memtable(frame).cast(ibis.schema(columns)).to_pyarrow()
        if name in EVENT_LOGS:
            t = pd.DataFrame({"a": frame.event_time, "b": frame.received_at})
            day = pd.to_datetime(t.min(axis=1)).dt.date
        elif name in CHANGE_LOGS:
            day = pd.to_datetime(frame.updated_at).dt.date
        else:
            day = pd.Series([first_day] * len(frame), dtype=object)
        day = day.map(lambda d: min(max(d, first_day), last_day))
        out[name] = table.append_column(LANDING, pa.array(list(day), pa.date32()))
    return out


def build_from_raw(
    con, raw: dict[str, pd.DataFrame], first_day: date, last_day: date, progress=None
) -> BuildReport:
    """Build the model from raw tables given whole (hand-made fixtures), for a loaded period.

    ``raw`` maps each source of ``generate.RAW_SCHEMAS`` to a DataFrame with its columns; the
    period may end on any day, a month end or not. Each row lands on its own day
    (:func:`landed_fixture`), and every day is loaded, as :func:`build` does.
    """
    report = BuildReport("social", sum(len(t) for t in raw.values()), 0)
    layer = pipeline.MemoryLayer(landed_fixture(raw, first_day, last_day))
    return _run(con, make_pipeline(first_day, last_day), layer, report,
                pipeline.DEFAULT_LOOKBACK_DAYS, progress, (first_day, last_day))  # fmt: skip


def read_fixture(folder: str | Path) -> dict[str, pd.DataFrame]:
    """The raw tables of a fixture folder: one CSV per source, named like the source."""
    folder = Path(folder)
    out = {}
    for name, columns in gen.RAW_SCHEMAS.items():
        frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        frame = frame.replace({"": None})
        for column, dtype in columns.items():
            if dtype == "timestamp":
                frame[column] = pd.to_datetime(frame[column], format="ISO8601")
            elif dtype == "int64":
                frame[column] = pd.array(frame[column], dtype="Int64")
        out[name] = frame
    return out


def _reset(con) -> None:
    """A rebuild into the same database starts from empty schemas (main, raw and mart)."""
    found = con.raw_sql(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema IN ('main', 'raw', 'mart') "
        "ORDER BY table_type DESC"  # views first: they may read the tables
    ).fetchall()
    for db, name, kind in found:
        what = "VIEW" if kind == "VIEW" else "TABLE"
        con.raw_sql(f'DROP {what} IF EXISTS "{db}"."{name}"')


def count(table: ir.Table) -> int:
    return table.count().to_pyarrow().as_py()
