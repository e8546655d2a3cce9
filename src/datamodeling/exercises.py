"""Check a reader's answer to an interview exercise, and say what differs.

An exercise has a reference answer: a function of the connection returning an Ibis table (or a
SQL string, or a collection such as "the columns of the grain"). A reader answers with an Ibis
expression, a SQL string, a DataFrame or a collection; :func:`check` runs both and compares them
as a reviewer would: column names must match (order free), rows are compared as a multiset
unless the order is part of the question, and numbers are compared with a small tolerance.

>>> import pandas as pd
>>> expected = pd.DataFrame({"city": ["Oslo", "Rome"], "revenue": [10.0, 5.0]})
>>> compare(expected, expected[["revenue", "city"]].iloc[::-1]) is None
True
>>> print(compare(expected, expected.assign(revenue=[10.0, 6.0])))
1 of 2 rows differ. First differing rows (expected vs yours):
  expected: {'city': 'Rome', 'revenue': 5.0}
  yours:    {'city': 'Rome', 'revenue': 6.0}
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from datamodeling.safety import QueryRefused, check_query

STRICT_ENV = "DATAMODELING_STRICT"
_default_con = None


class WrongAnswer(AssertionError):
    """Raised for a wrong answer when ``DATAMODELING_STRICT=1`` (tests and book builds)."""


@dataclass(frozen=True)
class Exercise:
    """An interview exercise: its name (``practice.short``), question and reference answer."""

    name: str
    question: str
    answer: Callable | str | Collection
    order_matters: bool = False
    hint: str = ""
    rtol: float = 1e-6
    #: Absolute tolerance for float columns, e.g. 1.0 when whole seconds are as good as fractions.
    atol: float = 1e-9


@dataclass
class Verdict:
    """The outcome of :func:`check`; true when the answer is correct."""

    name: str
    correct: bool | None  # None: not answered yet
    message: str

    def __bool__(self) -> bool:
        return bool(self.correct)

    def __str__(self) -> str:
        # Marks from the Dingbats block, which plain text fonts carry (no emoji font needed).
        mark = {True: "✔ Correct", False: "✘ Not yet", None: "✎ Not answered"}[
            self.correct
        ]
        return f"{mark} — {self.name}: {self.message}"

    __repr__ = __str__


def use(con) -> None:
    """Set the connection that SQL answers run on when ``check`` is given none."""
    global _default_con
    _default_con = con


def _lookup(name: str) -> Exercise:
    from datamodeling.registry import get_practice

    practice, _, _ = name.partition(".")
    exercises = get_practice(practice).exercises
    if name not in exercises:
        known = ", ".join(sorted(exercises)) or "none"
        raise KeyError(f"no exercise {name!r}; this practice has: {known}")
    return exercises[name]


def _to_frame(answer, con) -> pd.DataFrame:
    """Run an answer (Ibis expression, SQL string, DataFrame) and return a DataFrame."""
    if isinstance(answer, pd.DataFrame):
        return answer.reset_index(drop=True)
    if isinstance(answer, str):
        if con is None:
            raise ValueError("a SQL answer needs a connection: check(name, sql, con)")
        return con.sql(
            check_query(answer)
        ).to_pandas()  # one read-only query, or refused
    if hasattr(answer, "to_pandas") and hasattr(answer, "columns"):
        return answer.to_pandas()
    if callable(answer):
        return _to_frame(answer(con), con)
    raise TypeError(f"cannot check an answer of type {type(answer).__name__}")


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.astype("float64")
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = pd.to_datetime(s).dt.tz_localize(None).astype("datetime64[us]")
        elif (
            s.dtype == object
            and len(s.dropna())
            and all(isinstance(v, (int, float, Decimal)) for v in s.dropna())
        ):  # DECIMAL results arrive as Python Decimals
            out[col] = s.astype("float64")
        elif (
            s.dtype == object
            and len(s.dropna())
            and hasattr(s.dropna().iloc[0], "isoformat")
        ):
            out[col] = pd.to_datetime(s).astype("datetime64[us]")
        else:
            out[col] = s.astype("string")
    return out


def _sort(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(
        list(df.columns), na_position="last", kind="mergesort"
    ).reset_index(drop=True)


def compare(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    *,
    order_matters: bool = False,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> str | None:
    """``None`` when the two frames hold the same rows, else a message naming the first difference."""
    missing = [c for c in expected.columns if c not in actual.columns]
    extra = [c for c in actual.columns if c not in expected.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if extra:
            parts.append(f"unexpected columns {extra}")
        return "; ".join(parts) + f" (expected columns: {list(expected.columns)})"
    if len(expected) != len(actual):
        return f"expected {len(expected):,} rows, got {len(actual):,}"
    cols = list(expected.columns)
    exp, act = _normalise(expected[cols]), _normalise(actual[cols])
    if not order_matters:
        exp, act = _sort(exp), _sort(act)
    else:
        exp, act = exp.reset_index(drop=True), act.reset_index(drop=True)
    differs = np.zeros(len(exp), dtype=bool)
    for col in cols:
        e, a = exp[col], act[col]
        if pd.api.types.is_float_dtype(e) and pd.api.types.is_float_dtype(a):
            ev, av = e.to_numpy(dtype=float), a.to_numpy(dtype=float)
            if _whole_numbers(ev) and _whole_numbers(av):
                tolerance = {"rtol": 0.0, "atol": 0.0}  # ids and counts: exactly equal
            else:
                tolerance = {"rtol": rtol, "atol": atol}
            differs |= ~np.isclose(ev, av, equal_nan=True, **tolerance)
        else:
            same = (e.astype("string") == a.astype("string")).fillna(False)
            same |= e.isna().to_numpy() & a.isna().to_numpy()
            differs |= ~same.to_numpy(dtype=bool)
    if not differs.any():
        return None
    first = int(np.argmax(differs))
    order_note = " (in the required order)" if order_matters else ""
    return (
        f"{int(differs.sum()):,} of {len(exp):,} rows differ{order_note}. "
        f"First differing rows (expected vs yours):\n"
        f"  expected: {_row(exp, first)}\n"
        f"  yours:    {_row(act, first)}"
    )


def _whole_numbers(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and bool(np.all(finite == np.round(finite)))


def _row(normalised: pd.DataFrame, i: int) -> dict:
    row = normalised.iloc[i].to_dict()
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}


def _compare_collections(expected: Collection, actual) -> str | None:
    if isinstance(actual, str) or not isinstance(actual, Collection):
        return f"answer with a list of names, e.g. {sorted(map(str, expected))[:1]}"
    want = {str(x).strip().lower() for x in expected}
    got = {str(x).strip().lower() for x in actual}
    if want == got:
        return None
    parts = []
    if want - got:
        parts.append(f"{len(want - got)} missing")
    if got - want:
        parts.append(f"not part of it: {sorted(got - want)}")
    return "; ".join(parts)


def check(name: str | Exercise, answer, con=None) -> Verdict:
    """Compare ``answer`` with the reference answer of exercise ``name`` and explain.

    ``name`` is ``"practice.short"`` or an :class:`Exercise`. ``answer`` may be an Ibis
    expression, a SQL string (run on ``con`` or the connection set with :func:`use`), a
    DataFrame, or a list of names for "which columns" questions. ``None`` means not answered yet.
    A SQL answer must be one read-only query (:func:`datamodeling.safety.check_query`): anything
    else is not run, and the verdict says what was found. With ``DATAMODELING_STRICT=1`` a wrong
    answer raises :class:`WrongAnswer`.
    """
    exercise = name if isinstance(name, Exercise) else _lookup(name)
    name = exercise.name
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return Verdict(
            name, None, "write your answer in the cell above, then run it again"
        )
    con = con if con is not None else _default_con
    if con is None and hasattr(answer, "_find_backend"):
        con = answer._find_backend()
    reference = exercise.answer
    if isinstance(reference, Collection) and not isinstance(reference, str):
        problem = _compare_collections(reference, answer)
    else:
        expected = _to_frame(reference, con)
        try:
            actual = _to_frame(answer, con)
        except (
            QueryRefused
        ) as exc:  # not a wrong answer, but not one that may run either
            actual, problem = None, str(exc)
        if actual is not None:
            problem = compare(
                expected,
                actual,
                order_matters=exercise.order_matters,
                rtol=exercise.rtol,
                atol=exercise.atol,
            )
    if problem is None:
        return Verdict(name, True, "your answer matches the reference")
    verdict = Verdict(name, False, problem)
    if os.environ.get(STRICT_ENV) == "1":
        raise WrongAnswer(str(verdict))
    return verdict
