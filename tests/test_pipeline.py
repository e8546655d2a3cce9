"""The toolkit of incremental loads: the landing zone's writer and reader, the DuckDB backend's
replace, the lookback rule, and the runner's argument checks.

The ride-sharing practice's own loads (day by day = full build, idempotency, late records) are
tested in ``tests/test_pipeline_rideshare.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import signal
import threading
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datamodeling import backends, landing, pipeline, warehouse

DAY0 = dt.date(2025, 1, 1)


def events(n: int = 5000, seed: int = 1) -> pa.Table:
    """A made-up source: events with an id, a time, a value, and the day each one landed (the
    event's day, or up to two days later for a tenth of them)."""
    gen = np.random.default_rng(seed)
    event_day = gen.integers(0, 10, n)
    late = np.where(gen.random(n) < 0.1, gen.integers(1, 3, n), 0)
    landing_day = (np.datetime64(DAY0) + (event_day + late)).astype("datetime64[D]")
    at = (
        np.datetime64(DAY0, "ms")
        + event_day * 86_400_000
        + gen.integers(0, 86_400_000, n)
    )
    return pa.table(
        {
            "event_id": pa.array(gen.permutation(n) + 1, pa.int64()),
            "event_time": pa.array(at.astype("datetime64[us]")),
            "kind": pa.array(gen.choice(["a", "b", "c"], n)),
            "value": pa.array(gen.normal(size=n)),
            landing.LANDING: pa.array(landing_day, pa.date32()),
        }
    )


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


# ---- the landing zone ------------------------------------------------------------------------


def test_one_file_per_source_and_landing_day_with_every_row(tmp_path):
    table = events()
    manifest = landing.write_landing_zone(
        tmp_path / "raw", {"events": table}, {"events": ["event_id"]}
    )
    days = landing.landed_days(tmp_path / "raw", "events")
    expected = sorted(set(table[landing.LANDING].to_pylist()))
    assert days == expected
    total = 0
    for day in days:
        f = landing.partition_file(tmp_path / "raw", "events", day)
        assert (
            f
            == tmp_path
            / "raw"
            / "events"
            / f"date={day.isoformat()}"
            / "part-0.parquet"
        )
        part = pq.read_table(f)
        assert landing.LANDING not in part.column_names  # the folder holds it (Hive)
        ids = part["event_id"].to_numpy()
        assert (np.diff(ids) > 0).all()  # sorted by the record key
        mine = table.filter(pa.compute.equal(table[landing.LANDING], pa.scalar(day)))
        assert sorted(ids) == sorted(mine["event_id"].to_pylist())
        total += part.num_rows
    assert total == table.num_rows == manifest["sources"]["events"]["rows"]
    assert manifest["sources"]["events"]["days"] == len(days)


def test_same_bytes_whatever_the_number_of_workers_or_pieces(tmp_path):
    table = events(20_000)
    keys = {"events": ["event_id"], "copy": ["event_id"]}
    tables = {"events": table, "copy": table.slice(0, 7000)}
    landing.write_landing_zone(tmp_path / "one", tables, keys, workers=1)
    landing.write_landing_zone(tmp_path / "four", tables, keys, workers=4)
    # handed over in shuffled pieces, flushed as days complete, as a chunked generator does
    order = np.random.default_rng(3).permutation(table.num_rows)
    with landing.LandingWriter(tmp_path / "pieces", keys, workers=3) as writer:
        for chunk in np.array_split(order, 5):
            writer.add("events", table.take(pa.array(chunk)))
        writer.flush(before=DAY0 + dt.timedelta(days=3))
        writer.add("copy", tables["copy"])
    assert (
        digest(tmp_path / "one")
        == digest(tmp_path / "four")
        == digest(tmp_path / "pieces")
    )
    landing.write_landing_zone(
        tmp_path / "other", {**tables, "copy": table.slice(1, 7000)}, keys
    )
    assert digest(tmp_path / "other") != digest(tmp_path / "one")


def test_a_failed_write_leaves_the_old_landing_zone(tmp_path):
    root = tmp_path / "raw"
    landing.write_landing_zone(root, {"events": events()}, {"events": ["event_id"]})
    before = digest(root)
    with pytest.raises(ValueError):
        with landing.LandingWriter(root, {"events": ["event_id"]}) as writer:
            writer.add("events", events(10, seed=2))
            raise ValueError("the generator failed")
    assert digest(root) == before
    assert not list(tmp_path.glob("raw.tmp-*"))


@pytest.mark.parametrize("at", ["writing the last files", "between the two renames"])
def test_an_interrupt_while_closing_leaves_the_old_landing_zone(tmp_path, at):
    """Ctrl-C as the writer finishes: its new files go, the old landing zone stays."""
    root = tmp_path / "raw"
    landing.write_landing_zone(root, {"events": events()}, {"events": ["event_id"]})
    before = digest(root)
    real_replace = os.replace

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def second_rename_interrupted(src, dst):
        if Path(src).name.startswith("raw.tmp-"):
            raise KeyboardInterrupt
        real_replace(src, dst)

    patch = (
        mock.patch.object(landing, "_write_file", interrupted)
        if at == "writing the last files"
        else mock.patch.object(landing.os, "replace", second_rename_interrupted)
    )
    with pytest.raises(KeyboardInterrupt), patch:
        with landing.LandingWriter(root, {"events": ["event_id"]}) as writer:
            writer.add("events", events(10, seed=2))
    assert digest(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_the_reader_gives_back_the_rows_of_the_days_asked(tmp_path):
    table = events()
    landing.write_landing_zone(
        tmp_path / "raw", {"events": table}, {"events": ["event_id"]}
    )
    raw = pipeline.ParquetLayer(tmp_path / "raw")
    con = warehouse.connect()
    first, last = DAY0 + dt.timedelta(days=2), DAY0 + dt.timedelta(days=4)
    got = raw.read(backends.DuckDBBackend(con), "events", first, last).to_pyarrow()
    day = table[landing.LANDING].to_numpy(zero_copy_only=False)
    mine = table.filter(
        pa.array((day >= np.datetime64(first)) & (day <= np.datetime64(last)))
    )
    assert got.num_rows == mine.num_rows > 0
    assert got.sort_by("event_id").equals(mine.sort_by("event_id").cast(got.schema))
    assert raw.days() == (
        min(table[landing.LANDING].to_pylist()),
        max(table[landing.LANDING].to_pylist()),
    )
    assert (
        raw.read(
            backends.DuckDBBackend(con),
            "events",
            dt.date(2030, 1, 1),
            dt.date(2030, 1, 2),
        )
        is None
    )


# ---- the DuckDB backend ----------------------------------------------------------------------


def test_replace_deletes_what_the_condition_selects_and_inserts_once():
    con = warehouse.connect()
    b = backends.DuckDBBackend(con)
    b.create("t", pa.table({"day": [1, 2, 2, 3, None], "v": [10, 20, 21, 30, 40]}))
    new = b.stage("new", pa.table({"day": [2, 2, 2], "v": [22, 23, 24]}))
    for _ in range(2):  # twice: the second time replaces the first, nothing is appended
        b.replace("t", new, lambda t: t.day == 2)
    rows = sorted(con.table("t").to_pyarrow().to_pylist(), key=lambda r: r["v"])
    # the NULL day is kept: a condition that is unknown deletes nothing, as in SQL
    assert [(r["day"], r["v"]) for r in rows] == [
        (1, 10), (2, 22), (2, 23), (2, 24), (3, 30), (None, 40)
    ]  # fmt: skip
    b.replace("t", None, lambda t: t.day.isin(new.day))
    assert sorted(con.table("t").v.to_pyarrow().to_pylist()) == [10, 30, 40]
    b.drop_stage()
    assert "stage" not in con.list_databases()


def test_a_view_follows_its_table():
    con = warehouse.connect()
    b = backends.DuckDBBackend(con)
    b.create("t", pa.table({"day": [1, 2], "v": [10, 20]}))
    t = b.table("t")
    b.create_view("brief_t", t.select(amount="v"))
    b.replace(
        "t", b.stage("new", pa.table({"day": [3], "v": [30]})), lambda x: x.day == 1
    )
    assert sorted(con.sql("SELECT amount FROM brief_t").amount.to_pyarrow().to_pylist()) == [
        20, 30
    ]  # fmt: skip


def test_a_load_is_one_transaction(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    b = backends.DuckDBBackend(con)
    b.create("t", pa.table({"v": [1, 2, 3]}))
    b.begin()
    b.replace("t", None, lambda t: t.v > 1)
    b.create("u", pa.table({"v": [9]}))
    b.rollback()
    assert sorted(con.table("t").v.to_pyarrow().to_pylist()) == [1, 2, 3]
    assert "u" not in con.list_tables()


def test_large_insert_after_an_empty_table_keeps_its_rows():
    """DuckDB 1.5 loses a large insert into a table that first received an empty Arrow scan in
    the same transaction; ``create`` makes empty tables from their schema instead."""
    con = warehouse.connect()
    b = backends.DuckDBBackend(con)
    b.begin()
    b.create("t", pa.table({"v": pa.array([], pa.int64())}))
    big = b.stage("big", con.sql("SELECT range AS v FROM range(300000)"))
    b.replace("t", big, lambda t: t.v < 0)
    b.commit()
    assert con.table("t").count().execute() == 300_000


# ---- the lookback rule and the runner --------------------------------------------------------


def test_backfill_command_names_the_landing_day_and_the_lateness():
    assert (
        pipeline.backfill_command("rideshare", "2025-03-01", "2025-03-05")
        == "datamodeling load rideshare --day 2025-03-05 --lookback 4"
    )


def test_window_days():
    w = pipeline.Window(
        dt.date(2025, 3, 10), dt.date(2025, 3, 12), 3, dt.date(2025, 3, 20)
    )
    assert w.first_event_day == dt.date(2025, 3, 7)
    assert (w.first_key, w.last_key) == (20250307, 20250312)


def test_accepted_and_too_late_follow_each_landing_days_lookback():
    con = warehouse.connect()
    b = backends.DuckDBBackend(con)
    b.create(
        pipeline.LOADED_DAYS,
        pa.table(
            {
                landing.LANDING: pa.array(
                    [dt.date(2025, 1, d) for d in (1, 2, 3, 4)], pa.date32()
                ),
                "lookback_days": pa.array([1, 1, 0, 2], pa.int64()),
            }
        ),
    )
    records = b.create(
        "records",
        pa.table(
            {
                "id": [1, 2, 3, 4, 5, 6],
                "event_date": pa.array(
                    [dt.date(2025, 1, d) for d in (1, 1, 1, 3, 2, 1)]
                ),
                landing.LANDING: pa.array(
                    [dt.date(2025, 1, d) for d in (1, 2, 3, 3, 4, 4)]
                ),
            }
        ),
    )
    window = pipeline.Window(
        dt.date(2025, 1, 3), dt.date(2025, 1, 4), 2, dt.date(2025, 1, 4)
    )
    ctx = pipeline.Context(b, window, "test")
    # lateness 0, 1, 2, 0, 2, 3 against lookbacks 1, 1, 0, 0, 2, 2
    accepted = sorted(ctx.accepted(records, "event_date").id.to_pyarrow().to_pylist())
    assert accepted == [1, 2, 4, 5]
    late = sorted(ctx.too_late(records, "event_date").id.to_pyarrow().to_pylist())
    assert late == [3, 6]  # both landed in the window (3 and 4 January)


@pytest.mark.parametrize(
    "day_from, day_to, lookback, message",
    [
        ("2025-03-02", "2025-03-01", 3, "before"),
        ("2025-03-01", None, -1, "lookback"),
        ("2025-03-01", None, 1.5, "lookback"),
        ("2031-01-01", None, 3, "nothing landed"),
        ("2025-13-01", None, 3, "not a day"),
    ],
)
def test_a_load_that_cannot_run_says_why_and_writes_nothing(
    tmp_path, day_from, day_to, lookback, message
):
    landing.write_landing_zone(
        tmp_path / "raw", {"events": events()}, {"events": ["event_id"]}
    )
    raw = pipeline.ParquetLayer(tmp_path / "raw")
    con = warehouse.connect()
    never = pipeline.Pipeline("test", {"events": ["event_id"]}, [], lambda ctx: None,
                              lambda ctx, r: None)  # fmt: skip
    with pytest.raises(pipeline.LoadError, match=message):
        pipeline.load(con, never, raw, day_from, day_to, lookback_days=lookback)
    assert con.list_tables() == []


# ---- a signal during a Spark build or load ---------------------------------------------------


class FakeSparkContext:
    def __init__(self):
        self.calls = []

    def setLogLevel(self, level):  # noqa: N802 - Spark's name
        self.calls.append(("log", level))

    def cancelAllJobs(self):  # noqa: N802 - Spark's name
        self.calls.append(
            ("cancel", threading.current_thread() is threading.main_thread())
        )


class FakeSession:
    def __init__(self):
        self.sparkContext = FakeSparkContext()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_cancels_sparks_jobs_and_says_interrupted(signum):
    session = FakeSession()
    previous = signal.getsignal(signum)

    def load():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("the signal did not stop the load")

    with pytest.raises(warehouse.Interrupted) as caught:
        with warehouse._SparkSignals(session) as signals:
            signals.run(load)
    assert caught.value.signum == signum and caught.value.exit_code == 128 + signum
    assert str(caught.value) == "interrupted; nothing was written"
    # cancelled from another thread (the main one may be inside a call to the JVM), log quiet
    assert session.sparkContext.calls == [("log", "OFF"), ("cancel", False)]
    assert signal.getsignal(signum) == previous
    assert not logging.root.manager.disable  # logging is back once the command unwinds


def test_the_error_of_a_cancelled_spark_job_is_reported_as_the_interruption():
    session = FakeSession()

    def load():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except (
            warehouse.Interrupted
        ):  # as if Py4J had turned it into the cancelled job's error
            raise RuntimeError(
                "Job 7 cancelled because SparkContext was shut down"
            ) from None

    with pytest.raises(warehouse.Interrupted) as caught:
        with warehouse._SparkSignals(session) as signals:
            signals.run(load)
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_signal_during_the_swap_waits_until_the_folder_is_in_place(tmp_path):
    session = FakeSession()
    root = tmp_path / "w-spark"
    root.mkdir()
    (root / "old").write_text("old")

    class Backend:  # the load itself is not what this test is about
        def open(self):
            pass

    def run(backend):
        (tmp_path / f"w-spark.tmp-{os.getpid()}" / "new").write_text("new")
        return "report"

    real_replace = os.replace

    def slow_replace(src, dst):  # a signal lands between the two renames of the swap
        if Path(src) == root:
            os.kill(os.getpid(), signal.SIGINT)
        real_replace(src, dst)

    with pytest.raises(warehouse.Interrupted) as caught:
        with (
            warehouse._SparkSignals(session) as signals,
            mock.patch.object(pipeline.os, "replace", slow_replace),
            mock.patch("datamodeling.backends.SparkBackend") as spark_backend,
        ):
            spark_backend.return_value = Backend()
            signals.run(
                lambda: pipeline.load_spark_directory(
                    None, root, run, hold=signals.held
                )
            )
    assert (
        caught.value.written == root
    )  # "the new warehouse was already complete at ..."
    assert (root / "new").read_text() == "new"  # the loaded copy is in place, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "w-spark"
    ]  # no copy, no old folder
