"""How practices and their metrics register themselves.

A practice is a sub-package of ``datamodeling`` whose ``__init__`` defines ``PRACTICE``. The CLI
and the book find practices by looking for that attribute, so adding a practice needs no change
anywhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis

from datamodeling import synth


class UnknownPracticeError(LookupError):
    """A practice name that no sub-package registers."""


@dataclass(frozen=True)
class Metric:
    """One metric: the requirement it answers, its definition, its Ibis code and its SQL.

    ``compute(con)`` returns an ``ibis.Table``; ``sql`` is the query a candidate would write in an
    interview, run against the same warehouse. Tests assert both give the same rows.
    ``order_by`` names the columns that identify a row, used to sort both results.
    """

    name: str
    requirement: str
    definition: str
    compute: Callable[..., ibis.Table]
    sql: str
    order_by: tuple[str, ...] = ()

    def table(self, con, **params) -> ibis.Table:
        return self.compute(con, **params)

    def to_pandas(self, con, **params):
        expr = self.table(con, **params)
        if self.order_by:
            expr = expr.order_by(list(self.order_by))
        return expr.to_pandas()

    def sql_to_pandas(self, con):
        """Run the hand-written SQL, checked as a reader's query is (one read-only statement)."""
        from datamodeling.safety import check_query

        df = con.sql(check_query(self.sql)).to_pandas()
        if self.order_by:
            df = df.sort_values(list(self.order_by), ignore_index=True)
        return df


@dataclass
class BuildReport:
    """What a build did: rows per table and, per raw source, rows in / loaded / quarantined."""

    practice: str
    scale_rows: int
    seed: int
    tables: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Set by ``warehouse.build_database``: where the old file was kept when it held tables the
    #: build did not create, and the leftover temporary files of killed builds it removed.
    kept_aside: Any = None
    removed_leftovers: list = field(default_factory=list)

    @classmethod
    def start(cls, practice: str, scale=None, seed: int | None = None) -> BuildReport:
        """An empty report for a build: the scale resolved to rows, the seed checked (default 42).

        Raises ``synth.ScaleError`` or ``synth.SeedError`` before any work is done.
        """
        return cls(practice, synth.resolve_scale(scale), synth.resolve_seed(seed))

    def add_source(
        self, name: str, rows_in: int, loaded: int, quarantined: int
    ) -> None:
        self.sources[name] = {
            "rows_in": rows_in,
            "loaded": loaded,
            "quarantined": quarantined,
        }

    def reconciles(self) -> bool:
        return not self.unreconciled()

    def unreconciled(self) -> list[str]:
        """Sources whose rows in differ from rows loaded + rows quarantined."""
        return [
            name
            for name, s in self.sources.items()
            if s["rows_in"] != s["loaded"] + s["quarantined"]
        ]


@dataclass(frozen=True)
class Practice:
    """A case study: its name, title, and the module holding ``schema/generate/build/metrics``."""

    name: str
    title: str
    package: str

    def module(self, part: str):
        return importlib.import_module(f"{self.package}.{part}")

    @property
    def tables(self) -> list:
        return list(self.module("schema").TABLES)

    @property
    def metrics(self) -> Mapping[str, Metric]:
        return self.module("metrics").METRICS

    @property
    def exercises(self) -> Mapping[str, Any]:
        return getattr(self.module("metrics"), "EXERCISES", {})

    def build(self, con, scale=None, seed=None, progress=None) -> BuildReport:
        return self.module("build").build(
            con, scale=scale, seed=seed, progress=progress
        )


def practices() -> dict[str, Practice]:
    """Every registered practice, by name, in a stable order."""
    import datamodeling

    found: dict[str, Practice] = {}
    for info in sorted(
        pkgutil.iter_modules(datamodeling.__path__), key=lambda i: i.name
    ):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"datamodeling.{info.name}")
        practice = getattr(module, "PRACTICE", None)
        if isinstance(practice, Practice):
            found[practice.name] = practice
    return found


def get_practice(name: str) -> Practice:
    known = practices()
    if name not in known:
        choices = ", ".join(known) or "none registered"
        raise UnknownPracticeError(
            f"unknown practice {name!r}: choose one of {choices}"
        )
    return known[name]
