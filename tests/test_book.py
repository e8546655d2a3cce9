"""The whole book builds with every notebook executed and no warning (the build is the test)."""

import re

import pytest

pytestmark = pytest.mark.xdist_group("book")


def test_book_builds_without_warnings_or_cell_errors(built_book):
    proc, html = built_book
    log = proc.stdout + proc.stderr
    warnings = [
        line for line in log.splitlines() if re.search(r": (WARNING|ERROR|CRITICAL):", line)
    ]
    reports = "\n".join(p.read_text()[-3000:] for p in sorted(html.glob("reports/**/*.err.log")))
    assert proc.returncode == 0, "\n".join(warnings[:40]) + "\n" + (reports or log[-4000:])
    assert not warnings, "\n".join(warnings[:40])
    assert (html / "index.html").is_file()


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
