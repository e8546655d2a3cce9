"""Build the streaming warehouse: raw sources → dimensional model → marts.

Every transform is an Ibis function from tables to a table. The order matters only where a table
needs another: ``viewing_event`` (cleaned events) → ``playback_session`` and ``viewing_fact``
(both built from events) → ``recommendation_event`` (``was_watched`` comes from the sessions).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from datamodeling import calendar, scd2, warehouse
from datamodeling.quality import split_valid
from datamodeling.registry import BuildReport

from . import generate as gen
from .schema import TABLES

COMPLETION_THRESHOLD = gen.COMPLETION_THRESHOLD
PLAYING = ("play", "heartbeat")
CONTENT_ATTRIBUTES = [
    "title",
    "genre_id",
    "creator_id",
    "release_date",
    "content_type",
    "duration_seconds",
]


def date_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    """``yyyymmdd`` of a timestamp, as the date dimension's key."""
    return (ts.year() * 10000 + ts.month() * 100 + ts.day()).cast("int64")


def time_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    """``hhmmss`` of a timestamp, as the time dimension's key."""
    return (ts.hour() * 10000 + ts.minute() * 100 + ts.second()).cast("int64")


# ---------------------------------------------------------------------------------------------
# Dimensions
# ---------------------------------------------------------------------------------------------
def content_dimension(changes: ir.Table) -> ir.Table:
    """SCD2 content from the CMS change log (no-op records create no version)."""
    return scd2.build_scd2(
        changes,
        "content_id",
        CONTENT_ATTRIBUTES,
        at="changed_at",
        deleted=None,
        order="change_seq",
        sk="content_sk",
    )


def classify_content_changes(changes: ir.Table) -> ir.Table:
    """Every CMS change record with a ``reason`` (null when it starts a content version).

    The rules are the SCD2 rules, written out record by record, so that the records that start a
    version and the ones set aside are counted apart from the dimension and must add up to it:

    * ``superseded_same_instant``: a later record of the same title takes effect at the same
      instant (the last arrival wins);
    * ``unchanged``: every tracked attribute equals the record before it (a no-op update).
    """
    same_instant = ibis.window(
        group_by=["content_id", "changed_at"], order_by=ibis.desc("change_seq")
    )
    ranked = changes.mutate(_later=ibis.row_number().over(same_instant))
    superseded = ranked.filter(ranked._later > 0).drop("_later")
    kept = ranked.filter(ranked._later == 0).drop("_later")
    by_time = ibis.window(group_by="content_id", order_by=["changed_at", "change_seq"])
    unchanged = ibis.and_(
        *[kept[a].identical_to(kept[a].lag().over(by_time)) for a in CONTENT_ATTRIBUTES]
    )
    kept = kept.mutate(
        reason=ibis.ifelse(unchanged, ibis.literal("unchanged"), ibis.null("string"))
    )
    return kept.union(superseded.mutate(reason=ibis.literal("superseded_same_instant")))


# ---------------------------------------------------------------------------------------------
# Viewing events
# ---------------------------------------------------------------------------------------------
#: Order of a session's events: by event time (not arrival: some arrive late); ties by action
#: and position, so exact copies sit next to each other; then by arrival.
EVENT_ORDER = ["event_time", "action_type", "position_seconds", "event_id"]


def classify_viewing_events(raw: ir.Table, content: ir.Table) -> ir.Table:
    """Every raw event with a ``reason`` (null when valid) and what it contributes, in one pass.

    Quarantine rules, the first that applies wins:

    * ``unknown_content``: the title is not in the catalogue (its duration is unknown);
    * ``duplicate_event``: the same session, action, time and position as the event just before
      it (a retried heartbeat); the first arrival is kept;
    * ``session_without_play``: every event of a session that has no ``play`` (a lone ``stop``).

    ``viewing_duration`` is the playhead advance since the previous event when the player was
    playing (after a ``play`` or a ``heartbeat``); after a pause or a seek nothing was played, so
    a jump of the playhead is never counted as watching. Positions are capped at the duration.
    An exact copy changes neither: it adds 0 and leaves the next event's predecessor unchanged,
    which is why one window over the raw log computes both the rules and the seconds.
    """
    current = content.filter(content.is_current).select(
        _cid="content_id", duration_seconds="duration_seconds"
    )
    plays = raw.group_by(_sid="session_id").agg(_plays=(raw.action_type == "play").sum())
    ev = raw.left_join(current, raw.content_id == current._cid).drop("_cid")
    ev = ev.join(plays, ev.session_id == plays._sid).drop("_sid")
    ev = ev.mutate(_pos=ibis.least(ev.position_seconds, ev.duration_seconds))
    w = ibis.window(group_by="session_id", order_by=EVENT_ORDER)
    running = ibis.window(group_by="session_id", order_by=EVENT_ORDER, preceding=None, following=0)
    ev = ev.mutate(
        _prev_time=ev.event_time.lag().over(w),
        _prev_action=ev.action_type.lag().over(w),
        _prev_raw=ev.position_seconds.lag().over(w),
        _prev_pos=ev._pos.lag().over(w),
        _furthest=ev._pos.max().over(running),
    )
    copy = (
        (ev._prev_time == ev.event_time)
        & (ev._prev_action == ev.action_type)
        & (ev._prev_raw == ev.position_seconds)
    )
    reason = ibis.cases(
        (ev.duration_seconds.isnull(), "unknown_content"),
        (copy.fill_null(False), "duplicate_event"),
        (ev._plays == 0, "session_without_play"),
        else_=ibis.null("string"),
    )
    played = ibis.ifelse(ev._prev_action.isin(PLAYING), ev._pos - ev._prev_pos, 0)
    return ev.select(
        *raw.columns,
        reason=reason,
        duration_seconds=ev.duration_seconds,
        capped_position=ev._pos,
        viewing_duration=played.cast("int64"),
        completion_percentage=ev._furthest * 100.0 / ev.duration_seconds,
    )


def viewing_events(classified: ir.Table) -> ir.Table:
    """The ``viewing_event`` fact: the valid events, positions capped, keys for date and time."""
    ev = classified.filter(classified.reason.isnull())
    return ev.select(
        "event_id",
        "event_time",
        date_key=date_key(ev.event_time),
        time_key=time_key(ev.event_time),
        user_id=ev.user_id,
        content_id=ev.content_id,
        device_id=ev.device_id,
        session_id=ev.session_id,
        action_type=ev.action_type,
        position_seconds=ev.capped_position,
        duration_seconds=ev.duration_seconds,
        viewing_duration=ev.viewing_duration,
        completion_percentage=ev.completion_percentage,
        is_recommended=ev.is_recommended,
        rec_event_id=ev.rec_event_id,
    )


def session_basics(events: ir.Table) -> ir.Table:
    """One row per session from its events (before the quality columns are attached)."""
    a = events.action_type
    s = events.group_by("session_id").agg(
        user_id=events.user_id.max(),
        content_id=events.content_id.max(),
        device_id=events.device_id.max(),
        started_at=events.event_time.min(),
        ended_at=events.event_time.max(),
        is_recommended=events.is_recommended.any(),
        rec_event_id=events.rec_event_id.max(),
        event_count=events.count(),
        pause_count=(a == "pause").cast("int64").sum(),
        seek_count=(a == "seek").cast("int64").sum(),
        seconds_played=events.viewing_duration.sum(),
        furthest_position=events.position_seconds.max(),
        duration_seconds=events.duration_seconds.max(),
    )
    return s.mutate(
        completion_percentage=(s.furthest_position * 100.0 / s.duration_seconds),
        is_completed=s.furthest_position >= COMPLETION_THRESHOLD * s.duration_seconds,
    )


# ---------------------------------------------------------------------------------------------
# Quality events
# ---------------------------------------------------------------------------------------------
def split_quality_events(raw: ir.Table, sessions: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``negative_duration``: a stall or start-up shorter than zero (a client clock bug);
    ``unknown_session``: no valid playback session has this id."""
    known = sessions.select(_known_session=sessions.session_id)
    tagged = raw.left_join(known, raw.session_id == known._known_session)
    valid, bad = split_valid(
        tagged,
        {
            "negative_duration": lambda t: t.duration_ms < 0,
            "unknown_session": lambda t: t._known_session.isnull(),
        },
    )
    return valid.drop("_known_session"), bad.drop("_known_session")


def quality_events(valid: ir.Table, sessions: ir.Table) -> ir.Table:
    """The ``streaming_quality_event`` fact, with the seed's columns and the stream's span."""
    span = sessions.select(
        _sid="session_id", stream_start_time="started_at", stream_end_time="ended_at"
    )
    q = valid.join(span, valid.session_id == span._sid).drop("_sid")
    w = ibis.window(group_by="session_id", order_by=["event_time", "quality_event_id"])
    prev_bitrate = q.bitrate_kbps.lag().over(w)
    change = ibis.cases(
        (q.event_type == "startup", "startup"),
        (q.event_type == "rebuffer", "rebuffer"),
        (q.bitrate_kbps > prev_bitrate, "bitrate_up"),
        else_="bitrate_down",
    )
    is_rebuffer = q.event_type == "rebuffer"
    return q.select(
        "quality_event_id",
        date_key=date_key(q.event_time),
        time_key=time_key(q.event_time),
        user_id=q.user_id,
        content_id=q.content_id,
        device_id=q.device_id,
        session_id=q.session_id,
        event_time=q.event_time,
        app_version=q.app_version,
        buffering_instances=is_rebuffer.cast("int64"),
        rebuffer_seconds=ibis.ifelse(is_rebuffer, q.duration_ms / 1000.0, 0.0),
        startup_seconds=ibis.ifelse(
            q.event_type == "startup", q.duration_ms / 1000.0, ibis.null("float64")
        ),
        average_bitrate=q.bitrate_kbps.cast("float64"),
        stream_start_time=q.stream_start_time,
        stream_end_time=q.stream_end_time,
        quality_change_type=change,
    )


def session_quality(quality: ir.Table) -> ir.Table:
    """Per session: app version, start-up, stalls and the time-weighted average bitrate.

    The bitrate of an event holds until the next quality event (or the end of the stream), so the
    average weights each bitrate by the wall-clock seconds it was in effect.
    """
    w = ibis.window(group_by="session_id", order_by=["event_time", "quality_event_id"])
    nxt = quality.event_time.lead().over(w).fill_null(quality.stream_end_time)
    q = quality.mutate(_held=nxt.epoch_seconds() - quality.event_time.epoch_seconds())
    agg = q.group_by("session_id").agg(
        app_version=q.app_version.max(),
        startup_seconds=q.startup_seconds.max(),
        rebuffer_count=q.buffering_instances.sum(),
        rebuffer_seconds=q.rebuffer_seconds.sum(),
        _weighted=(q.average_bitrate * q._held).sum(),
        _held=q._held.sum(),
        _plain=q.average_bitrate.mean(),
    )
    return agg.select(
        "session_id",
        "app_version",
        "startup_seconds",
        "rebuffer_count",
        "rebuffer_seconds",
        avg_bitrate_kbps=ibis.ifelse(agg._held > 0, agg._weighted / agg._held, agg._plain),
    )


def playback_sessions(basics: ir.Table, quality: ir.Table, content: ir.Table) -> ir.Table:
    """The ``playback_session`` fact: session basics, the content version valid at its start,
    and its quality summary."""
    s = scd2.as_of_join(basics, content, "content_id", "started_at", columns=["content_sk"])
    sq = session_quality(quality).rename(_sid="session_id")
    s = s.left_join(sq, s.session_id == sq._sid).drop("_sid")
    return s.select(
        "session_id",
        "user_id",
        "content_id",
        "content_sk",
        "device_id",
        date_key=date_key(s.started_at),
        time_key=time_key(s.started_at),
        started_at=s.started_at,
        ended_at=s.ended_at,
        is_recommended=s.is_recommended,
        rec_event_id=s.rec_event_id,
        event_count=s.event_count,
        pause_count=s.pause_count,
        seek_count=s.seek_count,
        seconds_played=s.seconds_played,
        furthest_position=s.furthest_position,
        duration_seconds=s.duration_seconds,
        completion_percentage=s.completion_percentage,
        is_completed=s.is_completed,
        app_version=s.app_version,
        startup_seconds=s.startup_seconds,
        rebuffer_count=s.rebuffer_count.fill_null(0),
        rebuffer_seconds=s.rebuffer_seconds.fill_null(0.0),
        avg_bitrate_kbps=s.avg_bitrate_kbps,
    )


def viewing_fact(events: ir.Table, content: ir.Table) -> ir.Table:
    """The seed's ``viewing_fact``: one row per day, user, title and device, from events.

    A session that crosses midnight counts its seconds on the day they were played.
    ``completion_percentage`` is the furthest position reached that day over the duration.
    ``content_key`` is the content version valid at the row's first event.
    """
    e = events
    daily = e.group_by(
        [e.date_key, e.user_id.name("user_key"), e.content_id, e.device_id.name("device_key")]
    ).agg(
        _first_at=e.event_time.min(),
        time_key=e.time_key.argmin(e.event_time),
        viewing_duration=e.viewing_duration.sum(),
        _furthest=e.position_seconds.max(),
        _duration=e.duration_seconds.max(),
        is_recommended=e.is_recommended.any(),
        session_count=e.session_id.nunique(),
    )
    daily = scd2.as_of_join(daily, content, "content_id", "_first_at", columns=["content_sk"])
    return daily.select(
        "date_key",
        "time_key",
        "user_key",
        content_key=daily.content_sk,
        device_key=daily.device_key,
        content_id=daily.content_id,
        viewing_duration=daily.viewing_duration.cast("int64"),
        completion_percentage=(daily._furthest * 100.0 / daily._duration),
        is_recommended=daily.is_recommended,
        session_count=daily.session_count.cast("int64"),
    )


# ---------------------------------------------------------------------------------------------
# Recommendations
# ---------------------------------------------------------------------------------------------
def split_recommendations(raw: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``duplicate_impression``: the same user, title, algorithm and time as an earlier row."""
    copies = ibis.window(
        group_by=["user_id", "content_id", "algorithm", "shown_at"], order_by="rec_event_id"
    )
    tagged = raw.mutate(_copy=ibis.row_number().over(copies))
    valid, bad = split_valid(tagged, {"duplicate_impression": lambda t: t._copy > 0})
    return valid.drop("_copy"), bad.drop("_copy")


def recommendation_events(valid: ir.Table, sessions: ir.Table) -> ir.Table:
    """``was_watched`` comes from the viewing log: a session that names this recommendation."""
    started = sessions.filter(sessions.rec_event_id.notnull())
    started = started.group_by(_rid=started.rec_event_id).agg(_session=started.session_id.min())
    r = valid.left_join(started, valid.rec_event_id == started._rid)
    return r.select(
        "rec_event_id",
        date_key=date_key(r.shown_at),
        time_key=time_key(r.shown_at),
        user_id=r.user_id,
        content_id=r.content_id,
        recommendation_algorithm=r.algorithm,
        was_clicked=r.clicked_at.notnull(),
        was_watched=r._session.notnull(),
        rec_shown_time=r.shown_at,
        clicked_at=r.clicked_at,
        session_id=r._session,
    )


# ---------------------------------------------------------------------------------------------
# Marts
# ---------------------------------------------------------------------------------------------
def content_daily(sessions: ir.Table) -> ir.Table:
    s = sessions
    return s.group_by(["date_key", "content_id"]).agg(
        sessions=s.count(),
        viewers=s.user_id.nunique(),
        hours_played=s.seconds_played.sum() / 3600.0,
        completions=s.is_completed.cast("int64").sum(),
    )


def quality_daily(sessions: ir.Table, device: ir.Table) -> ir.Table:
    d = device.select(_did="device_id", device_type="device_type", os="os")
    s = sessions.join(d, sessions.device_id == d._did)
    return s.group_by(["date_key", "device_type", "os", "app_version"]).agg(
        sessions=s.count(),
        play_seconds=s.seconds_played.sum(),
        rebuffer_seconds=s.rebuffer_seconds.sum(),
    )


def _quarantine_rows(bad: ir.Table, source: str, id_col: str, detail) -> ir.Table:
    return bad.select(
        source=ibis.literal(source),
        record_id=bad[id_col].cast("int64"),
        reason=bad.reason,
        session_id=bad.session_id.cast("int64")
        if "session_id" in bad.columns
        else ibis.null("int64"),
        detail=detail(bad).cast("string"),
    )


def _materialise_split(con, name: str, split: tuple[ir.Table, ir.Table]):
    """Store valid and quarantined rows once (a ``reason`` column, null when valid), so the
    windows that classify them run once, then return the two halves."""
    valid, bad = split
    tagged = valid.mutate(reason=ibis.null("string")).union(bad)
    stored = con.create_table(name, tagged, temp=True, overwrite=True)
    return stored.filter(stored.reason.isnull()).drop("reason"), stored.filter(
        stored.reason.notnull()
    )


#: DuckDB may use this much memory during the build; beyond it, it spills to disk. Row order of
#: stored tables carries no meaning, so DuckDB need not buffer to preserve it.
BUILD_SETTINGS = {"memory_limit": "600MB", "preserve_insertion_order": "false"}


def _release_memory() -> None:
    """Hand freed memory back to the system before DuckDB's turn: Arrow's pool keeps freed
    buffers, and glibc keeps freed numpy arrays in its heap once they were large."""
    pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _count(con, name: str, database: str | None = None) -> int:
    return int(con.table(name, database=database).count().execute())


def build(con, scale=None, seed=None, progress=None) -> BuildReport:
    """Generate the sources, load them into ``raw``, and build the model and marts.

    DuckDB runs with :data:`BUILD_SETTINGS` (a memory cap; it spills beyond), and the
    connection's own settings are restored afterwards, even if the build fails.
    """
    with warehouse.duckdb_settings(con, **BUILD_SETTINGS):
        return _build(con, scale, seed, progress)


def _build(con, scale, seed, progress) -> BuildReport:
    report = BuildReport.start("streaming", scale, seed)
    rows, seed = report.scale_rows, report.seed
    say = progress or (lambda _msg: None)

    say(f"generating {rows:,} playback sessions (seed {seed})")
    tables, event_chunks = gen.generate_parts(rows, seed)
    _release_memory()  # the generator's temporaries
    say("loading raw sources")
    con.create_database("raw", force=True)
    con.create_database("mart", force=True)
    raw = {}
    for name, table in tables.items():
        raw[name] = con.create_table(name, table, database="raw", overwrite=True)
    rows_in = {name: t.num_rows for name, t in tables.items()}
    del tables
    rows_in["viewing_events"] = 0
    for i, chunk in enumerate(event_chunks):
        if i == 0:
            raw["viewing_events"] = con.create_table(
                "viewing_events", chunk, database="raw", overwrite=True
            )
        else:
            warehouse.append_arrow(con, "viewing_events", chunk, database="raw")
        rows_in["viewing_events"] += chunk.num_rows
        say(f"  {rows_in['viewing_events']:,} viewing events loaded")
    del event_chunks, chunk  # frees the generator's arrays before the transforms run
    _release_memory()

    def save(name: str, expr: ir.Table, database: str | None = None) -> ir.Table:
        return con.create_table(name, expr, database=database, overwrite=True)

    say("dimensions")
    save("user", raw["users"])
    save("device", raw["devices"])
    save("genre", raw["genres"])
    save("creator", raw["creators"])
    content = save("content", content_dimension(raw["content_changes"]))
    for name in ("users", "devices", "genres", "creators"):
        report.add_source(name, rows_in[name], _count(con, name[:-1]), 0)
    # a change record is loaded when it starts a content version; the others are quarantined
    # with the rule that set them aside, so a lost or an extra version breaks the reconciliation
    changes = con.create_table(
        "_content_split", classify_content_changes(raw["content_changes"]), overwrite=True
    )
    bad_changes = changes.filter(changes.reason.notnull())

    say("viewing events")
    classified = con.create_table(
        "_viewing_split",
        classify_viewing_events(raw["viewing_events"], content),
        overwrite=True,
    )
    bad_events = classified.filter(classified.reason.notnull())
    events = save("viewing_event", viewing_events(classified))
    say("playback sessions and quality events")
    basics = save("_session_basics", session_basics(events))
    q_ok, bad_quality = _materialise_split(
        con, "_quality_split", split_quality_events(raw["quality_events"], basics)
    )
    quality = save("streaming_quality_event", quality_events(q_ok, basics))
    sessions = save("playback_session", playback_sessions(basics, quality, content))
    say("viewing_fact")
    save("viewing_fact", viewing_fact(events, content))
    say("recommendations")
    r_ok, bad_recs = _materialise_split(
        con, "_recommendation_split", split_recommendations(raw["recommendation_events"])
    )
    save("recommendation_event", recommendation_events(r_ok, sessions))

    say("quarantine and marts")
    quarantine = (
        _quarantine_rows(
            bad_changes,
            "content_changes",
            "change_seq",
            lambda t: ibis.literal("content ").concat(t.content_id.cast("string")),
        )
        .union(
            _quarantine_rows(
                bad_events,
                "viewing_events",
                "event_id",
                lambda t: t.action_type.concat(" at position ", t.position_seconds.cast("string")),
            )
        )
        .union(
            _quarantine_rows(
                bad_quality,
                "quality_events",
                "quality_event_id",
                lambda t: t.event_type.concat(" of ", t.duration_ms.cast("string"), " ms"),
            )
        )
        .union(
            _quarantine_rows(
                bad_recs,
                "recommendation_events",
                "rec_event_id",
                lambda t: t.algorithm.concat(" for content ", t.content_id.cast("string")),
            )
        )
    )
    save("quarantine", quarantine)
    for temporary in (
        "_content_split",
        "_session_basics",
        "_viewing_split",
        "_quality_split",
        "_recommendation_split",
    ):
        con.drop_table(temporary)
    save("content_daily", content_daily(sessions), database="mart")
    save("quality_daily", quality_daily(sessions, con.table("device")), database="mart")

    say("date and time dimensions")
    last = con.table("viewing_event").event_time.max().execute()
    first_day = np.datetime64(gen.START, "D")
    last_day = np.datetime64(last, "D") if last is not None else np.datetime64(gen.END, "D")
    shown_last = con.table("recommendation_event").rec_shown_time.max().execute()
    if shown_last is not None:
        last_day = max(last_day, np.datetime64(shown_last, "D"))
    save("date", ibis.memtable(calendar.date_dimension(str(first_day), str(last_day))))
    save("time", ibis.memtable(calendar.time_dimension("second")))

    q = con.table("quarantine")
    by_source = q.group_by("source").agg(n=q.count()).execute()
    quarantined = dict(zip(by_source["source"], by_source["n"].astype(int), strict=True))
    loaded = {
        "content_changes": _count(con, "content"),
        "viewing_events": _count(con, "viewing_event"),
        "quality_events": _count(con, "streaming_quality_event"),
        "recommendation_events": _count(con, "recommendation_event"),
    }
    for name, n_loaded in loaded.items():
        report.add_source(name, rows_in[name], n_loaded, quarantined.get(name, 0))
    for t in TABLES:
        report.tables[t.qualified_name] = _count(con, t.name, t.database)
    say("done")
    return report
