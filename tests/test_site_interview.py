"""The interview loop in the built site, in headless Chromium: drill answers, the checker's
model designs and the investigations' model answers stay hidden until clicked; the cheat sheets
and the side-by-side scripts render.

The fixtures are copied from ``test_site.py`` (a few lines) so that this file stands alone.
Set ``BOOK_HTML`` to an already built ``_build/html`` to skip the build while iterating.
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("book")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PRACTICES = ["ecommerce", "social", "streaming", "rideshare"]
#: The practices with a metric investigation (ride-sharing's waits for its landing zone).
INVESTIGATED = ["ecommerce", "social", "streaming"]


def _need_browser():
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(request):
    prebuilt = os.environ.get("BOOK_HTML")
    if prebuilt and (Path(prebuilt) / "index.html").is_file():
        html = Path(prebuilt)
    else:
        proc, html = request.getfixturevalue("built_book")
        if proc.returncode != 0:
            pytest.fail("the book did not build; see test_book.py")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", html
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def _open(page, solution):
    """Click the dropdown's toggle (its title holds a link to the exercise: not that)."""
    toggle = solution.locator("button.toggle-button")
    if toggle.count():
        toggle.first.click()
    else:
        solution.locator(".admonition-title").first.click(position={"x": 5, "y": 5})
    page.wait_for_timeout(500)


@pytest.mark.parametrize("practice", PRACTICES)
def test_drill_answers_are_hidden_until_clicked(site, page, practice):
    from datamodeling.interview import mock_interview

    base, _ = site
    page.goto(f"{base}/notebooks/{practice}/06_mock_interview.html")
    drills = mock_interview(practice).drills
    for drill in (drills[0], drills[-1]):
        label = f"{practice}-drill-{drill.key}"
        challenge = page.locator(f"#{label}")
        assert challenge.is_visible() and "The interviewer" in challenge.inner_text()
        solution = page.locator(f".solution:has(.admonition-title a[href='#{label}'])")
        assert solution.count() == 1
        body = solution.locator("section").first
        assert not body.is_visible()
        _open(page, solution)
        assert body.is_visible()
        assert "Weak answers" in body.inner_text()


@pytest.mark.parametrize("practice", PRACTICES)
def test_model_designs_are_hidden_until_clicked_and_pass(site, page, practice):
    from datamodeling.interview import mock_interview, rubric_points

    base, _ = site
    page.goto(f"{base}/notebooks/{practice}/06_mock_interview.html")
    mock = mock_interview(practice)
    # The weak design's report is shown openly, with its failed points.
    weak = page.locator(".design-report").first
    assert weak.is_visible() and "✗" in weak.inner_text()
    solution = page.locator(".solution:has(.design-report)")
    assert solution.count() == 1
    reports = solution.locator(".design-report")
    assert reports.count() == len(mock.model_designs)
    diagrams = solution.locator(".cell_output svg, .cell_output img")
    assert diagrams.count() >= len(mock.model_designs)
    assert not reports.first.is_visible() and not diagrams.first.is_visible()
    _open(page, solution)
    points = len(rubric_points(mock.task))
    for i in range(reports.count()):
        report = reports.nth(i)
        report.scroll_into_view_if_needed()
        assert report.is_visible()
        assert (
            f"{points}/{points}" in report.inner_text()
            and "✗" not in report.inner_text()
        )
    assert diagrams.first.is_visible()


@pytest.mark.parametrize("practice", INVESTIGATED)
def test_investigation_answer_is_hidden_until_clicked_and_walks_the_diagnosis_order(
    site, page, practice
):
    from datamodeling.interview import DIAGNOSIS_PHASES, investigation

    base, _ = site
    page.goto(f"{base}/notebooks/{practice}/06_mock_interview.html")
    inv = investigation(practice)
    label = f"{practice}-investigation"
    exercise = page.locator(f"#{label}")
    assert exercise.is_visible() and "Metric investigation" in exercise.inner_text()
    # the alarm and the options are shown openly, the alarm with its figures from the data
    main = page.locator("main").inner_text().replace("’", "'")  # Sphinx's smart quotes
    assert "The interviewer:" in main and all(o.text in main for o in inv.options)
    assert "{glue" not in main and "{value}" not in main
    solution = page.locator(f".solution:has(.admonition-title a[href='#{label}'])")
    assert solution.count() == 1
    report = solution.locator(".investigation-report")
    assert report.count() == 1 and not report.is_visible()
    first_step = solution.locator("pre").first
    assert not first_step.is_visible()
    _open(page, solution)
    report.scroll_into_view_if_needed()
    assert report.is_visible() and "3/3" in report.inner_text()
    assert "✗" not in report.inner_text()
    # the model answer's steps come in the diagnosis order, each with its SQL and result
    text = solution.inner_text()
    positions = [text.find(f". {title}") for title in DIAGNOSIS_PHASES.values()]
    assert -1 not in positions and positions == sorted(positions), positions
    assert solution.locator("table").count() >= len(inv.steps)


@pytest.mark.parametrize("practice", PRACTICES)
def test_cheat_sheet_renders(site, page, practice):
    from datamodeling.registry import get_practice

    base, _ = site
    page.goto(f"{base}/book/interview_loop/cheat_sheet_{practice}.html")
    main = page.locator("main")
    headings = [h.strip() for h in main.locator("h2").all_inner_texts()]
    for expected in (
        "Facts and their grains",
        "Dimensions: keys and history",
        "Pitfalls",
    ):
        assert any(h.startswith(expected) for h in headings), headings
    tables = main.locator("table")
    assert tables.count() >= 3
    text = main.inner_text()
    for raw in ("{doc}", "```", "| ---", "{glue"):
        assert raw not in text  # parsed as MyST, not shown as source
    for name in get_practice(practice).metrics:
        assert name in text
    links = main.locator(f"li a.reference.internal[href*='notebooks/{practice}/']")
    assert links.count() >= 3  # each pitfall links to its notebook
    assert tables.first.is_visible()


def test_scripts_side_by_side_render(site, page):
    base, _ = site
    page.goto(f"{base}/book/interview_loop/scripts.html")
    tables = page.locator("main table")
    assert tables.count() == 2
    for i in range(2):
        assert tables.nth(i).locator("tbody tr").count() == 5
        assert tables.nth(i).locator("thead th").count() == 1 + len(PRACTICES)


def test_exercise_index_lists_drills_design_tasks_and_investigations(site, page):
    from datamodeling.interview import mock_interview

    base, _ = site
    page.goto(f"{base}/book/exercise_index.html")
    text = page.locator("main").inner_text()
    for practice in PRACTICES:
        mock = mock_interview(practice)
        assert mock.task.name in text
        for drill in mock.drills:
            assert drill.key in text
        if mock.investigation is not None:
            assert mock.investigation.name in text
