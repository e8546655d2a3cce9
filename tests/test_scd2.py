"""SCD2: the rebuild matches a plain-Python reference, the merge matches the rebuild, and the
as-of join never changes a fact's row count."""

from datetime import datetime, timedelta

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datamodeling import scd2

CON = ibis.duckdb.connect()
DAY0 = datetime(2024, 1, 1)
END = datetime(9999, 12, 31)


def run(expr) -> pd.DataFrame:
    return CON.execute(expr).sort_values(
        ["customer_id", "valid_from"], ignore_index=True
    )


def reference_scd2(records: list[dict]) -> pd.DataFrame:
    """The SCD2 rules written as a plain loop, independent of the Ibis implementation."""
    last_at_instant: dict = {}
    for r in sorted(
        records, key=lambda r: r["seq"]
    ):  # later arrivals overwrite earlier ones
        last_at_instant[(r["customer_id"], r["changed_at"])] = r
    rows = []
    by_key: dict = {}
    for (key, _at), r in sorted(last_at_instant.items()):
        by_key.setdefault(key, []).append(r)
    for key, events in by_key.items():
        state = None  # None: no version yet; else the open version's dict
        for e in events:
            if e["is_deleted"]:
                if state is None or state["is_deleted"]:
                    continue  # nothing open to delete
                new = {
                    **state,
                    "is_deleted": True,
                }  # the last attributes, flagged deleted
            else:
                new = {"customer_id": key, "city": e["city"], "is_deleted": False}
            if state is not None:
                if (state["city"], state["is_deleted"]) == (
                    new["city"],
                    new["is_deleted"],
                ):
                    continue  # unchanged: no new version
                state["valid_to"] = e["changed_at"]
                rows.append(state)
            state = {**new, "valid_from": e["changed_at"]}
        if state is not None:
            state["valid_to"] = END
            rows.append(state)
    columns = ["customer_id", "city", "valid_from", "valid_to", "is_deleted"]
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values(["customer_id", "valid_from"], ignore_index=True)


records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.integers(1, 3),
            "city": st.sampled_from(["Oslo", "Rome", "Lima", None]),
            "day": st.integers(0, 6),
            "is_deleted": st.booleans().map(lambda b: b and True),
        }
    ),
    min_size=1,
    max_size=14,
)


def with_arrival(raw: list[dict], arrival: list[int]) -> list[dict]:
    out = []
    for seq, i in enumerate(arrival):
        r = dict(raw[i])
        r["changed_at"] = DAY0 + timedelta(days=r.pop("day"))
        r["seq"] = seq
        out.append(r)
    return out


def frame(records: list[dict]):
    df = pd.DataFrame(
        records, columns=["customer_id", "city", "changed_at", "is_deleted", "seq"]
    )
    df["city"] = df["city"].astype("string")
    df["changed_at"] = df["changed_at"].astype("datetime64[us]")
    return ibis.memtable(df)


KW = dict(key="customer_id", attributes=["city"], order="seq", sk="customer_sk")


def same_cities(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = ["customer_id", "city", "valid_from", "valid_to", "is_deleted"]

    def rows(df):
        return [
            tuple(
                None if pd.isna(v) else pd.Timestamp(v) if k.startswith("valid") else v
                for k, v in zip(cols, r, strict=True)
            )
            for r in df[cols].itertuples(index=False)
        ]

    return rows(a) == rows(b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=records_strategy, data=st.data())
def test_rebuild_matches_plain_python_reference(raw, data):
    arrival = data.draw(st.permutations(range(len(raw))))
    records = with_arrival(raw, arrival)
    built = run(scd2.build_scd2(frame(records), **KW))
    expected = reference_scd2(records)
    assert same_cities(built, expected), (built, expected)
    assert (built.is_current == (built.valid_to == END)).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=records_strategy, data=st.data())
def test_incremental_merge_with_history_equals_rebuild_for_any_arrival_order(raw, data):
    """Late records (arrival order shuffled), deletions and same-day changes included."""
    arrival = data.draw(st.permutations(range(len(raw))))
    records = with_arrival(raw, arrival)
    cuts = sorted(
        data.draw(st.sets(st.integers(1, max(len(records) - 1, 1)), max_size=3))
    )
    batches = [
        records[a:b]
        for a, b in zip([0, *cuts], [*cuts, len(records)], strict=True)
        if records[a:b]
    ]

    dim = CON.execute(scd2.build_scd2(frame(batches[0]), **KW))
    seen = list(batches[0])
    for batch in batches[1:]:
        merged = scd2.merge_scd2(
            ibis.memtable(dim), frame(batch), history=frame(seen), **KW
        )
        dim = CON.execute(merged)
        seen += batch
    rebuilt = run(scd2.build_scd2(frame(records), **KW))
    incremental = dim.sort_values(["customer_id", "valid_from"], ignore_index=True)
    pd.testing.assert_frame_equal(incremental, rebuilt, check_dtype=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=records_strategy, data=st.data())
def test_incremental_merge_without_history_equals_rebuild_when_records_arrive_in_time_order(
    raw, data
):
    order = sorted(range(len(raw)), key=lambda i: raw[i]["day"])
    records = with_arrival(raw, order)
    cut_days = sorted(data.draw(st.sets(st.integers(1, 6), max_size=3)))
    batches, start = [], 0
    for day in [*cut_days, 99]:
        batch = [r for r in records if start <= (r["changed_at"] - DAY0).days < day]
        if batch:
            batches.append(batch)
        start = day
    dim = CON.execute(scd2.build_scd2(frame(batches[0]), **KW))
    for batch in batches[1:]:
        dim = CON.execute(scd2.merge_scd2(ibis.memtable(dim), frame(batch), **KW))
    rebuilt = run(scd2.build_scd2(frame(records), **KW))
    incremental = dim.sort_values(["customer_id", "valid_from"], ignore_index=True)
    pd.testing.assert_frame_equal(incremental, rebuilt, check_dtype=False)


def test_worked_example_unchanged_same_day_late_and_deleted():
    t = pd.Timestamp
    records = [
        dict(
            customer_id=1,
            city="Oslo",
            changed_at=t("2024-01-01"),
            is_deleted=False,
            seq=1,
        ),
        dict(
            customer_id=1,
            city="Oslo",
            changed_at=t("2024-01-02"),
            is_deleted=False,
            seq=2,
        ),
        dict(
            customer_id=1,
            city="Rome",
            changed_at=t("2024-01-05"),
            is_deleted=False,
            seq=3,
        ),
        dict(
            customer_id=1,
            city="Lima",
            changed_at=t("2024-01-05 12:00"),
            is_deleted=False,
            seq=4,
        ),
        dict(
            customer_id=1,
            city="Bern",
            changed_at=t("2024-01-03"),
            is_deleted=False,
            seq=5,
        ),
        dict(
            customer_id=2,
            city="Rome",
            changed_at=t("2024-01-01"),
            is_deleted=False,
            seq=6,
        ),
        dict(
            customer_id=2, city=None, changed_at=t("2024-01-04"), is_deleted=True, seq=7
        ),
    ]
    dim = run(scd2.build_scd2(frame(records), **KW))
    assert dim[
        ["customer_id", "city", "valid_from", "valid_to", "is_current"]
    ].values.tolist() == [
        [
            1,
            "Oslo",
            t("2024-01-01"),
            t("2024-01-03"),
            False,
        ],  # the unchanged 01-02 adds nothing
        [
            1,
            "Bern",
            t("2024-01-03"),
            t("2024-01-05"),
            False,
        ],  # a late record, placed by its time
        [
            1,
            "Rome",
            t("2024-01-05"),
            t("2024-01-05 12:00"),
            False,
        ],  # two changes on one day
        [1, "Lima", t("2024-01-05 12:00"), t(END), True],
        [2, "Rome", t("2024-01-01"), t("2024-01-04"), False],
        [2, "Rome", t("2024-01-04"), t(END), True],  # deleted: a final version, flagged
    ]
    assert dim.is_deleted.tolist() == [False] * 5 + [True]
    assert dim.customer_sk.is_unique


def test_changes_from_snapshots_detects_changes_and_deletions():
    snaps = pd.DataFrame(
        {
            "customer_id": [1, 2, 1, 1, 2],
            "city": ["Oslo", "Rome", "Oslo", "Lima", "Rome"],
            "snapshot_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"]
            ),
        }
    )
    changes = scd2.changes_from_snapshots(ibis.memtable(snaps), "customer_id", ["city"])
    dim = run(
        scd2.build_scd2(
            changes, key="customer_id", attributes=["city"], sk="customer_sk"
        )
    )
    got = dim[["customer_id", "city", "valid_from", "valid_to"]].values.tolist()
    assert [[k, c, str(f.date()), str(t.date())] for k, c, f, t in got] == [
        [1, "Oslo", "2024-01-01", "2024-01-03"],
        [1, "Lima", "2024-01-03", "9999-12-31"],
        [2, "Rome", "2024-01-01", "2024-01-02"],
        [
            2,
            "Rome",
            "2024-01-02",
            "2024-01-03",
        ],  # missing from the 01-02 snapshot: deleted
        [2, "Rome", "2024-01-03", "9999-12-31"],  # back on 01-03: a new version, no gap
    ]
    assert dim.is_deleted.tolist() == [False, False, False, True, False]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=records_strategy,
    fact_days=st.lists(st.integers(-1, 8), min_size=1, max_size=20),
)
def test_as_of_join_keeps_every_fact_row_and_picks_the_valid_version(raw, fact_days):
    records = with_arrival(raw, list(range(len(raw))))
    dim = scd2.build_scd2(frame(records), **KW)
    facts = pd.DataFrame(
        {
            "order_id": range(len(fact_days)),
            "customer_id": [1 + i % 3 for i in range(len(fact_days))],
            "ordered_at": [DAY0 + timedelta(days=d, hours=6) for d in fact_days],
        }
    ).astype({"ordered_at": "datetime64[us]"})
    joined = CON.execute(
        scd2.as_of_join(
            ibis.memtable(facts),
            dim,
            "customer_id",
            "ordered_at",
            ["city", "customer_sk"],
        )
    )
    assert len(joined) == len(facts)
    assert sorted(joined.order_id) == list(facts.order_id)
    versions = CON.execute(dim)
    for row in joined.itertuples():
        valid = versions[
            (versions.customer_id == row.customer_id)
            & (versions.valid_from <= row.ordered_at)
            & (versions.valid_to > row.ordered_at)
        ]
        assert len(valid) <= 1
        if len(valid):
            assert valid.customer_sk.iloc[0] == row.customer_sk
        else:
            assert pd.isna(row.customer_sk)


def test_as_of_join_refuses_ambiguous_columns():
    dim = scd2.build_scd2(
        frame(
            with_arrival(
                [dict(customer_id=1, city="Oslo", day=0, is_deleted=False)], [0]
            )
        ),
        **KW,
    )
    fact = ibis.memtable(
        pd.DataFrame({"customer_id": [1], "city": ["x"], "at": [DAY0]})
    )
    with pytest.raises(ValueError, match="city"):
        scd2.as_of_join(fact, dim, "customer_id", "at", ["city"])


def test_merge_into_a_dimension_read_back_from_the_database():
    """Stored ranges come back as TIMESTAMP(6); the merge must still type-check."""
    con = ibis.duckdb.connect()
    first = [dict(customer_id=1, city="Oslo", day=0, is_deleted=False)]
    stored = con.create_table(
        "customer", scd2.build_scd2(frame(with_arrival(first, [0])), **KW)
    )
    later = with_arrival(
        [dict(customer_id=1, city="Rome", day=3, is_deleted=False)], [0]
    )
    merged = con.execute(scd2.merge_scd2(stored, frame(later), **KW))
    assert merged.sort_values("valid_from").city.tolist() == ["Oslo", "Rome"]


def test_resolve_key_never_null_and_inferred_members_keep_unknown_keys():
    """Not applicable for a NULL key, Unknown for an unresolvable one, inferred members first."""
    t = pd.Timestamp
    records = [
        dict(
            customer_id=1,
            city="Oslo",
            changed_at=t("2024-01-02"),
            is_deleted=False,
            seq=1,
        )
    ]
    dim = scd2.build_scd2(frame(records), **KW)
    facts = ibis.memtable(
        pd.DataFrame(
            {
                "order_id": [1, 2, 3, 4],
                "customer_id": [
                    1,
                    1,
                    None,
                    7,
                ],  # in range, before the first version, none, new
                "at": pd.to_datetime(
                    ["2024-01-03", "2024-01-01", "2024-01-03", "2024-01-03"]
                ),
            }
        ).astype({"customer_id": "Int64"})
    )
    got = CON.execute(scd2.resolve_key(facts, dim, "customer_id", "at", "customer_sk"))
    by_order = got.set_index("order_id").customer_sk.to_dict()
    version = CON.execute(dim).customer_sk.iloc[0]
    assert by_order == {1: version, 2: -1, 3: -2, 4: -1}

    seen = facts.filter(facts.customer_id.notnull())
    with_inferred = scd2.add_inferred_members(dim, seen, "customer_id", "customer_sk")
    rows = CON.execute(with_inferred).set_index("customer_id")
    assert rows.loc[7, "city"] == "Unknown" and rows.loc[7, "is_inferred"]
    assert not rows.loc[1, "is_inferred"] and len(rows) == 2
    assert rows.loc[7, "valid_from"] == scd2.BEGINNING_OF_TIME
    got = CON.execute(
        scd2.resolve_key(facts, with_inferred, "customer_id", "at", "customer_sk")
    )
    assert got.set_index("order_id").customer_sk[4] == rows.loc[7, "customer_sk"]


def test_a_fact_after_a_deletion_still_joins_the_deleted_version():
    t = pd.Timestamp
    records = [
        dict(
            customer_id=1,
            city="Oslo",
            changed_at=t("2024-01-01"),
            is_deleted=False,
            seq=1,
        ),
        dict(
            customer_id=1, city=None, changed_at=t("2024-02-01"), is_deleted=True, seq=2
        ),
    ]
    dim = scd2.build_scd2(frame(records), **KW)
    refund = ibis.memtable(pd.DataFrame({"customer_id": [1], "at": [t("2024-03-01")]}))
    got = CON.execute(
        scd2.as_of_join(refund, dim, "customer_id", "at", ["city", "is_deleted"])
    )
    assert got[["city", "is_deleted"]].values.tolist() == [["Oslo", True]]


def test_inferred_members_of_a_type_1_dimension_keep_the_business_key_as_key():
    dim = ibis.memtable(pd.DataFrame({"store_id": [1, 2], "city": ["Oslo", "Rome"]}))
    seen = ibis.memtable(pd.DataFrame({"store_id": [2, 7]}))
    rows = CON.execute(scd2.add_inferred_members(dim, seen, "store_id", "store_id"))
    rows = rows.set_index("store_id").sort_index()
    assert rows.city.tolist() == ["Oslo", "Rome", "Unknown"]
    assert rows.is_inferred.tolist() == [False, False, True]
