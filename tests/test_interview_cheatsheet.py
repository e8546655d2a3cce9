"""The cheat sheets: SQL shapes, grains, pitfalls parsed from the notebooks, scripts side by side."""

from __future__ import annotations

import json
import re

import pytest

from datamodeling.cheatsheet import (
    _pitfalls_in,
    _portable,
    cheat_sheet,
    grains,
    metric_shapes,
    pitfalls,
    scripts_side_by_side,
    sql_shape,
)
from datamodeling.registry import get_practice
from datamodeling.warehouse import project_root

PRACTICES = ["ecommerce", "social", "streaming", "rideshare"]


# --------------------------------------------------------------------------------------------
# SQL shapes
# --------------------------------------------------------------------------------------------
def test_shape_of_a_grouped_query_with_positions_and_ratio():
    shape = sql_shape(
        """
        SELECT c.top_category_name, CAST(o.order_time AS DATE) AS order_date,
               SUM(o.net_amt) / NULLIF(COUNT(DISTINCT o.order_id), 0) AS aov
        FROM order_line AS o JOIN product_category AS c USING (product_category_id)
        GROUP BY 1, 2
        """
    )
    assert shape.tables == ["order_line", "product_category"]
    assert shape.grain == ["top_category_name", "order_date"]
    assert shape.techniques == [
        "COUNT(DISTINCT)",
        "ratio of aggregates",
        "NULLIF guard",
    ]
    assert str(shape).startswith(
        "`order_line` + `product_category` · per top_category_name"
    )


def test_shape_sees_through_ctes_and_names_the_techniques():
    shape = sql_shape(
        """
        WITH days AS (SELECT CAST(range AS DATE) AS d FROM range(DATE '2025-01-01', DATE '2025-02-01', INTERVAL 1 DAY)),
             month_user AS (SELECT DISTINCT viewer_id AS user_id, event_date FROM content_event)
        SELECT d, COUNT(*) FILTER (WHERE a.user_id IS NULL) AS gone,
               LAG(COUNT(*)) OVER (ORDER BY d) AS before
        FROM days
        LEFT JOIN month_user a ON a.event_date = d
        LEFT JOIN month_user b ON b.user_id = a.user_id
        WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.record_id = a.user_id)
        GROUP BY ALL
        """
    )
    assert shape.tables == [
        "content_event",
        "quarantine",
    ]  # CTEs and range() are not tables
    assert shape.grain == ["d"]  # GROUP BY ALL: the non-aggregated columns
    assert set(shape.techniques) == {
        "anti join (NOT EXISTS)",
        "FILTER",
        "window LAG",
        "calendar spine",
        "self join",
    }


@pytest.mark.parametrize("practice", PRACTICES)
def test_every_metric_has_a_shape_naming_tables_of_its_sql(practice):
    shapes = metric_shapes(practice)
    metrics = get_practice(practice).metrics
    assert list(shapes["metric"]) == list(metrics)
    for name, shape in zip(shapes["metric"], shapes["SQL shape"], strict=True):
        assert not shape.startswith("(not parsed"), name
        named = re.findall(r"`([^`]+)`", shape.split(" · ")[0])
        assert named, (name, shape)
        sql = metrics[name].sql.lower()
        for table in named:  # oracle: the name occurs as a word in the query's text
            assert re.search(rf"\b{re.escape(table.lower())}\b", sql), (name, table)


# --------------------------------------------------------------------------------------------
# Grains, keys and SCD choices
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", PRACTICES)
def test_grains_cover_the_model_without_raw_tables(practice):
    tables = get_practice(practice).tables
    expected = {
        t.qualified_name for t in tables if t.role != "raw" and t.database != "raw"
    }
    frame = grains(practice)
    assert set(frame["table"]) == expected and len(frame) == len(expected)
    assert frame["grain"].str.len().min() > 5
    dims = frame[frame.role == "dimension"]
    assert dims["SCD"].str.startswith("type").all(), dims[["table", "SCD"]]
    roles = list(frame["role"])
    assert roles.index("fact") < roles.index("dimension")  # facts first


# --------------------------------------------------------------------------------------------
# Pitfalls, parsed from the notebooks
# --------------------------------------------------------------------------------------------
def test_both_admonition_forms_are_read():
    text = (
        "Intro.\n\n"
        "```{admonition} Pitfall: summing a state\n:class: warning\n"
        "**Wrong:** SUM over time. See {doc}`../foundations/01_grain`.\n```\n\n"
        "```{warning} Pitfall\nJoining on the business key: {glue:text}`n_rows:,` rows.\n```\n\n"
        "```{admonition} Interview tip\n:class: tip\nNot a pitfall.\n```\n"
    )
    found = _pitfalls_in(text, "notebooks/rideshare/02_schema_design")
    assert [p.title for p in found] == ["Summing a state", ""]
    assert found[0].body == (
        "**Wrong:** SUM over time. See {doc}`/notebooks/foundations/01_grain`."
    )
    assert found[1].body == "Joining on the business key: *N* rows."


def test_doc_links_with_text_become_absolute():
    text = _portable(
        "See {doc}`the SCD page <../foundations/02_scd_types>`.", "notebooks/x/01_a"
    )
    assert text == "See {doc}`the SCD page </notebooks/foundations/02_scd_types>`."


@pytest.mark.parametrize("practice", PRACTICES)
def test_every_pitfall_admonition_of_the_notebooks_is_found(practice):
    # Oracle: count the opening lines by a plain line scan of every markdown cell.
    opening = re.compile(
        r"^(```+|:::+)\{(admonition|warning|caution|danger)\} *pitfall", re.I
    )
    expected = 0
    for path in sorted((project_root() / "notebooks" / practice).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                lines = "".join(cell["source"]).splitlines()
                expected += sum(bool(opening.match(line.strip())) for line in lines)
    found = pitfalls(practice)
    assert len(found) == expected and expected >= 3
    for p in found:
        assert p.body and "{glue" not in p.body
        assert "{doc}`../" not in p.body
        assert p.notebook.startswith(f"notebooks/{practice}/")


@pytest.mark.parametrize("practice", PRACTICES)
def test_cheat_sheet_holds_the_facts_the_metrics_and_the_pitfalls(practice):
    page = cheat_sheet(practice)
    for heading in (
        "## Facts and their grains",
        "## Dimensions: keys and history",
        "## Pitfalls",
    ):
        assert heading in page
    p = get_practice(practice)
    for t in p.tables:
        if t.role == "fact":
            assert f"| {t.qualified_name} |" in page
    for name in p.metrics:
        assert f"| {name} |" in page
    for pit in pitfalls(practice):
        assert " ".join(pit.body.split())[:60] in page
    # every Markdown table row has as many cells as its header
    for block in page.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        if rows:
            widths = {len(re.split(r"(?<!\\)\|", r)) for r in rows}
            assert len(widths) == 1, rows[:3]


# --------------------------------------------------------------------------------------------
# The scripts side by side
# --------------------------------------------------------------------------------------------
def test_scripts_side_by_side():
    from datamodeling.interview import mock_interview

    for what, field in (("script", "asks"), ("strong", "strong")):
        table = scripts_side_by_side(what)
        rows = table.splitlines()
        assert len(rows) == 2 + 5
        for practice in PRACTICES:
            mock = mock_interview(practice)
            assert mock.title in rows[0]
            for phase in mock.phases:
                assert " ".join(getattr(phase, field).split()) in table
        assert (
            rows[-1].split(" min)")[0].endswith("–45")
        )  # the last phase ends at minute 45
    with pytest.raises(ValueError):
        scripts_side_by_side("everything")
