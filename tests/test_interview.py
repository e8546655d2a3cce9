"""The mock interviews and the design checker.

For every task: the model designs pass every rubric point; they differ in names and in grain;
and for every rubric point there is a design that breaks only that point and fails on it, with a
message that names what is wrong. The break-only designs are small edits of a model design, so
each test says exactly which mistake it plants.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from datamodeling.interview import (
    CORE_TOPICS,
    POINTS,
    SENIOR_TOPICS,
    DesignTask,
    Entity,
    History,
    Link,
    Measure,
    _Design,
    canonical,
    check_design,
    mock_interview,
)
from datamodeling.schema import Column, ForeignKey, Table

PRACTICES = ["ecommerce", "social", "streaming", "rideshare"]
PHASE_NAMES = [
    "Clarify",
    "Processes and grain",
    "Dimensions and facts",
    "Metrics in SQL",
    "Scale and trade-offs",
]


# --------------------------------------------------------------------------------------------
# Editing a design
# --------------------------------------------------------------------------------------------
def table(design, name) -> Table:
    return next(t for t in design if t.name == name)


def swap(design, new: Table) -> list[Table]:
    """``design`` with the table of the same name replaced by ``new``."""
    assert any(t.name == new.name for t in design), new.name
    return [new if t.name == new.name else t for t in design]


def without(design, name) -> list[Table]:
    assert any(t.name == name for t in design), name
    return [t for t in design if t.name != name]


def edit_column(t: Table, name: str, **changes) -> Table:
    assert name in t.column_names, (t.name, name)
    columns = [
        dataclasses.replace(c, **changes) if c.name == name else c for c in t.columns
    ]
    return dataclasses.replace(t, columns=columns)


def drop_columns(t: Table, *names: str, **changes) -> Table:
    for n in names:
        assert n in t.column_names, (t.name, n)
    return dataclasses.replace(
        t,
        columns=[c for c in t.columns if c.name not in names],
        foreign_keys=[fk for fk in t.foreign_keys if not set(fk.cols) & set(names)],
        primary_key=[c for c in t.primary_key if c not in names],
        **changes,
    )


def drop_fk(t: Table, column: str) -> Table:
    kept = [fk for fk in t.foreign_keys if column not in fk.cols]
    assert len(kept) == len(t.foreign_keys) - 1, (t.name, column)
    return dataclasses.replace(t, foreign_keys=kept)


def edit_fk(t: Table, column: str, **changes) -> Table:
    assert any(column in fk.cols for fk in t.foreign_keys), (t.name, column)
    fks = [
        dataclasses.replace(fk, **changes) if column in fk.cols else fk
        for fk in t.foreign_keys
    ]
    return dataclasses.replace(t, foreign_keys=fks)


def add_columns(t: Table, *columns: Column, fks=()) -> Table:
    return dataclasses.replace(
        t, columns=[*t.columns, *columns], foreign_keys=[*t.foreign_keys, *fks]
    )


C = Column


# --------------------------------------------------------------------------------------------
# The mock interviews: script, rubric, drills
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", PRACTICES)
def test_script_is_45_minutes_in_the_five_phases(practice):
    mock = mock_interview(practice)
    assert [p.name for p in mock.phases] == PHASE_NAMES
    assert sum(p.minutes for p in mock.phases) == 45
    script = mock.script()
    assert list(script["phase"]) == PHASE_NAMES
    assert script["minutes"].iloc[0] == "0–5" and script["minutes"].iloc[-1].endswith(
        "–45"
    )
    rubric = mock.rubric()
    for level in ("strong", "acceptable", "weak"):
        assert rubric[level].str.len().min() > 40, level  # concrete signals, not a word


@pytest.mark.parametrize("practice", PRACTICES)
def test_drills_are_enough_and_weighted_like_real_rounds(practice):
    drills = mock_interview(practice).drills
    assert len(drills) >= 6
    topics = Counter(d.topic for d in drills)
    core = sum(topics[t] for t in CORE_TOPICS)
    senior = sum(topics[t] for t in SENIOR_TOPICS)
    assert core > senior  # grain, star, fact/dimension, SCD and keys come up most
    assert {"grain", "SCD type"} <= set(topics)
    assert (
        "bridge tables" in topics and "late-arriving data" in topics
    )  # the senior questions
    for d in drills:
        assert d.challenge.strip() and len(d.model_answer) > 150
        assert all(answer and why for answer, why in d.weak_answers)


def test_drill_rejects_an_unknown_topic():
    from datamodeling.interview import Drill

    with pytest.raises(ValueError, match="topic"):
        Drill("x", "Why?", "vibes", "Because.", (("No.", "Wrong."),))


# --------------------------------------------------------------------------------------------
# check_design: model designs pass, weak designs fail where stated
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", PRACTICES)
def test_model_designs_pass_every_point(practice):
    mock = mock_interview(practice)
    assert len(mock.model_designs) >= 2
    for name, design in mock.model_designs.items():
        report = check_design(mock.task, design)
        assert [r.point for r in report.results] == list(POINTS), name
        assert report.passed, f"{name}\n{report}"
        assert report.query.startswith("--") and "FROM" in report.query


@pytest.mark.parametrize("practice", PRACTICES)
def test_model_designs_differ_in_names_and_grain(practice):
    mock = mock_interview(practice)
    designs = list(mock.model_designs.values())
    grains = []
    for design in designs:
        d = _Design(mock.task, design)
        accepted = [Counter(g) for g in mock.task.grains]
        grains.append(
            {frozenset(d.grain(t).items()) for t in d.facts() if d.grain(t) in accepted}
        )
    assert grains[0] and grains[1] and grains[0] != grains[1]
    names = [{t.name for t in design} for design in designs]
    assert not names[0] & names[1]


@pytest.mark.parametrize("practice", PRACTICES)
def test_weak_design_misses_what_it_says(practice):
    mock = mock_interview(practice)
    report = check_design(mock.task, mock.weak_design)
    assert report.failed() == list(mock.weak_design_misses)
    assert len(report.failed()) >= 5
    for r in report.results:
        assert bool(r.problems) == (not r.passed)


def test_not_answered_is_neither_right_nor_wrong():
    task = mock_interview("ecommerce").task
    for empty in (None, []):
        report = check_design(task, empty)
        assert not report.answered and not report.passed
        assert "not answered" in str(report)


def test_two_tables_with_one_name_are_refused():
    mock = mock_interview("ecommerce")
    design = mock.model_designs["A: subscription events (transaction fact)"]
    with pytest.raises(ValueError, match="share a name"):
        check_design(mock.task, [*design, design[0]])


def test_report_renders_every_point_and_problem_as_html():
    mock = mock_interview("rideshare")
    report = check_design(mock.task, mock.weak_design)
    page = report._repr_html_()
    assert page.count("✗") == len(report.failed())
    for r in report.results:
        for problem in r.problems:
            assert problem.split("`")[0][:30].replace("'", "&#x27;") in page


# --------------------------------------------------------------------------------------------
# Names: the model's tables are found by business key, under their old or new names
# --------------------------------------------------------------------------------------------
def test_canonical_names():
    assert canonical("dim_customer") == canonical("customer") == "customer"
    assert (
        canonical("fact_trips") == canonical("fact_trip") == canonical("trip") == "trip"
    )
    assert canonical("mart.daily_sales") == "daily_sale"
    assert canonical("address") == "address"


@pytest.mark.parametrize("practice", PRACTICES)
def test_designs_pass_whatever_the_model_calls_its_tables(practice, monkeypatch):
    """The model is being renamed to dim_/fact_ with the brief's names kept as views: rename
    every table both ways and the model designs (which use both spellings) still pass."""
    mock = mock_interview(practice)
    real = mock.task.model_tables()

    def renamed(style):
        out = []
        for t in real:
            if t.database:
                out.append(t)
                continue
            bare = t.name.removeprefix("dim_").removeprefix("fact_")
            prefix = {"dimension": "dim_", "fact": "fact_"}.get(t.role, "")
            name = bare if style == "brief" else f"{prefix}{bare}"
            out.append(dataclasses.replace(t, name=name))
        return out

    for style in ("brief", "prefixed"):
        monkeypatch.setattr(
            DesignTask, "model_tables", lambda self, s=style: renamed(s)
        )
        for name, design in mock.model_designs.items():
            report = check_design(mock.task, design)
            assert report.passed, f"{style} / {name}\n{report}"


# --------------------------------------------------------------------------------------------
# Every rubric point can fail alone: one planted mistake per point and task
# --------------------------------------------------------------------------------------------
def _ecommerce_breaks():
    mock = mock_interview("ecommerce")
    a = mock.model_designs["A: subscription events (transaction fact)"]
    b = mock.model_designs["B: subscription months (periodic snapshot)"]
    fact, plan, bridge = (
        table(a, "fact_subscription_event"),
        table(a, "dim_plan"),
        table(a, "bridge_box_content"),
    )
    month = table(b, "subscription_month")
    subscription = Table(
        "dim_subscription",
        role="dimension",
        scd_type=1,
        grain="One row per subscription.",
        columns=[
            C("subscription_id", "int64", "", False),
            C("plan_sk", "int64", "Today's plan version.", False),
        ],
        primary_key=["subscription_id"],
        business_key=["subscription_id"],
        foreign_keys=[ForeignKey("plan_sk", "dim_plan")],
    )
    via_subscription = dataclasses.replace(
        drop_columns(fact, "plan_sk"),
        foreign_keys=[
            *drop_columns(fact, "plan_sk").foreign_keys,
            ForeignKey("subscription_id", "dim_subscription"),
        ],
    )
    plan_with_product = add_columns(
        plan,
        C("product_sk", "int64", "The box's product."),
        fks=[ForeignKey("product_sk", "product")],
    )
    return mock.task, {
        "grain_stated": (
            swap(a, dataclasses.replace(fact, grain="Subscription events.")),
            "fact_subscription_event",
        ),
        "fact_grain": (
            swap(
                b,
                dataclasses.replace(
                    month, primary_key=["subscription_id", "month_key", "plan_id"]
                ),
            ),
            "subscription_month",
        ),
        "references": (
            swap(a, drop_columns(fact, "date_key", "event_time")),
            "the day",
        ),
        "history": ([*swap(a, via_subscription), subscription], "dim_subscription"),
        "bridges": (
            swap(without(a, "bridge_box_content"), plan_with_product),
            "dim_plan",
        ),
        "measures": (
            swap(a, edit_column(fact, "billed_amt", dtype="float64")),
            "billed_amt",
        ),
        "no_null_fk": (swap(a, edit_column(fact, "plan_sk", nullable=True)), "plan_sk"),
        "answers_on_data": (
            swap(a, edit_fk(bridge, "product_id", point_in_time=False)),
            "bridge_box_content.product_id",
        ),
    }


def _social_breaks():
    mock = mock_interview("social")
    a = mock.model_designs["A: follow events (transaction fact)"]
    b = mock.model_designs["B: follow spans (one row per follow, with its end)"]
    event, span = table(a, "fact_follow_event"), table(b, "follow")
    user_day = Table(
        "fact_user_day",
        role="fact",
        grain="One row per user and day: who the user follows at the day's end.",
        columns=[
            C("user_id", "int64", "", False),
            C("activity_date", "date", "", False),
            C(
                "following_ids",
                "array<int64>",
                "Users followed at the day's end.",
                False,
            ),
        ],
        primary_key=["user_id", "activity_date"],
        foreign_keys=[ForeignKey("user_id", "user", point_in_time=True)],
    )
    return mock.task, {
        "grain_stated": (
            swap(a, dataclasses.replace(event, grain="Follows.")),
            "fact_follow_event",
        ),
        "fact_grain": (
            swap(
                b,
                dataclasses.replace(span, primary_key=[*span.primary_key, "device_id"]),
            ),
            "follow",
        ),
        "references": (swap(a, drop_fk(event, "device_id")), "declares no ForeignKey"),
        "history": (swap(b, drop_columns(span, "unfollowed_at")), "Who followed whom"),
        "bridges": ([*a, user_day], "following_ids"),
        "measures": (
            swap(a, add_columns(event, C("follow_back_rate", "float64", "", False))),
            "follow_back_rate",
        ),
        "no_null_fk": (
            swap(a, edit_column(event, "device_id", nullable=True)),
            "device_id",
        ),
        "answers_on_data": (
            swap(a, edit_fk(event, "follower_id", point_in_time=False)),
            "fact_follow_event.follower_id",
        ),
    }


def _streaming_breaks():
    mock = mock_interview("streaming")
    a = mock.model_designs[
        "A: the session fact gains the profile (type 2 profile and account)"
    ]
    session, profile = table(a, "fact_playback_session"), table(a, "dim_profile")
    profile_type1 = drop_columns(
        profile, "profile_sk", "valid_from", "valid_to", "is_current", scd_type=1
    )
    profile_type1 = dataclasses.replace(profile_type1, primary_key=["profile_id"])
    session_by_profile_id = dataclasses.replace(
        session,
        columns=[
            C("profile_id", "int64", "", False) if c.name == "profile_sk" else c
            for c in session.columns
        ],
        foreign_keys=[
            ForeignKey("profile_id", "dim_profile") if "profile_sk" in fk.cols else fk
            for fk in session.foreign_keys
        ],
    )
    shared_device = Table(
        "dim_device",
        role="dimension",
        scd_type=1,
        grain="One row per device.",
        columns=[
            C("device_id", "int64", "", False),
            C("device_type", "string", ""),
            C("profile_id", "int64", "The device's profile."),
        ],
        primary_key=["device_id"],
        business_key=["device_id"],
    )
    session_by_content_id = dataclasses.replace(
        session,
        columns=[
            C("content_id", "int64", "", False) if c.name == "content_sk" else c
            for c in session.columns
        ],
        foreign_keys=[
            ForeignKey("content_id", "content") if "content_sk" in fk.cols else fk
            for fk in session.foreign_keys
        ],
    )
    return mock.task, {
        "grain_stated": (
            swap(a, dataclasses.replace(profile, grain="Profiles.")),
            "dim_profile",
        ),
        "fact_grain": (
            swap(
                a,
                dataclasses.replace(session, primary_key=["session_id", "profile_sk"]),
            ),
            "fact_playback_session",
        ),
        "references": (
            swap(a, drop_columns(session, "date_key", "started_at")),
            "the day",
        ),
        "history": (swap(swap(a, profile_type1), session_by_profile_id), "dim_profile"),
        "bridges": ([*a, shared_device], "dim_device"),
        "measures": (
            swap(a, edit_column(session, "played_seconds", dtype="float64")),
            "played_seconds",
        ),
        "no_null_fk": (
            swap(a, edit_column(session, "content_sk", nullable=True)),
            "content_sk",
        ),
        "answers_on_data": (
            swap(a, session_by_content_id),
            "fact_playback_session.content_id",
        ),
    }


def _rideshare_breaks():
    mock = mock_interview("rideshare")
    a = mock.model_designs[
        "A: three facts, per pooled trip, per rider request and per stop"
    ]
    trip, rider, stop = (
        table(a, "fact_pool_trip"),
        table(a, "fact_pool_rider"),
        table(a, "fact_pool_stop"),
    )
    current_driver = Table(
        "dim_driver_current",
        role="dimension",
        scd_type=1,
        grain="One row per driver, as they are today.",
        columns=[
            C("driver_id", "int64", "", False),
            C("vehicle_type", "string", "Today's vehicle."),
        ],
        primary_key=["driver_id"],
        business_key=["driver_id"],
    )
    # The request (fact_trips) also records the driver's version: cut that path too.
    rider_alone = drop_fk(rider, "trip_id")
    trip_current_driver = dataclasses.replace(
        trip,
        columns=[
            C("driver_id", "int64", "", False) if c.name == "driver_sk" else c
            for c in trip.columns
        ],
        foreign_keys=[
            ForeignKey("driver_id", "dim_driver_current")
            if "driver_sk" in fk.cols
            else fk
            for fk in trip.foreign_keys
        ],
    )
    rider_with_row_id = dataclasses.replace(
        add_columns(rider, C("row_id", "int64", "Auto-increment id.", False)),
        primary_key=["row_id"],
    )
    pay_on_riders = add_columns(rider, C("driver_pay_amt", "decimal(18, 2)", "", False))
    return mock.task, {
        "grain_stated": (
            swap(a, dataclasses.replace(stop, grain="Stops.")),
            "fact_pool_stop",
        ),
        "fact_grain": (swap(a, rider_with_row_id), "fact_pool_rider"),
        "references": (
            swap(
                # The zone is also reachable through the request (fact_trips): cut that too.
                swap(
                    a,
                    drop_fk(
                        drop_fk(drop_fk(rider, "pickup_zone_id"), "dropoff_zone_id"),
                        "trip_id",
                    ),
                ),
                drop_fk(stop, "zone_id"),
            ),
            "the zone",
        ),
        "history": (
            [*swap(swap(a, trip_current_driver), rider_alone), current_driver],
            "dim_driver_current",
        ),
        "bridges": (
            swap(
                a,
                add_columns(
                    trip,
                    C("rider_id", "int64", "The rider who booked first.", False),
                    fks=[ForeignKey("rider_id", "dim_rider")],
                ),
            ),
            "fact_pool_trip",
        ),
        "measures": (
            swap(swap(a, drop_columns(trip, "driver_pay_amt")), pay_on_riders),
            "fact_pool_rider.driver_pay_amt",
        ),
        "no_null_fk": (
            swap(a, edit_column(rider, "dropoff_zone_id", nullable=True)),
            "dropoff_zone_id",
        ),
        "answers_on_data": (
            swap(
                a,
                edit_fk(
                    stop, "pool_id", table="fact_pool_rider", ref_columns="pool_id"
                ),
            ),
            "fact_pool_stop.pool_id",
        ),
    }


BREAKS = {
    "ecommerce": _ecommerce_breaks,
    "social": _social_breaks,
    "streaming": _streaming_breaks,
    "rideshare": _rideshare_breaks,
}


@pytest.mark.parametrize("practice", PRACTICES)
def test_every_rubric_point_fails_alone(practice):
    task, breaks = BREAKS[practice]()
    assert set(breaks) == set(POINTS)  # one planted mistake per point
    for point, (design, named) in breaks.items():
        report = check_design(task, design)
        assert report.failed() == [point], f"{point}: {report}"
        problems = " ".join(report.result(point).problems)
        assert named in problems, f"{point}: {named!r} not in {problems}"
        assert f"❌ {point}" in str(report)


# --------------------------------------------------------------------------------------------
# The checker's rules on a small task of its own
# --------------------------------------------------------------------------------------------
TIPS = DesignTask(
    name="test.tips",
    practice="",
    title="Tips",
    requirement="Riders tip drivers after a ride; some tips are split between two drivers.",
    entities=(
        Entity("tip", "a tip", keys=("tip_id",), event=True),
        Entity("driver", "the driver", keys=("driver_id",)),
        Entity("rider", "the rider", keys=("rider_id",)),
        Entity("date", "the day", keys=("date_key",), time=True),
    ),
    grains=(("tip",), ("tip", "driver")),
    references=(("driver", 1), ("rider", 1)),
    history=(History("The driver's city at the time", "driver", ("city",), why=""),),
    links=(Link("tip", "driver", why="a tip can be split between drivers."),),
    measures=(Measure("the tip", hints=("tip_amt",), kind="money", once_per=("tip",)),),
)


def _driver(scd_type=2):
    cols = [C("driver_id", "int64", "", False), C("city", "string", "")]
    if scd_type == 2:
        cols = [
            C("driver_sk", "int64", "", False),
            *cols,
            C("valid_from", "timestamp", "", False),
            C("valid_to", "timestamp", "", False),
            C("is_current", "boolean", "", False),
        ]
    return Table(
        "dim_driver",
        "dimension",
        "One row per driver version.",
        cols,
        primary_key=["driver_sk" if scd_type == 2 else "driver_id"],
        business_key=["driver_id"],
        scd_type=scd_type,
    )


RIDER = Table(
    "dim_rider",
    "dimension",
    "One row per rider.",
    [C("rider_id", "int64", "", False)],
    primary_key=["rider_id"],
    business_key=["rider_id"],
    scd_type=1,
)


def _split_fact(**overrides):
    base = dict(
        name="fact_tip_split",
        role="fact",
        grain="One row per tip and driver sharing it.",
        columns=[
            C("tip_id", "int64", "", False),
            C("driver_sk", "int64", "", False),
            C("rider_id", "int64", "", False),
            C("tipped_at", "timestamp", "", False),
            C("tip_amt_alloc", "decimal(18, 2)", "The driver's share.", False),
        ],
        primary_key=["tip_id", "driver_sk"],
        foreign_keys=[
            ForeignKey("driver_sk", "dim_driver"),
            ForeignKey("rider_id", "dim_rider"),
        ],
    )
    base.update(overrides)
    return Table(**base)


def test_rules_on_a_small_task():
    good = check_design(TIPS, [_driver(), RIDER, _split_fact()])
    assert good.passed, good
    # An amount paid once per tip, repeated on each driver's row, is caught unless allocated.
    repeated = _split_fact(
        columns=[*_split_fact().columns[:-1], C("tip_amt", "decimal(18, 2)", "", False)]
    )
    report = check_design(TIPS, [_driver(), RIDER, repeated])
    assert report.failed() == ["measures"]
    assert "once per tip" in report.result("measures").problems[0]
    # A type 1 driver loses the city at the time; an SCD type left out counts as type 1.
    by_id = _split_fact(
        columns=[
            C("driver_id", "int64", "", False),
            *_split_fact().columns[:1],
            *_split_fact().columns[2:],
        ],
        primary_key=["tip_id", "driver_id"],
        foreign_keys=[
            ForeignKey("driver_id", "dim_driver"),
            ForeignKey("rider_id", "dim_rider"),
        ],
    )
    for scd in (1, None):
        driver = dataclasses.replace(_driver(1), scd_type=scd)
        report = check_design(TIPS, [driver, RIDER, by_id])
        assert report.failed() == ["history"], report
        assert "type 1" in report.result("history").problems[0]
    # A foreign key to a table that exists nowhere is named.
    ghost = _split_fact(
        foreign_keys=[*_split_fact().foreign_keys, ForeignKey("rider_id", "dim_ghost")]
    )
    report = check_design(TIPS, [_driver(), RIDER, ghost], run=False)
    assert "dim_ghost" in " ".join(report.result("references").problems)


def test_point_in_time_reference_needs_a_time_on_the_row():
    fact = _split_fact(
        columns=[
            C("tip_id", "int64", "", False),
            C("driver_id", "int64", "", False),
            C("rider_id", "int64", "", False),
            C("tip_amt_alloc", "decimal(18, 2)", "", False),
        ],
        primary_key=["tip_id", "driver_id"],
        foreign_keys=[
            ForeignKey("driver_id", "dim_driver", point_in_time=True),
            ForeignKey("rider_id", "dim_rider"),
        ],
    )
    report = check_design(TIPS, [_driver(), RIDER, fact])
    assert "answers_on_data" in report.failed()
    assert "no date or timestamp" in " ".join(report.result("answers_on_data").problems)
    timed = add_columns(fact, C("tipped_at", "timestamp", "", False))
    assert check_design(TIPS, [_driver(), RIDER, timed]).passed


def test_tiny_instance_counts_fan_out_exactly():
    """Oracle: with 3 drivers of 2 versions each, a join on the business key doubles every row."""
    fact = _split_fact(
        columns=[
            C("tip_id", "int64", "", False),
            C("driver_id", "int64", "", False),
            C("rider_id", "int64", "", False),
            C("tipped_at", "timestamp", "", False),
            C("tip_amt_alloc", "decimal(18, 2)", "", False),
        ],
        primary_key=["tip_id", "driver_id"],
        foreign_keys=[
            ForeignKey("driver_id", "dim_driver"),
            ForeignKey("rider_id", "dim_rider"),
        ],
    )
    report = check_design(TIPS, [_driver(), RIDER, fact])
    problems = " ".join(report.result("answers_on_data").problems)
    assert "8 rows became 16" in problems


# --------------------------------------------------------------------------------------------
# The 06 notebooks hold the toolkit's drills and prompt verbatim
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", PRACTICES)
def test_notebook_holds_the_drills_and_the_prompt(practice):
    import json

    from datamodeling.interview import drill_cells
    from datamodeling.warehouse import project_root

    path = project_root() / "notebooks" / practice / "06_mock_interview.ipynb"
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells]
    mock = mock_interview(practice)
    assert f"## The prompt\n\n> {mock.prompt}" in sources
    for drill in mock.drills:
        challenge, answer = drill_cells(practice, drill)
        i = sources.index(challenge)
        # the reader's cell comes between the challenge and the hidden answer
        assert "Your answer" in sources[i + 1] and sources[i + 2] == answer
        assert ":class: dropdown" in answer
    # the model designs are inside the gated solution, and each is checked in a cell that runs
    start = next(
        i for i, s in enumerate(sources) if s.startswith("```{solution-start}")
    )
    end = next(i for i, s in enumerate(sources) if s.startswith("```{solution-end}"))
    checked = [i for i, s in enumerate(sources) if "assert report.passed" in s]
    assert len(checked) == len(mock.model_designs) and all(
        start < i < end for i in checked
    )


@pytest.mark.parametrize("practice", PRACTICES)
def test_table_source_round_trips_and_context_holds_every_reference(practice):
    from datamodeling.interview import context_tables, design_source, table_source

    mock = mock_interview(practice)
    namespace = {"Table": Table, "Column": Column, "ForeignKey": ForeignKey}
    for design in [*mock.model_designs.values(), mock.weak_design]:
        for t in design:
            assert eval(table_source(t), namespace) == t  # noqa: S307 (our own declarations)
        exec(
            design_source(design).removeprefix("```python\n").removesuffix("\n```"),
            namespace,
        )
        assert namespace["design"] == design
        shown = context_tables(mock.task, design)
        names = {t.name for t in shown}
        for t in design:
            for fk in t.foreign_keys:
                assert fk.table in names, (t.name, fk.table)
                target = next(x for x in shown if x.name == fk.table)
                assert set(fk.ref_cols) <= set(target.column_names)
