"""One-page cheat sheets for the interview loop, generated from where the facts live.

* grains, keys and SCD choices from each practice's schema declarations (``schema.TABLES``);
* the metrics' SQL *shapes* from the metric registry: which tables, at which grain the result
  comes out, and the techniques the hand-written SQL uses (as-of join, FILTER, windows...),
  read by parsing each metric's SQL with sqlglot;
* the pitfalls from the notebooks' ``Pitfall`` admonitions, parsed from the ``.ipynb`` files;
* the four 45-minute scripts side by side, from the mock interviews.

>>> shape = sql_shape('''
...     SELECT c.city, COUNT(DISTINCT o.order_id) AS orders
...     FROM order_line o JOIN customer c
...       ON c.customer_id = o.customer_id
...      AND o.order_time >= c.valid_from AND o.order_time < c.valid_to
...     GROUP BY c.city''')
>>> shape.tables, shape.grain, shape.techniques
(['order_line', 'customer'], ['city'], ['as-of join', 'COUNT(DISTINCT)'])
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from datamodeling.registry import get_practice, practices


# --------------------------------------------------------------------------------------------
# Schema: grains, keys, SCD choices
# --------------------------------------------------------------------------------------------
def grains(practice: str) -> pd.DataFrame:
    """One row per table of the model (raw tables and quarantine left out)."""
    rows = []
    for t in get_practice(practice).tables:
        if t.role == "raw" or t.database == "raw":
            continue
        scd = ""
        if t.role == "dimension":
            scd = f"type {t.scd_type}" if t.scd_type is not None else "not declared"
        rows.append(
            {
                "table": t.qualified_name,
                "role": t.role,
                "grain": " ".join(t.grain.split()),
                "primary key": ", ".join(t.primary_key),
                "business key": ", ".join(t.business_key),
                "SCD": scd,
            }
        )
    order = {"fact": 0, "dimension": 1, "bridge": 2, "aggregate": 3}
    frame = pd.DataFrame(rows)
    return frame.sort_values(
        "role", key=lambda s: s.map(order), kind="stable", ignore_index=True
    )


# --------------------------------------------------------------------------------------------
# Metrics: the shape of each hand-written SQL query
# --------------------------------------------------------------------------------------------
@dataclass
class SqlShape:
    """What a query reads, the grain of its result, and the techniques it uses."""

    tables: list[str] = field(default_factory=list)
    grain: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [" + ".join(f"`{t}`" for t in self.tables) or "(no table)"]
        if self.grain:
            parts.append("per " + ", ".join(self.grain))
        if self.techniques:
            parts.append(", ".join(self.techniques))
        return " · ".join(parts)


def sql_shape(sql: str, dialect: str = "duckdb") -> SqlShape:
    """Parse ``sql`` and describe its shape (see the module's docstring)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read=dialect)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    tables: list[str] = []
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            continue  # a table function such as range(...)
        name = ".".join(p for p in (t.db, t.name) if p)
        if t.name not in ctes and name not in tables:
            tables.append(name)
    outer = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    grain: list[str] = []
    if isinstance(outer, exp.Select):
        selects = outer.expressions
        group = outer.args.get("group")
        if group is not None:
            keys = list(group.expressions)
            if group.args.get("all") or any(
                isinstance(k, exp.Var) and k.name.upper() == "ALL" for k in keys
            ):
                keys = [e for e in selects if not e.find(exp.AggFunc)]
            for k in keys:
                if (
                    isinstance(k, exp.Literal)
                    and k.is_int
                    and int(k.this) <= len(selects)
                ):
                    k = selects[int(k.this) - 1]
                grain.append(k.alias_or_name if k.alias_or_name else k.sql(dialect))
    techniques: list[str] = []

    def add(name):
        if name not in techniques:
            techniques.append(name)

    for join in tree.find_all(exp.Join):
        on = join.args.get("on")
        if on is not None and {"valid_from", "valid_to"} <= {
            c.name for c in on.find_all(exp.Column)
        }:
            add("as-of join")
    if any(isinstance(e.parent, exp.Not) for e in tree.find_all(exp.Exists)):
        add("anti join (NOT EXISTS)")
    for count in tree.find_all(exp.Count):
        if count.find(exp.Distinct):
            add("COUNT(DISTINCT)")
    if tree.find(exp.Filter):
        add("FILTER")
    windows = sorted(
        {
            w.this.sql_name().upper()
            for w in tree.find_all(exp.Window)
            if isinstance(w.this, exp.Func) and w.this.sql_name().upper() != "WINDOW"
        }
    )
    if windows:
        add("window " + "/".join(windows))
    if any(
        isinstance(t.this, exp.Func) or not isinstance(t.this, exp.Identifier)
        for t in tree.find_all(exp.Table)
    ):
        add("calendar spine")
    for select in tree.find_all(exp.Select):
        sources = [
            s.this.name
            for s in [select.args.get("from"), *(select.args.get("joins") or [])]
            if s is not None and isinstance(s.this, exp.Table)
        ]
        if len(sources) != len(set(sources)):
            add("self join")
    for div in tree.find_all(exp.Div):
        if div.left.find(exp.AggFunc) and div.right.find(exp.AggFunc):
            add("ratio of aggregates")
            break
    if tree.find(exp.Nullif):
        add("NULLIF guard")
    return SqlShape(tables, grain, techniques)


def metric_shapes(practice: str) -> pd.DataFrame:
    """One row per metric of the registry: its requirement and the shape of its SQL.

    The grain of the result is the metric's ``order_by`` (the columns the registry says
    identify a row), else the outer query's GROUP BY.
    """
    rows = []
    for name, m in get_practice(practice).metrics.items():
        try:
            parsed = sql_shape(m.sql)
        except Exception as exc:  # a query sqlglot cannot parse: say so, do not guess
            shape = f"(not parsed: {type(exc).__name__})"
        else:
            if (
                m.order_by
            ):  # the registry names the columns that identify a row of the result
                parsed.grain = list(m.order_by)
            shape = str(parsed)
        rows.append({"metric": name, "requirement": m.requirement, "SQL shape": shape})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Pitfalls, from the notebooks
# --------------------------------------------------------------------------------------------
_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<kind>[a-z]+)\}\s*(?P<arg>.*)$")
_GLUE = re.compile(r"\{glue(?::[a-z]+)?\}`[^`]*`")
_DOC = re.compile(
    r"\{doc\}`(?:(?P<text>[^`<]*?)\s*<(?P<target1>[^`>]+)>|(?P<target2>[^`<>]+))`"
)


@dataclass(frozen=True)
class Pitfall:
    notebook: str  #: path from the book's root, without the suffix: notebooks/ecommerce/02_...
    title: str
    body: str


def pitfalls(practice: str, root: Path | None = None) -> list[Pitfall]:
    """Every ``Pitfall`` admonition of the practice's notebooks, in notebook order.

    Both forms the book uses are read: ``{admonition} Pitfall: title`` and ``{warning}
    Pitfall``. Glued numbers become *N* (they belong to their notebook's run) and ``{doc}``
    links are made absolute, so the text can be shown on another page.
    """
    from datamodeling.warehouse import project_root

    root = root or project_root()
    found = []
    for path in sorted((root / "notebooks" / practice).glob("*.ipynb")):
        doc = path.relative_to(root).with_suffix("").as_posix()
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] != "markdown":
                continue
            found.extend(_pitfalls_in("".join(cell["source"]), doc))
    return found


def _pitfalls_in(text: str, doc: str) -> list[Pitfall]:
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i].strip())
        if not m:
            i += 1
            continue
        fence, kind, arg = m["fence"], m["kind"], m["arg"].strip()
        body, i = [], i + 1
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        i += 1
        if not arg.lower().startswith("pitfall") or kind not in (
            "admonition",
            "warning",
            "caution",
            "danger",
        ):
            continue
        body = [b for b in body if not re.match(r"^:[a-z-]+:", b.strip())]
        title = arg.split(":", 1)[1].strip() if ":" in arg else ""
        title = title[:1].upper() + title[1:]
        out.append(Pitfall(doc, title, _portable("\n".join(body).strip(), doc)))
    return out


def _portable(text: str, doc: str) -> str:
    """Text of ``doc`` that reads the same on another page."""
    text = _GLUE.sub("*N*", text)
    base = Path(doc).parent

    def absolute(m):
        target = m["target1"] or m["target2"]
        if not target.startswith("/"):
            parts = []
            for part in (base / target).as_posix().split("/"):
                if part == "..":
                    parts.pop()
                elif part != ".":
                    parts.append(part)
            target = "/" + "/".join(parts)
        return f"{{doc}}`{m['text']} <{target}>`" if m["text"] else f"{{doc}}`{target}`"

    return _DOC.sub(absolute, text)


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------
def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def cheat_sheet(practice: str) -> str:
    """The one-page cheat sheet of a practice, as MyST Markdown."""
    g = grains(practice)
    facts = g[g.role.isin(["fact", "bridge"])][["table", "grain", "primary key"]]
    dims = g[g.role == "dimension"][
        ["table", "grain", "business key", "primary key", "SCD"]
    ]
    marts = g[g.role == "aggregate"][["table", "grain"]]
    shapes = metric_shapes(practice)[["metric", "SQL shape"]]
    found = pitfalls(practice)
    lines = [
        f"## Facts and their grains\n\n{_table(facts)}",
        f"## Dimensions: keys and history\n\n{_table(dims)}",
    ]
    if len(marts):
        lines.append(f"## Aggregates\n\n{_table(marts)}")
    lines.append(
        "## Metrics: the shape of the SQL\n\n"
        "What each hand-written query reads, the grain its result comes out at, and the "
        "techniques it uses. The full queries are in the {doc}`metric catalogue "
        f"</book/metric_catalogue>`.\n\n{_table(shapes)}"
    )
    items = []
    for pit in found:
        number = Path(pit.notebook).name.split("_")[0]
        head = f"**{pit.title}.** " if pit.title else ""
        body = " ".join(pit.body.split())
        items.append(f"- {head}{body} ({{doc}}`notebook {number} </{pit.notebook}>`)")
    note = (
        " *N* is a number computed in that notebook."
        if any("*N*" in i for i in items)
        else ""
    )
    lines.append(
        "## Pitfalls\n\nThe pitfalls the practice's notebooks warn about, each with its fix."
        f"{note}\n\n" + "\n".join(items)
    )
    return "\n\n".join(lines)


#: The order of the practices in the book.
BOOK_ORDER = ("ecommerce", "social", "streaming", "rideshare")


def _mocks():
    from datamodeling.interview import mock_interview

    names = [n for n in BOOK_ORDER if n in practices()]
    names += [n for n in practices() if n not in names]
    return [mock_interview(n) for n in names]


def scripts_side_by_side(what: str = "script") -> str:
    """The practices' 45-minute scripts as one Markdown table, a row per phase.

    ``what="script"``: the interviewer's opening question and what they listen for;
    ``what="strong"``: the signals of a strong answer.
    """
    if what not in ("script", "strong"):
        raise ValueError("what is 'script' or 'strong'")
    mocks = _mocks()
    head = ["phase"] + [m.title for m in mocks]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    start = 0
    for i, phase in enumerate(mocks[0].phases):
        for m in mocks:
            if m.phases[i].name != phase.name or m.phases[i].minutes != phase.minutes:
                raise ValueError(f"{m.practice}: phase {i + 1} differs from the others")
        cells = [f"**{phase.name}** ({start}–{start + phase.minutes} min)"]
        for m in mocks:
            ph = m.phases[i]
            if what == "script":
                cells.append(f"{_cell(ph.asks)} *Listens for:* {_cell(ph.listens_for)}")
            else:
                cells.append(_cell(ph.strong))
        lines.append("| " + " | ".join(cells) + " |")
        start += phase.minutes
    return "\n".join(lines)
