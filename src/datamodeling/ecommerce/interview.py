"""The e-commerce mock interview: prompt, 45-minute script, rubric, drills, and a design task.

The design task (subscriptions) refers to the existing model through ``schema`` by business key,
so it holds whether the shop's tables are called ``customer`` or ``dim_customer``.
"""

from __future__ import annotations

from datamodeling.interview import (
    DesignTask,
    Drill,
    Entity,
    History,
    Link,
    Measure,
    MockInterview,
    Phase,
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
        Entity("customer", "the customer", keys=("customer_id",), model_key=("customer_id",)),
        Entity("product", "the product", keys=("product_id",), model_key=("product_id",)),
        Entity("date", "the day", keys=("date_key",), model_key=("date_key",), time=True),
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
    C("valid_to", "timestamp", "Valid to (exclusive); 9999-12-31 on the current version.", False),
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
        C("subscription_event_id", "int64", "Event id from the subscription system.", False),
        C("subscription_id", "int64", "The subscription (degenerate dimension).", False),
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
        C("mrr_change_amt", "decimal(18, 2)", "Change in monthly recurring revenue.", False),
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
        C("monthly_price", "decimal(18, 2)", "Today's price (the price paid is on the fact)."),
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
        C("mrr_amt", "decimal(18, 2)", "Monthly recurring revenue at the month's end.", False),
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
)
