"""Mock interviews: the script and its rubric, pushback drills, and a design checker.

A mock interview of a practice (``datamodeling.<practice>.interview.MOCK``) holds:

* the **prompt**, as an interviewer says it, and a 45-minute **script** in phases, each with its
  minutes, what the interviewer asks, what they listen for, and a **rubric** (the signals of a
  strong, an acceptable and a weak answer);
* **pushback drills**: the interviewer's challenges about the model just built, each with a model
  answer and the common weak answers, with why they lose points;
* a **schema-evolution task** (:class:`DesignTask`): a new requirement arrives, the reader
  declares the new or changed tables with :class:`~datamodeling.schema.Table`, and
  :func:`check_design` grades the declaration against the task's rubric;
* a **metric investigation** (:class:`Investigation`): "this metric fell on this day, why?",
  with a cause the practice's generator planted. The reader explores the warehouse, names the
  segment and the cause among stated options, and writes the query that isolates it;
  :func:`check_investigation` checks all three. The model answer walks the diagnosis order an
  interviewer expects: is the data real, which segment, what happened in the world.

The checker recognises the task's entities (customer, plan, profile, pooled trip...) by the keys
the source systems send (``customer_id``, ``plan_id``...), never by table names, so a design may
name its tables and surrogate keys as it likes. A column names an entity when it is a foreign key
to a table of that entity, or carries one of its source keys; a date or timestamp column names
the time. The existing model of the practice is found through its ``schema`` module, and a
foreign key may use a table's current or former name (``customer`` or ``dim_customer``).

>>> from datamodeling.schema import Column, ForeignKey, Table
>>> task = DesignTask(
...     name="demo.tips", practice="", title="Tips", requirement="Riders tip drivers.",
...     entities=(Entity("tip", "a tip", keys=("tip_id",)),
...               Entity("driver", "the driver", keys=("driver_id",)),
...               Entity("date", "the day", keys=("date_key",), time=True)),
...     grains=(("tip",),), references=(("driver", 1),),
...     measures=(Measure("the tip amount", hints=("tip",), kind="money"),),
... )
>>> driver = Table("dim_driver", "dimension", "One row per driver.",
...                [Column("driver_id", "int64", "", False)], primary_key=["driver_id"],
...                business_key=["driver_id"], scd_type=1)
>>> tips = Table("fact_tip", "fact", "One row per tip.",
...              [Column("tip_id", "int64", "", False), Column("driver_id", "int64", "", False),
...               Column("tip_amt", "decimal(18, 2)", "", False)], primary_key=["tip_id"],
...              foreign_keys=[ForeignKey("driver_id", "dim_driver")])
>>> report = check_design(task, [driver, tips], run=False)
>>> report.passed, report.score
(True, '5/5')
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis.expr.datatypes as dt
import pandas as pd

from datamodeling.schema import ForeignKey, Table

# ============================================================================================
# The interview: prompt, script, rubric, drills
# ============================================================================================
#: What drills are about. DESIGN.md: star schema, grain, fact vs dimension, SCD type and surrogate
#: keys come up most; bridges and late-arriving data at senior levels. Drills are weighted so.
CORE_TOPICS = (
    "grain",
    "star schema",
    "fact vs dimension",
    "SCD type",
    "surrogate keys",
)
SENIOR_TOPICS = ("bridge tables", "late-arriving data", "scale", "real time")
TOPICS = CORE_TOPICS + SENIOR_TOPICS


@dataclass(frozen=True)
class Phase:
    """One phase of the 45-minute script, with its rubric."""

    name: str
    minutes: int
    asks: str  #: what the interviewer says to open the phase
    listens_for: str  #: what the interviewer listens for
    strong: str  #: signals of a strong answer (concrete: what is said, in which order)
    acceptable: str
    weak: str


@dataclass(frozen=True)
class Drill:
    """A pushback: the interviewer's challenge, the model answer and the weak answers."""

    key: str  #: short id, unique within the practice: ``one-big-table``
    challenge: str
    topic: str
    model_answer: str
    #: ``(weak answer, why it loses points)`` pairs.
    weak_answers: tuple[tuple[str, str], ...]

    def __post_init__(self):
        if self.topic not in TOPICS:
            raise ValueError(f"drill {self.key}: topic must be one of {TOPICS}")
        if not self.weak_answers:
            raise ValueError(f"drill {self.key}: name at least one weak answer")

    @property
    def level(self) -> str:
        return "core" if self.topic in CORE_TOPICS else "senior"


@dataclass(frozen=True)
class MockInterview:
    """Everything a practice's ``06_mock_interview`` notebook shows."""

    practice: str
    title: str
    prompt: str
    phases: tuple[Phase, ...]
    drills: tuple[Drill, ...]
    task: DesignTask
    #: Correct designs of the task, by name; each passes :func:`check_design`.
    model_designs: dict[str, list[Table]]
    #: A design a rushed candidate draws, and the rubric points it misses.
    weak_design: list[Table] = field(default_factory=list)
    weak_design_misses: tuple[str, ...] = ()
    #: The metric investigation: an alarm, a planted cause, and the model answer's diagnosis.
    investigation: Investigation | None = None

    def __post_init__(self):
        total = sum(p.minutes for p in self.phases)
        if total != 45:
            raise ValueError(
                f"{self.practice}: the script lasts {total} minutes, not 45"
            )
        keys = [d.key for d in self.drills]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.practice}: duplicate drill keys")

    def script(self) -> pd.DataFrame:
        """The clock: one row per phase with its minutes, the question and what is listened for."""
        rows, start = [], 0
        for p in self.phases:
            rows.append(
                {
                    "minutes": f"{start}–{start + p.minutes}",
                    "phase": p.name,
                    "the interviewer asks": p.asks,
                    "listens for": p.listens_for,
                }
            )
            start += p.minutes
        return pd.DataFrame(rows)

    def rubric(self) -> pd.DataFrame:
        """One row per phase: the signals of a strong, an acceptable and a weak answer."""
        return pd.DataFrame(
            [
                {
                    "phase": p.name,
                    "strong": p.strong,
                    "acceptable": p.acceptable,
                    "weak": p.weak,
                }
                for p in self.phases
            ]
        )

    def drill(self, key: str) -> Drill:
        for d in self.drills:
            if d.key == key:
                return d
        raise KeyError(f"{self.practice} has no drill {key!r}")


def mock_interview(practice: str) -> MockInterview:
    """The mock interview of ``practice`` (``datamodeling.<practice>.interview.MOCK``)."""
    import importlib

    return importlib.import_module(f"datamodeling.{practice}.interview").MOCK


def drill_cells(practice: str, drill: Drill) -> tuple[str, str]:
    """The two markdown cells of a drill in the 06 notebook: the challenge, then the answer.

    The notebook holds these texts verbatim (a test compares them), so the drills are written
    once, here in the toolkit, and the exercise index and the notebook cannot disagree.
    """
    label = f"{practice}-drill-{drill.key}"
    challenge = (
        f"```{{exercise}} Pushback on {drill.topic}\n:label: {label}\n\n"
        f"*The interviewer:* “{drill.challenge}”\n\n"
        f"Topic: {drill.topic} ({drill.level}).\n```"
    )
    weak = "\n".join(f"- *“{answer}”* {why}" for answer, why in drill.weak_answers)
    answer = (
        f"```{{solution}} {label}\n:class: dropdown\n\n{drill.model_answer}\n\n"
        f"**Weak answers, and why they lose points:**\n\n{weak}\n```"
    )
    return challenge, answer


# ============================================================================================
# The design task
# ============================================================================================
@dataclass(frozen=True)
class Entity:
    """A thing the new questions are about, recognised by the keys its source sends.

    ``keys``: column names that carry its identity in the source feeds (``plan_id``), role names
    included (``follower_id``). ``model_key``: the key of its table in the practice's existing
    model (business key or primary key), when it has one there. ``time``: the calendar.
    ``event``: it happens once, so a row keyed by it is never rewritten.
    """

    name: str
    label: str
    keys: tuple[str, ...] = ()
    model_key: tuple[str, ...] = ()
    time: bool = False
    #: Something that happens once (an order, a session, a follow): a row keyed by it is a record
    #: of that moment, never rewritten.
    event: bool = False
    #: Fragments of the column names the questions group by (``city``, ``plan_name``): the
    #: reference question on the tiny instance groups by the first such column it finds.
    slice_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class History:
    """A requirement asks for something *as it was* at the fact's time.

    ``attribute`` empty: the entity itself (which plan the subscription was on). Otherwise,
    fragments of the attribute's column name (``city``): it must be read from a row that holds
    the value valid at the fact's time.
    """

    label: str
    entity: str
    attribute: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class Link:
    """A many-to-many relationship between two entities (the same one twice for a graph)."""

    a: str
    b: str
    why: str


@dataclass(frozen=True)
class Measure:
    """A number the new questions add up, recognised by fragments of its column name.

    ``kind``: ``money`` (DECIMAL), ``count`` (integer) or ``duration`` (integer, unit in the
    name). ``once_per``: entities of the only grain at which the measure is true once per row
    (driver pay: once per pooled trip); on a finer table it must be allocated, and say so in its
    name (``_alloc``, ``_share``).
    """

    label: str
    hints: tuple[str, ...]
    kind: str = "money"
    required: bool = True
    once_per: tuple[str, ...] = ()
    why: str = ""


#: The rubric of every design task, in order. Each is checked by a function below.
POINTS = {
    "grain_stated": "Every table states its grain in one sentence ('One row per ...').",
    "fact_grain": "The new fact exists at an acceptable grain: its primary key names the right "
    "entities.",
    "references": "The facts reference the dimensions the new questions slice by.",
    "history": "History is kept where the requirement asks for it.",
    "bridges": "Many-to-many relationships go through a bridge (one row per pair).",
    "measures": "Measures are numeric and additive where they will be summed.",
    "no_null_fk": "No fact foreign key can be NULL.",
    "answers_on_data": "On a tiny generated instance, every foreign key finds exactly one row "
    "and the reference question runs without fan-out.",
}


@dataclass(frozen=True)
class DesignTask:
    """A schema-evolution task: the requirement, the source feeds, and the rubric's parameters."""

    name: str
    practice: str
    title: str
    requirement: str
    entities: tuple[Entity, ...]
    #: Acceptable grains of the new fact: tuples of entity names (repeat one for a graph).
    grains: tuple[tuple[str, ...], ...]
    #: ``(entity, how many distinct foreign keys)`` the facts must reference.
    references: tuple[tuple[str, int], ...] = ()
    history: tuple[History, ...] = ()
    links: tuple[Link, ...] = ()
    measures: tuple[Measure, ...] = ()
    #: What the source systems send: feed name -> its columns (the keys to keep).
    source: dict[str, str] = field(default_factory=dict)
    #: The questions the new tables must answer.
    questions: tuple[str, ...] = ()
    #: The question the checker runs on a tiny instance of the design.
    reference_question: str = ""
    #: Minutes to give the task, on its own after the round.
    minutes: int = 20

    def __post_init__(self):
        names = {e.name for e in self.entities}
        used = {n for g in self.grains for n in g}
        used |= {e for e, _ in self.references}
        used |= {h.entity for h in self.history}
        used |= {x for link in self.links for x in (link.a, link.b)}
        used |= {n for m in self.measures for n in m.once_per}
        unknown = used - names
        if unknown:
            raise ValueError(f"{self.name}: unknown entities {sorted(unknown)}")

    def entity(self, name: str) -> Entity:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)

    def model_tables(self) -> list[Table]:
        """The practice's existing model (``datamodeling.<practice>.schema.TABLES``)."""
        if not self.practice:
            return []
        import importlib

        return list(
            importlib.import_module(f"datamodeling.{self.practice}.schema").TABLES
        )


@dataclass
class PointResult:
    point: str
    title: str
    passed: bool
    problems: list[str]


@dataclass
class DesignReport:
    """What :func:`check_design` found: one result per rubric point, and the query it ran."""

    task: str
    results: list[PointResult]
    query: str = ""
    answered: bool = True

    @property
    def passed(self) -> bool:
        return self.answered and all(r.passed for r in self.results)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def score(self) -> str:
        return f"{sum(r.passed for r in self.results)}/{len(self.results)}"

    def failed(self) -> list[str]:
        """The ids of the rubric points not met."""
        return [r.point for r in self.results if not r.passed]

    def result(self, point: str) -> PointResult:
        for r in self.results:
            if r.point == point:
                return r
        raise KeyError(point)

    def __str__(self) -> str:
        if not self.answered:
            return f"✏️ {self.task}: not answered yet: declare your tables, then run the cell again"
        lines = [f"{self.task}: {self.score} rubric points met"]
        lines.extend(_result_lines(self.results))
        if self.query:
            lines.append("The reference question, as run on the tiny instance:")
            lines.append(self.query)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.answered:
            return f"<p>✏️ <code>{html.escape(self.task)}</code>: not answered yet.</p>"
        items = _result_items_html(self.results)
        query = (
            "<details><summary>The reference question, as run on the tiny instance</summary>"
            f"<pre>{html.escape(self.query)}</pre></details>"
            if self.query
            else ""
        )
        return (
            f"<div class='design-report'><p><code>{html.escape(self.task)}</code>: "
            f"<strong>{self.score}</strong> rubric points met</p><ul>{''.join(items)}</ul>"
            f"{query}</div>"
        )


def _result_lines(results) -> list[str]:
    """Each graded point as text: its mark, name and title, then its problems."""
    lines = []
    for r in results:
        lines.append(f"{'✅' if r.passed else '❌'} {r.point}: {r.title}")
        lines.extend(f"     - {p}" for p in r.problems)
    return lines


def _result_items_html(results) -> list[str]:
    """Each graded point as an HTML list item, its problems as a nested list."""
    items = []
    for r in results:
        mark = (
            "<span style='color:#15803d'>✓</span>"
            if r.passed
            else "<span style='color:#b91c1c'>✗</span>"
        )
        problems = "".join(f"<li>{_inline_code(p)}</li>" for p in r.problems)
        items.append(
            f"<li>{mark} <strong>{html.escape(r.point)}</strong>: {html.escape(r.title)}"
            + (f"<ul>{problems}</ul>" if problems else "")
            + "</li>"
        )
    return items


def _inline_code(text: str) -> str:
    """Escape, and show `backticked` names as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


# --------------------------------------------------------------------------------------------
# The design under review
# --------------------------------------------------------------------------------------------
_PREFIXES = ("dim_", "fact_", "bridge_")
_VALIDITY_NAMES = {"valid_from", "valid_to", "is_current"}
_ALLOCATED = ("alloc", "share")
_RATIO = re.compile(r"(^|_)(avg|average|mean|rate|ratio|pct|percent|percentage)(_|$)")
_DURATION_UNITS = ("_seconds", "_ms", "_minutes")


def canonical(name: str) -> str:
    """A table name without its kind prefix or plural: ``dim_customer`` -> ``customer``."""
    n = name.lower().split(".")[-1]
    for p in _PREFIXES:
        if n.startswith(p):
            n = n[len(p) :]
            break
    return n[:-1] if n.endswith("s") and not n.endswith("ss") else n


class _Design:
    """A reader's tables, the practice's model behind them, and the task's entities."""

    def __init__(self, task: DesignTask, tables: Sequence[Table]):
        self.task = task
        self.own = list(tables)
        own_names = {canonical(t.name) for t in self.own}
        self.model = [
            t for t in task.model_tables() if canonical(t.name) not in own_names
        ]
        self.entities = {e.name: e for e in task.entities}
        self.time = next((e.name for e in task.entities if e.time), None)

    # tables ---------------------------------------------------------------------------------
    def table(self, name: str) -> Table | None:
        for t in self.own:
            if t.name == name:
                return t
        want = canonical(name)
        for t in [*self.own, *self.model]:
            if canonical(t.name) == want:
                return t
        return None

    def is_own(self, t: Table) -> bool:
        return any(t is o for o in self.own)

    def fk_of(self, t: Table, col: str) -> ForeignKey | None:
        for fk in t.foreign_keys:
            if col in fk.cols:
                return fk
        return None

    # entities -------------------------------------------------------------------------------
    def identity(self, t: Table) -> str | None:
        """The entity one row (or one business key) of a dimension-like table stands for."""
        if not self.is_own(t):
            for e in self.task.entities:
                if e.model_key and (
                    tuple(t.business_key) == e.model_key
                    or tuple(t.primary_key) == e.model_key
                ):
                    return e.name
            return None
        key = list(t.business_key) or [
            c for c in t.primary_key if c not in _VALIDITY_NAMES
        ]
        found = [self.direct_entity(t, c) for c in key]
        named = [e for e in found if e is not None and e != self.time]
        if len(named) == 1:
            return named[0]
        if not named and found and all(e == self.time for e in found):
            return self.time
        return None

    def direct_entity(self, t: Table, col: str) -> str | None:
        """The entity a column names by its own name or type (not through a foreign key)."""
        for e in self.task.entities:
            if col in e.keys:
                return e.name
        if self.time and col in t.column_names:
            dtype = t.column(col).ibis_type
            if dtype.is_date() or dtype.is_timestamp():
                return self.time
        return None

    def entity_of(self, t: Table, col: str) -> str | None:
        """The entity a column names: through its foreign key first, else directly."""
        fk = self.fk_of(t, col)
        if fk is not None:
            target = self.table(fk.table)
            if target is not None:
                found = self.identity(target)
                if found is not None:
                    return found
        return self.direct_entity(t, col)

    def grain(self, t: Table) -> Counter:
        """The entities a table's primary key names (``None`` for a column naming none)."""
        key = [c for c in t.primary_key if c not in _VALIDITY_NAMES or t.scd_type != 2]
        return Counter(self.entity_of(t, c) for c in key)

    def grain_text(self, grain: Counter) -> str:
        words = []
        for name, n in sorted(grain.items(), key=lambda kv: str(kv[0])):
            label = "an unrecognised column" if name is None else name
            words.extend([label] * n)
        return " × ".join(words) or "nothing"

    # paths ----------------------------------------------------------------------------------
    def paths(self, start: Table, max_hops: int = 3):
        """Every foreign-key path from ``start``: ``(first column, hops, table reached)``.

        ``hops`` is a list of ``(table, foreign key, target)``.
        """
        out = []
        for fk in start.foreign_keys:
            target = self.table(fk.table)
            if target is None:
                continue
            stack = [(fk.cols[0], [(start, fk, target)], target)]
            while stack:
                col, hops, here = stack.pop()
                out.append((col, hops, here))
                if len(hops) >= max_hops:
                    continue
                seen = {h[0].name for h in hops} | {here.name}
                for nxt in here.foreign_keys:
                    nt = self.table(nxt.table)
                    if nt is None or nt.name in seen:
                        continue
                    stack.append((col, [*hops, (here, nxt, nt)], nt))
        return out

    def facts(self) -> list[Table]:
        return [t for t in self.own if t.role == "fact"]

    def row_entity(self, t: Table) -> str | None:
        """The single entity one row of ``t`` stands for, if there is one (time aside)."""
        if t.role == "dimension":
            return self.identity(t)
        grain = [e for e in self.grain(t).elements() if e != self.time]
        return grain[0] if len(grain) == 1 else None

    def time_keyed(self, t: Table) -> bool:
        """Is a row of ``t`` about one moment (its key names the time or an event)?"""
        return any(
            e == self.time or (e in self.entities and self.entities[e].event)
            for e in self.grain(t)
        )

    def key_columns(self, t: Table) -> set[str]:
        return (
            set(t.primary_key)
            | set(t.business_key)
            | {c for fk in t.foreign_keys for c in fk.cols}
        )


def _historical_hop(
    d: _Design, t_from: Table, fk: ForeignKey, target: Table
) -> tuple[bool, str]:
    """Does following ``fk`` into ``target`` keep the value valid at the fact's time?"""
    if target.role != "dimension":
        if d.time_keyed(target):
            return (
                True,
                "",
            )  # events and snapshots record what was true; rows are not rewritten
        return False, (
            f"`{target.name}` has one row per {d.grain_text(d.grain(target))}, rewritten as things "
            "change: it holds today's values only"
        )
    scd = target.scd_type
    if scd == 0:
        return True, ""
    if scd == 2:
        by_version = (
            set(fk.ref_cols) == set(target.primary_key) != set(target.business_key)
        )
        if by_version or fk.point_in_time:
            return True, ""
        return False, (
            f"`{t_from.name}.{', '.join(fk.cols)}` joins the type 2 `{target.name}` on its "
            f"business key, without the time: every version matches"
        )
    kind = (
        "type 1"
        if scd == 1
        else "declared without an SCD type, so overwritten (type 1)"
    )
    return False, f"`{target.name}` is {kind}: it holds today's values only"


# --------------------------------------------------------------------------------------------
# The rubric points
# --------------------------------------------------------------------------------------------
def _grain_stated(d: _Design) -> list[str]:
    problems = []
    for t in d.own:
        sentence = " ".join(t.grain.split())
        if not sentence.lower().startswith("one row per"):
            problems.append(
                f"`{t.name}` states its grain as {sentence!r}: say what one row is, in one "
                "sentence that starts 'One row per ...', before naming columns"
            )
    return problems


def _fact_grain(d: _Design) -> list[str]:
    task = d.task
    accepted = [Counter(g) for g in task.grains]
    choices = " or ".join(" × ".join(g) for g in task.grains)
    facts = d.facts()
    if not facts:
        return [
            f"no table has role='fact': the new process needs a fact table, at the grain {choices}"
        ]
    if any(d.grain(t) in accepted for t in facts):
        return []
    problems = []
    for t in facts:
        if not t.primary_key:
            problems.append(
                f"`{t.name}` declares no primary key: the columns that make a row unique are "
                f"its grain (acceptable: {choices})"
            )
            continue
        grain = d.grain(t)
        unknown = [c for c in t.primary_key if d.entity_of(t, c) is None]
        note = ""
        if unknown:
            keys = ", ".join(
                f"{k} ({e.label})" for e in task.entities for k in e.keys[:1]
            )
            note = (
                f"; key column(s) {unknown} name none of the task's entities (their source keys: "
                f"{keys}), or are foreign keys to tables the checker cannot find"
            )
        problems.append(
            f"`{t.name}` has one row per {d.grain_text(grain)}{note}; the new fact needs the "
            f"grain {choices}"
        )
    return problems


def _references(d: _Design) -> list[str]:
    problems = []
    for t in d.own:
        for fk in t.foreign_keys:
            target = d.table(fk.table)
            if target is None:
                problems.append(
                    f"`{t.name}.{', '.join(fk.cols)}` references `{fk.table}`, which is neither "
                    "in your design nor in the practice's model"
                )
            elif not set(fk.ref_cols) <= set(target.column_names):
                problems.append(
                    f"`{t.name}.{', '.join(fk.cols)}` references column(s) "
                    f"{list(fk.ref_cols)} that `{target.name}` does not have"
                )
    for name, count in d.task.references:
        entity = d.task.entity(name)
        best = 0
        for t in d.facts():
            cols = {col for col, _, here in d.paths(t) if d.identity(here) == name}
            if name == d.time:
                cols |= {c for c in t.column_names if d.direct_entity(t, c) == d.time}
            best = max(best, len(cols))
        if best >= count:
            continue
        unlinked = [
            f"`{t.name}.{c}`"
            for t in d.facts()
            for c in t.column_names
            if d.direct_entity(t, c) == name and d.fk_of(t, c) is None
        ]
        where = next(
            (t.name for t in d.model if entity.model_key and d.identity(t) == name),
            None,
        )
        target = f"`{where}`" if where else f"a dimension of {entity.label}"
        need = "a foreign key" if count == 1 else f"{count} foreign keys (one per role)"
        msg = f"no fact references {entity.label} with {need} to {target}"
        if unlinked:
            msg += f"; {', '.join(unlinked)} names it but declares no ForeignKey"
        problems.append(msg)
    return problems


def _history(d: _Design) -> list[str]:
    problems = []
    for h in d.task.history:
        entity = d.task.entity(h.entity)
        lost: list[str] = []
        ok = False
        for t in d.facts():
            if _carries(d, t, h):
                if d.time_keyed(t):
                    ok = True
                    break
                lost.append(
                    f"`{t.name}` has one row per {d.grain_text(d.grain(t))}, rewritten as "
                    "things change, so it keeps only the current value"
                )
            for _col, hops, here in d.paths(t):
                if not _carries(d, here, h):
                    continue
                verdicts = [_historical_hop(d, a, fk, b) for a, fk, b in hops]
                bad = [why for good, why in verdicts if not good]
                if not bad:
                    ok = True
                    break
                lost.append(bad[0])
            if ok:
                break
        if ok:
            continue
        if lost:
            problems.append(
                f"{h.label}: {lost[0]}. {h.why} Keep it: record it on a fact row keyed by time "
                "or by event, or make the dimension type 2 and reference the version (its "
                "surrogate key, or a point-in-time foreign key)"
            )
        else:
            where = (
                f"a column for it ({' or '.join(repr(a) for a in h.attribute)})"
                if h.attribute
                else entity.label
            )
            problems.append(f"{h.label}: no fact reaches {where}. {h.why}")
    return problems


def _carries(d: _Design, t: Table, h: History) -> bool:
    """Does ``t`` hold what ``h`` asks for (the entity, or an attribute of it)?"""
    own_key = (
        set(t.primary_key) | set(t.business_key) if t.role == "dimension" else set()
    )
    if not h.attribute:
        return any(
            d.entity_of(t, c) == h.entity for c in t.column_names if c not in own_key
        )
    if (
        t.role == "dimension"
    ):  # its validity columns describe versions, not the attribute
        names = [c for c in t.column_names if c not in (*t.validity, *_VALIDITY_NAMES)]
    else:
        names = t.column_names
    if not any(a in c for c in names for a in h.attribute):
        return False
    return t.role != "dimension" or d.identity(t) == h.entity


def _bridges(d: _Design) -> list[str]:
    problems = []
    for t in d.own:
        for c in t.columns:
            if c.dtype.lower().startswith(("array", "list", "map", "struct")):
                problems.append(
                    f"`{t.name}.{c.name}` holds a list ({c.dtype}): a list in a column cannot be "
                    "joined, counted or constrained; store one row per pair in a bridge table"
                )
    for link in d.task.links:
        a, b = link.a, link.b
        labels = {a: d.task.entity(a).label, b: d.task.entity(b).label}
        # A table keyed by one side that holds the other side in a single column: 1-to-many.
        for t in d.own:
            side = d.row_entity(t)
            if side not in (a, b):
                continue
            other = b if side == a else a
            single = [
                c
                for c in t.column_names
                if c not in t.primary_key
                and c not in t.business_key
                and d.entity_of(t, c) == other
            ]
            if single:
                problems.append(
                    f"`{t.name}` has one row per {side} and a single column `{single[0]}` for "
                    f"{labels[other]}: {link.why} One column holds one value; put the pairs in a "
                    f"bridge (one row per {a} and {b}) or in a fact at that grain"
                )
        # Something must pair them: a bridge, or a fact whose rows each pair one with the other.
        if not any(_pairs(d, t, a, b) for t in d.own if t.role in ("fact", "bridge")):
            problems.append(
                f"nothing pairs {labels[a]} with {labels[b]}: {link.why} Declare a bridge keyed "
                "by both, or a fact whose rows each pair one with the other"
            )
    return list(dict.fromkeys(problems))


def _pairs(d: _Design, t: Table, a: str, b: str) -> bool:
    named = Counter(e for c in t.column_names if (e := d.entity_of(t, c)) in (a, b))
    pair = named[a] >= 2 if a == b else (named[a] >= 1 and named[b] >= 1)
    return pair and d.row_entity(t) not in (a, b)


def _measures(d: _Design) -> list[str]:
    problems = []
    holders = [t for t in d.own if t.role in ("fact", "aggregate")]
    for t in holders:
        for c in t.columns:
            if c.name in d.key_columns(t):
                continue
            if _RATIO.search(c.name) and not c.ibis_type.is_boolean():
                problems.append(
                    f"`{t.name}.{c.name}` stores a ratio or an average: it does not add up across "
                    "rows (the mean of means is not the mean). Store its numerator and "
                    "denominator as additive columns and divide when reading"
                )
    for m in d.task.measures:
        found = [
            (t, c)
            for t in holders
            for c in t.columns
            if c.name not in d.key_columns(t) and any(h in c.name for h in m.hints)
        ]
        if not found:
            if m.required:
                problems.append(
                    f"no column holds {m.label} (a name containing "
                    f"{' or '.join(repr(h) for h in m.hints)}): {m.why or 'the questions sum it'}"
                )
            continue
        for t, c in found:
            dtype = c.ibis_type
            if m.kind == "money" and not dtype.is_decimal():
                problems.append(
                    f"`{t.name}.{c.name}` is {c.dtype}: money is DECIMAL(18, 2) in this book, so "
                    "sums are exact and do not depend on the order rows are added in"
                )
            elif m.kind in ("count", "duration") and not dtype.is_integer():
                problems.append(
                    f"`{t.name}.{c.name}` is {c.dtype}: it holds {m.label}, which the questions "
                    f"sum, so store it as an integer"
                    f"{' with its unit in the name' if m.kind == 'duration' else ''}"
                )
            elif m.kind == "duration" and not c.name.endswith(_DURATION_UNITS):
                problems.append(
                    f"`{t.name}.{c.name}`: a duration names its unit ({', '.join(_DURATION_UNITS)})"
                )
            if m.once_per:
                grain = Counter({k: v for k, v in d.grain(t).items() if k != d.time})
                if grain != Counter(m.once_per) and not any(
                    x in c.name for x in _ALLOCATED
                ):
                    problems.append(
                        f"`{t.name}.{c.name}` holds {m.label}, which is true once per "
                        f"{' × '.join(m.once_per)}; `{t.name}` has one row per "
                        f"{d.grain_text(d.grain(t))}, so the amount repeats and SUM counts it once "
                        f"per row. {m.why} Keep it on a table with one row per "
                        f"{' × '.join(m.once_per)}, or allocate it to the rows and say so in its "
                        "name (`_alloc`)"
                    )
    return problems


def _no_null_fk(d: _Design) -> list[str]:
    problems = []
    for t in d.own:
        if t.role not in ("fact", "bridge"):
            continue
        cols = [*t.primary_key, *(c for fk in t.foreign_keys for c in fk.cols)]
        for name in dict.fromkeys(cols):
            if t.column(name).nullable:
                problems.append(
                    f"`{t.name}.{name}` may be NULL: declare it nullable=False and point a "
                    "reference that does not apply at the Not applicable member (-2), one that "
                    "cannot be resolved at Unknown (-1); an inner join silently drops NULL keys"
                )
    return problems


_CHECKS = {
    "grain_stated": _grain_stated,
    "fact_grain": _fact_grain,
    "references": _references,
    "history": _history,
    "bridges": _bridges,
    "measures": _measures,
    "no_null_fk": _no_null_fk,
}


def check_design(task: DesignTask, tables, *, run: bool = True) -> DesignReport:
    """Grade ``tables`` (the reader's new or changed ``schema.Table`` declarations) against the
    rubric of ``task``, and explain every point not met.

    With ``run=True`` the checker also generates a tiny instance of the declared tables (and of
    the model's tables they reference), loads it into an in-memory DuckDB, checks that every
    foreign key finds exactly one row, and runs the task's reference question on it.
    ``tables=None`` (or empty) means "not answered yet".
    """
    if not tables:
        return DesignReport(task.name, [], answered=False)
    if isinstance(tables, Table):
        tables = [tables]
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise ValueError(f"two of your tables share a name: {names}")
    d = _Design(task, tables)
    results = []
    for point, check in _CHECKS.items():
        if point == "history" and not task.history:
            continue
        if point == "bridges" and not task.links:
            continue
        if point == "measures" and not task.measures:
            continue
        problems = check(d)
        results.append(PointResult(point, POINTS[point], not problems, problems))
    query = ""
    if run:
        problems, query = _run_on_data(d)
        results.append(
            PointResult(
                "answers_on_data", POINTS["answers_on_data"], not problems, problems
            )
        )
    return DesignReport(task.name, results, query=query)


# --------------------------------------------------------------------------------------------
# A tiny instance, and the reference question on it
# --------------------------------------------------------------------------------------------
_KEYS_PER_DIMENSION = 3
_FACT_ROWS = 8
_VERSION_START = (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01"))
_END_OF_TIME = pd.Timestamp("9999-12-31")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scd2(t: Table) -> bool:
    return t.scd_type == 2 and set(t.validity) <= set(t.column_names)


def _value(dtype: dt.DataType, col: str, i: int):
    """A deterministic value of ``dtype`` for row ``i`` (small domains, so repeats happen)."""
    if dtype.is_boolean():
        return i % 2 == 0
    if dtype.is_integer():
        return 1 + i % 2
    if dtype.is_decimal() or dtype.is_floating():
        return 10.0 + i
    if dtype.is_timestamp():
        return pd.Timestamp("2024-01-15") + pd.Timedelta(days=45 * i)
    if dtype.is_date():
        return (pd.Timestamp("2024-01-15") + pd.Timedelta(days=45 * i)).date()
    if dtype.is_string():
        return f"{col}_{i % 2}"
    return None


def _generate(d: _Design) -> dict[str, pd.DataFrame]:
    """Rows for every table of the design and every model table they reference."""
    needed: dict[str, Table] = {t.name: t for t in d.own}
    for t in d.own:
        for fk in t.foreign_keys:
            target = d.table(fk.table)
            if target is not None:
                needed.setdefault(target.name, target)
    order: list[Table] = []
    visiting: set[str] = set()

    def visit(t: Table):
        if t in order or t.name in visiting:
            return
        visiting.add(t.name)
        for fk in t.foreign_keys:
            target = d.table(fk.table)
            if target is not None and target.name in needed and target.name != t.name:
                visit(needed[target.name])
        visiting.discard(t.name)
        order.append(t)

    for t in needed.values():
        visit(t)
    frames: dict[str, pd.DataFrame] = {}
    for t in order:
        frames[t.name] = _rows(d, t, frames)
    return frames


def _rows(d: _Design, t: Table, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    columns = t.column_names
    fk_values: dict[str, list] = {}
    for fk in t.foreign_keys:
        target = d.table(fk.table)
        if target is None or target.name not in frames:
            continue
        source = frames[target.name]
        for col, ref in zip(fk.cols, fk.ref_cols, strict=False):
            if ref in source.columns:
                fk_values[col] = list(dict.fromkeys(source[ref].dropna().tolist())) or [
                    1
                ]
    dimension_like = t.role == "dimension"
    if dimension_like:
        versions = 2 if _scd2(t) else 1
        rows = []
        for k in range(_KEYS_PER_DIMENSION):
            for v in range(versions):
                i = k * versions + v
                row = {}
                for c in t.columns:
                    dtype = c.ibis_type
                    if c.name in t.business_key or (
                        not t.business_key and c.name in t.primary_key and versions == 1
                    ):
                        row[c.name] = _key_value(dtype, k)
                    elif c.name in t.primary_key:
                        row[c.name] = _key_value(dtype, 100 + i)
                    elif _scd2(t) and c.name == t.validity[0]:
                        row[c.name] = _VERSION_START[v]
                    elif _scd2(t) and c.name == t.validity[1]:
                        row[c.name] = _VERSION_START[1] if v == 0 else _END_OF_TIME
                    elif _scd2(t) and c.name == t.validity[2]:
                        row[c.name] = v == versions - 1
                    elif c.name in fk_values:
                        row[c.name] = fk_values[c.name][i % len(fk_values[c.name])]
                    else:
                        row[c.name] = _value(dtype, c.name, i)
                rows.append(row)
        return pd.DataFrame(rows, columns=columns)
    # facts, bridges, aggregates: unique primary keys drawn from the referenced keys
    candidates = []
    for name in t.primary_key:
        if name in fk_values:
            candidates.append(fk_values[name])
        else:
            dtype = t.column(name).ibis_type
            candidates.append([_key_value(dtype, i) for i in range(_FACT_ROWS)])
    keys = _distinct_tuples(candidates, _FACT_ROWS) if candidates else [()] * _FACT_ROWS
    rows = []
    for i, key in enumerate(keys):
        row = dict(zip(t.primary_key, key, strict=True))
        for c in t.columns:
            if c.name in row:
                continue
            if c.name in fk_values:
                values = fk_values[c.name]
                row[c.name] = values[
                    (i // 2) % len(values)
                ]  # each referenced row twice
            else:
                row[c.name] = _value(c.ibis_type, c.name, i)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _key_value(dtype: dt.DataType, i: int):
    if dtype.is_integer():
        return i + 1
    if dtype.is_string():
        return f"k{i + 1}"
    if dtype.is_timestamp():
        return pd.Timestamp("2024-01-15") + pd.Timedelta(days=45 * i)
    if dtype.is_date():
        return (pd.Timestamp("2024-01-15") + pd.Timedelta(days=45 * i)).date()
    if dtype.is_decimal() or dtype.is_floating():
        return float(i + 1)
    return i + 1


def _distinct_tuples(candidates: list[list], n: int) -> list[tuple]:
    """The first ``n`` combinations of the candidate values (all distinct)."""
    import itertools

    return list(itertools.islice(itertools.product(*candidates), n))


def _time_column(t: Table) -> str | None:
    for want in ("timestamp", "date"):
        for c in t.columns:
            if c.name in _VALIDITY_NAMES:
                continue
            dtype = c.ibis_type
            if (want == "timestamp" and dtype.is_timestamp()) or (
                want == "date" and dtype.is_date()
            ):
                return c.name
    return None


def _join_condition(
    d: _Design, t: Table, alias: str, fk: ForeignKey, target: Table, talias: str
):
    """The ON clause of a foreign key, with the time range of a point-in-time reference."""
    parts = [
        f"{talias}.{_quote(r)} = {alias}.{_quote(c)}"
        for c, r in zip(fk.cols, fk.ref_cols, strict=False)
    ]
    if fk.point_in_time and _scd2(target):
        when = _time_column(t)
        if when is None:
            return None
        start, end, _ = target.validity
        parts.append(
            f"{talias}.{_quote(start)} <= {alias}.{_quote(when)} "
            f"AND {alias}.{_quote(when)} < {talias}.{_quote(end)}"
        )
    return " AND ".join(parts)


def _run_on_data(d: _Design) -> tuple[list[str], str]:
    import duckdb

    frames = _generate(d)
    con = duckdb.connect()
    tables = {t.name: t for t in [*d.own, *d.model]}
    for name, frame in frames.items():
        t = tables[name]
        con.register("_frame", frame)
        casts = ", ".join(
            f"CAST({_quote(c.name)} AS {_sql_type(c)}) AS {_quote(c.name)}"
            for c in t.columns
        )
        con.execute(f"CREATE TABLE {_quote(name)} AS SELECT {casts} FROM _frame")
        con.unregister("_frame")
    problems = []
    for t in d.own:
        n = len(frames[t.name])
        for fk in t.foreign_keys:
            target = d.table(fk.table)
            if target is None or target.name not in frames:
                continue
            on = _join_condition(d, t, "f", fk, target, "x")
            if on is None:
                problems.append(
                    f"`{t.name}.{', '.join(fk.cols)}` is a point-in-time reference, but "
                    f"`{t.name}` has no date or timestamp column to say which version applies"
                )
                continue
            matches = con.execute(
                f"SELECT COUNT(*) FROM {_quote(t.name)} f JOIN {_quote(target.name)} x ON {on}"
            ).fetchone()[0]
            if matches > n:
                hint = ""
                if _scd2(target) and not set(fk.ref_cols) <= set(target.primary_key):
                    hint = (
                        f" `{target.name}` is type 2, so {list(fk.ref_cols)} repeats once per "
                        "version: reference its surrogate key, or declare the ForeignKey "
                        "point_in_time=True so the join adds the validity range"
                    )
                else:
                    hint = (
                        f" {list(fk.ref_cols)} is not unique in `{target.name}`: reference its "
                        "primary key"
                    )
                problems.append(
                    f"`{t.name}.{', '.join(fk.cols)}` → `{target.name}`: {n} rows became "
                    f"{matches} after the join (fan-out).{hint}"
                )
    query, fact, measure = _reference_query(d)
    if query and not problems:
        try:
            total = con.execute(
                f"SELECT SUM({_quote(measure)}) FROM ({query})"
            ).fetchone()[0]
            alone = "COUNT(*)" if measure == "rows" else f"SUM({_quote(measure)})"
            expected = con.execute(f"SELECT {alone} FROM {_quote(fact)}").fetchone()[0]
            if total != expected:
                problems.append(
                    f"the reference question gives a total of {total} where `{fact}` alone "
                    f"holds {expected}: its joins lose or repeat rows"
                )
        except duckdb.Error as exc:  # the design declares something DuckDB cannot run
            problems.append(f"the reference question does not run: {exc}")
    con.close()
    return problems, query


def _sql_type(c) -> str:
    from datamodeling.schema import _duckdb_type

    return _duckdb_type(c.ibis_type)


def _reference_query(d: _Design) -> tuple[str, str, str]:
    """The reference question on the design: a fact's measure summed by what it references."""
    accepted = [Counter(g) for g in d.task.grains]
    facts = [t for t in d.facts() if d.grain(t) in accepted] or d.facts()
    if not facts:
        return "", "", ""
    fact = facts[0]
    measure = None
    for m in d.task.measures:
        for c in fact.columns:
            if c.name not in d.key_columns(fact) and any(h in c.name for h in m.hints):
                measure = c.name
                break
        if measure:
            break
    select, joins, groups = [], [], []
    for i, fk in enumerate(fact.foreign_keys):
        target = d.table(fk.table)
        if target is None or target.role != "dimension":
            continue
        on = _join_condition(d, fact, "f", fk, target, f"d{i}")
        if on is None:
            continue
        entity = d.entities.get(d.identity(target) or "")
        hints = entity.slice_by if entity else ()
        label = next(
            (c.name for h in hints for c in target.columns if h in c.name),
            next(
                (
                    c.name
                    for c in target.columns
                    if c.ibis_type.is_string() and c.name not in target.primary_key
                ),
                target.primary_key[0] if target.primary_key else fk.ref_cols[0],
            ),
        )
        joins.append(f"JOIN {_quote(target.name)} AS d{i} ON {on}")
        role = re.sub(r"_(id|sk|key)$", "", fk.cols[0])
        alias = label if label.startswith(role) else f"{role}_{label}"
        select.append(f"d{i}.{_quote(label)} AS {_quote(alias)}")
        groups.append(str(len(select)))
    total = f"SUM(f.{_quote(measure)})" if measure else "COUNT(*)"
    name = measure or "rows"
    lines = [f"-- {d.task.reference_question}" if d.task.reference_question else "--"]
    lines.append("SELECT " + ",\n       ".join([*select, f"{total} AS {_quote(name)}"]))
    lines.append(f"FROM {_quote(fact.name)} AS f")
    lines.extend(joins)
    if groups:
        lines.append(f"GROUP BY {', '.join(groups)}")
    return "\n".join(lines), fact.name, name


# --------------------------------------------------------------------------------------------
# Showing a task and a design in a notebook
# --------------------------------------------------------------------------------------------
def task_markdown(task: DesignTask) -> str:
    """The requirement, what the sources send, the new questions and the rubric, as Markdown."""
    lines = [
        f"**{task.title}.** {task.requirement}",
        "",
        "**What the source systems send:**",
        "",
    ]
    lines += [f"- `{feed}`: {columns}" for feed, columns in task.source.items()]
    keys = ", ".join(f"`{e.keys[0]}`" for e in task.entities if e.keys and not e.time)
    lines += [
        "",
        f"The checker recognises the task's entities by the keys the sources send ({keys}): "
        "keep those column names. Name your tables, surrogate keys and "
        "measures as you like; refer to the existing model's tables by their name, old or new "
        "(`customer` or `dim_customer`).",
    ]
    lines += ["", "**The new questions:**", ""]
    lines += [f"{i}. {q}" for i, q in enumerate(task.questions, 1)]
    lines += ["", "**The rubric** (`check_design` grades each point):", ""]
    lines += [f"- `{point}`: {text}" for point, text in rubric_points(task).items()]
    return "\n".join(lines)


def rubric_points(task: DesignTask) -> dict[str, str]:
    """The rubric points that apply to ``task``, in order, with what each asks for."""
    skip = set()
    if not task.history:
        skip.add("history")
    if not task.links:
        skip.add("bridges")
    if not task.measures:
        skip.add("measures")
    return {p: text for p, text in POINTS.items() if p not in skip}


def table_source(t: Table) -> str:
    """Python source that declares ``t`` (``eval`` of it, with the schema names, gives ``t``)."""

    def lit(v):
        return repr(tuple(v)) if isinstance(v, tuple) else repr(v)

    lines = ["Table(", f"    {t.name!r},", f"    role={t.role!r},"]
    if t.scd_type is not None:
        lines.append(f"    scd_type={t.scd_type!r},")
    lines.append(f"    grain={t.grain!r},")
    lines.append("    columns=[")
    for c in t.columns:
        args = [repr(c.name), repr(c.dtype), repr(c.description)]
        if not c.nullable:
            args.append("nullable=False")
        line = f"        Column({', '.join(args)}),"
        if len(line) <= 96:
            lines.append(line)
        else:  # one argument per line, as a formatter would
            lines += [
                "        Column(",
                *(f"            {a}," for a in args),
                "        ),",
            ]
    lines.append("    ],")
    for name in ("primary_key", "business_key"):
        value = getattr(t, name)
        if value:
            lines.append(f"    {name}={value!r},")
    if t.foreign_keys:
        lines.append("    foreign_keys=[")
        for fk in t.foreign_keys:
            args = [lit(fk.columns), repr(fk.table)]
            if fk.ref_columns is not None:
                args.append(lit(fk.ref_columns))
            if fk.point_in_time:
                args.append("point_in_time=True")
            lines.append(f"        ForeignKey({', '.join(args)}),")
        lines.append("    ],")
    if t.description:
        lines.append(f"    description={t.description!r},")
    if t.database:
        lines.append(f"    database={t.database!r},")
    if tuple(t.validity) != ("valid_from", "valid_to", "is_current"):
        lines.append(f"    validity={tuple(t.validity)!r},")
    if t.notes:
        lines.append(f"    notes={t.notes!r},")
    lines.append(")")
    return "\n".join(lines)


def context_tables(
    task: DesignTask, tables: Sequence[Table], trim: bool = True
) -> list[Table]:
    """``tables`` plus the model's tables their foreign keys reach, under the names used there.

    For an ER diagram of a design in its surroundings. With ``trim``, a model table keeps only
    its keys, the columns referenced, its validity columns and the columns the task slices by.
    """
    d = _Design(task, tables)
    out = list(tables)
    names = {t.name for t in out}
    for t in tables:
        for fk in t.foreign_keys:
            target = d.table(fk.table)
            if target is None or d.is_own(target) or fk.table in names:
                continue
            shown = dataclasses.replace(target, name=fk.table, foreign_keys=[])
            if trim:
                entity = d.entities.get(d.identity(target) or "")
                hints = entity.slice_by if entity else ()
                refs = {
                    c
                    for o in tables
                    for k in o.foreign_keys
                    if k.table == fk.table
                    for c in k.ref_cols
                }
                keep = {*target.primary_key, *target.business_key, *refs}
                if _scd2(target):
                    keep |= set(target.validity)
                keep |= {
                    c.name for c in target.columns if any(h in c.name for h in hints)
                }
                shown = dataclasses.replace(
                    shown, columns=[c for c in target.columns if c.name in keep]
                )
            out.insert(0, shown)
            names.add(fk.table)
    return out


def design_source(tables: Sequence[Table]) -> str:
    """The declarations of a design as a Markdown Python block, ready to copy."""
    body = "\n\n".join(f"{t.name.upper()} = {table_source(t)}" for t in tables)
    names = ", ".join(t.name.upper() for t in tables)
    return f"```python\n{body}\n\ndesign = [{names}]\n```"


# ============================================================================================
# The metric investigation
# ============================================================================================
#: The diagnosis order an interviewer expects, by phase key. Data problems first: they are the
#: most common cause of a metric that moves overnight, and every later step reads the same data.
DIAGNOSIS_PHASES = {
    "data": "Is the data real?",
    "segments": "Where is the drop?",
    "world": "What happened in the world?",
}
#: A step whose query is the investigation's reference query (the one that isolates the drop).
REFERENCE = "reference_sql"
#: A reader's segment row names it by value; these values mark a total or subtotal row instead.
_TOTAL_LABELS = {"", "all", "total", "*", "(all)", "none", "nan", "<na>"}


@dataclass(frozen=True)
class Option:
    """A stated cause the reader may choose, and what in the data says whether it is the one."""

    key: str  #: a letter: ``A``
    text: str
    #: What the data shows about this option; shown when the reader picks it (for a wrong option
    #: it says what rules it out, without naming the right one).
    verdict: str


@dataclass(frozen=True)
class Step:
    """One step of the model answer: what the candidate asks, the query, and what it shows."""

    phase: str  #: a key of DIAGNOSIS_PHASES
    question: str
    sql: str
    #: What the result shows and what it rules out (no typed numbers: the result shows them).
    reading: str
    #: The claim of ``reading``, as a test on the result: the tests run it on the warehouse.
    shows: object = None  # Callable[[pd.DataFrame], bool]

    def __post_init__(self):
        if self.phase not in DIAGNOSIS_PHASES:
            raise ValueError(f"step phase must be one of {list(DIAGNOSIS_PHASES)}")


@dataclass(frozen=True)
class Investigation:
    """A metric investigation: the alarm, the options, the planted truth and the model answer.

    The reader's query returns one row per segment: the segment's columns (named as the reader
    likes), ``value`` (the metric on the alarm day, in that segment) and ``expected`` (what it
    should have been: the same weekday over the previous ``baseline_weeks`` weeks, or the
    complete data). For a ``share`` (a rate), ``n`` gives the units behind ``value``.
    """

    name: str  #: ``practice.short``
    practice: str
    title: str
    #: The alarm as the interviewer says it, a template of {value}, {expected} and {change}.
    alarm: str
    #: One row, columns ``value`` and ``expected``: the alarm's figures, from the warehouse.
    alarm_sql: str
    #: How to print the alarm's figures: ``count``, ``money`` or ``share``.
    alarm_format: str
    day: str  #: the alarm day, ISO
    #: What the interviewer adds when asked (what the reader can assume), and where to look.
    context: str
    options: tuple[Option, ...]
    cause: str  #: the key of the planted cause
    #: The planted segment: a label per dimension and the value, as the warehouse spells it.
    segment: dict[str, str]
    #: Other spellings of a segment value the checker accepts (``"web"`` for ``"Web shop"``).
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kind: str = "count"  #: ``count`` or ``share``: what ``value`` and ``expected`` hold
    #: What the reader's query must return (Markdown).
    result: str = ""
    reference_sql: str = ""  #: the model answer's query that isolates the drop
    steps: tuple[Step, ...] = ()
    conclusion: str = ""  #: the model answer's close: the cause, the fix, what to say
    baseline_weeks: int = 4
    #: Variance of the reader's counts relative to Poisson (users come back day after day and in
    #: bursts); measured on the normal days of the warehouse (see the tests).
    dispersion: float = 1.0
    minutes: int = 15

    def __post_init__(self):
        keys = [o.key for o in self.options]
        if len(set(keys)) != len(keys) or self.cause not in keys:
            raise ValueError(
                f"{self.name}: options need distinct keys, one of them {self.cause}"
            )
        if self.kind not in ("count", "share"):
            raise ValueError(f"{self.name}: kind is count or share")
        phases = [list(DIAGNOSIS_PHASES).index(s.phase) for s in self.steps]
        if phases != sorted(phases) or set(phases) != set(range(len(DIAGNOSIS_PHASES))):
            raise ValueError(
                f"{self.name}: the steps walk every phase, in the diagnosis order"
            )

    def option(self, key: str) -> Option:
        for o in self.options:
            if o.key == key:
                return o
        raise KeyError(key)

    @property
    def columns(self) -> tuple[str, ...]:
        """The measure columns the reader's query returns."""
        return (
            ("value", "expected", "n")
            if self.kind == "share"
            else ("value", "expected")
        )


def investigation(practice: str) -> Investigation:
    """The metric investigation of ``practice`` (its mock interview's ``investigation``)."""
    found = mock_interview(practice).investigation
    if found is None:
        raise KeyError(f"{practice} has no metric investigation yet")
    return found


@dataclass
class InvestigationReport:
    """What :func:`check_investigation` found: the segment, the cause, the query."""

    name: str
    results: list[PointResult]
    #: The reader's rows, with the change, its size in sigmas and whether it is in the segment.
    rows: pd.DataFrame | None = None
    answered: bool = True

    @property
    def passed(self) -> bool:
        return self.answered and all(r.passed for r in self.results)

    def __bool__(self) -> bool:
        return self.passed

    def failed(self) -> list[str]:
        return [r.point for r in self.results if not r.passed]

    def result(self, point: str) -> PointResult:
        for r in self.results:
            if r.point == point:
                return r
        raise KeyError(point)

    def __str__(self) -> str:
        if not self.answered:
            return (
                f"✏️ {self.name}: not answered yet: set the segment, the cause and the query, "
                "then run the cell again"
            )
        met = sum(r.passed for r in self.results)
        lines = [f"{self.name}: {met}/{len(self.results)} parts right"]
        lines.extend(_result_lines(self.results))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.answered:
            return f"<p>✏️ <code>{html.escape(self.name)}</code>: not answered yet.</p>"
        items = _result_items_html(self.results)
        met = sum(r.passed for r in self.results)
        table = ""
        if self.rows is not None and len(self.rows):
            table = (
                "<details><summary>Your rows, with the change and its size in sigmas"
                f"</summary>{self.rows.to_html(index=False, float_format=_fmt_float)}</details>"
            )
        return (
            f"<div class='investigation-report'><p><code>{html.escape(self.name)}</code>: "
            f"<strong>{met}/{len(self.results)}</strong> parts right</p>"
            f"<ul>{''.join(items)}</ul>{table}</div>"
        )


def _fmt_float(x: float) -> str:
    return f"{x:,.3g}"


_CHECK_TITLES = {
    "segment": "The segment where the drop is.",
    "cause": "The cause, among the stated options.",
    "query": "A query that isolates the drop: the segment falls beyond sampling error, every "
    "other row stays within it.",
}


def check_investigation(
    inv: Investigation, segment=None, cause=None, sql=None, con=None
) -> InvestigationReport:
    """Check a reader's answer to a metric investigation: the segment, the cause, the query.

    ``segment``: the segment's values, as a dict (``{"os": "Android", ...}``, the keys are free
    labels) or a list. ``cause``: an option's letter. ``sql``: one read-only query (or an Ibis
    table) returning one row per segment with the investigation's columns (``inv.result``); it
    runs on ``con``, the practice's warehouse opened read-only.
    """
    if all(
        x is None or (isinstance(x, str) and not x.strip())
        for x in (segment, cause, sql)
    ):
        return InvestigationReport(inv.name, [], answered=False)
    results = [
        PointResult("segment", _CHECK_TITLES["segment"], *_check_segment(inv, segment)),
        PointResult("cause", _CHECK_TITLES["cause"], *_check_cause(inv, cause)),
    ]
    passed, problems, rows = _check_query(inv, sql, con)
    results.append(PointResult("query", _CHECK_TITLES["query"], passed, problems))
    return InvestigationReport(inv.name, results, rows)


def _norm(value) -> str:
    return " ".join(str(value).split()).strip().lower()


def _accepted(inv: Investigation, value: str) -> set[str]:
    return {_norm(value), *(_norm(a) for a in inv.aliases.get(value, ()))}


def _check_segment(inv: Investigation, segment) -> tuple[bool, list[str]]:
    if segment is None or (
        isinstance(segment, (str, dict, list, tuple)) and not segment
    ):
        return False, ["not answered: name the segment, e.g. {'column': 'value', ...}"]
    if isinstance(segment, dict):
        stated = [_norm(v) for v in segment.values()]
    elif isinstance(segment, str):
        stated = [_norm(segment)]
    else:
        stated = [_norm(v) for v in segment]
    unmatched = list(stated)
    missing = 0
    for value in inv.segment.values():
        hit = next((s for s in unmatched if s in _accepted(inv, value)), None)
        if hit is None:
            missing += 1
        else:
            unmatched.remove(hit)
    problems = []
    if unmatched:
        problems.append(
            f"{', '.join(repr(s) for s in unmatched)}: the drop is not there, or is not limited "
            "to it. Compare the segment's rows with the others before naming it"
        )
    if missing and not unmatched:
        problems.append(
            "the drop is narrower than that: within your segment, slice once more and find the "
            "part that falls while the rest holds"
        )
    elif missing:
        problems.append("part of the segment is missing or wrong")
    return not problems, problems


def _check_cause(inv: Investigation, cause) -> tuple[bool, list[str]]:
    if cause is None or (isinstance(cause, str) and not cause.strip()):
        keys = ", ".join(o.key for o in inv.options)
        return False, [f"not answered: choose one of {keys}"]
    key = str(cause).strip().rstrip(".)").upper()
    if key not in {o.key for o in inv.options}:
        matches = [o.key for o in inv.options if _norm(cause) == _norm(o.text)]
        if not matches:
            keys = ", ".join(o.key for o in inv.options)
            return False, [f"{cause!r} is not an option: answer with one of {keys}"]
        key = matches[0]
    if key == inv.cause:
        return True, []
    return False, [f"{key} is not it: {inv.option(key).verdict}"]


_FILE_FUNCTIONS = re.compile(
    r"^(read_|glob$|sniff_csv$|parquet_|iceberg_|delta_scan$)", re.I
)


def _refuse(sql: str) -> str | None:
    """Why ``sql`` is not one read-only query on the warehouse's tables (``None`` if it is)."""
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError:
        return None  # let the database say what is wrong, on a connection that cannot write
    if len(statements) != 1:
        return f"write one query, not {len(statements)} statements"
    query = statements[0]
    if not isinstance(query, exp.Query):
        return "write a query (SELECT ... or WITH ... SELECT ...): the warehouse is read-only"
    for func in query.find_all(exp.Func):
        name = (
            func.sql_name() if not isinstance(func, exp.Anonymous) else str(func.this)
        )
        if _FILE_FUNCTIONS.match(name or ""):
            return f"read the warehouse's tables, not files ({name})"
    for table in query.find_all(exp.Table):
        if any(ch in table.name for ch in "/\\.") or table.name.startswith(
            ("http", "s3")
        ):
            return f"read the warehouse's tables, not files ({table.name})"
    return None


def _run_query(sql, con) -> pd.DataFrame:
    if isinstance(sql, pd.DataFrame):
        return sql.reset_index(drop=True)
    if hasattr(sql, "to_pandas") and not isinstance(sql, str):
        return sql.to_pandas()
    if con is None:
        from datamodeling import exercises

        con = exercises._default_con
    if con is None:
        raise ValueError(
            "a SQL answer needs the warehouse: check_investigation(..., con=con)"
        )
    return con.sql(sql).to_pandas()


def _z_max(rows: int) -> float:
    """Sampling error for ``rows`` rows: 3 sigma, more for many rows (a correct query with many
    rows fails less than 1 time in 100 by chance)."""
    from statistics import NormalDist

    return max(3.0, NormalDist().inv_cdf(1 - 0.01 / (2 * max(rows, 1))))


def _z(inv: Investigation, value, expected, n=None):
    """The change of ``value`` against ``expected`` in sigmas (numpy arrays)."""
    import numpy as np

    value, expected = np.asarray(value, float), np.asarray(expected, float)
    spread = 1 + 1 / inv.baseline_weeks  # the day's noise, and the baseline's
    if inv.kind == "count":
        sigma = np.sqrt(inv.dispersion * (np.maximum(expected, 0) + 1) * spread)
    else:
        n = np.maximum(np.asarray(n, float), 1)
        p = np.clip(expected, 1 / (n + 2), 1 - 1 / (n + 2))
        sigma = np.sqrt(inv.dispersion * p * (1 - p) / n * spread)
    return (value - expected) / sigma


def _check_query(
    inv: Investigation, sql, con
) -> tuple[bool, list[str], pd.DataFrame | None]:
    import numpy as np

    if sql is None or (isinstance(sql, str) and not sql.strip()):
        return False, ["not answered: write the query that isolates the drop"], None
    if isinstance(sql, str):
        refused = _refuse(sql)
        if refused:
            return False, [refused], None
    try:
        frame = _run_query(sql, con)
    except ValueError:
        raise
    except (
        Exception
    ) as exc:  # the reader's SQL: any database error is the answer's problem
        return False, [f"the query does not run: {str(exc).splitlines()[0]}"], None
    lower = {c.lower(): c for c in frame.columns}
    missing = [c for c in inv.columns if c not in lower]
    if missing:
        return (
            False,
            [
                f"the result needs the column(s) {missing} (it has {list(frame.columns)}): "
                f"one row per segment with {', '.join(inv.columns)}"
            ],
            None,
        )
    measures = {c: pd.to_numeric(frame[lower[c]], errors="coerce") for c in inv.columns}
    labels = frame[[c for c in frame.columns if c.lower() not in inv.columns]]
    if labels.shape[1] == 0:
        return (
            False,
            ["the result names no segment: add the columns you slice by"],
            None,
        )
    text = labels.astype("string").apply(lambda s: s.map(_norm, na_action="ignore"))
    total = text.isna().any(axis=1) | text.isin(_TOTAL_LABELS).any(axis=1)
    inside = pd.Series(True, index=frame.index)
    for value in inv.segment.values():
        accepted = _accepted(inv, value)
        inside &= text.isin(accepted).any(axis=1)
    value = measures["value"].fillna(0.0)
    expected = measures["expected"]
    n = measures.get("n")
    usable = ~total & expected.notna()
    if n is not None:
        usable &= n.fillna(0) > 0
    problems = []
    if (inside & ~total).any() and not (inside & usable).any():
        problems.append(
            "the segment's rows have no `expected`"
            + (" (or no `n`)" if n is not None else "")
            + ": compare them with what existed before, e.g. the same platform or device type "
            "on the same weekdays"
        )
    elif not (inside & usable).any():
        problems.append(
            "no row of the result is the segment where the drop is: slice by the columns that "
            "isolate it, one row per combination of their values"
        )
    if not (~inside & usable).any():
        problems.append(
            "the result holds no other segment to compare with: keep the other rows"
        )
    z = pd.Series(
        _z(inv, value, expected.fillna(0.0), None if n is None else n.fillna(0.0)),
        index=frame.index,
    )
    change = (
        value - expected
        if inv.kind == "share"
        else value / expected.where(expected != 0) - 1
    )
    shown = labels.copy()
    shown["value"], shown["expected"] = value, expected
    if n is not None:
        shown["n"] = n
    shown["change"] = change
    shown["sigmas"] = z.round(1)
    shown["in segment"] = np.where(total, "total", np.where(inside, "yes", ""))
    if problems:
        return False, problems, shown
    ins = inside & usable
    if inv.kind == "count":
        pooled = _z(inv, value[ins].sum(), expected[ins].sum())
        pooled_change = value[ins].sum() / expected[ins].sum() - 1
        size = f"{pooled_change:+.0%}"
    else:
        weight = n[ins]
        v = float((value[ins] * weight).sum() / weight.sum())
        e = float((expected[ins] * weight).sum() / weight.sum())
        pooled = _z(inv, v, e, weight.sum())
        size = f"{v - e:+.1%} (points)"
    limit = _z_max(int(usable.sum()))
    if pooled > -3:
        problems.append(
            f"the segment's rows change by {size}, {float(pooled):+.1f} sigma: not a drop beyond "
            "sampling error. Check the day, the baseline and the measure"
        )
    others = usable & ~inside
    loud = z[others].abs() > limit
    if loud.any():
        worst = z[others][loud].abs().sort_values(ascending=False).index[:3]
        names = "; ".join(
            f"{', '.join(str(x) for x in labels.loc[i].tolist())}: {z[i]:+.1f} sigma"
            for i in worst
        )
        problems.append(
            f"other rows move beyond sampling error ({limit:.1f} sigma): {names}. The query does "
            "not isolate the drop: the segment is cut too narrow, or the comparison is not like "
            "for like (the same weekday, the same measure)"
        )
    elif pooled <= -3 and float(pooled) > float(z[others].min()):
        problems.append(
            "another row drops further than the segment: it is not isolated"
        )
    return not problems, problems, shown


# --------------------------------------------------------------------------------------------
# Showing an investigation in a notebook
# --------------------------------------------------------------------------------------------
def _fmt_figure(x: float, how: str) -> str:
    if how == "money":
        return f"${x:,.0f}"
    if how == "share":
        return f"{x:.1%}"
    return f"{x:,.0f}"


def alarm_figures(inv: Investigation, con) -> dict[str, float]:
    """The alarm's figures from the warehouse: ``value``, ``expected`` and ``change``.

    ``change`` is relative for a count or an amount, in points for a share.
    """
    row = con.sql(inv.alarm_sql).to_pandas().iloc[0]
    value, expected = float(row["value"]), float(row["expected"])
    change = value - expected if inv.alarm_format == "share" else value / expected - 1
    return {"value": value, "expected": expected, "change": change}


def alarm_markdown(inv: Investigation, con) -> str:
    """The alarm as the interviewer says it, with its figures from the warehouse."""
    f = alarm_figures(inv, con)
    if inv.alarm_format == "share":
        change = f"{abs(f['change']) * 100:.1f} points"
    else:
        change = f"{abs(f['change']):.0%}"
    text = inv.alarm.format(
        value=_fmt_figure(f["value"], inv.alarm_format),
        expected=_fmt_figure(f["expected"], inv.alarm_format),
        change=change,
    )
    return f"> *The interviewer:* “{text.replace('$', chr(92) + '$')}”"  # $ is not math


def investigation_markdown(inv: Investigation) -> str:
    """What the interviewer adds, the options, and what the reader's query returns."""
    lines = [inv.context, "", "**The options.** Which one is it?", ""]
    lines += [f"- **{o.key}.** {o.text}" for o in inv.options]
    lines += ["", f"**Your query** returns one row per segment, with {inv.result}"]
    return "\n".join(lines)


def investigation_exercise(inv: Investigation) -> str:
    """The exercise of the 06 notebook, in a colon fence (held verbatim there; a test compares)."""
    label = f"{inv.practice}-investigation"
    return (
        f":::{{exercise}} Metric investigation: {inv.title}\n:label: {label}\n\n"
        f"Explore the warehouse ({inv.minutes} minutes). Then set `my_segment` (the segment where "
        "the drop is, as `{'column': 'value'}`), `my_cause` (the letter of the cause) and "
        "`my_sql` (the query that isolates the drop), and run `check_investigation` in the cell "
        "below. Work in the diagnosis order: is the data real, where is the drop, what happened "
        "in the world.\n:::"
    )


def step_sql(inv: Investigation, i: int) -> str:
    """The query of step ``i`` (the reference query for a step that names it)."""
    sql = inv.steps[i].sql
    return (inv.reference_sql if sql == REFERENCE else sql).strip()


def step_markdown(inv: Investigation, i: int) -> str:
    """Step ``i`` of the model answer: its phase, the question and the SQL (Markdown)."""
    step = inv.steps[i]
    phase = list(DIAGNOSIS_PHASES).index(step.phase) + 1
    same = [j for j, s in enumerate(inv.steps) if s.phase == step.phase]
    number = f"{phase}{'abcdefgh'[same.index(i)]}" if len(same) > 1 else f"{phase}"
    return (
        f"**{number}. {DIAGNOSIS_PHASES[step.phase]}** {step.question}\n\n"
        f"```sql\n{step_sql(inv, i)}\n```"
    )


def run_step(inv: Investigation, i: int, con) -> pd.DataFrame:
    """The result of step ``i``'s query on the warehouse."""
    return con.sql(step_sql(inv, i)).to_pandas()


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with timestamps that are whole days shown as dates."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if (
            pd.api.types.is_datetime64_any_dtype(s)
            and (s.dropna() == s.dropna().dt.normalize()).all()
        ):
            out[col] = s.dt.date
    return out
