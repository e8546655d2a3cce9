from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

from datamodeling import synth
from datamodeling.calendar import DATE_TABLE, TIME_TABLE, date_dimension, time_dimension
from datamodeling.schema import (
    Column,
    ForeignKey,
    Table,
    data_dictionary,
    er_diagram,
    summary,
)

CUSTOMER = Table(
    "customer",
    "dimension",
    "One row per customer version.",
    [
        Column("customer_sk", "int64", "Surrogate key.", nullable=False),
        Column("customer_id", "int64", "Business key.", nullable=False),
        Column("city", "string", "City."),
        Column("valid_from", "timestamp", "Start."),
        Column("valid_to", "timestamp", "End."),
        Column("is_current", "boolean", "Current?"),
    ],
    primary_key=["customer_sk"],
    business_key=["customer_id"],
    scd_type=2,
)
ORDERS = Table(
    "order_line",
    "fact",
    "One row per order line.",
    [
        Column("line_item_id", "int64", "Key.", nullable=False),
        Column("customer_id", "int64", "Who."),
        Column("customer_sk", "int64", "Version."),
        Column("amt", "decimal(12, 2)", "Amount."),
    ],
    primary_key=["line_item_id"],
    foreign_keys=[
        ForeignKey("customer_sk", "customer"),
        ForeignKey("customer_id", "customer", point_in_time=True),
    ],
)


def test_ddl_creates_the_declared_table_in_duckdb():
    con = ibis.duckdb.connect()
    for table in (CUSTOMER, ORDERS):
        con.raw_sql(table.ddl())
        created = con.table(table.name).schema()
        declared = table.ibis_schema()
        assert list(created) == list(declared)
        for name in declared:  # DuckDB reports TIMESTAMP with its microsecond scale
            assert type(created[name]) is type(declared[name]), name
            assert created[name].nullable == declared[name].nullable, name
    with pytest.raises(Exception, match="(?i)constraint|primary|duplicate"):
        con.raw_sql("INSERT INTO order_line VALUES (1, 1, 1, 1.0), (1, 2, 2, 2.0)")


def test_declaration_errors_are_caught():
    with pytest.raises(ValueError, match="unknown columns"):
        Table("x", "fact", "g", [Column("a", "int64", "")], primary_key=["b"])
    with pytest.raises(ValueError, match="role"):
        Table("x", "cube", "g", [Column("a", "int64", "")])


def test_er_diagram_svg_has_tables_keys_and_edges():
    svg = er_diagram([CUSTOMER, ORDERS], "test").pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("customer", "order_line", "customer_sk", "PK", "FK", "SCD2"):
        assert text in svg
    assert svg.count('class="edge"') == 2
    assert "stroke-dasharray" in svg  # the point-in-time reference is dashed


def test_dictionary_and_summary():
    d = data_dictionary([CUSTOMER, ORDERS])
    assert len(d) == len(CUSTOMER.columns) + len(ORDERS.columns)
    row = d[(d.table == "order_line") & (d.column == "customer_sk")].iloc[0]
    assert row["keys"] == "FK → customer"
    s = summary([CUSTOMER, ORDERS]).set_index("table")
    assert (
        s.loc["customer", "scd"] == "type 2"
        and s.loc["order_line", "primary key"] == "line_item_id"
    )


def test_date_dimension_agrees_with_python_datetime():
    dim = date_dimension("2023-12-30", "2024-03-01")
    assert len(dim) == (date(2024, 3, 1) - date(2023, 12, 30)).days + 1
    for row in dim.sample(20, random_state=1).itertuples():
        d = row.calendar_date
        assert row.date_key == int(d.strftime("%Y%m%d"))
        assert row.day_of_week == d.isoweekday() and row.is_weekend == (
            d.isoweekday() >= 6
        )
        assert row.iso_week == d.isocalendar()[1]
        assert row.week_start == d - timedelta(days=d.weekday())
        assert (
            row.month_start == d.replace(day=1)
            and row.quarter == (d.month - 1) // 3 + 1
        )
    assert set(dim.columns) == set(DATE_TABLE.column_names)


def test_time_dimension():
    minutes = time_dimension()
    assert len(minutes) == 1440 and minutes.time_key.is_unique
    assert minutes.set_index("time_key").loc[134500, "day_part"] == "afternoon"
    assert len(time_dimension("second")) == 86_400
    assert set(minutes.columns) == set(TIME_TABLE.column_names)
    with pytest.raises(ValueError, match="resolution"):
        time_dimension("hour")


@pytest.mark.parametrize(
    "scale, rows", [("tiny", 2_000), ("medium", 1_000_000), (1234, 1234), ("500", 500)]
)
def test_resolve_scale(scale, rows):
    assert synth.resolve_scale(scale) == rows


@pytest.mark.parametrize("scale", ["huge", 0, -5, "1e3", 2.5])
def test_resolve_scale_rejects(scale):
    with pytest.raises(synth.ScaleError, match="scale"):
        synth.resolve_scale(scale)


def test_rng_streams_are_reproducible_and_independent():
    a = synth.rng(7, "orders").integers(0, 1_000_000, 100)
    assert np.array_equal(a, synth.rng(7, "orders").integers(0, 1_000_000, 100))
    assert not np.array_equal(a, synth.rng(7, "returns").integers(0, 1_000_000, 100))
    assert not np.array_equal(a, synth.rng(8, "orders").integers(0, 1_000_000, 100))


def test_bursty_sessions_start_at_session_start_and_move_forward():
    gen = synth.rng(1, "s")
    starts = synth.uniform_times(
        gen, np.datetime64("2024-01-01"), np.datetime64("2024-02-01"), 500
    )
    session, times = synth.bursty_sessions(gen, starts, mean_events=6)
    assert len(session) == len(times) >= 500
    assert np.all(np.diff(session) >= 0)
    first = np.r_[True, session[1:] != session[:-1]]
    assert np.array_equal(times[first], starts.astype("datetime64[us]"))
    same = ~first
    assert np.all(times[1:][same[1:]] >= times[:-1][same[1:]])
    assert abs(len(times) / 500 - 6) < 0.6  # mean events per session


def test_weighted_choice_follows_weights():
    draws = synth.weighted_choice(synth.rng(3, "w"), ["a", "b"], [3, 1], 40_000)
    assert abs((draws == "a").mean() - 0.75) < 0.01


def test_utc_offsets_and_local_time_follow_daylight_saving():
    from datamodeling import calendar

    offsets = calendar.utc_offsets(
        ["America/Los_Angeles", "UTC"], "2024-01-01", "2025-01-01"
    )
    la = offsets[offsets.time_zone == "America/Los_Angeles"]
    # 2024: PST until 10 March 10:00 UTC, PDT until 3 November 09:00 UTC, then PST again
    assert la.utc_offset_seconds.tolist() == [-8 * 3600, -7 * 3600, -8 * 3600]
    assert [str(x) for x in la.utc_to.iloc[:2]] == [
        "2024-03-10 10:00:00",
        "2024-11-03 09:00:00",
    ]
    events = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "at": pd.to_datetime(
                [
                    "2024-03-10 09:59:59",
                    "2024-03-10 10:00:00",
                    "2024-07-01 03:00:00",
                    "2024-07-01 00:00:00",
                ]
            ),
            "tz": [
                "America/Los_Angeles",
                "America/Los_Angeles",
                "America/Los_Angeles",
                None,
            ],
        }
    )
    local = calendar.with_local_time(
        ibis.memtable(events), "at", "tz", ibis.memtable(offsets)
    )
    got = (
        local.mutate(key=calendar.date_key(local.at_local))
        .execute()
        .set_index("id")
        .sort_index()
    )
    assert (
        [str(x) for x in got.at_local]
        == [
            "2024-03-10 01:59:59",  # PST, the last second before the clocks jump
            "2024-03-10 03:00:00",  # PDT: 02:00-03:00 local does not exist that night
            "2024-06-30 20:00:00",  # a UTC early morning is the previous evening in Los Angeles
            "2024-07-01 00:00:00",  # an unknown zone keeps UTC
        ]
    )
    assert got.key.tolist() == [20240310, 20240310, 20240630, 20240701]


def test_special_members_need_nullable_attributes():
    decl = Table(
        "thing",
        "dimension",
        "One row per thing.",
        [
            Column("thing_id", "int64", "", nullable=False),
            Column("size", "int64", "", False),
        ],
        primary_key=["thing_id"],
    )
    with pytest.raises(ValueError, match="thing.size is NOT NULL"):
        decl.special_members()
