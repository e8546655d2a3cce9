"""The e-commerce practice: metrics vs. their SQL, planted truths, conventions, reconciliation.

Oracles are independent of the code under test: hand-written SQL, or plain pandas/numpy on the
raw tables; expected values of planted truths come from the generator's documented PLANTED
parameters, never from the metrics. Boundary cases with hand-worked results are in
``test_ecommerce_boundaries.py``.
"""

from __future__ import annotations

import importlib
import math
from decimal import Decimal
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

TINY = 5_000  # enough closed accounts for refunds after closure, still a few seconds
BIG = 100_000  # enough customers for the planted lifts and frequencies to show within 4 sigma
SEED = 42


def dispersion() -> float:
    """Variance / mean of an order count: orders come in sessions of K = 1 + Poisson(m - 1).

    A Poisson number of sessions with K orders each has variance E[K^2] / E[K] times its mean.
    """
    m_ = gen.PLANTED["orders_per_session"]
    return ((m_ - 1) + m_**2) / m_


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("ecommerce") / "ecommerce.duckdb"
    con = connect(path)
    report = build(con, scale=TINY, seed=SEED)
    yield con, report, path
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


def raw(con, name: str) -> pd.DataFrame:
    return con.table(name, database="raw").to_pandas()


def first_arrivals(con) -> pd.DataFrame:
    """The raw order lines, first arrival of each line_item_id, impossible counts dropped."""
    feed = raw(con, "order_line_feed").sort_values(["loaded_at", "batch_id"])
    feed = feed.drop_duplicates("line_item_id")
    return feed[feed["count"] > 0]


def local_dates(times: pd.Series, zones: pd.Series) -> pd.Series:
    """The local calendar date of UTC instants, zone by zone with pandas (UTC if unknown)."""
    out = pd.Series(index=times.index, dtype="object")
    for zone in zones.unique():
        pick = zones == zone
        tz = zone if zone in gen.ZONES else "UTC"
        out[pick] = times[pick].dt.tz_localize("UTC").dt.tz_convert(tz).dt.date
    return out


# ---------------------------------------------------------------------------------------------
# registration and generator
# ---------------------------------------------------------------------------------------------
def test_practice_is_registered():
    practice = registry.get_practice("ecommerce")
    assert practice.title == "E-commerce platform"
    assert set(practice.metrics) >= {
        "daily_sales_by_category",
        "daily_store_sales",
        "customer_segments",
        "average_order_value",
        "customer_lifetime_value",
        "net_sales_after_returns",
        "inventory_levels",
        "campaign_effectiveness",
        "campaign_holdout_lift",
    }
    assert len(practice.exercises) >= 10


def test_generator_is_deterministic_and_seed_dependent():
    a, b, c = gen.generate(2_000, 1), gen.generate(2_000, 1), gen.generate(2_000, 2)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["order_line_feed"].equals(c["order_line_feed"])


def signup_weights() -> tuple[np.ndarray, np.ndarray]:
    """Sign-up day (from START, negative before the data) and its probability, from PLANTED:
    the existing share uniform over the year before, the rest uniform over the data, lifted by
    each campaign during its window."""
    days = np.arange(-gen.HISTORY_DAYS, gen.DAYS)
    w = np.where(
        days < 0,
        gen.PLANTED["existing_share"] / gen.HISTORY_DAYS,
        (1 - gen.PLANTED["existing_share"]) / gen.DAYS,
    )
    for (a, b), lift in zip(
        gen.campaign_windows(), gen.PLANTED["campaign_lift"], strict=True
    ):
        w[(days >= a) & (days < b)] *= lift
    return days, w / w.sum()


def exposure(days: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Per unit of order rate, for a customer signed up on day ``days``, over data days
    [lo, hi): expected repeat-order days (after the pull-forward thinning) and expected campaign
    extra days, averaged over the random holdouts.

    Repeat orders run from the day after sign-up (day 0 for a customer older than the data).
    A campaign's audience is the customers signed up before its first day; a member is treated
    with probability 1 - h and then has its rate multiplied by the lift (lifts of campaigns
    running together multiply, so the expected multiplier is the product of 1 + (1 - h)(l - 1)),
    and loses pf (l - 1) 14 / 28 of its repeat orders in the 28 days after the window. Account
    closures are left out: they drop the campaign orders placed after a closure, well under a
    tenth of a per cent of the orders.
    """
    h, pf = gen.PLANTED["holdout_share"], gen.PLANTED["pull_forward_share"]
    windows, lifts = gen.campaign_windows(), gen.PLANTED["campaign_lift"]
    first = np.maximum(days + 1, lo)
    base = np.clip(hi - first, 0, None).astype(float)
    for (a, b), lift in zip(windows, lifts, strict=True):
        post = max(0, min(b + gen.BASELINE_DAYS, hi) - max(b, lo))
        thin = pf * (lift - 1) * gen.CAMPAIGN_DAYS / gen.BASELINE_DAYS
        base -= np.where(days < a, (1 - h) * thin * post, 0.0)
    extra = np.zeros(len(days))
    bounds = sorted({d for w in windows for d in w})
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        length = max(0, min(e, hi) - max(s, lo))
        running = [
            (a, lift) for (a, b), lift in zip(windows, lifts, strict=True) if a <= s < b
        ]
        multiplier = np.ones(len(days))
        for a, lift in running:
            multiplier *= np.where(days < a, 1 + (1 - h) * (lift - 1), 1.0)
        extra += (multiplier - 1) * length
    return base, extra


def orders_per_customer() -> tuple[float, float]:
    """Mean and variance of one customer's orders, derived from PLANTED.

    A new customer has a sign-up order; every customer has repeat sessions at its segment's
    rate (K orders each: dispersion d) and campaign orders (Poisson). Given segment and sign-up
    day the count has mean 1{new} + rate (base + extra) and variance rate (d base + extra);
    over customers add the variance of that mean.
    """
    days, w = signup_weights()
    base, extra = exposure(days, 0, gen.DAYS)
    new = (days >= 0).astype(float)
    shares = np.asarray(gen.PLANTED["segment_shares"])
    rates = np.asarray(gen.PLANTED["segment_rates"])
    mean = sum(
        s * (w * (new + r * (base + extra))).sum()
        for s, r in zip(shares, rates, strict=True)
    )
    within = sum(
        s * (w * r * (dispersion() * base + extra)).sum()
        for s, r in zip(shares, rates, strict=True)
    )
    second = sum(
        s * (w * (new + r * (base + extra)) ** 2).sum()
        for s, r in zip(shares, rates, strict=True)
    )
    return mean, within + second - mean**2


def test_generator_size_tracks_rows():
    """The distinct lines of the feed are within 4 sigma of n customers x E[lines per customer].

    An order has 1 + Poisson(k) lines, so lines per customer have mean (1 + k) E[O] and variance
    k E[O] + (1 + k)^2 Var(O) (see orders_per_customer); the few odd rows of the feed (0.15%)
    are added to the expectation. sizes() picks n from an average exposure, so its target may
    miss by a little: less than one sigma.
    """
    rows = 20_000
    feed = gen.generate(rows, SEED)["order_line_feed"].to_pandas()
    n = gen.sizes(rows)["customers"]
    mean_o, var_o = orders_per_customer()
    k = gen.LINES_PER_ORDER_EXTRA
    mean, var = (1 + k) * mean_o, k * mean_o + (1 + k) ** 2 * var_o
    odd = 1 + gen.DIRT["unknown_product_share"] + gen.DIRT["bad_count_share"]
    expected, sigma = n * mean * odd, math.sqrt(n * var)
    assert abs(feed.line_item_id.nunique() - expected) < 4 * sigma
    assert abs(expected - rows) < sigma


def test_brief_tables_are_views_with_the_briefs_columns(con):
    """Every table of the brief is a view, by the brief's name, with exactly its columns, over
    every row of the model table behind it; a query in the brief's words runs on them."""
    views = set(
        df(
            con,
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'",
        )["table_name"]
    )
    for brief in schema.BRIEF_TABLES:
        assert brief.name in views, brief.name
        assert con.table(brief.name).columns == tuple(brief.column_names), brief.name
        source = schema.BRIEF_VIEWS[brief.name][0]
        assert scalar(con, f'SELECT COUNT(*) FROM "{brief.name}"') == scalar(
            con, f"SELECT COUNT(*) FROM {source}"
        )
    # the brief's model, read the brief's way: sales by the category a product has now
    by_view = scalar(
        con,
        """SELECT SUM(ol.amt - ol.discount) FROM order_line ol
           JOIN product p ON p.product_id = ol.product_id AND p.is_current
           JOIN product_category c ON c.product_category_id = p.product_category_id""",
    )
    assert by_view == scalar(con, "SELECT SUM(net_amt) FROM fact_order_line")


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
    assert compare(df(con, m.DAILY_SALES_SQL), mart, rtol=0, atol=0) is None
    inventory = con.table("inventory_daily", database="mart").to_pandas()
    assert compare(df(con, m.INVENTORY_SQL), inventory, rtol=1e-9) is None
    summary = con.table("customer_summary", database="mart").to_pandas()
    assert compare(df(con, m.CUSTOMER_SUMMARY_SQL), summary, rtol=0, atol=0) is None


def test_customer_summary_counts_orders_like_pandas(con):
    mart = con.table("customer_summary", database="mart").to_pandas()
    lines = con.table("fact_order_line").to_pandas()
    per_customer = lines.groupby("customer_id").order_id.nunique()
    got = mart.set_index("customer_id").orders.sort_index()
    pd.testing.assert_series_equal(
        got, per_customer.sort_index().rename("orders"), check_dtype=False
    )


def test_daily_sales_by_local_day_match_the_raw_feed_in_pandas(con):
    """Net sales per local trading day, from the raw feed: first arrivals, counts > 0, the date
    of order_time in the selling store's zone (pandas tz_convert), complete days only. Exact:
    DECIMAL sums against sums of Python Decimals."""
    lines = first_arrivals(con)
    zones = raw(con, "store").set_index("store_id").time_zone
    lines["day"] = local_dates(lines.order_time, lines.store_id.map(zones))
    lines = lines[(lines.day >= m.FIRST_LOCAL_DAY) & (lines.day <= m.LAST_LOCAL_DAY)]
    expected = (lines.amt - lines.discount).groupby(lines.day).sum().sort_index()
    metric = m.METRICS["daily_sales_by_category"].to_pandas(con)
    got = metric.groupby(metric.order_date.dt.date).net_sales.sum().sort_index()
    assert list(got.index) == list(expected.index)
    assert all(Decimal(g) == Decimal(e) for g, e in zip(got, expected, strict=True))


def test_a_utc_day_misstates_a_pacific_store(con):
    """The Seattle store trades until 21:00 Pacific time, 04:00 or 05:00 UTC the next day: a
    large share of its sales sits on a different UTC date than its own day (pandas)."""
    lines = first_arrivals(con)
    seattle = lines[lines.store_id == 6]
    local = local_dates(
        seattle.order_time, pd.Series("America/Los_Angeles", seattle.index)
    )
    moved = (local != seattle.order_time.dt.date).mean()
    assert 0.2 < moved < 0.7
    fact = df(
        con, "SELECT local_date_key, date_key FROM fact_order_line WHERE store_id = 6"
    )
    assert (fact.local_date_key != fact.date_key).mean() == pytest.approx(moved)


def test_top_category_rollup_counts_orders_distinct(con):
    """Summing leaf order counts would count an order with two leaves of one top twice."""
    leaf = m.METRICS["daily_sales_by_category"].to_pandas(con)
    top = m.METRICS["daily_sales_by_top_category"].to_pandas(con)
    assert leaf.orders.sum() > top.orders.sum()
    assert leaf.net_sales.sum() == top.net_sales.sum()


# ---------------------------------------------------------------------------------------------
# conventions: reserved and inferred members, no NULL keys, quarantine only for non-facts
# ---------------------------------------------------------------------------------------------
def test_model_quality_checks_pass_with_the_conventions(con):
    report = quality.check_model(con, schema.TABLES)
    assert report.passed, str(report)
    names = " ".join(r.name for r in report)
    assert "dim_customer: SCD2 ranges" in names and "dim_product: SCD2 ranges" in names
    for decl in schema.TABLES:
        if decl.role == "dimension":
            assert f"{decl.name}: Unknown and Not applicable members" in names, (
                decl.name
            )
        if decl.role == "fact":
            assert f"{decl.name}: no foreign key is NULL" in names, decl.name


def test_unknown_products_and_stores_are_inferred_not_quarantined(con):
    """Lines naming a product the catalogue does not list, and stock received by a store the
    store list does not name, are loaded against inferred members and counted."""
    listed = set(raw(con, "product_extract").product_id)
    lines = first_arrivals(con)
    unlisted = lines[~lines.product_id.isin(listed)]
    assert len(unlisted) > 0
    loaded = df(
        con,
        """SELECT ol.line_item_id, p.is_inferred, p.product_title FROM fact_order_line ol
           JOIN dim_product p USING (product_sk)""",
    ).set_index("line_item_id")
    assert loaded.loc[unlisted.line_item_id, "is_inferred"].all()
    assert (loaded.loc[unlisted.line_item_id, "product_title"] == "Unknown").all()
    store_events = raw(con, "inventory_event_feed")
    unlisted_store = store_events[
        ~store_events.store_id.isin(raw(con, "store").store_id)
    ]
    assert len(unlisted_store) == gen.DIRT["unlisted_store_events"]
    got = df(
        con,
        f"""SELECT COUNT(*) AS n, BOOL_AND(s.is_inferred) AS inferred
            FROM fact_inventory_event e JOIN dim_store s USING (store_id)
            WHERE e.store_id = {gen.UNLISTED_STORE}""",
    )
    assert got.n[0] == len(unlisted_store) and got.inferred[0]
    reasons = set(df(con, "SELECT DISTINCT reason FROM quarantine").reason)
    assert reasons <= {"duplicate", "missing_key", "non_positive_count"}


def test_orders_without_a_campaign_point_at_not_applicable(con):
    lines = first_arrivals(con)
    fact = con.table("fact_order_line").to_pandas().set_index("line_item_id")
    none = lines.line_item_id[lines.campaign_id.isna()]
    assert len(none) > 0 and (fact.loc[none, "campaign_id"] == -2).all()
    labels = df(
        con,
        """SELECT DISTINCT c.campaign_name FROM fact_order o JOIN dim_campaign c USING (campaign_id)
           WHERE o.campaign_id = -2""",
    )
    assert list(labels.campaign_name) == ["Not applicable"]


def test_rows_in_equal_loaded_plus_quarantined(con, built):
    report = built[1]
    assert report.reconciles()
    quarantine = df(con, "SELECT source, COUNT(*) AS n FROM quarantine GROUP BY source")
    quarantined = dict(zip(quarantine.source, quarantine.n, strict=True))
    loaded_by_hand = {
        "store": "SELECT COUNT(*) FROM dim_store WHERE store_id >= 0 AND NOT is_inferred",
        "campaign": "SELECT COUNT(*) FROM dim_campaign WHERE campaign_id >= 0 AND NOT is_inferred",
        "product_category": "SELECT COUNT(*) FROM dim_product_category "
        "WHERE product_category_id >= 0 AND NOT is_inferred",
        "order_line_feed": "SELECT COUNT(*) FROM fact_order_line",
        "order_return_feed": "SELECT COUNT(*) FROM fact_order_return",
        "inventory_event_feed": "SELECT COUNT(*) FROM fact_inventory_event",
        "campaign_audience": "SELECT COUNT(*) FROM fact_campaign_audience",
    }
    raw_tables = df(
        con,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'",
    )
    assert set(report.sources) == set(raw_tables.table_name)
    for source, counts in report.sources.items():
        raw_rows = scalar(con, f"SELECT COUNT(*) FROM raw.{source}")
        assert counts["rows_in"] == raw_rows, source
        assert counts["quarantined"] == quarantined.get(source, 0), source
        if source in loaded_by_hand:
            assert counts["loaded"] == scalar(con, loaded_by_hand[source]), source
        assert quality.reconcile(
            source, raw_rows, counts["loaded"], counts["quarantined"]
        )


@pytest.mark.parametrize(
    ("step", "source"),
    [
        ("category_dimension", "product_category"),
        ("order_line_fact", "order_line_feed"),
    ],
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
    reasons = df(
        con, "SELECT source, reason, COUNT(*) AS n FROM quarantine GROUP BY ALL"
    )
    found = set(zip(reasons.source, reasons.reason, strict=True))
    assert {
        ("order_line_feed", "duplicate"),
        ("order_line_feed", "non_positive_count"),
        ("customer_extract", "missing_key"),
        ("customer_extract", "duplicate"),
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
    """Late lines count on the day they were ordered, not the day they were loaded: every line
    loaded more than two days after its UTC order date carries that order date's key."""
    lines = first_arrivals(con)
    order_day = lines.order_time.dt.normalize()
    late = lines[lines.loaded_at > order_day + pd.Timedelta(days=2)]
    assert len(late) > 0
    fact = con.table("fact_order_line").to_pandas().set_index("line_item_id")
    keys = late.order_time.dt.strftime("%Y%m%d").astype(int).to_numpy()
    np.testing.assert_array_equal(
        fact.loc[late.line_item_id, "date_key"].to_numpy(), keys
    )
    loaded_keys = late.loaded_at.dt.strftime("%Y%m%d").astype(int).to_numpy()
    assert (keys != loaded_keys).all()


def test_out_of_order_changes_give_the_latest_state(con):
    """The current row of each customer is its latest change by source time (pandas oracle)."""
    extract = raw(con, "customer_extract").dropna(subset=["customer_id"])
    late = (
        extract.sort_values("extract_date")
        .groupby("customer_id")
        .updated_at.apply(lambda s: (s.diff().dt.total_seconds() < 0).any())
    )
    assert late.any(), "the generator should plant out-of-order changes"
    latest = extract.sort_values("updated_at").groupby("customer_id").tail(1)
    latest = latest.set_index("customer_id")
    current = df(
        con, "SELECT * FROM dim_customer WHERE is_current AND customer_id >= 0"
    )
    current = current[~current.is_inferred].set_index("customer_id").loc[latest.index]
    for col in ["city", "email", "state", "customer_age"]:
        assert (current[col] == latest[col]).all(), col
    assert (current.is_deleted == latest.is_deleted).all()


def test_inferred_members_and_backdated_versions(con):
    inferred = df(con, "SELECT customer_id FROM dim_customer WHERE is_inferred")
    extracted = raw(con, "customer_extract").customer_id.dropna()
    named = pd.concat(
        [
            df(con, "SELECT customer_id FROM fact_order_line"),
            df(con, "SELECT customer_id FROM fact_order_return"),
            df(con, "SELECT customer_id FROM fact_campaign_audience"),
        ]
    ).customer_id
    expected = set(named) - set(extracted)
    assert expected and set(inferred.customer_id) == expected
    # every line finds the customer version valid at its order time
    bad = scalar(
        con,
        """SELECT COUNT(*) FROM fact_order_line ol JOIN dim_customer c USING (customer_sk)
           WHERE NOT (c.valid_from <= ol.order_time AND ol.order_time < c.valid_to)
              OR c.customer_id <> ol.customer_id""",
    )
    assert bad == 0


def test_point_in_time_product_matches_the_price_paid(con):
    mismatched = scalar(
        con,
        """SELECT COUNT(*) FROM fact_order_line ol JOIN dim_product p USING (product_sk)
           WHERE NOT p.is_inferred AND (p.unit_price <> ol.unit_price_at_purchase
              OR p.product_category_id <> ol.product_category_id
              OR NOT (p.valid_from <= ol.order_time AND ol.order_time < p.valid_to))""",
    )
    assert mismatched == 0
    # type 7's other half: the business key joined to the current row gives today's prices
    differs = scalar(
        con,
        """SELECT COUNT(*) FROM fact_order_line ol
           JOIN dim_product p ON p.product_id = ol.product_id AND p.is_current
           WHERE p.unit_price <> ol.unit_price_at_purchase""",
    )
    assert differs > 0


def test_shipping_allocation_adds_up_to_the_order_charge(con):
    charged = df(
        con,
        """SELECT order_id, MAX(order_shipping_amt) AS charge
           FROM raw.order_line_feed GROUP BY order_id""",
    )
    model = df(con, "SELECT order_id, shipping_amt FROM fact_order").merge(
        charged, on="order_id"
    )
    assert len(model) == scalar(con, "SELECT COUNT(*) FROM fact_order")
    assert (model.shipping_amt == model.charge).all()  # DECIMAL: exactly, to the cent
    assert scalar(con, "SELECT MIN(shipping_amt) FROM fact_order_line") >= 0
    assert (model.charge > 0).any()


def test_inventory_snapshot_reconciles_with_events_on_local_days(con):
    """pandas oracle: the events' local day (tz_convert in the store's zone), the running sum per
    pair and day equals the snapshot; the snapshot ends on the last complete local day."""
    events = con.table("fact_inventory_event").to_pandas()
    zones = con.table("dim_store").to_pandas().set_index("store_id").time_zone
    events["day"] = pd.to_datetime(
        local_dates(events.event_time, events.store_id.map(zones))
    )
    daily = events.groupby(["store_id", "product_id", "day"]).quantity_change.sum()
    snap = con.table("fact_inventory_snapshot").to_pandas()
    snap["day"] = pd.to_datetime(snap.snapshot_date)
    snap = snap.set_index(["store_id", "product_id", "day"]).sort_index()
    change = daily.reindex(snap.index, fill_value=0)
    expected = change.groupby(level=[0, 1]).cumsum()
    np.testing.assert_array_equal(snap.quantity_on_hand.to_numpy(), expected.to_numpy())
    last = snap.reset_index().groupby("store_id").day.max()
    listed = [s[0] for s in gen.STORES]
    assert (last.loc[listed] == pd.Timestamp(m.LAST_LOCAL_DAY)).all()
    after = daily.reset_index()
    after = after[after.day <= pd.Timestamp(m.LAST_LOCAL_DAY)]
    assert (
        after.set_index(["store_id", "product_id", "day"]).index.isin(snap.index).all()
    )
    assert snap.quantity_on_hand.min() >= 0
    assert scalar(
        con, "SELECT COUNT(*) FROM fact_inventory_snapshot WHERE quantity_on_hand = 0"
    )


# ---------------------------------------------------------------------------------------------
# closed accounts, the mini-dimension and the junk dimension
# ---------------------------------------------------------------------------------------------
def test_refund_after_closure_joins_the_deleted_version(con):
    """A closed account keeps a final, deleted version; a refund after the closure joins it."""
    extract = raw(con, "customer_extract").dropna(subset=["customer_id"])
    closed = extract[extract.is_deleted].groupby("customer_id").updated_at.min()
    assert len(closed) > 0
    returns = raw(con, "order_return_feed").drop_duplicates("return_id")
    returns["closed_at"] = returns.customer_id.map(closed)
    after = returns[returns.return_time > returns.closed_at]
    assert len(after) > 0, "the generator plants refunds after a closure"
    joined = df(
        con,
        """SELECT r.return_id, c.is_deleted, c.valid_from, c.customer_id = r.customer_id AS same
           FROM fact_order_return r JOIN dim_customer c USING (customer_sk)""",
    ).set_index("return_id")
    rows = joined.loc[after.return_id]
    assert rows.is_deleted.all() and rows.same.all()
    deleted = df(
        con,
        "SELECT customer_id, valid_from FROM dim_customer WHERE is_deleted AND is_current",
    ).set_index("customer_id")
    assert set(deleted.index) == set(closed.index)
    assert (deleted.valid_from.sort_index() == closed.sort_index()).all()


def test_customer_profile_key_is_the_age_band_at_order_time(con):
    """pandas oracle: the last age the extract sent at or before the order (the first one if
    the order came first), banded by schema.AGE_BANDS; -1 for customers never extracted."""
    extract = raw(con, "customer_extract").dropna(subset=["customer_id"])
    extract = extract.astype({"customer_id": "int64"})
    extract = extract.drop_duplicates(["customer_id", "updated_at"]).sort_values(
        "updated_at"
    )
    lines = con.table("fact_order_line").to_pandas().sort_values("order_time")
    known = lines[lines.customer_id.isin(extract.customer_id)]
    asof = pd.merge_asof(
        known[["line_item_id", "customer_id", "order_time"]],
        extract[["customer_id", "updated_at", "customer_age"]],
        left_on="order_time",
        right_on="updated_at",
        by="customer_id",
    )
    first_age = extract.groupby("customer_id").customer_age.first()
    age = asof.customer_age.fillna(asof.customer_id.map(first_age))
    edges = [lo for _, lo, _ in schema.AGE_BANDS[1:]]
    expected = np.searchsorted(edges, age.to_numpy(), side="right") + 1
    got = lines.set_index("line_item_id").customer_profile_key.loc[asof.line_item_id]
    np.testing.assert_array_equal(got.to_numpy(), expected)
    unknown = lines[~lines.customer_id.isin(extract.customer_id)]
    assert len(unknown) > 0 and (unknown.customer_profile_key == -1).all()


def test_birthdays_do_not_version_the_customer(con):
    """The extract sends a record on every birthday; only changes of the tracked attributes (and
    a closure) open a version. Versions per customer: a pandas count of changes."""
    extract = raw(con, "customer_extract").dropna(subset=["customer_id"])
    extract = extract.drop_duplicates(["customer_id", "updated_at"]).sort_values(
        ["customer_id", "updated_at"]
    )
    steps = importlib.import_module("datamodeling.ecommerce.build")
    tracked = [*steps.CUSTOMER_ATTRIBUTES, "is_deleted"]
    previous = extract.groupby("customer_id")[tracked].shift()
    changed = (extract[tracked] != previous).any(axis=1)
    expected = changed.groupby(extract.customer_id).sum()
    birthdays = (
        extract.customer_age != extract.groupby("customer_id").customer_age.shift()
    ) & (~changed)
    assert birthdays.sum() > 0
    versions = df(
        con,
        "SELECT customer_id, COUNT(*) AS n FROM dim_customer WHERE NOT is_inferred "
        "AND customer_id >= 0 GROUP BY 1",
    ).set_index("customer_id")
    expected.index = expected.index.astype("int64")
    pd.testing.assert_series_equal(
        versions.n.sort_index(),
        expected.sort_index(),
        check_names=False,
        check_dtype=False,
    )


def test_order_flags_match_the_orders(con):
    """pandas: discount and shipping summed over the lines; the first order per customer by
    (order_time, order_id), unless the customer signed up before the data starts."""
    lines = con.table("fact_order_line").to_pandas()
    orders = lines.groupby("order_id").agg(
        customer_id=("customer_id", "first"),
        order_time=("order_time", "min"),
        discount=("discount", "sum"),
        shipping=("shipping_amt", "sum"),
    )
    orders = orders.reset_index().sort_values(["order_time", "order_id"])
    created = (
        df(con, "SELECT customer_id, created_at FROM dim_customer WHERE is_current")
        .set_index("customer_id")
        .created_at
    )
    older = orders.customer_id.map(created) < pd.Timestamp(m.DATA_START)
    first = ~orders.duplicated("customer_id") & ~older
    expected = 1 + 4 * first + 2 * (orders.discount > 0) + (orders.shipping > 0)
    got = df(con, "SELECT order_id, order_flags_key FROM fact_order").set_index(
        "order_id"
    )
    np.testing.assert_array_equal(
        got.order_flags_key.loc[orders.order_id].to_numpy(),
        expected.to_numpy().astype(int),
    )
    assert (
        scalar(con, "SELECT COUNT(*) FROM dim_order_flags WHERE order_flags_key > 0")
        == 8
    )


# ---------------------------------------------------------------------------------------------
# money, and two builds bit for bit
# ---------------------------------------------------------------------------------------------
MONEY_NAMES = (
    "amt",
    "discount",
    "price",
    "sales",
    "revenue",
    "returned",
    "spend",
    "refund",
)


def test_money_is_decimal_end_to_end(con):
    """Every money column of the raw layer, the model and the marts is DECIMAL(18, 2)."""
    columns = df(
        con,
        """SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
           WHERE table_name NOT LIKE '\\_%' ESCAPE '\\' AND table_name NOT LIKE 'ibis%'""",
    )
    money = columns[columns.column_name.str.contains("|".join(MONEY_NAMES))]
    money = money[~money.column_name.str.startswith(("has_", "is_"))]
    assert len(money) > 30
    wrong = money[money.data_type != "DECIMAL(18,2)"]
    assert wrong.empty, wrong.to_dict("records")
    for name in (
        "daily_sales_by_category",
        "average_order_value",
        "net_sales_after_returns",
    ):
        types = m.METRICS[name].table(con).schema()
        assert types["net_sales"].is_decimal(), name


def test_two_builds_with_one_seed_are_identical_bit_for_bit(built, tmp_path):
    """A second build into another file; every table of every schema compared with EXCEPT ALL
    both ways (floats included: they come from exact sums)."""
    con, _, _ = built
    other = tmp_path / "again.duckdb"
    second = connect(other)
    build(second, scale=TINY, seed=SEED)
    second.disconnect()
    con.raw_sql(f"ATTACH '{other}' AS again (READ_ONLY)")
    try:
        tables = df(
            con,
            """SELECT table_schema, table_name FROM information_schema.tables
               WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'""",
        )
        assert len(tables) >= len(schema.TABLES)
        for schema_name, name in tables.itertuples(index=False):
            a, b = f'{schema_name}."{name}"', f'again.{schema_name}."{name}"'
            for x, y in ((a, b), (b, a)):
                n = scalar(
                    con,
                    f"SELECT COUNT(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})",
                )
                assert n == 0, (schema_name, name)
    finally:
        con.raw_sql("DETACH again")
    third = connect()
    build(third, scale=TINY, seed=SEED + 1)
    assert scalar(third, "SELECT SUM(net_amt) FROM fact_order") != scalar(
        con, "SELECT SUM(net_amt) FROM fact_order"
    )


# ---------------------------------------------------------------------------------------------
# cohorts, returns, campaigns
# ---------------------------------------------------------------------------------------------
def test_first_cohort_is_not_inflated_by_older_customers(con):
    """Cohorts come from the sign-up date: customers older than the data form left-censored
    cohorts of 2023, and January 2024 holds only January's sign-ups: within 4 sigma of
    n x P(sign-up in January 2024), with P from PLANTED (see signup_weights)."""
    clv = m.METRICS["customer_lifetime_value"].to_pandas(con)
    clv["month"] = pd.to_datetime(clv.cohort_month)
    assert (clv.is_left_censored == (clv.month < pd.Timestamp(m.DATA_START))).all()
    assert clv.month.min() >= pd.Timestamp("2023-01-01")
    days, w = signup_weights()
    p = w[(days >= 0) & (days < 31)].sum()
    n = gen.sizes(TINY)["customers"]
    january = clv.set_index("month").customers.loc[pd.Timestamp("2024-01-01")]
    assert abs(january - n * p) < 4 * math.sqrt(n * p * (1 - p))


def test_net_sales_after_returns_match_pandas(con):
    """By return date and by order date, from the raw return feed and the fact in pandas."""
    orders = con.table("fact_order").to_pandas()
    returns = raw(con, "order_return_feed").drop_duplicates("return_id")
    month = orders.order_time.dt.to_period("M")
    sold = orders.net_amt.groupby(month).sum()
    booked = returns.return_net_amt.groupby(returns.return_time.dt.to_period("M")).sum()
    placed = returns.order_id.map(orders.set_index("order_id").order_time).dt.to_period(
        "M"
    )
    of_orders = returns.return_net_amt.groupby(placed).sum()
    got = m.METRICS["net_sales_after_returns"].to_pandas(con)
    got.index = pd.to_datetime(got.month).dt.to_period("M")
    assert (got.net_sales == sold.loc[got.index]).all()
    assert (
        got.net_sales_after_returns_booked
        == sold - booked.reindex(sold.index, fill_value=0)
    ).all()
    assert (got.returns_of_orders == of_orders.reindex(got.index, fill_value=0)).all()
    assert (
        got.returns_booked.sum()
        == got.returns_of_orders.sum()
        == returns.return_net_amt.sum()
    )
    assert list(got.is_final) == [True] * 23 + [False]


def test_campaign_spend_is_cost_per_contact_times_treated(con):
    audience = raw(con, "campaign_audience")
    treated = audience[~audience.is_holdout].groupby("campaign_id").size()
    camps = raw(con, "campaign").set_index("campaign_id")
    for cid, n in treated.items():
        cost = gen.PLANTED["cost_per_contact"][camps.loc[cid, "channel"]]
        assert camps.loc[cid, "spend_amt"] == Decimal(str(round(cost * n, 2))), cid


def test_overlapping_campaign_baselines_leave_out_the_other_window(con):
    """Campaign 12 starts during campaign 6: the days of campaign 6's window inside campaign 12's
    28-day pre-period are not baseline days. Counted with Python sets of day numbers."""
    windows = gen.campaign_windows()
    result = m.METRICS["campaign_effectiveness"].to_pandas(con).set_index("campaign_id")
    for cid, (a, b) in enumerate(windows, start=1):
        others = {
            d
            for j, (x, y) in enumerate(windows, start=1)
            if j != cid
            for d in range(x, y)
        }
        baseline = set(range(a - gen.BASELINE_DAYS, a)) - others
        overlaps = bool(others & set(range(a, b)))
        assert result.loc[cid, "baseline_days"] == len(baseline), cid
        assert result.loc[cid, "overlaps_other_campaign"] == overlaps, cid
    assert result.loc[12, "baseline_days"] < gen.BASELINE_DAYS
    assert result.overlaps_other_campaign.sum() == 2


def test_holdout_lift_standard_errors_match_pandas(con):
    """Per-customer order counts of each campaign's audience, in pandas; means, sample variances
    and the delta-method standard error of the ratio."""
    audience = con.table("fact_campaign_audience").to_pandas()
    camps = con.table("dim_campaign").to_pandas().set_index("campaign_id")
    orders = con.table("fact_order").to_pandas()
    rows = []
    for cid, group in audience.groupby("campaign_id"):
        start, end = (
            camps.loc[cid, "campaign_start_time"],
            camps.loc[cid, "campaign_end_time"],
        )
        inside = orders[(orders.order_time >= start) & (orders.order_time < end)]
        counts = inside.groupby("customer_id").size()
        n = group.customer_id.map(counts).fillna(0)
        t, h = n[~group.is_holdout.to_numpy()], n[group.is_holdout.to_numpy()]
        if (
            t.mean() == 0 or h.mean() == 0
        ):  # no orders in one arm: the ratio is undefined
            rows.append((cid, None, None))
            continue
        lift = t.mean() / h.mean()
        se = lift * math.sqrt(
            t.var() / (len(t) * t.mean() ** 2) + h.var() / (len(h) * h.mean() ** 2)
        )
        rows.append((cid, lift, se))
    expected = pd.DataFrame(rows, columns=["campaign_id", "lift", "lift_se"])
    got = m.METRICS["campaign_holdout_lift"].to_pandas(con)[
        ["campaign_id", "lift", "lift_se"]
    ]
    assert compare(expected, got, rtol=1e-9) is None


# ---------------------------------------------------------------------------------------------
# planted truths at a larger scale
# ---------------------------------------------------------------------------------------------
def test_campaign_holdout_lift_is_recovered(big):
    """Each campaign's lift against its holdout within 4 of its standard errors of the planted
    lift, and the precision-weighted mean of (lift - planted) within 4 pooled standard errors."""
    result = (
        m.METRICS["campaign_holdout_lift"].to_pandas(big).sort_values("campaign_id")
    )
    planted = np.asarray(gen.PLANTED["campaign_lift"])
    z = (result.lift.to_numpy() - planted) / result.lift_se.to_numpy()
    assert np.all(np.abs(z) < 4), z
    weight = 1 / result.lift_se.to_numpy() ** 2
    pooled = np.sum(weight * (result.lift.to_numpy() - planted)) / weight.sum()
    assert abs(pooled) < 4 / math.sqrt(weight.sum())


def test_a_campaign_without_lift_still_gets_attributed_orders(big):
    """Attribution credits orders that would have happened anyway.

    The dud campaign (lift 1) adds no orders: in its window a sign-up order carries its id with
    probability click_share_signup, an order of a treated audience member with probability
    click_share_baseline, any other order never. Given S sign-up orders and T treated members'
    orders (counted by hand in SQL), the attributed count is a sum of two binomials: mean
    0.3 S + 0.1 T, sigma sqrt(0.3 x 0.7 S + 0.1 x 0.9 T).
    """
    result = m.METRICS["campaign_effectiveness"].to_pandas(big).set_index("campaign_id")
    dud_id = 1 + gen.PLANTED["campaign_lift"].index(1.0)
    signups, treated = big.raw_sql(
        f"""SELECT COUNT(*) FILTER (WHERE f.is_first_order),
                   COUNT(*) FILTER (WHERE a.customer_id IS NOT NULL AND NOT a.is_holdout)
            FROM fact_order o
            JOIN dim_order_flags f USING (order_flags_key)
            JOIN dim_campaign c ON c.campaign_id = {dud_id}
            LEFT JOIN fact_campaign_audience a
                   ON a.campaign_id = c.campaign_id AND a.customer_id = o.customer_id
            WHERE o.order_time >= c.campaign_start_time AND o.order_time < c.campaign_end_time"""
    ).fetchone()
    p_first, p_other = (
        gen.PLANTED["click_share_signup"],
        gen.PLANTED["click_share_baseline"],
    )
    expected = p_first * signups + p_other * treated
    sigma = math.sqrt(
        p_first * (1 - p_first) * signups + p_other * (1 - p_other) * treated
    )
    assert signups > 0 and treated > 0
    got = result.loc[dud_id, "attributed_orders"]
    assert abs(got - expected) < 4 * sigma, (got, expected, sigma)


def last_year_exposure() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sign-up days of customers fully exposed to the last 365 days, their probability, and
    their expected order days (repeat + campaign) in those days, per unit of rate."""
    days, w = signup_weights()
    exposed = days < gen.DAYS - 365
    base, extra = exposure(days, gen.DAYS - 365, gen.DAYS)
    return days[exposed], w[exposed] / w[exposed].sum(), (base + extra)[exposed]


def test_segment_purchase_frequencies_are_recovered(big):
    """Mean RFM frequency per hidden segment = rate x expected order days of the last 365 days
    (see exposure), within 4 sigma. Only customers signed up more than a year before the as-of
    date (fully exposed). Frequency is a Poisson number of sessions within a segment, so the
    s.e. of the mean is sqrt(d lambda / n), d the dispersion of orders per session.
    """
    truth = pd.DataFrame(gen.customer_truth(BIG, SEED)).set_index("customer_id")
    _, w, order_days = last_year_exposure()
    mean_days = float((w * order_days).sum())
    exposed = truth[truth.signup_day < gen.DAYS - 365]
    rfm = m.METRICS["customer_rfm"].to_pandas(big).set_index("customer_id")
    freq = rfm.frequency.reindex(exposed.index).fillna(0)
    for segment, rate in zip(
        gen.PLANTED["segment_names"], gen.PLANTED["segment_rates"], strict=True
    ):
        members = exposed.index[exposed.segment == segment]
        expected = rate * mean_days
        se = math.sqrt(dispersion() * expected / len(members))
        assert abs(freq.loc[members].mean() - expected) < 4 * se, segment


def test_loyal_customers_are_mostly_champions(big):
    """Loyal customers (fully exposed) reach F >= 10 orders, so Champions or Loyal, with
    probability p derived from PLANTED: N ~ Poisson(rate x repeat days / m) sessions holding
    N + Poisson((m - 1) N) orders, plus Poisson(rate x campaign days) campaign orders, the days
    averaged over sign-up days and holdouts (see exposure). The share is binomial: within
    4 sigma = 4 sqrt(p (1 - p) / n) of p.
    """
    truth = pd.DataFrame(gen.customer_truth(BIG, SEED)).set_index("customer_id")
    rfm = m.METRICS["customer_rfm"].to_pandas(big).set_index("customer_id")
    loyal = truth.index[
        (truth.segment == "loyal") & (truth.signup_day < gen.DAYS - 365)
    ]
    share = rfm.segment.reindex(loyal).isin(["Champions", "Loyal"]).mean()
    rate = gen.PLANTED["segment_rates"][gen.PLANTED["segment_names"].index("loyal")]
    per_session = gen.PLANTED["orders_per_session"]
    days, _ = signup_weights()
    exposed = days < gen.DAYS - 365
    base, extra = exposure(days, gen.DAYS - 365, gen.DAYS)
    _, w, _ = last_year_exposure()
    base, extra = float((w * base[exposed]).sum()), float((w * extra[exposed]).sum())

    def pmf(i: int, lam: float) -> float:
        return (
            math.exp(i * math.log(lam) - lam - math.lgamma(i + 1))
            if lam > 0
            else float(i == 0)
        )

    sessions = rate * base / per_session
    p = sum(
        pmf(n, sessions)
        * (1 - sum(pmf(i, (per_session - 1) * n + rate * extra) for i in range(10 - n)))
        for n in range(100)
    )
    sigma = math.sqrt(p * (1 - p) / len(loyal))
    assert abs(share - p) < 4 * sigma, (share, p, sigma)


# ---------------------------------------------------------------------------------------------
# atomic rebuilds
# ---------------------------------------------------------------------------------------------
def test_rebuild_replaces_the_database_whole(tmp_path, monkeypatch):
    path = tmp_path / "ec.duckdb"
    build_database("ecommerce", path, scale=500, seed=1)
    first = connect(path, read_only=True)
    lines_1 = scalar(first, "SELECT COUNT(*) FROM fact_order_line")
    first.disconnect()

    module = importlib.import_module("datamodeling.ecommerce.build")
    real = module.build

    def interrupted(con, scale=None, seed=None, progress=None):
        def stop(message):
            if message.startswith("marts"):
                raise KeyboardInterrupt("interrupted mid-build")

        return real(con, scale=scale, seed=seed, progress=stop)

    monkeypatch.setattr(module, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_database("ecommerce", path, scale=800, seed=2)
    monkeypatch.setattr(module, "build", real)
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["ec.duckdb"]
    still = connect(path, read_only=True)
    assert scalar(still, "SELECT COUNT(*) FROM fact_order_line") == lines_1
    still.disconnect()

    build_database("ecommerce", path, scale=800, seed=2)
    again = connect(path, read_only=True)
    assert scalar(again, "SELECT COUNT(*) FROM fact_order_line") != lines_1
    assert scalar(again, "SELECT seed FROM _build_info") == 2
    again.disconnect()


# ---------------------------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------------------------
def _wrongs(answer: pd.DataFrame) -> list[pd.DataFrame]:
    """The reference answer with one number changed and, if it has several rows, one row dropped."""
    numeric = [
        c
        for c in answer.columns
        if pd.api.types.is_numeric_dtype(answer[c])
        or (answer[c].dtype == object and isinstance(answer[c].iloc[0], Decimal))
    ]
    value_col = numeric[-1]
    changed = answer.copy()
    changed[value_col] = changed[value_col].astype(float)
    changed.iloc[0, changed.columns.get_loc(value_col)] = (
        changed[value_col].iloc[0] * 1.1 + 1
    )
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
                  FROM fact_order o JOIN fact_order_line ol USING (order_id) GROUP BY 1"""
    assert check("ecommerce.fan_out", fan_out, con).correct is False
    per_line = """SELECT SUM(amt - discount) / COUNT(*) AS aov FROM fact_order_line
                  WHERE order_time >= '2025-01-01'"""
    assert check("ecommerce.aov", per_line, con).correct is False
    right = """SELECT SUM(amt - discount) / COUNT(DISTINCT order_id) AS aov FROM fact_order_line
               WHERE order_time >= '2025-01-01' AND order_time < '2026-01-01'"""
    assert check("ecommerce.aov", right, con).correct is True
    utc_day = """SELECT CAST(order_time AS DATE) AS order_date, SUM(net_amt) AS net_sales
                 FROM fact_order_line
                 WHERE store_id = 6 AND order_time >= '2025-07-01' AND order_time < '2025-08-01'
                 GROUP BY 1"""
    assert check("ecommerce.local_day", utc_day, con).correct is False
    no_deleted = """SELECT COUNT(*) AS refunds, SUM(r.refund_amt) AS refund_amt
                    FROM fact_order_return r JOIN dim_customer c
                      ON c.customer_id = r.customer_id AND c.is_current AND NOT c.is_deleted"""
    assert check("ecommerce.refund_after_closure", no_deleted, con).correct is False


def test_cli_builds_and_prints_metrics(tmp_path, capsys):
    from datamodeling.cli import main

    db = tmp_path / "cli.duckdb"
    assert main(["build", "ecommerce", "--scale", "tiny", "--db", str(db)]) == 0
    assert "fact_order_line" in capsys.readouterr().out
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
