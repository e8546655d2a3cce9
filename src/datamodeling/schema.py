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
        return (
            (self.ref_columns,)
            if isinstance(self.ref_columns, str)
            else tuple(self.ref_columns)
        )


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
            raise ValueError(
                f"{self.name}: role must be one of {ROLES}, got {self.role!r}"
            )
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
        import pyarrow as pa

        # through Arrow with the declared types, so a DECIMAL column stays DECIMAL (not float64)
        arrow_schema = self.ibis_schema().to_pyarrow()
        rows = (
            self.special_members()
            .astype(object)
            .where(self.special_members().notna(), None)
        )
        arrow = pa.Table.from_pylist(rows.to_dict("records"), schema=arrow_schema)
        special = ibis.memtable(arrow).cast(self.ibis_schema())
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
            ddl = (
                sqlglot.transpile(ddl, read="duckdb", write=dialect, pretty=True)[0]
                + ";"
            )
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


# --------------------------------------------------------------------------------------------
# Diagrams: the whole model as an overview, one star per business process, the bus matrix.

#: The width of the book's main column in CSS pixels, in a 1280 px window.
COLUMN_PX = 688
#: The smallest text a diagram may show in the column, in CSS pixels.
MIN_TEXT_PX = 11
#: Font sizes of the diagrams, in points (1 pt = 4/3 CSS px at natural size).
FONT_PT = 10
SMALL_FONT_PT = 9
TITLE_FONT_PT = 12
_VALIDITY_MARK = "valid"


def er_diagram(
    tables: Sequence[Table],
    title: str | None = None,
    *,
    show_types: bool = True,
    columns: str = "all",
    same_rank: Sequence[str] = (),
    full: Sequence[str] | None = None,
    center: str | None = None,
):
    """A Graphviz ER diagram: one box per table with PK/FK marks, one edge per foreign key.

    Returns a ``graphviz.Digraph``; in a notebook it displays as SVG, and ``.pipe("svg")`` gives
    the SVG bytes. Facts are yellow, dimensions blue, aggregates green. An edge joins the referenced
    key (left) to the referencing column (right), with a crow's foot on the "many" side; a dashed
    edge is a point-in-time reference through an SCD2 business key. ``columns="keys"`` shows
    only the keys of every table but those named in ``full`` (default: the facts), and a line
    saying how many columns are left out; tables named in ``same_rank`` are drawn in one column
    of the picture. With ``center`` (a star), only the center's references and those of
    dimensions and bridges are drawn, and another fact shows only its primary key. For the book's pages use
    :func:`model_overview` and :func:`process_diagrams`, which size the picture for the column.
    """
    import graphviz

    names = {t.name for t in tables}
    graph = graphviz.Digraph(
        name=title or "er",
        graph_attr={
            "rankdir": "LR",
            "splines": "spline",
            "nodesep": "0.3",
            "ranksep": "0.9",
            "fontname": "Helvetica",
            "fontsize": str(TITLE_FONT_PT),
            "labelloc": "t",
            "labeljust": "l",
            "label": title or "",
            "bgcolor": "white",
            "pad": "0.1",
        },
        node_attr={
            "shape": "plaintext",
            "fontname": "Helvetica",
            "fontsize": str(FONT_PT),
        },
        edge_attr={"color": "#475569"},
    )
    if full is None:
        full = [t.name for t in tables if t.role == "fact"]
    for t in tables:
        shown = t.column_names if t.name in full else _shown_columns(t, columns)
        if center and t.name != center and t.role == "fact":
            shown = list(t.primary_key)
        graph.node(t.name, label=_table_label(t, show_types, shown))
    if same_rank:
        with graph.subgraph() as rank:
            rank.attr(rank="same")
            for name in same_rank:
                if name in names:
                    rank.node(name)
    for t in tables:
        if center and t.name != center and t.role not in ("dimension", "bridge"):
            continue
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


def _key_columns(t: Table) -> set[str]:
    keys = {*t.primary_key, *t.business_key}
    keys.update(col for fk in t.foreign_keys for col in fk.cols)
    if t.scd_type == 2:
        keys.update(t.validity)
    return keys


def _shown_columns(t: Table, columns: str) -> list[str]:
    if columns == "all":
        return t.column_names
    if columns != "keys":
        raise ValueError(f"columns must be 'all' or 'keys', not {columns!r}")
    keys = _key_columns(t)
    return [c for c in t.column_names if c in keys]


def _font(text: str, colour: str, size: int | None = None) -> str:
    # Graphviz rejects an empty <FONT> element, so an empty cell gets a plain space.
    if not text:
        return " "
    points = f" POINT-SIZE='{size}'" if size else ""
    return f"<FONT COLOR='{colour}'{points}>{text}</FONT>"


def _table_label(t: Table, show_types: bool, shown: Sequence[str] | None = None) -> str:
    fk_cols = {col for fk in t.foreign_keys for col in fk.cols}
    shown = list(t.column_names if shown is None else shown)
    header = html.escape(t.name)
    if t.scd_type is not None:
        header += f" <FONT POINT-SIZE='{SMALL_FONT_PT}'>(SCD{t.scd_type})</FONT>"
    width = 3 if show_types else 2
    rows = [
        f"<TR><TD BGCOLOR='{ROLE_COLORS[t.role]}' COLSPAN='{width}'><B>{header}</B>"
        f"<BR/><FONT POINT-SIZE='{SMALL_FONT_PT}'>{html.escape(t.role)}</FONT></TD></TR>"
    ]
    for c in t.columns:
        if c.name not in shown:
            continue
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
            f"<TD ALIGN='LEFT'>{_font(html.escape(c.dtype), '#64748b', SMALL_FONT_PT)}</TD>"
            if show_types
            else ""
        )
        rows.append(
            # Edges leave a key from its row's right end and arrive at a column's left end.
            f"<TR><TD ALIGN='LEFT' PORT='{html.escape(c.name)}_in'>{name}</TD>{type_cell}"
            f"<TD ALIGN='LEFT' PORT='{html.escape(c.name)}_out'>"
            f"{_font(' '.join(marks), '#b45309', SMALL_FONT_PT)}</TD></TR>"
        )
    hidden = len(t.columns) - len([c for c in t.column_names if c in shown])
    if hidden:
        more = f"+ {hidden} more column{'s' if hidden > 1 else ''}"
        rows.append(
            f"<TR><TD ALIGN='LEFT' COLSPAN='{width}'>"
            f"{_font(more, '#64748b', SMALL_FONT_PT)}</TD></TR>"
        )
    return (
        "<<TABLE BORDER='0' CELLBORDER='1' CELLSPACING='0' CELLPADDING='3'>"
        + "".join(rows)
        + "</TABLE>>"
    )


def svg_text_px(svg: bytes | str, column_px: float = COLUMN_PX) -> float:
    """The smallest text of an SVG, in CSS pixels, once shown in a column ``column_px`` wide.

    An SVG narrower than the column is shown at its natural size (1 pt = 4/3 px); a wider one is
    scaled down to the column's width, and its text with it.
    """
    import re

    text = svg.decode() if isinstance(svg, bytes) else svg
    view_box = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"', text)
    width_attr = re.search(r'<svg[^>]*\swidth="([\d.]+)(pt|px)?"', text)
    if not view_box or not width_attr:
        raise ValueError("the SVG has no viewBox or width")
    unit = width_attr.group(2) or "px"
    natural_px = float(width_attr.group(1)) * (4 / 3 if unit == "pt" else 1)
    shown_px = min(natural_px, column_px)
    scale = shown_px / float(view_box.group(3))  # CSS px per user unit
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', text)]
    if not sizes:
        return float("inf")
    # Graphviz draws inside a group scaled by its own "scale(s s)" transform (1 here).
    transform = re.search(r'<g id="graph0"[^>]*transform="scale\(([\d.]+)', text)
    group_scale = float(transform.group(1)) if transform else 1.0
    return min(sizes) * group_scale * scale


class Diagram:
    """A diagram as the book shows it: inline SVG, at most as wide as the column.

    ``overview=True`` shows the picture shrunk to the column with a control that opens it at full
    size over the page (the whole model is too wide to read in the column). In a notebook it
    displays as HTML; ``.graph`` is the ``graphviz.Digraph`` and ``.svg`` its SVG.
    """

    def __init__(self, graph, *, caption: str = "", overview: bool = False):
        self.graph = graph
        self.caption = caption
        self.overview = overview
        self._svg: str | None = None

    @property
    def svg(self) -> str:
        if self._svg is None:
            self._svg = self.graph.pipe(format="svg").decode()
        return self._svg

    @property
    def width_pt(self) -> float:
        import re

        return float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', self.svg).group(1))

    def text_px(self, column_px: float = COLUMN_PX) -> float:
        """The smallest text of the diagram in CSS px when shown in the column."""
        return svg_text_px(self.svg, column_px)

    def _inline(self, css_class: str) -> str:
        import re

        svg = self.svg[self.svg.index("<svg") :]
        svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
        return svg.replace("<svg ", f'<svg class="{css_class}" ', 1)

    def _repr_html_(self) -> str:
        caption = (
            f'<figcaption class="dm-er-caption">{html.escape(self.caption)}</figcaption>'
            if self.caption
            else ""
        )
        if not self.overview:
            return f'{_DIAGRAM_CSS}<figure class="dm-er">{self._inline("dm-er-svg")}{caption}</figure>'
        return (
            f'{_DIAGRAM_CSS}<figure class="dm-er dm-overview">'
            '<details class="dm-zoom"><summary>'
            '<span class="dm-zoom-open">Open the whole model at full size</span>'
            '<span class="dm-zoom-close">Close the full-size model</span></summary>'
            f'<div class="dm-zoom-panel">{self._inline("dm-er-full")}</div></details>'
            f"{self._inline('dm-er-preview')}{caption}</figure>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        kind = "overview" if self.overview else "diagram"
        return f"<ER {kind} {self.caption or self.graph.name!r}>"


class Diagrams(list):
    """Several diagrams shown one under the other (one per business process)."""

    def _repr_html_(self) -> str:
        return "".join(d._repr_html_() for d in self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}


_DIAGRAM_CSS = (
    "<style>"
    ".dm-er{margin:0.5em 0 1.2em}"
    ".dm-er svg{max-width:100%;height:auto;display:block}"
    ".dm-er-caption{font-size:0.9em;color:#475569;margin-top:0.3em}"
    ".dm-zoom>summary{cursor:pointer;color:#1d4ed8;font-size:0.9em;margin-bottom:0.4em}"
    ".dm-zoom .dm-zoom-close,.dm-zoom[open] .dm-zoom-open{display:none}"
    ".dm-zoom[open] .dm-zoom-close{display:inline}"
    ".dm-zoom[open]>summary{position:fixed;top:0.6rem;right:1.2rem;z-index:1101;"
    "background:#fff;padding:0.3em 0.8em;border:1px solid #94a3b8;border-radius:4px}"
    ".dm-zoom-panel{position:fixed;inset:0;z-index:1100;overflow:auto;background:#fff;"
    "padding:3rem 1.5rem 1.5rem}"
    ".dm-er .dm-zoom-panel svg{max-width:none}"
    "</style>"
)


def model_overview(
    tables: Sequence[Table], title: str | None = None, **options
) -> Diagram:
    """The whole model in one picture: shrunk to the column, opens at full size on a click."""
    caption = (
        "The whole model. Open it at full size to read it; the diagrams per business process "
        "below show each star at a readable size."
    )
    return Diagram(er_diagram(tables, title, **options), caption=caption, overview=True)


def model_diagram(
    tables: Sequence[Table],
    title: str | None = None,
    *,
    column_px: float = COLUMN_PX,
    caption: str = "",
    **options,
) -> Diagram:
    """A diagram of ``tables`` for the page: shown in the column when its text reads there at
    >= 11 px, otherwise as an overview that opens full size (:func:`model_overview`)."""
    diagram = Diagram(er_diagram(tables, title, **options), caption=caption)
    if diagram.text_px(column_px) >= MIN_TEXT_PX:
        return diagram
    return model_overview(tables, title, **options)


def process_tables(tables: Sequence[Table], fact: Table | str) -> list[Table]:
    """The star of one business process: the fact, what it references, and their outriggers.

    Outriggers are tables the fact's dimensions reference (a category above a product); bridge
    tables that reference one of the star's dimensions come along with what they reference.
    """
    by_name = {t.name: t for t in tables}
    fact = by_name[fact] if isinstance(fact, str) else fact
    star = {fact.name: fact}
    for fk in fact.foreign_keys:
        if fk.table in by_name:
            star.setdefault(fk.table, by_name[fk.table])
    for name in list(star):
        if (
            star[name].role != "dimension"
        ):  # a referenced fact brings no dimensions of its own
            continue
        for fk in star[name].foreign_keys:
            if fk.table in by_name and by_name[fk.table].role == "dimension":
                star.setdefault(fk.table, by_name[fk.table])
    for t in tables:
        if t.role == "bridge" and any(fk.table in star for fk in t.foreign_keys):
            star.setdefault(t.name, t)
            for fk in t.foreign_keys:
                if fk.table in by_name:
                    star.setdefault(fk.table, by_name[fk.table])
    order = [fact.name] + [
        t.name for t in tables if t.name in star and t.name != fact.name
    ]
    return [star[name] for name in order]


def process_diagram(
    tables: Sequence[Table],
    fact: Table | str,
    *,
    column_px: float = COLUMN_PX,
    columns: str = "keys",
) -> Diagram:
    """One business process as a star, sized so its smallest text reads at >= 11 px in the column.

    The fact shows every column; its dimensions show their keys (``columns="all"`` shows every
    column). Dimensions stand in one column left of the fact. If the picture with column types is
    too wide for the column, it is drawn without them.
    """
    star = process_tables(tables, fact)
    head = star[0]
    others = [t.name for t in star[1:]]
    caption = f"{head.name}: {' '.join(head.grain.split())}"
    diagram = None
    for show_types in (True, False):
        graph = er_diagram(
            star,
            None,
            show_types=show_types,
            columns=columns,
            same_rank=others,
            full=[head.name],
            center=head.name,
        )
        diagram = Diagram(graph, caption=caption)
        if diagram.text_px(column_px) >= MIN_TEXT_PX:
            return diagram
    return diagram


def process_diagrams(
    tables: Sequence[Table],
    facts: Sequence[Table | str] | None = None,
    *,
    column_px: float = COLUMN_PX,
    columns: str = "keys",
) -> Diagrams:
    """One star per business process (every fact of the model, or those named in ``facts``)."""
    if facts is None:
        facts = [t for t in tables if t.role == "fact" and t.database is None]
    return Diagrams(
        process_diagram(tables, f, column_px=column_px, columns=columns) for f in facts
    )


def bus_matrix(tables: Sequence[Table]) -> pd.DataFrame:
    """Kimball's bus matrix: one row per business process (fact), one column per dimension.

    A cell is ``✓`` when the fact references the dimension, ``✓ ×2`` when it references it in two
    roles (an order date and a ship date), ``via X`` when it reaches the dimension through
    another table of the star (an outrigger or a bridge), and empty otherwise. Dimensions used by
    the most processes directly (the conformed ones) come first.
    """
    by_name = {t.name: t for t in tables}
    facts = [t for t in tables if t.role == "fact" and t.database is None]
    dims = [t.name for t in tables if t.role == "dimension"]
    cells: dict[str, dict[str, str]] = {}
    for fact in facts:
        row: dict[str, str] = {}
        direct: dict[str, set[str]] = {}
        for fk in fact.foreign_keys:
            if fk.table in dims:
                direct.setdefault(fk.table, set()).add(fk.cols[0])
        for dim, roles in direct.items():
            roles = {
                r for r in roles if not _same_reference(by_name[fact.name], r, roles)
            }
            row[dim] = "✓" if len(roles) <= 1 else f"✓ ×{len(roles)}"
        for t in process_tables(tables, fact)[1:]:
            if t.name in dims and t.name not in row:
                via = next(
                    (
                        s.name
                        for s in process_tables(tables, fact)[1:]
                        if any(fk.table == t.name for fk in s.foreign_keys)
                    ),
                    "",
                )
                row[t.name] = f"via {via}" if via else "✓"
        cells[fact.name] = row
    used = [d for d in dims if any(d in row for row in cells.values())]

    def direct(d):  # processes that reference the dimension themselves
        return sum(row.get(d, "").startswith("✓") for row in cells.values())

    used.sort(
        key=lambda d: (
            -direct(d),
            -sum(d in row for row in cells.values()),
            dims.index(d),
        )
    )
    frame = pd.DataFrame(
        [{"process": f, **{d: cells[f].get(d, "") for d in used}} for f in cells],
        columns=["process", *used],
    )
    return frame


def _same_reference(fact: Table, column: str, roles: set[str]) -> bool:
    """A business key kept beside the surrogate key (type 7) is the same role, not a second one."""
    if len(roles) < 2:
        return False
    if column.endswith("_id"):
        return column[: -len("_id")] + "_sk" in roles
    return False
