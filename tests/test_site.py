"""The built site, read page by page in headless Chromium as a reader would.

The browser is 1280 x 900 and reaches nothing but the local server: every request to another
host is refused and counted as a failed request, so a page that needs the network (a CDN's
MathJax, a web font) fails here. Each page is visited once (the ``site_report`` fixture); the
tests below each check one promise of the book on every page:

- it loads with no console error and no failed request;
- no table cell is cut off ("..." or "…");
- nothing in the main column is wider than the column, code and folded content included;
- every image loads, and the text of every diagram on the page reads at >= 11 CSS px;
- math is typeset (no raw ``\\[``, ``\\(`` or ``$$`` left in the text);
- every exercise box holds its question, and exercise numbers restart on every page;
- a metrics page is at most 12 screens (of 900 px) long. The height of every page is printed.
"""

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("book")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1280, 900
MIN_TEXT_PX = 11
METRICS_PAGE_SCREENS = 12


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


def _offline_context(browser, base: str, refused: list):
    """A browser context that reaches the local server only; other requests are refused."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    context.route("**/*", route)
    return context


@pytest.fixture
def page(browser, site):
    base, _ = site
    context = _offline_context(browser, base, [])
    page = context.new_page()
    yield page
    context.close()


def _pages(html: Path) -> list[str]:
    skip = {"genindex.html", "search.html", "index.html"}  # index.html only redirects
    return sorted(
        str(p.relative_to(html))
        for p in html.rglob("*.html")
        if p.name not in skip
        and not {"_static", "_sources", "_images", "reports"}
        & set(p.relative_to(html).parts)
    )


# Everything measured on one page, in the page itself. Folded content (code cells hidden with
# hide-input, show_metric's code, hints and solutions) is opened before widths are measured;
# the full-size overview of a model is not, since it opens over the page, not in the column.
MEASURE = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  const height = document.documentElement.scrollHeight;
  const textOf = (el) => (el.innerText || el.textContent || "").replace(/\s+/g, " ").trim();

  const cutCells = [];
  for (const cell of article.querySelectorAll("td, th")) {
    const t = textOf(cell);
    if (t.endsWith("...") || t.endsWith("…")) cutCells.push(t.slice(-80));
  }

  const exercises = [];
  for (const box of article.querySelectorAll("div.exercise")) {
    const title = box.querySelector(".admonition-title");
    const number = title ? (title.querySelector(".caption-number") || title) : null;
    let body = "";
    for (const child of box.children) if (child !== title) body += " " + textOf(child);
    // A question cut short by a nested code fence leaves its end after the box, followed by
    // the empty code block its stray closing fence opens.
    let after = box.nextElementSibling, strayFence = false, prose = false;
    while (after && !after.matches("div.cell, div.admonition, section, div.exercise")) {
      if (after.matches("p")) prose = true;
      if (prose && after.matches("div[class^='highlight']") && !textOf(after)) strayFence = true;
      after = after.nextElementSibling;
    }
    exercises.push({
      id: box.id,
      strayFence,
      title: title ? textOf(title) : "",
      number: number ? textOf(number) : "",
      question: body.trim(),
    });
  }

  let rawMath = [];
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) =>
      n.parentElement.closest("pre, code, script, style, mjx-container, textarea")
        ? NodeFilter.FILTER_REJECT
        : NodeFilter.FILTER_ACCEPT,
  });
  while (walker.nextNode()) {
    const t = walker.currentNode.nodeValue;
    if (t.includes("\\[") || t.includes("\\(") || t.includes("$$")) rawMath.push(t.trim().slice(0, 80));
  }

  for (const d of article.querySelectorAll("details")) {
    if (!d.classList.contains("dm-zoom")) d.open = true;
  }
  for (const b of article.querySelectorAll("button.toggle-button")) {
    if (b.classList.contains("toggle-button-hidden") || b.getAttribute("aria-expanded") !== "true") b.click();
  }
  await new Promise((r) => setTimeout(r, 400));

  const box = article.getBoundingClientRect();
  const right = box.right - parseFloat(getComputedStyle(article).paddingRight) + 1;
  const tooWide = [];
  for (const el of article.querySelectorAll("*")) {
    const tag = el.tagName.toLowerCase();
    if (el.closest("svg") && tag !== "svg") continue;
    if (el.closest(".dm-zoom-panel, mjx-assistive-mml")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const cs = getComputedStyle(el);
    if (cs.position === "fixed" || cs.visibility === "hidden" || cs.opacity === "0") continue;
    const what = tag + (el.className && typeof el.className === "string" ? "." + el.className.split(" ")[0] : "");
    if (r.right > right) tooWide.push(`${what} ends at ${Math.round(r.right)} > ${Math.round(right)}: ${textOf(el).slice(0, 60)}`);
    if ((cs.overflowX === "auto" || cs.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1)
      tooWide.push(`${what} scrolls sideways (${el.scrollWidth} > ${el.clientWidth}): ${textOf(el).slice(0, 60)}`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    tooWide.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px`);

  const images = [];
  for (const img of article.querySelectorAll("img")) {
    images.push({ src: img.getAttribute("src").slice(0, 120), ok: img.complete && img.naturalWidth > 0 });
  }

  const diagrams = [];
  for (const svg of article.querySelectorAll("svg")) {
    if (svg.closest("mjx-container, .dm-zoom-panel, button")) continue;
    if (svg.classList.contains("dm-er-preview")) continue;  // opens full size; checked there
    let min = Infinity;
    for (const t of svg.querySelectorAll("text")) {
      if (!textOf(t)) continue;
      const m = t.getScreenCTM();
      if (!m) continue;
      min = Math.min(min, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b));
    }
    if (min < Infinity) diagrams.push({ kind: "inline svg", min_px: min });
  }
  for (const img of article.querySelectorAll("img")) {
    const src = img.getAttribute("src") || "";
    if (!src.split("?")[0].endsWith(".svg")) continue;
    const text = await (await fetch(img.src)).text();
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = doc.documentElement;
    const viewBox = (root.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
    const sizes = [...doc.querySelectorAll("text")].map((t) => parseFloat(t.getAttribute("font-size") || "16"));
    if (!sizes.length || viewBox.length !== 4) continue;
    const shown = img.getBoundingClientRect().width;
    diagrams.push({ kind: "img " + src.slice(-40), min_px: Math.min(...sizes) * shown / viewBox[2] });
  }

  return { height, cutCells, exercises, rawMath, tooWide: tooWide.slice(0, 20), images, diagrams };
}
"""


@pytest.fixture(scope="module")
def site_report(site, browser):
    """Visit every page once; return what was measured on each, with its errors and failures."""
    base, html = site
    pages = _pages(html)
    assert len(pages) >= 10
    refused: list[str] = []
    context = _offline_context(browser, base, refused)
    page = context.new_page()
    current = {"errors": [], "failed": []}
    page.on(
        "console",
        lambda m: m.type == "error" and current["errors"].append(m.text),
    )
    page.on("pageerror", lambda e: current["errors"].append(str(e)))
    page.on(
        "requestfailed",
        lambda r: current["failed"].append(f"{r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: (
            r.status >= 400 and current["failed"].append(f"{r.url} (HTTP {r.status})")
        ),
    )
    report = {}
    for rel in pages:
        current["errors"], current["failed"] = [], []
        start = len(refused)
        url = f"{base}/{rel}"
        response = page.goto(url, wait_until="load")
        # goto returns None when the browser treats the navigation as same-document; ask the
        # server for the status instead.
        status = (
            response.status if response is not None else page.request.get(url).status
        )
        page.wait_for_timeout(300)
        measured = page.evaluate(MEASURE)
        measured.update(
            status=status,
            errors=list(current["errors"]),
            failed=list(current["failed"])
            + [f"{u} (refused: not the local server)" for u in refused[start:]],
        )
        report[rel] = measured
    context.close()
    heights = "\n".join(
        f"  {rel:60s} {r['height']:>7,} px  {r['height'] / HEIGHT:5.1f} screens"
        for rel, r in report.items()
    )
    print(f"\nPage lengths at {WIDTH} x {HEIGHT}:\n{heights}")
    return report


def _problems(report, key):
    return {rel: r[key] for rel, r in report.items() if r[key]}


def test_every_page_loads_without_console_errors_or_failed_requests(site_report):
    assert all(r["status"] == 200 for r in site_report.values()), {
        rel: r["status"] for rel, r in site_report.items() if r["status"] != 200
    }
    assert not _problems(site_report, "errors")
    assert not _problems(site_report, "failed")


def test_no_table_cell_is_cut_off(site_report):
    assert not _problems(site_report, "cutCells")


def test_nothing_is_wider_than_the_column(site_report):
    problems = _problems(site_report, "tooWide")
    assert not problems, "\n".join(
        f"{rel}: {p}" for rel, found in problems.items() for p in found
    )


def test_every_image_loads(site_report):
    broken = {
        rel: [i["src"] for i in r["images"] if not i["ok"]]
        for rel, r in site_report.items()
        if any(not i["ok"] for i in r["images"])
    }
    assert not broken


def test_diagram_text_reads_at_column_width(site_report):
    small = {
        rel: [
            f"{d['kind']}: {d['min_px']:.1f} px"
            for d in r["diagrams"]
            if d["min_px"] < MIN_TEXT_PX
        ]
        for rel, r in site_report.items()
    }
    small = {rel: found for rel, found in small.items() if found}
    assert not small
    assert any(r["diagrams"] for r in site_report.values()), "no page shows a diagram"


def test_math_is_typeset_offline(site_report):
    assert not _problems(site_report, "rawMath")


def test_each_exercise_box_holds_its_question(site_report):
    incomplete = {
        rel: [
            e["id"]
            for e in r["exercises"]
            if not e["question"] or e["question"].endswith(":") or e["strayFence"]
        ]
        for rel, r in site_report.items()
    }
    assert not {rel: ids for rel, ids in incomplete.items() if ids}


def test_exercise_numbers_restart_on_every_page(site_report):
    pages = {rel: r["exercises"] for rel, r in site_report.items() if r["exercises"]}
    assert len(pages) >= 4, "the practices' exercise pages"
    for rel, exercises in pages.items():
        numbers = [re.search(r"Exercise\s+([\d.]+)", e["number"]) for e in exercises]
        assert all(numbers), (rel, [e["number"] for e in exercises])
        last = [int(m.group(1).rstrip(".").split(".")[-1]) for m in numbers]
        assert last == list(range(1, len(exercises) + 1)), (rel, last)
    practices = {rel.split("/")[1] for rel in pages if rel.startswith("notebooks/")}
    assert len(practices) >= 4


def test_metrics_pages_fit_the_length_budget(site_report):
    budget = METRICS_PAGE_SCREENS * HEIGHT
    heights = {rel: r["height"] for rel, r in site_report.items() if "metrics" in rel}
    assert len(heights) >= 4
    for rel, h in sorted(heights.items()):
        print(f"{rel}: {h / HEIGHT:.1f} screens")
    too_long = {
        rel: f"{h / HEIGHT:.1f} screens" for rel, h in heights.items() if h > budget
    }
    assert not too_long


def test_search_finds_slowly_changing(site, page):
    base, _ = site
    page.goto(f"{base}/search.html?q=slowly+changing")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    hits = page.locator("#search-results ul.search li").count()
    assert hits >= 1


def test_er_diagram_displays(site, page):
    base, html = site
    pages_with_svg = [
        rel
        for rel in _pages(html)
        if ".svg" in (html / rel).read_text() or "<svg" in (html / rel).read_text()
    ]
    assert pages_with_svg, "no page shows an SVG diagram"
    schema_pages = [
        rel for rel in pages_with_svg if "schema_design" in rel
    ] or pages_with_svg
    page.goto(f"{base}/{schema_pages[0]}")
    images = page.locator(
        ".cell_output img[src$='.svg'], .cell_output svg.dm-er-svg, .cell_output svg"
    )
    assert images.count() >= 1
    image = max(
        (i for i in images.all() if i.is_visible()),
        key=lambda e: e.evaluate("e => e.getBoundingClientRect().width"),
    )
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    if image.evaluate("e => e.tagName") == "IMG":
        assert image.evaluate("e => e.complete && e.naturalWidth > 0")


def test_the_model_overview_opens_full_size_and_closes(site, page):
    base, html = site
    with_overview = [
        rel
        for rel in _pages(html)
        if '<details class="dm-zoom">' in (html / rel).read_text()
    ]
    if not with_overview:
        pytest.skip(
            "no page shows a model overview yet (the notebooks call model_overview)"
        )
    page.goto(f"{base}/{with_overview[0]}")
    zoom = page.locator("details.dm-zoom").first
    summary = zoom.locator("summary")
    summary.scroll_into_view_if_needed()
    panel = zoom.locator(".dm-zoom-panel")
    assert not panel.is_visible()
    summary.click()
    assert panel.is_visible()
    box = panel.bounding_box()
    assert (
        box["width"] >= WIDTH - 20 and box["height"] >= HEIGHT - 20
    )  # over the whole window
    full = panel.locator("svg")
    smallest = full.evaluate(
        """svg => Math.min(...[...svg.querySelectorAll('text')].map(t =>
            parseFloat(getComputedStyle(t).fontSize) * Math.hypot(t.getScreenCTM().a,
            t.getScreenCTM().b)))"""
    )
    assert smallest >= MIN_TEXT_PX
    summary.click()
    assert not panel.is_visible()


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
