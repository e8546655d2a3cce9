"""Build the streaming warehouse: raw sources → dimensional model → marts.

Every transform is an Ibis function from tables to a table. The order matters only where a table
needs another: the dimensions (with their reserved and inferred members) → ``fact_viewing_event``
(cleaned events, each with the content version valid at its time) → ``fact_playback_session``
and ``fact_playback_hour`` (both built from events) → ``mart.viewing_daily`` (the brief's
``viewing_fact``) → ``fact_recommendation_event`` (``was_watched`` comes from the sessions).

:func:`build` generates the sources; :func:`build_from_raw` loads any raw tables (the hand-made
fixtures of the tests) and runs the same transforms.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from datamodeling import calendar, landing, pipeline, scd2
from datamodeling.quality import split_valid
from datamodeling.registry import BuildReport
from datamodeling.schema import NOT_APPLICABLE_KEY, UNKNOWN_KEY

from . import generate as gen
from . import schema
from .schema import TABLES

COMPLETION_THRESHOLD = gen.COMPLETION_THRESHOLD
PLAYING = ("play", "heartbeat")
CONTENT_ATTRIBUTES = [
    "title",
    "genre_id",
    "genre_list",
    "creator_id",
    "release_date",
    "content_type",
    "duration_seconds",
]
#: Cut points for splitting playback: every quarter hour of UTC. Every time zone's offset is a
#: whole number of quarter hours, so these include every hour boundary of every local clock.
QUARTER_US = 15 * 60 * 1_000_000
_ORIGIN = datetime(2000, 1, 1)
NA = NOT_APPLICABLE_KEY


def date_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    """``yyyymmdd`` of a timestamp, as the date dimension's key."""
    return calendar.date_key(ts)


def time_key(ts: ir.TimestampValue) -> ir.IntegerValue:
    """``hhmmss`` of a timestamp, as the time dimension's key."""
    # Spark's seconds have a fraction: truncate first, then two real casts (an integral double
    # converts exactly on every engine; Ibis drops a cast to the type it already infers).
    t = ts.truncate("s")
    key = t.hour() * 10000 + t.minute() * 100 + t.second()
    return key.cast("float64").cast("int64")


def percent(part: ir.NumericValue, whole: ir.NumericValue) -> ir.FloatingValue:
    """``part * 100 / whole`` in doubles (a literal ``100.0`` is a DECIMAL on Spark, whose
    division then keeps six decimals; DuckDB gives the same double either way)."""
    return part.cast("float64") * 100 / whole.cast("float64")


def _na(column: ir.IntegerValue) -> ir.IntegerValue:
    """A reference that does not apply (NULL in the source) points at Not applicable (-2)."""
    return column.cast("int64").fill_null(ibis.literal(NA, type="int64"))


# ---------------------------------------------------------------------------------------------
# Dimensions
# ---------------------------------------------------------------------------------------------
def seen_keys(key: str, *logs: ir.Table) -> ir.Table:
    """Every non-null ``key`` the raw logs name, once."""
    parts = [t.select(key).filter(t[key].notnull()) for t in logs]
    out = parts[0]
    for part in parts[1:]:
        out = out.union(part)
    return out.distinct()


def type1_dimension(decl, extract: ir.Table, seen: ir.Table | None = None) -> ir.Table:
    """A type 1 dimension as loaded: the extract's rows, an inferred member for every key the
    facts name and the extract lacks (:func:`scd2.add_inferred_members`), and the reserved
    Unknown and Not applicable members. Its key is the business key (book/conventions.md)."""
    key = decl.primary_key[0]
    extract_cols = [c for c in decl.column_names if c in extract.columns]
    dim = extract.select(*extract_cols).mutate(is_inferred=ibis.literal(False))
    if seen is not None:
        dim = scd2.add_inferred_members(
            dim.mutate(_sk=ibis.literal(0, type="int64")), seen, key, "_sk"
        ).drop("_sk")
    return decl.with_special_members(dim)


def _member_default(key: ir.IntegerValue) -> ir.IntegerValue:
    """The reference an Unknown, Not applicable or inferred row makes: Not applicable for the
    Not applicable member, Unknown for the others."""
    return ibis.ifelse(
        key == NA, ibis.literal(NA, type="int64"), ibis.literal(UNKNOWN_KEY)
    )


def device_dimension(extract: ir.Table, seen: ir.Table) -> ir.Table:
    """``dim_device``: type 1; devices the registry extract lacks become inferred members."""
    dim = type1_dimension(schema.DIM_DEVICE, extract, seen)
    return dim.mutate(user_id=dim.user_id.fill_null(_member_default(dim.device_id)))


def content_versions(changes: ir.Table) -> ir.Table:
    """SCD2 versions from the CMS change log: no-op records create no version; a withdrawal
    closes the open version and opens a final one flagged ``is_deleted``."""
    return scd2.build_scd2(
        changes,
        "content_id",
        CONTENT_ATTRIBUTES,
        at="changed_at",
        deleted="is_deleted",
        order="change_seq",
        sk="content_sk",
    )


def content_dimension(versions: ir.Table, seen: ir.Table) -> ir.Table:
    """``dim_content``: the versions, an inferred member for every title the logs name and the
    CMS lacks, and the reserved members; their genre and creator are Unknown (or Not applicable
    for the Not applicable member)."""
    dim = scd2.add_inferred_members(versions, seen, "content_id", "content_sk")
    dim = schema.DIM_CONTENT.with_special_members(dim)
    default = _member_default(dim.content_id)
    is_member = dim.is_inferred | (dim.content_id < 0)
    return dim.mutate(
        genre_id=dim.genre_id.fill_null(default),
        creator_id=dim.creator_id.fill_null(default),
        genre_list=ibis.ifelse(is_member, default.cast("string"), dim.genre_list),
    )


def title_genre_bridge(content: ir.Table) -> ir.Table:
    """``bridge_title_genre``: one row per version and each genre of its ``genre_list``.

    ``weighting_factor`` = 1 / the version's number of genres, so the weights of a version add
    up to 1 and a weighted sum over genres gives back the total. Reserved and inferred versions
    get one row, to the Unknown (or Not applicable) genre, with weight 1.
    """
    parts = content.select("content_sk", _genres=content.genre_list.split(",")).unnest(
        "_genres", offset="_rank"
    )
    per = ibis.window(group_by="content_sk")
    return parts.select(
        "content_sk",
        genre_id=parts._genres.cast("int64"),
        genre_rank=(parts._rank + 1).cast("int64"),
        is_primary=parts._rank == 0,
        weighting_factor=ibis.literal(1.0) / parts.count().over(per).cast("float64"),
    )


def classify_content_changes(changes: ir.Table) -> ir.Table:
    """Every CMS change record with a ``reason`` (null when it starts a content version).

    The rules are the SCD2 rules, written out record by record, so that the records that start a
    version and the ones set aside are counted apart from the dimension and must add up to it:

    * ``superseded_same_instant``: a later record of the same title takes effect at the same
      instant (the last arrival wins);
    * ``unchanged``: every tracked attribute and the deletion flag equal the record before it (a
      no-op update). A withdrawal record starts the final, deleted version.
    """
    same_instant = ibis.window(
        group_by=["content_id", "changed_at"], order_by=ibis.desc("change_seq")
    )
    ranked = changes.mutate(_later=ibis.row_number().over(same_instant))
    superseded = ranked.filter(ranked._later > 0).drop("_later")
    kept = ranked.filter(ranked._later == 0).drop("_later")
    by_time = ibis.window(group_by="content_id", order_by=["changed_at", "change_seq"])
    unchanged = ibis.and_(
        *[
            kept[a].identical_to(kept[a].lag().over(by_time))
            for a in CONTENT_ATTRIBUTES
        ],
        kept.is_deleted.identical_to(kept.is_deleted.lag().over(by_time)),
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

    Quarantine rules (rows that are not facts), the first that applies wins:

    * ``duplicate_event``: the same session, action, time and position as the event just before
      it (a retried heartbeat); the first arrival is kept;
    * ``session_without_play``: every event of a session that has no ``play`` (a lone ``stop``).

    A title the catalogue does not know is not a reason: the event is loaded against the title's
    inferred member, its positions uncapped and its completion unknown (NULL).

    ``played_seconds`` is the playhead advance since the previous event when the player was
    playing (after a ``play`` or a ``heartbeat``); after a pause or a seek nothing was played, so
    a jump of the playhead is never counted as watching. Positions are capped at the duration.
    An exact copy changes neither: it adds 0 and leaves the next event's predecessor unchanged,
    which is why one window over the raw log computes both the rules and the seconds.
    """
    current = content.filter(content.is_current & (content.content_id >= 0)).select(
        _cid="content_id", duration_seconds="duration_seconds"
    )
    plays = raw.group_by(_sid="session_id").agg(
        _plays=(raw.action_type == "play").sum()
    )
    ev = raw.left_join(current, raw.content_id == current._cid).drop("_cid")
    ev = ev.join(plays, ev.session_id == plays._sid).drop("_sid")
    ev = ev.mutate(
        _pos=ibis.ifelse(
            ev.duration_seconds.isnull(),
            ev.position_seconds,
            ibis.least(ev.position_seconds, ev.duration_seconds),
        )
    )
    w = ibis.window(group_by="session_id", order_by=EVENT_ORDER)
    running = ibis.window(
        group_by="session_id", order_by=EVENT_ORDER, preceding=None, following=0
    )
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
        played_seconds=played.cast("int64"),
        completion_percentage=percent(ev._furthest, ev.duration_seconds),
    )


def viewing_events(classified: ir.Table, content: ir.Table) -> ir.Table:
    """``fact_viewing_event``: the valid events, positions capped, date and time keys, the
    content version valid at the event (``content_sk``, resolved once, here) and the
    recommendation that started the session (-2, Not applicable, for an organic play)."""
    ev = classified.filter(classified.reason.isnull())
    ev = scd2.resolve_key(ev, content, "content_id", "event_time", "content_sk")
    return ev.select(
        "event_id",
        "event_time",
        date_key=date_key(ev.event_time),
        time_key=time_key(ev.event_time),
        user_id=ev.user_id,
        content_id=ev.content_id,
        content_sk=ev.content_sk,
        device_id=ev.device_id,
        session_id=ev.session_id,
        action_type=ev.action_type,
        position_seconds=ev.capped_position,
        duration_seconds=ev.duration_seconds,
        played_seconds=ev.played_seconds,
        completion_percentage=ev.completion_percentage,
        is_recommended=ev.is_recommended,
        rec_event_id=_na(ev.rec_event_id),
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
        played_seconds=events.played_seconds.sum().cast("int64"),
        furthest_position_seconds=events.position_seconds.max(),
        duration_seconds=events.duration_seconds.max(),
    )
    return s.mutate(
        completion_percentage=(
            percent(s.furthest_position_seconds, s.duration_seconds)
        ),
        is_completed=(
            s.furthest_position_seconds >= COMPLETION_THRESHOLD * s.duration_seconds
        ).fill_null(False),
    )


# ---------------------------------------------------------------------------------------------
# Playback by hour: seconds booked where they were played
# ---------------------------------------------------------------------------------------------
def _us(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds since 2000-01-01, an exact integer clock for the split."""
    return ts.delta(ibis.literal(_ORIGIN), unit="microsecond")


def ms_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.IntegerValue:
    """Whole milliseconds from ``start`` to ``end``, each instant truncated to its millisecond
    (DuckDB's ``date_diff('millisecond', ...)``; Spark's truncates the difference instead), from
    the microsecond clock both engines count alike."""
    return _us(end) // 1000 - _us(start) // 1000


def playback_stretches(events: ir.Table) -> ir.Table:
    """One row per stretch of playback: from a ``play`` or ``heartbeat`` to the next event.

    ``start_us`` / ``end_us`` are the stretch's wall-clock bounds (microseconds since 2000),
    ``played_seconds`` the playhead's advance (booked on the closing event), ``start_position``
    the playhead when it began. Stretches that played nothing are left out.
    """
    w = ibis.window(group_by="session_id", order_by=EVENT_ORDER)
    e = events.mutate(_t0=events.event_time.lag().over(w))
    e = e.filter(e.played_seconds > 0)
    start = _us(e._t0)
    return e.select(
        "session_id",
        start_us=start,
        # a stretch lasts at least a microsecond, so the split below never divides by zero
        end_us=ibis.greatest(_us(e.event_time), start + 1),
        played_seconds=e.played_seconds,
        start_position=e.position_seconds - e.played_seconds,
    )


def split_stretches(stretches: ir.Table, max_pieces: int) -> ir.Table:
    """Cut every stretch at each quarter hour of UTC: one row per piece, with its seconds.

    The seconds played by the end of a piece are ``floor(played × elapsed / wall)`` (integer
    microseconds), and a piece gets the difference between its end and its start: the pieces of
    a stretch add up to its seconds exactly, in proportion to the wall clock. ``max_pieces`` is
    the largest number of quarter hours a stretch touches.
    """
    s = stretches
    first_q = s.start_us // QUARTER_US
    last_q = (s.end_us - 1) // QUARTER_US
    s = s.mutate(_q0=first_q, _q1=last_q)
    k = ibis.memtable({"_k": np.arange(max_pieces, dtype=np.int64)})
    p = s.cross_join(k)
    p = p.filter(p._q0 + p._k <= p._q1)
    q_start = (p._q0 + p._k) * QUARTER_US
    piece_start = ibis.greatest(p.start_us, q_start)
    piece_end = ibis.least(p.end_us, q_start + QUARTER_US)
    wall = p.end_us - p.start_us

    def by(t):  # seconds played by wall-clock microsecond t of the stretch
        return (p.played_seconds * (t - p.start_us)) // wall

    return p.select(
        "session_id",
        piece_start=ibis.literal(_ORIGIN) + piece_start.as_interval("us"),
        played_seconds=(by(piece_end) - by(piece_start)).cast("int64"),
        position_after=(p.start_position + by(piece_end)).cast("int64"),
    )


def playback_hours(
    stretches: ir.Table,
    sessions: ir.Table,
    users: ir.Table,
    offsets: ir.Table,
    max_pieces: int,
) -> ir.Table:
    """``fact_playback_hour``: each session's seconds by UTC hour and by the viewer's local hour.

    ``stretches`` is :func:`playback_stretches` of the events (stored once by the build). Pieces
    (:func:`split_stretches`) take the viewer's home time zone from ``dim_user`` and its
    UTC offset at the piece's start (:func:`calendar.with_local_time`); a viewer whose zone is
    unknown keeps UTC. The session's keys (user, version of the title at its start, device)
    come from ``fact_playback_session``.
    """
    pieces = split_stretches(stretches, max_pieces)
    zone = sessions.select(_sid="session_id", _uid="user_id").join(
        users.select(_uid="user_id", time_zone="time_zone"), "_uid"
    )
    pieces = pieces.join(zone, pieces.session_id == zone._sid).drop("_sid", "_uid")
    pieces = calendar.with_local_time(pieces, "piece_start", "time_zone", offsets)
    local = pieces.piece_start_local
    hourly = pieces.group_by(
        "session_id",
        date_key=date_key(pieces.piece_start),
        hour=pieces.piece_start.hour().cast("int64"),
        local_date_key=date_key(local),
        local_hour=local.hour().cast("int64"),
    ).agg(
        played_seconds=pieces.played_seconds.sum().cast("int64"),
        furthest_position_seconds=pieces.position_after.max(),
    )
    # a piece can get 0 seconds (a stretch that barely touches an hour): keep hours of play
    hourly = hourly.filter(hourly.played_seconds > 0)
    keys = sessions.select(
        _sid="session_id",
        user_id="user_id",
        content_id="content_id",
        content_sk="content_sk",
        device_id="device_id",
        is_recommended="is_recommended",
    )
    out = hourly.join(keys, hourly.session_id == keys._sid)
    return out.select(schema.FACT_PLAYBACK_HOUR.column_names)


def max_pieces(stretches: ir.Table) -> int:
    """The most quarter hours any stretch of playback touches (at least one): a query, so pass
    a stored (staged) table."""
    s = stretches
    n = ((s.end_us - 1) // QUARTER_US - s.start_us // QUARTER_US + 1).max()
    return max(int(n.execute() or 1), 1)


def viewing_daily(hours: ir.Table, content: ir.Table) -> ir.Table:
    """``mart.viewing_daily``, the brief's ``viewing_fact``: one row per UTC day, user, title
    version and device with playback that day, from ``fact_playback_hour``.

    ``completion_percentage`` is the furthest position reached by playing that day over the
    duration; ``content_key`` is the version the session started on.
    """
    h = hours
    daily = h.group_by(
        "date_key",
        user_key=h.user_id,
        content_key=h.content_sk,
        device_key=h.device_id,
        content_id=h.content_id,
    ).agg(
        played_seconds=h.played_seconds.sum().cast("int64"),
        furthest_position_seconds=h.furthest_position_seconds.max(),
        is_recommended=h.is_recommended.any(),
        session_count=h.session_id.nunique().cast("int64"),
    )
    d = content.select(_sk="content_sk", _duration="duration_seconds")
    daily = daily.left_join(d, daily.content_key == d._sk)
    return daily.select(
        "date_key",
        "user_key",
        "content_key",
        "device_key",
        "content_id",
        "played_seconds",
        "furthest_position_seconds",
        completion_percentage=percent(daily.furthest_position_seconds, daily._duration),
        is_recommended=daily.is_recommended,
        session_count=daily.session_count,
    )


# ---------------------------------------------------------------------------------------------
# Quality events
# ---------------------------------------------------------------------------------------------
def split_quality_events(raw: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``negative_duration``: a stall or start-up shorter than zero (a client clock bug), not a
    fact. A quality event whose session is not among the playback sessions is still a real
    stall or start-up: it is loaded (its session id is a degenerate dimension)."""
    return split_valid(raw, {"negative_duration": lambda t: t.duration_ms < 0})


def quality_events(valid: ir.Table, sessions: ir.Table, content: ir.Table) -> ir.Table:
    """``fact_quality_event``: the brief's columns in integer units, the stream's span (from its
    playback session, or from its own quality events if the session is unknown) and the
    content version valid at the event."""
    span = sessions.select(_sid="session_id", _start="started_at", _end="ended_at")
    q = valid.left_join(span, valid.session_id == span._sid).drop("_sid")
    per_session = ibis.window(group_by="session_id")
    q = q.mutate(
        stream_start_time=q._start.fill_null(q.event_time.min().over(per_session)),
        stream_end_time=q._end.fill_null(q.event_time.max().over(per_session)),
    ).drop("_start", "_end")
    q = scd2.resolve_key(q, content, "content_id", "event_time", "content_sk")
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
        content_sk=q.content_sk,
        device_id=q.device_id,
        session_id=q.session_id,
        event_time=q.event_time,
        app_version=q.app_version,
        buffering_instances=is_rebuffer.cast("int64"),
        rebuffer_ms=ibis.ifelse(is_rebuffer, q.duration_ms, 0).cast("int64"),
        startup_ms=ibis.ifelse(
            q.event_type == "startup", q.duration_ms, ibis.null("int64")
        ).cast("int64"),
        average_bitrate=q.bitrate_kbps.cast("int64"),
        stream_start_time=q.stream_start_time,
        stream_end_time=q.stream_end_time,
        quality_change_type=change,
    )


def session_quality(quality: ir.Table) -> ir.Table:
    """Per session: app version, start-up, stalls and the time-weighted average bitrate.

    The bitrate of an event holds until the next quality event (or the end of the stream), so the
    average weights each bitrate by the milliseconds it was in effect: a ratio of two exact
    integer sums.
    """
    w = ibis.window(group_by="session_id", order_by=["event_time", "quality_event_id"])
    nxt = quality.event_time.lead().over(w).fill_null(quality.stream_end_time)
    q = quality.mutate(_held=ms_between(quality.event_time, nxt))
    agg = q.group_by("session_id").agg(
        app_version=q.app_version.max(),
        startup_ms=q.startup_ms.max(),
        rebuffer_count=q.buffering_instances.sum().cast("int64"),
        rebuffer_ms=q.rebuffer_ms.sum().cast("int64"),
        _weighted=(q.average_bitrate * q._held).sum(),
        _held=q._held.sum(),
        _plain=q.average_bitrate.mean(),
    )
    return agg.select(
        "session_id",
        "app_version",
        "startup_ms",
        "rebuffer_count",
        "rebuffer_ms",
        avg_bitrate_kbps=ibis.ifelse(
            agg._held > 0,
            agg._weighted.cast("float64") / agg._held.cast("float64"),
            agg._plain,
        ),
    )


def playback_sessions(
    basics: ir.Table, quality: ir.Table, content: ir.Table
) -> ir.Table:
    """``fact_playback_session``: session basics, the content version valid at its start, and
    its quality summary."""
    s = scd2.resolve_key(basics, content, "content_id", "started_at", "content_sk")
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
        event_count=s.event_count.cast("int64"),
        pause_count=s.pause_count,
        seek_count=s.seek_count,
        played_seconds=s.played_seconds,
        furthest_position_seconds=s.furthest_position_seconds,
        duration_seconds=s.duration_seconds,
        completion_percentage=s.completion_percentage,
        is_completed=s.is_completed,
        app_version=s.app_version,
        startup_ms=s.startup_ms,
        rebuffer_count=s.rebuffer_count.fill_null(0),
        rebuffer_ms=s.rebuffer_ms.fill_null(0),
        avg_bitrate_kbps=s.avg_bitrate_kbps,
    )


# ---------------------------------------------------------------------------------------------
# Recommendations
# ---------------------------------------------------------------------------------------------
def split_recommendations(raw: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``duplicate_impression``: the same user, title, algorithm and time as an earlier row."""
    copies = ibis.window(
        group_by=["user_id", "content_id", "algorithm", "shown_at"],
        order_by="rec_event_id",
    )
    tagged = raw.mutate(_copy=ibis.row_number().over(copies))
    valid, bad = split_valid(tagged, {"duplicate_impression": lambda t: t._copy > 0})
    return valid.drop("_copy"), bad.drop("_copy")


def recommendation_events(
    valid: ir.Table, sessions: ir.Table, content: ir.Table
) -> ir.Table:
    """``was_watched`` comes from the viewing log: a session that names this recommendation
    (``session_id``, -2 when none did). ``content_sk``: the version valid when it was shown."""
    started = sessions.filter(sessions.rec_event_id >= 0)
    started = started.group_by(_rid=started.rec_event_id).agg(
        _session=started.session_id.min()
    )
    r = valid.left_join(started, valid.rec_event_id == started._rid)
    r = scd2.resolve_key(r, content, "content_id", "shown_at", "content_sk")
    return r.select(
        "rec_event_id",
        date_key=date_key(r.shown_at),
        time_key=time_key(r.shown_at),
        user_id=r.user_id,
        content_id=r.content_id,
        content_sk=r.content_sk,
        recommendation_algorithm=r.algorithm,
        was_clicked=r.clicked_at.notnull(),
        was_watched=r._session.notnull(),
        rec_shown_time=r.shown_at,
        clicked_at=r.clicked_at,
        session_id=_na(r._session),
    )


# ---------------------------------------------------------------------------------------------
# Marts
# ---------------------------------------------------------------------------------------------
def content_daily(sessions: ir.Table) -> ir.Table:
    s = sessions
    return s.group_by(["date_key", "content_id"]).agg(
        sessions=s.count(),
        viewers=s.user_id.nunique(),
        played_seconds=s.played_seconds.sum().cast("int64"),
        completions=s.is_completed.cast("int64").sum(),
    )


def quality_daily(sessions: ir.Table, device: ir.Table) -> ir.Table:
    d = device.select(_did="device_id", device_type="device_type", os="os")
    s = sessions.join(d, sessions.device_id == d._did)
    s = s.mutate(app_version=s.app_version.fill_null("Unknown"))
    return s.group_by(["date_key", "device_type", "os", "app_version"]).agg(
        sessions=s.count(),
        played_seconds=s.played_seconds.sum().cast("int64"),
        rebuffer_ms=s.rebuffer_ms.sum().cast("int64"),
    )


def _quarantine_rows(bad: ir.Table, source: str, id_col: str, detail) -> ir.Table:
    """Quarantine rows of one source: ``bad`` has ``reason``, ``event_date`` (the day the record
    belongs to: its session's start, an impression's day, a change's day) and ``landing_date``."""
    return bad.select(
        source=ibis.literal(source),
        record_id=bad[id_col].cast("int64"),
        reason=bad.reason,
        session_id=bad.session_id.cast("int64")
        if "session_id" in bad.columns
        else ibis.null("int64"),
        detail=detail(bad).cast("string"),
        event_date=bad.event_date.cast("date"),
        landing_date=bad[LANDING].cast("date"),
    )


def _stage_split(ctx: pipeline.Context, name: str, split: tuple[ir.Table, ir.Table]):
    """Store valid and quarantined rows once (a ``reason`` column, null when valid), so the
    windows that classify them run once, then return the two halves."""
    valid, bad = split
    tagged = valid.mutate(reason=ibis.null("string")).union(bad, distinct=False)
    stored = ctx.stage(name, tagged)
    return stored.filter(stored.reason.isnull()).drop("reason"), stored.filter(
        stored.reason.notnull()
    )


#: DuckDB may use this much memory during the build; beyond it, it spills to disk.
BUILD_MEMORY_LIMIT = "600MB"


def _release_memory() -> None:
    """Hand freed memory back to the system before DuckDB's turn: Arrow's pool keeps freed
    buffers, and glibc keeps freed numpy arrays in its heap once they were large."""
    pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


# --------------------------------------------------------------------------------------------
# the load: the steps of the pipeline (datamodeling.pipeline runs them, for one day or a range)
# --------------------------------------------------------------------------------------------
#
# The event day of a record: a player or quality event belongs to the UTC day its session
# started (its earliest event), so a session that plays past midnight stays whole; an
# impression to the day it was shown; a CMS change to the day it was made. A load recomputes
# the sessions of the window's event days, whatever day their events landed on.

LANDING = landing.LANDING
#: Record key of each source of the landing zone: the order of the rows in a day's file.
KEYS = {
    "users": ["user_id"],
    "devices": ["device_id"],
    "genres": ["genre_id"],
    "creators": ["creator_id"],
    "content_changes": ["change_seq"],
    "viewing_events": ["event_id"],
    "recommendation_events": ["rec_event_id"],
    "quality_events": ["quality_event_id"],
}
assert list(KEYS) == [t.name for t in schema.RAW_TABLES]
SESSION_LOGS = ("viewing_events", "quality_events")
LOGS = ("viewing_events", "recommendation_events", "quality_events")
#: A click starts its session within minutes of the impression: a session of day D names an
#: impression shown on day D or D - 1, so a load recomputes the impressions of one more day.
REC_MARGIN = dt.timedelta(days=1)
#: A session lasts less than a day: its hours of playback fall on its start day or the next.
HOUR_MARGIN = dt.timedelta(days=1)


def init(ctx: pipeline.Context) -> None:
    """A new warehouse: every table empty with its declared columns, and the time dimension."""
    ctx.backend.create_database("mart")
    for decl in TABLES:
        ctx.create(decl.name, pipeline.empty(decl), decl.database)
    seconds = ibis.memtable(calendar.time_dimension("second"))
    ctx.create("dim_time", schema.DIM_TIME.with_special_members(seconds))


def _inferred(ctx: pipeline.Context, table: str, key: str) -> ir.Table:
    """The keys of ``table``'s inferred members so far (staged: the table is replaced next)."""
    t = ctx.table(table)
    return ctx.stage(
        f"inferred_{table}",
        t.filter(t.is_inferred & (t[key] >= 0)).select(t[key].cast("int64").name(key)),
    )


def step_dimensions(ctx: pipeline.Context) -> None:
    """Users, devices, genres and creators as of their last extract, with an inferred member for
    every key a log names and the extract lacks (those named before and those in the window's
    logs); the content versions from the CMS change log and the genre bridge."""
    logs = {name: ctx.landed(name) for name in LOGS}
    seen = seen_keys("user_id", *logs.values(), _inferred(ctx, "dim_user", "user_id"))
    users = pipeline.latest(ctx.raw("users"), "user_id")
    ctx.create("dim_user", type1_dimension(schema.DIM_USER, users, seen))
    device_logs = [logs[name] for name in SESSION_LOGS]
    seen = seen_keys(
        "device_id", *device_logs, _inferred(ctx, "dim_device", "device_id")
    )
    ctx.create(
        "dim_device",
        device_dimension(pipeline.latest(ctx.raw("devices"), "device_id"), seen),
    )
    genres = pipeline.latest(ctx.raw("genres"), "genre_id")
    ctx.create("dim_genre", type1_dimension(schema.DIM_GENRE, genres))
    creators = pipeline.latest(ctx.raw("creators"), "creator_id")
    ctx.create("dim_creator", type1_dimension(schema.DIM_CREATOR, creators))
    # The CMS log is small (a few records per title): the versions are replayed from all of it,
    # which equals a merge of the window's changes with the log as history (scd2.merge_scd2).
    seen = seen_keys(
        "content_id", *logs.values(), _inferred(ctx, "dim_content", "content_id")
    )
    versions = content_versions(ctx.raw("content_changes").drop(LANDING))
    content = ctx.create("dim_content", content_dimension(versions, seen))
    ctx.create("bridge_title_genre", title_genre_bridge(content))


def step_sessions(ctx: pipeline.Context) -> None:
    """Each session with a record landed since the window's first event day, with its event day
    (the day of its earliest event, from every record of it landed so far); the window's ones."""
    w = ctx.window
    parts = [
        ctx.raw(name).select("session_id", "event_time", LANDING)
        for name in SESSION_LOGS
    ]
    rows = parts[0].union(parts[1], distinct=False)
    recent = rows.filter(rows[LANDING] >= ibis.date(w.first_event_day))
    recent = recent.select("session_id").distinct()
    mine = rows.semi_join(recent, "session_id")
    days = ctx.stage(
        "session_days",
        mine.group_by("session_id").agg(event_date=mine.event_time.min().date()),
    )
    ctx.stage("window_sessions", days.filter(w.event_days(days.event_date)))


def _session_records(ctx: pipeline.Context, source: str) -> ir.Table:
    """The accepted records of the window's sessions, with their ``event_date``."""
    t = ctx.raw(source)
    t = t.filter(t[LANDING] >= ibis.date(ctx.window.first_event_day))
    t = t.join(ctx.table("window_sessions", "stage"), "session_id")
    return ctx.accepted(t, "event_date")


def _in_window_sessions(ctx: pipeline.Context):
    sessions = ctx.table("window_sessions", "stage")
    return lambda t: t.session_id.isin(sessions.session_id)


def step_facts(ctx: pipeline.Context) -> None:
    """Viewing events, quality events and playback sessions of the window's sessions, replaced."""
    content = ctx.table("dim_content")
    in_window = _in_window_sessions(ctx)
    classified = ctx.stage(
        "viewing_split",
        classify_viewing_events(_session_records(ctx, "viewing_events"), content),
    )
    events = ctx.stage("fact_viewing_event", viewing_events(classified, content))
    ctx.replace("fact_viewing_event", events, in_window)
    basics = ctx.stage("session_basics", session_basics(events))
    q_ok, _ = _stage_split(
        ctx,
        "quality_split",
        split_quality_events(_session_records(ctx, "quality_events")),
    )
    quality = ctx.stage("fact_quality_event", quality_events(q_ok, basics, content))
    ctx.replace("fact_quality_event", quality, in_window)
    sessions = ctx.stage(
        "fact_playback_session", playback_sessions(basics, quality, content)
    )
    ctx.replace("fact_playback_session", sessions, in_window)


def step_hours(ctx: pipeline.Context) -> None:
    """Playback by UTC and local hour of the window's sessions, and the daily mart of the days
    their hours fall on."""
    w = ctx.window
    users = ctx.table("dim_user")
    zones = users.filter(users.user_id >= 0).select("time_zone").distinct()
    zones = [z for z in zones.to_pyarrow()["time_zone"].to_pylist() if z is not None]
    # offsets around the window's playback: local clocks are within a day of UTC
    lo = np.datetime64(w.first_event_day, "D") - np.timedelta64(2, "D")
    hi = np.datetime64(w.day_to, "D") + np.timedelta64(3, "D")
    offsets = ctx.stage("utc_offsets", calendar.utc_offsets(zones or ["UTC"], lo, hi))
    events = ctx.table("fact_viewing_event", "stage")
    sessions = ctx.table("fact_playback_session", "stage")
    stretches = ctx.stage("stretches", playback_stretches(events))
    hours = ctx.stage(
        "fact_playback_hour",
        playback_hours(stretches, sessions, users, offsets, max_pieces(stretches)),
    )
    ctx.replace("fact_playback_hour", hours, _in_window_sessions(ctx))
    first, last = w.first_key, pipeline.date_key(w.day_to + HOUR_MARGIN)
    h = ctx.table("fact_playback_hour")
    h = h.filter(h.date_key.between(first, last))
    ctx.replace(
        "viewing_daily",
        viewing_daily(h, ctx.table("dim_content")),
        lambda t: t.date_key.between(first, last),
        "mart",
    )


def step_recommendations(ctx: pipeline.Context) -> None:
    """Impressions of the window's days and the day before (a session of the window may name
    one shown the evening before), with ``was_watched`` from every session."""
    w = ctx.window
    first = w.first_event_day - REC_MARGIN
    r = ctx.raw("recommendation_events")
    r = r.filter(r[LANDING] >= ibis.date(first))
    r = r.mutate(event_date=r.shown_at.date())
    r = r.filter(r.event_date.between(ibis.date(first), ibis.date(w.day_to)))
    r_ok, _ = _stage_split(
        ctx,
        "recommendation_split",
        split_recommendations(ctx.accepted(r, "event_date")),
    )
    s = ctx.table("fact_playback_session")
    s = s.filter(s.date_key >= pipeline.date_key(first))
    lo, hi = pipeline.date_key(first), w.last_key
    ctx.replace(
        "fact_recommendation_event",
        recommendation_events(r_ok, s, ctx.table("dim_content")),
        lambda t: t.date_key.between(lo, hi),
    )


def step_quarantine(ctx: pipeline.Context) -> None:
    """The rows set aside: CMS records that start no version, the window's duplicate and
    orphan events, stalls of negative length and repeated impressions, and every record landed
    in the window later than the lookback (with its event and landing days)."""
    w = ctx.window
    changes = classify_content_changes(ctx.raw("content_changes"))
    changes = changes.filter(changes.reason.notnull())
    changes = changes.mutate(event_date=changes.changed_at.date())
    split = {
        name: ctx.table(f"{name}_split", "stage")
        for name in ("viewing", "quality", "recommendation")
    }
    bad = {name: t.filter(t.reason.notnull()) for name, t in split.items()}
    days = ctx.table("session_days", "stage")

    def late(source: str) -> ir.Table:
        t = ctx.landed(source)
        if source in SESSION_LOGS:
            t = t.join(days, "session_id")
        else:
            t = t.mutate(event_date=t.shown_at.date())
        return ctx.too_late(t, "event_date").mutate(reason=ibis.literal(pipeline.LATE))

    def viewing_detail(t):
        return t.action_type.concat(" at position ", t.position_seconds.cast("string"))

    def quality_detail(t):
        return t.event_type.concat(" of ", t.duration_ms.cast("string"), " ms")

    def rec_detail(t):
        return t.algorithm.concat(" for content ", t.content_id.cast("string"))

    parts = [
        _quarantine_rows(changes, "content_changes", "change_seq",
                         lambda t: ibis.literal("content ").concat(t.content_id.cast("string"))),
        _quarantine_rows(bad["viewing"], "viewing_events", "event_id", viewing_detail),
        _quarantine_rows(late("viewing_events"), "viewing_events", "event_id", viewing_detail),
        _quarantine_rows(bad["quality"], "quality_events", "quality_event_id", quality_detail),
        _quarantine_rows(late("quality_events"), "quality_events", "quality_event_id",
                         quality_detail),
        _quarantine_rows(bad["recommendation"], "recommendation_events", "rec_event_id",
                         rec_detail),
        _quarantine_rows(late("recommendation_events"), "recommendation_events",
                         "rec_event_id", rec_detail),
    ]  # fmt: skip
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.union(part, distinct=False)
    rows = ctx.stage("quarantine", rows.cast(schema.QUARANTINE.ibis_schema()))
    rec_first = w.first_event_day - REC_MARGIN

    def replaced(q):
        kept_reason = q.reason != pipeline.LATE
        return (
            (q.source == "content_changes")
            | (
                kept_reason
                & q.source.isin(list(SESSION_LOGS))
                & w.event_days(q.event_date)
            )
            | (
                kept_reason
                & (q.source == "recommendation_events")
                & q.event_date.between(ibis.date(rec_first), ibis.date(w.day_to))
            )
            | ((q.reason == pipeline.LATE) & w.landed(q.landing_date))
        )

    ctx.replace("quarantine", rows, replaced)


def step_marts(ctx: pipeline.Context) -> None:
    """The daily marts of the window's days (by the day sessions started)."""
    w = ctx.window
    s = ctx.table("fact_playback_session")
    s = s.filter(w.event_keys(s.date_key))
    ctx.replace(
        "content_daily",
        content_daily(s),
        lambda t: w.event_keys(t.date_key),
        "mart",
    )
    ctx.replace(
        "quality_daily",
        quality_daily(s, ctx.table("dim_device")),
        lambda t: w.event_keys(t.date_key),
        "mart",
    )


def brief_views(table) -> dict[str, ir.Table]:
    """The brief's tables as Ibis expressions over the model (:data:`schema.BRIEF_VIEWS` in
    SQL): ``table(name, database=None)`` returns a warehouse table."""
    views = {
        name: table(f"dim_{name}")
        for name in ("user", "device", "date", "time", "genre", "creator", "content")
    }
    e = table("fact_viewing_event")
    views["viewing_event"] = e.select(
        "event_id", "date_key", "time_key", "user_id", "content_id", "device_id",
        "session_id", "event_time", viewing_duration=e.played_seconds,
        action_type=e.action_type, position_seconds=e.position_seconds,
        duration_seconds=e.duration_seconds, is_recommended=e.is_recommended,
        completion_percentage=e.completion_percentage,
    )  # fmt: skip
    d = table("viewing_daily", "mart")
    views["viewing_fact"] = d.select(
        "date_key", time_key=ibis.literal(NA, type="int32"), user_key=d.user_key,
        content_key=d.content_key, device_key=d.device_key,
        viewing_duration=d.played_seconds, completion_percentage=d.completion_percentage,
        is_recommended=d.is_recommended,
    )  # fmt: skip
    views["recommendation_event"] = table("fact_recommendation_event").select(
        "rec_event_id", "date_key", "user_id", "content_id", "recommendation_algorithm",
        "was_clicked", "was_watched", "rec_shown_time",
    )  # fmt: skip
    views["streaming_quality_event"] = table("fact_quality_event").select(
        "quality_event_id", "date_key", "time_key", "user_id", "content_id", "device_id",
        "buffering_instances", "average_bitrate", "stream_start_time", "stream_end_time",
        "quality_change_type",
    )  # fmt: skip
    assert set(views) == set(schema.BRIEF_VIEWS)
    return views


def step_calendar(ctx: pipeline.Context) -> None:
    """The date dimension over every day the facts name (and the window's first day), and the
    brief's views."""
    hours = ctx.table("fact_playback_hour")
    keys = [
        hours.select(k=hours.date_key),
        hours.select(k=hours.local_date_key),
        *(
            ctx.table(name).select(k="date_key")
            for name in (
                "fact_viewing_event",
                "fact_recommendation_event",
                "fact_quality_event",
            )
        ),
    ]
    every = keys[0]
    for part in keys[1:]:
        every = every.union(part, distinct=False)
    span = every.agg(lo=every.k.min(), hi=every.k.max()).to_pyarrow().to_pylist()[0]
    if span["lo"] is not None:
        first = min(int(span["lo"]), int(str(gen.START)[:10].replace("-", "")))
        last = int(span["hi"])
        days = calendar.date_dimension(
            f"{first // 10000}-{first // 100 % 100:02d}-{first % 100:02d}",
            f"{last // 10000}-{last // 100 % 100:02d}-{last % 100:02d}",
        )
        ctx.create(
            "dim_date", schema.DIM_DATE.with_special_members(ibis.memtable(days))
        )
    for name, expr in brief_views(ctx.table).items():
        ctx.backend.create_view(name, expr)


def report(ctx: pipeline.Context, report: BuildReport) -> None:
    """Per source: rows landed = rows loaded + rows quarantined; rows per table."""
    q = ctx.table("quarantine")
    per_source = q.group_by("source").aggregate(n=q.count()).to_pyarrow().to_pylist()
    quarantined = {r["source"]: int(r["n"]) for r in per_source}

    def extract_rows(name: str) -> ir.Table:
        """Rows of a dimension that came from its source: not reserved, not inferred."""
        t = ctx.table(name)
        key = t[t.columns[0]]
        return t.filter((key >= 0) & ~t.is_inferred)

    content = ctx.table("dim_content")
    loaded = {
        "users": extract_rows("dim_user"),
        "devices": extract_rows("dim_device"),
        "genres": ctx.table("dim_genre").filter(lambda t: t.genre_id >= 0),
        "creators": ctx.table("dim_creator").filter(lambda t: t.creator_id >= 0),
        "content_changes": content.filter(
            (content.content_id >= 0) & ~content.is_inferred
        ),
        "viewing_events": ctx.table("fact_viewing_event"),
        "quality_events": ctx.table("fact_quality_event"),
        "recommendation_events": ctx.table("fact_recommendation_event"),
    }
    counts = pipeline.count_rows(
        {
            **{f"in {name}": ctx.raw(name) for name in KEYS},
            **{f"loaded {name}": t for name, t in loaded.items()},
            **{d.qualified_name: ctx.table(d.name, d.database) for d in TABLES},
        }
    )
    for name in KEYS:
        report.add_source(
            name,
            counts[f"in {name}"],
            counts[f"loaded {name}"],
            quarantined.get(name, 0),
        )
    report.tables.clear()
    for decl in TABLES:
        report.tables[decl.qualified_name] = counts[decl.qualified_name]


PIPELINE = pipeline.Pipeline(
    practice="streaming",
    keys=KEYS,
    steps=[
        pipeline.Step(
            "dimensions",
            step_dimensions,
            "dimensions, with reserved and inferred members",
        ),
        pipeline.Step("sessions", step_sessions, "the sessions of the window's days"),
        pipeline.Step(
            "facts", step_facts, "viewing events, quality events, playback sessions"
        ),
        pipeline.Step("hours", step_hours, "playback by hour, UTC and local"),
        pipeline.Step("recommendations", step_recommendations, "recommendations"),
        pipeline.Step("quarantine", step_quarantine, "quarantine"),
        pipeline.Step("marts", step_marts, "marts of the window's days"),
        pipeline.Step(
            "calendar", step_calendar, "date dimension and the brief's views"
        ),
    ],
    init=init,
    report=report,
)


def write_landing(
    root, scale=None, seed=None, workers: int | None = None, progress=None
) -> dict:
    """Generate the raw data and write it as the landing zone at ``root``; return its
    manifest."""
    start = BuildReport.start("streaming", scale, seed)
    say = progress or (lambda message: None)
    manifest = {
        "practice": "streaming",
        "scale_rows": start.scale_rows,
        "seed": start.seed,
    }
    with landing.LandingWriter(
        root, KEYS, workers=workers, manifest=manifest
    ) as writer:
        for source, piece in gen.landed_parts(start.scale_rows, start.seed):
            say(f"landing zone: {piece.num_rows:,} rows of {source}")
            writer.add(source, piece)
    return landing.read_manifest(root)


def build(
    con,
    scale=None,
    seed=None,
    progress=None,
    *,
    landing_root=None,
    lookback_days: int = pipeline.DEFAULT_LOOKBACK_DAYS,
) -> BuildReport:
    """Generate the streaming platform's raw data and load every day of it into ``con``.

    With ``landing_root`` the raw data is written there first, as the landing zone (Parquet by
    source and day), and read back day by day as a nightly load would. Without it the same rows
    stay in memory (the fast path of the book's small warehouse): the load is the same. DuckDB
    runs with :data:`BUILD_MEMORY_LIMIT` (a memory cap; it spills beyond).
    """
    report, raw = pipeline.raw_for_build(
        "streaming",
        scale,
        seed,
        gen.generate_landed,
        write_landing,
        landing_root=landing_root,
        progress=progress,
        what="playback sessions",
    )
    say = progress or (lambda message: None)
    _release_memory()  # the generator's temporaries
    pipeline.build(
        con,
        PIPELINE,
        raw,
        lookback_days=lookback_days,
        progress=progress,
        report=report,
        memory_limit=BUILD_MEMORY_LIMIT,
    )
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
    )


def fixture_landing_dates(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """Raw tables (without landing dates) as if each record landed on its event's day: events
    and impressions on their own day, CMS changes on theirs (the earlier ones with the first
    extract), the extracts on the first day of any event."""
    import pyarrow.compute as pc

    def day(t: pa.Table, column: str) -> pa.Array:
        return pc.cast(t[column], pa.date32())

    timed = {
        "viewing_events": "event_time",
        "quality_events": "event_time",
        "recommendation_events": "shown_at",
    }
    firsts = [
        pc.min(day(tables[name], column)).as_py()
        for name, column in timed.items()
        if tables[name].num_rows
    ]
    first = min(firsts) if firsts else dt.date(2025, 1, 1)
    out = {}
    for name, t in tables.items():
        if name in timed:
            days = day(t, timed[name])
        elif name == "content_changes":
            days = pc.max_element_wise(
                day(t, "changed_at"), pa.scalar(first, pa.date32())
            )
        else:
            days = pa.array([first] * t.num_rows, pa.date32())
        out[name] = t.append_column(LANDING, days)
    return out


def build_from_raw(con, tables: dict[str, pa.Table], progress=None) -> BuildReport:
    """Load the given raw tables (name → Arrow table, one for every source of
    :data:`schema.RAW_TABLES`, cast to its declared types) and build the model from them with
    the same pipeline as :func:`build`, each record landing on its event's day
    (:func:`fixture_landing_dates`). The tests feed it hand-made fixtures with known answers."""
    report = BuildReport.start("streaming", 1, 0)
    raw = {}
    for decl in schema.RAW_TABLES:
        arrow_schema = pa.schema(
            [
                pa.field(c.name, c.ibis_type.copy(nullable=True).to_pyarrow())
                for c in decl.columns
            ]
        )
        raw[decl.name] = tables[decl.name].select(decl.column_names).cast(arrow_schema)
    layer = pipeline.MemoryLayer(fixture_landing_dates(raw))
    return pipeline.build(con, PIPELINE, layer, progress=progress, report=report)
