"""Show a metric the way the book teaches it: Ibis code and SQL side by side, then the result.

Both versions run on the same warehouse; the page says whether they agree, so every number in the
book is computed twice.
"""

from __future__ import annotations

import html
import inspect
import os
import textwrap

import pandas as pd

from datamodeling.exercises import STRICT_ENV, compare
from datamodeling.registry import Metric

_STYLE = (
    "<style>.dm-side{display:flex;gap:1em;flex-wrap:wrap}.dm-side>div{flex:1 1 22em;min-width:0}"
    ".dm-side pre{font-size:0.78em;overflow-x:auto;background:#f8fafc;padding:0.6em;"
    "border:1px solid #e2e8f0;border-radius:4px;white-space:pre}</style>"
)


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


def show_metric(metric: Metric, con, *, rows: int = 10, **params) -> pd.DataFrame:
    """Display the metric's definition, Ibis code, SQL and result; return the result.

    With ``params`` (a non-default window, say) only the Ibis version runs, since the SQL is
    written for the defaults.
    """
    result, difference = metric_agreement(metric, con, **params)
    if params:
        status = "Ibis result with parameters " + ", ".join(f"{k}={v!r}" for k, v in params.items())
    elif difference is None:
        status = f"✔ Ibis and SQL agree on all {len(result):,} rows."
    else:
        status = f"✘ Ibis and SQL disagree: {difference}"
        if os.environ.get(STRICT_ENV) == "1":  # tests and book builds: a disagreement is an error
            raise AssertionError(f"{metric.name}: {status}")
    try:
        from IPython.display import HTML, display
    except ImportError:  # outside Jupyter: plain text
        print(f"{metric.name}: {metric.definition}\n{status}\n{result.head(rows)}")
        return result
    page = (
        f"{_STYLE}<p><b>{html.escape(metric.name)}</b> — {html.escape(metric.definition)}</p>"
        "<div class='dm-side'>"
        f"<div><p><b>Ibis</b></p><pre>{_highlight(ibis_source(metric), 'python')}</pre></div>"
        f"<div><p><b>SQL</b></p><pre>{_highlight(metric.sql.strip(), 'sql')}</pre></div>"
        f"</div><p>{html.escape(status)}</p>"
        + result.head(rows).to_html(index=False, float_format=lambda x: f"{x:,.4g}")
    )
    display(HTML(page))
    return result


def show_sql(expr, dialect: str = "duckdb") -> str:
    """The SQL Ibis generates for an expression (to compare with a hand-written query)."""
    import ibis

    sql = ibis.to_sql(expr, dialect=dialect)
    print(sql)
    return str(sql)
