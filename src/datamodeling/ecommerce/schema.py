"""The e-commerce model: the brief's schema as given, and the model the warehouse builds.

``BRIEF_TABLES`` (also ``SEED_TABLES``, the name every practice uses) is the schema of the brief,
column for column, with the keys it marks. ``TABLES`` is the model we build, named by the book's
conventions (``dim_`` / ``fact_``); the brief's tables stay available as views with the brief's
names and columns (``BRIEF_VIEWS``), and every change is argued in ``CHANGES`` (notebook 02
prints that table).
"""

from __future__ import annotations

from dataclasses import replace

from datamodeling.calendar import DATE_TABLE
from datamodeling.schema import Column, ForeignKey, Table

C = Column

# --------------------------------------------------------------------------------------------
# The brief's schema, as given
# --------------------------------------------------------------------------------------------
BRIEF_TABLES = [
    Table(
        "customer",
        role="dimension",
        grain="(not stated; the SCD2 note implies one row per customer version)",
        columns=[
            C("customer_id", "int64", "PK in the brief."),
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
            C("product_id", "int64", "PK in the brief."),
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

SEED_TABLES = BRIEF_TABLES

# --------------------------------------------------------------------------------------------
# The model the warehouse builds
# --------------------------------------------------------------------------------------------
MONEY = "decimal(18, 2)"

_VALIDITY = [
    C(
        "valid_from",
        "timestamp",
        "Version valid from this instant (inclusive), UTC.",
        False,
    ),
    C(
        "valid_to",
        "timestamp",
        "Valid until this instant (exclusive), UTC; 9999-12-31 if current.",
        False,
    ),
    C(
        "is_current",
        "boolean",
        "True on the version valid now (brief's column).",
        False,
    ),
    C(
        "is_deleted",
        "boolean",
        "A final version after the entity was closed or withdrawn.",
        False,
    ),
    C(
        "is_inferred",
        "boolean",
        "Placeholder for a key a fact named before its record arrived.",
    ),
]
_INFERRED = C(
    "is_inferred", "boolean", "Placeholder for a key a fact named before it was listed."
)

DIM_DATE = replace(
    DATE_TABLE,
    name="dim_date",
    description="Calendar days from 2023-12-31 (the first local day in the data) to 2025-12-31.",
)

DIM_PRODUCT_CATEGORY = Table(
    "dim_product_category",
    role="dimension",
    scd_type=1,
    grain="One row per category node of the tree (top-level categories and their leaves).",
    columns=[
        C(
            "product_category_id",
            "int64",
            "Category key from the catalogue.",
            nullable=False,
        ),
        C("category_name", "string", "Category name.", nullable=False),
        C("parent_category_id", "int64", "Parent node; null for a top-level category."),
        C(
            "category_level",
            "int64",
            "1 = top level, 2 = leaf (products hang on leaves).",
        ),
        C("top_category_id", "int64", "Top-level ancestor (flattened hierarchy)."),
        C("top_category_name", "string", "Name of the top-level ancestor."),
        _INFERRED,
    ],
    primary_key=["product_category_id"],
    business_key=["product_category_id"],
    foreign_keys=[
        ForeignKey("parent_category_id", "dim_product_category", "product_category_id"),
    ],
    notes=[
        "The brief's self-reference is kept; the top-level ancestor is flattened in for rollups."
    ],
)

DIM_STORE = Table(
    "dim_store",
    role="dimension",
    scd_type=1,
    grain="One row per store (the web shop is store 1, shipping from the fulfilment centre).",
    columns=[
        C("store_id", "int64", "Store number from the store list.", nullable=False),
        C("store_name", "string", "Store name.", nullable=False),
        C("store_type", "string", "online or physical."),
        C("city", "string", "City of the store or fulfilment centre."),
        C("state", "string", "State."),
        C("country", "string", "Country."),
        C(
            "time_zone",
            "string",
            "IANA time zone of the store's clock (the web shop: its fulfilment centre's).",
        ),
        _INFERRED,
    ],
    primary_key=["store_id"],
    business_key=["store_id"],
)

DIM_CAMPAIGN = Table(
    "dim_campaign",
    role="dimension",
    scd_type=1,
    grain="One row per marketing campaign.",
    columns=[
        C(
            "campaign_id",
            "int64",
            "Campaign key from the marketing tool.",
            nullable=False,
        ),
        C("campaign_name", "string", "Name.", nullable=False),
        C("campaign_start_time", "timestamp", "Window start (inclusive), UTC."),
        C("campaign_end_time", "timestamp", "Window end (exclusive), UTC."),
        C("campaign_description", "string", "Free text."),
        C("channel", "string", "email, paid_social, search or affiliate."),
        C("spend_amt", MONEY, "What the campaign cost (media and contacts), USD."),
        _INFERRED,
    ],
    primary_key=["campaign_id"],
    business_key=["campaign_id"],
)

#: Age bands of the customer profile mini-dimension: (label, first age, first age of the next band)
AGE_BANDS = [
    ("18-24", 18, 25),
    ("25-34", 25, 35),
    ("35-44", 35, 45),
    ("45-54", 45, 55),
    ("55-64", 55, 65),
    ("65+", 65, 200),
]

DIM_CUSTOMER_PROFILE = Table(
    "dim_customer_profile",
    role="dimension",
    scd_type=4,
    grain="One row per age band (a type 4 mini-dimension of the customer).",
    columns=[
        C(
            "customer_profile_key",
            "int64",
            "Profile key: 1 for the youngest band.",
            False,
        ),
        C("age_band", "string", "Band of customer_age, e.g. 25-34.", nullable=False),
        C("age_from", "int64", "First age in the band."),
        C("age_to", "int64", "First age of the next band (exclusive)."),
    ],
    primary_key=["customer_profile_key"],
    notes=[
        "customer_age changes on every birthday; its band lives here and facts carry the key of "
        "the band at their time, so the customer dimension does not version on birthdays."
    ],
)

DIM_ORDER_FLAGS = Table(
    "dim_order_flags",
    role="dimension",
    scd_type=0,
    grain="One row per combination of the order's yes/no flags (a junk dimension): 8 rows.",
    columns=[
        C(
            "order_flags_key",
            "int64",
            "1 + 4 x first + 2 x discounted + shipping charged.",
            False,
        ),
        C(
            "is_first_order",
            "boolean",
            "The customer's first order ever (see fact_order).",
        ),
        C("has_discount", "boolean", "At least one line of the order is discounted."),
        C("has_shipping_charge", "boolean", "The order paid for shipping."),
        C("order_flags", "string", "The three flags in words.", nullable=False),
    ],
    primary_key=["order_flags_key"],
)

DIM_CUSTOMER = Table(
    "dim_customer",
    role="dimension",
    scd_type=2,
    grain="One row per version of a customer: a new row whenever a tracked attribute changes.",
    columns=[
        C(
            "customer_sk",
            "int64",
            "Surrogate key: hash of customer_id and valid_from.",
            False,
        ),
        C(
            "customer_id",
            "int64",
            "Business key from the shop's account system.",
            False,
        ),
        C("first_name", "string", "First name."),
        C("last_name", "string", "Last name."),
        C("email", "string", "Email address (changes are tracked)."),
        C("phone", "string", "Phone number."),
        C("city", "string", "City the customer lives in (moves are tracked)."),
        C("state", "string", "State."),
        C("country", "string", "Country."),
        C(
            "customer_age",
            "int64",
            "Current age (type 1: overwritten on every version; the band at a fact's time is "
            "in dim_customer_profile).",
        ),
        C("created_at", "timestamp", "When the account was created (sign-up), UTC."),
        C(
            "updated_at",
            "timestamp",
            "Source time of the change that opened this version.",
        ),
        *_VALIDITY,
    ],
    primary_key=["customer_sk"],
    business_key=["customer_id"],
    notes=[
        "customer_id repeats across versions, as the brief's SCD2 note says; the PK is customer_sk.",
    ],
)

DIM_PRODUCT = Table(
    "dim_product",
    role="dimension",
    scd_type=2,
    grain="One row per version of a product: price, category, title or brand changes.",
    columns=[
        C(
            "product_sk",
            "int64",
            "Surrogate key: hash of product_id and valid_from.",
            False,
        ),
        C("product_id", "int64", "Business key from the catalogue.", nullable=False),
        C("product_title", "string", "Title."),
        C("product_brand", "string", "Brand."),
        C("product_category_id", "int64", "Leaf category of this version."),
        C("unit_price", MONEY, "List price of this version, USD."),
        C("sku", "string", "Stock-keeping unit code."),
        C("created_at", "timestamp", "When the product was first listed."),
        C(
            "updated_at",
            "timestamp",
            "Source time of the change that opened this version.",
        ),
        *_VALIDITY,
    ],
    primary_key=["product_sk"],
    business_key=["product_id"],
    foreign_keys=[ForeignKey("product_category_id", "dim_product_category")],
)

FACT_ORDER_LINE = Table(
    "fact_order_line",
    role="fact",
    grain="One row per line of a customer order (one product, a quantity, at one time).",
    columns=[
        C("line_item_id", "int64", "Line key from the order system.", nullable=False),
        C(
            "order_id",
            "int64",
            "Order the line belongs to (degenerate dimension).",
            False,
        ),
        C(
            "order_time",
            "timestamp",
            "When the order was placed, UTC (event time).",
            False,
        ),
        C(
            "customer_id",
            "int64",
            "Customer business key (brief's column; type 7).",
            False,
        ),
        C(
            "campaign_id",
            "int64",
            "Campaign captured at click-through; -2 (Not applicable) without one.",
            False,
        ),
        C("store_id", "int64", "Store that sold (and ships) the line.", nullable=False),
        C(
            "product_id",
            "int64",
            "Product business key (brief's column; type 7).",
            False,
        ),
        C("product_category_id", "int64", "Leaf category at purchase time.", False),
        C("count", "int64", "Units on the line (brief's name kept).", nullable=False),
        C("amt", MONEY, "Gross line amount = count x unit_price_at_purchase.", False),
        C("discount", MONEY, "Discount on the line (amount, not percent).", False),
        C("unit_price_at_purchase", MONEY, "Price per unit when ordered.", False),
        C("tax_amt", MONEY, "Sales tax on the line.", nullable=False),
        C(
            "shipping_amt",
            MONEY,
            "Order shipping allocated to this line (sums to the order's).",
            False,
        ),
        C("line_number", "int64", "Position of the line in its order, from 1.", False),
        C(
            "customer_sk",
            "int64",
            "Customer version valid at order_time (resolved at load).",
            False,
        ),
        C(
            "product_sk",
            "int64",
            "Product version valid at order_time (resolved at load).",
            False,
        ),
        C(
            "customer_profile_key",
            "int64",
            "Customer's age band at order_time (mini-dimension); -1 if the age is unknown.",
            False,
        ),
        C(
            "date_key",
            "int64",
            "UTC order date as yyyymmdd (the company's day).",
            False,
        ),
        C(
            "local_date_key",
            "int64",
            "Order date on the store's clock (the store's day).",
            False,
        ),
        C(
            "net_amt",
            MONEY,
            "amt - discount: the line's net sales (before returns).",
            False,
        ),
        C("loaded_at", "timestamp", "When the line reached the warehouse (load time)."),
    ],
    primary_key=["line_item_id"],
    foreign_keys=[
        ForeignKey("customer_sk", "dim_customer"),
        ForeignKey("product_sk", "dim_product"),
        ForeignKey("customer_id", "dim_customer", point_in_time=True),
        ForeignKey("product_id", "dim_product", point_in_time=True),
        ForeignKey("customer_profile_key", "dim_customer_profile"),
        ForeignKey("campaign_id", "dim_campaign"),
        ForeignKey("store_id", "dim_store"),
        ForeignKey("product_category_id", "dim_product_category"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
        ForeignKey("order_id", "fact_order"),
    ],
    notes=[
        "Type 7: customer_sk and product_sk give the version 'as it was'; customer_id and "
        "product_id, joined to the current row, give the entity 'as it is now'.",
    ],
)

FACT_ORDER = Table(
    "fact_order",
    role="fact",
    grain="One row per customer order (the checkout), aggregated from its lines.",
    columns=[
        C("order_id", "int64", "Order key.", nullable=False),
        C("order_time", "timestamp", "When the order was placed, UTC.", nullable=False),
        C("date_key", "int64", "UTC order date as yyyymmdd.", nullable=False),
        C(
            "local_date_key",
            "int64",
            "Order date on the store's clock.",
            nullable=False,
        ),
        C("customer_id", "int64", "Customer business key.", nullable=False),
        C("customer_sk", "int64", "Customer version at order time.", nullable=False),
        C("customer_profile_key", "int64", "Customer's age band at order time.", False),
        C("store_id", "int64", "Store.", nullable=False),
        C(
            "campaign_id",
            "int64",
            "Campaign captured at click-through; -2 without one.",
            False,
        ),
        C(
            "order_flags_key",
            "int64",
            "The order's flags (junk dimension).",
            nullable=False,
        ),
        C("line_count", "int64", "Lines in the order.", nullable=False),
        C("units", "int64", "Units in the order.", nullable=False),
        C("gross_amt", MONEY, "Sum of line amt.", nullable=False),
        C("discount", MONEY, "Sum of line discounts.", nullable=False),
        C(
            "net_amt",
            MONEY,
            "gross_amt - discount: the order value used for AOV.",
            False,
        ),
        C("tax_amt", MONEY, "Sum of line tax.", nullable=False),
        C("shipping_amt", MONEY, "Shipping charged once per order.", nullable=False),
    ],
    primary_key=["order_id"],
    foreign_keys=[
        ForeignKey("customer_sk", "dim_customer"),
        ForeignKey("customer_id", "dim_customer", point_in_time=True),
        ForeignKey("customer_profile_key", "dim_customer_profile"),
        ForeignKey("store_id", "dim_store"),
        ForeignKey("campaign_id", "dim_campaign"),
        ForeignKey("order_flags_key", "dim_order_flags"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
    ],
)

FACT_ORDER_RETURN = Table(
    "fact_order_return",
    role="fact",
    grain="One row per returned order line (the units of one line that came back).",
    columns=[
        C("return_id", "int64", "Return key.", nullable=False),
        C(
            "line_item_id",
            "int64",
            "Returned line (degenerate reference to the line).",
            False,
        ),
        C("order_id", "int64", "Order of the returned line.", nullable=False),
        C("customer_id", "int64", "Customer business key.", nullable=False),
        C(
            "customer_sk",
            "int64",
            "Customer version valid at return_time (a closed account's deleted version).",
            False,
        ),
        C("product_id", "int64", "Product returned.", nullable=False),
        C(
            "product_sk",
            "int64",
            "Product version valid at return_time.",
            nullable=False,
        ),
        C("store_id", "int64", "Store that took the goods back.", nullable=False),
        C("return_time", "timestamp", "When the goods came back, UTC.", nullable=False),
        C("date_key", "int64", "UTC return date as yyyymmdd.", nullable=False),
        C(
            "local_date_key",
            "int64",
            "Return date on the store's clock.",
            nullable=False,
        ),
        C("quantity", "int64", "Units returned.", nullable=False),
        C(
            "return_net_amt",
            MONEY,
            "Net sales given back (the line's net amount).",
            False,
        ),
        C("refund_tax_amt", MONEY, "Sales tax refunded.", nullable=False),
        C(
            "refund_amt",
            MONEY,
            "Paid back: return_net_amt + refund_tax_amt.",
            nullable=False,
        ),
    ],
    primary_key=["return_id"],
    foreign_keys=[
        ForeignKey("line_item_id", "fact_order_line"),
        ForeignKey("order_id", "fact_order"),
        ForeignKey("customer_sk", "dim_customer"),
        ForeignKey("customer_id", "dim_customer", point_in_time=True),
        ForeignKey("product_sk", "dim_product"),
        ForeignKey("store_id", "dim_store"),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
    ],
)

FACT_CAMPAIGN_AUDIENCE = Table(
    "fact_campaign_audience",
    role="fact",
    grain="One row per campaign and customer in its audience (a factless fact): who was "
    "treated and who was held out.",
    columns=[
        C("campaign_id", "int64", "Campaign.", nullable=False),
        C("customer_id", "int64", "Customer business key.", nullable=False),
        C("customer_sk", "int64", "Customer version at assignment.", nullable=False),
        C(
            "is_holdout",
            "boolean",
            "Held out: not contacted (the control group).",
            False,
        ),
        C(
            "assigned_at",
            "timestamp",
            "When the audience was drawn (the campaign start).",
            False,
        ),
        C("date_key", "int64", "UTC date of the assignment.", nullable=False),
    ],
    primary_key=["campaign_id", "customer_id"],
    foreign_keys=[
        ForeignKey("campaign_id", "dim_campaign"),
        ForeignKey("customer_sk", "dim_customer"),
        ForeignKey("customer_id", "dim_customer", point_in_time=True),
        ForeignKey("date_key", "dim_date"),
    ],
)

FACT_INVENTORY_EVENT = Table(
    "fact_inventory_event",
    role="fact",
    grain="One row per stock movement of one product in one store (transaction fact).",
    columns=[
        C("inventory_event_id", "int64", "Event key.", nullable=False),
        C(
            "event_type",
            "string",
            "receipt, sale, return, transfer_in or adjustment.",
            False,
        ),
        C("event_time", "timestamp", "When the stock moved, UTC.", nullable=False),
        C("store_id", "int64", "Store.", nullable=False),
        C("product_id", "int64", "Product business key.", nullable=False),
        C(
            "product_sk",
            "int64",
            "Product version valid at event_time.",
            nullable=False,
        ),
        C("quantity_change", "int64", "Units in (+) or out (-).", nullable=False),
        C(
            "reference_order_id",
            "int64",
            "Order behind a sale or a return (degenerate).",
        ),
        C("date_key", "int64", "UTC date of the movement.", nullable=False),
        C(
            "local_date_key",
            "int64",
            "Date of the movement on the store's clock.",
            False,
        ),
    ],
    primary_key=["inventory_event_id"],
    foreign_keys=[
        ForeignKey("store_id", "dim_store"),
        ForeignKey("product_sk", "dim_product"),
        ForeignKey("product_id", "dim_product", point_in_time=True),
        ForeignKey("date_key", "dim_date"),
        ForeignKey("local_date_key", "dim_date", "date_key"),
    ],
)

FACT_INVENTORY_SNAPSHOT = Table(
    "fact_inventory_snapshot",
    role="fact",
    grain="One row per store, product and local day: stock at the end of the store's day "
    "(periodic snapshot).",
    columns=[
        C("snapshot_date", "date", "The store's local day; stock at its end.", False),
        C("store_id", "int64", "Store.", nullable=False),
        C("product_id", "int64", "Product business key.", nullable=False),
        C("product_sk", "int64", "Product version valid at the end of the day.", False),
        C(
            "quantity_on_hand",
            "int64",
            "Units on hand at the end of the day.",
            nullable=False,
        ),
        C(
            "quantity_change",
            "int64",
            "Net movement during the day (sum of events).",
            False,
        ),
        C(
            "units_sold",
            "int64",
            "Units sold during the day (sale events).",
            nullable=False,
        ),
        C("local_date_key", "int64", "snapshot_date as yyyymmdd.", nullable=False),
    ],
    primary_key=["snapshot_date", "store_id", "product_id"],
    foreign_keys=[
        ForeignKey("store_id", "dim_store"),
        ForeignKey("product_sk", "dim_product"),
        ForeignKey("product_id", "dim_product", point_in_time=True),
        ForeignKey("local_date_key", "dim_date", "date_key"),
    ],
    notes=[
        "Derived from fact_inventory_event: on hand(d) = on hand(d-1) + quantity_change(d)."
    ],
)

QUARANTINE = Table(
    "quarantine",
    role="raw",
    grain="One row per source row the build refused: a duplicate, an impossible value, or a "
    "record that landed later than the lookback of its daily load.",
    columns=[
        C("source", "string", "Raw table the row came from.", nullable=False),
        C(
            "record_id",
            "string",
            "The row's key in its source (as text).",
            nullable=True,
        ),
        C("reason", "string", "Why it was not loaded.", nullable=False),
        C(
            "event_date",
            "date",
            "The UTC day of the record's event (a change record: of its source time).",
            nullable=True,
        ),
        C(
            "landing_date",
            "date",
            "The day the record landed (its partition of the landing zone).",
            nullable=True,
        ),
    ],
)

MART_DAILY_CATEGORY_SALES = Table(
    "daily_category_sales",
    role="aggregate",
    database="mart",
    grain="One row per local trading day and leaf category with at least one order line.",
    columns=[
        C(
            "order_date",
            "date",
            "Local trading day (the selling store's clock).",
            False,
        ),
        C(
            "product_category_id",
            "int64",
            "Leaf category at purchase time.",
            nullable=False,
        ),
        C("category_name", "string", "Leaf name."),
        C("top_category_id", "int64", "Top-level category."),
        C("top_category_name", "string", "Top-level name."),
        C("orders", "int64", "Distinct orders with a line in the category."),
        C("units", "int64", "Units sold."),
        C("gross_sales", MONEY, "Sum of amt."),
        C("discount", MONEY, "Sum of discount."),
        C("net_sales", MONEY, "Sum of amt - discount (before returns)."),
    ],
    primary_key=["order_date", "product_category_id"],
)

MART_INVENTORY_DAILY = Table(
    "inventory_daily",
    role="aggregate",
    database="mart",
    grain="One row per local day, store and product, with stock-out flag and days of cover.",
    columns=[
        C("snapshot_date", "date", "The store's local day.", nullable=False),
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
        C(
            "days_of_cover",
            "float64",
            "on hand / avg_daily_units_28d; null without sales.",
        ),
    ],
    primary_key=["snapshot_date", "store_id", "product_id"],
)

MART_CUSTOMER_SUMMARY = Table(
    "customer_summary",
    role="aggregate",
    database="mart",
    grain="One row per customer with at least one order in the data.",
    columns=[
        C("customer_id", "int64", "Customer.", nullable=False),
        C(
            "signed_up_at",
            "timestamp",
            "Sign-up (created_at); the first order if unknown.",
        ),
        C("cohort_month", "date", "Month of the sign-up (acquisition cohort), UTC."),
        C(
            "is_left_censored",
            "boolean",
            "Signed up before the data starts (2024-01-01).",
        ),
        C("first_order_time", "timestamp", "First order in the data."),
        C("last_order_time", "timestamp", "Last order in the data."),
        C("orders", "int64", "Orders placed."),
        C("net_sales", MONEY, "Sum of order net_amt (before returns)."),
        C("returned", MONEY, "Net amount of the returns of these orders."),
        C("net_sales_after_returns", MONEY, "net_sales - returned."),
    ],
    primary_key=["customer_id"],
)

TABLES = [
    DIM_DATE,
    DIM_STORE,
    DIM_PRODUCT_CATEGORY,
    DIM_CAMPAIGN,
    DIM_CUSTOMER,
    DIM_CUSTOMER_PROFILE,
    DIM_PRODUCT,
    DIM_ORDER_FLAGS,
    FACT_ORDER,
    FACT_ORDER_LINE,
    FACT_ORDER_RETURN,
    FACT_CAMPAIGN_AUDIENCE,
    FACT_INVENTORY_EVENT,
    FACT_INVENTORY_SNAPSHOT,
    QUARANTINE,
    MART_DAILY_CATEGORY_SALES,
    MART_INVENTORY_DAILY,
    MART_CUSTOMER_SUMMARY,
]

#: The brief's tables as views of the model: view name -> (model table, the brief's columns).
BRIEF_VIEWS = {
    t.name: (source, t.column_names)
    for t, source in zip(
        BRIEF_TABLES,
        [
            "dim_customer",
            "dim_product",
            "dim_campaign",
            "fact_order_line",
            "fact_inventory_event",
            "fact_inventory_snapshot",
            "dim_product_category",
        ],
        strict=True,
    )
}

#: Every change from the brief's schema to ours, with its reason (notebook 02 prints it).
CHANGES = [
    (
        "all tables",
        "dim_ / fact_ names; the brief's names as views",
        "Which side of the star a table is on, at a glance; no reserved words. The brief's "
        "tables, names and columns stay available as views.",
    ),
    (
        "every dimension",
        "Unknown (-1) and Not applicable (-2) rows",
        "No fact foreign key is NULL: an order without a campaign points at Not applicable.",
    ),
    (
        "customer",
        "customer_sk (new PK), valid_from, valid_to",
        "SCD2 keeps several rows per customer_id; facts need a key for one version and a "
        "half-open range to find it ('is_current' alone cannot answer 'as of when').",
    ),
    (
        "customer",
        "is_deleted (final version)",
        "A closed account keeps a last version, so a refund after the closure still finds it.",
    ),
    (
        "customer",
        "is_inferred",
        "An order can name a customer before the account extract does: a placeholder row "
        "keeps the fact and its key.",
    ),
    (
        "customer",
        "customer_age as type 1; created_at",
        "The age changes every birthday: versioning it would add a row per customer per year. "
        "The sign-up time gives the acquisition cohort.",
    ),
    (
        "dim_customer_profile (new)",
        "type 4 mini-dimension of age bands",
        "Facts carry the band of their time (customer_profile_key) without versioning the "
        "customer on birthdays.",
    ),
    (
        "product",
        "product_sk (new PK), valid_from, valid_to, is_inferred",
        "Same as customer: price and category changes are versions; a product sold before the "
        "catalogue lists it gets an inferred row.",
    ),
    (
        "product_category",
        "category_level, top_category_id, top_category_name",
        "Flattened hierarchy: roll up to the top level without a recursive join.",
    ),
    (
        "order_line",
        "customer_sk, product_sk, customer_profile_key",
        "The version valid at order_time, resolved once at load, so every query joins on one "
        "key. With the business keys kept beside them, this is Kimball's type 7.",
    ),
    (
        "order_line",
        "campaign_id -2 instead of NULL",
        "'No campaign' is a fact about the order, not a missing value; -2 joins to Not applicable.",
    ),
    (
        "order_line",
        "shipping_amt (meaning)",
        "Shipping is charged per order; the source repeats it on every line. We allocate it so "
        "lines sum to the order's charge.",
    ),
    (
        "order_line",
        "date_key, local_date_key, net_amt, loaded_at",
        "Dual date keys: the UTC day and the store's own day. Net sales as one column; load time "
        "kept apart from event time.",
    ),
    (
        "all money",
        "DECIMAL(18, 2)",
        "Sums of decimals are exact, so totals do not depend on the order threads add them in.",
    ),
    (
        "fact_order (new)",
        "order grain fact",
        "AOV and shipping live at order grain; summing shipping over lines would fan out.",
    ),
    (
        "dim_order_flags (new)",
        "junk dimension",
        "Three yes/no flags of an order in one small dimension instead of three fact columns.",
    ),
    (
        "fact_order_return (new)",
        "return fact",
        "Returns are their own events with their own time; net sales after returns need them.",
    ),
    (
        "fact_campaign_audience (new)",
        "factless fact: treated or held out",
        "Lift against a holdout needs to know who was in each group.",
    ),
    (
        "dim_store (new)",
        "store dimension with time_zone",
        "order_line and inventory carry store_id with nothing to join to; the store's clock "
        "decides which day a sale belongs to.",
    ),
    (
        "dim_date (new)",
        "calendar dimension",
        "Weekday, month and week attributes without date arithmetic in every query.",
    ),
    (
        "campaign",
        "channel, spend_amt",
        "Compare campaigns by channel, and their return with their cost; window end exclusive.",
    ),
    (
        "inventory_snapshot",
        "local day; product_sk, quantity_change, units_sold",
        "Stock at the end of the store's own day, derived from the events; the reconciliation "
        "and days of cover become one-table queries.",
    ),
    (
        "quarantine (new)",
        "refused rows with reason",
        "Duplicates and impossible values only; rows in = rows loaded + rows quarantined.",
    ),
]
