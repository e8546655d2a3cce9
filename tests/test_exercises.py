"""check() accepts a correct answer written differently and names the difference in a wrong one."""

import ibis
import pandas as pd
import pytest

from datamodeling import exercises
from datamodeling.exercises import Exercise, WrongAnswer, check, compare


@pytest.fixture
def con(fake_practice):
    from datamodeling import warehouse

    con = warehouse.connect()
    fake_practice.build(con, scale=200, seed=1)
    return con


def test_correct_answers_in_other_forms_are_accepted(con):
    thing = con.table("thing")
    other_order = (
        thing.filter(thing.size >= 51)
        .select("size", "thing_id")
        .order_by(ibis.desc("size"))
    )
    assert check(
        "fake.big", other_order
    )  # an Ibis expression, other column and row order
    assert check(
        "fake.big", "select size, thing_id from thing where not size <= 50", con
    )
    df = (
        con.sql("SELECT * FROM thing WHERE size > 50")
        .to_pandas()
        .sample(frac=1, random_state=0)
    )
    assert check("fake.big", df, con)
    assert check(
        "fake.grain", ["THING_ID "]
    )  # names are compared case- and space-insensitively


def test_wrong_answers_raise_in_strict_mode_with_the_difference(con, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    with pytest.raises(WrongAnswer, match=r"expected \d+ rows, got \d+"):
        check("fake.big", "SELECT thing_id, size FROM thing WHERE size >= 50", con)
    with pytest.raises(WrongAnswer, match=r"missing columns \['size'\]"):
        check("fake.big", "SELECT thing_id FROM thing WHERE size > 50", con)
    with pytest.raises(WrongAnswer, match="not part of it: \\['size'\\]"):
        check("fake.grain", ["thing_id", "size"])


def test_wrong_answer_returns_a_verdict_outside_strict_mode(con, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "0")
    verdict = check(
        "fake.big", "SELECT thing_id, size + 1 AS size FROM thing WHERE size > 50", con
    )
    assert not verdict and verdict.correct is False
    assert "rows differ" in verdict.message and "expected:" in verdict.message
    assert "Not yet" in str(verdict)


def test_unanswered_never_raises(con, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    verdict = check("fake.big", None)
    assert verdict.correct is None and not verdict
    assert check("fake.big", "   ").correct is None


def test_unknown_exercise_names_the_known_ones(fake_practice):
    with pytest.raises(KeyError, match="fake.big"):
        check("fake.nope", "select 1")


def test_use_sets_the_default_connection(con):
    exercises.use(con)
    try:
        assert check("fake.big", "SELECT thing_id, size FROM thing WHERE size > 50")
    finally:
        exercises.use(None)


def test_compare_order_and_tolerance():
    a = pd.DataFrame({"k": [1, 2], "v": [1.0, 2.0]})
    assert compare(a, a.iloc[::-1]) is None
    assert "in the required order" in compare(a, a.iloc[::-1], order_matters=True)
    assert compare(a, a.assign(v=[1.0, 2.0 + 1e-9])) is None
    assert "rows differ" in compare(a, a.assign(v=[1.0, 2.001]))
    assert compare(a.assign(v=[1, 2]), a) is None  # ints and floats of equal value
    nulls = pd.DataFrame({"k": [1, None], "s": ["x", None]})
    assert compare(nulls, nulls.iloc[::-1]) is None


def test_check_accepts_an_exercise_object():
    ex = Exercise("adhoc.x", "one row", lambda con: pd.DataFrame({"x": [1]}))
    assert check(ex, pd.DataFrame({"x": [1.0]}))


def test_ids_compare_exactly_and_atol_loosens_floats():
    ids = pd.DataFrame({"trip_id": [1_000_002.0], "lag_seconds": [133.72]})
    assert "rows differ" in compare(
        ids, ids.assign(trip_id=[1_000_003.0])
    )  # no relative slack
    whole_seconds = ids.assign(lag_seconds=[134.0])
    assert "rows differ" in compare(ids, whole_seconds)
    assert compare(ids, whole_seconds, atol=1.0) is None


def test_verdict_marks_need_no_emoji_font():
    marks = {
        str(exercises.Verdict("x.y", value, "m")).split(" — ")[0]
        for value in (True, False, None)
    }
    assert marks == {"✔ Correct", "✘ Not yet", "✎ Not answered"}
    for (
        mark
    ) in marks:  # Dingbats (U+2700-U+27BF) are in plain text fonts; no emoji planes
        assert all(ord(ch) < 0x1F000 and ch not in "\u2705\u274c\ufe0f" for ch in mark)
