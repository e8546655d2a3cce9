"""How the book shows things: every table, every metric.

:func:`setup_notebook` (called by each notebook's hidden first cell) makes every DataFrame a
notebook displays go through :func:`format_table`, the book's one table formatter:

- text is shown whole and wraps; it is never cut to "...";
- the index is shown only when it means something (a named or non-default index);
- integers stay integers (an id is ``5002``, never ``5002.0``); ids, keys and years have no
  thousands separator, counts do; NULL is an empty-looking "—", never ``NaN`` or ``<NA>``;
- money (DECIMAL columns, and columns named like money: ``_amt``, ``revenue``, ``sales``,
  ``price``, ``fare``, ``earnings``...) has a thousands separator and two decimals;
- rates and shares (``_rate``, ``_share``, ``ctr``, ``retention``...) between 0 and 1 are
  percentages;
- timestamps are shown to the second (dates alone when every time is midnight);
- a table wider than the book's column is shown as several narrower tables, one under the other,
  each repeating the first column, so nothing runs off the page.

:func:`show_metric` shows a metric the way the book teaches it: the definition and the result
first, then the Ibis code and the hand-written SQL as two tabs of one block, folded away one click
below. Both versions run on the same warehouse; the page says whether they agree, so every number
in the book is computed twice.
"""

from __future__ import annotations

import datetime as _dt
import html
import inspect
import itertools
import math
import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from datamodeling.exercises import STRICT_ENV, compare
from datamodeling.registry import Metric

#: The width of the book's main column in CSS pixels, in a 1280 px window (sphinx-book-theme).
COLUMN_PX = 688
#: The width a table may take: a folded output (a hide-output toggle) is 22 px narrower than the
#: column, and a table must fit there too.
TABLE_PX = COLUMN_PX - 24
#: Rows shown before a table is cut (the caption says how many rows there are).
MAX_ROWS = 20
#: NULL, as a reader sees it.
NULL_TEXT = "—"

_MONEY = re.compile(
    r"(_amt$|_amount$|^amount$|^amt$|revenue|sales|price|earnings|fare|spend|payout|"
    r"budget|cost|gmv|^aov$|_aov$|^aov_|^clv|_clv|^ltv|_ltv|arpu|shipping|discount|tax$|tip$|"
    r"^tips?_|_tips?$|income|monetary|^cp[acm]$|_cp[acm]$)"
)
_RATE = re.compile(
    r"(_rate$|^rate$|_rate_|_share$|^share$|^share_|_ratio$|_pct$|^pct_|_percent$|^ctr$|_ctr$|^cvr$|"
    r"retention|conversion|completion|churn|stickiness|_lift$|^lift$|utilisation|utilization|"
    r"acceptance|cancellation)"
)
_PERCENT = re.compile(r"(pct|percent)")
_COUNT = re.compile(
    r"(^n_|^num_|_count$|^count|_n$|^orders$|_orders$|^users$|_users$|^trips$|"
    r"_trips$|^rows|_rows$|^events$|_events$|^sessions$|_sessions$|^units$|_units$)"
)
_NOT_MONEY = re.compile(
    r"(elasticity|_count$|^n_|_rows?$|_id$|_sk$|_key$|multiplier|_seconds$)"
)
_ID = re.compile(
    r"(^id$|_id$|_sk$|_key$|^key$|_code$|^year$|_year$|^yyyymm|_number$|_no$|zip)"
)

_TABLE_CSS = (
    "<style>"
    ".dm-table{border-collapse:collapse;font-size:0.85em;margin:0.4em 0 1em;max-width:100%;"
    "width:auto}"
    ".dm-table th,.dm-table td{padding:0.25em 0.6em;border-bottom:1px solid #e2e8f0;"
    "vertical-align:top;white-space:normal;overflow-wrap:break-word;text-align:left}"
    ".dm-table th{border-bottom:2px solid #94a3b8;font-weight:600}"
    ".dm-table td.dm-num,.dm-table th.dm-num{text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}"
    ".dm-table.dm-compact{font-size:0.76em}"
    ".dm-table td.dm-when{white-space:nowrap}"
    ".dm-table td.dm-null{color:#94a3b8}"
    ".dm-table caption{caption-side:bottom;text-align:left;font-size:0.9em;color:#64748b;"
    "padding-top:0.3em}"
    "</style>"
)


# --------------------------------------------------------------------------------------------
# Column kinds


def _looks_like(pattern: re.Pattern, name) -> bool:
    return bool(pattern.search(str(name).lower()))


def _is_decimal_column(values: pd.Series) -> bool:
    sample = values.dropna()
    return len(sample) > 0 and all(isinstance(v, Decimal) for v in sample.iloc[:50])


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def column_kind(name, values: pd.Series, hints: dict | None = None) -> str:
    """The kind of a column, which decides its format.

    One of ``money``, ``decimal`` (a DECIMAL that is not money), ``rate``, ``percent`` (a rate already multiplied by 100), ``id``, ``int``,
    ``float``, ``timestamp``, ``date``, ``bool``, ``text``. ``hints`` maps a kind to column
    names and wins over the guesses (``{"money": ["point_in_time"]}``).
    """
    for kind, names in (hints or {}).items():
        if name in names:
            return kind
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    if isinstance(dtype, pd.PeriodDtype):
        return "text"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "text"
    numeric = pd.api.types.is_numeric_dtype(dtype)
    decimal = (
        not numeric
        and pd.api.types.is_object_dtype(dtype)
        and _is_decimal_column(values)
    )
    if not (numeric or decimal):
        return _object_kind(values)
    name = str(name)
    floating = pd.api.types.is_float_dtype(dtype)
    finite = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = finite[np.isfinite(finite)]
    # Rates are DOUBLE (book conventions): an integer column is a count, never a rate.
    if floating and _looks_like(_RATE, name):
        if (finite.abs() <= 1.0 + 1e-9).all():
            return "rate"
        if _looks_like(_PERCENT, name):
            return "percent"
    if decimal and not _looks_like(_ID, name):
        # Money is DECIMAL(18, 2) (book conventions); another scale keeps its own digits.
        scales = {v.as_tuple().exponent for v in values.dropna().iloc[:200]}
        if scales <= {0} and not _looks_like(_MONEY, name):
            return "int"  # a SUM of integers: DuckDB returns HUGEINT, pandas a Decimal
        return "money" if scales <= {-2} or _looks_like(_MONEY, name) else "decimal"
    if _looks_like(_MONEY, name) and not (
        _looks_like(_NOT_MONEY, name) or _looks_like(_ID, name)
    ):
        return "money"
    if pd.api.types.is_integer_dtype(dtype):
        huge = len(finite) > 0 and bool((finite.abs() >= 1e15).any())  # a hash key
        return "id" if _looks_like(_ID, name) or huge else "int"
    integral = len(finite) > 0 and bool((finite % 1 == 0).all())
    # Integers that became floats: a NULL among them (pandas' int -> float upcast), an id or a
    # count by name, or a hash key too large for a float's fraction.
    if integral and (
        values.isna().any() or _looks_like(_ID, name) or _looks_like(_COUNT, name)
    ):
        return "id" if _looks_like(_ID, name) or (finite.abs() >= 1e15).any() else "int"
    return "float"


def _object_kind(values: pd.Series) -> str:
    if pd.api.types.is_object_dtype(values.dtype):
        sample = values.dropna()
        if len(sample) and all(
            isinstance(v, pd.Timestamp | _dt.datetime) for v in sample[:50]
        ):
            return "timestamp"
        if len(sample) and all(isinstance(v, _dt.date) for v in sample[:50]):
            return "date"
        if len(sample) and all(isinstance(v, bool | np.bool_) for v in sample[:50]):
            return "bool"
    return "text"


def _float_decimals(values: pd.Series) -> int:
    """Decimals that give the column's typical value three significant digits (0 to 6)."""
    finite = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = finite[np.isfinite(finite) & (finite != 0)].abs()
    if finite.empty:
        return 2
    typical = float(finite.median())
    return int(min(6, max(0, 2 - math.floor(math.log10(typical)))))


def _formatter(kind: str, values: pd.Series):
    """A function from one value to its text, for a column of this kind."""
    if kind == "money":
        return lambda v: (
            f"{float(v):,.2f}" if not isinstance(v, Decimal) else f"{v:,.2f}"
        )
    if kind == "rate":
        finite = pd.to_numeric(values, errors="coerce").astype("float64").abs()
        small = finite[(finite > 0) & np.isfinite(finite)]
        places = 2 if len(small) and float(small.median()) < 0.01 else 1
        return lambda v: f"{100 * float(v):.{places}f}%"
    if kind == "percent":
        return lambda v: f"{float(v):.1f}%"
    if kind == "decimal":
        return lambda v: f"{v:,}" if isinstance(v, Decimal) else f"{float(v):,}"
    if kind == "id":
        return lambda v: str(int(v))
    if kind == "int":
        return lambda v: f"{int(v):,}"
    if kind == "float":
        places = _float_decimals(values)
        return lambda v: f"{float(v):,.{places}f}"
    if kind in {"timestamp", "date"}:
        stamps = pd.to_datetime(values.dropna(), errors="coerce", utc=False)
        if kind == "date" or (
            len(stamps)
            and all(t.hour == t.minute == t.second == 0 for t in stamps.iloc[:500])
        ):
            return lambda v: pd.Timestamp(v).strftime("%Y-%m-%d")
        return _timestamp_text
    if kind == "bool":
        return lambda v: "true" if bool(v) else "false"
    return _text


def _timestamp_text(value) -> str:
    t = pd.Timestamp(value)
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    if t.tzinfo is not None and t.utcoffset() != _dt.timedelta(0):
        text += t.strftime(" %z")
    return text


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(_text(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------------------------
# The formatter


def _frame_of(data) -> tuple[pd.DataFrame, bool]:
    """The DataFrame to show and whether its index means something."""
    if isinstance(data, pd.Series):
        name = data.name if data.name is not None else "value"
        data = data.to_frame(name=name)
    index = data.index
    meaningful = not (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )
    if (
        meaningful
        and index.names == [None]
        and pd.api.types.is_integer_dtype(index.dtype)
    ):
        meaningful = False  # 0..n after a filter or a sort: row numbers, not data
    return data, meaningful


def _min_width_px(texts: Sequence[str], layout: str) -> float:
    """The narrowest a column of cells can get, in CSS px (only text wraps, at spaces)."""
    if not texts:
        return 0.0
    if layout == "text":
        return (
            max(max((len(w) for w in t.split()), default=1) for t in texts) * _TEXT_PX
        )
    return max(len(t) for t in texts) * _DIGIT_PX


def _header_html(name) -> str:
    # Long snake_case names may break after an underscore.
    return html.escape(str(name)).replace("_", "_<wbr>")


def _header_px(name) -> float:
    """The narrowest a bold header can get: it breaks after underscores and at spaces."""
    parts = re.split(r"(?<=_)|\s+", str(name))
    return max((len(part) for part in parts), default=1) * _HEADER_PX


def format_table(
    data,
    *,
    index: bool | None = None,
    max_rows: int = MAX_ROWS,
    caption: str | None = None,
    money: Iterable[str] = (),
    rates: Iterable[str] = (),
    ids: Iterable[str] = (),
    column_px: int = TABLE_PX,
    style: bool = True,
) -> str:
    """HTML for a DataFrame (or Series) as the book shows every table.

    ``index`` forces the index on or off (default: shown when it means something). ``money``,
    ``rates`` and ``ids`` name columns whose kind the names do not reveal. A table longer than
    ``max_rows`` shows its first rows and says how many there are. A table wider than the column
    is split into several tables that repeat the first column.
    """
    frame, meaningful = _frame_of(data)
    hints = {"money": set(money), "rate": set(rates), "id": set(ids)}
    hints.update({k: set(v) for k, v in (frame.attrs.get("dm_kinds") or {}).items()})
    if index is None:
        index = meaningful
    if index:
        unnamed = all(name is None for name in frame.index.names)
        frame = frame.reset_index()
        if (
            unnamed
        ):  # row labels need no header ("index" would be pandas' word, not the data's)
            frame = frame.rename(columns={frame.columns[0]: ""})
    total = len(frame)
    shown = frame.head(max_rows) if max_rows and total > max_rows else frame
    columns = list(shown.columns)
    labels = [" / ".join(map(str, c)) if isinstance(c, tuple) else c for c in columns]

    cells: list[list[tuple[str, str, bool]]] = []  # (text, layout, null) per column
    for position, label in enumerate(labels):
        values = shown.iloc[:, position]
        full = frame.iloc[:, position]
        kind = column_kind(label, full, hints)
        fmt = _formatter(kind, full)
        layout = (
            "num"
            if kind in {"money", "decimal", "rate", "percent", "id", "int", "float"}
            else "when"
            if kind in {"timestamp", "date"}
            else "text"
        )
        column = []
        for v in values:
            if _is_missing(v):
                column.append((NULL_TEXT, layout, True))
            else:
                try:
                    column.append((fmt(v), layout, False))
                except (TypeError, ValueError, OverflowError):
                    column.append((_text(v), layout, False))
        cells.append(column)

    if caption is None and len(shown) < total:
        caption = f"The first {len(shown):,} of {total:,} rows."
    css = _TABLE_CSS if style else ""
    # A table too wide at the normal size is tried at the compact size, then split.
    compact = False
    parts = _split_columns(labels, cells, column_px)
    if len(parts) > 1:
        compact = True
        parts = _split_columns(labels, cells, column_px / _COMPACT)
    if len(shown) == 1 and len(parts) > 1:  # one wide row reads better as a list
        return css + _vertical_html(labels, cells, caption)
    out = [css]
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        out.append(
            _table_html(
                [labels[i] for i in part],
                [cells[i] for i in part],
                caption if last else None,
                compact=compact,
            )
        )
    return "".join(out)


# Widths at the table's 0.85em (13.6 px) of a wide sans-serif (DejaVu Sans: digits 0.64em,
# lower-case letters about 0.57em), plus a cell's padding.
_DIGIT_PX, _TEXT_PX, _HEADER_PX, _PAD_PX = 8.7, 7.9, 8.5, 18
#: A table too wide for the column is first tried at this fraction of the normal size (12 px).
_COMPACT = 0.76 / 0.85


def _split_columns(labels, cells, column_px: int) -> list[list[int]]:
    """Groups of column positions, each narrow enough for the column (the first repeats)."""
    widths = []
    for label, column in zip(labels, cells, strict=True):
        layout = column[0][1] if column else "text"
        widest = _min_width_px([t for t, _, _ in column], layout)
        widths.append(max(widest, _header_px(label)) + _PAD_PX)
    if sum(widths) <= column_px or len(labels) <= 2:
        return [list(range(len(labels)))]
    parts, current, used = [], [0], widths[0]
    for i in range(1, len(labels)):
        if used + widths[i] > column_px and len(current) > 1:
            parts.append(current)
            current, used = [0], widths[0]
        current.append(i)
        used += widths[i]
    parts.append(current)
    return parts


def _td(text: str, layout: str, null: bool) -> str:
    names = "dm-num" if layout == "num" else "dm-when" if layout == "when" else ""
    classes = " ".join(c for c in (names, "dm-null" if null else "") if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{html.escape(text)}</td>"


def _table_html(labels, cells, caption: str | None, *, compact: bool = False) -> str:
    head = "".join(
        f"<th{' class=dm-num' if column and column[0][1] == 'num' else ''}>"
        f"{_header_html(label)}</th>"
        for label, column in zip(labels, cells, strict=True)
    )
    rows = [
        "<tr>" + "".join(_td(*column[r]) for column in cells) + "</tr>"
        for r in range(len(cells[0]) if cells else 0)
    ]
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="dm-table{" dm-compact" if compact else ""}">{cap}'
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _vertical_html(labels, cells, caption: str | None) -> str:
    rows = "".join(
        f"<tr><th>{_header_html(label)}</th>{_td(*column[0])}</tr>"
        for label, column in zip(labels, cells, strict=True)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="dm-table dm-vertical">{cap}<tbody>{rows}</tbody></table>'


class Table:
    """A DataFrame with display hints; shows through :func:`format_table` in a notebook.

    >>> Table(df, money=["point_in_time"], caption="Sales by department")  # doctest: +SKIP
    """

    def __init__(self, data, **options):
        self.data = data
        self.options = options

    def _repr_html_(self) -> str:
        return format_table(self.data, **self.options)

    def __repr__(self) -> str:
        return repr(self.data)


def table(data, **options) -> Table:
    """Show ``data`` with hints the column names do not give (see :func:`format_table`)."""
    return Table(data, **options)


def _styler_html(styler) -> str | None:
    """A pandas Styler without custom formats shows like a DataFrame (its hidden index kept)."""
    if getattr(styler, "_display_funcs", None) or getattr(styler, "ctx", None):
        return styler.to_html()  # the notebook chose its own formats: respect them
    hidden = getattr(styler, "hide_index_", [False])
    return format_table(styler.data, index=False if all(hidden) else None)


# --------------------------------------------------------------------------------------------
# Notebook setup


def setup_notebook(*, plots: bool = True) -> None:
    """Make a notebook show tables, metrics and plots the book's way. Call it once, first.

    Registers :func:`format_table` as the HTML form of every DataFrame and Series, sets pandas'
    plain-text display to show whole cells, and (with ``plots``) applies the book's plot style
    (:func:`datamodeling.plots.use_book_style`). Outside IPython it only sets the pandas options.
    """
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", 88)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.precision", 4)
    if plots:
        from datamodeling import plots as _plots

        _plots.use_book_style()
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    html_formatter = shell.display_formatter.formatters["text/html"]
    html_formatter.for_type(pd.DataFrame, lambda df: format_table(df))
    html_formatter.for_type(pd.Series, lambda s: format_table(s))
    from pandas.io.formats.style import Styler

    html_formatter.for_type(Styler, _styler_html)


# --------------------------------------------------------------------------------------------
# Metrics


def _highlight(code: str, language: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name

        formatter = HtmlFormatter(noclasses=True, nowrap=True, style="friendly")
        return highlight(code, get_lexer_by_name(language), formatter)
    except Exception:  # pygments is optional for plain-text output
        return html.escape(code)


def ibis_source(metric: Metric) -> str:
    """The source of the metric's Ibis function, as a reader would type it."""
    try:
        return textwrap.dedent(inspect.getsource(metric.compute))
    except (OSError, TypeError):
        return f"# source of {metric.compute!r} is not available"


def metric_agreement(metric: Metric, con, **params) -> tuple[pd.DataFrame, str | None]:
    """Run the Ibis and the SQL versions; return the Ibis result and the first difference."""
    result = metric.to_pandas(con, **params)
    difference = None if params else compare(metric.sql_to_pandas(con), result)
    return result, difference


_TAB_IDS = itertools.count(1)

# sphinx-design's tab-set markup, so tabs look like every other tab set of the book; the rules
# below repeat the few that make it work where sphinx-design's stylesheet is absent (JupyterLab).
_METRIC_CSS = (
    "<style>"
    ".dm-metric .dm-definition{margin:0 0 0.4em}"
    ".dm-metric .dm-definition-full{margin:0 0 0.6em;font-size:0.92em}"
    ".dm-metric .dm-status{color:#334155}"
    ".dm-metric .dm-show{color:#1d4ed8;margin-left:0.4em}"
    ".dm-metric details.dm-code>summary{cursor:pointer;font-size:0.9em;"
    "margin:0.2em 0 0.6em}"
    ".dm-metric .sd-tab-set{display:flex;flex-wrap:wrap;margin:0.3em 0 1em}"
    ".dm-metric .sd-tab-set>input{opacity:0;position:absolute}"
    ".dm-metric .sd-tab-set>label{order:1;cursor:pointer;padding:0.3em 1em;font-weight:600;"
    "border-bottom:2px solid transparent}"
    ".dm-metric .sd-tab-set>input:checked+label{border-bottom-color:#1d4ed8;color:#1d4ed8}"
    ".dm-metric .sd-tab-set>.sd-tab-content{order:2;width:100%;display:none}"
    ".dm-metric .sd-tab-set>input:checked+label+.sd-tab-content{display:block}"
    ".dm-metric pre.dm-src{font-size:0.8em;line-height:1.45;white-space:pre-wrap;"
    "overflow-wrap:anywhere;background:#f8fafc;padding:0.6em 0.8em;margin:0;"
    "border:1px solid #e2e8f0;border-radius:4px}"
    "</style>"
)


def _tabs(tabs: Sequence[tuple[str, str]]) -> str:
    """sphinx-design tab-set HTML: (label, inner HTML) per tab, the first one selected."""
    group = f"dm-tabs-{next(_TAB_IDS)}"
    out = ['<div class="sd-tab-set docutils">']
    for number, (label, inner) in enumerate(tabs):
        item = f"{group}-{number}"
        checked = ' checked="checked"' if number == 0 else ""
        out.append(
            f'<input{checked} id="{item}" name="{group}" type="radio">'
            f'<label class="sd-tab-label" for="{item}">{html.escape(label)}</label>'
            f'<div class="sd-tab-content docutils">{inner}</div>'
        )
    out.append("</div>")
    return "".join(out)


#: The visible part of a metric's definition, in characters, before it is cut at a clause.
LEAD_CHARS = 240
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\.\.)(?<=[.!?])\s+")


def definition_lead(definition: str, limit: int = LEAD_CHARS) -> tuple[str, bool]:
    """The first sentence of a definition, and whether the definition says more.

    A first sentence longer than ``limit`` characters is cut at the last clause boundary
    (``;``, ``:`` or ``,``) before the limit and ends in an ellipsis. :func:`metric_html` shows
    the lead above the result and the whole definition one click below, with the code.
    """
    words = " ".join(definition.split())
    first = _SENTENCE_END.split(words, maxsplit=1)[0]
    if len(first) > limit:
        cut = max(first.rfind(mark, 0, limit) for mark in ("; ", ": ", ", "))
        if cut < limit // 3:
            cut = first.rfind(" ", 0, limit)
        first = first[:cut].rstrip(";:, ") + " …"
    return first, first != words


def metric_html(
    metric: Metric,
    result: pd.DataFrame,
    status: str,
    *,
    rows: int = 6,
    **table_options,
) -> str:
    """The HTML :func:`show_metric` displays: the definition's first sentence, the result, then
    one line saying whether Ibis and SQL agree that unfolds the whole definition and the code."""
    code = _tabs(
        [
            (
                "Ibis",
                f'<pre class="dm-src">{_highlight(ibis_source(metric), "python")}</pre>',
            ),
            (
                "SQL",
                f'<pre class="dm-src">{_highlight(metric.sql.strip(), "sql")}</pre>',
            ),
        ]
    )
    lead, more = definition_lead(metric.definition)
    full = (
        f'<p class="dm-definition-full"><b>Definition.</b> '
        f"{html.escape(' '.join(metric.definition.split()))}</p>"
        if more
        else ""
    )
    show = (
        "Show the whole definition, the Ibis and the SQL"
        if more
        else "Show the Ibis and the SQL code"
    )
    return (
        f'{_METRIC_CSS}<div class="dm-metric">'
        f'<p class="dm-definition"><b>{html.escape(metric.name)}</b>: {html.escape(lead)}</p>'
        + format_table(result, max_rows=rows, **table_options)
        + '<details class="dm-code"><summary>'
        f'<span class="dm-status">{html.escape(status)}</span>'
        f'<span class="dm-show">{show}</span></summary>'
        f"{full}{code}</details></div>"
    )


def show_metric(metric: Metric, con, *, rows: int = 6, **params) -> pd.DataFrame:
    """Display the metric's definition, its result, whether Ibis and SQL agree, and the code.

    The Ibis code and the SQL are two tabs of one block, folded under the result. Returns the
    result. With ``params`` (a non-default window, say) only the Ibis version runs, since the
    SQL is written for the defaults.
    """
    result, difference = metric_agreement(metric, con, **params)
    if params:
        status = "Ibis result with parameters " + ", ".join(
            f"{k}={v!r}" for k, v in params.items()
        )
    elif difference is None:
        status = f"Ibis and SQL agree on all {len(result):,} rows."
    else:
        status = f"Ibis and SQL disagree: {difference}"
        if (
            os.environ.get(STRICT_ENV) == "1"
        ):  # tests and book builds: a disagreement is an error
            raise AssertionError(f"{metric.name}: {status}")
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # outside Jupyter: plain text
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(f"{metric.name}: {metric.definition}\n{status}\n{result.head(rows)}")
        return result
    display(HTML(metric_html(metric, result, status, rows=rows)))
    return result


def show_sql(expr, dialect: str = "duckdb") -> str:
    """The SQL Ibis generates for an expression (to compare with a hand-written query)."""
    import ibis

    sql = ibis.to_sql(expr, dialect=dialect)
    print(sql)
    return str(sql)
