"""The built site in headless Chromium: pages load cleanly, search works, diagrams display,
exercise solutions stay hidden until clicked."""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("book")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Noise that is not the book's: resources of other hosts (the machine may be offline), and the
# theme's own notice when the browser has no stored light/dark choice yet (it then uses "auto").
THIRD_PARTY_NOISE = ("net::ERR_", "Failed to load resource", "favicon", "Got invalid theme mode")


def _need_browser():
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def site(built_book):
    proc, html = built_book
    if proc.returncode != 0:
        pytest.fail("the book did not build; see test_book.py")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
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
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def _pages(html: Path) -> list[str]:
    skip = {"genindex.html", "search.html"}
    return sorted(
        str(p.relative_to(html))
        for p in html.rglob("*.html")
        if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts
    )


def test_every_page_loads_without_console_errors(site, page):
    base, html = site
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append((page.url, m.text)))
    page.on("pageerror", lambda e: errors.append((page.url, str(e))))
    pages = _pages(html)
    assert len(pages) >= 10
    for rel in pages:
        response = page.goto(f"{base}/{rel}", wait_until="load")
        assert response.status == 200, rel
    own = [(u, t) for u, t in errors if not any(n in t for n in THIRD_PARTY_NOISE)]
    assert not own, own[:10]


def test_search_finds_slowly_changing(site, page):
    base, _ = site
    page.goto(f"{base}/search.html?q=slowly+changing")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    hits = page.locator("#search-results ul.search li").count()
    assert hits >= 1


def test_er_diagram_svg_displays(site, page):
    base, html = site
    pages_with_svg = [
        rel
        for rel in _pages(html)
        if ".svg" in (html / rel).read_text() or "<svg" in (html / rel).read_text()
    ]
    assert pages_with_svg, "no page shows an SVG diagram"
    page.goto(f"{base}/{pages_with_svg[0]}")
    images = page.locator(".cell_output img[src$='.svg'], .cell_output svg")
    assert images.count() >= 1
    image = max(images.all(), key=lambda e: e.evaluate("e => e.getBoundingClientRect().width"))
    image.scroll_into_view_if_needed()
    assert image.is_visible()
    box = image.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    if image.evaluate("e => e.tagName") == "IMG":
        assert image.evaluate("e => e.complete && e.naturalWidth > 0")


def test_exercise_solution_is_hidden_until_clicked(site, page):
    base, html = site
    with_solutions = [
        rel
        for rel in _pages(html)
        if 'class="solution' in (html / rel).read_text()
        or "solution dropdown" in (html / rel).read_text()
    ]
    assert with_solutions, "no page has an exercise solution"
    page.goto(f"{base}/{with_solutions[0]}")
    solution = page.locator(".solution").first
    body = solution.locator(".admonition-title ~ *, section, p").last
    assert not body.is_visible()
    solution.locator(".admonition-title, summary, button.toggle-button").first.click()
    page.wait_for_timeout(500)
    assert body.is_visible()
