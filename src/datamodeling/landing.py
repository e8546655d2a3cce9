"""The raw landing zone: what source systems hand over, as Hive-partitioned Parquet by day.

Layout, one folder per warehouse (``data/generated/<name>/`` beside ``<name>.duckdb``)::

    raw/<source>/date=YYYY-MM-DD/part-0.parquet
    raw/_landing.json                      practice, scale, seed, sources and their days

The ``date`` partition is the **landing date**: the day the source handed the record over (the
day an event was uploaded, an extract was written, a feed was loaded). A late record lands in a
later partition than its event; every row keeps its own event time. The landing date is not a
column of the files: it is the folder, as Hive, Spark, Trino and DuckDB read it.

Writes are deterministic: each source is sorted by (landing date, its record key) and each
(source, day) becomes one file written with fixed options and no wall-clock metadata, so the same
seed gives the same bytes in every file whatever the number of writer threads. The files are
sorted and written from a thread pool (Arrow releases the GIL in both) into a temporary folder
that replaces the old landing zone only once every file is written.

Generators that cannot hold every row at once hand rows over in pieces
(:class:`LandingWriter`): a day's file is written once no later piece can add to it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

#: The column a generator adds to each raw table: the row's landing date (``date32``).
LANDING = "landing_date"
#: The Hive partition key of the landing zone's folders.
PARTITION = "date"
MANIFEST = "_landing.json"
#: Fixed writer options: the bytes of a file depend on its rows only. zstd at level 1 compresses
#: about as well as level 3 at half the cost; dictionaries are for the text columns (statuses,
#: event types, names: few distinct values), not for ids and times, where they only cost time.
WRITE_OPTIONS = dict(
    compression="zstd",
    compression_level=1,
    write_statistics=True,
    version="2.6",
    data_page_version="1.0",
    row_group_size=1 << 20,
)


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_dictionary(f.type)
    ]


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def partition_dir(root: str | Path, source: str, day: dt.date) -> Path:
    return Path(root) / source / f"{PARTITION}={day.isoformat()}"


def partition_file(root: str | Path, source: str, day: dt.date) -> Path:
    return partition_dir(root, source, day) / "part-0.parquet"


def _sorted(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``table`` sorted by landing date, then ``keys``: a record key, unique per row, so the
    order never depends on the order rows arrived in."""
    order = [(LANDING, "ascending"), *((k, "ascending") for k in keys)]
    indices = pc.sort_indices(table.select([LANDING, *keys]), sort_keys=order)
    return table.take(indices)


def _days(table: pa.Table) -> list[tuple[dt.date, int, int]]:
    """(day, first row, end row) of each landing day of a table sorted by landing date."""
    if table.num_rows == 0:
        return []
    values = table[LANDING].combine_chunks()
    runs = pc.run_end_encode(values)
    ends = runs.run_ends.to_pylist()
    days = runs.values.to_pylist()
    starts = [0, *ends[:-1]]
    return [(d, s, e) for d, s, e in zip(days, starts, ends, strict=True)]


def _write_file(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata(None)
    pq.write_table(
        table, path, use_dictionary=_dictionary_columns(table.schema), **WRITE_OPTIONS
    )
    return path


class LandingWriter:
    """Write sources into a landing zone, from one table or from pieces, in parallel.

    ``keys[source]`` names the record key the rows of a day are sorted by. Each ``add`` hands
    over rows (with their ``landing_date`` column); ``flush(before)`` writes every day before
    ``before`` that was handed over (call it once no later piece can land on those days);
    ``close`` writes the rest, the manifest, and moves the finished folder into place.
    Use it as a context manager: an exception removes the unfinished folder.
    """

    def __init__(
        self,
        root: str | Path,
        keys: Mapping[str, Sequence[str]],
        *,
        workers: int | None = None,
        manifest: Mapping | None = None,
    ):
        self.root = Path(root)
        self.keys = {name: list(k) for name, k in keys.items()}
        self.tmp = self.root.with_name(f"{self.root.name}.tmp-{os.getpid()}")
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        self.pool = ThreadPoolExecutor(max_workers=workers or default_workers())
        self.pieces: dict[str, dict[dt.date, list[pa.Table]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.futures: list[Future] = []
        self.splitting: list[Future] = []
        self.lock = threading.Lock()
        self.rows: dict[str, int] = defaultdict(int)
        self.days: dict[str, set[dt.date]] = defaultdict(set)
        self.manifest = dict(manifest or {})
        self.schemas: dict[str, pa.Schema] = {}

    def add(self, source: str, table: pa.Table) -> None:
        if source not in self.keys:
            raise KeyError(f"no record key declared for source {source!r}")
        if LANDING not in table.column_names:
            raise ValueError(f"{source}: rows need their {LANDING!r} column")
        self.schemas.setdefault(source, table.schema)
        if table.num_rows == 0:
            return
        # sorted and cut into days by a writer thread, while the caller makes the next rows
        self.splitting.append(self.pool.submit(self._split, source, table))

    def _split(self, source: str, table: pa.Table) -> None:
        table = _sorted(table, self.keys[source])
        with self.lock:
            for day, start, end in _days(table):
                self.pieces[source][day].append(table.slice(start, end - start))

    def flush(self, before: dt.date | None = None) -> None:
        """Write every (source, day) handed over whose day is before ``before`` (all: None)."""
        for f in self.splitting:
            f.result()
        self.splitting = []
        for source, by_day in self.pieces.items():
            for day in sorted(by_day):
                if before is not None and day >= before:
                    continue
                parts = by_day.pop(day)
                self.rows[source] += sum(part.num_rows for part in parts)
                self.days[source].add(day)
                self.futures.append(
                    self.pool.submit(
                        self._write_day,
                        source,
                        parts,
                        partition_file(self.tmp, source, day),
                    )
                )
        done = [f for f in self.futures if f.done()]
        for f in done:
            f.result()  # raise a failed write now
        self.futures = [f for f in self.futures if not f.done()]

    def _write_day(self, source: str, parts: list[pa.Table], path: Path) -> Path:
        # pieces of one day arrive in any order: sorted again by record key, the same file
        table = (
            parts[0]
            if len(parts) == 1
            else _sorted(pa.concat_tables(parts), self.keys[source])
        )
        return _write_file(table.drop([LANDING]), path)

    def close(self) -> dict:
        """Write what is left and the manifest; replace the old landing zone with the new one."""
        self.flush()
        for f in self.futures:
            f.result()
        self.pool.shutdown()
        for (
            source
        ) in self.keys:  # a source with no row at all still has its schema on record
            self.days.setdefault(source, set())
        manifest = {
            **self.manifest,
            "sources": {
                source: {
                    "rows": self.rows.get(source, 0),
                    "days": len(self.days[source]),
                    "first_day": min(self.days[source]).isoformat()
                    if self.days[source]
                    else None,
                    "last_day": max(self.days[source]).isoformat()
                    if self.days[source]
                    else None,
                    "key": self.keys[source],
                }
                for source in sorted(self.keys)
            },
        }
        for source, schema in self.schemas.items():  # an empty schema file per source
            folder = self.tmp / source
            folder.mkdir(parents=True, exist_ok=True)
            _write_file(
                schema.empty_table().drop([LANDING]).replace_schema_metadata(None),
                folder / "_schema.parquet",
            )
        (self.tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        old = self._old()
        if self.root.exists():
            os.replace(self.root, old)
        os.replace(self.tmp, self.root)
        if old.exists():
            shutil.rmtree(old)
        return manifest

    def _old(self) -> Path:
        return self.root.with_name(f"{self.root.name}.old-{os.getpid()}")

    def abort(self) -> None:
        """Stop the writers and remove the new files; the old landing zone stays (or is put
        back, if the abort came between the two renames of :meth:`close`)."""
        for f in [*self.splitting, *self.futures]:
            f.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self._old().exists() and not self.root.exists():
            os.replace(self._old(), self.root)

    def __enter__(self) -> LandingWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:  # e.g. an interrupt while the last files are written
            self.abort()
            raise


def write_landing_zone(
    root: str | Path,
    tables: Mapping[str, pa.Table],
    keys: Mapping[str, Sequence[str]],
    *,
    workers: int | None = None,
    manifest: Mapping | None = None,
) -> dict:
    """Write whole tables (each with its ``landing_date`` column) as a landing zone at ``root``."""
    with LandingWriter(root, keys, workers=workers, manifest=manifest) as writer:
        for name, table in tables.items():
            writer.add(name, table)
    return read_manifest(root)


def read_manifest(root: str | Path) -> dict:
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no landing zone at {root} (missing {MANIFEST})")
    return json.loads(path.read_text())


def landed_days(root: str | Path, source: str) -> list[dt.date]:
    """The landing days of ``source`` present on disk, in order."""
    folder = Path(root) / source
    if not folder.is_dir():
        return []
    days = []
    for child in folder.iterdir():
        if child.is_dir() and child.name.startswith(f"{PARTITION}="):
            days.append(dt.date.fromisoformat(child.name.split("=", 1)[1]))
    return sorted(days)


def files(root: str | Path, source: str, first: dt.date, last: dt.date) -> list[Path]:
    """The files of ``source`` landing in ``[first, last]`` (both included), in day order."""
    return [
        partition_file(root, source, day)
        for day in landed_days(root, source)
        if first <= day <= last
    ]


def schema_file(root: str | Path, source: str) -> Path:
    return Path(root) / source / "_schema.parquet"


def day_range(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)
