"""The foundations chapter's fixtures, and the numbers its notebooks teach, against plain Python.

The notebooks assert these too; the tests keep the fixtures honest when someone edits a CSV:
every oracle here reads the CSV files with the ``csv`` module, independently of Ibis and DuckDB.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from datetime import datetime

import ibis
import pandas as pd
import pytest

from datamodeling import quality, scd2
from datamodeling.warehouse import fixture

ATTRIBUTES = ["name", "city", "segment"]


def read(name: str) -> list[dict[str, str]]:
    with open(fixture(name), newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def con():
    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


@pytest.fixture(scope="module")
def customer_dim(con):
    snapshots = con.read_csv(fixture("customer_snapshots.csv"))
    new_day = con.read_csv(fixture("customer_changes_2024-01-06.csv"))
    changes = scd2.changes_from_snapshots(snapshots, "customer_id", ATTRIBUTES).union(
        new_day.select(
            "customer_id",
            *ATTRIBUTES,
            changed_at=new_day.changed_at.cast("timestamp"),
            is_deleted=new_day.is_deleted,
        )
    )
    return con.create_table(
        "customer_dim",
        scd2.build_scd2(changes, "customer_id", ATTRIBUTES, sk="customer_sk"),
    )


@pytest.mark.parametrize(
    ("name", "grain"),
    [
        ("order_lines.csv", ["order_id", "line_number"]),
        ("order_milestones.csv", ["order_id", "milestone"]),
        ("inventory_movements.csv", ["movement_id"]),
        ("promotion_coverage.csv", ["promotion_date", "product_id"]),
        ("products.csv", ["product_id"]),
        ("customer_snapshots.csv", ["snapshot_date", "customer_id"]),
        ("users.csv", ["user_id"]),
    ],
)
def test_fixture_grain_is_unique(name, grain):
    rows = read(name)
    keys = Counter(tuple(r[c] for c in grain) for r in rows)
    assert rows and max(keys.values()) == 1, keys.most_common(2)


def test_page_events_hold_exactly_the_planted_dirt(con):
    rows = read("page_events.csv")
    ids = Counter(r["event_id"] for r in rows)
    duplicates = sum(n - 1 for n in ids.values())
    anonymous = sum(1 for r in rows if r["user_id"] == "")
    assert (duplicates, anonymous) == (1, 1)

    raw = con.read_csv(fixture("page_events.csv"))
    first = ibis.window(group_by="event_id", order_by="event_time")
    valid, rejected = quality.split_valid(
        raw,
        {
            "missing user_id": lambda t: t.user_id.isnull(),
            "duplicate event_id": lambda t: ibis.row_number().over(first) > 0,
        },
    )
    loaded, quarantined = valid.count().execute(), rejected.count().execute()
    assert quality.reconcile("page_events", len(rows), loaded, quarantined).passed
    assert quarantined == duplicates + anonymous
    assert sorted(rejected.reason.execute()) == [
        "duplicate event_id",
        "missing user_id",
    ]


def test_inventory_sales_match_the_order_lines_of_stocked_products():
    stocked = {r["product_id"] for r in read("inventory_movements.csv")}
    sales = sorted(
        (r["movement_time"], r["product_id"], -int(r["quantity_change"]))
        for r in read("inventory_movements.csv")
        if r["movement_type"] == "sale"
    )
    lines = sorted(
        (r["order_time"], r["product_id"], int(r["quantity"]))
        for r in read("order_lines.csv")
        if r["product_id"] in stocked
    )
    assert sales == lines


def test_merge_of_the_new_day_equals_the_rebuild(con, customer_dim):
    snapshots = con.read_csv(fixture("customer_snapshots.csv"))
    new_day = con.read_csv(fixture("customer_changes_2024-01-06.csv"))
    new_day = new_day.mutate(changed_at=new_day.changed_at.cast("timestamp"))
    before = scd2.build_scd2(
        scd2.changes_from_snapshots(snapshots, "customer_id", ATTRIBUTES),
        "customer_id",
        ATTRIBUTES,
        sk="customer_sk",
    )
    merged = scd2.merge_scd2(
        before, new_day, "customer_id", ATTRIBUTES, sk="customer_sk"
    )
    order = ["customer_id", "valid_from"]
    pd.testing.assert_frame_equal(
        merged.order_by(order).to_pandas(), customer_dim.order_by(order).to_pandas()
    )
    assert quality.scd2_ranges(customer_dim, "customer_id").passed


def test_a_late_change_lands_where_it_took_effect(con, customer_dim):
    late = con.read_csv(fixture("customer_changes_late.csv"))
    late = late.mutate(changed_at=late.changed_at.cast("timestamp"))
    # A dimension read back from DuckDB has timestamp(6) validity columns, which merge_scd2 cannot
    # union with its timestamp events (reported to the toolkit's owner): cast them first.
    dim = customer_dim.mutate(
        valid_from=customer_dim.valid_from.cast("timestamp"),
        valid_to=customer_dim.valid_to.cast("timestamp"),
    )
    corrected = scd2.merge_scd2(dim, late, "customer_id", ATTRIBUTES, sk="customer_sk")
    (row,) = read("customer_changes_late.csv")
    took_effect = datetime.fromisoformat(row["changed_at"])
    versions = corrected.filter(
        corrected.customer_id == int(row["customer_id"])
    ).to_pandas()
    starting = versions[versions.valid_from == took_effect]
    assert list(starting.city) == [row["city"]]
    assert (
        versions.valid_to == took_effect
    ).sum() == 1  # the version before it was closed
    assert quality.scd2_ranges(corrected, "customer_id").passed


def _city_at_order_time() -> list[tuple[dict[str, str], str]]:
    """Each order line with its customer's city at order time, from the CSVs alone."""
    seen = [
        (datetime.fromisoformat(r["snapshot_date"]), r["customer_id"], r["city"])
        for r in read("customer_snapshots.csv")
    ] + [
        (datetime.fromisoformat(r["changed_at"]), r["customer_id"], r["city"])
        for r in read("customer_changes_2024-01-06.csv")
        if r["is_deleted"] == "false"
    ]
    out = []
    for line in read("order_lines.csv"):
        at = datetime.fromisoformat(line["order_time"])
        known = [s for s in seen if s[1] == line["customer_id"] and s[0] <= at]
        out.append((line, max(known)[2]))
    return out


def _states(customer_id: str) -> int:
    """Number of type 2 versions of a customer: changes of state in time order, from the CSVs.

    A customer missing from a later snapshot was deleted: that is a state of its own (the final
    version, flagged deleted), and so is coming back.
    """
    snapshots = read("customer_snapshots.csv")
    seen = [
        (r["snapshot_date"], r["name"], r["city"], r["segment"], False)
        for r in snapshots
        if r["customer_id"] == customer_id
    ]
    first = min(s[0] for s in seen) if seen else None
    present = {s[0] for s in seen}
    for day in sorted({r["snapshot_date"] for r in snapshots}):
        if first is not None and day > first and day not in present:
            seen.append((day, None, None, None, True))
    seen += [
        (r["changed_at"], r["name"], r["city"], r["segment"], r["is_deleted"] == "true")
        for r in read("customer_changes_2024-01-06.csv")
        if r["customer_id"] == customer_id
    ]
    states, last_live = [], None
    for _, *attrs, deleted in sorted(seen, key=lambda s: s[0]):
        if deleted and (not states or states[-1][-1]):
            continue  # nothing open to delete
        state = (*last_live, True) if deleted else (*attrs, False)
        if not deleted:
            last_live = tuple(attrs)
        if not states or state != states[-1]:
            states.append(state)
    return len(states)


def test_business_key_join_fans_out_by_the_number_of_versions(customer_dim, con):
    lines = read("order_lines.csv")
    expected_rows = sum(_states(r["customer_id"]) for r in lines)
    expected_revenue = sum(
        float(r["amount"]) * _states(r["customer_id"]) for r in lines
    )
    true_revenue = sum(float(r["amount"]) for r in lines)

    orders = con.read_csv(fixture("order_lines.csv"))
    naive = orders.join(customer_dim, "customer_id")
    assert naive.count().execute() == expected_rows > len(lines)
    assert math.isclose(naive.amount.sum().execute(), expected_revenue)
    assert expected_revenue > true_revenue


def test_as_of_join_gives_revenue_by_city_at_order_time(customer_dim, con):
    by_hand: dict[str, float] = {}
    for line, city in _city_at_order_time():
        by_hand[city] = by_hand.get(city, 0.0) + float(line["amount"])

    orders = con.read_csv(fixture("order_lines.csv"))
    as_of = scd2.as_of_join(orders, customer_dim, "customer_id", "order_time", ["city"])
    assert as_of.count().execute() == orders.count().execute()
    got = as_of.group_by("city").agg(revenue=as_of.amount.sum()).to_pandas()
    assert set(got.city) == set(by_hand)
    for row in got.itertuples():
        assert math.isclose(row.revenue, by_hand[row.city]), row

    sql = con.sql(
        """
        SELECT c.city, SUM(o.amount) AS revenue
        FROM order_lines_sql AS o
        LEFT JOIN customer_dim AS c
          ON c.customer_id = o.customer_id
         AND c.valid_from <= o.order_time AND o.order_time < c.valid_to
        GROUP BY c.city
        """.replace("order_lines_sql", orders.get_name())
    ).to_pandas()
    assert dict(zip(sql.city, sql.revenue, strict=True)) == pytest.approx(by_hand)


# The exercises of the foundations notebooks compare answers with hand-written CSVs in
# data/fixtures/answers/. Each CSV is checked here against plain Python over the fixtures.


def _answer(name: str, **options) -> pd.DataFrame:
    return pd.read_csv(fixture(f"answers/{name}"), **options)


def test_answer_daily_aov():
    revenue: dict[str, float] = {}
    day_of: dict[str, str] = {}
    for r in read("order_lines.csv"):
        revenue[r["order_id"]] = revenue.get(r["order_id"], 0.0) + float(r["amount"])
        day_of[r["order_id"]] = r["order_time"][:10]
    days = sorted(set(day_of.values()))
    expected = {
        d: sum(v for o, v in revenue.items() if day_of[o] == d)
        / sum(1 for o in revenue if day_of[o] == d)
        for d in days
    }
    got = _answer("daily_aov.csv")
    assert dict(zip(got.order_date, got.aov, strict=True)) == pytest.approx(expected)


def test_answer_city_at_noon():
    at = "2024-01-03 12:00:00"
    snapshots = read("customer_snapshots.csv")
    latest = max(r["snapshot_date"] for r in snapshots if r["snapshot_date"] <= at)
    expected = {
        int(r["customer_id"]): r["city"]
        for r in snapshots
        if r["snapshot_date"] == latest
    }
    got = _answer("city_at_2024-01-03_noon.csv")
    assert dict(zip(got.customer_id, got.city, strict=True)) == expected


def test_answer_revenue_by_segment():
    seen = [
        (r["snapshot_date"], r["customer_id"], r["segment"])
        for r in read("customer_snapshots.csv")
    ] + [
        (r["changed_at"], r["customer_id"], r["segment"])
        for r in read("customer_changes_2024-01-06.csv")
    ]
    expected: dict[str, float] = {}
    for line in read("order_lines.csv"):
        known = [
            s
            for s in seen
            if s[1] == line["customer_id"] and s[0] <= line["order_time"]
        ]
        segment = max(known)[2]
        expected[segment] = expected.get(segment, 0.0) + float(line["amount"])
    got = _answer("revenue_by_segment_at_order_time.csv")
    assert dict(zip(got.segment, got.revenue, strict=True)) == pytest.approx(expected)


def test_answer_weekly_users_by_device():
    pairs = {
        (r["device"], r["user_id"]) for r in read("page_events.csv") if r["user_id"]
    }
    expected = Counter(device for device, _ in pairs)
    got = _answer("weekly_active_users_by_device.csv")
    assert dict(zip(got.device, got.active_users, strict=True)) == dict(expected)


def test_the_checker_rejects_the_classic_wrong_answers(con, monkeypatch):
    from datamodeling.exercises import Exercise, check

    monkeypatch.delenv("DATAMODELING_STRICT", raising=False)
    orders = con.read_csv(fixture("order_lines.csv"))
    aov = Exercise(
        "foundations.daily_aov",
        "Average order value per day.",
        answer=lambda con: _answer("daily_aov.csv", parse_dates=["order_date"]),
    )
    per_line = orders.group_by(order_date=orders.order_time.date()).agg(
        aov=orders.amount.mean()
    )
    verdict = check(aov, per_line, con)
    assert verdict.correct is False and "rows differ" in verdict.message

    per_order = orders.group_by("order_id").agg(
        order_date=orders.order_time.min().date(), revenue=orders.amount.sum()
    )
    right = per_order.group_by("order_date").agg(aov=per_order.revenue.mean())
    assert check(aov, right, con).correct is True
