"""E-commerce boundary fixtures: hand-made rows at the edges of the rules, with the expected
results worked out by hand (issue 10).

Each fixture is a small CSV in ``data/fixtures/ecommerce/``; the expected numbers below are
computed by hand in the comments, never by the code under test. Each metric runs both ways, its
Ibis function and its hand-written SQL, on the same fixture tables.
"""

from __future__ import annotations

import importlib
import math
from decimal import Decimal

import ibis
import pandas as pd
import pytest

from datamodeling.calendar import date_dimension, utc_offsets
from datamodeling.ecommerce import generate as gen
from datamodeling.ecommerce import metrics as m
from datamodeling.warehouse import connect, fixture

build = importlib.import_module("datamodeling.ecommerce.build")


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(fixture(f"ecommerce/{name}"))


def both(con, name: str) -> list[pd.DataFrame]:
    """The metric's Ibis result and its SQL result, each sorted by the metric's key."""
    metric = m.METRICS[name]
    return [metric.to_pandas(con), metric.sql_to_pandas(con)]


# ---------------------------------------------------------------------------------------------
# point 1: the store's own day
# ---------------------------------------------------------------------------------------------
def test_local_date_keys_follow_the_store_clock_through_dst():
    """Every row of local_days.csv gets the local date worked out by hand: DST switches, the
    minute before and after local midnight, the web shop on Eastern time, an unlisted store
    (zone unknown) on UTC."""
    cases = read("local_days.csv")
    con = connect()
    stores = pd.DataFrame(
        {
            "store_id": [s[0] for s in gen.STORES] + [gen.UNLISTED_STORE],
            "time_zone": [s[6] for s in gen.STORES] + ["Unknown"],
        }
    )
    offsets = utc_offsets(gen.ZONES, "2023-12-29", "2026-01-03")
    facts = cases.assign(order_time=pd.to_datetime(cases.order_time_utc)).drop(
        columns="order_time_utc"
    )
    out = build.with_local_date_key(
        ibis.memtable(facts),
        "order_time",
        ibis.memtable(stores),
        ibis.memtable(offsets),
    ).to_pandas()
    expected = pd.to_datetime(out.expected_local_date).dt.strftime("%Y%m%d").astype(int)
    wrong = out[out.local_date_key != expected]
    assert wrong.empty, wrong[["case", "local_date_key", "expected_local_date"]]
    con.disconnect()


def test_complete_local_days_are_exactly_the_metric_bounds():
    """FIRST_LOCAL_DAY..LAST_LOCAL_DAY are the local days that lie wholly inside the data window
    in every store's zone: checked with zoneinfo, day by day at both ends."""
    from zoneinfo import ZoneInfo

    start = pd.Timestamp(gen.START.item(), tz="UTC")
    end = pd.Timestamp(gen.END.item(), tz="UTC")
    for zone in gen.ZONES:

        def complete(day, zone=zone):
            lo = pd.Timestamp(day, tz=ZoneInfo(zone))
            return lo >= start and lo + pd.Timedelta(days=1) <= end

        first, last = pd.Timestamp(m.FIRST_LOCAL_DAY), pd.Timestamp(m.LAST_LOCAL_DAY)
        assert complete(first) and complete(last), zone
        assert not complete(first - pd.Timedelta(days=1)), zone
        assert not complete(last + pd.Timedelta(days=1)), zone


# ---------------------------------------------------------------------------------------------
# points 7 and 9: cohorts from the sign-up date, returns by return date and by order date
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cohort_con():
    """dim_customer, fact_order, fact_order_return, dim_order_flags, dim_date from the CSVs."""
    con = connect()
    customers = read("customers.csv").drop(columns="note")
    customers["created_at"] = pd.to_datetime(customers.created_at)
    con.create_table("dim_customer", customers)
    orders = read("orders.csv")
    orders["order_time"] = pd.to_datetime(orders.order_time)
    # the junk dimension's key: 1 + 4 x first (no discount, no shipping charge here)
    orders["order_flags_key"] = 1 + 4 * orders.pop("is_first_order").astype(int)
    orders["date_key"] = orders.order_time.dt.strftime("%Y%m%d").astype(int)
    con.create_table("_orders", orders)
    con.raw_sql(
        "CREATE TABLE fact_order AS SELECT * REPLACE (CAST(net_amt AS DECIMAL(18, 2)) AS net_amt)"
        " FROM _orders"
    )
    returns = read("returns.csv")
    returns["return_time"] = pd.to_datetime(returns.return_time)
    con.create_table("_returns", returns)
    con.raw_sql(
        "CREATE TABLE fact_order_return AS SELECT * REPLACE "
        "(CAST(return_net_amt AS DECIMAL(18, 2)) AS return_net_amt) FROM _returns"
    )
    con.create_table("dim_order_flags", build.order_flags_dimension())
    con.create_table("dim_date", date_dimension("2023-12-31", "2025-12-31"))
    yield con
    con.disconnect()


def test_order_flags_first_order_uses_the_sign_up_date():
    """The build's first-order rule on orders.csv gives its hand-written is_first_order column:
    a customer created one second before the data has no first order in it; one created at the
    data's first instant has; an inferred customer's earliest order is its first."""
    orders = read("orders.csv")
    customers = read("customers.csv")
    lines = orders.assign(
        order_time=pd.to_datetime(orders.order_time),
        date_key=1,
        local_date_key=1,
        customer_sk=orders.customer_id,
        customer_profile_key=-1,
        store_id=1,
        campaign_id=-2,
        count=1,
        amt=orders.net_amt,
        discount=0.0,
        tax_amt=0.0,
        shipping_amt=0.0,
    ).drop(columns="is_first_order")
    dim = customers.assign(created_at=pd.to_datetime(customers.created_at))
    result = build.order_fact(ibis.memtable(lines), ibis.memtable(dim)).to_pandas()
    first = result.set_index("order_id").order_flags_key >= 5
    expected = orders.set_index("order_id").is_first_order
    pd.testing.assert_series_equal(
        first.sort_index(), expected.sort_index(), check_names=False
    )


def test_clv_cohorts_come_from_the_sign_up_date(cohort_con):
    """Hand-computed per cohort (see customers.csv, orders.csv, returns.csv):

    * 2023-06, censored: customer 5, no order: 1 customer, revenue 0.
    * 2023-12, censored: customer 1, order 1 (100.00, returned 20.00): months observed 24
      (January 2024 to December 2025), r = 1 / 24, predicted = 80 x (0 + 36 / 24) = 120.
    * 2024-01: customers 2 (signed up at 2024-01-01 00:00:00) and 3: orders 2, 3, 4, two of them
      first orders; revenue 160.00, returned 80.00 (order 4), after returns 80.00; historical
      CLV 80 (40 after returns); r = 1 / 48; predicted = 80 / 3 x (1 + 36 / 48) = 46.667.
    * 2024-02: customer 4, inferred (no created_at): cohort from its first order; 23 months.
    """
    for result in both(cohort_con, "customer_lifetime_value"):
        r = result.set_index(result.cohort_month.astype(str))
        assert list(r.index) == ["2023-06-01", "2023-12-01", "2024-01-01", "2024-02-01"]
        assert list(r.is_left_censored) == [True, True, False, False]
        assert list(r.customers) == [1, 1, 2, 1]
        assert list(r.months_observed) == [24, 24, 24, 23]
        assert list(r.orders) == [0, 1, 3, 1]
        assert [Decimal(str(x)) for x in r.revenue_after_returns] == [
            Decimal("0"),
            Decimal("80.00"),
            Decimal("80.00"),
            Decimal("40.00"),
        ]
        assert r.loc["2024-01-01", "historical_clv"] == pytest.approx(80.0)
        assert r.loc["2024-01-01", "historical_clv_after_returns"] == pytest.approx(
            40.0
        )
        assert r.loc["2023-12-01", "predicted_clv_36m"] == pytest.approx(120.0)
        assert r.loc["2024-01-01", "predicted_clv_36m"] == pytest.approx(80 / 3 * 1.75)
        assert r.loc["2024-02-01", "predicted_clv_36m"] == pytest.approx(40.0)


def test_clv_curves_attribute_returns_to_the_order_month(cohort_con):
    """Cohort 2024-01: month 0 revenue 130 (orders 2 and 4), returned 80 (order 4, returned in
    February but booked to its order's month); month 2: revenue 30. Cumulative per customer
    (2 customers): 65 then 80; after returns 25 then 40. The censored 2023-12 cohort's curve
    starts at month 1 (January 2024)."""
    for result in both(cohort_con, "clv_cohort_curves"):
        jan = result[result.cohort_month.astype(str) == "2024-01-01"].set_index(
            "months_since"
        )
        assert (
            float(jan.loc[0, "revenue"]) == 130.0
            and float(jan.loc[0, "returned"]) == 80.0
        )
        assert jan.loc[0, "cumulative_clv"] == pytest.approx(65.0)
        assert jan.loc[0, "cumulative_clv_after_returns"] == pytest.approx(25.0)
        assert jan.loc[2, "cumulative_clv"] == pytest.approx(80.0)
        assert jan.loc[2, "cumulative_clv_after_returns"] == pytest.approx(40.0)
        dec = result[result.cohort_month.astype(str) == "2023-12-01"]
        assert dec.months_since.min() == 1 and dec.is_left_censored.all()


def test_net_sales_after_returns_by_return_date_and_by_order_date(cohort_con):
    """January: net 230 (orders 1, 2, 4); booked returns 20 (order 1's, in January) -> 210; the
    returns of January's orders are 100 (order 4's came back on 2 February) -> 130. February:
    net 40, booked 80 -> -40, of its orders 0 -> 40. March: 30 both ways. Both totals: 200."""
    expected = {
        "2024-01-01": (230, 20, 210, 100, 130),
        "2024-02-01": (40, 80, -40, 0, 40),
        "2024-03-01": (30, 0, 30, 0, 30),
    }
    columns = [
        "net_sales",
        "returns_booked",
        "net_sales_after_returns_booked",
        "returns_of_orders",
        "net_sales_after_returns_of_orders",
    ]
    for result in both(cohort_con, "net_sales_after_returns"):
        got = {
            str(row.month)[:10]: tuple(float(getattr(row, c)) for c in columns)
            for row in result.itertuples()
        }
        assert got == {k: tuple(float(x) for x in v) for k, v in expected.items()}
        assert result.is_final.all()  # March 2024 is long before the end of the data
        assert result.net_sales_after_returns_booked.sum() == (
            result.net_sales_after_returns_of_orders.sum()
        )


# ---------------------------------------------------------------------------------------------
# point 10: the pre-period baseline with overlapping campaigns, and the holdout lift
# ---------------------------------------------------------------------------------------------
def campaign_warehouse(holdout: bool):
    """campaigns.csv and orders: for the pre-period test one order every UTC day of the data and
    a second one on each day of campaign A's window; for the holdout test, the audience fixture
    (audience.csv) and its customers' orders (audience_orders.csv) only."""
    con = connect()
    camps = read("campaigns.csv").drop(columns="note")
    camps["campaign_start_time"] = pd.to_datetime(camps.campaign_start_time)
    camps["campaign_end_time"] = pd.to_datetime(camps.campaign_end_time)
    camps["campaign_name"] = "campaign " + camps.campaign_id.astype(str)
    camps["channel"] = "email"
    con.create_table("_campaigns", camps)
    con.raw_sql(
        "CREATE TABLE dim_campaign AS SELECT * REPLACE "
        "(CAST(spend_amt AS DECIMAL(18, 2)) AS spend_amt) FROM _campaigns"
    )
    if holdout:
        orders = read("audience_orders.csv").drop(columns="note")
        orders["order_time"] = pd.to_datetime(orders.order_time)
    else:
        days = pd.date_range("2024-01-01", "2025-12-31", freq="D")
        a_days = pd.date_range("2024-03-01", "2024-03-14", freq="D")
        times = list(days + pd.Timedelta(hours=12)) + list(
            a_days + pd.Timedelta(hours=15)
        )
        orders = pd.DataFrame({"order_time": times, "customer_id": 100, "net_amt": 1.0})
    orders["order_id"] = range(1, len(orders) + 1)
    orders["campaign_id"] = -2
    orders["order_flags_key"] = 1
    orders["date_key"] = orders.order_time.dt.strftime("%Y%m%d").astype(int)
    con.create_table("_orders", orders)
    con.raw_sql(
        "CREATE TABLE fact_order AS SELECT * REPLACE (CAST(net_amt AS DECIMAL(18, 2)) AS net_amt)"
        " FROM _orders"
    )
    con.create_table("dim_order_flags", build.order_flags_dimension())
    con.create_table("dim_date", date_dimension("2023-12-31", "2025-12-31"))
    con.create_table("fact_campaign_audience", read("audience.csv"))
    return con


def test_pre_period_baseline_leaves_out_other_campaigns_days():
    """A: 2 orders a day in its window, 1 a day in its 28 clean baseline days: lift 2.
    B: window 10-23 March = 5 days at 2 (A still running) + 9 at 1 = 19 / 14 a day; baseline
    11 Feb - 9 March minus A's days 1-9 March = 19 days at 1: lift 19 / 14.
    C: window 10-16 April at 1 a day; baseline 13 March - 9 April minus B's days 13-23 March
    = 17 days at 1: lift 1. A and B overlap, C does not."""
    con = campaign_warehouse(holdout=False)
    for result in both(con, "campaign_effectiveness"):
        r = result.set_index("campaign_id")
        assert list(r.index) == [1, 2, 3]  # the Not applicable member is not a campaign
        assert list(r.baseline_days) == [28, 19, 17]
        assert list(r.lift_vs_pre_period) == pytest.approx([2.0, 19 / 14, 1.0])
        assert list(r.overlaps_other_campaign) == [True, True, False]
        assert list(r.attributed_orders) == [0, 0, 0]
    con.disconnect()


def test_holdout_lift_and_roi_by_hand():
    """Treated customers 1 and 2 place 2 and 0 orders in the window (the end instant is out),
    holdout customers 3 and 4 place 1 and 0: means 1 and 0.5, sample variances 2 and 0.5, lift
    2, s.e. 2 x sqrt(2 / 2 + 0.5 / (2 x 0.25)) = 2 sqrt 2. Net sales over the window and the 28
    days after: 25 and 0 (mean 12.5, variance 312.5) against 10 and 4 (mean 7, variance 18):
    incremental 2 x 5.5 = 11, s.e. 2 sqrt(312.5 / 2 + 18 / 2); spend 5: ROI (11 - 5) / 5."""
    se = 2 * math.sqrt(312.5 / 2 + 18 / 2)
    con = campaign_warehouse(holdout=True)
    for result in both(con, "campaign_holdout_lift"):
        assert list(result.campaign_id) == [1]
        row = result.iloc[0]
        assert (row.treated_customers, row.holdout_customers) == (2, 2)
        assert row.lift == pytest.approx(2.0)
        assert row.lift_se == pytest.approx(2 * math.sqrt(2))
        assert row.incremental_orders == pytest.approx(1.0)
        assert row.incremental_net_sales == pytest.approx(11.0)
        assert row.incremental_net_sales_se == pytest.approx(se)
        assert row.roi == pytest.approx(1.2)
        assert row.roi_se == pytest.approx(se / 5)
    con.disconnect()
