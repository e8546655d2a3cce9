"""The e-commerce practice: metrics vs. their SQL, planted truths, quality, reconciliation.

Oracles are independent of the code under test: hand-written SQL, or plain pandas/numpy on the
raw tables; expected values of planted truths come from the generator's documented PLANTED
parameters, never from the metrics.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datamodeling import exercises, quality, registry
from datamodeling.ecommerce import build, schema
from datamodeling.ecommerce import generate as gen
from datamodeling.ecommerce import metrics as m
from datamodeling.exercises import check, compare
from datamodeling.warehouse import build_database, connect

TINY = 2_000
BIG = 100_000  # enough orders for the planted lifts and frequencies to show within 4 sigma
SEED = 42


def dispersion() -> float:
    """Variance / mean of an order count: orders come in sessions of K = 1 + Poisson(m - 1).

    A Poisson number of sessions with K orders each has variance E[K^2] / E[K] times its mean.
    """
    m = gen.PLANTED["orders_per_session"]
    return ((m - 1) + m**2) / m


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("ecommerce") / "ecommerce.duckdb"
    con = connect(path)
    report = build(con, scale=TINY, seed=SEED)
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def con(built):
    return built[0]


@pytest.fixture(scope="module")
def big():
    con = connect()
    build(con, scale=BIG, seed=SEED)
    yield con
    con.disconnect()


def df(con, sql: str) -> pd.DataFrame:
    return con.sql(sql).to_pandas()


def scalar(con, sql: str):
    return con.raw_sql(sql).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# registration and generator
# ---------------------------------------------------------------------------------------------
def test_practice_is_registered():
    practice = registry.get_practice("ecommerce")
    assert practice.title == "E-commerce platform"
    assert set(practice.metrics) >= {
        "daily_sales_by_category",
        "customer_segments",
        "average_order_value",
        "customer_lifetime_value",
        "inventory_levels",
        "campaign_effectiveness",
    }
    assert len(practice.exercises) >= 8


def test_generator_is_deterministic_and_seed_dependent():
    a, b, c = gen.generate(TINY, 1), gen.generate(TINY, 1), gen.generate(TINY, 2)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["order_line_feed"].equals(c["order_line_feed"])


def lines_per_customer() -> tuple[float, float]:
    """Mean and variance of one customer's order lines, derived from PLANTED.

    A customer has a sign-up order plus repeat orders: sessions at its segment's rate (over
    the days after its sign-up day), each of K orders, and extra orders at (lift - 1) x rate in
    each campaign window. Sign-up days: LAUNCH_SHARE in the opening week, the rest uniform,
    scaled by the campaign lift. Given segment and sign-up day the order count O has mean
    1 + rate x exposure and variance rate x (d x repeat days + extra days); over customers
    add the variance of rate x exposure. An order has 1 + Poisson(LINES_PER_ORDER_EXTRA) lines
    (mean 1 + k, variance k), so lines have mean (1 + k) E[O] and variance
    k E[O] + (1 + k)^2 Var(O).
    """
    days = np.arange(gen.DAYS)
    lifts = np.asarray(gen.PLANTED["campaign_lift"])
    windows = gen.campaign_windows()
    signup = np.full(gen.DAYS, (1 - gen.LAUNCH_SHARE) / gen.DAYS)
    signup[:7] += gen.LAUNCH_SHARE / 7
    for (a, b), lift in zip(windows, lifts, strict=True):
        signup[a:b] *= lift
    signup /= signup.sum()
    repeat = np.maximum(gen.DAYS - 1 - days, 0)
    extra = sum(
        (lift - 1) * np.clip(b - np.maximum(a, days + 1), 0, None)
        for (a, b), lift in zip(windows, lifts, strict=True)
    )
    shares = np.asarray(gen.PLANTED["segment_shares"])
    rates = np.asarray(gen.PLANTED["segment_rates"])
    mean_repeat = (shares * rates).sum() * (signup * (repeat + extra)).sum()
    within = (shares * rates).sum() * (signup * (dispersion() * repeat + extra)).sum()
    second = (shares * rates**2).sum() * (signup * (repeat + extra) ** 2).sum()
    mean_orders, var_orders = 1 + mean_repeat, within + second - mean_repeat**2
    k = gen.LINES_PER_ORDER_EXTRA
    return (1 + k) * mean_orders, k * mean_orders + (1 + k) ** 2 * var_orders


def test_generator_size_tracks_rows():
    """The distinct lines of the feed are within 4 sigma of n customers x E[lines per customer].

    sigma = sqrt(n Var(lines per customer)), about 3% of 20,000 rows (see lines_per_customer);
    the few planted bad rows (0.15%) are added to the expectation. sizes() picks n from an
    average exposure, so its target may miss by a little: less than one sigma.
    """
    rows = 20_000
    feed = gen.generate(rows, SEED)["order_line_feed"].to_pandas()
    n = feed.customer_id.nunique()
    mean, var = lines_per_customer()
    dirt = 1 + gen.DIRT["unknown_product_share"] + gen.DIRT["bad_count_share"]
    expected, sigma = n * mean * dirt, math.sqrt(n * var)
    assert abs(feed.line_item_id.nunique() - expected) < 4 * sigma
    assert abs(expected - rows) < sigma


def test_seed_schema_is_kept():
    """Every seed table and column exists in the model with the seed's name."""
    model = {t.name: t for t in schema.TABLES}
    for seed_table in schema.SEED_TABLES:
        assert seed_table.name in model, seed_table.name
        missing = set(seed_table.column_names) - set(model[seed_table.name].column_names)
        assert not missing, (seed_table.name, missing)


# ---------------------------------------------------------------------------------------------
# every metric equals its hand-written SQL
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(m.METRICS))
def test_metric_equals_its_sql(con, name):
    metric = m.METRICS[name]
    ibis_result = metric.to_pandas(con)
    sql_result = metric.sql_to_pandas(con)
    assert len(ibis_result) > 0
    assert compare(sql_result, ibis_result, rtol=1e-9) is None


def test_marts_equal_the_sql_of_their_metric(con):
    mart = con.table("daily_category_sales", database="mart").to_pandas()
    assert compare(df(con, m.DAILY_SALES_SQL), mart, rtol=1e-9) is None
    inventory = con.table("inventory_daily", database="mart").to_pandas()
    assert compare(df(con, m.INVENTORY_SQL), inventory, rtol=1e-9) is None


def test_customer_summary_mart_equals_its_sql(con):
    """The mart rounds net_sales to the cent: at most 0.005 from the unrounded SQL sum."""
    mart = con.table("customer_summary", database="mart").to_pandas()
    assert len(mart) > 0
    assert compare(df(con, m.CUSTOMER_SUMMARY_SQL), mart, rtol=0, atol=0.005 + 1e-9) is None
    # pandas on the fact: one row per customer who ordered, with its count of distinct orders
    lines = con.table("order_line").to_pandas()
    per_customer = lines.groupby("customer_id").order_id.nunique()
    got = mart.set_index("customer_id").orders.sort_index()
    pd.testing.assert_series_equal(
        got, per_customer.sort_index().rename("orders"), check_dtype=False
    )


def test_daily_sales_totals_match_raw_feed_in_pandas(con):
    """Total net sales per day from the raw feed, deduplicated and filtered by hand."""
    raw = con.table("order_line_feed", database="raw").to_pandas()
    products = set(con.table("product_extract", database="raw").to_pandas().product_id)
    raw = raw.sort_values(["loaded_at", "batch_id"]).drop_duplicates("line_item_id")
    raw = raw[raw.product_id.isin(products) & (raw["count"] > 0)]
    expected = (
        (raw.amt - raw.discount).groupby(raw.order_time.dt.date).sum().sort_index().to_numpy()
    )
    metric = m.METRICS["daily_sales_by_category"].to_pandas(con)
    got = metric.groupby("order_date").net_sales.sum().sort_index().to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_top_category_rollup_counts_orders_distinct(con):
    """Summing leaf order counts would count an order with two leaves of one top twice."""
    leaf = m.METRICS["daily_sales_by_category"].to_pandas(con)
    top = m.METRICS["daily_sales_by_top_category"].to_pandas(con)
    assert leaf.orders.sum() > top.orders.sum()
    assert math.isclose(leaf.net_sales.sum(), top.net_sales.sum(), rel_tol=1e-9)


# ---------------------------------------------------------------------------------------------
# quality, reconciliation, dirt
# ---------------------------------------------------------------------------------------------
def test_model_quality_checks_pass(con):
    # conventions=False until this practice follows book/conventions.md (issue 10)
    report = quality.check_model(con, schema.TABLES, conventions=False)
    assert report.passed, str(report)
    names = " ".join(r.name for r in report)
    assert "customer: SCD2 ranges" in names and "product: SCD2 ranges" in names


def test_rows_in_equal_loaded_plus_quarantined(con, built):
    report = built[1]
    assert report.reconciles()
    quarantine = df(con, "SELECT source, COUNT(*) AS n FROM quarantine GROUP BY source")
    quarantined = dict(zip(quarantine.source, quarantine.n, strict=True))
    loaded_table = {
        "store": "store",
        "product_category": "product_category",
        "campaign": "campaign",
        "order_line_feed": "order_line",
        "order_return_feed": "order_return",
        "inventory_event_feed": "inventory_event",
    }
    raw_tables = df(
        con, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
    )
    assert set(report.sources) == set(raw_tables.table_name)
    for source, counts in report.sources.items():
        raw_rows = scalar(con, f"SELECT COUNT(*) FROM raw.{source}")
        assert counts["rows_in"] == raw_rows, source
        assert counts["quarantined"] == quarantined.get(source, 0), source
        if source in loaded_table:
            assert counts["loaded"] == scalar(con, f"SELECT COUNT(*) FROM {loaded_table[source]}")
        assert quality.reconcile(source, raw_rows, counts["loaded"], counts["quarantined"])


@pytest.mark.parametrize(
    ("step", "source"),
    [("category_dimension", "product_category"), ("order_line_fact", "order_line_feed")],
)
def test_a_row_lost_in_the_build_stops_it(step, source, monkeypatch):
    """Loaded rows are counted in the written tables, so a step that drops a row fails the build."""
    module = importlib.import_module("datamodeling.ecommerce.build")
    real = getattr(module, step)

    def lossy(*args):
        table = real(*args)
        return table.order_by(table.columns[0]).limit(None, offset=1)

    monkeypatch.setattr(module, step, lossy)
    other = connect()
    with pytest.raises(RuntimeError, match=f"^{source}: .* loaded"):
        module.build(other, scale=500, seed=SEED)
    other.disconnect()


def test_planted_dirt_is_quarantined_with_reasons(con):
    reasons = df(con, "SELECT source, reason, COUNT(*) AS n FROM quarantine GROUP BY ALL")
    found = set(zip(reasons.source, reasons.reason, strict=True))
    assert {
        ("order_line_feed", "duplicate"),
        ("order_line_feed", "unknown_product"),
        ("order_line_feed", "non_positive_count"),
        ("customer_extract", "missing_key"),
        ("customer_extract", "duplicate"),
        ("inventory_event_feed", "unknown_store"),
    } <= found
    dupes = scalar(
        con,
        "SELECT COUNT(*) - COUNT(DISTINCT line_item_id) FROM raw.order_line_feed",
    )
    assert dupes > 0
    assert dupes == scalar(
        con,
        "SELECT COUNT(*) FROM quarantine WHERE source = 'order_line_feed' AND reason = 'duplicate'",
    )


def test_late_lines_land_on_their_order_date(con):
    """Late lines count on the day they were ordered, not the day they were loaded.

    Hand-written SQL on the raw feed: the first arrival of each valid line, split into late
    (loaded more than two days after its order date) and on time. Per order date, the mart's net
    sales minus the on-time lines must equal the late lines; dating by loaded_at would move them.
    The mart rounds each category-day to the cent, so a day may differ by 0.005 per mart row.
    """
    raw_lines = """
        WITH first AS (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY line_item_id
                                         ORDER BY loaded_at, batch_id) AS copy
            FROM raw.order_line_feed
        )
        SELECT line_item_id, CAST(order_time AS DATE) AS order_date, amt - discount AS net,
               loaded_at > CAST(order_time AS DATE) + INTERVAL 2 DAY AS late
        FROM first
        WHERE copy = 1 AND count > 0
          AND product_id IN (SELECT product_id FROM raw.product_extract)"""
    per_day = df(
        con,
        f"""SELECT order_date,
                   SUM(net) FILTER (WHERE late) AS late_net,
                   COUNT(*) FILTER (WHERE late) AS late_lines,
                   SUM(net) FILTER (WHERE NOT late) AS on_time_net
            FROM ({raw_lines}) GROUP BY order_date""",
    )
    mart = df(
        con,
        """SELECT order_date, SUM(net_sales) AS mart_net, COUNT(*) AS mart_rows
           FROM mart.daily_category_sales GROUP BY order_date""",
    )
    days = per_day.merge(mart, on="order_date", how="outer", validate="1:1")
    assert days.mart_net.notna().all() and days.late_lines.notna().all()
    late_days = days[days.late_lines > 0]
    assert late_days.late_lines.sum() > 0 and len(late_days) > 1
    got = late_days.mart_net - late_days.on_time_net.fillna(0)
    tolerance = 0.005 * late_days.mart_rows + 1e-6
    assert ((got - late_days.late_net).abs() <= tolerance).all()
    # and in the fact, each late line carries the key of its order date
    on_order_date = scalar(
        con,
        f"""SELECT COUNT(*) FROM ({raw_lines}) r JOIN order_line ol USING (line_item_id)
            WHERE r.late AND ol.order_date_key = CAST(strftime(r.order_date, '%Y%m%d') AS BIGINT)""",
    )
    assert on_order_date == late_days.late_lines.sum()


def test_out_of_order_changes_give_the_latest_state(con):
    """The current row of each customer is its latest change by source time (pandas oracle)."""
    raw = con.table("customer_extract", database="raw").to_pandas().dropna(subset=["customer_id"])
    late = (
        raw.sort_values("extract_date")
        .groupby("customer_id")
        .updated_at.apply(lambda s: (s.diff().dt.total_seconds() < 0).any())
    )
    assert late.any(), "the generator should plant out-of-order changes"
    latest = raw.sort_values("updated_at").groupby("customer_id").tail(1).set_index("customer_id")
    current = df(con, "SELECT * FROM customer WHERE is_current AND NOT is_inferred")
    current = current.set_index("customer_id").loc[latest.index]
    for col in ["city", "email", "state"]:
        assert (current[col] == latest[col]).all(), col


def test_inferred_members_and_backdated_versions(con):
    inferred = df(con, "SELECT customer_id FROM customer WHERE is_inferred")
    extracted = df(con, "SELECT DISTINCT customer_id FROM raw.customer_extract")
    ordered = df(con, "SELECT DISTINCT customer_id FROM order_line")
    expected = set(ordered.customer_id) - set(extracted.customer_id.dropna())
    assert expected and set(inferred.customer_id) == expected
    # every line finds the customer version valid at its order time
    bad = scalar(
        con,
        """SELECT COUNT(*) FROM order_line ol JOIN customer c USING (customer_sk)
           WHERE NOT (c.valid_from <= ol.order_time AND ol.order_time < c.valid_to)
              OR c.customer_id <> ol.customer_id""",
    )
    assert bad == 0


def test_point_in_time_product_matches_the_price_paid(con):
    mismatched = scalar(
        con,
        """SELECT COUNT(*) FROM order_line ol JOIN product p USING (product_sk)
           WHERE p.unit_price <> ol.unit_price_at_purchase
              OR p.product_category_id <> ol.product_category_id
              OR NOT (p.valid_from <= ol.order_time AND ol.order_time < p.valid_to)""",
    )
    assert mismatched == 0
    # the business-key join to the current row gives other prices for some lines
    differs = scalar(
        con,
        """SELECT COUNT(*) FROM order_line ol
           JOIN product p ON p.product_id = ol.product_id AND p.is_current
           WHERE p.unit_price <> ol.unit_price_at_purchase""",
    )
    assert differs > 0


def test_shipping_allocation_adds_up_to_the_order_charge(con):
    raw = df(
        con,
        """SELECT order_id, MAX(order_shipping_amt) AS charge
           FROM raw.order_line_feed GROUP BY order_id""",
    )
    model = df(con, "SELECT order_id, shipping_amt FROM orders").merge(raw, on="order_id")
    assert len(model) == scalar(con, "SELECT COUNT(*) FROM orders")
    np.testing.assert_allclose(model.shipping_amt, model.charge, atol=1e-9)
    assert scalar(con, "SELECT MIN(shipping_amt) FROM order_line") >= 0
    assert model.charge.gt(0).any()


def test_inventory_snapshot_reconciles_with_events(con):
    """pandas oracle: the running sum of the events per pair and day equals the snapshot."""
    events = con.table("inventory_event").to_pandas()
    events["day"] = events.event_time.dt.normalize()
    daily = events.groupby(["store_id", "product_id", "day"]).quantity_change.sum()
    snap = con.table("inventory_snapshot").to_pandas()
    snap["day"] = pd.to_datetime(snap.snapshot_date)
    snap = snap.set_index(["store_id", "product_id", "day"]).sort_index()
    change = daily.reindex(snap.index, fill_value=0)
    expected = change.groupby(level=[0, 1]).cumsum()
    np.testing.assert_array_equal(snap.quantity_on_hand.to_numpy(), expected.to_numpy())
    assert daily.index.isin(snap.index).all()  # no movement outside the grid
    assert snap.quantity_on_hand.min() >= 0
    # and in SQL: on hand(d) = on hand(d-1) + change(d)
    broken = scalar(
        con,
        """SELECT COUNT(*) FROM (
             SELECT quantity_on_hand - COALESCE(LAG(quantity_on_hand) OVER (
                      PARTITION BY store_id, product_id ORDER BY snapshot_date), 0)
                    - quantity_change AS gap
             FROM inventory_snapshot) WHERE gap <> 0""",
    )
    assert broken == 0
    assert scalar(con, "SELECT COUNT(*) FROM inventory_snapshot WHERE quantity_on_hand = 0") > 0


# ---------------------------------------------------------------------------------------------
# planted truths
# ---------------------------------------------------------------------------------------------
def test_campaign_lift_is_recovered(big):
    """Each lift within 4 sigma of the planted one; sigma from Poisson counts of the metric.

    lift = (W / 14) / (B / 56) with W, B Poisson counts of sessions: relative s.e. ~
    sqrt(d / W + d / B), d the dispersion of orders per session.
    """
    result = m.METRICS["campaign_effectiveness"].to_pandas(big).sort_values("campaign_id")
    planted = np.asarray(gen.PLANTED["campaign_lift"])
    window = result.window_orders_per_day.to_numpy() * gen.CAMPAIGN_DAYS
    base = result.baseline_orders_per_day.to_numpy() * 2 * gen.BASELINE_DAYS
    sigma = planted * np.sqrt(dispersion() * (1 / window + 1 / base))
    z = (result.lift.to_numpy() - planted) / sigma
    assert np.all(np.abs(z) < 4), z
    pooled_se = np.sqrt(np.mean(sigma**2) / len(planted))
    assert abs(np.mean(result.lift.to_numpy() - planted)) < 4 * pooled_se


def test_a_campaign_without_lift_still_gets_attributed_orders(big):
    """Attribution credits orders that would have happened anyway.

    The dud campaign (lift 1) adds no orders: each order in its window carries its id with
    probability click_share_signup for a first order and click_share_baseline otherwise, drawn
    independently. Given S first orders among W window orders (counted by hand in SQL), the
    attributed count is a sum of two binomials: mean 0.3 S + 0.1 (W - S), sigma =
    sqrt(0.3 * 0.7 S + 0.1 * 0.9 (W - S)). The attributed share must be within 4 sigma / W.
    """
    result = m.METRICS["campaign_effectiveness"].to_pandas(big).set_index("campaign_id")
    dud_id = 1 + gen.PLANTED["campaign_lift"].index(1.0)
    counts = big.raw_sql(
        f"""WITH o AS (
                SELECT order_id, customer_id, MIN(order_time) AS order_time
                FROM order_line GROUP BY order_id, customer_id
            ), f AS (
                SELECT *, order_time = MIN(order_time) OVER (PARTITION BY customer_id) AS first
                FROM o
            )
            SELECT COUNT(*), COUNT(*) FILTER (WHERE first)
            FROM f JOIN campaign c ON c.campaign_id = {dud_id}
            WHERE f.order_time >= c.campaign_start_time AND f.order_time < c.campaign_end_time"""
    ).fetchone()
    window, firsts = counts
    p_first, p_other = gen.PLANTED["click_share_signup"], gen.PLANTED["click_share_baseline"]
    expected = (p_first * firsts + p_other * (window - firsts)) / window
    sigma = math.sqrt(
        p_first * (1 - p_first) * firsts + p_other * (1 - p_other) * (window - firsts)
    )
    share = result.loc[dud_id, "attributed_orders"] / window
    assert firsts > 0 and window > firsts
    assert abs(share - expected) < 4 * sigma / window, (share, expected, sigma / window)


def test_segment_purchase_frequencies_are_recovered(big):
    """Mean RFM frequency per hidden segment = rate x (365 + campaign extra days), within 4 sigma.

    Only customers who signed up more than a year before the as-of date (fully exposed).
    Frequency is a Poisson number of sessions within a segment, so the s.e. of the mean is
    sqrt(d * lambda / n), d the dispersion of orders per session.
    """
    truth = pd.DataFrame(gen.customer_truth(BIG, SEED)).set_index("customer_id")
    exposed = truth[truth.signup_day < gen.DAYS - 365]
    rfm = m.METRICS["customer_rfm"].to_pandas(big).set_index("customer_id")
    freq = rfm.frequency.reindex(exposed.index).fillna(0)
    first_day = gen.DAYS - 365
    extra = sum(
        (lift - 1) * max(0, min(b, gen.DAYS) - max(a, first_day))
        for lift, (a, b) in zip(gen.PLANTED["campaign_lift"], gen.campaign_windows(), strict=True)
    )
    for segment, rate in zip(
        gen.PLANTED["segment_names"], gen.PLANTED["segment_rates"], strict=True
    ):
        members = exposed.index[exposed.segment == segment]
        expected = rate * (365 + extra)
        se = math.sqrt(dispersion() * expected / len(members))
        assert abs(freq.loc[members].mean() - expected) < 4 * se, segment


def test_loyal_customers_are_mostly_champions(big):
    """Loyal customers (fully exposed) reach F >= 10 orders, so Champions or Loyal, with
    probability p derived from PLANTED: N ~ Poisson(rate x 365 / m) sessions holding
    N + Poisson((m - 1) N) orders, plus Poisson(rate x campaign extra days) campaign orders.
    The share is binomial: within 4 sigma = 4 sqrt(p (1 - p) / n) of p.
    """
    truth = pd.DataFrame(gen.customer_truth(BIG, SEED)).set_index("customer_id")
    rfm = m.METRICS["customer_rfm"].to_pandas(big).set_index("customer_id")
    loyal = truth.index[(truth.segment == "loyal") & (truth.signup_day < gen.DAYS - 365)]
    share = rfm.segment.reindex(loyal).isin(["Champions", "Loyal"]).mean()
    rate = gen.PLANTED["segment_rates"][gen.PLANTED["segment_names"].index("loyal")]
    per_session = gen.PLANTED["orders_per_session"]
    first_day = gen.DAYS - 365
    extra = sum(
        (lift - 1) * max(0, min(b, gen.DAYS) - max(a, first_day))
        for lift, (a, b) in zip(gen.PLANTED["campaign_lift"], gen.campaign_windows(), strict=True)
    )

    def pmf(i: int, lam: float) -> float:
        return math.exp(i * math.log(lam) - lam - math.lgamma(i + 1)) if lam > 0 else float(i == 0)

    sessions = rate * 365 / per_session
    p = sum(
        pmf(n, sessions)
        * (1 - sum(pmf(i, (per_session - 1) * n + rate * extra) for i in range(10 - n)))
        for n in range(100)
    )
    sigma = math.sqrt(p * (1 - p) / len(loyal))
    assert abs(share - p) < 4 * sigma, (share, p, sigma)


# ---------------------------------------------------------------------------------------------
# determinism and atomic rebuilds
# ---------------------------------------------------------------------------------------------
def _all_tables(con) -> dict[str, pd.DataFrame]:
    out = {}
    for decl in schema.TABLES:
        t = con.table(decl.name, database=decl.database) if decl.database else con.table(decl.name)
        frame = t.to_pandas()
        out[decl.qualified_name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def test_same_seed_builds_identical_tables(con):
    other = connect()
    build(other, scale=TINY, seed=SEED)
    a, b = _all_tables(con), _all_tables(other)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    third = connect()
    build(third, scale=TINY, seed=SEED + 1)
    assert not _all_tables(third)["order_line"].equals(a["order_line"])


def test_rebuild_replaces_the_database_whole(tmp_path, monkeypatch):
    path = tmp_path / "ec.duckdb"
    build_database("ecommerce", path, scale=500, seed=1)
    first = connect(path, read_only=True)
    lines_1 = scalar(first, "SELECT COUNT(*) FROM order_line")
    first.disconnect()

    module = importlib.import_module("datamodeling.ecommerce.build")
    real = module.build

    def interrupted(con, scale=None, seed=None, progress=None):
        def stop(message):
            if message == "marts":
                raise KeyboardInterrupt("interrupted mid-build")

        return real(con, scale=scale, seed=seed, progress=stop)

    monkeypatch.setattr(module, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_database("ecommerce", path, scale=800, seed=2)
    monkeypatch.setattr(module, "build", real)
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["ec.duckdb"]
    still = connect(path, read_only=True)
    assert scalar(still, "SELECT COUNT(*) FROM order_line") == lines_1
    still.disconnect()

    build_database("ecommerce", path, scale=800, seed=2)
    again = connect(path, read_only=True)
    assert scalar(again, "SELECT COUNT(*) FROM order_line") != lines_1
    assert scalar(again, "SELECT seed FROM _build_info") == 2
    again.disconnect()


# ---------------------------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------------------------
def _wrongs(answer: pd.DataFrame) -> list[pd.DataFrame]:
    """The reference answer with one number changed and, if it has several rows, one row dropped."""
    numeric = [c for c in answer.columns if pd.api.types.is_numeric_dtype(answer[c])]
    value_col = numeric[-1]
    changed = answer.copy()
    changed[value_col] = changed[value_col].astype(float)
    changed.iloc[0, changed.columns.get_loc(value_col)] = changed[value_col].iloc[0] * 1.1 + 1
    wrongs = [changed]
    if len(answer) > 1:
        wrongs.append(answer.iloc[1:])
    return wrongs


@pytest.mark.parametrize("name", sorted(m.EXERCISES))
def test_exercise_reference_passes_and_a_wrong_answer_fails(con, name, monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    exercise = m.EXERCISES[name]
    if callable(exercise.answer):
        reference = exercise.answer(con).to_pandas()
        assert len(reference) > 0
        assert check(name, exercise.answer(con), con).correct is True
        wrongs = _wrongs(reference)
    else:
        assert check(name, sorted(exercise.answer)).correct is True
        wrongs = [sorted(exercise.answer)[:-1]]
    for wrong in wrongs:
        assert check(name, wrong, con).correct is False
    monkeypatch.setenv(exercises.STRICT_ENV, "1")
    for wrong in wrongs:
        with pytest.raises(exercises.WrongAnswer):
            check(name, wrong, con)


def test_tempting_wrong_answers_fail(con, monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    fan_out = """SELECT o.store_id, SUM(o.shipping_amt) AS shipping
                  FROM orders o JOIN order_line ol USING (order_id) GROUP BY 1"""
    assert check("ecommerce.fan_out", fan_out, con).correct is False
    per_line = """SELECT SUM(amt - discount) / COUNT(*) AS aov FROM order_line
                  WHERE order_time >= '2025-01-01'"""
    assert check("ecommerce.aov", per_line, con).correct is False
    right = """SELECT SUM(amt - discount) / COUNT(DISTINCT order_id) AS aov FROM order_line
               WHERE order_time >= '2025-01-01' AND order_time < '2026-01-01'"""
    assert check("ecommerce.aov", right, con).correct is True


def test_cli_builds_and_prints_metrics(tmp_path, capsys):
    from datamodeling.cli import main

    db = tmp_path / "cli.duckdb"
    assert main(["build", "ecommerce", "--scale", "tiny", "--db", str(db)]) == 0
    assert "order_line" in capsys.readouterr().out
    assert (
        main(
            [
                "metrics",
                "ecommerce",
                "--db",
                str(db),
                "--name",
                "average_order_value",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "order_month" in out.splitlines()[0].split(",")
    assert len(out.splitlines()) == 1 + 24  # a header and the 24 months of the data
