"""Data quality checks that explain themselves.

Every check returns a :class:`CheckResult`: its name, whether it passed, how many rows break it,
a one-line explanation and a sample of offending rows. :func:`check_model` runs the checks that a
table's declaration in ``schema.py`` implies (unique primary key, not-null columns, foreign keys,
SCD2 ranges), the way dbt's ``unique``/``not_null``/``relationships`` tests do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from datamodeling.scd2 import END_OF_TIME

SAMPLE_ROWS = 5


class QualityError(AssertionError):
    """Raised by :meth:`Report.raise_for_failures` when a check fails."""


@dataclass
class CheckResult:
    name: str
    passed: bool
    failures: int
    detail: str
    sample: pd.DataFrame | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        return f"[{mark}] {self.name}: {self.detail}"

    def _repr_html_(self) -> str:
        colour = "#15803d" if self.passed else "#b91c1c"
        html = f"<p style='color:{colour}'><b>{'✔' if self.passed else '✘'} {self.name}</b>: "
        html += f"{self.detail}</p>"
        if self.sample is not None and not self.passed:
            html += self.sample.to_html(index=False)
        return html


class Report(list):
    """A list of :class:`CheckResult` with a summary."""

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self if not r.passed]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "check": r.name,
                    "passed": r.passed,
                    "failures": r.failures,
                    "detail": r.detail,
                }
                for r in self
            ]
        )

    def raise_for_failures(self) -> Report:
        if self.failed:
            raise QualityError("; ".join(str(r) for r in self.failed))
        return self

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def _cols(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _name(table: ir.Table) -> str:
    try:
        name = table.get_name()
    except Exception:  # an expression, not a named table
        return "table"
    return "table" if name.startswith("ibis_") else name


def _result(name: str, bad: ir.Table, ok_text: str, bad_text: str) -> CheckResult:
    failures = int(bad.count().execute())
    sample = bad.limit(SAMPLE_ROWS).to_pandas() if failures else None
    detail = ok_text if failures == 0 else bad_text.format(n=failures)
    return CheckResult(name, failures == 0, failures, detail, sample)


def unique(
    table: ir.Table, columns: str | Sequence[str], name: str | None = None
) -> CheckResult:
    """No two rows share the same values of ``columns``."""
    cols = _cols(columns)
    dupes = table.group_by(cols).agg(rows=table.count())
    dupes = dupes.filter(dupes.rows > 1)
    label = name or f"unique({_name(table)}: {', '.join(cols)})"
    return _result(
        label, dupes, "every value is unique", "{n} values appear more than once"
    )


def not_null(
    table: ir.Table, columns: str | Sequence[str], name: str | None = None
) -> CheckResult:
    """None of ``columns`` is null."""
    cols = _cols(columns)
    bad = table.filter(ibis.or_(*[table[c].isnull() for c in cols]))
    label = name or f"not_null({_name(table)}: {', '.join(cols)})"
    return _result(label, bad, "no nulls", "{n} rows have a null")


def relationships(
    child: ir.Table,
    columns: str | Sequence[str],
    parent: ir.Table,
    ref_columns: str | Sequence[str] | None = None,
    name: str | None = None,
) -> CheckResult:
    """Every non-null foreign key of ``child`` exists in ``parent`` (no orphans)."""
    cols = _cols(columns)
    refs = _cols(ref_columns) if ref_columns is not None else cols
    keys = parent.select(
        *[parent[r].name(f"_ref_{i}") for i, r in enumerate(refs)]
    ).distinct()
    present = child.filter(ibis.and_(*[child[c].notnull() for c in cols]))
    orphans = present.anti_join(
        keys, [present[c] == keys[f"_ref_{i}"] for i, c in enumerate(cols)]
    )
    orphans = orphans.group_by(cols).agg(rows=orphans.count())
    label = name or (
        f"relationships({_name(child)}.{', '.join(cols)} → {_name(parent)}.{', '.join(refs)})"
    )
    return _result(label, orphans, "no orphans", "{n} key values have no parent row")


def accepted_values(
    table: ir.Table, column: str, values: Iterable, name: str | None = None
) -> CheckResult:
    """Every non-null value of ``column`` is one of ``values``."""
    allowed = list(values)
    bad = table.filter(table[column].notnull() & ~table[column].isin(allowed))
    bad = bad.group_by(column).agg(rows=bad.count())
    label = name or f"accepted_values({_name(table)}.{column})"
    return _result(label, bad, f"all values in {allowed}", "{n} unexpected values")


def expression_is_true(table: ir.Table, predicate, name: str) -> CheckResult:
    """Every row satisfies ``predicate`` (an Ibis boolean expression or a function of the table)."""
    condition = predicate(table) if callable(predicate) else predicate
    bad = table.filter(~condition.fill_null(False))
    return _result(name, bad, "holds on every row", "{n} rows break it")


def scd2_ranges(
    table: ir.Table,
    key: str | Sequence[str],
    *,
    valid_from: str = "valid_from",
    valid_to: str = "valid_to",
    is_current: str = "is_current",
    name: str | None = None,
) -> CheckResult:
    """SCD2 validity ranges are well formed.

    Per business key: every range is non-empty (``valid_from < valid_to``), ranges never overlap,
    there is no gap between consecutive versions (a deleted key keeps a final version flagged
    ``is_deleted``, so deletions leave no gap either), at most one row is current, and the current
    row is the last one and ends on ``9999-12-31``.
    """
    keys = _cols(key)
    w = ibis.window(group_by=keys, order_by=valid_from)
    t = table.mutate(_next_from=table[valid_from].lead().over(w))
    end = ibis.literal(END_OF_TIME)
    problem = ibis.cases(
        (t[valid_from] >= t[valid_to], "empty range"),
        (
            t._next_from.notnull() & (t._next_from < t[valid_to]),
            "overlaps the next version",
        ),
        (
            t._next_from.notnull() & (t._next_from > t[valid_to]),
            "gap before the next version",
        ),
        (
            t[is_current] & (t[valid_to] != end),
            "current row does not end on 9999-12-31",
        ),
        (
            ~t[is_current] & (t[valid_to] == end),
            "row ends on 9999-12-31 but is not current",
        ),
        (t[is_current] & t._next_from.notnull(), "current row is not the last version"),
        else_=ibis.null("string"),
    )
    bad = t.mutate(problem=problem).filter(lambda x: x.problem.notnull())
    bad = bad.select(*keys, valid_from, valid_to, is_current, "problem")
    label = name or f"scd2_ranges({_name(table)}: {', '.join(keys)})"
    return _result(
        label,
        bad,
        "ranges are half-open, contiguous and end in one current row",
        "{n} rows have a bad range",
    )


def reconcile(source: str, rows_in: int, loaded: int, quarantined: int) -> CheckResult:
    """Rows in = rows loaded + rows quarantined: nothing was dropped silently."""
    missing = int(rows_in) - int(loaded) - int(quarantined)
    detail = f"{rows_in:,} in = {loaded:,} loaded + {quarantined:,} quarantined"
    if missing:
        detail = f"{rows_in:,} in but {loaded:,} loaded + {quarantined:,} quarantined ({missing:+,})"
    return CheckResult(f"reconcile({source})", missing == 0, abs(missing), detail)


def split_valid(
    table: ir.Table, rules: Mapping[str, ir.BooleanValue | callable]
) -> tuple[ir.Table, ir.Table]:
    """Split ``table`` into rows that pass every rule and rows to quarantine.

    ``rules`` maps a reason to a predicate that is *true for a bad row* (or a function of the
    table returning one). The quarantined rows carry ``reason``: the first rule they break.
    The two parts always add up to the input.
    """
    reason = ibis.null("string")
    for text, predicate in reversed(list(rules.items())):
        condition = predicate(table) if callable(predicate) else predicate
        reason = ibis.ifelse(condition.fill_null(False), ibis.literal(text), reason)
    tagged = table.mutate(reason=reason)
    valid = tagged.filter(tagged.reason.isnull()).drop("reason")
    quarantined = tagged.filter(tagged.reason.notnull())
    return valid, quarantined


def special_members(table: ir.Table, key: str, name: str | None = None) -> CheckResult:
    """The dimension holds its reserved Unknown (-1) and Not applicable (-2) rows."""
    from datamodeling.schema import SPECIAL_MEMBERS

    wanted = ibis.memtable({key: list(SPECIAL_MEMBERS)}).cast({key: table[key].type()})
    missing = wanted.anti_join(table, key)
    return _result(
        name or f"special_members({_name(table)})",
        missing,
        "has its Unknown (-1) and Not applicable (-2) members",
        "{n} of the reserved members are missing",
    )


def check_model(
    con, tables: Iterable, *, skip: Iterable[str] = (), conventions: bool = True
) -> Report:
    """Run the checks each declared table implies, against the tables in ``con``.

    Primary key unique and not null, NOT NULL columns, foreign keys (to the referenced table's
    columns; a point-in-time reference is checked against the business key), SCD2 ranges, and
    the book's conventions (book/conventions.md): every dimension with a single integer key has
    its Unknown and Not applicable members, and no foreign key of a fact is NULL.
    ``conventions=False`` leaves those two out, for a model still being moved to them.
    """
    declared = {t.name: t for t in tables}
    skipped = set(skip)
    report = Report()

    def load(decl):
        return (
            con.table(decl.name, database=decl.database)
            if decl.database
            else con.table(decl.name)
        )

    for decl in declared.values():
        if decl.name in skipped:
            continue
        table = load(decl)
        if decl.primary_key:
            report.append(
                unique(table, decl.primary_key, f"{decl.name}: primary key unique")
            )
        required = [c.name for c in decl.columns if not c.nullable]
        if required:
            report.append(
                not_null(table, required, f"{decl.name}: required columns not null")
            )
        if (
            conventions
            and decl.role == "dimension"
            and len(decl.primary_key) == 1
            and decl.column(decl.primary_key[0]).ibis_type.is_integer()
        ):
            report.append(
                special_members(
                    table,
                    decl.primary_key[0],
                    f"{decl.name}: Unknown and Not applicable members",
                )
            )
        if conventions and decl.role == "fact":
            fk_columns = sorted({c for fk in decl.foreign_keys for c in fk.cols})
            if fk_columns:
                report.append(
                    not_null(table, fk_columns, f"{decl.name}: no foreign key is NULL")
                )
        for fk in decl.foreign_keys:
            parent_decl = declared.get(fk.table)
            if parent_decl is None or fk.table in skipped:
                continue
            report.append(
                relationships(
                    table,
                    fk.cols,
                    load(parent_decl),
                    fk.ref_cols,
                    f"{decl.name}.{', '.join(fk.cols)} → {fk.table}",
                )
            )
        if decl.scd_type == 2:
            vf, vt, cur = decl.validity
            report.append(
                scd2_ranges(
                    table,
                    decl.business_key,
                    valid_from=vf,
                    valid_to=vt,
                    is_current=cur,
                    name=f"{decl.name}: SCD2 ranges",
                )
            )
    return report
