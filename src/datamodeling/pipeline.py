"""Incremental, idempotent daily loads: one runner, the same for every practice.

A practice declares its raw sources (each with its record key) and its steps, in order: the
day's raw partitions are staged, then dimensions, facts and marts are brought up to date. Each
step is a function of a :class:`Context`: the warehouse's tables, the day window of the load, and
the write operations of its engine (:mod:`datamodeling.backends`). The runner, :func:`load`, owns
the rules, so no practice re-implements them:

* **Landing window.** ``load(day_from, day_to)`` reads the records that *landed* on those days
  (the ``date=`` partitions of the landing zone, :mod:`datamodeling.landing`) into the
  warehouse's ``raw`` schema, replacing whatever those days held before.
* **Lookback.** A fact record belongs to an *event day* (the day its entity started: a trip's
  request, a session's first event). A record whose landing date is more than ``lookback_days``
  after its event day is **later than the lookback**: it is not loaded but quarantined with that
  reason. The rule is per record, so it gives the same answer however the days are batched. The
  backfill that loads it re-opens its event day with a lookback long enough:
  ``datamodeling load PRACTICE --day LANDED --lookback DAYS`` (:func:`backfill_command`).
* **Replace, never append.** The fact rows of the event days ``[day_from - lookback, day_to]``
  are deleted and recomputed from every accepted raw record of those days that has landed so
  far. So loading a day twice changes nothing, and loading the days one by one gives the same
  warehouse as loading the range at once.
* **Build = load every day.** :func:`build` loads the whole landing zone, as one range, into an
  empty warehouse.
* **One transaction.** On DuckDB a load commits whole or not at all. On Spark the runner loads
  into a copy of the warehouse directory and swaps it in when the load is done.

The lookback each landing day was loaded with is kept in ``_loaded_days``, so a later load
re-derives which records were accepted without a second table of decisions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from datamodeling import landing
from datamodeling.backends import STAGE, Backend, backend_for
from datamodeling.registry import BuildReport
from datamodeling.warehouse import duckdb_settings

#: The default lookback (days): how long after its event day a record is still loaded. It covers
#: every delay the book's sources plant (a phone that holds events back for up to 44 hours), so
#: the default build quarantines nothing for lateness; a shorter one shows what happens.
DEFAULT_LOOKBACK_DAYS = 3
LATE = "later than the lookback"
LOADED_DAYS = "_loaded_days"
RAW = "raw"
EPOCH = dt.date(1970, 1, 1)


class LoadError(RuntimeError):
    """A load that cannot run: no landing zone, a window outside it, a bad lookback."""


def as_date(day) -> dt.date:
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    try:
        return dt.date.fromisoformat(str(day))
    except ValueError:
        raise LoadError(f"not a day: {day!r} (use YYYY-MM-DD)") from None


def date_key(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def day_number(value: ir.DateValue) -> ir.IntegerValue:
    """Days since 1970-01-01 of a date expression (portable: DuckDB and Spark)."""
    return (value - ibis.date(EPOCH)).cast("int64")


def backfill_command(practice: str, event_day, landed_day) -> str:
    """The command that loads a record quarantined as later than the lookback."""
    event_day, landed_day = as_date(event_day), as_date(landed_day)
    days = (landed_day - event_day).days
    return f"datamodeling load {practice} --day {landed_day} --lookback {days}"


# ---------------------------------------------------------------------------------------------
# where raw rows come from: the landing zone on disk, or tables in memory
# ---------------------------------------------------------------------------------------------


class RawLayer:
    """A landing zone: per source, rows with their landing date, readable by day range."""

    sources: Sequence[str]

    def schema(self, source: str) -> pa.Schema:
        """The source's columns, ``landing_date`` last."""
        raise NotImplementedError

    def days(self) -> tuple[dt.date, dt.date]:
        """The first and last landing day of any source."""
        raise NotImplementedError

    def read(self, backend: Backend, source: str, first: dt.date, last: dt.date):
        """The rows landing in ``[first, last]`` as an Ibis table, or None when there are none."""
        raise NotImplementedError


class ParquetLayer(RawLayer):
    """The landing zone on disk (:mod:`datamodeling.landing`)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.manifest = landing.read_manifest(self.root)
        self.sources = list(self.manifest["sources"])

    def schema(self, source: str) -> pa.Schema:
        schema = pq.read_schema(landing.schema_file(self.root, source))
        return schema.append(pa.field(landing.LANDING, pa.date32()))

    def days(self) -> tuple[dt.date, dt.date]:
        firsts = [
            s["first_day"] for s in self.manifest["sources"].values() if s["first_day"]
        ]
        lasts = [
            s["last_day"] for s in self.manifest["sources"].values() if s["last_day"]
        ]
        return as_date(min(firsts)), as_date(max(lasts))

    def read(self, backend, source, first, last):
        found = landing.files(self.root, source, first, last)
        if not found:
            return None
        t = backend.read_parquet(found, landing.PARTITION)
        columns = [c for c in self.schema(source).names if c != landing.LANDING]
        return t.select(
            *columns, **{landing.LANDING: t[landing.PARTITION].cast("date")}
        ).cast(_ibis_schema(self.schema(source)))


class MemoryLayer(RawLayer):
    """Raw tables held in memory (each with its ``landing_date`` column): the fast path of a
    small build, which skips writing and reading thousands of tiny files."""

    def __init__(self, tables: Mapping[str, pa.Table]):
        self.tables = dict(tables)
        self.sources = list(self.tables)

    def schema(self, source: str) -> pa.Schema:
        return self.tables[source].schema

    def days(self) -> tuple[dt.date, dt.date]:
        import pyarrow.compute as pc

        lows = [
            pc.min(t[landing.LANDING]).as_py()
            for t in self.tables.values()
            if t.num_rows
        ]
        highs = [
            pc.max(t[landing.LANDING]).as_py()
            for t in self.tables.values()
            if t.num_rows
        ]
        return min(lows), max(highs)

    def read(self, backend, source, first, last):
        table = self.tables[source]
        if table.num_rows == 0:
            return None
        t = backend.from_arrow(
            f"_landing_{source}", table
        )  # zero-copy: registered, not copied
        return t.filter(t[landing.LANDING].between(ibis.date(first), ibis.date(last)))


def _ibis_schema(schema: pa.Schema) -> ibis.Schema:
    return ibis.Schema.from_pyarrow(schema)


# ---------------------------------------------------------------------------------------------
# the window of a load and the context its steps see
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The days a load works on.

    ``day_from``..``day_to``: the landing days read. ``first_event_day``..``day_to``: the event
    days whose fact rows are recomputed. ``high_water``: the last landing day in the warehouse
    after this load (later than ``day_to`` when an old day is loaded again).
    """

    day_from: dt.date
    day_to: dt.date
    lookback_days: int
    high_water: dt.date

    @property
    def first_event_day(self) -> dt.date:
        return self.day_from - dt.timedelta(days=self.lookback_days)

    @property
    def first_key(self) -> int:
        return date_key(self.first_event_day)

    @property
    def last_key(self) -> int:
        return date_key(self.day_to)

    def event_days(self, value: ir.DateValue) -> ir.BooleanValue:
        """True where a date expression is one of the event days recomputed."""
        return value.between(ibis.date(self.first_event_day), ibis.date(self.day_to))

    def event_keys(self, key: ir.IntegerValue) -> ir.BooleanValue:
        """True where a ``yyyymmdd`` key is one of the event days recomputed."""
        return key.between(self.first_key, self.last_key)

    def landed(self, value: ir.DateValue) -> ir.BooleanValue:
        return value.between(ibis.date(self.day_from), ibis.date(self.day_to))


@dataclass
class Context:
    """What a step sees: the warehouse (through its backend), the window, and shared state."""

    backend: Backend
    window: Window
    practice: str
    say: Callable[[str], None] = lambda message: None
    #: Steps hand results to later steps here (e.g. the days a correction touched).
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def con(self):
        return self.backend.con

    def table(self, name: str, database: str | None = None) -> ir.Table:
        return self.backend.table(name, database)

    def raw(self, source: str) -> ir.Table:
        """Every row of ``source`` landed so far (up to the high-water mark)."""
        return self.backend.table(source, RAW)

    def landed(self, source: str) -> ir.Table:
        """The rows of ``source`` that landed in this load's window."""
        t = self.raw(source)
        return t.filter(self.window.landed(t[landing.LANDING]))

    def stage(self, name: str, expr) -> ir.Table:
        return self.backend.stage(name, expr)

    def create(self, name: str, expr, database: str | None = None) -> ir.Table:
        return self.backend.create(name, expr, database)

    def replace(self, name: str, new, where, database: str | None = None) -> None:
        self.backend.replace(name, new, where, database)

    # -- the lookback rule -----------------------------------------------------------------
    def lookbacks(self) -> ir.Table:
        """``(landing_date, lookback_days)`` of every landing day loaded."""
        return self.backend.table(LOADED_DAYS)

    def lateness(self, records: ir.Table, event_day: str) -> ir.Table:
        """``records`` with ``_late_days`` (landing date - event day) and ``_lookback`` (the
        lookback their landing day was loaded with)."""
        lb = self.lookbacks().select(_landed=landing.LANDING, _lookback="lookback_days")
        r = records.join(lb, records[landing.LANDING] == lb._landed).drop("_landed")
        return r.mutate(
            _late_days=day_number(r[landing.LANDING]) - day_number(r[event_day])
        )

    def accepted(self, records: ir.Table, event_day: str) -> ir.Table:
        """The records within the lookback of their landing day (every column kept)."""
        r = self.lateness(records, event_day)
        return r.filter(r._late_days <= r._lookback).drop("_late_days", "_lookback")

    def too_late(self, records: ir.Table, event_day: str) -> ir.Table:
        """The records landing in this window that are later than the lookback."""
        r = self.lateness(records, event_day)
        r = r.filter(
            self.window.landed(r[landing.LANDING]) & (r._late_days > r._lookback)
        )
        return r.drop("_late_days", "_lookback")


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Context], None]
    #: What the step does, in a line (shown as progress).
    doc: str = ""


@dataclass(frozen=True)
class Pipeline:
    """A practice's load: its sources (with their record keys), its steps, and its report.

    ``init(ctx)`` creates the static and empty tables of a new warehouse; ``report(ctx)``
    returns the :class:`BuildReport` (rows per table, and per source rows in / loaded /
    quarantined) after a load.
    """

    practice: str
    keys: Mapping[str, Sequence[str]]
    steps: Sequence[Step]
    init: Callable[[Context], None]
    report: Callable[[Context, BuildReport], None]


def count_rows(tables: Mapping[str, ir.Table]) -> dict[str, int]:
    """Rows of each table, in one query (a report counts some thirty tables after each load)."""
    parts = [
        t.aggregate(n=t.count()).select(name=ibis.literal(name), n="n")
        for name, t in tables.items()
    ]
    query = parts[0]
    for part in parts[1:]:
        query = query.union(part, distinct=False)
    return {r["name"]: int(r["n"]) for r in query.to_pyarrow().to_pylist()}


# ---------------------------------------------------------------------------------------------
# the runner
# ---------------------------------------------------------------------------------------------


def loaded_days(backend: Backend) -> list[tuple[dt.date, int]]:
    """``(landing day, lookback)`` of every day loaded into the warehouse, in order."""
    if not backend.exists(LOADED_DAYS):
        return []
    t = backend.table(LOADED_DAYS).order_by(landing.LANDING).to_pyarrow().to_pylist()
    return [(as_date(r[landing.LANDING]), int(r["lookback_days"])) for r in t]


def _create_raw(backend: Backend, raw: RawLayer, source: str) -> None:
    empty = raw.schema(source).empty_table()
    backend.create(source, empty, RAW)


def load(
    con_or_backend,
    pipeline: Pipeline,
    raw: RawLayer,
    day_from,
    day_to=None,
    *,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    progress: Callable[[str], None] | None = None,
    report: BuildReport | None = None,
    memory_limit: str | None = None,
    before_commit: Callable[[Backend, BuildReport], None] | None = None,
) -> BuildReport:
    """Load the records that landed from ``day_from`` to ``day_to`` (both included).

    An empty warehouse is initialised first. Returns the report of the warehouse after the load.
    See the module's docstring for the rules. ``memory_limit`` caps DuckDB's memory for the load
    (it spills to disk beyond it; default: :func:`default_memory_limit`). ``before_commit``
    runs inside the transaction once the report is made: raising there undoes the load.
    """
    backend = (
        con_or_backend
        if isinstance(con_or_backend, Backend)
        else backend_for(con_or_backend)
    )
    say = progress or (lambda message: None)
    day_from, day_to, lookback_days = check_window(raw, day_from, day_to, lookback_days)
    if (
        report is None
    ):  # the scale and seed the landing zone was generated with, if it says
        info = getattr(raw, "manifest", {})
        report = BuildReport.start(
            pipeline.practice, info.get("scale_rows"), info.get("seed")
        )
    settings = {}
    if backend.name == "duckdb":
        settings["memory_limit"] = memory_limit or default_memory_limit()
        # a table has no row order: without this, DuckDB writes many inserts on one thread
        settings["preserve_insertion_order"] = "false"
    with duckdb_settings(backend.con, **settings):
        return _load(
            backend,
            pipeline,
            raw,
            day_from,
            day_to,
            lookback_days,
            say,
            report,
            before_commit,
        )


def check_window(
    raw: RawLayer, day_from, day_to=None, lookback_days: int = DEFAULT_LOOKBACK_DAYS
) -> tuple[dt.date, dt.date, int]:
    """The days and lookback of a load, checked (:class:`LoadError` says what is wrong) before
    anything is read or written: ``(day_from, day_to, lookback_days)``."""
    day_from = as_date(day_from)
    day_to = as_date(day_to) if day_to is not None else day_from
    if day_to < day_from:
        raise LoadError(f"--to {day_to} is before --from {day_from}")
    if int(lookback_days) != lookback_days or lookback_days < 0:
        raise LoadError(
            f"the lookback must be a whole number of days >= 0, not {lookback_days}"
        )
    first, last = raw.days()
    if day_to < first or day_from > last:
        raise LoadError(
            f"nothing landed from {day_from} to {day_to}: the landing zone holds {first} to {last}"
        )
    return day_from, day_to, int(lookback_days)


def default_memory_limit() -> str:
    """DuckDB's memory cap for a load: 2.5 GB, or 60 % of the machine's memory if that is less
    (DuckDB's own default, 80 %, would let a large build take the machine)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return "2.5GB"
    return f"{min(2.5, 0.6 * total / 2**30):.1f}GB"


def _load(
    backend, pipeline, raw, day_from, day_to, lookback_days, say, report, before_commit
) -> BuildReport:
    backend.begin()
    try:
        known = loaded_days(backend)
        high_water = max([day_to, *(d for d, _ in known)])
        window = Window(day_from, day_to, lookback_days, high_water)
        ctx = Context(backend, window, pipeline.practice, say)
        if not known and not backend.exists(LOADED_DAYS):
            say("a new warehouse: static tables and empty ones")
            backend.create_database(RAW)
            for source in pipeline.keys:
                _create_raw(backend, raw, source)
            pipeline.init(ctx)
            backend.create(
                LOADED_DAYS,
                pa.table(
                    {
                        landing.LANDING: pa.array([], pa.date32()),
                        "lookback_days": pa.array([], pa.int64()),
                    }
                ),
            )
        backend.create_database(STAGE)
        say(
            f"staging what landed from {day_from} to {day_to} (lookback {lookback_days} days)"
        )
        for source in pipeline.keys:
            rows = raw.read(backend, source, day_from, day_to)
            if rows is not None:
                rows = backend.stage(f"_landed_{source}", rows)
            ctx.replace(
                source,
                rows,
                lambda t: ctx.window.landed(t[landing.LANDING]),
                RAW,
            )
        days = pa.table(
            {
                landing.LANDING: pa.array(
                    list(landing.day_range(day_from, day_to)), pa.date32()
                ),
                "lookback_days": pa.array(
                    [lookback_days] * ((day_to - day_from).days + 1), pa.int64()
                ),
            }
        )
        ctx.replace(
            LOADED_DAYS,
            backend.stage("_days", days),
            lambda t: ctx.window.landed(t[landing.LANDING]),
        )
        for step in pipeline.steps:
            say(step.doc or step.name)
            step.run(ctx)
        backend.drop_stage()
        say("reconciling")
        pipeline.report(ctx, report)
        if before_commit is not None:
            before_commit(backend, report)
        backend.commit()
    except BaseException:
        backend.rollback()
        raise
    return report


def build(
    con_or_backend,
    pipeline: Pipeline,
    raw: RawLayer,
    *,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    progress=None,
    report: BuildReport | None = None,
    memory_limit: str | None = None,
) -> BuildReport:
    """An empty warehouse + every landing day, loaded as one range."""
    first, last = raw.days()
    return load(
        con_or_backend,
        pipeline,
        raw,
        first,
        last,
        lookback_days=lookback_days,
        progress=progress,
        report=report,
        memory_limit=memory_limit,
    )


def latest(t: ir.Table, key: str) -> ir.Table:
    """A reference extract as of its last delivery: per key, the row that landed last (type 1)."""
    w = ibis.window(group_by=key, order_by=ibis.desc(landing.LANDING))
    t = t.mutate(_n=ibis.row_number().over(w))
    return t.filter(t._n == 0).drop("_n", landing.LANDING)


def empty(decl) -> pa.Table:
    """No rows, the declared columns of ``decl`` (nullable: ``check_model`` checks the NOT NULL
    ones): a table of a new warehouse."""
    columns = {
        name: dtype.copy(nullable=True) for name, dtype in decl.ibis_schema().items()
    }
    return ibis.schema(columns).to_pyarrow().empty_table()


def raw_for_build(
    practice: str,
    scale,
    seed,
    generate: Callable[[int, int], Mapping[str, pa.Table]],
    write_landing: Callable[..., dict],
    *,
    landing_root=None,
    progress: Callable[[str], None] | None = None,
    what: str = "rows",
) -> tuple[BuildReport, RawLayer]:
    """The report of a new build of ``scale`` and ``seed`` and the raw layer it loads (each
    practice's ``build``): the landing zone written at ``landing_root`` and read back from its
    files, or without it the same rows held in memory (the fast path of a small warehouse).
    ``generate(rows, seed)`` gives the raw tables with their landing dates; ``what`` names the
    main-fact rows in the progress line."""
    report = BuildReport.start(practice, scale, seed)
    rows, seed = report.scale_rows, report.seed
    say = progress or (lambda message: None)
    say(f"generating about {rows:,} {what} (seed {seed})")
    if landing_root is not None:
        say(f"writing the landing zone {landing_root}")
        write_landing(landing_root, rows, seed, progress=progress)
        return report, ParquetLayer(landing_root)
    return report, MemoryLayer(generate(rows, seed))


def load_landing(
    con,
    pipeline: Pipeline,
    day_from,
    day_to=None,
    *,
    landing_root,
    lookback_days: int | None = None,
    progress: Callable[[str], None] | None = None,
    memory_limit: str | None = None,
) -> BuildReport:
    """Load the days ``day_from``..``day_to`` of the landing zone at ``landing_root`` (each
    practice's ``build.load``): the report carries the scale and seed the zone was made with."""
    raw = ParquetLayer(landing_root)
    info = raw.manifest
    report = BuildReport.start(
        pipeline.practice, info.get("scale_rows"), info.get("seed")
    )
    return load(
        con,
        pipeline,
        raw,
        day_from,
        day_to,
        lookback_days=DEFAULT_LOOKBACK_DAYS if lookback_days is None else lookback_days,
        progress=progress,
        report=report,
        memory_limit=memory_limit,
    )


def load_spark_directory(
    session_con,
    root: str | Path,
    run: Callable[[Backend], BuildReport],
    marker: Mapping[str, Mapping] | None = None,
    hold: Callable[[Path], contextlib.AbstractContextManager] | None = None,
) -> BuildReport:
    """Run a load on a Spark warehouse directory: into a copy, swapped in when it succeeds.

    ``root`` may not exist yet (a build). The copy is ``<root>.tmp-<pid>``; the old directory is
    removed only after the new one is in place. ``marker`` maps file names to JSON content
    written into the directory before the swap (what built it). ``hold(root)``, if given, wraps
    the two renames of the swap (the CLI holds a signal there, so ``root`` is never missing).
    """
    root = Path(root)
    tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    if root.exists():
        shutil.copytree(root, tmp)
    from datamodeling.backends import SparkBackend

    backend = SparkBackend(session_con, tmp)
    try:
        if root.exists():
            backend.open()
        report = run(backend)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for name, content in (marker or {}).items():
        (tmp / name).write_text(json.dumps(content, sort_keys=True) + "\n")
    old = root.with_name(f"{root.name}.old-{os.getpid()}")
    with hold(root) if hold is not None else contextlib.nullcontext():
        if root.exists():
            os.replace(root, old)
        os.replace(tmp, root)
        shutil.rmtree(old, ignore_errors=True)
    # the tables were registered at the temporary folder: register them where they now are
    SparkBackend(session_con, root).open()
    return report
