"""The e-commerce metrics: one Ibis function and one hand-written SQL query per requirement.

Conventions shared by every metric (stated once, repeated in each definition):

* **revenue** is ``net`` = ``amt - discount`` of the order lines: after discounts, before tax and
  shipping, and not reduced by later returns (returns are reported on their own);
* **time** is the order's event time ``order_time`` in UTC, never the load time ``loaded_at``;
* the data covers whole days from 2024-01-01 to 2025-12-31, so the last day and month are
  complete. Windows are half-open: ``[start, end)``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import ibis
import ibis.expr.types as ir

from datamodeling.exercises import Exercise
from datamodeling.registry import Metric

AS_OF = "2026-01-01"  # the morning after the last complete day
BASELINE_DAYS = 28


def _ts(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


# ---------------------------------------------------------------------------------------------
# 1. daily sales by product category
# ---------------------------------------------------------------------------------------------
def daily_sales_by_category(con) -> ir.Table:
    lines = con.table("order_line")
    cats = con.table("product_category")
    t = lines.join(cats, "product_category_id")
    return t.group_by(
        order_date=t.order_time.date(),
        product_category_id=t.product_category_id,
        category_name=t.category_name,
        top_category_id=t.top_category_id,
        top_category_name=t.top_category_name,
    ).agg(
        orders=t.order_id.nunique(),
        units=t["count"].sum(),
        gross_sales=t.amt.sum(),
        discount=t.discount.sum(),
        net_sales=t.net_amt.sum(),
    )


DAILY_SALES_SQL = """
SELECT CAST(ol.order_time AS DATE)     AS order_date,
       ol.product_category_id,
       c.category_name,
       c.top_category_id,
       c.top_category_name,
       COUNT(DISTINCT ol.order_id)     AS orders,
       SUM(ol.count)                   AS units,
       SUM(ol.amt)                     AS gross_sales,
       SUM(ol.discount)                AS discount,
       SUM(ol.amt - ol.discount)       AS net_sales
FROM order_line AS ol
JOIN product_category AS c ON c.product_category_id = ol.product_category_id
GROUP BY 1, 2, 3, 4, 5
"""


def daily_sales_by_top_category(con) -> ir.Table:
    lines = con.table("order_line")
    cats = con.table("product_category")
    t = lines.join(cats, "product_category_id")
    return t.group_by(
        order_date=t.order_time.date(),
        top_category_id=t.top_category_id,
        top_category_name=t.top_category_name,
    ).agg(
        orders=t.order_id.nunique(),
        units=t["count"].sum(),
        net_sales=t.net_amt.sum(),
    )


# rolled up through parent_category_id (the seed's hierarchy), not the flattened columns
DAILY_TOP_SQL = """
SELECT CAST(ol.order_time AS DATE)                               AS order_date,
       COALESCE(parent.product_category_id, c.product_category_id) AS top_category_id,
       COALESCE(parent.category_name, c.category_name)             AS top_category_name,
       COUNT(DISTINCT ol.order_id)                               AS orders,
       SUM(ol.count)                                             AS units,
       SUM(ol.amt - ol.discount)                                 AS net_sales
FROM order_line AS ol
JOIN product_category AS c ON c.product_category_id = ol.product_category_id
LEFT JOIN product_category AS parent ON parent.product_category_id = c.parent_category_id
GROUP BY 1, 2, 3
"""


# ---------------------------------------------------------------------------------------------
# 2. customer purchase history for segmentation: RFM
# ---------------------------------------------------------------------------------------------
SEGMENT_ORDER = ["New", "Champions", "Loyal", "Regular", "At risk", "Occasional", "Lost"]


def customer_rfm(con, as_of: str = AS_OF) -> ir.Table:
    orders = con.table("orders")
    cutoff = _ts(as_of)
    year_ago = cutoff - timedelta(days=365)
    past = orders.filter(orders.order_time < cutoff)
    recent = past.order_time >= year_ago
    per = past.group_by("customer_id").agg(
        first_order_time=past.order_time.min(),
        last_order_time=past.order_time.max(),
        frequency=ibis.ifelse(recent, 1, 0).sum(),
        monetary=ibis.ifelse(recent, past.net_amt, 0.0).sum(),
    )
    recency = ibis.literal(cutoff.date()).delta(per.last_order_time.date(), unit="day")
    per = per.mutate(recency_days=recency.cast("int64"), frequency=per.frequency.cast("int64"))
    segment = ibis.cases(
        (per.first_order_time >= cutoff - timedelta(days=30), "New"),
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
WITH per_customer AS (
    SELECT customer_id,
           MIN(order_time) AS first_order_time,
           MAX(order_time) AS last_order_time,
           COUNT(DISTINCT order_id) FILTER (WHERE order_time >= TIMESTAMP '{as_of}' - INTERVAL 365 DAY)
               AS frequency,
           COALESCE(SUM(amt - discount) FILTER (WHERE order_time >= TIMESTAMP '{as_of}' - INTERVAL 365 DAY), 0)
               AS monetary
    FROM order_line
    WHERE order_time < TIMESTAMP '{as_of}'
    GROUP BY customer_id
), rfm AS (
    SELECT customer_id, first_order_time, last_order_time,
           DATE_DIFF('day', CAST(last_order_time AS DATE), DATE '{as_of}') AS recency_days,
           frequency, monetary
    FROM per_customer
)
SELECT *,
       CASE
           WHEN first_order_time >= TIMESTAMP '{as_of}' - INTERVAL 30 DAY THEN 'New'
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
    seg = rfm.group_by("segment").agg(
        customers=rfm.count(),
        revenue=rfm.monetary.sum(),
        avg_recency_days=rfm.recency_days.mean(),
        avg_frequency=rfm.frequency.mean(),
        avg_monetary=rfm.monetary.mean(),
    )
    return seg.mutate(
        customer_share=seg.customers / seg.customers.sum().over(),
        revenue_share=seg.revenue / seg.revenue.sum().over(),
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
       COUNT(*)                                    AS customers,
       COUNT(*) * 1.0 / SUM(COUNT(*)) OVER ()      AS customer_share,
       SUM(monetary)                               AS revenue,
       SUM(monetary) / SUM(SUM(monetary)) OVER ()  AS revenue_share,
       AVG(recency_days)                           AS avg_recency_days,
       AVG(frequency)                              AS avg_frequency,
       AVG(monetary)                               AS avg_monetary
FROM customer_rfm
GROUP BY segment
"""


# ---------------------------------------------------------------------------------------------
# 3. average order value and customer lifetime value
# ---------------------------------------------------------------------------------------------
def average_order_value(con) -> ir.Table:
    orders = con.table("orders")
    month = orders.order_time.truncate("M").date()
    agg = orders.group_by(order_month=month).agg(
        orders=orders.count(), net_sales=orders.net_amt.sum()
    )
    return agg.mutate(aov=agg.net_sales / agg.orders)


AOV_SQL = """
SELECT DATE_TRUNC('month', order_time)                          AS order_month,
       COUNT(DISTINCT order_id)                                 AS orders,
       SUM(amt - discount)                                      AS net_sales,
       SUM(amt - discount) / COUNT(DISTINCT order_id)           AS aov
FROM order_line
GROUP BY 1
"""


def _months_between(later, earlier):
    return (later.year() - earlier.year()) * 12 + (later.month() - earlier.month())


def clv_cohort_curves(con) -> ir.Table:
    orders = con.table("orders")
    orders = orders.mutate(order_month=orders.order_time.truncate("M").date())
    cohort = orders.group_by("customer_id").agg(cohort_month=orders.order_month.min())
    sizes = cohort.group_by("cohort_month").agg(cohort_customers=cohort.count())
    t = orders.join(cohort, "customer_id")
    revenue = t.group_by(["cohort_month", "order_month"]).agg(revenue=t.net_amt.sum())
    months = orders.select("order_month").distinct()
    grid = sizes.join(months, months.order_month >= sizes.cohort_month)
    grid = grid.left_join(revenue, ["cohort_month", "order_month"]).select(
        "cohort_month", "order_month", "cohort_customers", "revenue"
    )
    grid = grid.mutate(
        revenue=grid.revenue.fill_null(0.0),
        months_since=_months_between(grid.order_month, grid.cohort_month).cast("int64"),
    )
    running = grid.revenue.sum().over(
        ibis.cumulative_window(group_by="cohort_month", order_by="order_month")
    )
    return grid.mutate(cumulative_clv=running / grid.cohort_customers).select(
        "cohort_month",
        "months_since",
        "cohort_customers",
        "revenue",
        "cumulative_clv",
    )


CLV_CURVES_SQL = """
WITH first_month AS (
    SELECT customer_id, MIN(DATE_TRUNC('month', order_time)) AS cohort_month
    FROM order_line GROUP BY customer_id
), cohort_size AS (
    SELECT cohort_month, COUNT(*) AS cohort_customers FROM first_month GROUP BY cohort_month
), months AS (
    SELECT DISTINCT DATE_TRUNC('month', order_time) AS order_month FROM order_line
), monthly AS (
    SELECT f.cohort_month, DATE_TRUNC('month', ol.order_time) AS order_month,
           SUM(ol.amt - ol.discount) AS revenue
    FROM order_line ol JOIN first_month f USING (customer_id)
    GROUP BY 1, 2
)
SELECT s.cohort_month,
       DATE_DIFF('month', s.cohort_month, m.order_month)                     AS months_since,
       s.cohort_customers,
       COALESCE(r.revenue, 0)                                                AS revenue,
       SUM(COALESCE(r.revenue, 0)) OVER (PARTITION BY s.cohort_month ORDER BY m.order_month)
           / s.cohort_customers                                              AS cumulative_clv
FROM cohort_size s
JOIN months m ON m.order_month >= s.cohort_month
LEFT JOIN monthly r ON r.cohort_month = s.cohort_month AND r.order_month = m.order_month
"""

CLV_HORIZON_MONTHS = 36


def customer_lifetime_value(con) -> ir.Table:
    orders = con.table("orders")
    orders = orders.mutate(order_month=orders.order_time.truncate("M").date())
    last_month = orders.order_month.max().as_scalar()
    cohort = orders.group_by("customer_id").agg(cohort_month=orders.order_month.min())
    t = orders.join(cohort, "customer_id")
    c = t.group_by("cohort_month").agg(
        customers=t.customer_id.nunique(),
        orders=t.count(),
        revenue=t.net_amt.sum(),
    )
    c = c.mutate(
        months_observed=(_months_between(last_month, c.cohort_month) + 1).cast("int64"),
    )
    c = c.mutate(
        historical_clv=c.revenue / c.customers,
        aov=c.revenue / c.orders,
        repeat_orders_per_customer_month=(c.orders - c.customers)
        / (c.customers * c.months_observed),
    )
    return c.mutate(
        predicted_clv_36m=c.aov * (1 + c.repeat_orders_per_customer_month * CLV_HORIZON_MONTHS)
    ).select(
        "cohort_month",
        "customers",
        "months_observed",
        "orders",
        "revenue",
        "historical_clv",
        "aov",
        "repeat_orders_per_customer_month",
        "predicted_clv_36m",
    )


CLV_SQL = f"""
WITH orders_ AS (
    SELECT order_id, customer_id, MIN(order_time) AS order_time, SUM(amt - discount) AS net
    FROM order_line GROUP BY order_id, customer_id
), cohorts AS (
    SELECT customer_id, DATE_TRUNC('month', MIN(order_time)) AS cohort_month
    FROM orders_ GROUP BY customer_id
), per_cohort AS (
    SELECT c.cohort_month,
           COUNT(DISTINCT o.customer_id) AS customers,
           COUNT(*)                      AS orders,
           SUM(o.net)                    AS revenue
    FROM orders_ o JOIN cohorts c USING (customer_id)
    GROUP BY c.cohort_month
), observed AS (
    SELECT *, DATE_DIFF('month', cohort_month,
                        (SELECT DATE_TRUNC('month', MAX(order_time)) FROM orders_)) + 1
              AS months_observed
    FROM per_cohort
)
SELECT cohort_month, customers, months_observed, orders, revenue,
       revenue / customers                                        AS historical_clv,
       revenue / orders                                           AS aov,
       (orders - customers) / (customers * months_observed)       AS repeat_orders_per_customer_month,
       revenue / orders
           * (1 + (orders - customers) / (customers * months_observed) * {CLV_HORIZON_MONTHS})
                                                                  AS predicted_clv_36m
FROM observed
"""


# ---------------------------------------------------------------------------------------------
# 4. inventory levels
# ---------------------------------------------------------------------------------------------
def inventory_levels(con) -> ir.Table:
    snap = con.table("inventory_snapshot")
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
FROM inventory_snapshot
WINDOW w AS (PARTITION BY store_id, product_id ORDER BY snapshot_date
             RANGE BETWEEN INTERVAL 27 DAY PRECEDING AND CURRENT ROW)
"""


def stock_out_summary(con) -> ir.Table:
    snap = con.table("inventory_snapshot")
    return snap.group_by(["store_id", "product_id"]).agg(
        days=snap.count(),
        stock_out_days=(snap.quantity_on_hand <= 0).sum().cast("int64"),
        units_sold=snap.units_sold.sum(),
        avg_on_hand=snap.quantity_on_hand.mean(),
    )


STOCK_OUT_SQL = """
SELECT store_id, product_id,
       COUNT(*)                                        AS days,
       COUNT(*) FILTER (WHERE quantity_on_hand = 0)    AS stock_out_days,
       SUM(units_sold)                                 AS units_sold,
       AVG(quantity_on_hand)                           AS avg_on_hand
FROM inventory_snapshot
GROUP BY store_id, product_id
"""


# ---------------------------------------------------------------------------------------------
# 5. campaign effectiveness
# ---------------------------------------------------------------------------------------------
def campaign_effectiveness(con, baseline_days: int = BASELINE_DAYS) -> ir.Table:
    orders = con.table("orders")
    camps = con.table("campaign")
    attributed = orders.filter(orders.campaign_id.notnull())
    attr = attributed.group_by("campaign_id").agg(
        attributed_orders=attributed.count(),
        attributed_revenue=attributed.net_amt.sum(),
        new_customers=attributed.is_first_order.sum().cast("int64"),
    )
    daily = orders.group_by(day=orders.order_time.date()).agg(n=orders.count())
    c = camps.mutate(
        start_day=camps.campaign_start_time.date(), end_day=camps.campaign_end_time.date()
    )
    pre_start = c.start_day - ibis.interval(days=baseline_days)
    post_end = c.end_day + ibis.interval(days=baseline_days)
    j = c.join(daily, (daily["day"] >= pre_start) & (daily["day"] < post_end))
    inside = (j["day"] >= j.start_day) & (j["day"] < j.end_day)
    counts = j.group_by(["campaign_id", "start_day", "end_day"]).agg(
        window_orders=ibis.ifelse(inside, j.n, 0).sum(),
        baseline_orders=ibis.ifelse(inside, 0, j.n).sum(),
    )
    window_days = counts.end_day.delta(counts.start_day, unit="day")
    counts = counts.mutate(
        window_rate=counts.window_orders / window_days,
        baseline_rate=counts.baseline_orders / (2 * baseline_days),
    )
    t = c.select("campaign_id", "campaign_name", "channel").join(counts, "campaign_id")
    t = t.left_join(attr, "campaign_id").drop("campaign_id_right")
    return t.select(
        "campaign_id",
        "campaign_name",
        "channel",
        attributed_orders=t.attributed_orders.fill_null(0),
        attributed_revenue=t.attributed_revenue.fill_null(0.0),
        attributed_aov=t.attributed_revenue / t.attributed_orders,
        new_customers=t.new_customers.fill_null(0),
        window_orders_per_day=t.window_rate,
        baseline_orders_per_day=t.baseline_rate,
        lift=t.window_rate / t.baseline_rate,
        incremental_orders=(t.window_rate - t.baseline_rate) * window_days,
    )


CAMPAIGN_SQL = f"""
WITH orders_ AS (
    SELECT order_id, customer_id, MIN(order_time) AS order_time,
           MAX(campaign_id) AS campaign_id, SUM(amt - discount) AS net
    FROM order_line GROUP BY order_id, customer_id
), firsts AS (
    SELECT order_id,
           ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_time, order_id) = 1 AS is_first
    FROM orders_
), attributed AS (
    SELECT o.campaign_id, COUNT(*) AS attributed_orders, SUM(o.net) AS attributed_revenue,
           COUNT(*) FILTER (WHERE f.is_first) AS new_customers
    FROM orders_ o JOIN firsts f USING (order_id)
    WHERE o.campaign_id IS NOT NULL
    GROUP BY o.campaign_id
), windows AS (
    SELECT c.campaign_id,
           DATE_DIFF('day', CAST(c.campaign_start_time AS DATE), CAST(c.campaign_end_time AS DATE))
               AS window_days,
           COUNT(*) FILTER (WHERE o.order_time >= c.campaign_start_time
                              AND o.order_time <  c.campaign_end_time) AS window_orders,
           COUNT(*) FILTER (WHERE o.order_time <  c.campaign_start_time
                               OR o.order_time >= c.campaign_end_time)  AS baseline_orders
    FROM campaign c
    JOIN orders_ o
      ON o.order_time >= c.campaign_start_time - INTERVAL {BASELINE_DAYS} DAY
     AND o.order_time <  c.campaign_end_time + INTERVAL {BASELINE_DAYS} DAY
    GROUP BY c.campaign_id, c.campaign_start_time, c.campaign_end_time
)
SELECT c.campaign_id, c.campaign_name, c.channel,
       COALESCE(a.attributed_orders, 0)                    AS attributed_orders,
       COALESCE(a.attributed_revenue, 0)                   AS attributed_revenue,
       a.attributed_revenue / a.attributed_orders          AS attributed_aov,
       COALESCE(a.new_customers, 0)                        AS new_customers,
       w.window_orders / w.window_days                     AS window_orders_per_day,
       w.baseline_orders / {2 * BASELINE_DAYS}             AS baseline_orders_per_day,
       (w.window_orders / w.window_days) / (w.baseline_orders / {2 * BASELINE_DAYS}) AS lift,
       w.window_orders - w.baseline_orders / {2 * BASELINE_DAYS} * w.window_days AS incremental_orders
FROM campaign c
JOIN windows w USING (campaign_id)
LEFT JOIN attributed a USING (campaign_id)
"""


# ---------------------------------------------------------------------------------------------
# helpers for the marts
# ---------------------------------------------------------------------------------------------
def customer_summary(con) -> ir.Table:
    orders = con.table("orders")
    per = orders.group_by("customer_id").agg(
        first_order_time=orders.order_time.min(),
        last_order_time=orders.order_time.max(),
        orders=orders.count(),
        net_sales=orders.net_amt.sum(),
    )
    return per.mutate(cohort_month=per.first_order_time.truncate("M").date()).select(
        "customer_id", "first_order_time", "last_order_time", "cohort_month", "orders", "net_sales"
    )


# the same mart in hand-written SQL (the tests compare the two)
CUSTOMER_SUMMARY_SQL = """
SELECT customer_id,
       MIN(order_time)                                  AS first_order_time,
       MAX(order_time)                                  AS last_order_time,
       CAST(DATE_TRUNC('month', MIN(order_time)) AS DATE) AS cohort_month,
       COUNT(*)                                         AS orders,
       SUM(net_amt)                                     AS net_sales
FROM orders
GROUP BY customer_id
"""


# ---------------------------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------------------------
_NET = "Revenue = net line amount (amt - discount), before tax and shipping, gross of returns."
_TIME = "Dated by order_time (UTC event time), never by load time."

METRICS = {
    m.name: m
    for m in [
        Metric(
            "daily_sales_by_category",
            "Track daily sales totals by product category",
            f"Per UTC order date and leaf category (the category at purchase time, kept on the "
            f"line): distinct orders, units, gross, discount and net sales. {_NET} {_TIME} "
            "Days without a sale in a category have no row. The last day (2025-12-31) is complete.",
            daily_sales_by_category,
            DAILY_SALES_SQL,
            ("order_date", "product_category_id"),
        ),
        Metric(
            "daily_sales_by_top_category",
            "Track daily sales totals by product category (rolled up the hierarchy)",
            "The same, rolled up to top-level categories through parent_category_id. Orders "
            f"are counted distinct at the top level (not summed over leaves). {_NET} {_TIME}",
            daily_sales_by_top_category,
            DAILY_TOP_SQL,
            ("order_date", "top_category_id"),
        ),
        Metric(
            "customer_rfm",
            "Analyze customer purchase history for segmentation",
            "Per customer, as of 2026-01-01 00:00 (exclusive): recency = days from the last "
            "order date to the as-of date; frequency = orders in the 365 days before; monetary = "
            f"their net revenue; segment by fixed rules (New if the first order is in the last "
            f"30 days, Champions R<=30 and F>=10, Loyal F>=10, Regular F>=3 and R<=90, At risk "
            f"F>=3, Occasional F>=1, else Lost). {_NET}",
            customer_rfm,
            CUSTOMER_RFM_SQL,
            ("customer_id",),
        ),
        Metric(
            "customer_segments",
            "Analyze customer purchase history for segmentation",
            "RFM segments as of 2026-01-01: customers, share of customers, revenue in the last "
            "365 days and its share, average recency, frequency and monetary value.",
            customer_segments,
            CUSTOMER_SEGMENTS_SQL,
            ("segment",),
        ),
        Metric(
            "average_order_value",
            "Calculate average order value (AOV)",
            f"Per calendar month of order_time: orders, net sales and AOV = net sales / orders. "
            f"{_NET} Every month of the data is complete.",
            average_order_value,
            AOV_SQL,
            ("order_month",),
        ),
        Metric(
            "customer_lifetime_value",
            "Calculate customer lifetime value (CLV)",
            "Per acquisition cohort (month of the first order): historical CLV = net revenue to "
            "date per customer; predicted 36-month CLV = AOV x (1 + r x 36), where r = repeat "
            "orders per customer-month observed so far (no churn, no discounting, revenue not "
            "margin). months_observed counts the cohort month up to December 2025.",
            customer_lifetime_value,
            CLV_SQL,
            ("cohort_month",),
        ),
        Metric(
            "clv_cohort_curves",
            "Calculate customer lifetime value (CLV)",
            "Per cohort and month since acquisition (0 = the cohort month): the cohort's net "
            "revenue that month and cumulative revenue per cohort customer. Months with no order "
            "count as zero; a cohort's curve stops at December 2025.",
            clv_cohort_curves,
            CLV_CURVES_SQL,
            ("cohort_month", "months_since"),
        ),
        Metric(
            "inventory_levels",
            "Monitor product inventory levels",
            "Per day, store and product from its first stock movement: end-of-day units on "
            "hand, units sold, stock-out (on hand = 0 at day end), average daily units sold over "
            "the 28 days ending that day (fewer at the start), and days of cover = on hand / "
            "that average (null without sales).",
            inventory_levels,
            INVENTORY_SQL,
            ("snapshot_date", "store_id", "product_id"),
        ),
        Metric(
            "stock_out_summary",
            "Monitor product inventory levels",
            "Per store and product over the whole period: days tracked, stock-out days, units "
            "sold and average end-of-day stock.",
            stock_out_summary,
            STOCK_OUT_SQL,
            ("store_id", "product_id"),
        ),
        Metric(
            "campaign_effectiveness",
            "Evaluate the effectiveness of marketing campaigns",
            "Per campaign: attributed orders (the order carries its campaign_id, captured at "
            "click-through), their net revenue, AOV and new customers (first orders); and lift = "
            "orders per day in the window [start, end) / orders per day in the 28 days before "
            "and the 28 days after (all orders, attributed or not). incremental_orders = window "
            "orders minus the baseline rate times the window days.",
            campaign_effectiveness,
            CAMPAIGN_SQL,
            ("campaign_id",),
        ),
    ]
}


# ---------------------------------------------------------------------------------------------
# interview exercises (notebook 05)
# ---------------------------------------------------------------------------------------------
Y2025 = (datetime(2025, 1, 1), datetime(2026, 1, 1))


def _ex_aov(con):
    o = con.table("orders")
    o = o.filter((o.order_time >= Y2025[0]) & (o.order_time < Y2025[1]))
    return o.aggregate(aov=o.net_amt.sum() / o.count())


def _ex_top_category(con):
    t = daily_sales_by_top_category(con)
    t = t.filter(t.order_date >= date(2025, 1, 1))
    return t.group_by("top_category_name").agg(net_sales=t.net_sales.sum())


def _ex_fan_out(con):
    o = con.table("orders")
    return o.group_by("store_id").agg(shipping=o.shipping_amt.sum())


def _ex_city(con):
    lines = con.table("order_line")
    cust = con.table("customer")
    lines = lines.filter(lines.order_time >= Y2025[0])
    t = lines.join(cust, "customer_sk")
    return t.group_by("city").agg(net_sales=t.net_amt.sum())


def _ex_reconcile(con):
    e = con.table("inventory_event")
    e = e.filter((e.store_id == 2) & (e.event_time < datetime(2025, 7, 1)))
    return e.group_by("product_id").agg(quantity_on_hand=e.quantity_change.sum())


def _ex_attribution(con):
    o = con.table("orders")
    o = o.filter(o.campaign_id.notnull())
    return o.group_by("campaign_id").agg(orders=o.count(), revenue=o.net_amt.sum())


def _ex_rfm(con):
    return customer_rfm(con).select("customer_id", "recency_days", "frequency", "monetary")


def _ex_versions(con):
    c = con.table("customer")
    c = c.filter(~c.is_inferred)
    per = c.group_by("customer_id").agg(versions=c.count())
    return per.group_by("versions").agg(customers=per.count())


EXERCISES = {
    e.name: e
    for e in [
        Exercise(
            "ecommerce.grain",
            "Name the columns that identify one row of inventory_snapshot (its grain).",
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
            "Net sales in 2025 per top-level category: columns top_category_name, net_sales.",
            _ex_top_category,
            hint="Walk up parent_category_id, or use the flattened top_category_id.",
        ),
        Exercise(
            "ecommerce.fan_out",
            "Total shipping charged per store: columns store_id, shipping.",
            _ex_fan_out,
            hint="Shipping is charged once per order. Joining orders to order_line repeats it.",
        ),
        Exercise(
            "ecommerce.city_at_purchase",
            "Net sales in 2025 by the city the customer lived in when ordering: columns city, "
            "net_sales (customers with no known city form a null city).",
            _ex_city,
            hint="order_line.customer_sk points at the version valid at order time.",
        ),
        Exercise(
            "ecommerce.inventory_reconciliation",
            "From inventory_event alone, the stock of every product of store 2 at the end of "
            "2025-06-30: columns product_id, quantity_on_hand.",
            _ex_reconcile,
            hint="Stock is the running sum of quantity_change; stop before 2025-07-01 00:00.",
        ),
        Exercise(
            "ecommerce.campaign_attribution",
            "Orders and net revenue attributed to each campaign: columns campaign_id, orders, "
            "revenue.",
            _ex_attribution,
            hint="An order is attributed when it carries the campaign_id captured at click-through.",
        ),
        Exercise(
            "ecommerce.rfm",
            "Per customer as of 2026-01-01: recency_days (days from the last order date), "
            "frequency (orders in the 365 days before) and monetary (their net revenue): columns "
            "customer_id, recency_days, frequency, monetary.",
            _ex_rfm,
            hint="Filter orders before the as-of instant; FILTER (WHERE ...) counts the last 365 days.",
        ),
        Exercise(
            "ecommerce.scd2_versions",
            "How many customers have 1, 2, 3... versions in the customer dimension (ignore "
            "inferred members)? Columns versions, customers.",
            _ex_versions,
            hint="Group by the business key, then group the counts.",
        ),
    ]
}
