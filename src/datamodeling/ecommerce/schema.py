"""The e-commerce model: the seed's schema as given, and the model the warehouse builds.

``SEED_TABLES`` is the schema of the source document, column for column, with the keys it marks.
``TABLES`` is the model we build: the seed's tables keep their names and columns, and every
addition is argued in ``CHANGES`` (notebook 02 prints that table).
"""

from __future__ import annotations

from dataclasses import replace

from datamodeling.calendar import DATE_TABLE
from datamodeling.schema import Column, ForeignKey, Table

C = Column

# --------------------------------------------------------------------------------------------
# The seed's schema, as given
# --------------------------------------------------------------------------------------------
SEED_TABLES = [
    Table(
        "customer",
        role="dimension",
        grain="(not stated; the SCD2 note implies one row per customer version)",
        columns=[
            C("customer_id", "int64", "PK in the seed."),
            C("first_name", "string", ""),
            C("last_name", "string", ""),
            C("email", "string", ""),
            C("phone", "string", ""),
            C("city", "string", ""),
            C("state", "string", ""),
            C("country", "string", ""),
            C("customer_age", "int64", ""),
            C("updated_at", "timestamp", ""),
            C("is_current", "boolean", ""),
        ],
        primary_key=["customer_id"],
    ),
    Table(
        "product",
        role="dimension",
        grain="(not stated; the SCD2 note implies one row per product version)",
        columns=[
            C("product_id", "int64", "PK in the seed."),
            C("product_title", "string", ""),
            C("product_brand", "string", ""),
            C("product_category_id", "int64", ""),
            C("unit_price", "float64", ""),
            C("sku", "string", ""),
            C("created_at", "timestamp", ""),
            C("updated_at", "timestamp", ""),
            C("is_current", "boolean", ""),
        ],
        primary_key=["product_id"],
    ),
    Table(
        "campaign",
        role="dimension",
        grain="One row per campaign.",
        columns=[
            C("campaign_id", "int64", "PK."),
            C("campaign_name", "string", ""),
            C("campaign_start_time", "timestamp", ""),
            C("campaign_end_time", "timestamp", ""),
            C("campaign_description", "string", ""),
        ],
        primary_key=["campaign_id"],
    ),
    Table(
        "order_line",
        role="fact",
        grain="One row per order line.",
        columns=[
            C("line_item_id", "int64", "PK."),
            C("order_id", "int64", ""),
            C("order_time", "timestamp", ""),
            C("customer_id", "int64", "FK."),
            C("campaign_id", "int64", "FK."),
            C("store_id", "int64", ""),
            C("product_id", "int64", "FK."),
            C("product_category_id", "int64", "FK."),
            C("count", "int64", ""),
            C("amt", "float64", ""),
            C("discount", "float64", ""),
            C("unit_price_at_purchase", "float64", ""),
            C("tax_amt", "float64", ""),
            C("shipping_amt", "float64", ""),
            C("line_number", "int64", ""),
        ],
        primary_key=["line_item_id"],
        foreign_keys=[
            ForeignKey("customer_id", "customer"),
            ForeignKey("campaign_id", "campaign"),
            ForeignKey("product_id", "product"),
            ForeignKey("product_category_id", "product_category"),
        ],
    ),
    Table(
        "inventory_event",
        role="fact",
        grain="(not stated) one row per inventory movement",
        columns=[
            C("inventory_event_id", "int64", ""),
            C("event_type", "string", ""),
            C("event_time", "timestamp", ""),
            C("store_id", "int64", ""),
            C("product_id", "int64", ""),
            C("quantity_change", "int64", ""),
            C("reference_order_id", "int64", ""),
        ],
    ),
    Table(
        "inventory_snapshot",
        role="fact",
        grain="(not stated) one row per day, store and product",
        columns=[
            C("snapshot_date", "date", ""),
            C("store_id", "int64", ""),
            C("product_id", "int64", ""),
            C("quantity_on_hand", "int64", ""),
        ],
    ),
    Table(
        "product_category",
        role="dimension",
        grain="(not stated) one row per category",
        columns=[
            C("product_category_id", "int64", ""),
            C("category_name", "string", ""),
            C("parent_category_id", "int64", "optional, for hierarchy"),
        ],
    ),
]

# --------------------------------------------------------------------------------------------
# The model the warehouse builds
# --------------------------------------------------------------------------------------------
_VALIDITY = [
    C("valid_from", "timestamp", "Version valid from this instant (inclusive).", nullable=False),
    C(
        "valid_to",
        "timestamp",
        "Valid until this instant (exclusive); 9999-12-31 if current.",
        False,
    ),
    C("is_current", "boolean", "True on the version valid now (seed column).", nullable=False),
]

DATE = replace(DATE_TABLE, description="Calendar days of the data (2024-01-01 to 2025-12-31).")

PRODUCT_CATEGORY = Table(
    "product_category",
    role="dimension",
    scd_type=1,
    grain="One row per category node of the tree (top-level categories and their leaves).",
    columns=[
        C("product_category_id", "int64", "Category key from the catalogue.", nullable=False),
        C("category_name", "string", "Category name.", nullable=False),
        C("parent_category_id", "int64", "Parent node; null for a top-level category."),
        C("category_level", "int64", "1 = top level, 2 = leaf (products hang on leaves)."),
        C("top_category_id", "int64", "Top-level ancestor (flattened hierarchy)."),
        C("top_category_name", "string", "Name of the top-level ancestor."),
    ],
    primary_key=["product_category_id"],
    business_key=["product_category_id"],
    foreign_keys=[
        ForeignKey("parent_category_id", "product_category", "product_category_id"),
    ],
    notes=[
        "The seed's self-reference is kept; the top-level ancestor is flattened in for rollups."
    ],
)

STORE = Table(
    "store",
    role="dimension",
    scd_type=1,
    grain="One row per store (the web shop is store 1, shipping from the fulfilment centre).",
    columns=[
        C("store_id", "int64", "Store number.", nullable=False),
        C("store_name", "string", "Store name.", nullable=False),
        C("store_type", "string", "online or physical."),
        C("city", "string", "City of the store or fulfilment centre."),
        C("state", "string", "State."),
        C("country", "string", "Country."),
    ],
    primary_key=["store_id"],
    business_key=["store_id"],
)

CAMPAIGN = Table(
    "campaign",
    role="dimension",
    scd_type=1,
    grain="One row per marketing campaign.",
    columns=[
        C("campaign_id", "int64", "Campaign key from the marketing tool.", nullable=False),
        C("campaign_name", "string", "Name.", nullable=False),
        C("campaign_start_time", "timestamp", "Window start (inclusive), UTC.", nullable=False),
        C("campaign_end_time", "timestamp", "Window end (exclusive), UTC.", nullable=False),
        C("campaign_description", "string", "Free text."),
        C("channel", "string", "email, paid_social, search or affiliate."),
    ],
    primary_key=["campaign_id"],
    business_key=["campaign_id"],
)

CUSTOMER = Table(
    "customer",
    role="dimension",
    scd_type=2,
    grain="One row per version of a customer: a new row whenever a tracked attribute changes.",
    columns=[
        C("customer_sk", "int64", "Surrogate key: hash of customer_id and valid_from.", False),
        C("customer_id", "int64", "Business key from the shop's account system.", False),
        C("first_name", "string", "First name."),
        C("last_name", "string", "Last name."),
        C("email", "string", "Email address (changes are tracked)."),
        C("phone", "string", "Phone number."),
        C("city", "string", "City the customer lives in (moves are tracked)."),
        C("state", "string", "State."),
        C("country", "string", "Country."),
        C("customer_age", "int64", "Age given at sign-up (the source never updates it)."),
        C("updated_at", "timestamp", "Source time of the change that opened this version."),
        *_VALIDITY,
        C("is_inferred", "boolean", "Placeholder row for a customer not yet in the extract."),
    ],
    primary_key=["customer_sk"],
    business_key=["customer_id"],
    notes=[
        "customer_id repeats across versions, as the seed's SCD2 note says; the PK is customer_sk.",
    ],
)

PRODUCT = Table(
    "product",
    role="dimension",
    scd_type=2,
    grain="One row per version of a product: price, category, title or brand changes.",
    columns=[
        C("product_sk", "int64", "Surrogate key: hash of product_id and valid_from.", False),
        C("product_id", "int64", "Business key from the catalogue.", nullable=False),
        C("product_title", "string", "Title."),
        C("product_brand", "string", "Brand."),
        C("product_category_id", "int64", "Leaf category of this version."),
        C("unit_price", "float64", "List price of this version."),
        C("sku", "string", "Stock-keeping unit code."),
        C("created_at", "timestamp", "When the product was first listed."),
        C("updated_at", "timestamp", "Source time of the change that opened this version."),
        *_VALIDITY,
    ],
    primary_key=["product_sk"],
    business_key=["product_id"],
    foreign_keys=[ForeignKey("product_category_id", "product_category")],
)

ORDER_LINE = Table(
    "order_line",
    role="fact",
    grain="One row per line of a customer order (one product, a quantity, at one time).",
    columns=[
        C("line_item_id", "int64", "Line key from the order system.", nullable=False),
        C("order_id", "int64", "Order the line belongs to (degenerate dimension).", False),
        C("order_time", "timestamp", "When the order was placed, UTC (event time).", False),
        C("customer_id", "int64", "Customer business key (seed column).", nullable=False),
        C("campaign_id", "int64", "Campaign captured at click-through; null if none."),
        C("store_id", "int64", "Store that sold (and ships) the line.", nullable=False),
        C("product_id", "int64", "Product business key (seed column).", nullable=False),
        C("product_category_id", "int64", "Leaf category at purchase time.", False),
        C("count", "int64", "Units on the line (seed name kept).", nullable=False),
        C("amt", "float64", "Gross line amount = count x unit_price_at_purchase.", False),
        C("discount", "float64", "Discount on the line (amount, not percent).", False),
        C("unit_price_at_purchase", "float64", "Price per unit when ordered.", False),
        C("tax_amt", "float64", "Sales tax on the line.", nullable=False),
        C(
            "shipping_amt",
            "float64",
            "Order shipping allocated to this line (sums to the order's).",
            False,
        ),
        C("line_number", "int64", "Position of the line in its order, from 1.", False),
        C("customer_sk", "int64", "Customer version valid at order_time (point in time).", False),
        C("product_sk", "int64", "Product version valid at order_time (point in time).", False),
        C("order_date_key", "int64", "UTC order date as yyyymmdd.", nullable=False),
        C("net_amt", "float64", "amt - discount: the revenue of the line.", nullable=False),
        C("loaded_at", "timestamp", "When the line reached the warehouse (load time)."),
    ],
    primary_key=["line_item_id"],
    foreign_keys=[
        ForeignKey("customer_sk", "customer"),
        ForeignKey("product_sk", "product"),
        ForeignKey("customer_id", "customer", point_in_time=True),
        ForeignKey("product_id", "product", point_in_time=True),
        ForeignKey("campaign_id", "campaign"),
        ForeignKey("store_id", "store"),
        ForeignKey("product_category_id", "product_category"),
        ForeignKey("order_date_key", "date", "date_key"),
        ForeignKey("order_id", "orders"),
    ],
)

ORDERS = Table(
    "orders",
    role="fact",
    grain="One row per customer order (the checkout), aggregated from its lines.",
    columns=[
        C("order_id", "int64", "Order key.", nullable=False),
        C("order_time", "timestamp", "When the order was placed, UTC.", nullable=False),
        C("order_date_key", "int64", "UTC order date as yyyymmdd.", nullable=False),
        C("customer_id", "int64", "Customer business key.", nullable=False),
        C("customer_sk", "int64", "Customer version at order time.", nullable=False),
        C("store_id", "int64", "Store.", nullable=False),
        C("campaign_id", "int64", "Campaign captured at click-through."),
        C("line_count", "int64", "Lines in the order.", nullable=False),
        C("units", "int64", "Units in the order.", nullable=False),
        C("gross_amt", "float64", "Sum of line amt.", nullable=False),
        C("discount", "float64", "Sum of line discounts.", nullable=False),
        C("net_amt", "float64", "gross_amt - discount: the order value used for AOV.", False),
        C("tax_amt", "float64", "Sum of line tax.", nullable=False),
        C("shipping_amt", "float64", "Shipping charged once per order.", nullable=False),
        C("is_first_order", "boolean", "The customer's first order ever.", nullable=False),
    ],
    primary_key=["order_id"],
    foreign_keys=[
        ForeignKey("customer_sk", "customer"),
        ForeignKey("store_id", "store"),
        ForeignKey("campaign_id", "campaign"),
        ForeignKey("order_date_key", "date", "date_key"),
    ],
)

ORDER_RETURN = Table(
    "order_return",
    role="fact",
    grain="One row per returned order line (a return of some units of one line).",
    columns=[
        C("return_id", "int64", "Return key.", nullable=False),
        C("line_item_id", "int64", "Returned line.", nullable=False),
        C("order_id", "int64", "Order of the returned line.", nullable=False),
        C("return_time", "timestamp", "When the goods came back, UTC.", nullable=False),
        C("store_id", "int64", "Store that took the return back into stock.", False),
        C("product_id", "int64", "Product returned.", nullable=False),
        C("quantity", "int64", "Units returned.", nullable=False),
        C("refund_amt", "float64", "Amount refunded (net amount plus tax).", nullable=False),
    ],
    primary_key=["return_id"],
    foreign_keys=[
        ForeignKey("line_item_id", "order_line"),
        ForeignKey("store_id", "store"),
    ],
)

INVENTORY_EVENT = Table(
    "inventory_event",
    role="fact",
    grain="One row per stock movement of one product in one store (transaction fact).",
    columns=[
        C("inventory_event_id", "int64", "Event key.", nullable=False),
        C("event_type", "string", "receipt, sale, return, transfer_in or adjustment.", False),
        C("event_time", "timestamp", "When the stock moved, UTC.", nullable=False),
        C("store_id", "int64", "Store.", nullable=False),
        C("product_id", "int64", "Product business key.", nullable=False),
        C("quantity_change", "int64", "Units in (+) or out (-).", nullable=False),
        C("reference_order_id", "int64", "Order behind a sale or a return."),
    ],
    primary_key=["inventory_event_id"],
    foreign_keys=[
        ForeignKey("store_id", "store"),
        ForeignKey("product_id", "product", point_in_time=True),
    ],
)

INVENTORY_SNAPSHOT = Table(
    "inventory_snapshot",
    role="fact",
    grain="One row per day, store and product: stock at the end of the day (periodic snapshot).",
    columns=[
        C("snapshot_date", "date", "The day (UTC); stock at its end.", nullable=False),
        C("store_id", "int64", "Store.", nullable=False),
        C("product_id", "int64", "Product business key.", nullable=False),
        C("quantity_on_hand", "int64", "Units on hand at the end of the day.", nullable=False),
        C("quantity_change", "int64", "Net movement during the day (sum of events).", False),
        C("units_sold", "int64", "Units sold during the day (sale events).", nullable=False),
        C("date_key", "int64", "snapshot_date as yyyymmdd.", nullable=False),
    ],
    primary_key=["snapshot_date", "store_id", "product_id"],
    foreign_keys=[
        ForeignKey("store_id", "store"),
        ForeignKey("product_id", "product", point_in_time=True),
        ForeignKey("date_key", "date", "date_key"),
    ],
    notes=["Derived from inventory_event: on hand(d) = on hand(d-1) + quantity_change(d)."],
)

QUARANTINE = Table(
    "quarantine",
    role="raw",
    grain="One row per source row the build could not load, with the reason.",
    columns=[
        C("source", "string", "Raw table the row came from.", nullable=False),
        C("record_id", "string", "The row's key in its source (as text).", nullable=True),
        C("reason", "string", "Why it was not loaded.", nullable=False),
    ],
)

MART_DAILY_CATEGORY_SALES = Table(
    "daily_category_sales",
    role="aggregate",
    database="mart",
    grain="One row per UTC order date and leaf category with at least one order line.",
    columns=[
        C("order_date", "date", "UTC order date.", nullable=False),
        C("product_category_id", "int64", "Leaf category at purchase time.", nullable=False),
        C("category_name", "string", "Leaf name."),
        C("top_category_id", "int64", "Top-level category."),
        C("top_category_name", "string", "Top-level name."),
        C("orders", "int64", "Distinct orders with a line in the category."),
        C("units", "int64", "Units sold."),
        C("gross_sales", "float64", "Sum of amt."),
        C("discount", "float64", "Sum of discount."),
        C("net_sales", "float64", "Sum of amt - discount."),
    ],
    primary_key=["order_date", "product_category_id"],
)

MART_INVENTORY_DAILY = Table(
    "inventory_daily",
    role="aggregate",
    database="mart",
    grain="One row per day, store and product, with stock-out flag and days of cover.",
    columns=[
        C("snapshot_date", "date", "Day.", nullable=False),
        C("store_id", "int64", "Store.", nullable=False),
        C("product_id", "int64", "Product.", nullable=False),
        C("quantity_on_hand", "int64", "End-of-day stock."),
        C("units_sold", "int64", "Units sold that day."),
        C("is_stock_out", "boolean", "End-of-day stock is zero."),
        C(
            "avg_daily_units_28d",
            "float64",
            "Mean daily units sold over the 28 days ending that day.",
        ),
        C("days_of_cover", "float64", "on hand / avg_daily_units_28d; null without sales."),
    ],
    primary_key=["snapshot_date", "store_id", "product_id"],
)

MART_CUSTOMER_SUMMARY = Table(
    "customer_summary",
    role="aggregate",
    database="mart",
    grain="One row per customer who ordered.",
    columns=[
        C("customer_id", "int64", "Customer.", nullable=False),
        C("first_order_time", "timestamp", "First order."),
        C("last_order_time", "timestamp", "Last order."),
        C("cohort_month", "date", "Month of the first order (acquisition cohort)."),
        C("orders", "int64", "Orders placed."),
        C("net_sales", "float64", "Sum of order net_amt."),
    ],
    primary_key=["customer_id"],
)

TABLES = [
    DATE,
    STORE,
    PRODUCT_CATEGORY,
    CAMPAIGN,
    CUSTOMER,
    PRODUCT,
    ORDERS,
    ORDER_LINE,
    ORDER_RETURN,
    INVENTORY_EVENT,
    INVENTORY_SNAPSHOT,
    QUARANTINE,
    MART_DAILY_CATEGORY_SALES,
    MART_INVENTORY_DAILY,
    MART_CUSTOMER_SUMMARY,
]

#: Every change from the seed's schema to ours, with its reason (notebook 02 prints it).
CHANGES = [
    (
        "customer",
        "customer_sk (new PK)",
        "SCD2 keeps several rows per customer_id; facts need a key for one version.",
    ),
    (
        "customer",
        "valid_from, valid_to",
        "Half-open validity range for point-in-time joins; is_current alone cannot answer 'as of when'.",
    ),
    (
        "customer",
        "is_inferred",
        "An order can arrive before its customer: a placeholder row keeps the fact, flagged.",
    ),
    (
        "product",
        "product_sk (new PK), valid_from, valid_to",
        "Same as customer: price and category changes are versions.",
    ),
    (
        "product_category",
        "category_level, top_category_id, top_category_name",
        "Flattened hierarchy: roll up to the top level without a recursive join.",
    ),
    (
        "order_line",
        "customer_sk, product_sk",
        "The version valid at order_time, resolved once at load, so every query joins on one key.",
    ),
    (
        "order_line",
        "shipping_amt (meaning)",
        "Shipping is charged per order; the source repeats it on every line. We allocate it so lines sum to the order's charge.",
    ),
    (
        "order_line",
        "net_amt, order_date_key, loaded_at",
        "Revenue as one column; a date key for the calendar; load time kept apart from event time.",
    ),
    (
        "orders (new)",
        "order grain fact",
        "AOV and shipping live at order grain; summing shipping over lines would fan out.",
    ),
    (
        "order_return (new)",
        "return fact",
        "Returns are their own events with their own time; they also move stock.",
    ),
    (
        "store (new)",
        "store dimension",
        "order_line and inventory carry store_id with nothing to join to.",
    ),
    (
        "date (new)",
        "calendar dimension",
        "Weekday, month and week attributes without date arithmetic in every query.",
    ),
    ("campaign", "channel", "Compare campaigns by channel; window end is exclusive."),
    (
        "inventory_snapshot",
        "quantity_change, units_sold, date_key",
        "Derived from events; makes the reconciliation and days of cover one-table queries.",
    ),
    (
        "quarantine (new)",
        "rejected rows with reason",
        "Rows in = rows loaded + rows quarantined; nothing dropped silently.",
    ),
]
