"""Connections and paths.

Every transform in the book goes through Ibis, so the same code runs on DuckDB (the default, a
file or in memory) and on PySpark. Paths resolve through :func:`project_root`, so notebooks and
the CLI work from any working directory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis

from datamodeling import registry, synth


class WarehousePathError(ValueError):
    """A database path that cannot be written."""


class ReconciliationError(RuntimeError):
    """A build lost rows: some source's rows in != rows loaded + rows quarantined."""


def project_root() -> Path:
    """The repository root: ``$DATAMODELING_ROOT``, else the folder holding ``_toc.yml``.

    Searched upwards from the working directory, then from this file (an editable install).
    Falls back to the working directory when neither is inside the book's repository.
    """
    if env := os.environ.get("DATAMODELING_ROOT"):
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "_toc.yml").is_file() and (folder / "pyproject.toml").is_file():
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


def default_db_path(practice: str) -> Path:
    return data_dir() / "generated" / f"{practice}.duckdb"


def connect(path: str | Path | None = None, *, read_only: bool = False, backend: str = "duckdb"):
    """An Ibis connection: DuckDB in memory (``path=None``) or on a file, or a local PySpark."""
    if backend == "duckdb":
        if path is None:
            con = ibis.duckdb.connect()
        else:
            con = ibis.duckdb.connect(str(path), read_only=read_only)
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
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, no hostname lookup
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
            if current(name) != value:  # the caller had set it: bring it back (memory limits
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


def check_writable(path: str | Path) -> Path:
    """Raise :class:`WarehousePathError` unless a database can be written at ``path``."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise WarehousePathError(f"cannot write database {path}: it is a directory")
    existing = path.parent  # the nearest folder that exists, since the build creates the rest
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise WarehousePathError(f"cannot write database {path}: {existing} is not a directory")
    try:  # a real probe: permission bits say nothing to root or on read-only file systems
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        raise WarehousePathError(
            f"cannot write database {path}: {existing} is not writable"
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise WarehousePathError(f"cannot write database {path}: file is read-only")
    return path


def build_database(
    practice: str,
    path: str | Path | None = None,
    *,
    scale=None,
    seed: int | None = None,
    progress=None,
) -> registry.BuildReport:
    """Build a practice's warehouse into a DuckDB file, atomically.

    The build writes a temporary file next to ``path`` and renames it over ``path`` only when it
    has finished and every source reconciles (rows in = rows loaded + rows quarantined), so an
    interrupted or lossy build never leaves a database behind, and a re-run replaces the old
    database whole.
    """
    chosen = registry.get_practice(practice)
    synth.resolve_scale(scale)  # fail fast on a bad scale, before touching any file
    path = check_writable(path or default_db_path(practice))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    con = connect(tmp)
    try:
        report = chosen.build(con, scale=scale, seed=seed, progress=progress)
        if not report.reconciles():  # rows were lost: keep the old database, write nothing
            raise ReconciliationError(
                f"{practice}: rows in != rows loaded + rows quarantined for "
                + ", ".join(report.unreconciled())
            )
        con.raw_sql(
            "CREATE TABLE _build_info AS SELECT ? AS practice, ? AS scale_rows, ? AS seed, "
            "? AS code_fingerprint",
            parameters=[practice, report.scale_rows, report.seed, code_fingerprint(practice)],
        )
        con.disconnect()
        os.replace(tmp, path)
    except BaseException:
        con.disconnect()
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    return report


def code_fingerprint(practice: str) -> str:
    """A hash of the toolkit's and the practice's source, to notice a stale built warehouse."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for source in sorted([*package.glob("*.py"), *(package / practice).glob("*.py")]):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _is_current(path: Path, practice: str) -> bool:
    if not path.exists():
        return False
    try:
        con = connect(path, read_only=True)
        try:
            found = con.raw_sql("SELECT code_fingerprint FROM _build_info").fetchone()[0]
        finally:
            con.disconnect()
    except Exception:  # an old or foreign file: rebuild it
        return False
    return found == code_fingerprint(practice)


def open_practice(practice: str, *, scale=None, seed: int | None = None, path=None):
    """Open a practice's built warehouse read-only, building it first if it is missing.

    Notebooks call this, so the warehouse is built once and shared by every notebook. A file
    built by older code (its fingerprint differs) is rebuilt.
    """
    path = Path(path) if path else default_db_path(practice)
    if scale not in (None, synth.DEFAULT_SCALE) or seed not in (None, synth.DEFAULT_SEED):
        path = path.with_name(f"{practice}-{synth.resolve_scale(scale)}-{seed}.duckdb")
    if not _is_current(path, practice):
        build_database(practice, path, scale=scale, seed=seed)
    return connect(path, read_only=True)
