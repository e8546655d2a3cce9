"""The book's table formatter, show_metric's layout, the diagrams' sizes and the plot helpers.

Oracles are independent of the code under test: expected texts are written by hand, the bus
matrix is compared with a matrix written out by reading the schema declarations, and the rendered
text size of a diagram is recomputed here from the SVG's own attributes.
"""

import re
from decimal import Decimal
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from datamodeling import plots, teach
from datamodeling.registry import get_practice, practices
from datamodeling.schema import (
    Column,
    ForeignKey,
    Table,
    bus_matrix,
    model_diagram,
    model_overview,
    process_diagram,
    process_diagrams,
    process_tables,
)


class _Cells(HTMLParser):
    """Every table of an HTML fragment as lists of (header texts, rows of cell texts)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._row = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"head": [], "rows": [], "caption": ""})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = [tag, dict(attrs), ""]
        elif tag == "caption":
            self._cell = ["caption", {}, ""]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "caption" and self._cell is not None:
            self.tables[-1]["caption"] = self._cell[2]
            self._cell = None
        elif tag == "tr" and self._row is not None:
            kinds = {c[0] for c in self._row}
            table = self.tables[-1]
            if kinds == {"th"} and not table["rows"] and not table["head"]:
                table["head"] = [c[2] for c in self._row]
            else:
                table["rows"].append([c[2] for c in self._row])
            self._row = None


def cells(html: str) -> list[dict]:
    parser = _Cells()
    parser.feed(html)
    return parser.tables


def one_table(html: str) -> dict:
    tables = cells(html)
    assert len(tables) == 1, f"expected one table, got {len(tables)}"
    return tables[0]


def column(table: dict, name: str) -> list[str]:
    return [row[table["head"].index(name)] for row in table["rows"]]


# --- the table formatter -------------------------------------------------------------------


def test_text_is_never_truncated_and_the_default_index_is_hidden():
    grain = (
        "One row per line of a customer order: the product, quantity and amounts as sold, "
        "with the customer version valid at the order time."
    )
    table = one_table(
        teach.format_table(pd.DataFrame({"table": ["order_line"], "grain": [grain]}))
    )
    assert table["head"] == ["table", "grain"]
    assert table["rows"] == [["order_line", grain]]


def test_ids_stay_integers_and_null_is_a_dash():
    frame = pd.DataFrame({"customer_id": [5002, None, 17], "orders": [1200, 3, None]})
    assert (
        frame.customer_id.dtype == "float64"
    )  # what pandas does to an id column with a NULL
    table = one_table(teach.format_table(frame))
    assert column(table, "customer_id") == ["5002", "—", "17"]
    assert column(table, "orders") == ["1,200", "3", "—"]
    assert "NaN" not in teach.format_table(frame) and "nan" not in teach.format_table(
        frame
    )


def test_nullable_integers_and_pandas_na():
    frame = pd.DataFrame(
        {"store_id": pd.array([1, pd.NA], dtype="Int64"), "name": ["a", None]}
    )
    html = teach.format_table(frame)
    assert "&lt;NA&gt;" not in html and "<NA>" not in html and "None" not in html
    assert column(one_table(html), "store_id") == ["1", "—"]
    assert column(one_table(html), "name") == ["a", "—"]


def test_money_has_a_thousands_separator_and_two_decimals():
    frame = pd.DataFrame(
        {
            "net_sales": [
                Decimal("90020.5"),
                Decimal("3.10"),
            ],  # DECIMAL(18, 2) from DuckDB
            "aov": [90020.456, 1.0],
            "amount_of_things": [Decimal("12345.6789"), Decimal("1.0001")],  # not money
        }
    )
    table = one_table(teach.format_table(frame))
    assert column(table, "net_sales") == ["90,020.50", "3.10"]
    assert column(table, "aov") == ["90,020.46", "1.00"]
    assert column(table, "amount_of_things") == ["12,345.6789", "1.0001"]
    assert "e+0" not in teach.format_table(frame)


def test_rates_and_shares_are_percentages_but_counts_are_not():
    frame = pd.DataFrame(
        {
            "churn_rate": [0.1234, 0.5],
            "revenue_share": [0.25, 0.75],
            "churned_users": [
                0,
                1,
            ],  # an integer count, even though its values are 0 and 1
            "avg_completion_pct": [63.25, 80.0],
        }
    )
    table = one_table(teach.format_table(frame))
    assert column(table, "churn_rate") == ["12.3%", "50.0%"]
    assert column(table, "revenue_share") == ["25.0%", "75.0%"]
    assert column(table, "churned_users") == ["0", "1"]
    assert column(table, "avg_completion_pct") == ["63.2%", "80.0%"]


def test_timestamps_to_the_second_and_dates_alone_at_midnight():
    frame = pd.DataFrame(
        {
            "order_time": pd.to_datetime(
                ["2024-03-01 10:11:12.987654", "2024-03-02 00:00:01.000000"]
            ),
            "order_date": pd.to_datetime(["2024-03-01", "2024-03-02"]),
        }
    )
    table = one_table(teach.format_table(frame))
    assert column(table, "order_time") == ["2024-03-01 10:11:12", "2024-03-02 00:00:01"]
    assert column(table, "order_date") == ["2024-03-01", "2024-03-02"]


def test_hash_keys_are_shown_whole_without_separators():
    key = -8_345_678_901_234_567_890
    table = one_table(
        teach.format_table(pd.DataFrame({"customer_sk": [key], "n": [1]}))
    )
    assert column(table, "customer_sk") == [str(key)]


def test_a_meaningful_index_is_shown_as_a_column():
    counts = pd.Series({"Electronics": 10, "Garden": 3}, name="orders").rename_axis(
        "department"
    )
    table = one_table(teach.format_table(counts))
    assert table["head"] == ["department", "orders"]
    assert table["rows"] == [["Electronics", "10"], ["Garden", "3"]]
    # A filtered frame keeps row numbers 3, 7: they are not data.
    filtered = pd.DataFrame({"x": range(10)}).query("x in (3, 7)")
    assert one_table(teach.format_table(filtered))["head"] == ["x"]


def test_long_tables_say_how_many_rows_they_have():
    table = one_table(teach.format_table(pd.DataFrame({"x": range(1234)}), max_rows=5))
    assert len(table["rows"]) == 5
    assert table["caption"] == "The first 5 of 1,234 rows."


def test_a_wide_table_is_split_and_each_part_repeats_the_first_column():
    frame = pd.DataFrame({f"metric_number_{i}": [123456.789 + i] for i in range(12)})
    frame.insert(0, "segment", ["Champions"])
    frame = pd.concat([frame, frame.assign(segment="Loyal")], ignore_index=True)
    parts = cells(teach.format_table(frame))
    assert len(parts) >= 2
    assert all(part["head"][0] == "segment" for part in parts)
    shown = [name for part in parts for name in part["head"][1:]]
    assert shown == [f"metric_number_{i}" for i in range(12)]


def test_one_wide_row_reads_as_a_list():
    frame = pd.DataFrame({f"metric_number_{i}": [float(i) + 0.5] for i in range(14)})
    table = one_table(teach.format_table(frame))
    assert table["head"] == []
    assert [row[0] for row in table["rows"]] == [
        f"metric_number_{i}" for i in range(14)
    ]


def test_hints_name_the_kind_a_column_name_does_not_reveal():
    frame = pd.DataFrame({"point_in_time": [1234.5], "current_row": [0.25]})
    html = teach.format_table(frame, money=["point_in_time"], rates=["current_row"])
    assert one_table(html)["rows"] == [["1,234.50", "25.0%"]]
    assert "1,234.50" in teach.table(frame, money=["point_in_time"])._repr_html_()


def test_setup_notebook_registers_the_formatter_for_every_dataframe():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        teach.setup_notebook(plots=False)
        frame = pd.DataFrame({"customer_id": [5002.0, np.nan]})
        data, _ = shell.display_formatter.format(frame)
        assert 'class="dm-table"' in data["text/html"]
        assert "5002.0" not in data["text/html"] and "NaN" not in data["text/html"]
        styled, _ = shell.display_formatter.format(frame.style.hide(axis="index"))
        assert 'class="dm-table"' in styled["text/html"]
        custom, _ = shell.display_formatter.format(frame.style.format("{:.3f}"))
        assert "5002.000" in custom["text/html"]  # a notebook's own format is kept
        assert pd.get_option("display.max_colwidth") is None
    finally:
        InteractiveShell.clear_instance()
        pd.reset_option("display.max_colwidth")


# --- show_metric -------------------------------------------------------------------------


def test_metric_html_puts_definition_and_result_first_and_folds_the_code(fake_practice):
    from datamodeling import warehouse

    con = warehouse.connect()
    fake_practice.build(con, scale=50, seed=2)
    metric = fake_practice.metrics["total_size"]
    result, difference = teach.metric_agreement(metric, con)
    assert difference is None
    page = teach.metric_html(metric, result, "Ibis and SQL agree on all 1 rows.")
    definition = page.index('class="dm-definition"')
    table = page.index('class="dm-table')
    details = page.index("<details")
    assert definition < table < details, "definition, then result, then the folded code"
    folded = page[details:]
    assert "sd-tab-set" in folded and folded.count('type="radio"') == 2
    labels = re.findall(r'class="sd-tab-label"[^>]*>([^<]+)<', folded)
    assert labels == ["Ibis", "SQL"]
    assert "SELECT" in re.sub(r"<[^>]+>", "", folded)
    assert "def " in re.sub(r"<[^>]+>", "", folded)
    assert "e+0" not in page and "{:" not in page
    # Two metrics on one page get different tab groups, so each tab set works on its own.
    again = teach.metric_html(metric, result, "ok")
    assert (
        re.findall(r'name="(dm-tabs-\d+)"', page)[0]
        != re.findall(r'name="(dm-tabs-\d+)"', again)[0]
    )


# --- diagrams ----------------------------------------------------------------------------


def _rendered_min_text_px(svg: str, column_px: float) -> float:
    """Recomputed here from the SVG: smallest font-size x (shown width / viewBox width)."""
    width_pt = float(re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg).group(1))
    view_width = float(
        re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) [\d.]+"', svg).group(1)
    )
    shown = min(width_pt * 4 / 3, column_px)
    smallest = min(float(s) for s in re.findall(r'font-size="([\d.]+)"', svg))
    return smallest * shown / view_width


@pytest.mark.parametrize("name", sorted(practices()))
def test_every_process_diagram_reads_at_column_width(name):
    tables = get_practice(name).tables
    diagrams = process_diagrams(tables)
    facts = [t.name for t in tables if t.role == "fact" and t.database is None]
    assert len(diagrams) == len(facts) >= 1
    for fact, diagram in zip(facts, diagrams, strict=True):
        assert diagram.caption.startswith(fact + ":")
        px = _rendered_min_text_px(diagram.svg, teach.COLUMN_PX)
        assert px >= 11, f"{name}.{fact}: smallest text {px:.1f} px in the column"
        assert abs(diagram.text_px(teach.COLUMN_PX) - px) < 0.05
        # The fact and every table it references are in its star.
        shown = set(re.findall(r"<title>([^<&]+)</title>", diagram.svg))
        fact_table = next(t for t in tables if t.name == fact)
        referenced = {fk.table for fk in fact_table.foreign_keys}
        assert {fact, *referenced} <= shown, (
            f"{fact}: missing {({fact, *referenced}) - shown}"
        )


def test_the_overview_is_too_wide_for_the_column_and_opens_full_size():
    tables = [t for t in get_practice("streaming").tables if t.database is None]
    overview = model_overview(tables, "The streaming model")
    html = overview._repr_html_()
    assert (
        '<details class="dm-zoom">' in html
        and "Open the whole model at full size" in html
    )
    assert html.count("<svg") == 2  # the preview in the column, the full-size picture
    assert _rendered_min_text_px(overview.svg, 10**6) >= 11  # at full size it reads
    assert (
        _rendered_min_text_px(overview.svg, teach.COLUMN_PX) < 11
    )  # why it needs opening


def test_model_diagram_opens_full_size_only_when_it_must():
    small = model_diagram(_star_schema()[:3], "Three dimensions")
    assert not small.overview and small.text_px(teach.COLUMN_PX) >= 11
    assert "<details" not in small._repr_html_()
    tables = [t for t in get_practice("ecommerce").tables if t.database is None]
    big = model_diagram(tables, "The e-commerce model")
    assert big.overview and '<details class="dm-zoom">' in big._repr_html_()


def _star_schema():
    date = Table(
        "dim_date",
        "dimension",
        "One row per day.",
        [Column("date_key", "int64", "yyyymmdd", nullable=False)],
        primary_key=["date_key"],
    )
    region = Table(
        "dim_region",
        "dimension",
        "One row per region.",
        [Column("region_id", "int64", "Region.", nullable=False)],
        primary_key=["region_id"],
    )
    store = Table(
        "dim_store",
        "dimension",
        "One row per store.",
        [
            Column("store_id", "int64", "Store.", nullable=False),
            Column("region_id", "int64", ""),
        ],
        primary_key=["store_id"],
        foreign_keys=[ForeignKey("region_id", "dim_region")],
    )
    sale = Table(
        "fact_sale",
        "fact",
        "One row per sale.",
        [
            Column("sale_id", "int64", "Sale.", nullable=False),
            Column("store_id", "int64", ""),
            Column("order_date_key", "int64", ""),
            Column("ship_date_key", "int64", ""),
        ],
        primary_key=["sale_id"],
        foreign_keys=[
            ForeignKey("store_id", "dim_store"),
            ForeignKey("order_date_key", "dim_date", "date_key"),
            ForeignKey("ship_date_key", "dim_date", "date_key"),
        ],
    )
    stock = Table(
        "fact_stock",
        "fact",
        "One row per store and day.",
        [Column("store_id", "int64", ""), Column("date_key", "int64", "")],
        primary_key=["store_id", "date_key"],
        foreign_keys=[
            ForeignKey("store_id", "dim_store"),
            ForeignKey("date_key", "dim_date"),
        ],
    )
    summary = Table(
        "sales_by_day",
        "aggregate",
        "One row per day.",
        [Column("date_key", "int64", "")],
        foreign_keys=[ForeignKey("date_key", "dim_date")],
        database="mart",
    )
    return [date, region, store, sale, stock, summary]


def test_bus_matrix_marks_direct_role_playing_and_outrigger_dimensions():
    matrix = bus_matrix(_star_schema())
    expected = pd.DataFrame(
        {
            "process": ["fact_sale", "fact_stock"],
            "dim_date": ["✓ ×2", "✓"],
            "dim_store": ["✓", "✓"],
            "dim_region": ["via dim_store", "via dim_store"],
        }
    )
    pd.testing.assert_frame_equal(matrix, expected)


def test_process_tables_is_the_star_with_its_outriggers_only():
    tables = _star_schema()
    assert [t.name for t in process_tables(tables, "fact_stock")] == [
        "fact_stock",
        "dim_date",
        "dim_region",
        "dim_store",
    ]
    diagram = process_diagram(tables, "fact_sale")
    assert "sales_by_day" not in diagram.svg and "fact_stock" not in diagram.svg


def test_every_practice_has_a_bus_matrix_covering_its_facts():
    for practice in practices().values():
        tables = practice.tables
        matrix = bus_matrix(tables)
        facts = [t.name for t in tables if t.role == "fact" and t.database is None]
        assert matrix.process.tolist() == facts
        for fact in tables:
            if fact.name not in facts:
                continue
            row = matrix.set_index("process").loc[fact.name]
            for fk in fact.foreign_keys:
                target = next((t for t in tables if t.name == fk.table), None)
                if target is not None and target.role == "dimension":
                    assert row[fk.table].startswith("✓"), (
                        practice.name,
                        fact.name,
                        fk.table,
                    )


# --- plots -------------------------------------------------------------------------------


def test_finish_states_the_finding_labels_axes_and_keeps_the_legend_off_the_data():
    import matplotlib

    matplotlib.use("Agg")
    plots.use_book_style()
    fig, ax = plots.figure()
    for name in ("north", "south"):
        ax.plot(range(10), np.arange(10) * (2 if name == "north" else 1), label=name)
    plots.finish(ax, title="North grows twice as fast", x="week", y="orders per week")
    assert ax.get_title(loc="left") == "North grows twice as fast"
    assert ax.get_ylabel() == "orders per week" and ax.get_xlabel() == "week"
    assert plots.legend_outside_data(ax)
    width_px = fig.get_size_inches()[0] * fig.dpi
    assert width_px == pytest.approx(teach.COLUMN_PX, abs=1)
    with pytest.raises(ValueError):
        plots.finish(ax, title="", y="orders")
    with pytest.raises(ValueError):
        plots.finish(ax, title="Finding", y="")


def test_a_legend_inside_the_axes_is_detected():
    import matplotlib

    matplotlib.use("Agg")
    fig, ax = plots.figure()
    ax.plot(range(10), range(10), label="a")
    ax.legend(loc="center")
    assert not plots.legend_outside_data(ax)


def test_complete_periods_drops_partial_first_and_last_weeks():
    days = pd.DataFrame(
        {"day": pd.date_range("2024-01-03", "2024-01-24")}
    )  # Wed to Wed
    days["week"] = days.day.dt.to_period("W").dt.start_time
    weekly = days.groupby("week", as_index=False).size()
    kept = plots.complete_periods(
        weekly, "week", freq="W", first_day="2024-01-03", last_day="2024-01-24"
    )
    # Weeks start on Monday: 2024-01-01 is partial (starts before the data), 2024-01-22 ends
    # after it; the weeks of the 8th and the 15th are whole.
    assert kept.week.dt.strftime("%Y-%m-%d").tolist() == ["2024-01-08", "2024-01-15"]
    assert (kept["size"] == 7).all()
