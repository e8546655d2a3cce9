"""Build the e-commerce warehouse: raw layer -> dimensional model -> marts.

Every step is an Ibis function from tables to a table. The order of the steps:

1. ``raw``: load what :mod:`.generate` hands over, untouched.
2. Staging rules split each source into rows to load and rows to quarantine (with a reason):
   duplicates from a retried load, unknown keys, impossible values.
3. Dimensions: ``customer`` and ``product`` as SCD2 from the change extracts, placed by the
   source's ``updated_at`` (not by extract date, so an out-of-order change lands in its place).
   A customer with an order before its first extract row gets its first version backdated to that
   order; a customer never extracted gets an inferred-member row.
4. Facts: ``order_line`` with the point-in-time surrogate keys and the order's shipping allocated
   to its lines; ``orders`` at order grain; ``order_return``; ``inventory_event``; and
   ``inventory_snapshot`` derived from the events.
5. ``mart``: aggregates computed by the metrics of :mod:`.metrics`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from datamodeling.calendar import date_dimension
from datamodeling.quality import split_valid
from datamodeling.registry import BuildReport
from datamodeling.scd2 import END_OF_TIME, as_of_join, build_scd2

from . import generate as gen
from . import schema

CUSTOMER_ATTRIBUTES = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "state",
    "country",
    "customer_age",
]
PRODUCT_ATTRIBUTES = [
    "product_title",
    "product_brand",
    "product_category_id",
    "unit_price",
    "sku",
    "created_at",
]


def conform(table: ir.Table, decl) -> ir.Table:
    """Select the declared columns of ``decl`` in order, cast to their declared types."""
    return table.select(
        **{c.name: table[c.name].cast(c.ibis_type.copy(nullable=True)) for c in decl.columns}
    )


def _first_seen(table: ir.Table, key: str, order_by: list) -> ir.Table:
    """Number the copies of each key in arrival order: 0 for the first, 1+ for duplicates."""
    return table.mutate(_copy=ibis.row_number().over(group_by=key, order_by=order_by))


# ---------------------------------------------------------------------------------------------
# dimensions
# ---------------------------------------------------------------------------------------------
def stage_changes(extract: ir.Table, key: str) -> tuple[ir.Table, ir.Table]:
    """Split a change extract into accepted change records and quarantined rows.

    A row sent twice (same key and ``updated_at``) is a duplicate: the first arrival is kept.
    """
    copies = extract.mutate(
        _copy=ibis.row_number().over(group_by=[key, "updated_at"], order_by=["extract_date"])
    )
    valid, bad = split_valid(
        copies,
        {"missing_key": copies[key].isnull(), "duplicate": copies._copy > 0},
    )
    return valid.drop("_copy"), bad


def customer_dimension(changes: ir.Table, first_orders: ir.Table) -> ir.Table:
    """SCD2 customer: versions by ``updated_at``, backdated first version, inferred members."""
    dim = build_scd2(
        changes,
        "customer_id",
        CUSTOMER_ATTRIBUTES,
        at="updated_at",
        deleted=None,
        sk="customer_sk",
    )
    dim = dim.mutate(updated_at=dim.valid_from)
    # an order placed before the customer's first extract row: the first version covers it
    dim = dim.left_join(first_orders, "customer_id").drop("customer_id_right")
    is_first = dim.valid_from == dim.valid_from.min().over(group_by="customer_id")
    backdate = is_first & dim.first_order.notnull() & (dim.first_order < dim.valid_from)
    dim = dim.mutate(
        valid_from=ibis.ifelse(backdate, dim.first_order, dim.valid_from),
        is_inferred=ibis.literal(False),
    ).drop("first_order")
    # a customer with orders but no extract row at all: an inferred member
    missing = first_orders.anti_join(dim, "customer_id")
    inferred = missing.select(
        customer_sk=ibis.literal("|")
        .join([missing.customer_id.cast("string"), missing.first_order.cast("string")])
        .hash(),
        customer_id=missing.customer_id,
        **{a: ibis.null(dim[a].type()) for a in CUSTOMER_ATTRIBUTES},
        updated_at=ibis.null("timestamp"),
        valid_from=missing.first_order,
        valid_to=ibis.literal(END_OF_TIME),
        is_current=ibis.literal(True),
        is_inferred=ibis.literal(True),
    )
    return conform(dim, schema.CUSTOMER).union(conform(inferred, schema.CUSTOMER))


def product_dimension(changes: ir.Table) -> ir.Table:
    dim = build_scd2(
        changes,
        "product_id",
        PRODUCT_ATTRIBUTES,
        at="updated_at",
        deleted=None,
        sk="product_sk",
    )
    dim = dim.mutate(updated_at=dim.valid_from)
    return conform(dim, schema.PRODUCT)


def category_dimension(raw: ir.Table) -> ir.Table:
    """The tree with its top-level ancestor flattened in (the tree is two levels deep)."""
    parent = raw.select(
        top_id=raw.product_category_id,
        top_name=raw.category_name,
        top_parent=raw.parent_category_id,
    )
    t = raw.left_join(parent, raw.parent_category_id == parent.top_id)
    is_top = t.parent_category_id.isnull()
    return t.select(
        "product_category_id",
        "category_name",
        "parent_category_id",
        category_level=ibis.ifelse(is_top, 1, 2).cast("int64"),
        top_category_id=ibis.ifelse(is_top, t.product_category_id, t.top_id),
        top_category_name=ibis.ifelse(is_top, t.category_name, t.top_name),
    )


# ---------------------------------------------------------------------------------------------
# facts
# ---------------------------------------------------------------------------------------------
def stage_lines(feed: ir.Table, known_products: ir.Table) -> tuple[ir.Table, ir.Table]:
    copies = _first_seen(feed, "line_item_id", ["loaded_at", "batch_id"])
    valid, bad = split_valid(
        copies,
        {
            "duplicate": copies._copy > 0,
            "unknown_product": ~copies.product_id.isin(known_products.product_id),
            "non_positive_count": copies["count"] <= 0,
        },
    )
    return valid.drop("_copy"), bad


def allocate_shipping(lines: ir.Table) -> ir.Table:
    """Spread the order's shipping over its lines in proportion to net amount, to the cent.

    Rounding the running share (not each share) makes the lines add up to the order's charge.
    """
    net = lines.amt - lines.discount
    lines = lines.mutate(net_amt=net)
    running = lines.net_amt.sum().over(
        ibis.cumulative_window(group_by="order_id", order_by="line_number")
    )
    total = lines.net_amt.sum().over(group_by="order_id")
    charge = lines.order_shipping_amt
    share_to = (charge * running / total).round(2)
    share_before = (charge * (running - lines.net_amt) / total).round(2)
    return lines.mutate(shipping_amt=share_to - share_before)


def with_date_key(table: ir.Table, at: str = "order_time", name: str = "order_date_key"):
    """Add the yyyymmdd key of the calendar dimension for the timestamp column ``at``."""
    ts = table[at]
    return table.mutate(**{name: (ts.year() * 10000 + ts.month() * 100 + ts.day()).cast("int64")})


def order_line_fact(lines: ir.Table, customer: ir.Table, product: ir.Table) -> ir.Table:
    """Staged lines -> the fact: shipping allocated, point-in-time keys, date key, declared columns."""
    return (
        lines.pipe(allocate_shipping)
        .pipe(as_of_join, customer, "customer_id", "order_time", columns=["customer_sk"])
        .pipe(as_of_join, product, "product_id", "order_time", columns=["product_sk"])
        .pipe(with_date_key)
        .pipe(conform, schema.ORDER_LINE)
    )


def orders_fact(lines: ir.Table) -> ir.Table:
    orders = lines.group_by("order_id").agg(
        order_time=lines.order_time.min(),
        order_date_key=lines.order_date_key.min(),
        customer_id=lines.customer_id.max(),
        customer_sk=lines.customer_sk.max(),
        store_id=lines.store_id.max(),
        campaign_id=lines.campaign_id.max(),
        line_count=lines.count(),
        units=lines["count"].sum(),
        gross_amt=lines.amt.sum().round(2),
        discount=lines.discount.sum().round(2),
        net_amt=lines.net_amt.sum().round(2),
        tax_amt=lines.tax_amt.sum().round(2),
        shipping_amt=lines.shipping_amt.sum().round(2),
    )
    rank = ibis.row_number().over(group_by="customer_id", order_by=["order_time", "order_id"])
    orders = orders.mutate(is_first_order=rank == 0)
    return conform(orders, schema.ORDERS)


def stage_returns(feed: ir.Table, lines: ir.Table) -> tuple[ir.Table, ir.Table]:
    copies = _first_seen(feed, "return_id", ["return_time"])
    valid, bad = split_valid(
        copies,
        {
            "duplicate": copies._copy > 0,
            "unknown_line": ~copies.line_item_id.isin(lines.line_item_id),
        },
    )
    return valid.drop("_copy").select(schema.ORDER_RETURN.column_names), bad


def stage_inventory(feed: ir.Table, stores: ir.Table, products: ir.Table):
    copies = _first_seen(feed, "inventory_event_id", ["event_time"])
    valid, bad = split_valid(
        copies,
        {
            "duplicate": copies._copy > 0,
            "unknown_store": ~copies.store_id.isin(stores.store_id),
            "unknown_product": ~copies.product_id.isin(products.product_id),
        },
    )
    return valid.drop("_copy").select(schema.INVENTORY_EVENT.column_names), bad


def inventory_snapshot(events: ir.Table, dates: ir.Table) -> ir.Table:
    """End-of-day stock per day, store and product, from the first movement of each pair.

    on hand(d) = on hand(d-1) + sum of quantity changes on d; days without movement are kept
    (the grid is dense), so the running sum is the stock.
    """
    day = events.event_time.date()
    daily = events.group_by(["store_id", "product_id", day.name("day")]).agg(
        quantity_change=events.quantity_change.sum(),
        units_sold=ibis.ifelse(events.event_type == "sale", -events.quantity_change, 0).sum(),
    )
    pairs = daily.group_by(["store_id", "product_id"]).agg(first_day=daily["day"].min())
    days = dates.select("calendar_date", "date_key")
    grid = pairs.join(days, days.calendar_date >= pairs.first_day)
    snap = grid.left_join(
        daily,
        [
            grid.store_id == daily.store_id,
            grid.product_id == daily.product_id,
            grid.calendar_date == daily["day"],
        ],
    )
    snap = snap.select(
        snapshot_date=snap.calendar_date,
        store_id=snap.store_id,
        product_id=snap.product_id,
        quantity_change=snap.quantity_change.fill_null(0),
        units_sold=snap.units_sold.fill_null(0),
        date_key=snap.date_key,
    )
    on_hand = snap.quantity_change.sum().over(
        ibis.cumulative_window(group_by=["store_id", "product_id"], order_by="snapshot_date")
    )
    snap = snap.mutate(quantity_on_hand=on_hand.cast("int64"))
    return conform(snap, schema.INVENTORY_SNAPSHOT)


def _quarantine_rows(source: str, bad: ir.Table, key: str) -> ir.Table:
    """The quarantined rows of one source: its name, the row's key as text, the reason.

    A change record is identified by its key and source time (``customer_id@updated_at``); a
    record without a key by its extract date and source time.
    """
    record = bad[key].cast("string")
    if "updated_at" in bad.columns:
        at = bad.updated_at.cast("string")
        record = record.concat("@", at).fill_null(
            ibis.literal("extract ").concat(bad.extract_date.cast("string"), "@", at)
        )
    return bad.select(source=ibis.literal(source), record_id=record, reason=bad.reason)


# ---------------------------------------------------------------------------------------------
# the build
# ---------------------------------------------------------------------------------------------
def build(con, scale=None, seed=None, progress=None) -> BuildReport:
    """Generate the raw data for ``scale`` and ``seed`` and build the whole warehouse in ``con``."""
    report = BuildReport.start("ecommerce", scale, seed)
    rows, seed = report.scale_rows, report.seed
    say = progress or (lambda message: None)

    say(f"generating about {rows:,} order lines (seed {seed})")
    raw = gen.generate(rows, seed)
    con.create_database("raw", force=True)
    con.create_database("mart", force=True)
    for name, table in raw.items():
        con.create_table(name, table, database="raw", overwrite=True)
    r = {name: con.table(name, database="raw") for name in raw}
    del raw, table  # the data now lives in DuckDB; free the Arrow copies before transforming

    def save(name: str, expr: ir.Table, database: str | None = None) -> ir.Table:
        con.create_table(name, expr, database=database, overwrite=True)
        table = con.table(name, database=database)
        report.tables[f"{database}.{name}" if database else name] = int(table.count().execute())
        return table

    say("dimensions: date, store, category, campaign")
    dates = save("date", date_dimension(gen.START, gen.END - 1))
    stores = save("store", r["store"].select(schema.STORE.column_names))
    save("product_category", category_dimension(r["product_category"]))
    save("campaign", r["campaign"].select(schema.CAMPAIGN.column_names))
    # rows loaded from each source, counted in what was written: a table's rows, or for a change
    # extract the change records accepted into the SCD2 build
    loaded = {name: report.tables[name] for name in ("store", "product_category", "campaign")}

    quarantined = []

    say("product: SCD2 from the catalogue extract")
    product_changes, bad = stage_changes(r["product_extract"], "product_id")
    quarantined.append(_quarantine_rows("product_extract", bad, "product_id"))
    product = save("product", product_dimension(product_changes))
    loaded["product_extract"] = _count(product_changes)

    say("order lines: deduplicate and quarantine")
    lines, bad = stage_lines(r["order_line_feed"], product_changes)
    quarantined.append(_quarantine_rows("order_line_feed", bad, "line_item_id"))
    con.create_table("_stage_order_line", lines, temp=True, overwrite=True)
    lines = con.table("_stage_order_line")

    say("customer: SCD2 from the account extract, with inferred members")
    customer_changes, bad = stage_changes(r["customer_extract"], "customer_id")
    quarantined.append(_quarantine_rows("customer_extract", bad, "customer_id"))
    loaded["customer_extract"] = _count(customer_changes)
    first_orders = lines.group_by("customer_id").agg(first_order=lines.order_time.min())
    customer = save("customer", customer_dimension(customer_changes, first_orders))

    say("facts: order_line, orders, order_return")
    order_line = save("order_line", order_line_fact(lines, customer, product))
    loaded["order_line_feed"] = report.tables["order_line"]
    save("orders", orders_fact(order_line))
    returns, bad = stage_returns(r["order_return_feed"], order_line)
    quarantined.append(_quarantine_rows("order_return_feed", bad, "return_id"))
    save("order_return", returns)
    loaded["order_return_feed"] = report.tables["order_return"]

    say("inventory: events and the daily snapshot derived from them")
    events, bad = stage_inventory(r["inventory_event_feed"], stores, product_changes)
    quarantined.append(_quarantine_rows("inventory_event_feed", bad, "inventory_event_id"))
    events = save("inventory_event", events)
    loaded["inventory_event_feed"] = report.tables["inventory_event"]
    save("inventory_snapshot", inventory_snapshot(events, dates))

    quarantine = save("quarantine", ibis.union(*quarantined))
    _reconcile(report, r, loaded, quarantine)

    say("marts")
    from . import metrics

    # money sums rounded to the cent: a float sum depends on the order DuckDB's threads add in,
    # and the same seed must give identical tables
    daily = metrics.daily_sales_by_category(con)
    save("daily_category_sales", _cents(daily, ["gross_sales", "discount", "net_sales"]), "mart")
    save("inventory_daily", metrics.inventory_levels(con), database="mart")
    save("customer_summary", _cents(metrics.customer_summary(con), ["net_sales"]), "mart")
    con.drop_table("_stage_order_line", force=True)
    say("done")
    return report


def _cents(table: ir.Table, columns: list[str]) -> ir.Table:
    return table.mutate(**{c: table[c].round(2) for c in columns})


def _count(table: ir.Table) -> int:
    return int(table.count().execute())


def _reconcile(
    report: BuildReport, raw: dict[str, ir.Table], loaded: dict[str, int], quarantine: ir.Table
) -> None:
    """Record rows in, loaded and quarantined per source, all counted; stop if any row is lost.

    Rows in are counted in the raw layer, quarantined rows in the saved quarantine table.
    """
    per_source = quarantine.group_by("source").agg(n=quarantine.count()).execute()
    refused = dict(zip(per_source["source"], per_source["n"].astype(int), strict=True))
    for name in sorted(raw):
        rows_in = _count(raw[name])
        bad = refused.get(name, 0)
        report.add_source(name, rows_in, loaded.get(name, 0), bad)
        if loaded.get(name, 0) + bad != rows_in:  # nothing may be dropped (or invented) silently
            raise RuntimeError(
                f"{name}: {rows_in} rows in, {loaded.get(name, 0)} loaded + {bad} quarantined"
            )
