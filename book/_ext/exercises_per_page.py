"""Exercises numbered per page, listed in the page's contents, each box holding its question.

sphinx-exercise numbers exercises with Sphinx's figure numbering, which runs across the whole
book unless the table of contents numbers its chapters: the fifth practice's exercises were
"Exercise 32" to "Exercise 40". This extension renumbers them page by page, after Sphinx has
assigned its numbers: on a page whose file name starts with a number (``05_interview_exercises``)
they are "Exercise 5.1", "Exercise 5.2", ...; on other pages "Exercise 1", "Exercise 2", ...
Cross-references (``{numref}``) and the titles of solutions use the same numbers.

Each exercise is also added to the page's contents (the right-hand sidebar), under the section it
sits in and in page order, as "Exercise 5.1: <its title>".

Finally, it checks that each exercise box holds its whole question: a box that is empty, or whose
text ends with a colon, or an empty code block on the page (the stray closing fence), almost
always means a code fence inside the box closed it early (a ```` ```sql ```` block inside a
```` ```{exercise} ```` fence of the same length). The check warns (and so fails a ``-W``
build) when ``dm_check_exercise_questions`` is true; otherwise it reports at the info level.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _is_exercise(node) -> bool:
    from sphinx_exercise.nodes import exercise_enumerable_node

    return isinstance(node, exercise_enumerable_node)


def page_prefix(docname: str) -> tuple[int, ...]:
    """``(5,)`` for ``notebooks/ecommerce/05_interview_exercises``; ``()`` without a number."""
    match = re.match(r"(\d+)[_\-. ]", docname.rsplit("/", 1)[-1])
    return (int(match.group(1)),) if match else ()


def exercise_number(docname: str, position: int) -> tuple[int, ...]:
    """The number of the ``position``-th (1-based) exercise of a page."""
    return (*page_prefix(docname), position)


def _subtitle(node) -> str:
    from sphinx_exercise.nodes import exercise_subtitle

    title = node.children[0] if node.children else None
    if title is None:
        return ""
    for child in title.children:
        if isinstance(child, exercise_subtitle):
            return child.astext().strip()
    return ""


def _question_text(node) -> str:
    """The text of the exercise box without its title."""
    return " ".join(child.astext() for child in node.children[1:]).strip()


def _in_output(node) -> bool:
    parent = node.parent
    while parent is not None:
        if "cell_output" in parent.get("classes", []):
            return True
        parent = parent.parent
    return False


def _enclosing_section(node):
    parent = node.parent
    while parent is not None and not isinstance(parent, nodes.section):
        parent = parent.parent
    return parent


def _toc_items(toc) -> dict[str, nodes.list_item]:
    """The page contents' entries by anchor ("" for the page title, "#id" for a section)."""
    found = {}
    for item in toc.findall(nodes.list_item):
        para = item.children[0] if item.children else None
        if not isinstance(para, addnodes.compact_paragraph):
            continue
        refs = [r for r in para.findall(nodes.reference)]
        if refs:
            found.setdefault(refs[0].get("anchorname", ""), item)
    return found


def _anchor_of(item) -> str:
    refs = list(item.children[0].findall(nodes.reference))
    return refs[0].get("anchorname", "") if refs else ""


def doctree_read(app, doctree) -> None:
    env = app.env
    docname = env.docname
    positions: dict[str, int] = {}
    exercises = []
    top_section = None
    for position, node in enumerate(doctree.findall(nodes.Element)):
        if isinstance(node, nodes.section) and node["ids"]:
            positions.setdefault(node["ids"][0], position)
            if (
                top_section is None
                and node.children
                and isinstance(node[0], nodes.title)
            ):
                top_section = node["ids"][0]
        elif _is_exercise(node) and node["ids"]:
            exercises.append((position, node))
    if not hasattr(env, "dm_exercises"):
        env.dm_exercises = {}
    env.dm_exercises[docname] = [node["ids"][0] for _, node in exercises]
    if not exercises:
        return

    strict = app.config.dm_check_exercise_questions
    for number, (_, node) in enumerate(exercises, start=1):
        label = "Exercise " + ".".join(map(str, exercise_number(docname, number)))
        question = _question_text(node)
        if not question or question.endswith(":"):
            message = (
                f"{label} ({node['ids'][0]}): the box "
                + ("is empty" if not question else "ends with a colon")
                + ": its question seems to continue outside the box. A ``` fence inside "
                "```{exercise} closes it early; use :::{exercise} ... ::: (colon fences) or a "
                "longer outer fence."
            )
            if strict:
                logger.warning(message, location=node, type="dm", subtype="exercise")
            else:
                logger.info(message, location=node)

    for block in doctree.findall(nodes.literal_block):
        if block.astext().strip() or _in_output(block):
            continue
        message = (
            "an empty code block: usually the stray closing fence of a block that a nested "
            "``` fence closed early (a ```sql inside ```{exercise}); use :::{exercise} ... ::: "
            "(colon fences) or a longer outer fence."
        )
        if strict:
            logger.warning(message, location=block, type="dm", subtype="exercise")
        else:
            logger.info(message, location=block)

    toc = env.tocs.get(docname)
    if toc is None:
        return
    items = _toc_items(toc)
    for number, (position, node) in enumerate(exercises, start=1):
        section = _enclosing_section(node)
        sid = section["ids"][0] if section is not None and section["ids"] else None
        anchor = "" if sid in (None, top_section) else f"#{sid}"
        parent = items.get(anchor) or items.get("")
        if parent is None:
            continue
        text = "Exercise " + ".".join(map(str, exercise_number(docname, number)))
        subtitle = _subtitle(node)
        if subtitle:
            text += f": {subtitle}"
        reference = nodes.reference(
            "",
            "",
            nodes.Text(text),
            internal=True,
            refuri=docname,
            anchorname=f"#{node['ids'][0]}",
        )
        entry = nodes.list_item(
            "",
            addnodes.compact_paragraph("", "", reference),
            classes=["dm-toc-exercise"],
        )
        sublist = next(
            (c for c in parent.children if isinstance(c, nodes.bullet_list)), None
        )
        if sublist is None:
            sublist = nodes.bullet_list()
            parent += sublist
        # Keep page order: before the first entry that comes later in the page.
        later = [
            i
            for i, child in enumerate(sublist.children)
            if positions.get(_anchor_of(child).lstrip("#"), -1) > position
            or child.get("dm_position", -1) > position
        ]
        entry["dm_position"] = position
        if later:
            sublist.insert(later[0], entry)
        else:
            sublist += entry


def renumber(app, env):
    """After Sphinx numbered every exercise across the book, number them per page."""
    for docname, ids in getattr(env, "dm_exercises", {}).items():
        if not ids:
            continue
        numbers = env.toc_fignumbers.setdefault(docname, {}).setdefault("exercise", {})
        for position, exercise_id in enumerate(ids, start=1):
            numbers[exercise_id] = exercise_number(docname, position)
    return []


def purge(app, env, docname):
    getattr(env, "dm_exercises", {}).pop(docname, None)


def merge(app, env, docnames, other):
    if not hasattr(env, "dm_exercises"):
        env.dm_exercises = {}
    for docname in docnames:
        if docname in getattr(other, "dm_exercises", {}):
            env.dm_exercises[docname] = other.dm_exercises[docname]


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_config_value("dm_check_exercise_questions", True, "env", [bool])
    # After Sphinx's TocTreeCollector (priority 500) has built the page's contents.
    app.connect("doctree-read", doctree_read, priority=600)
    # After Sphinx assigned figure numbers (env-get-updated, priority 500).
    app.connect("env-get-updated", renumber, priority=900)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
