"""Declare a table once; derive its DDL, Ibis schema, ER diagram and data dictionary from it.

>>> store = Table(
...     "store", role="dimension", scd_type=1,
...     grain="One row per store.",
...     columns=[
...         Column("store_id", "int64", "Store number from the point-of-sale system.", nullable=False),
...         Column("city", "string", "City the store is in."),
...     ],
...     primary_key=["store_id"], business_key=["store_id"],
... )
>>> print(store.ddl())
CREATE TABLE store (
    store_id BIGINT NOT NULL,
    city TEXT,
    PRIMARY KEY (store_id)
);
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import pandas as pd

ROLES = ("dimension", "fact", "aggregate", "bridge", "raw")

#: Reserved keys of every dimension (DESIGN.md): a fact whose reference cannot be resolved points
#: at Unknown, a fact for which the reference does not apply points at Not applicable. Real keys
#: (ids, hashes, yyyymmdd dates) are never negative... except hashes, which check_model guards.
UNKNOWN_KEY = -1
NOT_APPLICABLE_KEY = -2
SPECIAL_MEMBERS = {UNKNOWN_KEY: "Unknown", NOT_APPLICABLE_KEY: "Not applicable"}
ROLE_COLORS = {
    "dimension": "#dbeafe",
    "fact": "#fde68a",
    "aggregate": "#d1fae5",
    "bridge": "#ede9fe",
    "raw": "#e5e7eb",
}


@dataclass(frozen=True)
class Column:
    """A column: name, Ibis type string (``int64``, ``string``, ``decimal(12, 2)``...), meaning."""

    name: str
    dtype: str
    description: str
    nullable: bool = True

    @property
    def ibis_type(self) -> dt.DataType:
        return dt.dtype(self.dtype).copy(nullable=self.nullable)


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of this table reference ``ref_columns`` (default: the same names) of ``table``."""

    columns: tuple[str, ...] | str
    table: str
    ref_columns: tuple[str, ...] | str | None = None
    #: For an SCD2 reference through the business key: the join also needs a time, so it is
    #: drawn dashed in the ER diagram and checked against the business key.
    point_in_time: bool = False

    @property
    def cols(self) -> tuple[str, ...]:
        return (self.columns,) if isinstance(self.columns, str) else tuple(self.columns)

    @property
    def ref_cols(self) -> tuple[str, ...]:
        if self.ref_columns is None:
            return self.cols
        return (self.ref_columns,) if isinstance(self.ref_columns, str) else tuple(self.ref_columns)


@dataclass(frozen=True)
class Table:
    """One table of the model, declared once."""

    name: str
    role: str
    grain: str
    columns: Sequence[Column]
    primary_key: Sequence[str] = ()
    business_key: Sequence[str] = ()
    foreign_keys: Sequence[ForeignKey] = ()
    scd_type: int | None = None
    description: str = ""
    #: Database schema the table lives in: ``None`` for the main schema, or ``raw``/``mart``.
    database: str | None = None
    #: Columns that are SCD2 bookkeeping (valid_from, valid_to, is_current) when scd_type == 2.
    validity: tuple[str, str, str] = ("valid_from", "valid_to", "is_current")
    notes: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"{self.name}: role must be one of {ROLES}, got {self.role!r}")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names")
        referenced = [*self.primary_key, *self.business_key]
        for fk in self.foreign_keys:
            referenced.extend(fk.cols)
        if self.scd_type == 2:
            referenced.extend(self.validity)
        missing = sorted(set(referenced) - set(names))
        if missing:
            raise ValueError(f"{self.name}: keys name unknown columns {missing}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.name}" if self.database else self.name

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({c.name: c.ibis_type for c in self.columns})

    def special_members(self) -> pd.DataFrame:
        """The dimension's two reserved rows: Unknown (-1) and Not applicable (-2).

        Integer key columns (primary and business key) take the reserved number, string columns
        the member's name, flags false (``is_current`` true), validity ranges all time, every
        other column NULL. A NOT NULL column that can hold none of these is an error in the
        declaration: make it nullable, since the reserved rows describe nothing real.
        """
        from datamodeling.scd2 import BEGINNING_OF_TIME, END_OF_TIME

        keys = {*self.primary_key, *self.business_key}
        rows = []
        for number, label in SPECIAL_MEMBERS.items():
            row = {}
            for c in self.columns:
                t = c.ibis_type
                if c.name in keys and t.is_integer():
                    row[c.name] = number
                elif t.is_string():
                    row[c.name] = label
                elif t.is_boolean():
                    row[c.name] = c.name == "is_current"
                elif c.name == self.validity[0]:
                    row[c.name] = BEGINNING_OF_TIME
                elif c.name == self.validity[1]:
                    row[c.name] = END_OF_TIME
                elif not c.nullable:
                    raise ValueError(
                        f"{self.name}.{c.name} is NOT NULL but the Unknown and Not applicable "
                        "members have no value for it: declare it nullable"
                    )
                else:
                    row[c.name] = None
            rows.append(row)
        frame = pd.DataFrame(rows, columns=self.column_names)
        return frame.astype({c.name: _pandas_dtype(c.ibis_type) for c in self.columns})

    def with_special_members(self, table):
        """``table`` (an Ibis table with this declaration's columns) plus the two reserved rows."""
        special = ibis.memtable(self.special_members()).cast(self.ibis_schema())
        return table.select(self.column_names).cast(self.ibis_schema()).union(special)

    def empty(self) -> pd.DataFrame:
        """An empty DataFrame with this table's columns and types."""
        return pd.DataFrame(
            {c.name: pd.Series(dtype=_pandas_dtype(c.ibis_type)) for c in self.columns}
        )

    def ddl(self, dialect: str = "duckdb", constraints: bool = True) -> str:
        """``CREATE TABLE`` for ``dialect`` (any sqlglot dialect), with keys as constraints."""
        import sqlglot

        lines = []
        for c in self.columns:
            sql_type = _duckdb_type(c.ibis_type)
            lines.append(f"    {c.name} {sql_type}{'' if c.nullable else ' NOT NULL'}")
        if constraints and self.primary_key:
            lines.append(f"    PRIMARY KEY ({', '.join(self.primary_key)})")
        body = ",\n".join(lines)
        ddl = f"CREATE TABLE {self.qualified_name} (\n{body}\n);"
        if dialect != "duckdb":
            ddl = sqlglot.transpile(ddl, read="duckdb", write=dialect, pretty=True)[0] + ";"
        return ddl

    def dictionary(self) -> pd.DataFrame:
        """One row per column: name, type, key marks and description."""
        fk_of = {col: fk.table for fk in self.foreign_keys for col in fk.cols}
        rows = []
        for c in self.columns:
            marks = []
            if c.name in self.primary_key:
                marks.append("PK")
            if c.name in self.business_key:
                marks.append("BK")
            if c.name in fk_of:
                marks.append(f"FK → {fk_of[c.name]}")
            rows.append(
                {
                    "column": c.name,
                    "type": c.dtype,
                    "keys": ", ".join(marks),
                    "nullable": "yes" if c.nullable else "no",
                    "description": c.description,
                }
            )
        return pd.DataFrame(rows)


def _duckdb_type(t: dt.DataType) -> str:
    from ibis.backends.sql.datatypes import DuckDBType

    return DuckDBType.from_ibis(t.copy(nullable=True)).sql("duckdb")


def _pandas_dtype(t: dt.DataType) -> str:
    if t.is_integer():
        return "Int64"
    if t.is_floating() or t.is_decimal():
        return "float64"
    if t.is_boolean():
        return "boolean"
    if t.is_timestamp():
        return "datetime64[us]"
    if t.is_date():
        return "datetime64[s]"
    return "object"


def data_dictionary(tables: Iterable[Table]) -> pd.DataFrame:
    """The book's data dictionary: one row per table and column."""
    frames = []
    for t in tables:
        d = t.dictionary()
        d.insert(0, "table", t.qualified_name)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def summary(tables: Iterable[Table]) -> pd.DataFrame:
    """One row per table: role, grain, keys and SCD type (``datamodeling describe``)."""
    return pd.DataFrame(
        [
            {
                "table": t.qualified_name,
                "role": t.role,
                "grain": t.grain,
                "primary key": ", ".join(t.primary_key),
                "business key": ", ".join(t.business_key),
                "scd": f"type {t.scd_type}" if t.scd_type is not None else "",
            }
            for t in tables
        ]
    )


def er_diagram(tables: Sequence[Table], title: str | None = None, *, show_types: bool = True):
    """A Graphviz ER diagram: one box per table with PK/FK marks, one edge per foreign key.

    Returns a ``graphviz.Digraph``; in a notebook it displays as SVG, and ``.pipe("svg")`` gives
    the SVG bytes. Facts are yellow, dimensions blue, aggregates green. An edge joins the referenced
    key (left) to the referencing column (right), with a crow's foot on the "many" side; a dashed
    edge is a point-in-time reference through an SCD2 business key.
    """
    import graphviz

    names = {t.name for t in tables}
    graph = graphviz.Digraph(
        name=title or "er",
        graph_attr={
            "rankdir": "LR",
            "splines": "spline",
            "nodesep": "0.35",
            "ranksep": "1.1",
            "fontname": "Helvetica",
            "fontsize": "14",
            "labelloc": "t",
            "label": title or "",
            "bgcolor": "white",
        },
        node_attr={"shape": "plaintext", "fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"color": "#475569"},
    )
    for t in tables:
        graph.node(t.name, label=_table_label(t, show_types))
    for t in tables:
        for fk in t.foreign_keys:
            if fk.table not in names:
                continue
            target = tables[[x.name for x in tables].index(fk.table)]
            port = fk.ref_cols[0] if fk.ref_cols[0] in target.column_names else None
            # Drawn from the referenced (one) side to the referencing (many) side, so dot ranks
            # dimensions left of the facts that use them and every edge runs left to right.
            graph.edge(
                f"{fk.table}:{port}_out:e" if port else fk.table,
                f"{t.name}:{fk.cols[0]}_in:w",
                arrowhead="crow",
                arrowtail="none",
                style="dashed" if fk.point_in_time else "solid",
                tooltip=f"{t.name}.{', '.join(fk.cols)} → {fk.table}.{', '.join(fk.ref_cols)}",
            )
    return graph


def _font(text: str, colour: str) -> str:
    # Graphviz rejects an empty <FONT> element, so an empty cell gets a plain space.
    return f"<FONT COLOR='{colour}'>{text}</FONT>" if text else " "


def _table_label(t: Table, show_types: bool) -> str:
    fk_cols = {col for fk in t.foreign_keys for col in fk.cols}
    header = html.escape(t.name)
    if t.scd_type is not None:
        header += f" <FONT POINT-SIZE='8'>(SCD{t.scd_type})</FONT>"
    rows = [
        f"<TR><TD BGCOLOR='{ROLE_COLORS[t.role]}' COLSPAN='3'><B>{header}</B>"
        f"<BR/><FONT POINT-SIZE='8'>{html.escape(t.role)}</FONT></TD></TR>"
    ]
    for c in t.columns:
        marks = []
        if c.name in t.primary_key:
            marks.append("PK")
        if c.name in fk_cols:
            marks.append("FK")
        if c.name in t.business_key and c.name not in t.primary_key:
            marks.append("BK")
        name = html.escape(c.name)
        if c.name in t.primary_key:
            name = f"<B>{name}</B>"
        type_cell = (
            f"<TD ALIGN='LEFT'>{_font(html.escape(c.dtype) if show_types else '', '#64748b')}</TD>"
        )
        rows.append(
            # Edges leave a key from its row's right end and arrive at a column's left end.
            f"<TR><TD ALIGN='LEFT' PORT='{html.escape(c.name)}_in'>{name}</TD>{type_cell}"
            f"<TD ALIGN='LEFT' PORT='{html.escape(c.name)}_out'>"
            f"{_font(' '.join(marks), '#b45309')}</TD></TR>"
        )
    return (
        "<<TABLE BORDER='0' CELLBORDER='1' CELLSPACING='0' CELLPADDING='3'>"
        + "".join(rows)
        + "</TABLE>>"
    )
