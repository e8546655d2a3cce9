"""The e-commerce metrics: one Ibis function and one hand-written SQL query per requirement.

Words shared by every definition (each definition repeats what it uses):

* **net sales** of a line is ``amt - discount``: after discounts, before tax and shipping, and
  *before returns*. **Net sales after returns** subtract the ``return_net_amt`` of the returns
  (the net amount given back; the refunded tax is not revenue either way).
* **Time** is event time (``order_time``, ``return_time``), never the load time ``loaded_at``.
  Company-level periods (months, the as-of instant, campaign windows) are on UTC, the company's
  books. A store's *trading day* is the local day of the store that sold the line
  (``local_date_key``, from the store's IANA ``time_zone``; the web shop keeps the day of its
  fulfilment centre in Columbus, America/New_York).
* The data holds every order placed in ``[2024-01-01 00:00, 2026-01-01 00:00)`` UTC. Every UTC
  day and month in it is complete. Local trading days are complete from 2024-01-01 to
  2025-12-30: the evening of 2023-12-31 (local) and the end of 2025-12-31 (local, cut at midnight
  UTC: 19:00 in the East, 16:00 in Seattle) are partial and left out of daily local metrics.
* Windows are half-open, ``[start, end)``. Reserved members (Unknown -1, Not applicable -2) are
  never campaigns, customers or products to report on; facts pointing at them still count in
  every total.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

AS_OF = "2026-01-01"  # the instant the data ends (exclusive), UTC
DATA_START = datetime(2024, 1, 1)
DATA_END = datetime(2026, 1, 1)
FIRST_LOCAL_DAY = date(2024, 1, 1)  # the first complete local trading day in every store
LAST_LOCAL_DAY = date(2025, 12, 30)  # the last one: 2025-12-31 is cut by the end of the data
BASELINE_DAYS = 28
POST_DAYS = 28  # days after a campaign in which pulled-forward orders are missing
RETURN_WINDOW_DAYS = 30
MONEY = "decimal(18, 2)"


def _ts(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _money(value: ir.Value) -> ir.Value:
    """A sum of money, exact, as DECIMAL(18, 2) (a sum of DECIMAL(18, 2) is DECIMAL(38, 2))."""
    return value.cast(MONEY)


def _zero() -> ir.Value:
    return ibis.literal(0).cast(MONEY)


def _months_between(later, earlier):
    return (later.year() - earlier.year()) * 12 + (later.month() - earlier.month())


# ---------------------------------------------------------------------------------------------
# 1. daily sales by product category, on the stores' own days
# ---------------------------------------------------------------------------------------------
def _lines_by_trading_day(con) -> ir.Table:
    """Order lines of complete local trading days, with the day as ``order_date``."""
    lines = con.table("fact_order_line")
    days = con.table("dim_date").select(_day_key="date_key", order_date="calendar_date")
    t = lines.join(days, lines.local_date_key == days._day_key)
    return t.filter((t.order_date >= FIRST_LOCAL_DAY) & (t.order_date <= LAST_LOCAL_DAY))


def daily_sales_by_category(con) -> ir.Table:
    lines = _lines_by_trading_day(con)
    cats = con.table("dim_product_category")
    t = lines.join(cats, "product_category_id")
    return t.group_by(
        order_date=t.order_date,
        product_category_id=t.product_category_id,
        category_name=t.category_name,
        top_category_id=t.top_category_id,
        top_category_name=t.top_category_name,
    ).agg(
        orders=t.order_id.nunique(),
        units=t["count"].sum(),
        gross_sales=_money(t.amt.sum()),
        discount=_money(t.discount.sum()),
        net_sales=_money(t.net_amt.sum()),
    )


DAILY_SALES_SQL = """
SELECT d.calendar_date                  AS order_date,
       ol.product_category_id,
       c.category_name,
       c.top_category_id,
       c.top_category_name,
       COUNT(DISTINCT ol.order_id)      AS orders,
       SUM(ol.count)                    AS units,
       SUM(ol.amt)                      AS gross_sales,
       SUM(ol.discount)                 AS discount,
       SUM(ol.amt - ol.discount)        AS net_sales
FROM fact_order_line AS ol
JOIN dim_date AS d ON d.date_key = ol.local_date_key          -- the store's own day
JOIN dim_product_category AS c ON c.product_category_id = ol.product_category_id
WHERE d.calendar_date BETWEEN DATE '2024-01-01' AND DATE '2025-12-30'   -- complete days only
GROUP BY 1, 2, 3, 4, 5
"""


def daily_sales_by_top_category(con) -> ir.Table:
    lines = _lines_by_trading_day(con)
    cats = con.table("dim_product_category")
    t = lines.join(cats, "product_category_id")
    return t.group_by(
        order_date=t.order_date,
        top_category_id=t.top_category_id,
        top_category_name=t.top_category_name,
    ).agg(
        orders=t.order_id.nunique(),
        units=t["count"].sum(),
        net_sales=_money(t.net_amt.sum()),
    )


# rolled up through parent_category_id (the brief's hierarchy), not the flattened columns
DAILY_TOP_SQL = """
SELECT d.calendar_date                                             AS order_date,
       COALESCE(parent.product_category_id, c.product_category_id) AS top_category_id,
       COALESCE(parent.category_name, c.category_name)             AS top_category_name,
       COUNT(DISTINCT ol.order_id)                                 AS orders,
       SUM(ol.count)                                               AS units,
       SUM(ol.amt - ol.discount)                                   AS net_sales
FROM fact_order_line AS ol
JOIN dim_date AS d ON d.date_key = ol.local_date_key
JOIN dim_product_category AS c ON c.product_category_id = ol.product_category_id
LEFT JOIN dim_product_category AS parent
       ON parent.product_category_id = c.parent_category_id
WHERE d.calendar_date BETWEEN DATE '2024-01-01' AND DATE '2025-12-30'
GROUP BY 1, 2, 3
"""


def daily_store_sales(con) -> ir.Table:
    lines = _lines_by_trading_day(con)
    stores = con.table("dim_store").select("store_id", "store_name", "time_zone")
    t = lines.join(stores, "store_id")
    return t.group_by(
        store_id=t.store_id,
        store_name=t.store_name,
        time_zone=t.time_zone,
        order_date=t.order_date,
    ).agg(
        orders=t.order_id.nunique(),
        units=t["count"].sum(),
        net_sales=_money(t.net_amt.sum()),
    )


DAILY_STORE_SQL = """
SELECT ol.store_id, s.store_name, s.time_zone,
       d.calendar_date                  AS order_date,
       COUNT(DISTINCT ol.order_id)      AS orders,
       SUM(ol.count)                    AS units,
       SUM(ol.net_amt)                  AS net_sales
FROM fact_order_line AS ol
JOIN dim_store AS s USING (store_id)
JOIN dim_date AS d ON d.date_key = ol.local_date_key
WHERE d.calendar_date BETWEEN DATE '2024-01-01' AND DATE '2025-12-30'
GROUP BY 1, 2, 3, 4
"""


# ---------------------------------------------------------------------------------------------
# 2. customer purchase history for segmentation: RFM
# ---------------------------------------------------------------------------------------------
SEGMENT_ORDER = ["New", "Champions", "Loyal", "Regular", "At risk", "Occasional", "Lost"]


def _orders_with_flags(con) -> ir.Table:
    orders = con.table("fact_order")
    flags = con.table("dim_order_flags").select("order_flags_key", "is_first_order")
    return orders.join(flags, "order_flags_key")


def customer_rfm(con, as_of: str = AS_OF) -> ir.Table:
    orders = _orders_with_flags(con)
    cutoff = _ts(as_of)
    year_ago = cutoff - timedelta(days=365)
    # the reserved members (Unknown -1, Not applicable -2) are not customers to segment
    past = orders.filter((orders.order_time < cutoff) & (orders.customer_id >= 0))
    recent = past.order_time >= year_ago
    per = past.group_by("customer_id").agg(
        first_order_time=past.order_time.min(),
        last_order_time=past.order_time.max(),
        first_order_ever=past.order_time.min(where=past.is_first_order),
        frequency=past.count(where=recent),
        monetary=_money(past.net_amt.sum(where=recent).fill_null(_zero())),
    )
    recency = ibis.literal(cutoff.date()).delta(per.last_order_time.date(), unit="day")
    per = per.mutate(recency_days=recency.cast("int64"), frequency=per.frequency.cast("int64"))
    segment = ibis.cases(
        (per.first_order_ever >= cutoff - timedelta(days=30), "New"),
        ((per.recency_days <= 30) & (per.frequency >= 10), "Champions"),
        (per.frequency >= 10, "Loyal"),
        ((per.frequency >= 3) & (per.recency_days <= 90), "Regular"),
        (per.frequency >= 3, "At risk"),
        (per.frequency >= 1, "Occasional"),
        else_="Lost",
    )
    return per.mutate(segment=segment).select(
        "customer_id",
        "first_order_time",
        "last_order_time",
        "recency_days",
        "frequency",
        "monetary",
        "segment",
    )


_RFM_CTE = """
WITH orders_ AS (
    SELECT o.*, f.is_first_order
    FROM fact_order o JOIN dim_order_flags f USING (order_flags_key)
    WHERE o.order_time < TIMESTAMP '{as_of}'
      AND o.customer_id >= 0                     -- reserved members are not customers
), per_customer AS (
    SELECT customer_id,
           MIN(order_time) AS first_order_time,
           MAX(order_time) AS last_order_time,
           MIN(order_time) FILTER (WHERE is_first_order) AS first_order_ever,
           COUNT(*) FILTER (WHERE order_time >= TIMESTAMP '{as_of}' - INTERVAL 365 DAY)
               AS frequency,
           COALESCE(SUM(net_amt) FILTER (
               WHERE order_time >= TIMESTAMP '{as_of}' - INTERVAL 365 DAY), 0) AS monetary
    FROM orders_
    GROUP BY customer_id
), rfm AS (
    SELECT customer_id, first_order_time, last_order_time, first_order_ever,
           DATE_DIFF('day', CAST(last_order_time AS DATE), DATE '{as_of}') AS recency_days,
           frequency, monetary
    FROM per_customer
)
SELECT customer_id, first_order_time, last_order_time, recency_days, frequency, monetary,
       CASE
           WHEN first_order_ever >= TIMESTAMP '{as_of}' - INTERVAL 30 DAY THEN 'New'
           WHEN recency_days <= 30 AND frequency >= 10 THEN 'Champions'
           WHEN frequency >= 10 THEN 'Loyal'
           WHEN frequency >= 3 AND recency_days <= 90 THEN 'Regular'
           WHEN frequency >= 3 THEN 'At risk'
           WHEN frequency >= 1 THEN 'Occasional'
           ELSE 'Lost'
       END AS segment
FROM rfm
"""
CUSTOMER_RFM_SQL = _RFM_CTE.format(as_of=AS_OF)


def customer_segments(con, as_of: str = AS_OF) -> ir.Table:
    rfm = customer_rfm(con, as_of)
    monetary = rfm.monetary.cast("float64")
    seg = rfm.group_by("segment").agg(
        customers=rfm.count(),
        revenue=_money(rfm.monetary.sum()),
        avg_recency_days=rfm.recency_days.mean(),
        avg_frequency=rfm.frequency.mean(),
        avg_monetary=monetary.mean(),
    )
    revenue = seg.revenue.cast("float64")
    return seg.mutate(
        customer_share=seg.customers / seg.customers.sum().over(),
        revenue_share=revenue / revenue.sum().over(),
    ).select(
        "segment",
        "customers",
        "customer_share",
        "revenue",
        "revenue_share",
        "avg_recency_days",
        "avg_frequency",
        "avg_monetary",
    )


CUSTOMER_SEGMENTS_SQL = f"""
WITH customer_rfm AS ({CUSTOMER_RFM_SQL})
SELECT segment,
       COUNT(*)                                              AS customers,
       COUNT(*) * 1.0 / SUM(COUNT(*)) OVER ()                AS customer_share,
       SUM(monetary)                                         AS revenue,
       CAST(SUM(monetary) AS DOUBLE) / SUM(SUM(monetary)) OVER () AS revenue_share,
       AVG(recency_days)                                     AS avg_recency_days,
       AVG(frequency)                                        AS avg_frequency,
       AVG(CAST(monetary AS DOUBLE))                         AS avg_monetary
FROM customer_rfm
GROUP BY segment
"""


# ---------------------------------------------------------------------------------------------
# 3. average order value and customer lifetime value
# ---------------------------------------------------------------------------------------------
def average_order_value(con) -> ir.Table:
    orders = con.table("fact_order")
    month = orders.order_time.truncate("M").date()
    agg = orders.group_by(order_month=month).agg(
        orders=orders.count(), net_sales=_money(orders.net_amt.sum())
    )
    return agg.mutate(aov=agg.net_sales.cast("float64") / agg.orders)


AOV_SQL = """
SELECT CAST(DATE_TRUNC('month', order_time) AS DATE)             AS order_month,
       COUNT(*)                                                 AS orders,
       SUM(net_amt)                                             AS net_sales,
       CAST(SUM(net_amt) AS DOUBLE) / COUNT(*)                  AS aov
FROM fact_order
GROUP BY 1
"""


def _cohort_members(con) -> ir.Table:
    """One row per customer with a sign-up time: its cohort month and left-censoring flag."""
    customers = con.table("dim_customer")
    current = customers.filter(customers.is_current & (customers.customer_id >= 0)).select(
        "customer_id", "created_at"
    )
    orders = con.table("fact_order")
    first = orders.group_by("customer_id").agg(first_order_time=orders.order_time.min())
    t = current.left_join(first, "customer_id").drop("customer_id_right")
    t = t.mutate(signed_up_at=t.created_at.fill_null(t.first_order_time))
    t = t.filter(t.signed_up_at.notnull())
    return t.select(
        "customer_id",
        "signed_up_at",
        cohort_month=t.signed_up_at.truncate("M").date(),
        is_left_censored=t.signed_up_at < DATA_START,
    )


def _order_returns(con) -> ir.Table:
    """Net amount returned per order (every return in the data, whenever it came back)."""
    returns = con.table("fact_order_return")
    return returns.group_by("order_id").agg(returned=_money(returns.return_net_amt.sum()))


def customer_lifetime_value(con) -> ir.Table:
    members = _cohort_members(con)
    orders = _orders_with_flags(con).left_join(_order_returns(con), "order_id")
    orders = orders.select(
        "customer_id",
        "net_amt",
        "is_first_order",
        returned=orders.returned.fill_null(_zero()),
    )
    per_customer = orders.group_by("customer_id").agg(
        orders=orders.count(),
        first_orders=orders.count(where=orders.is_first_order),
        revenue=orders.net_amt.sum(),
        returned=orders.returned.sum(),
    )
    t = members.left_join(per_customer, "customer_id")
    c = t.group_by("cohort_month", "is_left_censored").agg(
        customers=t.count(),
        orders=t.orders.sum().fill_null(0),
        first_orders=t.first_orders.sum().fill_null(0),
        revenue=_money(t.revenue.sum().fill_null(_zero())),
        returned=_money(t.returned.sum().fill_null(_zero())),
    )
    first_month = ibis.greatest(c.cohort_month, ibis.literal(DATA_START.date()))
    c = c.mutate(
        revenue_after_returns=_money(c.revenue - c.returned),
        months_observed=(_months_between(ibis.literal(date(2025, 12, 1)), first_month) + 1).cast(
            "int64"
        ),
    )
    net = c.revenue_after_returns.cast("float64")
    c = c.mutate(
        historical_clv=c.revenue.cast("float64") / c.customers,
        historical_clv_after_returns=net / c.customers,
        aov_after_returns=ibis.ifelse(c.orders > 0, net / c.orders, ibis.null("float64")),
        repeat_orders_per_customer_month=(c.orders - c.first_orders)
        / (c.customers * c.months_observed),
    )
    predicted = c.aov_after_returns * (
        c.first_orders / c.customers + c.repeat_orders_per_customer_month * CLV_HORIZON_MONTHS
    )
    return c.mutate(predicted_clv_36m=predicted).select(
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
    )


CLV_HORIZON_MONTHS = 36

_COHORT_CTE = """
members AS (
    SELECT c.customer_id,
           COALESCE(c.created_at, f.first_order_time)                              AS signed_up_at,
           CAST(DATE_TRUNC('month', COALESCE(c.created_at, f.first_order_time)) AS DATE)
                                                                                   AS cohort_month,
           COALESCE(c.created_at, f.first_order_time) < TIMESTAMP '2024-01-01'    AS is_left_censored
    FROM dim_customer c
    LEFT JOIN (SELECT customer_id, MIN(order_time) AS first_order_time
               FROM fact_order GROUP BY customer_id) f USING (customer_id)
    WHERE c.is_current AND c.customer_id >= 0
      AND COALESCE(c.created_at, f.first_order_time) IS NOT NULL
), order_returns AS (
    SELECT order_id, SUM(return_net_amt) AS returned FROM fact_order_return GROUP BY order_id
), orders_ AS (
    SELECT o.order_id, o.customer_id, o.order_time, o.net_amt, f.is_first_order,
           COALESCE(r.returned, 0) AS returned
    FROM fact_order o
    JOIN dim_order_flags f USING (order_flags_key)
    LEFT JOIN order_returns r USING (order_id)
)"""

CLV_SQL = f"""
WITH {_COHORT_CTE}, per_customer AS (
    SELECT customer_id, COUNT(*) AS orders, COUNT(*) FILTER (WHERE is_first_order) AS first_orders,
           SUM(net_amt) AS revenue, SUM(returned) AS returned
    FROM orders_ GROUP BY customer_id
), per_cohort AS (
    SELECT m.cohort_month, m.is_left_censored,
           COUNT(*)                          AS customers,
           COALESCE(SUM(p.orders), 0)        AS orders,
           COALESCE(SUM(p.first_orders), 0)  AS first_orders,
           COALESCE(SUM(p.revenue), 0)       AS revenue,
           COALESCE(SUM(p.returned), 0)      AS returned
    FROM members m LEFT JOIN per_customer p USING (customer_id)
    GROUP BY 1, 2
), observed AS (
    SELECT *, revenue - returned AS revenue_after_returns,
           DATE_DIFF('month', GREATEST(cohort_month, DATE '2024-01-01'), DATE '2025-12-01') + 1
               AS months_observed
    FROM per_cohort
)
SELECT cohort_month, is_left_censored, customers, months_observed, orders, first_orders,
       revenue, returned, revenue_after_returns,
       CAST(revenue AS DOUBLE) / customers                               AS historical_clv,
       CAST(revenue_after_returns AS DOUBLE) / customers                 AS historical_clv_after_returns,
       CAST(revenue_after_returns AS DOUBLE) / NULLIF(orders, 0)         AS aov_after_returns,
       (orders - first_orders) / (customers * months_observed)           AS repeat_orders_per_customer_month,
       CAST(revenue_after_returns AS DOUBLE) / NULLIF(orders, 0)
           * (first_orders / customers
              + (orders - first_orders) / (customers * months_observed) * {CLV_HORIZON_MONTHS})
                                                                         AS predicted_clv_36m
FROM observed
"""


def clv_cohort_curves(con) -> ir.Table:
    members = _cohort_members(con)
    orders = con.table("fact_order").left_join(_order_returns(con), "order_id")
    orders = orders.select(
        "customer_id",
        "net_amt",
        order_month=orders.order_time.truncate("M").date(),
        returned=orders.returned.fill_null(_zero()),
    )
    sizes = members.group_by("cohort_month", "is_left_censored").agg(
        cohort_customers=members.count()
    )
    t = orders.join(members, "customer_id")
    monthly = t.group_by("cohort_month", "order_month").agg(
        revenue=t.net_amt.sum(), returned=t.returned.sum()
    )
    dates = con.table("dim_date")
    months = (
        dates.filter((dates.date_key >= _key(DATA_START.date())) & (dates.date_key <= 20251231))
        .select(order_month=dates.month_start)
        .distinct()
    )
    grid = sizes.join(months, months.order_month >= sizes.cohort_month)
    grid = grid.left_join(monthly, ["cohort_month", "order_month"]).select(
        "cohort_month", "is_left_censored", "order_month", "cohort_customers", "revenue", "returned"
    )
    grid = grid.mutate(
        revenue=_money(grid.revenue.fill_null(_zero())),
        returned=_money(grid.returned.fill_null(_zero())),
        months_since=_months_between(grid.order_month, grid.cohort_month).cast("int64"),
    )
    w = ibis.cumulative_window(group_by="cohort_month", order_by="order_month")
    running = grid.revenue.cast("float64").sum().over(w)
    running_net = (grid.revenue - grid.returned).cast("float64").sum().over(w)
    return grid.mutate(
        cumulative_clv=running / grid.cohort_customers,
        cumulative_clv_after_returns=running_net / grid.cohort_customers,
    ).select(
        "cohort_month",
        "is_left_censored",
        "months_since",
        "cohort_customers",
        "revenue",
        "returned",
        "cumulative_clv",
        "cumulative_clv_after_returns",
    )


CLV_CURVES_SQL = f"""
WITH {_COHORT_CTE}, cohort_size AS (
    SELECT cohort_month, is_left_censored, COUNT(*) AS cohort_customers
    FROM members GROUP BY 1, 2
), months AS (
    SELECT DISTINCT month_start AS order_month FROM dim_date
    WHERE calendar_date BETWEEN DATE '2024-01-01' AND DATE '2025-12-31'
), monthly AS (
    SELECT m.cohort_month, CAST(DATE_TRUNC('month', o.order_time) AS DATE) AS order_month,
           SUM(o.net_amt) AS revenue, SUM(o.returned) AS returned
    FROM orders_ o JOIN members m USING (customer_id)
    GROUP BY 1, 2
)
SELECT s.cohort_month, s.is_left_censored,
       DATE_DIFF('month', s.cohort_month, m.order_month)                     AS months_since,
       s.cohort_customers,
       COALESCE(r.revenue, 0)                                                AS revenue,
       COALESCE(r.returned, 0)                                               AS returned,
       SUM(CAST(COALESCE(r.revenue, 0) AS DOUBLE))
           OVER (PARTITION BY s.cohort_month ORDER BY m.order_month)
           / s.cohort_customers                                              AS cumulative_clv,
       SUM(CAST(COALESCE(r.revenue, 0) - COALESCE(r.returned, 0) AS DOUBLE))
           OVER (PARTITION BY s.cohort_month ORDER BY m.order_month)
           / s.cohort_customers                                              AS cumulative_clv_after_returns
FROM cohort_size s
JOIN months m ON m.order_month >= s.cohort_month
LEFT JOIN monthly r ON r.cohort_month = s.cohort_month AND r.order_month = m.order_month
"""


# ---------------------------------------------------------------------------------------------
# 4. net sales after returns: by return date (the books) and by order date (the orders)
# ---------------------------------------------------------------------------------------------
def net_sales_after_returns(con) -> ir.Table:
    orders = con.table("fact_order")
    returns = con.table("fact_order_return")
    sold = orders.group_by(month=orders.order_time.truncate("M").date()).agg(
        orders=orders.count(), net_sales=orders.net_amt.sum()
    )
    booked = returns.group_by(month=returns.return_time.truncate("M").date()).agg(
        returns_booked=returns.return_net_amt.sum()
    )
    placed = orders.select("order_id", order_month=orders.order_time.truncate("M").date())
    r = returns.join(placed, "order_id")
    of_orders = r.group_by(month=r.order_month).agg(returns_of_orders=r.return_net_amt.sum())
    t = sold.left_join(booked, "month").drop("month_right")
    t = t.left_join(of_orders, "month").drop("month_right")
    t = t.mutate(
        net_sales=_money(t.net_sales),
        returns_booked=_money(t.returns_booked.fill_null(_zero())),
        returns_of_orders=_money(t.returns_of_orders.fill_null(_zero())),
    )
    final_by = ibis.literal(DATA_END.date()) - ibis.interval(days=RETURN_WINDOW_DAYS)
    return t.select(
        "month",
        "orders",
        "net_sales",
        "returns_booked",
        net_sales_after_returns_booked=_money(t.net_sales - t.returns_booked),
        returns_of_orders=t.returns_of_orders,
        net_sales_after_returns_of_orders=_money(t.net_sales - t.returns_of_orders),
        is_final=(t.month + ibis.interval(months=1)) <= final_by,
    )


NET_AFTER_RETURNS_SQL = f"""
WITH sold AS (
    SELECT CAST(DATE_TRUNC('month', order_time) AS DATE) AS month,
           COUNT(*) AS orders, SUM(net_amt) AS net_sales
    FROM fact_order GROUP BY 1
), booked AS (          -- by return date: what the month's books show
    SELECT CAST(DATE_TRUNC('month', return_time) AS DATE) AS month,
           SUM(return_net_amt) AS returns_booked
    FROM fact_order_return GROUP BY 1
), of_orders AS (       -- by order date: what became of the month's orders
    SELECT CAST(DATE_TRUNC('month', o.order_time) AS DATE) AS month,
           SUM(r.return_net_amt) AS returns_of_orders
    FROM fact_order_return r JOIN fact_order o USING (order_id) GROUP BY 1
)
SELECT s.month, s.orders, s.net_sales,
       COALESCE(b.returns_booked, 0)                    AS returns_booked,
       s.net_sales - COALESCE(b.returns_booked, 0)      AS net_sales_after_returns_booked,
       COALESCE(x.returns_of_orders, 0)                 AS returns_of_orders,
       s.net_sales - COALESCE(x.returns_of_orders, 0)   AS net_sales_after_returns_of_orders,
       s.month + INTERVAL 1 MONTH <= DATE '{AS_OF}' - INTERVAL {RETURN_WINDOW_DAYS} DAY AS is_final
FROM sold s
LEFT JOIN booked b USING (month)
LEFT JOIN of_orders x USING (month)
"""


# ---------------------------------------------------------------------------------------------
# 5. inventory levels
# ---------------------------------------------------------------------------------------------
def inventory_levels(con) -> ir.Table:
    snap = con.table("fact_inventory_snapshot")
    last_28 = ibis.window(
        group_by=["store_id", "product_id"], order_by="snapshot_date", preceding=27, following=0
    )
    avg = snap.units_sold.mean().over(last_28)
    t = snap.mutate(avg_daily_units_28d=avg)
    return t.select(
        "snapshot_date",
        "store_id",
        "product_id",
        "quantity_on_hand",
        "units_sold",
        is_stock_out=t.quantity_on_hand <= 0,
        avg_daily_units_28d=t.avg_daily_units_28d,
        days_of_cover=ibis.ifelse(
            t.avg_daily_units_28d > 0,
            t.quantity_on_hand / t.avg_daily_units_28d,
            ibis.null("float64"),
        ),
    )


INVENTORY_SQL = """
SELECT snapshot_date, store_id, product_id, quantity_on_hand, units_sold,
       quantity_on_hand <= 0 AS is_stock_out,
       AVG(units_sold) OVER w AS avg_daily_units_28d,
       quantity_on_hand / NULLIF(AVG(units_sold) OVER w, 0) AS days_of_cover
FROM fact_inventory_snapshot
WINDOW w AS (PARTITION BY store_id, product_id ORDER BY snapshot_date
             RANGE BETWEEN INTERVAL 27 DAY PRECEDING AND CURRENT ROW)
"""


def stock_out_summary(con) -> ir.Table:
    snap = con.table("fact_inventory_snapshot")
    return snap.group_by(["store_id", "product_id"]).agg(
        days=snap.count(),
        stock_out_days=(snap.quantity_on_hand <= 0).sum().cast("int64"),
        units_sold=snap.units_sold.sum(),
        avg_on_hand=snap.quantity_on_hand.mean(),
    )


STOCK_OUT_SQL = """
SELECT store_id, product_id,
       COUNT(*)                                        AS days,
       COUNT(*) FILTER (WHERE quantity_on_hand <= 0)   AS stock_out_days,
       SUM(units_sold)                                 AS units_sold,
       AVG(quantity_on_hand)                           AS avg_on_hand
FROM fact_inventory_snapshot
GROUP BY store_id, product_id
"""


# ---------------------------------------------------------------------------------------------
# 6. campaign effectiveness: attribution, a pre-period baseline, and the holdout experiment
# ---------------------------------------------------------------------------------------------
def _campaign_days(con) -> ir.Table:
    """UTC days of the data with their order counts (days without an order count 0)."""
    orders = con.table("fact_order")
    daily = orders.group_by(_key=orders.date_key).agg(n=orders.count())
    dates = con.table("dim_date")
    days = dates.filter(
        (dates.date_key >= _key(DATA_START.date())) & (dates.date_key <= 20251231)
    ).select("date_key", day="calendar_date")
    t = days.left_join(daily, days.date_key == daily._key)
    return t.select("day", n=t.n.fill_null(0))


def campaign_effectiveness(con, baseline_days: int = BASELINE_DAYS) -> ir.Table:
    orders = _orders_with_flags(con)
    camps = con.table("dim_campaign")
    camps = camps.filter(camps.campaign_id > 0)
    attributed = orders.filter(orders.campaign_id > 0)
    attr = attributed.group_by("campaign_id").agg(
        attributed_orders=attributed.count(),
        attributed_revenue=_money(attributed.net_amt.sum()),
        new_customers=attributed.count(where=attributed.is_first_order),
    )
    c = camps.select(
        "campaign_id",
        start_day=camps.campaign_start_time.date(),
        end_day=camps.campaign_end_time.date(),
    )
    days = _campaign_days(con)
    j = c.join(
        days,
        (days.day >= c.start_day - ibis.interval(days=baseline_days)) & (days.day < c.end_day),
    )
    others = c.select(_other="campaign_id", _from="start_day", _to="end_day")
    covered = j.join(
        others,
        (others._other != j.campaign_id) & (j.day >= others._from) & (j.day < others._to),
    )
    covered = covered.select("campaign_id", "day", _covered=ibis.literal(True)).distinct()
    j = j.left_join(covered, ["campaign_id", "day"]).drop("campaign_id_right", "day_right")
    inside = j.day >= j.start_day
    baseline = ~inside & j._covered.isnull()
    counts = j.group_by("campaign_id").agg(
        window_orders=j.n.sum(where=inside),
        window_days=j.count(where=inside),
        baseline_orders=j.n.sum(where=baseline),
        baseline_days=j.count(where=baseline),
    )
    overlap = c.join(
        others,
        (others._other != c.campaign_id) & (others._from < c.end_day) & (others._to > c.start_day),
    )
    overlap = overlap.select("campaign_id", overlaps=ibis.literal(True)).distinct()
    t = camps.select("campaign_id", "campaign_name", "channel").join(counts, "campaign_id")
    t = t.left_join(attr, "campaign_id").drop("campaign_id_right")
    t = t.left_join(overlap, "campaign_id").drop("campaign_id_right")
    window_rate = t.window_orders / t.window_days
    baseline_rate = ibis.ifelse(
        t.baseline_orders > 0, t.baseline_orders / t.baseline_days, ibis.null("float64")
    )
    return t.select(
        "campaign_id",
        "campaign_name",
        "channel",
        attributed_orders=t.attributed_orders.fill_null(0),
        attributed_revenue=_money(t.attributed_revenue.fill_null(_zero())),
        attributed_aov=t.attributed_revenue.cast("float64") / t.attributed_orders,
        new_customers=t.new_customers.fill_null(0),
        window_orders_per_day=window_rate,
        baseline_days=t.baseline_days,
        baseline_orders_per_day=baseline_rate,
        lift_vs_pre_period=window_rate / baseline_rate,
        overlaps_other_campaign=t.overlaps.notnull(),
    )


CAMPAIGN_SQL = f"""
WITH days AS (          -- every UTC day of the data with its orders
    SELECT d.calendar_date AS day, COUNT(o.order_id) AS n
    FROM dim_date d LEFT JOIN fact_order o ON o.date_key = d.date_key
    WHERE d.calendar_date BETWEEN DATE '2024-01-01' AND DATE '2025-12-31'
    GROUP BY 1
), campaigns AS (
    SELECT campaign_id, campaign_name, channel,
           CAST(campaign_start_time AS DATE) AS start_day, CAST(campaign_end_time AS DATE) AS end_day
    FROM dim_campaign WHERE campaign_id > 0
), counted AS (
    SELECT c.campaign_id,
           SUM(d.n) FILTER (WHERE d.day >= c.start_day)   AS window_orders,
           COUNT(*) FILTER (WHERE d.day >= c.start_day)   AS window_days,
           SUM(d.n) FILTER (WHERE d.day < c.start_day AND NOT EXISTS (
               SELECT 1 FROM campaigns x
               WHERE x.campaign_id <> c.campaign_id AND d.day >= x.start_day AND d.day < x.end_day))
                                                          AS baseline_orders,
           COUNT(*) FILTER (WHERE d.day < c.start_day AND NOT EXISTS (
               SELECT 1 FROM campaigns x
               WHERE x.campaign_id <> c.campaign_id AND d.day >= x.start_day AND d.day < x.end_day))
                                                          AS baseline_days
    FROM campaigns c
    JOIN days d ON d.day >= c.start_day - INTERVAL {BASELINE_DAYS} DAY AND d.day < c.end_day
    GROUP BY c.campaign_id
), attributed AS (
    SELECT o.campaign_id, COUNT(*) AS attributed_orders, SUM(o.net_amt) AS attributed_revenue,
           COUNT(*) FILTER (WHERE f.is_first_order) AS new_customers
    FROM fact_order o JOIN dim_order_flags f USING (order_flags_key)
    WHERE o.campaign_id > 0
    GROUP BY o.campaign_id
)
SELECT c.campaign_id, c.campaign_name, c.channel,
       COALESCE(a.attributed_orders, 0)                               AS attributed_orders,
       COALESCE(a.attributed_revenue, 0)                              AS attributed_revenue,
       CAST(a.attributed_revenue AS DOUBLE) / a.attributed_orders     AS attributed_aov,
       COALESCE(a.new_customers, 0)                                   AS new_customers,
       w.window_orders / w.window_days                                AS window_orders_per_day,
       w.baseline_days,
       NULLIF(w.baseline_orders, 0) / w.baseline_days                 AS baseline_orders_per_day,
       (w.window_orders / w.window_days) / (NULLIF(w.baseline_orders, 0) / w.baseline_days)
                                                                      AS lift_vs_pre_period,
       EXISTS (SELECT 1 FROM campaigns x
               WHERE x.campaign_id <> c.campaign_id
                 AND x.start_day < c.end_day AND x.end_day > c.start_day) AS overlaps_other_campaign
FROM campaigns c
JOIN counted w USING (campaign_id)
LEFT JOIN attributed a USING (campaign_id)
"""


def campaign_holdout_lift(con, post_days: int = POST_DAYS) -> ir.Table:
    audience = con.table("fact_campaign_audience")
    camps = con.table("dim_campaign")
    camps = camps.filter(camps.campaign_id > 0).select(
        "campaign_id",
        "campaign_name",
        "channel",
        "spend_amt",
        _start="campaign_start_time",
        _end="campaign_end_time",
    )
    a = audience.select("campaign_id", "customer_id", "is_holdout").join(camps, "campaign_id")
    orders = con.table("fact_order").select(
        _customer="customer_id", _time="order_time", _net="net_amt"
    )
    j = a.left_join(
        orders,
        (orders._customer == a.customer_id)
        & (orders._time >= a._start)
        & (orders._time < a._end + ibis.interval(days=post_days)),
    )
    per = j.group_by("campaign_id", "customer_id", "is_holdout").agg(
        window_orders=j._time.count(where=j._time < j._end),
        sales=j._net.cast("float64").sum().fill_null(0.0),
    )
    g = per.group_by("campaign_id", "is_holdout").agg(
        customers=per.count(),
        mean_orders=per.window_orders.mean(),
        var_orders=per.window_orders.var(how="sample"),
        mean_sales=per.sales.mean(),
        var_sales=per.sales.var(how="sample"),
    )
    treated = g.filter(~g.is_holdout).drop("is_holdout")
    held = g.filter(g.is_holdout).drop("is_holdout").rename(lambda c: f"h_{c}")
    t = camps.join(treated, "campaign_id").join(held, treated.campaign_id == held.h_campaign_id)
    defined = (t.mean_orders > 0) & (t.h_mean_orders > 0)  # else the ratio has no meaning
    lift = ibis.ifelse(defined, t.mean_orders / t.h_mean_orders, ibis.null("float64"))
    relative_var = t.var_orders / (t.customers * t.mean_orders**2) + t.h_var_orders / (
        t.h_customers * t.h_mean_orders**2
    )
    incremental = (t.mean_sales - t.h_mean_sales) * t.customers
    incremental_se = (
        t.customers * (t.var_sales / t.customers + t.h_var_sales / t.h_customers).sqrt()
    )
    spend = t.spend_amt.cast("float64")
    return t.select(
        "campaign_id",
        "campaign_name",
        "channel",
        treated_customers=t.customers,
        holdout_customers=t.h_customers,
        treated_orders_per_customer=t.mean_orders,
        holdout_orders_per_customer=t.h_mean_orders,
        lift=lift,
        lift_se=ibis.ifelse(defined, lift * relative_var.sqrt(), ibis.null("float64")),
        incremental_orders=(t.mean_orders - t.h_mean_orders) * t.customers,
        incremental_net_sales=incremental,
        incremental_net_sales_se=incremental_se,
        spend_amt=t.spend_amt,
        roi=(incremental - spend) / spend,
        roi_se=incremental_se / spend,
    )


HOLDOUT_SQL = f"""
WITH per_customer AS (   -- every audience member, with or without orders
    SELECT a.campaign_id, a.customer_id, a.is_holdout,
           COUNT(o.order_id) FILTER (WHERE o.order_time < c.campaign_end_time) AS window_orders,
           COALESCE(SUM(CAST(o.net_amt AS DOUBLE)), 0)                          AS sales
    FROM fact_campaign_audience a
    JOIN dim_campaign c USING (campaign_id)
    LEFT JOIN fact_order o
           ON o.customer_id = a.customer_id
          AND o.order_time >= c.campaign_start_time
          AND o.order_time <  c.campaign_end_time + INTERVAL {POST_DAYS} DAY
    GROUP BY 1, 2, 3
), arms AS (
    SELECT campaign_id, is_holdout, COUNT(*) AS n,
           AVG(window_orders) AS m_o, VAR_SAMP(window_orders) AS v_o,
           AVG(sales) AS m_s, VAR_SAMP(sales) AS v_s
    FROM per_customer GROUP BY 1, 2
)
SELECT c.campaign_id, c.campaign_name, c.channel,
       t.n AS treated_customers, h.n AS holdout_customers,
       t.m_o AS treated_orders_per_customer, h.m_o AS holdout_orders_per_customer,
       CASE WHEN t.m_o > 0 AND h.m_o > 0 THEN t.m_o / h.m_o END AS lift,
       CASE WHEN t.m_o > 0 AND h.m_o > 0 THEN
           t.m_o / h.m_o * SQRT(t.v_o / (t.n * t.m_o * t.m_o) + h.v_o / (h.n * h.m_o * h.m_o))
       END AS lift_se,
       (t.m_o - h.m_o) * t.n                                   AS incremental_orders,
       (t.m_s - h.m_s) * t.n                                   AS incremental_net_sales,
       t.n * SQRT(t.v_s / t.n + h.v_s / h.n)                   AS incremental_net_sales_se,
       c.spend_amt,
       ((t.m_s - h.m_s) * t.n - CAST(c.spend_amt AS DOUBLE)) / CAST(c.spend_amt AS DOUBLE) AS roi,
       t.n * SQRT(t.v_s / t.n + h.v_s / h.n) / CAST(c.spend_amt AS DOUBLE)              AS roi_se
FROM dim_campaign c
JOIN arms t ON t.campaign_id = c.campaign_id AND NOT t.is_holdout
JOIN arms h ON h.campaign_id = c.campaign_id AND h.is_holdout
WHERE c.campaign_id > 0
"""


# ---------------------------------------------------------------------------------------------
# helpers for the marts
# ---------------------------------------------------------------------------------------------
def customer_summary(con) -> ir.Table:
    orders = con.table("fact_order").left_join(_order_returns(con), "order_id")
    orders = orders.mutate(returned=orders.returned.fill_null(_zero()))
    per = orders.group_by("customer_id").agg(
        first_order_time=orders.order_time.min(),
        last_order_time=orders.order_time.max(),
        orders=orders.count(),
        net_sales=_money(orders.net_amt.sum()),
        returned=_money(orders.returned.sum()),
    )
    t = per.left_join(_cohort_members(con), "customer_id").drop("customer_id_right")
    return t.select(
        "customer_id",
        "signed_up_at",
        "cohort_month",
        "is_left_censored",
        "first_order_time",
        "last_order_time",
        "orders",
        "net_sales",
        "returned",
        net_sales_after_returns=_money(t.net_sales - t.returned),
    )


# the same mart in hand-written SQL (the tests compare the two)
CUSTOMER_SUMMARY_SQL = f"""
WITH {_COHORT_CTE}
SELECT o.customer_id, m.signed_up_at, m.cohort_month, m.is_left_censored,
       MIN(o.order_time)                 AS first_order_time,
       MAX(o.order_time)                 AS last_order_time,
       COUNT(*)                          AS orders,
       SUM(o.net_amt)                    AS net_sales,
       SUM(o.returned)                   AS returned,
       SUM(o.net_amt) - SUM(o.returned)  AS net_sales_after_returns
FROM orders_ o LEFT JOIN members m USING (customer_id)
GROUP BY 1, 2, 3, 4
"""


# ---------------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------------
_NET = (
    "Net sales = amt - discount of the lines (after discounts; before tax, shipping and "
    "returns); money is DECIMAL(18, 2), summed exactly."
)
_LOCAL = (
    "The day is the calendar day of order_time on the clock of the store that sold the line "
    "(local_date_key, from dim_store.time_zone; the web shop keeps America/New_York, its "
    "fulfilment centre's; a store not on the store list, an inferred member whose clock is "
    "unknown, keeps UTC). Only complete local days are reported, 2024-01-01 to 2025-12-30: "
    "the local evening of 2023-12-31 and the local 2025-12-31, cut at 2026-01-01 00:00 UTC, are "
    "partial and left out."
)
_UTC_MONTH = (
    "Months are calendar months of order_time in UTC (the company's books); every month from "
    "January 2024 to December 2025 is complete."
)
_COHORT = (
    "A customer's cohort is the UTC calendar month of its sign-up (dim_customer.created_at on its "
    "current row); an inferred member, whose account record has not arrived, takes the instant "
    "of its first order, and one with neither is in no cohort. Cohorts before January 2024 are "
    "left-censored (is_left_censored): their customers' orders before 2024-01-01 are not in the "
    "data."
)

METRICS = {
    m.name: m
    for m in [
        Metric(
            "daily_sales_by_category",
            "Track daily sales totals by product category",
            f"Per local trading day and leaf category. {_LOCAL} The category is the one the "
            "product had when it sold (fact_order_line.product_category_id). orders = distinct "
            "order_id with a line in the category that day; units = sum of count; gross_sales = "
            f"sum of amt; discount = sum of discount; net_sales = sum of amt - discount. {_NET} A "
            "category-day without a line has no row.",
            daily_sales_by_category,
            DAILY_SALES_SQL,
            ("order_date", "product_category_id"),
        ),
        Metric(
            "daily_sales_by_top_category",
            "Track daily sales totals by product category (rolled up the hierarchy)",
            "The same days and lines, rolled up to the top-level category of the line's leaf "
            "(through parent_category_id; a top-level category is its own top). orders are "
            "counted distinct at the top level, so an order with two leaves of one department "
            f"counts once; units and net_sales are sums. {_LOCAL} {_NET}",
            daily_sales_by_top_category,
            DAILY_TOP_SQL,
            ("order_date", "top_category_id"),
        ),
        Metric(
            "daily_store_sales",
            "Track daily sales totals (per store, on the store's own day)",
            f"Per store (with its name and time zone) and local trading day: distinct orders, "
            f"units and net sales of its lines. {_LOCAL} "
            f"{_NET} A store-day without a sale has no row.",
            daily_store_sales,
            DAILY_STORE_SQL,
            ("store_id", "order_date"),
        ),
        Metric(
            "customer_rfm",
            "Analyze customer purchase history for segmentation",
            "Per customer (reserved members excluded; inferred ones included) with at least one "
            "order before the as-of instant 2026-01-01 00:00 UTC (exclusive). first_order_time and last_order_time: its first and last order in the "
            "data. recency_days = days from the UTC date of the last order to 2026-01-01; "
            "frequency = orders with order_time in [as-of - 365 days, as-of); monetary = their "
            "net sales (0 if none). Segment, first rule that holds: New if the customer's first "
            "order ever (dim_order_flags.is_first_order) is in [as-of - 30 days, as-of); "
            "Champions if recency <= 30 and frequency >= 10; Loyal if frequency >= 10; Regular "
            "if frequency >= 3 and recency <= 90; At risk if frequency >= 3; Occasional if "
            f"frequency >= 1; else Lost. {_NET}",
            customer_rfm,
            CUSTOMER_RFM_SQL,
            ("customer_id",),
        ),
        Metric(
            "customer_segments",
            "Analyze customer purchase history for segmentation",
            "Per RFM segment of customer_rfm (as of 2026-01-01 00:00 UTC): customers, their "
            "share of all customers, revenue = sum of monetary (net sales of the last 365 days), "
            "its share, and the mean recency, frequency and monetary value. Shares and means "
            "are DOUBLE, computed from exact sums and counts.",
            customer_segments,
            CUSTOMER_SEGMENTS_SQL,
            ("segment",),
        ),
        Metric(
            "average_order_value",
            "Calculate average order value (AOV)",
            f"Per month: orders (rows of fact_order), net sales of those orders and AOV = net "
            f"sales / orders (DOUBLE). {_UTC_MONTH} {_NET}",
            average_order_value,
            AOV_SQL,
            ("order_month",),
        ),
        Metric(
            "customer_lifetime_value",
            "Calculate customer lifetime value (CLV)",
            f"Per sign-up cohort. {_COHORT} customers = cohort members (including those with no "
            "order in the data); orders, first_orders (orders flagged is_first_order) and revenue "
            "= net sales of their orders in the data; returned = return_net_amt of every return "
            "of those orders, whenever it came back; revenue_after_returns = revenue - returned. "
            "historical_clv (and _after_returns) = that revenue / customers (DOUBLE). "
            "months_observed = "
            "calendar months from the later of the cohort month and January 2024 to December "
            "2025, both included. aov_after_returns = revenue_after_returns / orders (NULL for a "
            "cohort without orders, and so is the prediction); r = "
            "(orders - first_orders) / (customers x months_observed); predicted_clv_36m = "
            "aov_after_returns x (first_orders / customers + r x 36): no churn, no discounting, "
            "revenue not margin.",
            customer_lifetime_value,
            CLV_SQL,
            ("cohort_month",),
        ),
        Metric(
            "clv_cohort_curves",
            "Calculate customer lifetime value (CLV)",
            f"Per sign-up cohort and calendar month of order_time (UTC) from the cohort month, "
            f"or January 2024 if later, to December 2025. {_COHORT} months_since = months from "
            "the cohort month (0 = the sign-up month); revenue = net sales of the cohort's orders "
            "placed that month; returned = return_net_amt of the returns of those orders "
            "(attributed to the order's month, whenever they came back); cumulative_clv = running "
            "sum of revenue / cohort customers, cumulative_clv_after_returns the same of revenue "
            "- returned. Months without an order count as zero. A left-censored cohort's curve "
            "starts at January 2024, not at month 0.",
            clv_cohort_curves,
            CLV_CURVES_SQL,
            ("cohort_month", "months_since"),
        ),
        Metric(
            "net_sales_after_returns",
            "Calculate AOV and CLV: revenue after returns",
            f"Per month with orders. {_UTC_MONTH} net_sales = net sales of the orders placed "
            "in the month. By return date (the books): returns_booked = return_net_amt of the "
            "returns whose return_time falls in the month, and net_sales_after_returns_booked = "
            "net_sales - returns_booked; a month's figure is final when the month ends. By order "
            "date (the orders): returns_of_orders = return_net_amt of the returns of the month's "
            "orders, whenever they came back, and net_sales_after_returns_of_orders = net_sales "
            "- returns_of_orders; it is final (is_final) when the month's end plus the 30-day "
            "return window is at or before the end of the data, 2026-01-01 (December 2025 is "
            "not). Over all months both totals are equal.",
            net_sales_after_returns,
            NET_AFTER_RETURNS_SQL,
            ("month",),
        ),
        Metric(
            "inventory_levels",
            "Monitor product inventory levels",
            "Per store, product and local day of the store (the snapshot's day), from the day of "
            "the pair's first stock movement to the last day that ended inside the data "
            "(2025-12-30 for every listed store; 2025-12-31 for an inferred store, not on the "
            "store list, whose unknown clock keeps UTC days): end-of-day units on hand, units "
            "sold that day, "
            "is_stock_out = on hand <= 0 at the day's end, avg_daily_units_28d = mean daily "
            "units sold over the 28 days ending that day, the day included (fewer days at the "
            "start of a pair), and days_of_cover = on hand / that mean (NULL when the mean is 0).",
            inventory_levels,
            INVENTORY_SQL,
            ("snapshot_date", "store_id", "product_id"),
        ),
        Metric(
            "stock_out_summary",
            "Monitor product inventory levels",
            "Per store and product over every snapshot day of the pair (see inventory_levels): "
            "days tracked, stock-out days (on hand <= 0 at the day's end, as is_stock_out), "
            "units sold, and the "
            "mean end-of-day stock.",
            stock_out_summary,
            STOCK_OUT_SQL,
            ("store_id", "product_id"),
        ),
        Metric(
            "campaign_effectiveness",
            "Evaluate the effectiveness of marketing campaigns (attribution, before/after)",
            "Per campaign (reserved members excluded). Attribution: attributed_orders = orders "
            "carrying the campaign_id (captured at click-through), their net sales "
            "(attributed_revenue), attributed_aov = attributed_revenue / attributed_orders, and "
            "new_customers = attributed orders flagged is_first_order. Before/after, on UTC "
            "days, all orders attributed or not: window_orders_per_day = orders in [start day, "
            "end day) / its days; baseline = the 28 days [start - 28, start), minus any day "
            "inside another campaign's window and any day outside the data (UTC days "
            "2024-01-01 to 2025-12-31; the window's days are bounded the same way); "
            "baseline_orders_per_day = orders on those days / "
            "baseline_days (NULL without a baseline order); lift_vs_pre_period = the ratio of the "
            "two. overlaps_other_campaign: "
            "another campaign's window shares a day with this one (its lift then mixes both). "
            "No control group: growth and other campaigns bias this lift; see "
            "campaign_holdout_lift.",
            campaign_effectiveness,
            CAMPAIGN_SQL,
            ("campaign_id",),
        ),
        Metric(
            "campaign_holdout_lift",
            "Evaluate the effectiveness of marketing campaigns (against a holdout group)",
            "Per campaign, over its audience (fact_campaign_audience: customers signed up and "
            "open at the start, split at random into treated and holdout). For each member: "
            "window_orders = its orders with order_time in [campaign_start_time, "
            "campaign_end_time); sales = net sales of its orders in [start, end + 28 days) (the "
            "window and the 28 days after, where pulled-forward orders are missing), 0 if none. "
            "Per group: n, mean and sample variance of both. lift = treated mean orders / "
            "holdout mean orders; lift_se = lift x sqrt(v_t / (n_t m_t^2) + v_h / (n_h m_h^2)) "
            "(delta method); both NULL when either group placed no order in the window. "
            "incremental_orders = (m_t - m_h) x n_t; incremental_net_sales = "
            "(mean sales_t - mean sales_h) x n_t, with s.e. n_t x sqrt(v_t / n_t + v_h / n_h); "
            "roi = (incremental_net_sales - spend_amt) / spend_amt, roi_se = that s.e. / "
            "spend_amt. Revenue, not margin; net sales before returns.",
            campaign_holdout_lift,
            HOLDOUT_SQL,
            ("campaign_id",),
        ),
    ]
}


# ---------------------------------------------------------------------------------------------
# interview exercises (notebook 05)
# ---------------------------------------------------------------------------------------------
Y2025 = (datetime(2025, 1, 1), datetime(2026, 1, 1))


def _ex_aov(con):
    o = con.table("fact_order")
    o = o.filter((o.order_time >= Y2025[0]) & (o.order_time < Y2025[1]))
    return o.aggregate(aov=o.net_amt.sum().cast("float64") / o.count())


def _ex_top_category(con):
    lines = con.table("fact_order_line")
    lines = lines.filter((lines.order_time >= Y2025[0]) & (lines.order_time < Y2025[1]))
    cats = con.table("dim_product_category")
    t = lines.join(cats, "product_category_id")
    return t.group_by("top_category_name").agg(net_sales=t.net_amt.sum())


def _ex_fan_out(con):
    o = con.table("fact_order")
    return o.group_by("store_id").agg(shipping=o.shipping_amt.sum())


def _ex_city(con):
    lines = con.table("fact_order_line")
    cust = con.table("dim_customer")
    lines = lines.filter((lines.order_time >= Y2025[0]) & (lines.order_time < Y2025[1]))
    t = lines.join(cust, "customer_sk")
    return t.group_by("city").agg(net_sales=t.net_amt.sum())


def _ex_reconcile(con):
    e = con.table("fact_inventory_event")
    e = e.filter((e.store_id == 2) & (e.event_time < datetime(2025, 7, 1, 4)))
    return e.group_by("product_id").agg(quantity_on_hand=e.quantity_change.sum())


def _ex_attribution(con):
    o = con.table("fact_order")
    o = o.filter(o.campaign_id > 0)
    return o.group_by("campaign_id").agg(orders=o.count(), revenue=o.net_amt.sum())


def _ex_rfm(con):
    return customer_rfm(con).select("customer_id", "recency_days", "frequency", "monetary")


def _ex_versions(con):
    c = con.table("dim_customer")
    c = c.filter(~c.is_inferred & (c.customer_id >= 0))
    per = c.group_by("customer_id").agg(versions=c.count())
    return per.group_by("versions").agg(customers=per.count())


def _ex_refund_after_closure(con):
    r = con.table("fact_order_return")
    c = con.table("dim_customer")
    t = r.join(c, "customer_sk")
    t = t.filter(t.is_deleted)
    return t.aggregate(refunds=t.count(), refund_amt=t.refund_amt.sum())


def _ex_local_day(con):
    lines = con.table("fact_order_line")
    dates = con.table("dim_date").select(_k="date_key", order_date="calendar_date")
    t = lines.filter(lines.store_id == 6).join(dates, lines.local_date_key == dates._k)
    t = t.filter((t.order_date >= date(2025, 7, 1)) & (t.order_date < date(2025, 8, 1)))
    return t.group_by("order_date").agg(net_sales=t.net_amt.sum())


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "ecommerce.grain",
            "Name the columns that identify one row of fact_inventory_snapshot (its grain).",
            {"snapshot_date", "store_id", "product_id"},
            hint="A periodic snapshot has one row per period and per thing measured.",
        ),
        Exercise(
            "ecommerce.aov",
            "Average order value of the orders placed in 2025 (UTC): one row, one column aov.",
            _ex_aov,
            hint="Order value is net of discounts, before tax and shipping. Divide by orders, not lines.",
        ),
        Exercise(
            "ecommerce.top_category_sales",
            "Net sales of the lines ordered in 2025 (UTC) per top-level category: columns "
            "top_category_name, net_sales.",
            _ex_top_category,
            hint="Walk up parent_category_id, or use the flattened top_category_id.",
        ),
        Exercise(
            "ecommerce.fan_out",
            "Total shipping charged per store: columns store_id, shipping.",
            _ex_fan_out,
            hint="Shipping is charged once per order. Joining fact_order to fact_order_line repeats it.",
        ),
        Exercise(
            "ecommerce.city_at_purchase",
            "Net sales of the lines ordered in 2025 (UTC) by the city the customer lived in when "
            "ordering: columns city, net_sales (inferred customers, whose city is not known yet, "
            "form the city 'Unknown').",
            _ex_city,
            hint="fact_order_line.customer_sk points at the version valid at order time.",
        ),
        Exercise(
            "ecommerce.inventory_reconciliation",
            "From fact_inventory_event alone, the stock of every product of store 2 (Boston, "
            "America/New_York) at the end of its trading day 2025-06-30: columns product_id, "
            "quantity_on_hand.",
            _ex_reconcile,
            hint="Stock is the running sum of quantity_change. The store's day ends at midnight "
            "in Boston: 04:00 UTC in summer.",
        ),
        Exercise(
            "ecommerce.campaign_attribution",
            "Orders and net sales attributed to each campaign: columns campaign_id, orders, "
            "revenue.",
            _ex_attribution,
            hint="An order is attributed when it carries a campaign_id; -2 means no campaign.",
        ),
        Exercise(
            "ecommerce.rfm",
            "Per customer as of 2026-01-01 00:00 UTC: recency_days (days from the date of the "
            "last order), frequency (orders in the 365 days before) and monetary (their net "
            "sales, 0 if none): columns customer_id, recency_days, frequency, monetary.",
            _ex_rfm,
            hint="Filter orders before the as-of instant; FILTER (WHERE ...) counts the last 365 days.",
        ),
        Exercise(
            "ecommerce.scd2_versions",
            "How many customers have 1, 2, 3... versions in dim_customer (leave out inferred "
            "members and the reserved Unknown / Not applicable rows)? Columns versions, "
            "customers.",
            _ex_versions,
            hint="Group by the business key, then group the counts. Reserved rows have negative keys.",
        ),
        Exercise(
            "ecommerce.refund_after_closure",
            "How many returns were refunded to customers whose account was already closed, and "
            "how much was refunded (refund_amt)? One row: refunds, refund_amt.",
            _ex_refund_after_closure,
            hint="fact_order_return.customer_sk is the version valid when the goods came back; a "
            "closed account's last version has is_deleted.",
        ),
        Exercise(
            "ecommerce.local_day",
            "Net sales of the Seattle store (store 6) per trading day of July 2025, Seattle "
            "time: columns order_date, net_sales (days without a sale have no row).",
            _ex_local_day,
            hint="The UTC date splits a Seattle evening in two; local_date_key is the store's day.",
        ),
    ]
}
