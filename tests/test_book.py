"""The whole book builds with every notebook executed, and its log is quiet (the build is the test).

A quiet log means no line that says WARNING in any form: Sphinx's own ("file.md:3: WARNING:
..."), a kernel's ("[IPKernelApp] WARNING | ..."), Python's warnings module ("UserWarning:"),
and no dump of the parsers' configuration objects.
"""

import re

import pytest

pytestmark = pytest.mark.xdist_group("book")


def _log(proc) -> str:
    return re.sub(
        r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr
    )  # without colour codes


def _skip_if_reused(proc):
    if getattr(proc, "reused", False):
        pytest.skip(
            "DATAMODELING_BOOK_HTML: the site was built before; there is no build log"
        )


def test_book_builds_without_cell_errors(built_book):
    proc, html = built_book
    _skip_if_reused(proc)
    log = _log(proc)
    reports = "\n".join(
        p.read_text()[-3000:] for p in sorted(html.glob("reports/**/*.err.log"))
    )
    assert proc.returncode == 0, reports or log[-4000:]
    assert (html / "index.html").is_file()


def test_build_log_has_no_warning_line(built_book):
    proc, _ = built_book
    _skip_if_reused(proc)
    lines = _log(proc).splitlines()
    warnings = [line for line in lines if re.search(r"warning", line, re.IGNORECASE)]
    assert not warnings, "\n".join(warnings[:40])
    errors = [line for line in lines if re.search(r": (ERROR|CRITICAL):", line)]
    assert not errors, "\n".join(errors[:40])


def test_build_log_has_no_configuration_dump(built_book):
    proc, _ = built_book
    _skip_if_reused(proc)
    log = _log(proc)
    assert "MdParserConfig(" not in log and "NbParserConfig(" not in log
    long_lines = [line[:120] for line in log.splitlines() if len(line) > 400]
    assert not long_lines, long_lines[:5]


def test_every_toc_entry_has_a_page(built_book):
    import yaml

    from datamodeling.warehouse import project_root

    _, html = built_book
    toc = yaml.safe_load((project_root() / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    missing = [f for f in files if not (html / f"{f}.html").is_file()]
    assert not missing, missing
    assert len(files) >= 10


def test_no_page_loads_anything_from_another_host(built_book):
    """MathJax, fonts and icons are files of the site: a reader offline sees every page whole."""
    _, html = built_book
    remote = re.compile(
        r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', re.IGNORECASE
    )
    pages = [p for p in html.rglob("*.html") if "_static" not in p.parts]
    found = {
        str(p.relative_to(html)): remote.findall(p.read_text(errors="replace"))[:3]
        for p in pages
        if remote.search(p.read_text(errors="replace"))
    }
    assert not found
