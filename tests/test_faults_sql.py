"""A reader's SQL is one read-only query, on a connection that cannot write, attach or reach files.

Hostile strings go through both doors a reader has: ``check(...)`` in the exercises and the
notebooks' query helper (``con.sql`` on the connection ``open_practice`` returns). Each is
refused with a message naming what was found, and neither the warehouse nor another practice's
file changes by a byte. Correct answers written with CTEs, comments and a trailing semicolon are
still accepted, and Ibis (tables, SQL, memtables, every practice's metrics) works on the locked
connection.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import ibis
import pandas as pd
import pytest

from datamodeling import exercises, registry, safety, warehouse
from datamodeling.exercises import check, compare
from datamodeling.registry import Practice


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def files(fake_practice, tmp_path, monkeypatch):
    """The fake warehouse (opened as the notebooks open it) and another practice's warehouse."""
    monkeypatch.setenv(
        "DATAMODELING_STRICT", "0"
    )  # verdicts, not exceptions (conftest sets 1)
    other = Practice(name="other", title="Another practice", package="fakepractice")
    real = registry.practices
    monkeypatch.setattr(registry, "practices", lambda: {**real(), "other": other})
    db, other_db = tmp_path / "fake.duckdb", tmp_path / "other.duckdb"
    warehouse.build_database("fake", db, scale=200, seed=1)
    warehouse.build_database("other", other_db, scale=50, seed=1)
    reader = warehouse.open_practice("fake", path=db)
    yield reader, db, other_db, tmp_path
    reader.disconnect()


#: (id, SQL, what the refusal names). ``{db}``, ``{other}`` and ``{dir}`` are paths of the test.
HOSTILE = [
    (
        "copy-over-the-warehouse",
        "SELECT 1 AS aov; COPY (SELECT 'x') TO '{db}' (FORMAT csv)",
        "found 2 statements (SELECT, COPY)",
    ),
    ("copy-to-a-file", "COPY thing TO '{dir}/out.csv'", "found COPY"),
    (
        "attach-and-drop",
        "SELECT 1 AS aov; ATTACH '{other}' AS v (READ_WRITE); DROP TABLE v.thing",
        "found 3 statements (SELECT, ATTACH, DROP)",
    ),
    ("attach", "ATTACH '{other}' AS v", "found ATTACH"),
    ("drop", "DROP TABLE thing", "found DROP"),
    ("insert", "INSERT INTO thing VALUES (1000, 1)", "found INSERT"),
    ("delete", "DELETE FROM thing", "found DELETE"),
    ("update", "UPDATE thing SET size = 0", "found UPDATE"),
    ("create", "CREATE TABLE mine AS SELECT 1 AS x", "found CREATE"),
    ("pragma", "PRAGMA enable_progress_bar", "found PRAGMA"),
    ("pragma-read", "PRAGMA database_list", "found PRAGMA"),
    ("set", "SET enable_external_access = true", "found SET"),
    ("reset", "RESET lock_configuration", "found RESET"),
    ("install", "INSTALL httpfs", "found INSTALL"),
    ("load", "LOAD httpfs", "found LOAD"),
    (
        "two-statements",
        "SELECT thing_id, size FROM thing; DROP TABLE thing",
        "found 2 statements (SELECT, DROP)",
    ),
    (
        "hidden-after-a-line-comment",
        "SELECT thing_id, size FROM thing -- fine\n; DROP TABLE thing",
        "found 2 statements (SELECT, DROP)",
    ),
    ("hidden-behind-a-block-comment", "/* SELECT */ DROP TABLE thing", "found DROP"),
    ("export", "EXPORT DATABASE '{dir}/dump'", "found EXPORT"),
    ("import", "IMPORT DATABASE '{dir}'", "found IMPORT"),
    ("checkpoint", "CHECKPOINT", "found CHECKPOINT"),
    ("call", "CALL pragma_version()", "found CALL"),
    ("detach", "DETACH fake", "found DETACH"),
    (
        "pivot-creates-a-type",
        "SELECT * FROM (PIVOT thing ON size USING count(*))",
        "DuckDB reads it as CREATE, SELECT",
    ),
]


@pytest.mark.parametrize("name, sql, found", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_sql_is_refused_by_check_and_the_notebook_helper(
    files, name, sql, found
):
    reader, db, other_db, folder = files
    sql = sql.format(db=db, other=other_db, dir=folder)
    before = {p.name: digest(p) for p in (db, other_db)}
    listing = sorted(p.name for p in folder.iterdir())

    verdict = check("fake.big", sql, reader)  # the exercises' door
    assert verdict.correct is False and found in verdict.message
    assert (
        verdict.message.startswith("refused: ") and "nothing was run" in verdict.message
    )

    def q(query):  # the notebooks' query helper
        return reader.sql(query).to_pandas()

    with pytest.raises(safety.QueryRefused, match="refused: ") as refused:
        q(sql)
    assert found in str(refused.value)

    assert {p.name: digest(p) for p in (db, other_db)} == before
    assert sorted(p.name for p in folder.iterdir()) == listing  # no file written
    assert reader.table("thing").count().execute() == 200  # the connection still works


def test_a_refused_answer_raises_in_strict_mode(files, monkeypatch):
    reader, *_ = files
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    with pytest.raises(exercises.WrongAnswer, match="found 2 statements"):
        check("fake.big", "SELECT 1; DROP TABLE thing", reader)


def test_check_refuses_hostile_sql_even_on_a_writable_connection(
    fake_practice, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATAMODELING_STRICT", "0")
    con = warehouse.connect(tmp_path / "w.duckdb")
    fake_practice.build(con, scale=100, seed=1)
    verdict = check(
        "fake.big", "SELECT thing_id, size FROM thing; DROP TABLE thing", con
    )
    assert not verdict and "found 2 statements (SELECT, DROP)" in verdict.message
    assert "thing" in con.list_tables()
    metric = fake_practice.metrics["total_size"]
    with pytest.raises(safety.QueryRefused, match="found 2 statements"):
        replace(metric, sql=metric.sql + "; DROP TABLE thing").sql_to_pandas(con)
    assert "thing" in con.list_tables()


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT 1) TO '{dir}/out.csv'",
        "ATTACH '{other}' AS v",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT * FROM read_csv('{dir}/notes.csv')",
        "CREATE TABLE mine AS SELECT 1 AS x",
    ],
)
def test_the_engine_refuses_what_the_parser_never_sees(files, statement):
    """Below the parser, the connection itself is read-only and locked (raw_sql bypasses it)."""
    reader, db, other_db, folder = files
    (folder / "notes.csv").write_text("a\n1\n")
    before = {p.name: digest(p) for p in (db, other_db)}
    with pytest.raises(
        duckdb.Error, match="disabled|locked|read-only|Permission|Cannot"
    ):
        reader.raw_sql(statement.format(dir=folder, other=other_db))
    assert {p.name: digest(p) for p in (db, other_db)} == before
    assert not (folder / "out.csv").exists()
    settings = reader.raw_sql(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchone()
    assert settings == (False, True)


CORRECT = [
    "SELECT thing_id, size FROM thing WHERE size > 50",
    "select size, thing_id from thing where size > 50;",
    "-- my answer\nWITH big AS (\n  SELECT thing_id, size FROM thing WHERE size > 50 -- the filter\n)"
    "\n/* both columns */ SELECT * FROM big;  -- done",
    "FROM thing SELECT thing_id, size WHERE size > 50;;",
    "(SELECT thing_id, size FROM thing WHERE size > 50)",
    "SELECT thing_id, size FROM thing WHERE size > 50 AND 'a;b' <> ';'",
]


@pytest.mark.parametrize("sql", CORRECT)
def test_correct_answers_with_ctes_comments_and_semicolons_are_accepted(files, sql):
    reader, *_ = files
    verdict = check("fake.big", sql, reader)
    assert verdict.correct is True, verdict
    assert str(verdict).startswith("✔ Correct")


def test_values_and_a_wrong_answer_still_get_their_verdicts(files):
    reader, *_ = files
    wrong = check("fake.big", "VALUES (1, 2)", reader)
    assert wrong.correct is False and "missing columns" in wrong.message
    assert str(wrong).startswith("✘ Not yet")
    assert str(check("fake.big", None, reader)).startswith("✎ Not answered")
    assert reader.sql("VALUES (1, 'a')").to_pandas().shape == (1, 2)


def test_a_runaway_query_is_stopped_by_the_timeout(files):
    reader, db, *_ = files
    slow = warehouse.open_practice("fake", path=db, timeout=1.0)
    runaway = "SELECT sum(hash(a.range * b.range)) AS s FROM range(1000000) a, range(1000000) b"
    start = time.monotonic()
    with pytest.raises(
        safety.QueryTimeout, match=r"stopped after 1 s.*timeout=SECONDS"
    ):
        slow.sql(runaway).to_pandas()
    print(f"runaway query stopped after {time.monotonic() - start:.2f} s (timeout 1 s)")
    assert slow.sql("SELECT count(*) AS n FROM thing").to_pandas().n.iloc[0] == 200
    slow.disconnect()


# ibis 12 calls duckdb's fetch_record_batch, deprecated in duckdb 1.5 (as fetch_arrow_table is).
@pytest.mark.filterwarnings("ignore:fetch_record_batch:DeprecationWarning")
def test_ibis_works_on_the_locked_connection(files):
    reader, *_ = files
    thing = reader.table("thing")
    assert "thing" in reader.list_tables()
    assert thing.count().execute() == 200
    sizes = pd.DataFrame({"size": [1, 2, 3], "label": ["one", "two", "three"]})
    joined = thing.join(ibis.memtable(sizes), "size").select("thing_id", "label")
    expected = reader.raw_sql(
        "SELECT count(*) FROM thing WHERE size BETWEEN 1 AND 3"
    ).fetchone()[0]
    assert len(joined.to_pandas()) == expected
    assert joined.to_pyarrow().num_rows == expected
    assert sum(b.num_rows for b in joined.to_pyarrow_batches()) == expected
    big = reader.sql("SELECT * FROM thing WHERE size > 50")
    assert (
        big.count().execute()
        == reader.raw_sql("SELECT count(*) FROM thing WHERE size > 50").fetchone()[0]
    )


@pytest.fixture(
    scope="module", params=["ecommerce", "social", "streaming", "rideshare"]
)
def practice_reader(request, tmp_path_factory):
    """Each real practice at the tiny scale, opened as the notebooks open it."""
    name = request.param
    db = tmp_path_factory.mktemp(name) / f"{name}.duckdb"
    warehouse.build_database(name, db, scale="tiny", seed=42)
    reader = warehouse.open_practice(name, path=db, scale="tiny")
    yield registry.get_practice(name), reader
    reader.disconnect()


def test_every_metric_runs_on_the_locked_connection_in_ibis_and_in_sql(practice_reader):
    practice, reader = practice_reader
    assert reader.raw_sql(
        "SELECT current_setting('lock_configuration')"
    ).fetchone() == (True,)
    rows = {}
    for name, metric in practice.metrics.items():
        ibis_result = metric.to_pandas(reader)
        sql_result = metric.sql_to_pandas(reader)
        assert compare(sql_result, ibis_result) is None, name
        rows[name] = len(ibis_result)
    # Not vacuous: most metrics have rows even at the tiny scale (a few, such as ride-sharing's
    # surge bands, may need more data than tiny has).
    assert sum(n > 0 for n in rows.values()) >= len(rows) / 2, rows


def test_every_exercise_reference_passes_the_guard(practice_reader):
    practice, reader = practice_reader
    for name, exercise in practice.exercises.items():
        if isinstance(exercise.answer, str):  # reference SQL runs through the same door
            assert check(name, exercise.answer, reader), name
        elif callable(exercise.answer):
            assert check(name, exercise.answer(reader), reader), name


def test_a_reader_cannot_reach_the_file_system_through_the_helper(files):
    reader, db, other_db, folder = files
    secret = folder / "secret.csv"
    secret.write_text("password\nhunter2\n")
    query = f"SELECT * FROM read_csv('{secret}')"
    assert safety.check_query(query) == query  # a query: the parser lets it through...
    with pytest.raises(duckdb.Error, match="file system operations are disabled"):
        reader.sql(query).to_pandas()  # ...and the engine refuses to open the file
    with pytest.raises(duckdb.Error, match="file system operations are disabled"):
        check("fake.big", query, reader)
