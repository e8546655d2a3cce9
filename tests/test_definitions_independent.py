"""Every metric computed a second time, from its written definition alone.

Issue 10 asks that each metric's definition be precise enough for someone else to implement it
from the text and get the same numbers. These implementations were written that way: from the
``requirement`` and ``definition`` of each metric, the schema's column descriptions, the
conventions page and the brief, without reading the metric's code or its SQL. They are plain
pandas over whole tables (no Ibis expression of the package, no hand-off to its SQL), and each
result is compared value by value with the book's (``exercises.compare``).

Where the text left a choice open, the reading taken is written beside the code (``Reading:``).
A disagreement found this way was settled by fixing the definition or the code, so that the
two say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from datamodeling import registry, warehouse
from datamodeling.exercises import compare

IMPLEMENTATIONS: dict[tuple[str, str], Callable] = {}


def implements(practice: str, metric: str):
    def register(fn):
        IMPLEMENTATIONS[(practice, metric)] = fn
        return fn

    return register


class Tables:
    """Whole warehouse tables as pandas frames, read once."""

    def __init__(self, con):
        self.con = con
        self._cache: dict[str, pd.DataFrame] = {}

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._cache:
            self._cache[name] = self.con.table(name).to_pandas()
        return self._cache[name].copy()


def cents(values: pd.Series) -> pd.Series:
    """DECIMAL(18, 2) money as exact integer cents (sums of integers are exact)."""
    return (values.astype("float64") * 100).round().astype("int64")


def dollars(c) -> pd.Series:
    return c / 100


def local_time(utc: pd.Series, zones: pd.Series) -> pd.Series:
    """Naive UTC instants to naive wall-clock time in each row's IANA zone (UTC if unknown)."""
    out = utc.copy()
    for zone in zones.dropna().unique():
        rows = zones == zone
        try:
            converted = utc[rows].dt.tz_localize("UTC").dt.tz_convert(zone)
        except Exception:  # 'Unknown', 'Not applicable': the clock is unknown, keep UTC
            continue
        out[rows] = converted.dt.tz_localize(None)
    return out


def month_start(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.to_timestamp()


def months_between(a: pd.Series, b: str) -> pd.Series:
    """Calendar months from each month a to month b."""
    b = pd.Timestamp(b)
    return (b.year - a.dt.year) * 12 + (b.month - a.dt.month)


# =============================================================================================
# e-commerce
# =============================================================================================
EC_FIRST_DAY, EC_LAST_DAY = pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-30")
AS_OF = pd.Timestamp("2026-01-01")


def _ec_lines(t: Tables) -> pd.DataFrame:
    """Order lines with the store's local day (computed here from the store's time zone)."""
    lines = t.fact_order_line
    stores = t.dim_store[["store_id", "time_zone"]]
    lines = lines.merge(stores, on="store_id", how="left", validate="many_to_one")
    # Reading: a store whose time zone is unknown keeps UTC (the book's rule for unknown places).
    lines["local_day"] = local_time(lines["order_time"], lines["time_zone"]).dt.normalize()
    lines["gross_c"] = cents(lines["amt"])
    lines["discount_c"] = cents(lines["discount"])
    lines["net_c"] = lines["gross_c"] - lines["discount_c"]
    complete = lines["local_day"].between(EC_FIRST_DAY, EC_LAST_DAY)
    return lines[complete]


def _ec_top_category(t: Tables) -> pd.DataFrame:
    cat = t.dim_product_category[["product_category_id", "category_name", "parent_category_id"]]
    parent = dict(zip(cat["product_category_id"], cat["parent_category_id"], strict=True))
    names = dict(zip(cat["product_category_id"], cat["category_name"], strict=True))

    def top(c):
        seen = 0
        while c in parent and not pd.isna(parent[c]) and seen < 10:
            c, seen = int(parent[c]), seen + 1
        return c

    cat["top_category_id"] = cat["product_category_id"].map(top)
    cat["top_category_name"] = cat["top_category_id"].map(names)
    return cat


@implements("ecommerce", "daily_sales_by_category")
def ec_daily_sales_by_category(t: Tables) -> pd.DataFrame:
    lines = _ec_lines(t)
    out = (
        lines.groupby(["local_day", "product_category_id"])
        .agg(
            orders=("order_id", "nunique"),
            units=("count", "sum"),
            gross_c=("gross_c", "sum"),
            discount_c=("discount_c", "sum"),
            net_c=("net_c", "sum"),
        )
        .reset_index()
    )
    out = out.merge(_ec_top_category(t), on="product_category_id", how="left")
    out["order_date"] = out["local_day"].dt.date
    out["gross_sales"] = dollars(out["gross_c"])
    out["discount"] = dollars(out["discount_c"])
    out["net_sales"] = dollars(out["net_c"])
    return out[
        [
            "order_date",
            "product_category_id",
            "category_name",
            "top_category_id",
            "top_category_name",
            "orders",
            "units",
            "gross_sales",
            "discount",
            "net_sales",
        ]
    ]


@implements("ecommerce", "daily_sales_by_top_category")
def ec_daily_sales_by_top_category(t: Tables) -> pd.DataFrame:
    lines = _ec_lines(t).merge(
        _ec_top_category(t)[["product_category_id", "top_category_id", "top_category_name"]],
        on="product_category_id",
        how="left",
    )
    out = (
        lines.groupby(["local_day", "top_category_id", "top_category_name"])
        .agg(orders=("order_id", "nunique"), units=("count", "sum"), net_c=("net_c", "sum"))
        .reset_index()
    )
    out["order_date"] = out["local_day"].dt.date
    out["net_sales"] = dollars(out["net_c"])
    return out[
        ["order_date", "top_category_id", "top_category_name", "orders", "units", "net_sales"]
    ]


@implements("ecommerce", "daily_store_sales")
def ec_daily_store_sales(t: Tables) -> pd.DataFrame:
    lines = _ec_lines(t).drop(columns="time_zone")
    out = (
        lines.groupby(["store_id", "local_day"])
        .agg(orders=("order_id", "nunique"), units=("count", "sum"), net_c=("net_c", "sum"))
        .reset_index()
        .merge(t.dim_store[["store_id", "store_name", "time_zone"]], on="store_id", how="left")
    )
    out["order_date"] = out["local_day"].dt.date
    out["net_sales"] = dollars(out["net_c"])
    return out[
        ["store_id", "store_name", "time_zone", "order_date", "orders", "units", "net_sales"]
    ]


def _ec_orders(t: Tables) -> pd.DataFrame:
    """One row per order: its customer, time, net sales (from its lines) and first-order flag."""
    orders = t.fact_order[
        ["order_id", "order_time", "customer_id", "campaign_id", "order_flags_key"]
    ]
    lines = t.fact_order_line
    lines["net_c"] = cents(lines["amt"]) - cents(lines["discount"])
    net = lines.groupby("order_id")["net_c"].sum()
    orders["net_c"] = orders["order_id"].map(net).fillna(0).astype("int64")
    flags = t.dim_order_flags.set_index("order_flags_key")["is_first_order"]
    orders["is_first_order"] = orders["order_flags_key"].map(flags).fillna(False).astype(bool)
    orders["order_month"] = month_start(orders["order_time"])
    return orders


@implements("ecommerce", "customer_rfm")
def ec_customer_rfm(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    orders = orders[(orders["order_time"] < AS_OF) & (orders["customer_id"] > 0)]
    per = orders.groupby("customer_id").agg(
        first_order_time=("order_time", "min"), last_order_time=("order_time", "max")
    )
    year = orders[orders["order_time"] >= AS_OF - pd.Timedelta(days=365)]
    per["frequency"] = year.groupby("customer_id").size()
    per["monetary_c"] = year.groupby("customer_id")["net_c"].sum()
    per = per.fillna({"frequency": 0, "monetary_c": 0})
    per["recency_days"] = (AS_OF - per["last_order_time"].dt.normalize()).dt.days
    new_window = orders["is_first_order"] & (orders["order_time"] >= AS_OF - pd.Timedelta(days=30))
    new = set(orders.loc[new_window, "customer_id"])

    def segment(row):
        r, f = row.recency_days, row.frequency
        if row.Index in new:
            return "New"
        if r <= 30 and f >= 10:
            return "Champions"
        if f >= 10:
            return "Loyal"
        if f >= 3 and r <= 90:
            return "Regular"
        if f >= 3:
            return "At risk"
        if f >= 1:
            return "Occasional"
        return "Lost"

    per["segment"] = [segment(row) for row in per.itertuples()]
    per["monetary"] = dollars(per["monetary_c"])
    per = per.reset_index()
    return per[
        [
            "customer_id",
            "first_order_time",
            "last_order_time",
            "recency_days",
            "frequency",
            "monetary",
            "segment",
        ]
    ]


@implements("ecommerce", "customer_segments")
def ec_customer_segments(t: Tables) -> pd.DataFrame:
    rfm = ec_customer_rfm(t)
    rfm["monetary_c"] = (rfm["monetary"] * 100).round().astype("int64")
    out = (
        rfm.groupby("segment")
        .agg(
            customers=("customer_id", "size"),
            revenue_c=("monetary_c", "sum"),
            avg_recency_days=("recency_days", "mean"),
            avg_frequency=("frequency", "mean"),
        )
        .reset_index()
    )
    out["customer_share"] = out["customers"] / out["customers"].sum()
    out["revenue"] = dollars(out["revenue_c"])
    out["revenue_share"] = out["revenue_c"] / out["revenue_c"].sum()
    out["avg_monetary"] = out["revenue_c"] / 100 / out["customers"]
    return out[
        [
            "segment",
            "customers",
            "customer_share",
            "revenue",
            "revenue_share",
            "avg_recency_days",
            "avg_frequency",
            "avg_monetary",
        ]
    ]


@implements("ecommerce", "average_order_value")
def ec_average_order_value(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    out = (
        orders.groupby("order_month")
        .agg(orders=("order_id", "size"), net_c=("net_c", "sum"))
        .reset_index()
    )
    out["net_sales"] = dollars(out["net_c"])
    out["aov"] = out["net_c"] / 100 / out["orders"]
    out["order_month"] = out["order_month"].dt.date
    return out[["order_month", "orders", "net_sales", "aov"]]


def _ec_cohorts(t: Tables, orders: pd.DataFrame) -> pd.DataFrame:
    """customer_id -> cohort month, for every non-reserved customer that has one."""
    cust = t.dim_customer
    cust = cust[cust["is_current"] & (cust["customer_id"] > 0)]
    first_order = orders.groupby("customer_id")["order_time"].min()
    signed_up = cust["created_at"].where(
        ~cust["is_inferred"].fillna(False).astype(bool), cust["customer_id"].map(first_order)
    )
    cohorts = pd.DataFrame({"customer_id": cust["customer_id"], "signed_up": signed_up})
    cohorts = cohorts.dropna(subset=["signed_up"])
    cohorts["cohort_month"] = month_start(cohorts["signed_up"])
    return cohorts


def _ec_returns_per_order(t: Tables) -> pd.Series:
    ret = t.fact_order_return
    ret["ret_c"] = cents(ret["return_net_amt"])
    return ret.groupby("order_id")["ret_c"].sum()


@implements("ecommerce", "customer_lifetime_value")
def ec_customer_lifetime_value(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    cohorts = _ec_cohorts(t, orders)
    orders["ret_c"] = orders["order_id"].map(_ec_returns_per_order(t)).fillna(0).astype("int64")
    orders = orders.merge(cohorts[["customer_id", "cohort_month"]], on="customer_id")
    size = cohorts.groupby("cohort_month").size().rename("customers")
    per = orders.groupby("cohort_month").agg(
        orders=("order_id", "size"),
        first_orders=("is_first_order", "sum"),
        revenue_c=("net_c", "sum"),
        returned_c=("ret_c", "sum"),
    )
    out = pd.concat([size, per], axis=1).reset_index().rename(columns={"index": "cohort_month"})
    out = out.fillna({"orders": 0, "first_orders": 0, "revenue_c": 0, "returned_c": 0})
    out["is_left_censored"] = out["cohort_month"] < EC_FIRST_DAY
    start = out["cohort_month"].where(~out["is_left_censored"], EC_FIRST_DAY)
    out["months_observed"] = months_between(start, "2025-12-01") + 1
    out["revenue"] = dollars(out["revenue_c"])
    out["returned"] = dollars(out["returned_c"])
    after_c = out["revenue_c"] - out["returned_c"]
    out["revenue_after_returns"] = dollars(after_c)
    out["historical_clv"] = out["revenue_c"] / 100 / out["customers"]
    out["historical_clv_after_returns"] = after_c / 100 / out["customers"]
    out["aov_after_returns"] = (after_c / 100 / out["orders"]).where(out["orders"] > 0)
    out["repeat_orders_per_customer_month"] = (out["orders"] - out["first_orders"]) / (
        out["customers"] * out["months_observed"]
    )
    out["predicted_clv_36m"] = out["aov_after_returns"] * (
        out["first_orders"] / out["customers"] + out["repeat_orders_per_customer_month"] * 36
    )
    out["cohort_month"] = out["cohort_month"].dt.date
    return out[
        [
            "cohort_month",
            "is_left_censored",
            "customers",
            "months_observed",
            "orders",
            "first_orders",
            "revenue",
            "returned",
            "revenue_after_returns",
            "historical_clv",
            "historical_clv_after_returns",
            "aov_after_returns",
            "repeat_orders_per_customer_month",
            "predicted_clv_36m",
        ]
    ]


@implements("ecommerce", "clv_cohort_curves")
def ec_clv_cohort_curves(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    cohorts = _ec_cohorts(t, orders)
    orders["ret_c"] = orders["order_id"].map(_ec_returns_per_order(t)).fillna(0).astype("int64")
    orders = orders.merge(cohorts[["customer_id", "cohort_month"]], on="customer_id")
    size = cohorts.groupby("cohort_month").size()
    sums = orders.groupby(["cohort_month", "order_month"])[["net_c", "ret_c"]].sum()
    rows = []
    for cohort, customers in size.items():
        first = max(cohort, EC_FIRST_DAY)
        cum = cum_after = 0
        for month in pd.date_range(first, "2025-12-01", freq="MS"):
            net, ret = sums.loc[(cohort, month)] if (cohort, month) in sums.index else (0, 0)
            cum += net
            cum_after += net - ret
            rows.append(
                {
                    "cohort_month": cohort.date(),
                    "is_left_censored": cohort < EC_FIRST_DAY,
                    "months_since": (month.year - cohort.year) * 12 + month.month - cohort.month,
                    "cohort_customers": customers,
                    "revenue": net / 100,
                    "returned": ret / 100,
                    "cumulative_clv": cum / 100 / customers,
                    "cumulative_clv_after_returns": cum_after / 100 / customers,
                }
            )
    return pd.DataFrame(rows)


@implements("ecommerce", "net_sales_after_returns")
def ec_net_sales_after_returns(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    orders["ret_c"] = orders["order_id"].map(_ec_returns_per_order(t)).fillna(0).astype("int64")
    out = orders.groupby("order_month").agg(
        orders=("order_id", "size"), net_c=("net_c", "sum"), of_orders_c=("ret_c", "sum")
    )
    ret = t.fact_order_return
    ret["ret_c"] = cents(ret["return_net_amt"])
    booked = ret.groupby(month_start(ret["return_time"]))["ret_c"].sum()
    out["booked_c"] = out.index.map(booked).fillna(0).astype("int64")
    out = out.reset_index()
    next_month = out["order_month"] + pd.offsets.MonthBegin(1)
    out["is_final"] = next_month + pd.Timedelta(days=30) <= AS_OF
    out["month"] = out["order_month"].dt.date
    out["net_sales"] = dollars(out["net_c"])
    out["returns_booked"] = dollars(out["booked_c"])
    out["net_sales_after_returns_booked"] = dollars(out["net_c"] - out["booked_c"])
    out["returns_of_orders"] = dollars(out["of_orders_c"])
    out["net_sales_after_returns_of_orders"] = dollars(out["net_c"] - out["of_orders_c"])
    return out[
        [
            "month",
            "orders",
            "net_sales",
            "returns_booked",
            "net_sales_after_returns_booked",
            "returns_of_orders",
            "net_sales_after_returns_of_orders",
            "is_final",
        ]
    ]


def _ec_stock(t: Tables) -> pd.DataFrame:
    """End-of-day stock per store, product and local day, rebuilt from the stock movements."""
    ev = t.fact_inventory_event.merge(t.dim_store[["store_id", "time_zone"]], on="store_id")
    ev["day"] = local_time(ev["event_time"], ev["time_zone"]).dt.normalize()
    ev["sold"] = np.where(ev["event_type"] == "sale", -ev["quantity_change"], 0)
    daily = ev.groupby(["store_id", "product_id", "day"])[["quantity_change", "sold"]].sum()
    # The last local day that ended inside the data: the day before the one the end falls in.
    stores = t.dim_store
    end = local_time(pd.Series(AS_OF, index=stores.index), stores["time_zone"]).dt.normalize()
    last_day = dict(zip(stores["store_id"], end - pd.Timedelta(days=1), strict=True))
    frames = []
    for (store, product), g in daily.groupby(level=[0, 1]):
        g = g.droplevel([0, 1])
        days = pd.date_range(g.index.min(), last_day[store], freq="D")
        g = g.reindex(days, fill_value=0)
        f = pd.DataFrame(
            {
                "snapshot_date": days.date,
                "store_id": store,
                "product_id": product,
                "quantity_on_hand": g["quantity_change"].cumsum().to_numpy(),
                "units_sold": g["sold"].to_numpy(),
            }
        )
        f["avg_daily_units_28d"] = f["units_sold"].rolling(28, min_periods=1).mean()
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@implements("ecommerce", "inventory_levels")
def ec_inventory_levels(t: Tables) -> pd.DataFrame:
    out = _ec_stock(t)
    out["is_stock_out"] = out["quantity_on_hand"] <= 0
    mean = out["avg_daily_units_28d"]
    out["days_of_cover"] = (out["quantity_on_hand"] / mean).where(mean != 0)
    return out[
        [
            "snapshot_date",
            "store_id",
            "product_id",
            "quantity_on_hand",
            "units_sold",
            "is_stock_out",
            "avg_daily_units_28d",
            "days_of_cover",
        ]
    ]


@implements("ecommerce", "stock_out_summary")
def ec_stock_out_summary(t: Tables) -> pd.DataFrame:
    stock = _ec_stock(t)
    stock["out"] = stock["quantity_on_hand"] <= 0
    return (
        stock.groupby(["store_id", "product_id"])
        .agg(
            days=("snapshot_date", "size"),
            stock_out_days=("out", "sum"),
            units_sold=("units_sold", "sum"),
            avg_on_hand=("quantity_on_hand", "mean"),
        )
        .reset_index()
    )


@implements("ecommerce", "campaign_effectiveness")
def ec_campaign_effectiveness(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    orders["day"] = orders["order_time"].dt.normalize()
    per_day = orders.groupby("day").size()
    camps = t.dim_campaign
    camps = camps[camps["campaign_id"] > 0].reset_index(drop=True)
    camps["start_day"] = camps["campaign_start_time"].dt.normalize()
    camps["end_day"] = camps["campaign_end_time"].dt.normalize()
    windows = {
        r.campaign_id: set(pd.date_range(r.start_day, r.end_day - pd.Timedelta(days=1)))
        for r in camps.itertuples()
    }
    rows = []
    for r in camps.itertuples():
        att = orders[orders["campaign_id"] == r.campaign_id]
        n_att, rev = len(att), int(att["net_c"].sum())
        others = set().union(*(d for c, d in windows.items() if c != r.campaign_id))
        window_days = sorted(windows[r.campaign_id])
        window_orders = sum(per_day.get(d, 0) for d in window_days)
        base = [
            d
            for d in pd.date_range(r.start_day - pd.Timedelta(days=28), periods=28)
            if d not in others
        ]
        base_orders = sum(per_day.get(d, 0) for d in base)
        wpd = window_orders / len(window_days)
        bpd = base_orders / len(base) if base_orders > 0 else None
        rows.append(
            {
                "campaign_id": r.campaign_id,
                "campaign_name": r.campaign_name,
                "channel": r.channel,
                "attributed_orders": n_att,
                "attributed_revenue": rev / 100,
                "attributed_aov": rev / 100 / n_att if n_att else None,
                "new_customers": int(att["is_first_order"].sum()),
                "window_orders_per_day": wpd,
                "baseline_days": len(base),
                "baseline_orders_per_day": bpd,
                "lift_vs_pre_period": wpd / bpd if bpd else None,
                "overlaps_other_campaign": bool(windows[r.campaign_id] & others),
            }
        )
    return pd.DataFrame(rows)


@implements("ecommerce", "campaign_holdout_lift")
def ec_campaign_holdout_lift(t: Tables) -> pd.DataFrame:
    orders = _ec_orders(t)
    audience = t.fact_campaign_audience
    camps = t.dim_campaign.set_index("campaign_id")
    rows = []
    for cid, members in audience.groupby("campaign_id"):
        c = camps.loc[cid]
        start, end = c["campaign_start_time"], c["campaign_end_time"]
        mine = orders[orders["customer_id"].isin(members["customer_id"])]
        in_window = mine[(mine["order_time"] >= start) & (mine["order_time"] < end)]
        in_sales = mine[
            (mine["order_time"] >= start) & (mine["order_time"] < end + pd.Timedelta(days=28))
        ]
        m = members[["customer_id", "is_holdout"]].copy()
        m["orders"] = m["customer_id"].map(in_window.groupby("customer_id").size()).fillna(0)
        m["sales"] = (
            m["customer_id"].map(in_sales.groupby("customer_id")["net_c"].sum()).fillna(0) / 100
        )
        tr, ho = m[~m["is_holdout"]], m[m["is_holdout"]]
        n_t, n_h = len(tr), len(ho)
        m_t, m_h = tr["orders"].mean(), ho["orders"].mean()
        v_t, v_h = tr["orders"].var(ddof=1), ho["orders"].var(ddof=1)
        s_t, s_h = tr["sales"].mean(), ho["sales"].mean()
        w_t, w_h = tr["sales"].var(ddof=1), ho["sales"].var(ddof=1)
        if m_t > 0 and m_h > 0:
            lift = m_t / m_h
            lift_se = lift * math.sqrt(v_t / (n_t * m_t**2) + v_h / (n_h * m_h**2))
        else:
            lift = lift_se = None
        inc = (s_t - s_h) * n_t
        inc_se = n_t * math.sqrt(w_t / n_t + w_h / n_h)
        spend = float(c["spend_amt"])
        rows.append(
            {
                "campaign_id": cid,
                "campaign_name": c["campaign_name"],
                "channel": c["channel"],
                "treated_customers": n_t,
                "holdout_customers": n_h,
                "treated_orders_per_customer": m_t,
                "holdout_orders_per_customer": m_h,
                "lift": lift,
                "lift_se": lift_se,
                "incremental_orders": (m_t - m_h) * n_t,
                "incremental_net_sales": inc,
                "incremental_net_sales_se": inc_se,
                "spend_amt": spend,
                "roi": (inc - spend) / spend,
                "roi_se": inc_se / spend,
            }
        )
    return pd.DataFrame(rows)


# =============================================================================================
# the comparison
# =============================================================================================
@pytest.fixture(scope="module")
def warehouses():
    """The book's default warehouse of each practice (built once if missing), read-only."""
    opened: dict[str, Tables] = {}
    yield lambda practice: opened.setdefault(practice, Tables(warehouse.open_practice(practice)))
    for t in opened.values():
        t.con.disconnect()


@pytest.mark.parametrize(("practice", "metric"), sorted(IMPLEMENTATIONS), ids=lambda v: str(v))
def test_definition_gives_the_books_numbers(warehouses, practice, metric):
    t = warehouses(practice)
    mine = IMPLEMENTATIONS[(practice, metric)](t)
    book = registry.get_practice(practice).metrics[metric].to_pandas(t.con)
    assert len(book) > 0, "an empty result would agree with anything"
    # rtol 1e-9: money sums must agree to the cent, not within a millionth
    assert compare(book, mine, rtol=1e-9) is None, compare(book, mine, rtol=1e-9)
    # and the comparison would see a difference of one cent (or one unit) in one row
    numeric = [c for c in mine.columns if pd.api.types.is_numeric_dtype(mine[c])]
    assert numeric, "nothing numeric to compare"
    nudged = mine.copy()
    col = numeric[-1]
    row = nudged[col].first_valid_index()
    nudged[col] = nudged[col].astype("float64")
    nudged.loc[row, col] += 0.01 if abs(nudged.loc[row, col]) < 1e5 else 1
    assert compare(book, nudged, rtol=1e-9) is not None
