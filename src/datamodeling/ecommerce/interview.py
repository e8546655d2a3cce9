"""The e-commerce mock interview: prompt, 45-minute script, rubric, drills, a design task, and a
metric investigation.

The design task (subscriptions) refers to the existing model through ``schema`` by business key,
so it holds whether the shop's tables are called ``customer`` or ``dim_customer``. The
investigation's cause is planted by the generator (``generate.PLANTED["incident"]``).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from datamodeling.ecommerce.generate import PLANTED
from datamodeling.interview import (
    REFERENCE,
    DesignTask,
    Drill,
    Entity,
    History,
    Investigation,
    Link,
    Measure,
    MockInterview,
    Option,
    Phase,
    Step,
)
from datamodeling.schema import Column, ForeignKey, Table

C = Column

PROMPT = (
    "We're an online shop with a few high-street stores. Leadership wants a warehouse: daily "
    "sales by category, who our customers are and what they buy, average order value and "
    "lifetime value, how much stock we hold, and whether our marketing campaigns work. Design "
    "it. The whiteboard is yours."
)

PHASES = (
    Phase(
        "Clarify",
        5,
        asks="“Where do you want to start?”",
        listens_for="Questions that turn each requirement into a number with a definition, "
        "before any table is drawn.",
        strong="Asks whether sales are net of discounts, returns and tax; whether 'daily' is the "
        "UTC day or the store's day; whether past sales follow a product into a new category; "
        "how an order is tied to a campaign. Writes the answers down as metric definitions.",
        acceptable="Asks two or three of these, or asks them later when a table needs the answer.",
        weak="Starts drawing `orders`, `customers`, `products` at once, or asks only about "
        "volume and tools.",
    ),
    Phase(
        "Processes and grain",
        10,
        asks="“What are your fact tables?”",
        listens_for="Business processes named, and one grain sentence per fact, said before its "
        "columns.",
        strong="Names ordering, returns and stock movements as processes; states 'one row per "
        "order line' before listing columns; adds an order-grain table for shipping and AOV; "
        "stock as a transaction fact plus a daily snapshot per store and product.",
        acceptable="Order lines at the right grain, stock as a snapshot only, returns forgotten "
        "until asked.",
        weak="One `orders` table with a row per order and the products in a list, or a grain "
        "never stated.",
    ),
    Phase(
        "Dimensions and facts",
        12,
        asks="“What does an order line join to? What changes over time?”",
        listens_for="Dimensions by who/what/where/when, an SCD type per dimension with its "
        "reason, additive measures.",
        strong="Customer and product as type 2 with surrogate keys resolved at load (city and "
        "price 'as they were'); store, campaign and a category hierarchy as type 1; a date "
        "dimension; measures stored as additive amounts (net = amount - discount), AOV computed, "
        "never stored.",
        acceptable="Right dimensions, type 2 argued for one of customer or product, money as "
        "float.",
        weak="Joins facts to `customer` on `customer_id` with no history, or stores AOV and "
        "percentages in the fact.",
    ),
    Phase(
        "Metrics in SQL",
        10,
        asks="“Write daily sales by category and average order value.”",
        listens_for="Correct grain of aggregation, no fan-out, SCD2 joins on the surrogate key.",
        strong="Sums net amount by order date and the category on the line; AOV as "
        "SUM(order net) / COUNT(DISTINCT order_id) at order grain; says why SUM(shipping) over "
        "lines would double count without allocation.",
        acceptable="Correct SQL after one hint about distinct orders or the SCD2 join.",
        weak="AVG(amount) over lines as AOV; joins an SCD2 table on the business key and "
        "inflates revenue.",
    ),
    Phase(
        "Scale and trade-offs",
        8,
        asks="“Ten times the traffic next year, and marketing wants it hourly. What changes?”",
        listens_for="Physical choices that keep the logical model; late data; tests.",
        strong="Partitions order lines by order date, incremental loads with a lookback for late "
        "lines, a daily category mart for the dashboard, inferred members for late customers, "
        "tests that rows in = loaded + quarantined.",
        acceptable="Partitioning and a mart, no word on late data or tests.",
        weak="Proposes a new database product, or denormalises everything into one wide table.",
    ),
)

DRILLS = (
    Drill(
        "order-grain",
        "Why is your fact at the order line? The business counts orders.",
        "grain",
        "Because the questions slice by product and category, and an order holds several "
        "products. At order grain, 'sales by category' has no single category to group by. "
        "The finest grain the source gives is the line, and lines add up to orders; orders "
        "cannot be split back into lines. For order-level questions (AOV, shipping, the "
        "customer's first order) I add `orders`, one row per order, built from the lines, so "
        "order-level measures are stored once and never summed over lines.",
        (
            (
                "Orders are what the business counts, so the fact is the order.",
                "It cannot answer sales by category, the first requirement.",
            ),
            (
                "Lines, and AOV is AVG(amount) over them.",
                "Averages lines, not orders: an order with three lines counts three times.",
            ),
        ),
    ),
    Drill(
        "one-big-table",
        "Why not one wide orders table with the customer's and the product's columns in it? "
        "Fewer joins.",
        "star schema",
        "A wide table is a fine *mart* for one dashboard, built from the star. As the only model "
        "it repeats every customer and product attribute on every line, so a change "
        "(a customer moves) is either written back into history or not recorded at all; a new "
        "process (returns, stock) needs a new wide table with its own copy of the customer; "
        "and every consumer re-derives the same attributes. The star keeps each attribute once "
        "with its history, and the joins are on integer keys, which columnar engines do cheaply.",
        (
            (
                "Joins are slow, so flatten everything.",
                "Ignores history and reuse, and is wrong on modern columnar engines.",
            ),
            (
                "Normalise to third normal form like the source.",
                "An OLTP schema is built for updates, not for analysis by business process.",
            ),
        ),
    ),
    Drill(
        "campaign-fact-or-dimension",
        "Is a campaign a fact or a dimension? And inventory?",
        "fact vs dimension",
        "A campaign is a dimension: a named thing with descriptive attributes (channel, window) "
        "that orders point to. Campaign *spend* per day would be a fact. Inventory is a process "
        "with two facts: stock movements (receipts, sales, returns), one row per movement, "
        "additive; and a daily snapshot of stock on hand per store and product, "
        "semi-additive: it adds up across stores, never across days.",
        (
            (
                "Campaigns are a fact because they have dates.",
                "Having dates does not make a measurement; the window is an attribute.",
            ),
            (
                "Inventory is a column on the product.",
                "One number per product cannot hold stock per store per day, nor its history.",
            ),
        ),
    ),
    Drill(
        "customer-moved",
        "The customer moved from Denver to Austin last week. Which city gets last month's order?",
        "SCD type",
        "Denver: the order was placed while she lived there, if the business wants sales by "
        "where customers lived, which is what regional marketing asks. So the customer is a "
        "type 2 dimension: the move closes the Denver version and opens an Austin one, and the "
        "order line stores the surrogate key of the version valid at `order_time`, resolved "
        "once at load. For 'sales by where customers live now' I join through the business key "
        "to the current row (type 7: both keys on the fact). I would ask which one they want.",
        (
            (
                "Austin, the customer table says Austin.",
                "Restates history with today's value; last month's Denver sales move to Austin.",
            ),
            (
                "Join on customer_id and the validity range, at query time.",
                "Correct but every query must remember the time condition; resolve it once at "
                "load.",
            ),
        ),
    ),
    Drill(
        "surrogate-key",
        "Why a `customer_sk`? The customer already has an id.",
        "surrogate keys",
        "With type 2 history one customer has several rows, so `customer_id` no longer "
        "identifies a row. The surrogate key identifies one version, so a fact row joins to "
        "exactly one row with a plain equi-join. It is a hash of the business key and "
        "`valid_from`, so a rebuild gives the same keys. It also shields the warehouse from the "
        "source reusing or changing its ids.",
        (
            (
                "Surrogate keys are best practice.",
                "Names no reason; the interviewer will ask why again.",
            ),
            (
                "An auto-increment id.",
                "A rebuild renumbers every version and breaks the facts that store the old keys.",
            ),
        ),
    ),
    Drill(
        "shipping-on-every-line",
        "The source repeats the order's shipping charge on every line. What is shipping revenue?",
        "grain",
        "Not SUM over lines: that counts the charge once per line. Shipping is an order-level "
        "measure, so it lives in the order-grain table, or it is allocated to the lines so that "
        "the lines of an order add up to the charge (in proportion to net amount, to the cent, "
        "with the rounding remainder on one line). Then both SUMs agree and every measure on "
        "the line is additive.",
        (
            (
                "SUM(shipping_amt) / COUNT(*) per order.",
                "Patches one query; the next analyst sums the column again.",
            ),
            (
                "MAX(shipping_amt) per order.",
                "Works until a line has a different value; hides the grain problem instead of "
                "fixing it.",
            ),
        ),
    ),
    Drill(
        "late-customer",
        "The order arrives before the new customer's record. What does your load do?",
        "late-arriving data",
        "It never drops the order. The load inserts an inferred member: a customer row with the "
        "business key, attributes 'Unknown' and `is_inferred` true, and the order line points "
        "at it. When the real record arrives, it fills that row's attributes (the version "
        "starts at sign-up, so the order keeps its key). A test counts inferred members so a "
        "broken feed shows up. An order with no customer id at all points at the Unknown member "
        "(-1).",
        (
            (
                "Inner join to the customer table; the order is loaded tomorrow.",
                "The order silently vanishes from today's revenue and may never come back.",
            ),
            (
                "Leave customer_sk NULL.",
                "Every inner join drops the row; the model must never have a NULL fact key.",
            ),
        ),
    ),
    Drill(
        "multi-touch",
        "An order can be credited to several campaigns: an email, then a paid ad. Your order line "
        "has one campaign_id.",
        "bridge tables",
        "Then order to campaign is many-to-many, and one column cannot hold it. I add a bridge, "
        "one row per order and campaign touch, with a weight that sums to 1 per order (last "
        "touch: 1 on the last; linear: 1/n each). Revenue by campaign is SUM(net * weight); "
        "the weights keep totals equal to revenue. The order line keeps the last-touch "
        "campaign for the simple report, and says so in its name.",
        (
            (
                "Store a comma-separated list of campaign ids.",
                "Cannot be joined, constrained or counted without parsing.",
            ),
            (
                "Duplicate the order line once per campaign.",
                "Every revenue query now double counts.",
            ),
        ),
    ),
    Drill(
        "black-friday",
        "Now 100× the orders, and marketing wants sales by the minute during Black Friday.",
        "scale",
        "The logical model stays. Physically: order lines partitioned by order date and "
        "clustered by category; loads become incremental, a day (or an hour) at a time, "
        "idempotent (replace a partition, never append twice), with a lookback for late lines; "
        "the daily category mart gets an hourly sibling for the event. Per-minute sales come "
        "from a streaming aggregate of the order feed, reconciled the next morning with the "
        "batch numbers, and labelled provisional until then.",
        (
            (
                "Move to a bigger database.",
                "Names a tool, not a design; the model's choices are what is asked.",
            ),
            (
                "Drop the order lines and keep the marts.",
                "The first new question (a new breakdown) cannot be answered.",
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# The schema-evolution task: subscriptions
# --------------------------------------------------------------------------------------------
TASK = DesignTask(
    name="ecommerce.subscriptions",
    practice="ecommerce",
    title="Subscriptions: a coffee box every month",
    requirement=(
        "The shop launches subscriptions. A customer subscribes to a plan (a monthly coffee box "
        "or a premium box), can switch plan, pause and cancel; every month the subscription "
        "renews, is billed and ships a box. Each month's box holds several products, and a "
        "product goes into the boxes of several plans. Plan prices change now and then."
    ),
    source={
        "subscription_events": "subscription_event_id, subscription_id, customer_id, plan_id, "
        "event_type (started, plan_changed, paused, resumed, cancelled, renewed), event_time, "
        "billed_amount (on renewals)",
        "plans": "plan_id, plan_name, monthly_price, updated_at",
        "box_contents": "plan_id, box_month, product_id, quantity",
    },
    questions=(
        "Monthly recurring revenue (MRR) by plan at each month end, each subscription under the "
        "plan it was on then.",
        "Subscribers who cancelled each month, by the city the customer lived in when they "
        "cancelled.",
        "Units of each product shipped in subscription boxes per month.",
        "Billed subscription revenue per month, beside the shop's order revenue.",
    ),
    reference_question="Billed subscription revenue by plan, customer and month.",
    entities=(
        Entity(
            "customer",
            "the customer",
            keys=("customer_id",),
            model_key=("customer_id",),
        ),
        Entity(
            "product", "the product", keys=("product_id",), model_key=("product_id",)
        ),
        Entity(
            "date", "the day", keys=("date_key",), model_key=("date_key",), time=True
        ),
        Entity("subscription", "the subscription", keys=("subscription_id",)),
        Entity(
            "subscription_event",
            "a subscription event",
            keys=("subscription_event_id",),
            event=True,
        ),
        Entity("plan", "the plan", keys=("plan_id",), slice_by=("plan_name",)),
    ),
    grains=(("subscription_event",), ("subscription", "date")),
    references=(("customer", 1), ("plan", 1), ("date", 1)),
    history=(
        History(
            "The plan each subscription was on at the time",
            "plan",
            why="MRR at the end of March counts a subscription under its March plan, not under "
            "the plan it switched to in May.",
        ),
        History(
            "The city the customer lived in when they cancelled",
            "customer",
            attribute=("city",),
            why="Churn by city counts a customer who later moved under the city of the "
            "cancellation.",
        ),
    ),
    links=(
        Link(
            "plan",
            "product",
            why="a month's box holds several products, and a product goes into the boxes of "
            "several plans.",
        ),
    ),
    measures=(
        Measure(
            "the amount billed",
            hints=("amt", "amount", "mrr", "revenue", "billed"),
            kind="money",
            why="MRR and billed revenue are sums of it.",
        ),
    ),
)

_VALIDITY = [
    C("valid_from", "timestamp", "Version valid from (inclusive).", False),
    C(
        "valid_to",
        "timestamp",
        "Valid to (exclusive); 9999-12-31 on the current version.",
        False,
    ),
    C("is_current", "boolean", "The version valid now.", False),
]

_PLAN_SCD2 = Table(
    "dim_plan",
    role="dimension",
    scd_type=2,
    grain="One row per version of a plan: a new row when its name or price changes.",
    columns=[
        C("plan_sk", "int64", "Surrogate key: hash of plan_id and valid_from.", False),
        C("plan_id", "int64", "Plan id from the subscription system.", False),
        C("plan_name", "string", "Plan name."),
        C("monthly_price_amt", "decimal(18, 2)", "Monthly price of this version."),
        *_VALIDITY,
    ],
    primary_key=["plan_sk"],
    business_key=["plan_id"],
)

_BOX_CONTENT = Table(
    "bridge_box_content",
    role="bridge",
    grain="One row per plan, month and product in that month's box.",
    columns=[
        C("plan_id", "int64", "The plan.", False),
        C("box_month", "date", "First day of the month of the box.", False),
        C("product_id", "int64", "A product in the box.", False),
        C("quantity", "int64", "Units of the product in one box.", False),
    ],
    primary_key=["plan_id", "box_month", "product_id"],
    foreign_keys=[
        ForeignKey("plan_id", "dim_plan", point_in_time=True),
        ForeignKey("product_id", "dim_product", point_in_time=True),
    ],
)

_SUBSCRIPTION_EVENT = Table(
    "fact_subscription_event",
    role="fact",
    grain="One row per subscription event: a start, a plan change, a pause, a resume, a "
    "cancellation or a renewal.",
    columns=[
        C(
            "subscription_event_id",
            "int64",
            "Event id from the subscription system.",
            False,
        ),
        C(
            "subscription_id",
            "int64",
            "The subscription (degenerate dimension).",
            False,
        ),
        C("customer_sk", "int64", "Customer version valid at event_time.", False),
        C("plan_sk", "int64", "Plan version in force after the event.", False),
        C("date_key", "int64", "Day of the event (yyyymmdd).", False),
        C(
            "event_type",
            "string",
            "started, plan_changed, paused, resumed, cancelled, renewed.",
            False,
        ),
        C("event_time", "timestamp", "When it happened (UTC).", False),
        C("billed_amt", "decimal(18, 2)", "Amount billed (renewals), else 0.", False),
        C(
            "mrr_change_amt",
            "decimal(18, 2)",
            "Change in monthly recurring revenue.",
            False,
        ),
    ],
    primary_key=["subscription_event_id"],
    foreign_keys=[
        ForeignKey("customer_sk", "dim_customer"),
        ForeignKey("plan_sk", "dim_plan"),
        ForeignKey("date_key", "dim_date"),
    ],
)

#: Design A: a transaction fact of subscription events, plans as type 2, box contents per month.
EVENTS_DESIGN = [_PLAN_SCD2, _BOX_CONTENT, _SUBSCRIPTION_EVENT]

_PLAN_SCD1 = Table(
    "plan",
    role="dimension",
    scd_type=1,
    grain="One row per plan.",
    columns=[
        C("plan_id", "int64", "Plan id.", False),
        C("plan_name", "string", "Plan name."),
        C(
            "monthly_price",
            "decimal(18, 2)",
            "Today's price (the price paid is on the fact).",
        ),
    ],
    primary_key=["plan_id"],
    business_key=["plan_id"],
)

_PLAN_PRODUCT = Table(
    "plan_product",
    role="bridge",
    grain="One row per plan and product version in the plan's box.",
    columns=[
        C("plan_id", "int64", "The plan.", False),
        C("product_sk", "int64", "The product version that ships in the box.", False),
        C("units_per_box", "int64", "Units in one box.", False),
    ],
    primary_key=["plan_id", "product_sk"],
    foreign_keys=[ForeignKey("plan_id", "plan"), ForeignKey("product_sk", "product")],
)

_SUBSCRIPTION_MONTH = Table(
    "subscription_month",
    role="fact",
    grain="One row per subscription and month it was active in (periodic snapshot at month end).",
    columns=[
        C("subscription_id", "int64", "The subscription.", False),
        C("month_key", "int64", "The month's first day as yyyymmdd.", False),
        C("customer_sk", "int64", "Customer version at the month's end.", False),
        C("plan_id", "int64", "Plan at the month's end.", False),
        C("status", "string", "active, paused or cancelled at the month's end.", False),
        C(
            "mrr_amt",
            "decimal(18, 2)",
            "Monthly recurring revenue at the month's end.",
            False,
        ),
        C("billed_amt", "decimal(18, 2)", "Billed during the month.", False),
        C("is_cancelled_this_month", "boolean", "Cancelled during the month.", False),
    ],
    primary_key=["subscription_id", "month_key"],
    foreign_keys=[
        ForeignKey("month_key", "date", "date_key"),
        ForeignKey("customer_sk", "customer"),
        ForeignKey("plan_id", "plan"),
    ],
)

#: Design B: a monthly snapshot per subscription, a type 1 plan, contents by product version.
SNAPSHOT_DESIGN = [_PLAN_SCD1, _PLAN_PRODUCT, _SUBSCRIPTION_MONTH]

#: What a rushed candidate draws: one row per subscription, overwritten as it changes.
WEAK_DESIGN = [
    Table(
        "subscriptions",
        role="fact",
        grain="Subscriptions.",
        columns=[
            C("subscription_id", "int64", "Subscription id.", False),
            C("customer_id", "int64", "Customer."),
            C("plan_id", "int64", "Current plan."),
            C("status", "string", "Current status."),
            C("started_at", "timestamp", "Start."),
            C("mrr", "float64", "Current MRR."),
            C("product_ids", "array<int64>", "Products in the box."),
        ],
        primary_key=["subscription_id"],
        foreign_keys=[ForeignKey("customer_id", "customer")],
    )
]

# --------------------------------------------------------------------------------------------
# The metric investigation: the daily report's revenue halves on a Friday
# --------------------------------------------------------------------------------------------
_INCIDENT = PLANTED["incident"]
_DAY = _INCIDENT["order_date"]
#: The alarm Friday and the four before it; the date is written once, so the queries can be run
#: for another day (the tests do, on days without an incident).
_DAYS = f"""days AS (  -- the alarm Friday and the four Fridays before it
    SELECT DATE '{_DAY}' - CAST(7 * k AS INTEGER) AS day, k = 0 AS is_alarm_day
    FROM range(5) AS t(k)
)"""
#: The daily report runs at 07:00 UTC on the morning after the day: a line is in it if it had
#: been loaded by then.
_IN_REPORT = (
    f"l.loaded_at < d.calendar_date + INTERVAL {24 + _INCIDENT['report_hour']} HOUR"
)


def _late_share_is_unusual(frame) -> bool:
    """The alarm day has lines loaded after the report, far more than the Fridays before."""
    day = frame.order_day.astype(str).str[:10]
    lines = frame.order_lines.groupby(day).sum()
    late = (
        frame.order_lines.where(~frame.before_report.astype(bool), 0).groupby(day).sum()
    )
    share = late / lines
    others = share.drop(index=_DAY)
    return share[_DAY] > 0.3 and share[_DAY] > 5 * max(others.max(), 0.02)


def _only_the_report_is_low(frame) -> bool:
    """In the warehouse today the alarm day is an ordinary Friday; only the report saw less."""
    day = frame[frame.friday.astype(str).str[:10] == _DAY].iloc[0]
    before = frame[frame.friday.astype(str).str[:10] != _DAY]
    now_ratio = float(day.in_the_warehouse_now) / float(
        before.in_the_warehouse_now.mean()
    )
    report_share = float(day.in_the_report) / float(day.in_the_warehouse_now)
    others = (
        before.in_the_report.astype(float) / before.in_the_warehouse_now.astype(float)
    ).min()
    return 0.6 < now_ratio < 1.6 and report_share < 0.75 and others > 0.9


def _no_duplicates(frame) -> bool:
    """Every Friday's feed sends each order line about once (a retry now and then)."""
    extra = frame.rows_in_the_feed - frame.distinct_order_lines
    return bool((extra <= 0.05 * frame.rows_in_the_feed + 1).all())


def _web_orders_happened(frame) -> bool:
    """The web shop's orders of the alarm day are in the warehouse, as many as usual."""
    day = frame[frame.friday.astype(str).str[:10] == _DAY].iloc[0]
    before = frame[frame.friday.astype(str).str[:10] != _DAY]
    return float(day.orders) >= 0.6 * float(before.orders.mean())


def _no_campaign_on_the_day(frame) -> bool:
    """No campaign ran on the alarm day (the last one ended weeks before)."""
    day = date.fromisoformat(_DAY)
    return bool((frame.ends <= pd.Timestamp(day)).all()) and len(frame) > 0


INVESTIGATION = Investigation(
    name="ecommerce.daily-report",
    practice="ecommerce",
    title="the daily report halves on a Friday",
    alarm=(
        "The daily sales report for Friday 10 October 2025 shows net revenue of {value}: "
        "{change} below the average of the four Fridays before ({expected}). Finance is asking "
        "what happened. Walk me through it."
    ),
    alarm_format="money",
    alarm_sql=f"""
WITH {_DAYS},
report AS (  -- each Friday as the report saw it, at 07:00 UTC the next morning
    SELECT days.day, days.is_alarm_day, SUM(l.net_amt) AS net_revenue
    FROM fact_order_line AS l
    JOIN dim_date AS d USING (date_key)
    JOIN days ON days.day = d.calendar_date
    WHERE {_IN_REPORT}
    GROUP BY ALL
)
SELECT MAX(net_revenue) FILTER (WHERE is_alarm_day) AS value,
       AVG(net_revenue) FILTER (WHERE NOT is_alarm_day) AS expected
FROM report
""",
    day=_DAY,
    context=(
        "**What the interviewer adds when asked.** The report is the finance team's daily "
        "email: net revenue of the previous UTC day, from the warehouse, sent at 07:00 UTC. "
        "It went out on time, and nobody changed the warehouse's code that week. Nothing "
        "special was planned for that Friday. You have the warehouse: every order line "
        "carries its `loaded_at` (when the load brought it in), the `raw` schema holds the "
        "feeds as they arrived, and `quarantine` the rows the build refused."
    ),
    options=(
        Option(
            "A",
            "A late-arriving partition: part of the day's orders reached the warehouse after "
            "the report ran.",
            "The web shop's lines of that Friday landed with Monday's load, after the report; "
            "by order time the day is an ordinary Friday.",
        ),
        Option(
            "B",
            "A duplicated load inflated the four Fridays before, so the baseline is too high.",
            "every Friday's feed sends each order line once (the odd retry aside, which the "
            "build quarantines), and the four Fridays hold what their orders add up to.",
        ),
        Option(
            "C",
            "A payment outage: customers could not pay that day.",
            "the orders of that Friday are in the warehouse today, as many as on the Fridays "
            "before: the customers did pay.",
        ),
        Option(
            "D",
            "The hangover of the last campaign: it pulled orders forward, and they are missing "
            "now.",
            "the last campaign ended weeks before, a pull-forward is a few percent, and it would "
            "lower the day in the warehouse too; by order time the day is normal.",
        ),
        Option(
            "E",
            "A price rise in a popular category: customers bought less.",
            "nothing fell by order time, in any category: the warehouse today holds an ordinary "
            "Friday.",
        ),
    ),
    cause="A",
    segment={"store": "Web shop"},
    aliases={
        "Web shop": ("web", "webshop", "web store", "online", "online shop", "website")
    },
    kind="share",
    result=(
        "the columns that name the segment, `value`: the share of the alarm day's order lines that the "
        "report counted (loaded before 07:00 UTC the next morning), `expected`: the same share "
        "over the four Fridays before, and `n`: the alarm day's order lines in that segment."
    ),
    reference_sql=f"""
WITH {_DAYS},
by_store AS (
    SELECT s.store_name,
           days.is_alarm_day,
           COUNT(*) AS order_lines,
           COUNT(*) FILTER (WHERE {_IN_REPORT}) AS in_report
    FROM fact_order_line AS l
    JOIN dim_date AS d USING (date_key)
    JOIN days ON days.day = d.calendar_date
    JOIN dim_store AS s USING (store_id)
    GROUP BY ALL
)
SELECT store_name,
       SUM(in_report) FILTER (WHERE is_alarm_day)
         / SUM(order_lines) FILTER (WHERE is_alarm_day) AS value,
       SUM(in_report) FILTER (WHERE NOT is_alarm_day)
         / SUM(order_lines) FILTER (WHERE NOT is_alarm_day) AS expected,
       SUM(order_lines) FILTER (WHERE is_alarm_day) AS n
FROM by_store
GROUP BY store_name
ORDER BY value
""",
    steps=(
        Step(
            "data",
            "Before any slicing: did every load of the day arrive before the report ran? The "
            "five Fridays' order lines, by the day they were loaded.",
            f"""
WITH {_DAYS}
SELECT d.calendar_date AS order_day,
       CAST(l.loaded_at AS DATE) AS loaded_on,
       {_IN_REPORT} AS before_report,
       COUNT(*) AS order_lines
FROM fact_order_line AS l
JOIN dim_date AS d USING (date_key)
JOIN days ON days.day = d.calendar_date
GROUP BY ALL
ORDER BY order_day DESC, loaded_on
""",
            "On an ordinary Friday nearly every line is loaded by 02:00 the next morning, and "
            "the odd straggler comes days later. On the alarm Friday about half the lines came "
            "in with Monday's load, after the report had gone out. That is a data problem, "
            "found before looking at customers.",
            _late_share_is_unusual,
        ),
        Step(
            "data",
            "Is the day itself low, or only the report? The five Fridays as the report saw "
            "them and as the warehouse holds them today.",
            f"""
WITH {_DAYS}
SELECT d.calendar_date AS friday,
       SUM(l.net_amt) FILTER (WHERE {_IN_REPORT}) AS in_the_report,
       SUM(l.net_amt) AS in_the_warehouse_now,
       COUNT(DISTINCT l.order_id) AS orders_now
FROM fact_order_line AS l
JOIN dim_date AS d USING (date_key)
JOIN days ON days.day = d.calendar_date
GROUP BY ALL
ORDER BY friday DESC
""",
            "By order time the alarm Friday is an ordinary Friday; the report saw about half "
            "of it. On the Fridays before, the report and the warehouse agree. Nothing was "
            "lost, so nothing happened to the customers: the report was early.",
            _only_the_report_is_low,
        ),
        Step(
            "data",
            "Could the baseline be inflated instead (option B)? Rows per Friday in the raw "
            "feed against the distinct order lines they carry.",
            f"""
WITH {_DAYS}
SELECT days.day AS friday,
       COUNT(*) AS rows_in_the_feed,
       COUNT(DISTINCT r.line_item_id) AS distinct_line_ids,
       COUNT(DISTINCT (r.order_id, r.line_number)) AS distinct_order_lines
FROM raw.order_line_feed AS r
JOIN days ON days.day = CAST(r.order_time AS DATE)
GROUP BY ALL
ORDER BY friday DESC
""",
            "Each Friday's feed carries each order line once, the odd retry aside (the build "
            "quarantines it). No duplicated load inflated the four Fridays before.",
            _no_duplicates,
        ),
        Step(
            "segments",
            "Where are the missing lines? By store: the share of the day's lines the report "
            "counted, against the same share on the four Fridays before. This is the query "
            "that isolates it.",
            REFERENCE,
            "Every physical store's lines were in the report, as on any Friday; none of the web "
            "shop's were. The segment is the web shop, and the whole of it: its export for "
            "that Friday landed with Monday's load.",
            None,
        ),
        Step(
            "world",
            "Did the web shop's customers stop buying (a payment outage, option C)? Its orders "
            "on the five Fridays, in the warehouse today.",
            f"""
WITH {_DAYS}
SELECT d.calendar_date AS friday,
       COUNT(DISTINCT l.order_id) AS orders,
       SUM(l.net_amt) AS net_revenue
FROM fact_order_line AS l
JOIN dim_date AS d USING (date_key)
JOIN days ON days.day = d.calendar_date
JOIN dim_store AS s USING (store_id)
WHERE s.store_name = 'Web shop'
GROUP BY ALL
ORDER BY friday DESC
""",
            "The web shop took as many orders as on the Fridays before: the customers paid. "
            "There was no outage, only a late delivery of the data.",
            _web_orders_happened,
        ),
        Step(
            "world",
            "Was a campaign running, or just over (option D)? The campaigns of the five weeks "
            "before the alarm.",
            f"""
SELECT campaign_name, channel,
       CAST(campaign_start_time AS DATE) AS starts,
       CAST(campaign_end_time AS DATE) AS ends
FROM dim_campaign
WHERE campaign_end_time > DATE '{_DAY}' - INTERVAL 35 DAY
  AND campaign_start_time <= DATE '{_DAY}' + INTERVAL 1 DAY
ORDER BY starts
""",
            "The last campaign ended weeks before; its pull-forward would lower the day in the "
            "warehouse too, and it did not. No price change is needed to explain a day that "
            "is normal by order time (option E).",
            _no_campaign_on_the_day,
        ),
    ),
    conclusion=(
        "**The cause: A, a late-arriving partition.** The web shop's order lines of Friday "
        "10 October were loaded with Monday's batch, after Saturday's 07:00 report; by order "
        "time the day is ordinary, so no customer was lost. **What I would say next:** restate "
        "the report (send Friday's figure again, with the reason); make the report wait for "
        "completeness (each source's partition for the day has landed, with the row count its "
        "manifest announces) or mark the day *provisional* when a source is missing; and alert "
        "on freshness per source, so a missing export is noticed on Saturday, not by finance "
        "on Monday."
    ),
    minutes=15,
)

MOCK = MockInterview(
    practice="ecommerce",
    title="E-commerce platform",
    prompt=PROMPT,
    phases=PHASES,
    drills=DRILLS,
    task=TASK,
    model_designs={
        "A: subscription events (transaction fact)": EVENTS_DESIGN,
        "B: subscription months (periodic snapshot)": SNAPSHOT_DESIGN,
    },
    weak_design=WEAK_DESIGN,
    weak_design_misses=(
        "grain_stated",
        "fact_grain",
        "references",
        "history",
        "bridges",
        "measures",
        "no_null_fk",
        "answers_on_data",
    ),
    investigation=INVESTIGATION,
)
