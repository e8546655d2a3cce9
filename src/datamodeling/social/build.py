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
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from datamodeling import calendar, scd2, warehouse
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
    no_change = kept.filter(repeats).mutate(reason=ibis.literal("no_change"))
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


def build_cumulative(
    con, user_day: ir.Table, first: date, last: date, progress=None
) -> int:
    """Create ``mart.user_activity_cumulative`` by running :func:`cumulate_day` for every day."""
    target = schema.USER_ACTIVITY_CUMULATIVE
    con.create_table(
        target.name, schema=target.ibis_schema(), database="mart", overwrite=True
    )
    cum = con.table(target.name, database="mart")
    day = first
    while day <= last:
        yesterday = cum.filter(
            cum.activity_date == ibis.literal(day - timedelta(days=1))
        )
        today = user_day.filter(user_day.event_date == ibis.literal(day)).select(
            "user_id"
        )
        # con.insert() re-reads the target's schema on every call; one INSERT of the compiled
        # expression is the same statement at a quarter of the cost (181 runs per build)
        sql = con.compile(cumulate_day(yesterday, today, day))
        con.raw_sql(f"INSERT INTO mart.{target.name} {sql}")
        if progress and day.day == 1:
            progress(f"  cumulative activity: {day:%Y-%m}")
        day += timedelta(days=1)
    return cum.count().to_pyarrow().as_py()


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


def period_activity(user_day: ir.Table, period: str) -> ir.Table:
    """One row per user and period (``day`` or ``month``) with activity: period_start, last day."""
    start = (
        user_day.event_date if period == "day" else user_day.event_date.truncate("M")
    )
    return user_day.group_by(user_id=user_day.user_id, period_start=start).aggregate(
        last_active_date=user_day.event_date.max()
    )


def _step(period: str) -> ir.IntervalValue:
    return ibis.interval(days=1) if period == "day" else ibis.interval(months=1)


def _period_start(d: date, period: str) -> date:
    return d if period == "day" else d.replace(day=1)


def churn_stats(
    user_day: ir.Table, signup: ir.Table, period: str, first_day: date, last_day: date
) -> ir.Table:
    """``mart.user_churn_stats`` rows of one period type: growth-accounting state per user.

    Active in the period: ``new`` (signed up in it), ``returning`` (the first loaded period, and
    signed up before it: retained or resurrected, we cannot tell, because the period before is
    not loaded), ``retained`` (also active in the previous period) or ``resurrected`` (not active
    in the previous period, signed up before it). Not active, but active in the previous period:
    ``churned``, dated at the period it churned in (never past the last loaded period).
    """
    first_start = ibis.literal(_period_start(first_day, period), type="date")
    last_start = ibis.literal(_period_start(last_day, period), type="date")
    act = period_activity(user_day, period)
    s = signup.select(s_user_id="user_id", signup_date="signup_date")
    act = act.join(s, act.user_id == s.s_user_id).drop("s_user_id")
    signup_start = act.signup_date if period == "day" else act.signup_date.truncate("M")
    w = ibis.window(group_by=act.user_id, order_by=act.period_start)
    prev_start = act.period_start.lag().over(w)
    next_start = act.period_start.lead().over(w)
    step = _step(period)
    act = act.mutate(
        status=ibis.cases(
            (signup_start == act.period_start, "new"),
            (act.period_start == first_start, "returning"),
            ((prev_start + step).cast("date") == act.period_start, "retained"),
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
    churn_start = (act.period_start + step).cast("date")
    gone = act.filter(
        (act._next_start.isnull() | (act._next_start != churn_start))
        & (churn_start <= last_start)
    )
    gone_start = (gone.period_start + step).cast("date")
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
    return active_rows.union(churn_rows)


# --------------------------------------------------------------------------------------------
# sessions and ads
# --------------------------------------------------------------------------------------------
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
    key = ibis.literal("|").join(
        [
            s.user_id.cast("string"),
            s.device_id.cast("string"),
            s.session_start.cast("string"),
        ]
    )
    s = s.mutate(
        session_id=key.hash(),
        session_date=s.session_start.date(),
        duration_ms=s.session_end.delta(s.session_start, unit="millisecond").cast(
            "int64"
        ),
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


def create_views(con) -> None:
    """The brief's tables as views over the model (``schema.VIEWS``)."""
    for name, sql in schema.VIEWS.items():
        con.raw_sql(f"CREATE OR REPLACE VIEW {schema.view_name(name)} AS {sql.strip()}")


# --------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------
#: DuckDB settings for the build: a memory ceiling (large steps spill to disk instead) and no
#: promise to keep insertion order, which large CREATE TABLE AS statements would have to buffer.
DUCKDB_SETTINGS = {"memory_limit": "500MB", "preserve_insertion_order": "false"}


def build(con, scale=None, seed=None, progress=None) -> BuildReport:
    """Generate, load and transform the social warehouse into ``con``; return what it did."""
    with warehouse.duckdb_settings(con, **DUCKDB_SETTINGS):
        report = BuildReport.start("social", scale, seed)
        say = progress or (lambda msg: None)
        rows, seed = report.scale_rows, report.seed
        say(f"generating {rows:,} rows' worth of platform activity (seed {seed})")
        state, small = gen.dimensions(rows, seed)
        _reset(con)
        for name, table in small.items():
            con.create_table(name, table, database="raw", overwrite=True)
        del small
        for i, chunk in enumerate(gen.event_chunks(state, seed)):
            for name, table in chunk.items():
                if i == 0:
                    con.create_table(name, table, database="raw", overwrite=True)
                else:
                    warehouse.append_arrow(con, name, table, database="raw")
            del chunk
        del state
        pa.default_memory_pool().release_unused()  # hand the generator's buffers back to the OS
        return load(con, report, FIRST_DAY, LAST_DAY, say)


def build_from_raw(
    con, raw: dict[str, pd.DataFrame], first_day: date, last_day: date, progress=None
) -> BuildReport:
    """Build the model from raw tables given whole (hand-made fixtures), for a loaded period.

    ``raw`` maps each source of ``generate.RAW_SCHEMAS`` to a DataFrame with its columns; the
    period may end on any day, a month end or not.
    """
    report = BuildReport("social", sum(len(t) for t in raw.values()), 0)
    _reset(con)
    for name, columns in gen.RAW_SCHEMAS.items():
        frame = raw[name][list(columns)]
        table = ibis.memtable(frame).cast(ibis.schema(columns))
        con.create_table(name, table, database="raw", overwrite=True)
    return load(con, report, first_day, last_day, progress or (lambda msg: None))


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
    for db in ("raw", "mart"):
        if db not in con.list_databases():
            con.create_database(db)
    found = con.raw_sql(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema IN ('main', 'raw', 'mart') "
        "ORDER BY table_type DESC"  # views first: they may read the tables
    ).fetchall()
    for db, name, kind in found:
        what = "VIEW" if kind == "VIEW" else "TABLE"
        con.raw_sql(f'DROP {what} IF EXISTS "{db}"."{name}"')


def load(con, report: BuildReport, first_day: date, last_day: date, say) -> BuildReport:
    """Load the ``raw`` schema of ``con`` into the model, for the days ``first_day..last_day``."""
    r = {name: con.table(name, database="raw") for name in gen.RAW_SCHEMAS}
    rows_in = {name: count(t) for name, t in r.items()}
    say("raw: " + ", ".join(f"{k} {v:,}" for k, v in rows_in.items()))

    qt = schema.QUARANTINE
    con.create_table(qt.name, schema=qt.ibis_schema(), overwrite=True)

    def reconcile(name: str, loaded: int) -> None:
        quarantined = con.table(qt.name)
        refused = count(quarantined.filter(quarantined.source == name))
        report.add_source(name, rows_in[name], loaded, refused)
        if loaded + refused != rows_in[name]:  # nothing may be dropped silently
            raise RuntimeError(
                f"{name}: {rows_in[name]} rows in, {loaded} loaded + {refused} refused"
            )

    # change logs: every record makes a version or is quarantined with its reason
    for name, key, user_col, attrs, make in [
        ("user_changes", "user_id", "user_id", USER_ATTRS, user_versions),
        (
            "content_changes",
            "content_id",
            "creator_id",
            CONTENT_ATTRS,
            content_versions,
        ),
    ]:
        con.create_table(f"_{name}_versions", make(r[name]), overwrite=True)
        absorbed = unversioned_changes(_deleted(r[name]), key, attrs, "_is_deleted")
        con.insert(
            qt.name,
            absorbed.select(
                source=ibis.literal(name),
                record_id=absorbed[key],
                reason=absorbed.reason,
                event_time=absorbed.updated_at,
                received_at=ibis.null("timestamp"),
                user_id=absorbed[user_col],
            ).order_by(["record_id", "event_time"]),
        )
        reconcile(name, count(con.table(f"_{name}_versions")))

    # events: quarantine what is not a fact, keep every real event
    for name, user_col in [("content_event", "viewer_id"), ("ad_event", "user_id")]:
        rejected_name = f"_rejected_{name}"
        con.create_table(rejected_name, suspect_rows(r[name]), overwrite=True)
        con.create_table(
            rejected_name, rejected_rows(con.table(rejected_name)), overwrite=True
        )
        rejected = con.table(rejected_name)
        con.create_table(
            f"_clean_{name}", loaded_rows(r[name], rejected), overwrite=True
        )
        con.insert(
            qt.name, quarantine_rows(rejected, name, user_col).order_by("record_id")
        )
        con.drop_table(rejected_name)
    ce, ae = con.table("_clean_content_event"), con.table("_clean_ad_event")

    # dimensions: versions + inferred members for keys only events name + reserved members
    seen_users = (
        ce.select(user_id=ce.viewer_id)
        .union(ce.select(user_id=ce.creator_id))
        .union(ae.select("user_id"))
        .union(r["content_changes"].select(user_id=r["content_changes"].creator_id))
    )
    users = with_inferred_type2(
        con.table("_user_changes_versions"), seen_users, "user_id", "user_sk"
    )
    con.create_table(
        "dim_user", finish_dimension(schema.DIM_USER, users), overwrite=True
    )
    contents = with_inferred_type2(
        con.table("_content_changes_versions"), ce, "content_id", "content_sk"
    )
    dim_content = finish_dimension(schema.DIM_CONTENT, contents)
    dim_content = dim_content.mutate(
        creator_id=dim_content.creator_id.fill_null(UNKNOWN)
    )
    con.create_table("dim_content", dim_content, overwrite=True)
    devices = r["device"].select(*schema.DIM_DEVICE.column_names[:-1])
    # a Type 1 dimension keyed by its business key: the inferred row keeps the key as its key
    seen_devices = ce.select("device_id").union(ae.select("device_id"))
    devices = scd2.add_inferred_members(devices, seen_devices, "device_id", "device_id")
    con.create_table(
        "dim_device", finish_dimension(schema.DIM_DEVICE, devices), overwrite=True
    )
    campaigns = r["campaign"].select(*schema.DIM_CAMPAIGN.column_names[:-1])
    campaigns = scd2.add_inferred_members(
        campaigns, ae.select("campaign_id"), "campaign_id", "campaign_id"
    )
    con.create_table(
        "dim_campaign", finish_dimension(schema.DIM_CAMPAIGN, campaigns), overwrite=True
    )
    con.create_table("dim_date", date_dimension(first_day, last_day), overwrite=True)
    for name, key in [("device", "device_id"), ("campaign", "campaign_id")]:
        dim = con.table(f"dim_{name}")
        reconcile(name, count(dim.filter(~dim.is_inferred & (dim[key] >= 0))))
    dim_user, dim_content = con.table("dim_user"), con.table("dim_content")
    inferred = {
        name: count(con.table(f"dim_{name}").filter(lambda t: t.is_inferred))
        for name in ("user", "content", "device", "campaign")
    }
    say(
        "inferred members (keys only the events name): "
        + ", ".join(f"{k} {v:,}" for k, v in inferred.items())
    )

    # facts, with the surrogate keys of the versions valid at each event
    con.create_table(
        "fact_content_event",
        content_event_fact(ce, dim_user, dim_content),
        overwrite=True,
    )
    con.create_table("fact_ad_event", ad_event_fact(ae, dim_user), overwrite=True)
    for name in ("content_event", "ad_event"):
        reconcile(name, count(con.table(f"fact_{name}")))
    for name in (
        "_clean_content_event",
        "_clean_ad_event",
        "_user_changes_versions",
        "_content_changes_versions",
    ):
        con.drop_table(name)
    say(
        "facts: "
        + "; ".join(
            f"{k} {s['rows_in']:,} in, {s['loaded']:,} loaded, {s['quarantined']:,} quarantined"
            for k, s in report.sources.items()
            if "event" in k
        )
    )

    # activity
    fce = con.table("fact_content_event")
    con.create_table("_user_day", user_days(fce), overwrite=True)
    user_day = con.table("_user_day")
    say("building the cumulative activity table, one nightly run per day")
    build_cumulative(con, user_day, first_day, last_day, progress=say)
    signup = signups(dim_user, user_day)
    stats = churn_stats(user_day, signup, "day", first_day, last_day).union(
        churn_stats(user_day, signup, "month", first_day, last_day)
    )
    con.create_table(
        "user_churn_stats",
        stats.select(schema.USER_CHURN_STATS.column_names).order_by(
            ["period", "period_start", "user_id"]
        ),
        database="mart",
        overwrite=True,
    )
    con.drop_table("_user_day")

    # marts
    say("building marts: sessions, campaign_daily")
    con.create_table("session", sessions(fce), database="mart", overwrite=True)
    con.create_table(
        "campaign_daily",
        campaign_daily(con.table("fact_ad_event")),
        database="mart",
        overwrite=True,
    )
    create_views(con)

    for t in schema.TABLES:
        report.tables[t.qualified_name] = count(con.table(t.name, database=t.database))
    return report


def count(table: ir.Table) -> int:
    return table.count().to_pyarrow().as_py()
