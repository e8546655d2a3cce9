"""Connections, paths, and builds that never lose or damage data.

Every transform in the book goes through Ibis, so the same code runs on DuckDB (the default, a
file or in memory) and on PySpark. Paths resolve through :func:`project_root`, so notebooks and
the CLI work from any working directory, and ``~`` is expanded everywhere (:func:`expand`).

:func:`build_database` writes a temporary file, verifies it and only then replaces the old
warehouse, and only a warehouse this tool built for the same practice. :func:`open_practice`
hands notebooks a read-only, locked connection (:mod:`datamodeling.safety`).

A practice that loads by day (its build module declares a ``PIPELINE``,
:mod:`datamodeling.pipeline`) keeps its landing zone beside the warehouse
(:func:`landing_root`): :func:`load_database` loads landing days into the warehouse in one
transaction, and :func:`build_spark` builds the same warehouse on Spark into a directory
(:func:`spark_dir`).
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import json
import logging
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis

from datamodeling import registry, safety, synth

#: The table every build writes last: practice, scale, seed, code fingerprint, and the row count
#: of every table it left (``objects``, JSON).
BUILD_INFO = "_build_info"

#: The build's peak disk use (the temporary file, its write-ahead log and DuckDB's spill files)
#: and peak memory as a straight line in the main-fact rows, per practice: (disk base bytes,
#: disk bytes per row, memory base bytes, memory bytes per row). Fitted through the small and
#: medium builds measured on the book's 2-core machine by ``benchmarks/scales.py`` (the
#: README's table of scales).
FOOTPRINT: dict[str, tuple[float, float, float, float]] = {
    # e-commerce, social and streaming as day-by-day pipelines (benchmarks/scales.py, a line
    # through small and medium; their generators hold every row, so large grows with it)
    "ecommerce": (6_175_347, 426, 456_149_953, 1_207),
    # ride-sharing (a day-by-day pipeline keeping its raw rows): disk through small and
    # medium; memory through medium (2.46 GB) and large (10.5 M rows: 3.54 GB,
    # benchmarks/pipeline.py): its generator hands rows over month by month
    "rideshare": (10_806_771, 1_033, 2_343_000_000, 119),
    "social": (-8_385_682, 1_888, 459_829_917, 2_209),
    "streaming": (-20_522_548, 2_862, 701_071_026, 1_977),
}
#: Slack on the disk estimate (a line through two measurements): the disk must hold this many
#: times the estimated peak, while the old warehouse still exists.
DISK_MARGIN = 1.25


class WarehousePathError(ValueError):
    """A database path that cannot be written, or a file the build refuses to replace."""


class NotAWarehouse(WarehousePathError):
    """A path that does not hold a warehouse this tool built; ``reason`` says what it holds."""

    def __init__(self, path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{shown(path)} is not a datamodeling warehouse: {reason}")


class ReconciliationError(RuntimeError):
    """A build lost rows: some source's rows in != rows loaded + rows quarantined."""


class BuildFailed(RuntimeError):
    """A build that failed on a fault (full disk, no memory, a file that does not verify).

    The message is one line and says that nothing was replaced.
    """


class PreflightError(RuntimeError):
    """A build refused before it started: the disk or the memory is short for its scale."""


class Interrupted(KeyboardInterrupt):
    """A build stopped by SIGINT or SIGTERM; its temporary files were removed.

    ``written`` is the warehouse's path when the signal came after the new file was already in
    place (the rename is never cut in two): then the new warehouse is complete.
    """

    def __init__(self, signum: int, written: Path | None = None):
        self.signum, self.written = signum, written
        super().__init__(str(self))

    @property
    def exit_code(self) -> int:
        return (
            128 + self.signum
        )  # 130 for SIGINT, 143 for SIGTERM, as shells report them

    def __str__(self) -> str:
        if self.written is not None:
            return f"interrupted; the new warehouse was already complete at {shown(self.written)}"
        return "interrupted; nothing was written"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def project_root() -> Path:
    """The repository root: ``$DATAMODELING_ROOT``, else the folder holding ``_toc.yml``.

    Searched upwards from the working directory, then from this file (an editable install).
    Falls back to the working directory when neither is inside the book's repository.
    """
    if env := os.environ.get("DATAMODELING_ROOT"):
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "_toc.yml").is_file() and (
                folder / "pyproject.toml"
            ).is_file():
                return folder
    return Path.cwd()


def data_dir() -> Path:
    return project_root() / "data"


def fixtures_dir() -> Path:
    return data_dir() / "fixtures"


def fixture(name: str) -> Path:
    """Path of a committed fixture file, e.g. ``fixture("customer_changes.csv")``."""
    path = fixtures_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"no fixture {name!r} in {fixtures_dir()}")
    return path


def connect(
    path: str | Path | None = None, *, read_only: bool = False, backend: str = "duckdb"
):
    """An Ibis connection: DuckDB in memory (``path=None``) or on a file, or a local PySpark."""
    if backend == "duckdb":
        if path is None:
            con = ibis.duckdb.connect()
            # An in-memory database spills into ./.tmp by default, a folder every process in
            # the same directory shares; two spilling builds there corrupt each other's files.
            spill = Path(tempfile.gettempdir()) / f"datamodeling-spill-{os.getpid()}"
            con.raw_sql(f"SET temp_directory = '{spill.as_posix()}'")
        else:
            con = ibis.duckdb.connect(os.fspath(expand(path)), read_only=read_only)
        # A query over two seconds would draw a progress bar into notebook outputs.
        con.raw_sql("PRAGMA disable_progress_bar")  # SET ... fails in a Jupyter kernel
        return con
    if backend == "pyspark":
        return _connect_pyspark()
    raise ValueError(f"unknown backend {backend!r}: choose duckdb or pyspark")


def _connect_pyspark():
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            "the pyspark backend needs the spark extra: pip install -e '.[spark]'"
        ) from exc
    os.environ.setdefault(
        "SPARK_LOCAL_IP", "127.0.0.1"
    )  # loopback only, no hostname lookup
    # Managed tables go to a fresh folder, so re-runs never collide with an old spark-warehouse/.
    tables_dir = tempfile.mkdtemp(prefix="datamodeling-spark-")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("datamodeling")
        .config("spark.sql.warehouse.dir", tables_dir)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        # Spark's default driver heap (1 GB) runs out collecting a million-row table to Arrow,
        # and a task-result thread that dies of it leaves the query waiting forever.
        .config(
            "spark.driver.memory", os.environ.get("DATAMODELING_SPARK_MEMORY", "2g")
        )
        .getOrCreate()
    )
    return ibis.pyspark.connect(session)


@contextmanager
def duckdb_settings(con, **settings) -> Iterator[None]:
    """Apply DuckDB settings inside a ``with`` block and put the previous values back after.

    Large builds use it for ``memory_limit`` (DuckDB spills beyond it) and
    ``preserve_insertion_order=False`` (no buffering to keep row order). Other backends are left
    alone.
    """
    if getattr(con, "name", "") != "duckdb":
        yield
        return

    def current(name):
        return str(con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0])

    previous = {name: current(name) for name in settings}
    try:
        for name, value in settings.items():
            con.raw_sql(f"SET {name} = '{value}'")
        yield
    finally:
        for name, value in previous.items():
            con.raw_sql(f"RESET {name}")
            if (
                current(name) != value
            ):  # the caller had set it: bring it back (memory limits
                # to DuckDB's display precision of 0.1 MiB)
                con.raw_sql(f"SET {name} = '{value}'")


def append_arrow(con, name: str, table, database: str | None = None) -> None:
    """Append an Arrow table to an existing table, without keeping a copy alive.

    On DuckDB the Arrow buffers are registered, inserted and unregistered: ``con.insert`` leaves
    an Ibis memtable registered (ibis 12), so every chunk of a large build would stay in memory.
    """
    if getattr(con, "name", "") != "duckdb":
        con.insert(name, table, database=database)
        return
    view = f"_append_{name}"
    target = f'{database}."{name}"' if database else f'"{name}"'
    con.con.register(view, table)
    try:
        con.raw_sql(f'INSERT INTO {target} SELECT * FROM "{view}"')
    finally:
        con.con.unregister(view)


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------
def expand(path: str | os.PathLike) -> Path:
    """A path with ``~`` expanded: every command and the notebooks' opener go through this."""
    return Path(os.path.expanduser(os.fspath(path)))


def landing_root(path: str | os.PathLike) -> Path:
    """The landing zone of the warehouse at ``path``: ``<folder>/<name>/raw`` (``name`` is the
    file's stem), so every warehouse (every scale and seed) has its own raw layer beside it."""
    path = expand(path)
    return path.with_name(path.stem) / "raw"


def spark_dir(path: str | os.PathLike) -> Path:
    """The Spark warehouse that goes with the DuckDB file ``path``: ``<folder>/<name>-spark/``."""
    path = expand(path)
    return path.with_name(f"{path.stem}-spark")


def shown(path: str | os.PathLike) -> str:
    """A path as printable text: bytes that are not UTF-8 are shown as ``\\xff`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_writable(path: str | Path, practice: str | None = None) -> Path:
    """The file a build of ``practice`` may write for ``path``, or :class:`WarehousePathError`.

    ``~`` is expanded and a symlink is followed (its target is what gets replaced). With
    ``practice``, an existing file must be a warehouse this tool built for that practice (see
    :func:`check_replaceable`); anything else is refused with the reason.
    """
    path = expand(path)
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        raise WarehousePathError(
            f"cannot write database {shown(path)}: the path is not valid UTF-8, and DuckDB "
            "needs UTF-8 file names"
        ) from None
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.is_dir():
        raise WarehousePathError(
            f"cannot write database {shown(path)}: it is a directory"
        )
    existing = (
        path.parent
    )  # the nearest folder that exists, since the build creates the rest
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise WarehousePathError(
            f"cannot write database {shown(path)}: {shown(existing)} is not a directory"
        )
    try:  # a real probe: permission bits say nothing to root or on read-only file systems
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        raise WarehousePathError(
            f"cannot write database {shown(path)}: {shown(existing)} is not writable"
        ) from None
    if practice is not None:
        check_replaceable(path, practice)
    elif path.exists() and not os.access(path, os.W_OK):
        raise WarehousePathError(
            f"cannot write database {shown(path)}: file is read-only"
        )
    return path


def default_db_path(practice: str, scale=None, seed: int | None = None) -> Path:
    """``data/generated/PRACTICE.duckdb`` for the site's scale and seed; one file per other one.

    ``ecommerce`` at the default scale and seed is ``ecommerce.duckdb`` (what the notebooks
    read); at ``medium`` it is ``ecommerce-medium.duckdb``, with seed 7
    ``ecommerce-medium-seed7.duckdb``. Building another scale never replaces the notebooks' file.
    """
    rows, seed = synth.resolve_scale(scale), synth.resolve_seed(seed)
    name = practice
    if rows != synth.SCALES[synth.DEFAULT_SCALE]:
        name += f"-{synth.scale_label(rows)}"
    if seed != synth.DEFAULT_SEED:
        name += f"-seed{seed}"
    return data_dir() / "generated" / f"{name}.duckdb"


# ---------------------------------------------------------------------------------------------
# What is at a path: a warehouse this tool built, for which practice, changed since or not
# ---------------------------------------------------------------------------------------------
@dataclass
class WarehouseInfo:
    """What ``_build_info`` says about a warehouse this tool built."""

    practice: str
    scale_rows: int
    seed: int
    fingerprint: str
    #: Every table (its row count) and view (``None``) the build left, by ``schema.name``
    #: (``name`` alone in ``main``); ``None`` for a file built before this was recorded.
    objects: dict[str, int | None] | None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _catalog(raw) -> dict[str, int | None]:
    """Row count of every table and ``None`` for every view of a DuckDB connection's database."""
    found: dict[str, int | None] = {}
    tables = raw.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
        "current_database() AND NOT temporary AND NOT internal ORDER BY ALL"
    ).fetchall()
    for schema, name in tables:
        key = name if schema == "main" else f"{schema}.{name}"
        if key != BUILD_INFO:
            count = f"SELECT count(*) FROM {_quote(schema)}.{_quote(name)}"
            found[key] = int(raw.execute(count).fetchone()[0])
    views = raw.execute(
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = "
        "current_database() AND NOT temporary AND NOT internal ORDER BY ALL"
    ).fetchall()
    for schema, name in views:
        found[name if schema == "main" else f"{schema}.{name}"] = None
    return found


def _read_info(raw) -> WarehouseInfo:
    cursor = raw.execute(f"SELECT * FROM {BUILD_INFO}")
    columns = [d[0] for d in cursor.description]
    values = cursor.fetchone()
    if values is None:
        raise ValueError(f"{BUILD_INFO} is empty")
    row = dict(zip(columns, values, strict=True))
    objects = row.get("objects")
    return WarehouseInfo(
        practice=str(row["practice"]),
        scale_rows=int(row["scale_rows"]),
        seed=int(row["seed"]),
        fingerprint=str(row["code_fingerprint"]),
        objects=json.loads(objects) if objects else None,
    )


def inspect_warehouse(path: str | Path) -> WarehouseInfo:
    """Read ``_build_info`` of the warehouse at ``path``, or raise :class:`NotAWarehouse`.

    The reason names what the file is instead: a directory, a device, not a DuckDB file, a
    DuckDB database this tool did not build, a file DuckDB cannot open.
    """
    path = expand(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotAWarehouse(path, "there is no file there") from None
    except OSError as exc:
        raise NotAWarehouse(path, f"it cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAWarehouse(path, "it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise NotAWarehouse(path, "it is not a regular file (a device, pipe or socket)")
    try:
        with open(path, "rb") as file:
            header = file.read(12)
    except OSError as exc:
        raise NotAWarehouse(path, f"it cannot be read ({exc.strerror})") from None
    if header[8:12] != b"DUCK":
        raise NotAWarehouse(path, "it is not a DuckDB database")
    try:
        raw = duckdb.connect(os.fspath(path), read_only=True)
    except duckdb.Error as exc:
        raise NotAWarehouse(
            path, f"DuckDB cannot open it ({_first_line(exc)})"
        ) from None
    try:
        try:
            return _read_info(raw)
        except duckdb.CatalogException:
            raise NotAWarehouse(
                path,
                f"it is a DuckDB database that datamodeling did not build (no {BUILD_INFO})",
            ) from None
        except (duckdb.Error, KeyError, TypeError, ValueError) as exc:
            raise NotAWarehouse(
                path, f"its {BUILD_INFO} cannot be read ({exc})"
            ) from None
    finally:
        raw.close()


def check_replaceable(path: Path, practice: str) -> WarehouseInfo | None:
    """Raise :class:`WarehousePathError` unless a build of ``practice`` may replace ``path``.

    A missing path, or a warehouse this tool built for the same practice, may be replaced
    (returns its :class:`WarehouseInfo`, or ``None`` when missing). A read-only file, another
    practice's warehouse, or anything that is not a warehouse of this tool is refused.
    """
    if not os.path.lexists(path):
        return None
    try:
        info = inspect_warehouse(path)
    except NotAWarehouse as exc:
        raise WarehousePathError(
            f"refusing to replace {shown(path)}: {exc.reason}; choose another --db or move it"
        ) from None
    if info.practice != practice:
        raise WarehousePathError(
            f"refusing to replace {shown(path)}: it holds the {info.practice} warehouse, not "
            f"{practice}'s; choose another --db"
        )
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise WarehousePathError(
            f"refusing to replace {shown(path)}: it is read-only (mode {mode:04o}); make it "
            "writable (chmod u+w) to rebuild it"
        )
    return info


def _changed_since_built(
    path: Path, info: WarehouseInfo, new_objects: dict
) -> list[str]:
    """Tables and views at ``path`` that its build did not leave there (or not with these rows)."""
    raw = duckdb.connect(os.fspath(path), read_only=True)
    try:
        now = _catalog(raw)
    finally:
        raw.close()
    if (
        info.objects is None
    ):  # built before the catalog was recorded: compare names only
        return sorted(set(now) - set(new_objects))
    return sorted(
        k
        for k in set(now) | set(info.objects)
        if now.get(k, -1) != info.objects.get(k, -1)
    )


# ---------------------------------------------------------------------------------------------
# Temporary files: named after the build's process, removed by the next build once it is gone
# ---------------------------------------------------------------------------------------------
def _temp_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")


def _temp_files(tmp: Path) -> list[Path]:
    """The temporary database, its write-ahead log and DuckDB's spill folder."""
    return [tmp, Path(f"{tmp}.wal"), Path(f"{tmp}.tmp")]


def _remove(paths) -> int:
    """Remove files and folders; return the bytes freed."""
    freed = 0
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                freed += path.lstat().st_size
                path.unlink()
        except OSError:
            pass
    return freed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(target: Path) -> tuple[list[Path], int]:
    """Remove temporary files of builds of ``target`` whose process is gone (killed outright).

    Returns the paths removed and the bytes freed. Files of a build still running are kept.
    """
    pattern = re.compile(re.escape(target.name) + r"\.tmp-(\d+)-\d+(\.wal|\.tmp)?")
    removed, freed = [], 0
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed, freed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and not _pid_alive(int(match[1])):
            freed += _remove([entry])
            removed.append(entry)
    return removed, freed


# ---------------------------------------------------------------------------------------------
# Preflight: refuse a build the machine cannot hold, before writing anything
# ---------------------------------------------------------------------------------------------
def estimate(practice: str, rows: int) -> tuple[int, int]:
    """Estimated peak bytes on disk and in memory of a build of ``rows`` main-fact rows.

    From :data:`FOOTPRINT`; a practice without figures gets the largest of each. A line
    through two measurements can cross zero below the smaller one: never less than nothing.
    """
    known = FOOTPRINT.get(practice) or tuple(
        max(f[i] for f in FOOTPRINT.values()) for i in range(4)
    )
    disk_base, disk_per_row, memory_base, memory_per_row = known
    return max(0, int(disk_base + disk_per_row * rows)), max(
        0, int(memory_base + memory_per_row * rows)
    )


def available_memory() -> int | None:
    """Bytes of memory a new build can use: the system's available memory, within any cgroup."""
    found = []
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            if limit != "max" and int(limit) < 1 << 60:
                found.append(int(limit) - int(Path(usage_file).read_text().strip()))
        except (OSError, ValueError):
            pass
    return min(found) if found else None


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit in ("B", "KB") else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def preflight(practice: str, rows: int, target: Path) -> str:
    """Refuse with :class:`PreflightError` when the disk or the memory is short for the build.

    The disk must hold the build's peak (the new file, its write-ahead log and DuckDB's spill
    files) while the old warehouse still exists, with :data:`DISK_MARGIN` of slack. Returns a
    line saying what was checked.
    """
    disk, memory = estimate(practice, rows)
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    need = int(disk * DISK_MARGIN)
    if need > free:
        raise PreflightError(
            f"not enough disk space under {shown(folder)}: a {practice} build of {rows:,} rows "
            f"needs about {_size(need)} free, {_size(free)} is free; nothing was written "
            "(choose a smaller --scale or another --db, or --no-preflight to try anyway)"
        )
    available = available_memory()
    if available is not None and memory > available:
        raise PreflightError(
            f"not enough memory: a {practice} build of {rows:,} rows needs about "
            f"{_size(memory)}, {_size(available)} is available; nothing was written "
            "(choose a smaller --scale, or --no-preflight to try anyway)"
        )
    shown_memory = "unknown" if available is None else _size(available)
    return (
        f"preflight: at most about {_size(disk)} on disk ({_size(free)} free) and "
        f"{_size(memory)} of "
        f"memory ({shown_memory} available)"
    )


# ---------------------------------------------------------------------------------------------
# Signals: SIGINT and SIGTERM stop the running DuckDB query and unwind, leaving nothing behind
# ---------------------------------------------------------------------------------------------
class _Signals:
    """Catch SIGINT and SIGTERM while a build runs (main thread only; elsewhere a no-op).

    The handler raises :class:`Interrupted`. A DuckDB query that is running is interrupted from
    a watcher thread woken by the signal itself (``signal.set_wakeup_fd``), so the build stops
    within a second even inside a long query. ``exit_after`` (the CLI) bounds the wait: after
    that many seconds the temporary files are removed and the process exits. Inside
    :meth:`deferred` (the final rename) a signal is held until the rename is done.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, cleanup=None, exit_after: float | None = None):
        self.cleanup = cleanup
        self.exit_after = exit_after
        self.signum: int | None = None
        self.con = None
        self.unwinding = False
        self.holding = False
        self.active = False

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        self.previous = {s: signal.getsignal(s) for s in self.SIGNALS}
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        try:
            self.previous_fd = signal.set_wakeup_fd(
                self.write_fd, warn_on_full_buffer=False
            )
        except (
            ValueError
        ):  # pragma: no cover - not the main thread of the main interpreter
            os.close(self.read_fd)
            os.close(self.write_fd)
            return self
        for s in self.SIGNALS:
            signal.signal(s, self._handle)
        self.active = True
        self.watcher = threading.Thread(
            target=self._watch, args=(self.read_fd,), daemon=True
        )
        self.watcher.start()
        return self

    def __exit__(self, *exc_info):
        if not self.active:
            return False
        self.active = False
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(self.previous_fd)
        os.close(self.write_fd)  # the watcher reads end-of-file and closes its end
        # Wait for it: a daemon thread still inside DuckDB's interrupt() when the interpreter
        # exits is torn down mid-call, and the process aborts ("exception not rethrown").
        self.watcher.join(timeout=2)
        return False

    def _handle(self, signum, frame):
        if self.signum is not None:
            return  # one signal is enough: the build is already unwinding
        self.signum = signum
        if not (
            self.holding or self.unwinding
        ):  # never cut the cleanup or the rename short
            raise Interrupted(signum)

    def _watch(self, read_fd):
        try:
            while True:
                data = os.read(read_fd, 64)
                if not data:
                    return
                signums = [b for b in data if b in self.SIGNALS]
                if signums:
                    self._noticed(signums[0])
        finally:
            os.close(read_fd)

    def _noticed(self, signum):
        """In the watcher thread: stop DuckDB until the main thread unwinds; bound the wait."""
        start = time.monotonic()
        while self.active and not self.unwinding:
            con = self.con
            if con is not None and not self.holding:
                try:
                    con.con.interrupt()
                except Exception:
                    pass
            if (
                self.exit_after is not None
                and time.monotonic() - start > self.exit_after
            ):
                if self.holding:  # the rename is under way: let it finish
                    continue
                if self.cleanup:
                    self.cleanup()
                sys.stderr.write(f"datamodeling: {Interrupted(signum)}\n")
                sys.stderr.flush()
                os._exit(128 + signum)
            time.sleep(0.2)

    @contextmanager
    def hold(self):
        """Hold signals during a step that must not be cut in two (the final rename)."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False


# ---------------------------------------------------------------------------------------------
# The build: write a temporary file, verify it, then replace the old warehouse
# ---------------------------------------------------------------------------------------------
def _checkpoint(con) -> None:
    """Write everything to the database file (raises when the disk is full)."""
    con.raw_sql("CHECKPOINT")


def _write_build_info(
    con, practice: str, report: registry.BuildReport, objects: dict
) -> None:
    con.raw_sql(
        f"CREATE TABLE {BUILD_INFO} AS SELECT ? AS practice, ? AS scale_rows, ? AS seed, "
        "? AS code_fingerprint, ? AS objects",
        parameters=[
            practice,
            report.scale_rows,
            report.seed,
            code_fingerprint(practice),
            json.dumps(objects, sort_keys=True),
        ],
    )


def _difference(expected: dict, found: dict) -> str:
    missing = sorted(set(expected) - set(found))
    if missing:
        return f"{len(missing)} tables missing, e.g. {missing[0]}"
    extra = sorted(set(found) - set(expected))
    if extra:
        return f"unexpected table {extra[0]}"
    name = next(k for k in sorted(expected) if expected[k] != found[k])
    return f"{name} has {found[name]:,} rows, the build wrote {expected[name]:,}"


def _verify(
    tmp: Path, practice: str, objects: dict, report: registry.BuildReport
) -> None:
    """Reopen the saved file read-only and check it against what the build wrote and reported."""

    def fail(detail: str) -> BuildFailed:
        return BuildFailed(
            f"the saved warehouse does not match the build ({detail}): nothing was replaced"
        )

    wal = Path(f"{tmp}.wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise fail("its write-ahead log was not written into the file")
    raw = duckdb.connect(os.fspath(tmp), read_only=True)
    try:
        try:
            info = _read_info(raw)
        except duckdb.Error:
            raise fail(f"no {BUILD_INFO}") from None
        if info.practice != practice or info.objects != objects:
            raise fail(f"its {BUILD_INFO} is not this build's")
        found = _catalog(raw)
    finally:
        raw.close()
    if found != objects:
        raise fail(_difference(objects, found))
    reported = {
        name.removeprefix("main."): rows for name, rows in report.tables.items()
    }
    if any(found.get(name, -1) != rows for name, rows in reported.items()):
        raise fail("the build report: " + _difference(reported, found))


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _kept_path(target: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = target.with_name(f"{target.stem}.kept-{stamp}{target.suffix}")
    n = 2
    while os.path.lexists(kept):
        kept = target.with_name(f"{target.stem}.kept-{stamp}-{n}{target.suffix}")
        n += 1
    return kept


def _replace(tmp: Path, target: Path, practice: str, objects: dict) -> Path | None:
    """Put the verified file in place of ``target``; return where the old one was kept, if it was.

    The old file keeps its mode (and owner, when run as root). An old warehouse holding tables
    its build did not create (a reader's own) is kept next to it under a dated name.
    """
    info = check_replaceable(
        target, practice
    )  # again: it may have changed during the build
    kept = None
    if info is not None:
        st = os.stat(target)
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if os.geteuid() == 0:
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass
        if _changed_since_built(target, info, objects):
            kept = _kept_path(target)
            try:
                os.link(target, kept)  # the old file stays whole under the new name
            except OSError:
                shutil.copy2(target, kept)
    os.replace(tmp, target)
    _fsync(target.parent)
    return kept


def _failure(
    exc: BaseException, signals: _Signals, target: Path, practice: str, rows: int
):
    """The exception to raise for a failed build: one line, saying nothing was replaced."""
    if isinstance(exc, Interrupted):
        return exc
    if signals.signum is not None:
        return Interrupted(signals.signum)
    if isinstance(exc, (KeyboardInterrupt, WarehousePathError, BuildFailed)):
        return exc
    text = str(exc)
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in text:
        return BuildFailed(
            f"no space left on device under {shown(target.parent)}: nothing was replaced"
        )
    if (
        isinstance(exc, (MemoryError, duckdb.OutOfMemoryException))
        or "Out of Memory" in text
    ):
        return BuildFailed(
            f"out of memory building {practice} at {rows:,} rows: nothing was replaced; "
            "choose a smaller --scale"
        )
    return exc


def build_database(
    practice: str,
    path: str | Path | None = None,
    *,
    scale=None,
    seed: int | None = None,
    progress=None,
    preflight_checks: bool = True,
    exit_after: float | None = None,
    landing: bool = False,
) -> registry.BuildReport:
    """Build a practice's warehouse into a DuckDB file; replace the old one only when verified.

    The build writes a temporary file next to the target, named after this process. When the
    build is done and every source reconciles (rows in = rows loaded + rows quarantined), the
    file is checkpointed, closed and reopened read-only, and its ``_build_info`` and every
    table's row count are checked against the build. Only then does it replace the target, in
    one rename. Any failure, a full disk, a lack of memory, SIGINT or SIGTERM removes the
    temporary files and leaves the target byte for byte as it was.

    The target must be missing or a warehouse this tool built for ``practice``; a symlink is
    followed. Temporary files of earlier builds of the target whose process is gone (killed
    outright) are removed first. ``preflight_checks`` refuses a build the disk or the memory
    cannot hold; ``exit_after`` (seconds) bounds the wait after a signal (the CLI uses it).

    ``landing``: a practice that loads by day first writes its raw data as the landing zone
    beside the warehouse (:func:`landing_root`), then loads every day from those files, so that
    ``datamodeling load`` can follow. Without it (the notebooks' build) the same rows stay in
    memory, which skips writing a thousand small files.
    """
    chosen = registry.get_practice(practice)
    rows, seed = synth.resolve_scale(scale), synth.resolve_seed(seed)
    say = progress or (lambda message: None)
    target = check_writable(
        path if path is not None else default_db_path(practice, rows, seed), practice
    )
    removed, freed = remove_leftovers(target)
    if removed:
        say(f"removed {len(removed)} temporary files of killed builds ({_size(freed)})")
    if preflight_checks:
        say(preflight(practice, rows, target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target)
    zone = landing_root(target) if landing else None
    # a landing zone this build writes for the first time goes if the build does not finish
    new_zone = zone is not None and not zone.parent.exists()

    def cleanup() -> None:
        _remove(_temp_files(tmp))
        if zone is not None:
            _remove(zone.parent.glob(f"{zone.name}.tmp-{os.getpid()}"))
            if new_zone:
                _remove([zone.parent])

    con = None
    with _Signals(cleanup=cleanup, exit_after=exit_after) as signals:
        try:
            con = connect(tmp)
            signals.con = con
            build = chosen.module("build").build
            extra = {}
            if landing and "landing_root" in inspect.signature(build).parameters:
                extra["landing_root"] = zone
            report = build(con, scale=rows, seed=seed, progress=progress, **extra)
            if (
                not report.reconciles()
            ):  # rows were lost: keep the old database, write nothing
                raise ReconciliationError(
                    f"{practice}: rows in != rows loaded + rows quarantined for "
                    + ", ".join(report.unreconciled())
                    + "; nothing was written"
                )
            objects = _catalog(con.con)
            _write_build_info(con, practice, report, objects)
            say(f"saving and verifying {len(objects):,} tables and views")
            _checkpoint(con)
            signals.con = None
            con.disconnect()
            con = None
            _verify(tmp, practice, objects, report)
            _fsync(tmp)
            with signals.hold():
                report.kept_aside = _replace(tmp, target, practice, objects)
            _remove(_temp_files(tmp)[1:])  # an empty write-ahead log or spill folder
            if (
                signals.signum is not None
            ):  # it came during the rename, which went through
                raise Interrupted(signals.signum, written=target)
        except BaseException as exc:
            # The watcher may have stopped a DuckDB query before the signal's handler ran: the
            # handler then runs here. From the first line on it only records the signal, and
            # the temporary files are removed whatever happens.
            signals.unwinding = True
            failure = exc
            try:
                failure = _failure(exc, signals, target, practice, rows)
                if con is not None:
                    con.disconnect()
            except (
                BaseException
            ) as late:  # pragma: no cover - a signal in the first line
                failure = _failure(late, signals, target, practice, rows)
            finally:
                cleanup()
            if failure is exc:
                raise
            raise failure from exc
    report.removed_leftovers = removed
    return report


# ---------------------------------------------------------------------------------------------
# Loads by day, and the same build on Spark
# ---------------------------------------------------------------------------------------------
class LoadUnsupported(WarehousePathError):
    """A practice whose build does not load by day (no ``PIPELINE``)."""


def incremental(practice: str):
    """The practice's :class:`datamodeling.pipeline.Pipeline`, or :class:`LoadUnsupported`."""
    found = getattr(registry.get_practice(practice).module("build"), "PIPELINE", None)
    if found is None:
        raise LoadUnsupported(
            f"{practice} does not load by day yet: `datamodeling build {practice}` rebuilds it "
            "whole"
        )
    return found


def _landing_for(practice: str, target: Path, rows: int, seed: int, say=None):
    """The landing zone of ``target`` for this scale and seed, written first if it is missing
    or was generated for another scale or seed."""
    from datamodeling import landing, pipeline

    root = landing_root(target)
    try:
        manifest = landing.read_manifest(root)
    except (FileNotFoundError, ValueError):
        manifest = {}
    if (manifest.get("practice"), manifest.get("scale_rows"), manifest.get("seed")) != (
        practice,
        rows,
        seed,
    ):
        (say or (lambda m: None))(f"writing the landing zone {shown(root)}")
        registry.get_practice(practice).module("build").write_landing(
            root, rows, seed, progress=say
        )
    return pipeline.ParquetLayer(root)


def load_database(
    practice: str,
    day_from,
    day_to=None,
    *,
    path: str | Path | None = None,
    scale=None,
    seed: int | None = None,
    lookback_days: int | None = None,
    progress=None,
    exit_after: float | None = None,
) -> registry.BuildReport:
    """Load the landing days ``day_from``..``day_to`` into the practice's DuckDB warehouse.

    The warehouse must be one this tool built for ``practice`` with its landing zone beside it
    (``datamodeling build`` writes both). The load is one transaction: a failure, a lack of
    memory, SIGINT or SIGTERM leaves the warehouse as it was. Its ``_build_info`` records the new
    row counts, so a later build knows the warehouse holds nothing it did not write.
    """
    from datamodeling import pipeline

    chosen = incremental(practice)
    rows, seed = synth.resolve_scale(scale), synth.resolve_seed(seed)
    target = expand(path) if path is not None else default_db_path(practice, rows, seed)
    if not os.path.lexists(target):
        raise WarehousePathError(
            f"no warehouse at {shown(target)}: build it first with `datamodeling build "
            f"{practice}` (the same --scale, --seed or --db), which writes its landing zone too"
        )
    info = inspect_warehouse(target)
    if info.practice != practice:
        raise WarehousePathError(f"{shown(target)} holds the {info.practice} warehouse")
    if not os.access(target, os.W_OK):
        raise WarehousePathError(f"cannot load into {shown(target)}: it is read-only")
    root = landing_root(target)
    try:
        raw = pipeline.ParquetLayer(root)
    except FileNotFoundError:
        raise WarehousePathError(
            f"no landing zone at {shown(root)}: `datamodeling build {practice}` writes it"
        ) from None
    found = (raw.manifest.get("scale_rows"), raw.manifest.get("seed"))
    if found != (info.scale_rows, info.seed):
        raise WarehousePathError(
            f"the landing zone at {shown(root)} was generated for {found[0]:,} rows and seed "
            f"{found[1]}, the warehouse for {describe_build(info)}: build it again"
        )
    report = registry.BuildReport.start(practice, info.scale_rows, info.seed)

    def check_and_record(
        backend, report
    ) -> None:  # inside the transaction, before COMMIT
        if not report.reconciles():
            raise ReconciliationError(
                f"{practice}: rows in != rows loaded + rows quarantined for "
                + ", ".join(report.unreconciled())
                + "; nothing was written"
            )
        objects = _catalog(backend.con.con)
        objects.pop(BUILD_INFO, None)
        backend.con.raw_sql(
            f"UPDATE {BUILD_INFO} SET objects = ?",
            parameters=[json.dumps(objects, sort_keys=True)],
        )

    con = connect(target)
    with _Signals(exit_after=exit_after) as signals:
        signals.con = con
        try:
            pipeline.load(
                con,
                chosen,
                raw,
                day_from,
                day_to,
                lookback_days=pipeline.DEFAULT_LOOKBACK_DAYS
                if lookback_days is None
                else lookback_days,
                progress=progress,
                report=report,
                before_commit=check_and_record,
            )
            signals.con = None
            _checkpoint(con)
        except BaseException as exc:
            signals.unwinding = True
            if signals.signum is not None and not isinstance(exc, Interrupted):
                raise Interrupted(signals.signum) from exc
            raise
        finally:
            con.disconnect()
    return report


SPARK_MARKER = "_datamodeling.json"


def _check_spark_dir(folder: Path, practice: str) -> None:
    if not folder.exists():
        return
    marker = folder / SPARK_MARKER
    try:
        owner = json.loads(marker.read_text()).get("practice")
    except (OSError, ValueError):
        owner = None
    if owner != practice:
        raise WarehousePathError(
            f"refusing to replace {shown(folder)}: it is not a Spark warehouse this tool built "
            f"for {practice}"
        )


class _SparkSignals:
    """SIGINT and SIGTERM during a Spark build or load (main thread only; elsewhere a no-op).

    The handler cancels Spark's running jobs and raises :class:`Interrupted`; whatever error the
    cancelled job raises instead is turned into :class:`Interrupted` too (:meth:`run`), so the
    command says "interrupted; nothing was written" and exits 130 or 143. Inside :meth:`held`
    (the swap of the warehouse folders) a signal waits until the swap is done.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, session):
        self.session = session
        self.signum: int | None = None
        self.holding = False
        self.previous: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.getsignal(s) for s in self.SIGNALS}
            for s in self.SIGNALS:
                signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc_info):
        for s, handler in self.previous.items():
            signal.signal(s, handler)
        if self.signum is not None:
            logging.disable(logging.NOTSET)
        return False

    def _handle(self, signum, frame):
        if self.signum is not None:
            return  # one signal is enough: the load is already unwinding
        self.signum = signum
        # Cancel from another thread: this one may be inside a call to the JVM, and Py4J's
        # connection of a thread cannot be re-entered.
        canceller = threading.Thread(target=self._cancel, daemon=True)
        canceller.start()
        canceller.join(timeout=10)
        if not self.holding:
            # Py4J logs the call the signal cuts short as an error with a traceback: the
            # command's one line says it all.
            logging.disable(logging.CRITICAL)
            raise Interrupted(signum)

    def _cancel(self) -> None:
        try:
            # the cancelled tasks fail loudly in the JVM's log: the command's line is enough
            self.session.sparkContext.setLogLevel("OFF")
            self.session.sparkContext.cancelAllJobs()
        except Exception:  # the session may be going away already
            pass

    @contextmanager
    def held(self, folder: Path):
        """The swap of ``folder``: never cut in two; a signal during it is raised after."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.signum is not None:
            raise Interrupted(self.signum, written=folder)

    def run(self, load):
        try:
            return load()
        except BaseException as exc:
            if self.signum is not None and not isinstance(exc, Interrupted):
                raise Interrupted(self.signum) from exc
            raise


def build_spark(
    practice: str,
    path: str | Path | None = None,
    *,
    scale=None,
    seed: int | None = None,
    progress=None,
) -> registry.BuildReport:
    """Build the practice's warehouse on a local Spark session, from the landing zone.

    ``path`` names the DuckDB file the warehouse would have (default: :func:`default_db_path`):
    its landing zone (written first if missing) is read, and the Spark warehouse is written to
    :func:`spark_dir`, a folder of Parquet tables. It is built in a fresh folder and swapped in
    when done.
    """
    from datamodeling import pipeline

    chosen = incremental(practice)
    rows, seed = synth.resolve_scale(scale), synth.resolve_seed(seed)
    target = expand(path) if path is not None else default_db_path(practice, rows, seed)
    folder = spark_dir(target)
    _check_spark_dir(folder, practice)
    raw = _landing_for(practice, target, rows, seed, progress)
    report = registry.BuildReport.start(practice, rows, seed)
    marker = {"practice": practice, "scale_rows": rows, "seed": seed}
    con = connect(backend="pyspark")
    with _SparkSignals(con._session) as signals:
        return signals.run(
            lambda: pipeline.load_spark_directory(
                con,
                folder,
                lambda backend: pipeline.build(
                    backend, chosen, raw, progress=progress, report=report
                ),
                marker={SPARK_MARKER: marker},
                hold=signals.held,
            )
        )


def load_spark(
    practice: str,
    day_from,
    day_to=None,
    *,
    path: str | Path | None = None,
    scale=None,
    seed: int | None = None,
    lookback_days: int | None = None,
    progress=None,
) -> registry.BuildReport:
    """:func:`load_database` on the Spark warehouse of :func:`build_spark` (into a copy of its
    folder, swapped in when the load is done)."""
    from datamodeling import landing, pipeline

    chosen = incremental(practice)
    rows, seed = synth.resolve_scale(scale), synth.resolve_seed(seed)
    target = expand(path) if path is not None else default_db_path(practice, rows, seed)
    folder = spark_dir(target)
    if not (folder / SPARK_MARKER).is_file():
        raise WarehousePathError(
            f"no Spark warehouse at {shown(folder)}: build it first with `datamodeling build "
            f"{practice} --backend pyspark`"
        )
    _check_spark_dir(folder, practice)
    marker = json.loads((folder / SPARK_MARKER).read_text())
    root = landing_root(target)
    try:
        manifest = landing.read_manifest(root)
    except FileNotFoundError:
        raise WarehousePathError(
            f"no landing zone at {shown(root)}: `datamodeling build {practice}` writes it"
        ) from None
    if (manifest.get("scale_rows"), manifest.get("seed")) != (
        marker["scale_rows"],
        marker["seed"],
    ):
        raise WarehousePathError(
            f"the landing zone at {shown(root)} does not match the Spark warehouse: build it again"
        )
    raw = pipeline.ParquetLayer(root)
    if lookback_days is None:
        lookback_days = pipeline.DEFAULT_LOOKBACK_DAYS
    # refuse a bad window before a Spark session starts and the warehouse folder is copied
    day_from, day_to, lookback_days = pipeline.check_window(
        raw, day_from, day_to, lookback_days
    )
    report = registry.BuildReport.start(practice, marker["scale_rows"], marker["seed"])
    con = connect(backend="pyspark")
    with _SparkSignals(con._session) as signals:
        return signals.run(
            lambda: pipeline.load_spark_directory(
                con,
                folder,
                lambda backend: pipeline.load(
                    backend,
                    chosen,
                    raw,
                    day_from,
                    day_to,
                    lookback_days=lookback_days,
                    progress=progress,
                    report=report,
                ),
                marker={SPARK_MARKER: marker},
                hold=signals.held,
            )
        )


def code_fingerprint(practice: str) -> str:
    """A hash of the toolkit's and the practice's source, to notice a stale built warehouse."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for source in sorted([*package.glob("*.py"), *(package / practice).glob("*.py")]):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _info_or_none(path: Path) -> WarehouseInfo | None:
    try:
        return inspect_warehouse(path)
    except NotAWarehouse:
        return None


def describe_build(info: WarehouseInfo) -> str:
    """``small (20,000 rows), seed 42``: how a warehouse was built, in words."""
    label = synth.scale_label(info.scale_rows)
    scale = (
        f"{info.scale_rows:,} rows"
        if label.isdigit()
        else f"{label} ({info.scale_rows:,} rows)"
    )
    return f"{scale}, seed {info.seed}"


def open_practice(
    practice: str,
    *,
    scale=None,
    seed: int | None = None,
    path=None,
    timeout: float | None = safety.DEFAULT_TIMEOUT,
):
    """Open a practice's warehouse for reading, building it first if it is missing or stale.

    Notebooks call this, so the warehouse is built once and shared by every notebook. The
    site's scale and seed read ``data/generated/PRACTICE.duckdb``; another scale or seed reads
    its own file (:func:`default_db_path`). A file built by older code is rebuilt; if it held
    tables its build did not create, it is kept next to the new one under a dated name, and a
    line says where. A file of another scale or seed than asked is used, with a line saying so.

    The connection is read-only and locked (:mod:`datamodeling.safety`): ``con.sql`` takes one
    read-only query, nothing can write a file or attach a database, and a query running longer
    than ``timeout`` seconds is stopped.
    """
    rows, seed = synth.resolve_scale(scale), synth.resolve_seed(seed)
    path = expand(path) if path is not None else default_db_path(practice, rows, seed)
    info = _info_or_none(path)
    if (
        info is None
        or info.practice != practice
        or info.fingerprint != code_fingerprint(practice)
    ):
        report = build_database(practice, path, scale=rows, seed=seed)
        if report.kept_aside:
            print(
                f"Rebuilt {shown(path)} for the current code. The old file had tables or rows "
                f"the build did not create; it is kept at {shown(report.kept_aside)}."
            )
    elif (info.scale_rows, info.seed) != (rows, seed):
        asked = WarehouseInfo(practice, rows, seed, "", None)
        print(
            f"Note: {shown(path)} was built at scale {describe_build(info)}, not "
            f"{describe_build(asked)} as asked: numbers will differ from the published site's."
        )
    return safety.open_reader(path, timeout=timeout)
