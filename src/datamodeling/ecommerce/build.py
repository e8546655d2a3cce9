"""Build the e-commerce warehouse: raw layer -> dimensional model -> marts, views.

Every step is an Ibis function from tables to a table. The order of the steps:

1. ``raw``: load what :mod:`.generate` hands over, untouched.
2. Staging rules split each source into rows to load and rows to quarantine (with a reason):
   duplicates from a retried load and impossible values, nothing else. A real event that names a
   key the dimension does not know is loaded against an *inferred member* of that dimension.
3. Dimensions (``dim_``): ``dim_customer`` and ``dim_product`` as SCD2 from the change extracts,
   placed by the source's ``updated_at`` (not by extract date, so an out-of-order change lands in
   its place), a closed account kept as a final ``is_deleted`` version; ``dim_customer_profile``
   (a type 4 mini-dimension of age bands) and ``dim_order_flags`` (a junk dimension); store,
   category, campaign and date. Every dimension has its Unknown (-1) and Not applicable (-2) rows.
4. Facts (``fact_``): the surrogate key of the version valid at the event's time is resolved once,
   here (:func:`datamodeling.scd2.resolve_key`); every date is kept twice where the store's clock
   matters, ``date_key`` (UTC) and ``local_date_key`` (the store's own day).
5. ``mart``: aggregates computed by the metrics of :mod:`.metrics`.
6. Views with the brief's table names and columns (``order_line``, ``customer``...).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd

from datamodeling.calendar import date_dimension, date_key, utc_offsets, with_local_time
from datamodeling.quality import split_valid
from datamodeling.registry import BuildReport
from datamodeling.scd2 import (
    BEGINNING_OF_TIME,
    add_inferred_members,
    build_scd2,
    resolve_key,
)

from . import generate as gen
from . import schema

CUSTOMER_ATTRIBUTES = [  # type 2: a change opens a new version
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "state",
    "country",
    "created_at",
]
PRODUCT_ATTRIBUTES = [
    "product_title",
    "product_brand",
    "product_category_id",
    "unit_price",
    "sku",
    "created_at",
]
NOT_APPLICABLE = -2


def conform(table: ir.Table, decl) -> ir.Table:
    """Select the declared columns of ``decl`` in order, cast to their declared types."""
    return table.select(
        **{
            c.name: table[c.name].cast(c.ibis_type.copy(nullable=True))
            for c in decl.columns
        }
    )


def _first_seen(table: ir.Table, key: str, order_by: list) -> ir.Table:
    """Number the copies of each key in arrival order: 0 for the first, 1+ for duplicates."""
    return table.mutate(_copy=ibis.row_number().over(group_by=key, order_by=order_by))


def infer_members(dim: ir.Table, seen: ir.Table, key: str) -> ir.Table:
    """Inferred members of a dimension keyed by its business key (store, campaign, category).

    :func:`datamodeling.scd2.add_inferred_members` with a throw-away surrogate key, since here
    the business key itself is the primary key.
    """
    with_sk = dim.mutate(_sk=dim[key])
    return add_inferred_members(with_sk, seen, key, "_sk").drop("_sk")


# ---------------------------------------------------------------------------------------------
# dimensions
# ---------------------------------------------------------------------------------------------
def stage_changes(extract: ir.Table, key: str) -> tuple[ir.Table, ir.Table]:
    """Split a change extract into accepted change records and quarantined rows.

    A row sent twice (same key and ``updated_at``) is a duplicate: the first arrival is kept.
    """
    copies = extract.mutate(
        _copy=ibis.row_number().over(
            group_by=[key, "updated_at"], order_by=["extract_date"]
        )
    )
    valid, bad = split_valid(
        copies,
        {"missing_key": copies[key].isnull(), "duplicate": copies._copy > 0},
    )
    return valid.drop("_copy"), bad


def customer_dimension(
    changes: ir.Table, first_orders: ir.Table, seen: ir.Table
) -> ir.Table:
    """SCD2 customer: versions by ``updated_at``, closed accounts, type 1 age, inferred members.

    * ``customer_age`` is type 1: the latest value overwrites every version. The source recomputes
      it on each birthday; tracking it as type 2 would add a version per customer per year (the
      band at the time of a fact lives in ``dim_customer_profile`` instead).
    * An order placed before the customer's first extract row (a late registration) is covered by
      backdating the first version to that order.
    * A customer named by a fact but absent from every extract gets an inferred member.
    """
    dim = build_scd2(
        changes,
        "customer_id",
        CUSTOMER_ATTRIBUTES,
        at="updated_at",
        deleted="is_deleted",
        sk="customer_sk",
    )
    dim = dim.mutate(updated_at=dim.valid_from)
    latest = changes.mutate(
        _rank=ibis.row_number().over(
            group_by="customer_id",
            order_by=[ibis.desc("updated_at"), ibis.desc("extract_date")],
        )
    )
    age = latest.filter(latest._rank == 0).select(
        "customer_id", customer_age="customer_age"
    )
    dim = dim.left_join(age, "customer_id").drop("customer_id_right")
    dim = dim.left_join(first_orders, "customer_id").drop("customer_id_right")
    is_first = dim.valid_from == dim.valid_from.min().over(group_by="customer_id")
    backdate = is_first & dim.first_order.notnull() & (dim.first_order < dim.valid_from)
    dim = dim.mutate(
        valid_from=ibis.ifelse(backdate, dim.first_order, dim.valid_from)
    ).drop("first_order")
    dim = add_inferred_members(dim, seen, "customer_id", "customer_sk")
    return schema.DIM_CUSTOMER.with_special_members(conform(dim, schema.DIM_CUSTOMER))


def product_dimension(changes: ir.Table, seen: ir.Table) -> ir.Table:
    """SCD2 product by ``updated_at``; products sold before the catalogue lists them are inferred."""
    dim = build_scd2(
        changes,
        "product_id",
        PRODUCT_ATTRIBUTES,
        at="updated_at",
        deleted=None,
        sk="product_sk",
    )
    dim = dim.mutate(updated_at=dim.valid_from)
    dim = add_inferred_members(dim, seen, "product_id", "product_sk")
    dim = schema.DIM_PRODUCT.with_special_members(conform(dim, schema.DIM_PRODUCT))
    # the category of an inferred product is not known either: the Unknown category, so that a
    # join through the category keeps its sales (the reserved rows point at their own kind)
    return dim.mutate(
        product_category_id=ibis.ifelse(
            dim.product_id < 0, dim.product_id, dim.product_category_id.fill_null(-1)
        )
    )


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


def profile_dimension() -> pd.DataFrame:
    """The age bands of ``dim_customer_profile``: one row per band (type 4 mini-dimension)."""
    rows = [
        (key, label, lo, hi)
        for key, (label, lo, hi) in enumerate(schema.AGE_BANDS, start=1)
    ]
    return pd.DataFrame(
        rows, columns=["customer_profile_key", "age_band", "age_from", "age_to"]
    )


def profile_key(age: ir.IntegerValue) -> ir.IntegerValue:
    """The ``customer_profile_key`` of an age (Unknown, -1, when the age is missing)."""
    branches = [
        (age < hi, ibis.literal(key, "int64"))
        for key, (_, _, hi) in enumerate(schema.AGE_BANDS, start=1)
    ]
    return ibis.ifelse(
        age.isnull(), -1, ibis.cases(*branches[:-1], else_=branches[-1][1])
    )


def profile_history(changes: ir.Table) -> ir.Table:
    """Each customer's age band over time, from every record of the extract (birthdays included).

    A type 2 history kept only to stamp facts with the band of their time; it is not a table of
    the model. The first band is taken to hold since the beginning of time (a first order can
    precede the first record).
    """
    banded = changes.mutate(customer_profile_key=profile_key(changes.customer_age))
    hist = build_scd2(
        banded,
        "customer_id",
        ["customer_profile_key"],
        at="updated_at",
        deleted="is_deleted",
        sk="_history_sk",
    )
    first = hist.valid_from == hist.valid_from.min().over(group_by="customer_id")
    return hist.mutate(
        valid_from=ibis.ifelse(first, ibis.literal(BEGINNING_OF_TIME), hist.valid_from)
    )


def order_flags_dimension() -> pd.DataFrame:
    """Every combination of the order flags (junk dimension): 2 x 2 x 2 = 8 rows."""
    rows = []
    for first in (False, True):
        for discount in (False, True):
            for shipping in (False, True):
                key = 1 + 4 * first + 2 * discount + shipping
                label = ", ".join(
                    [
                        "first order" if first else "repeat order",
                        "discounted" if discount else "full price",
                        "shipping charged" if shipping else "no shipping charge",
                    ]
                )
                rows.append((key, first, discount, shipping, label))
    return pd.DataFrame(
        rows,
        columns=[
            "order_flags_key",
            "is_first_order",
            "has_discount",
            "has_shipping_charge",
            "order_flags",
        ],
    ).sort_values("order_flags_key", ignore_index=True)


def store_day_ends(stores: ir.Table, first: datetime, last: datetime) -> pd.DataFrame:
    """The UTC instant each local day of each store ends: one row per store and local day.

    A store whose zone is unknown (an inferred member) keeps UTC days.
    """
    frame = stores.select("store_id", "time_zone").to_pandas()
    rows = []
    days = pd.date_range(first, last, freq="D")
    for store_id, zone_name in zip(frame.store_id, frame.time_zone, strict=True):
        try:
            zone = ZoneInfo(zone_name)
        except Exception:  # Unknown / Not applicable / an inferred store: UTC
            zone = timezone.utc
        for day in days:
            end = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
                days=1
            )
            end = end.astimezone(timezone.utc).replace(tzinfo=None)
            rows.append((int(store_id), day.date(), end))
    out = pd.DataFrame(rows, columns=["store_id", "calendar_date", "day_end_utc"])
    out["day_end_utc"] = out["day_end_utc"].astype("datetime64[us]")
    return out


# ---------------------------------------------------------------------------------------------
# facts
# ---------------------------------------------------------------------------------------------
def stage_lines(feed: ir.Table) -> tuple[ir.Table, ir.Table]:
    """Order lines to load; duplicates and impossible counts quarantined."""
    copies = _first_seen(feed, "line_item_id", ["loaded_at", "batch_id"])
    valid, bad = split_valid(
        copies,
        {
            "duplicate": copies._copy > 0,
            "non_positive_count": copies["count"] <= 0,
        },
    )
    return valid.drop("_copy"), bad


def allocate_shipping(lines: ir.Table) -> ir.Table:
    """Spread the order's shipping over its lines in proportion to net amount, to the cent.

    Rounding the running share (not each share) makes the lines add up to the order's charge.
    The division is done in DOUBLE and rounded to the cent at once; every amount stays DECIMAL.
    """
    net = (lines.amt - lines.discount).cast("decimal(18, 2)")
    lines = lines.mutate(net_amt=net)
    running = lines.net_amt.sum().over(
        ibis.cumulative_window(group_by="order_id", order_by="line_number")
    )
    total = lines.net_amt.sum().over(group_by="order_id")
    charge = lines.order_shipping_amt

    def share(amount):
        ratio = amount.cast("float64") / total.cast("float64")
        return ibis.ifelse(
            total == 0, 0, (charge.cast("float64") * ratio).round(2)
        ).cast("decimal(18, 2)")

    return lines.mutate(shipping_amt=share(running) - share(running - lines.net_amt))


def with_local_date_key(
    table: ir.Table,
    at: str,
    stores: ir.Table,
    offsets: ir.Table,
    name: str = "local_date_key",
) -> ir.Table:
    """Add ``name``: the ``yyyymmdd`` key of ``table[at]`` on the clock of the row's store."""
    zones = stores.select(_store=stores.store_id, _zone=stores.time_zone)
    t = table.left_join(zones, table.store_id == zones._store).drop("_store")
    t = with_local_time(t, at, "_zone", offsets, name="_local")
    return t.mutate(**{name: date_key(t._local)}).drop("_zone", "_local")


def order_line_fact(
    lines: ir.Table,
    customer: ir.Table,
    product: ir.Table,
    profiles: ir.Table,
    stores: ir.Table,
    offsets: ir.Table,
) -> ir.Table:
    """Staged lines -> the fact: shipping allocated, keys resolved at order time, both date keys."""
    lines = lines.mutate(campaign_id=lines.campaign_id.fill_null(NOT_APPLICABLE))
    return (
        lines.pipe(allocate_shipping)
        .pipe(resolve_key, customer, "customer_id", "order_time", "customer_sk")
        .pipe(resolve_key, product, "product_id", "order_time", "product_sk")
        .pipe(
            resolve_key, profiles, "customer_id", "order_time", "customer_profile_key"
        )
        .mutate(date_key=lambda t: date_key(t.order_time))
        .pipe(with_local_date_key, "order_time", stores, offsets)
        .pipe(conform, schema.FACT_ORDER_LINE)
    )


def order_fact(lines: ir.Table, customer: ir.Table) -> ir.Table:
    """The order grain: sums of the lines, the order's flags as a junk-dimension key.

    ``is_first_order``: the customer's earliest order in the data, unless the customer signed up
    before the data starts (its first order is then before the data, and unseen).
    """
    orders = lines.group_by("order_id").agg(
        order_time=lines.order_time.min(),
        date_key=lines.date_key.min(),
        local_date_key=lines.local_date_key.min(),
        customer_id=lines.customer_id.max(),
        customer_sk=lines.customer_sk.max(),
        customer_profile_key=lines.customer_profile_key.max(),
        store_id=lines.store_id.max(),
        campaign_id=lines.campaign_id.max(),
        line_count=lines.count(),
        units=lines["count"].sum(),
        gross_amt=lines.amt.sum(),
        discount=lines.discount.sum(),
        net_amt=lines.net_amt.sum(),
        tax_amt=lines.tax_amt.sum(),
        shipping_amt=lines.shipping_amt.sum(),
    )
    signed_up = customer.filter(customer.is_current).select(
        "customer_id", _created=customer.created_at
    )
    orders = orders.left_join(signed_up, "customer_id").drop("customer_id_right")
    rank = ibis.row_number().over(
        group_by="customer_id", order_by=["order_time", "order_id"]
    )
    older = orders._created.notnull() & (
        orders._created < ibis.literal(gen.START.item())
    )
    first = (rank == 0) & ~older
    flags = (
        1
        + ibis.ifelse(first, 4, 0)
        + ibis.ifelse(orders.discount > 0, 2, 0)
        + ibis.ifelse(orders.shipping_amt > 0, 1, 0)
    )
    orders = orders.mutate(order_flags_key=flags.cast("int64")).drop("_created")
    return conform(orders, schema.FACT_ORDER)


def stage_by_id(feed: ir.Table, key: str, at: str) -> tuple[ir.Table, ir.Table]:
    """Rows of an event feed to load; a row sent twice (same id) is quarantined as a duplicate."""
    copies = _first_seen(feed, key, [at])
    valid, bad = split_valid(copies, {"duplicate": copies._copy > 0})
    return valid.drop("_copy"), bad


def return_fact(
    returns: ir.Table,
    customer: ir.Table,
    product: ir.Table,
    stores: ir.Table,
    offsets: ir.Table,
) -> ir.Table:
    """Returns with the customer and product versions valid when the goods came back.

    A refund after the account was closed finds the customer's final, deleted version.
    """
    return (
        returns.pipe(resolve_key, customer, "customer_id", "return_time", "customer_sk")
        .pipe(resolve_key, product, "product_id", "return_time", "product_sk")
        .mutate(date_key=lambda t: date_key(t.return_time))
        .pipe(with_local_date_key, "return_time", stores, offsets)
        .pipe(conform, schema.FACT_ORDER_RETURN)
    )


def inventory_event_fact(
    events: ir.Table, product: ir.Table, stores: ir.Table, offsets: ir.Table
) -> ir.Table:
    return (
        events.pipe(resolve_key, product, "product_id", "event_time", "product_sk")
        .mutate(date_key=lambda t: date_key(t.event_time))
        .pipe(with_local_date_key, "event_time", stores, offsets)
        .pipe(conform, schema.FACT_INVENTORY_EVENT)
    )


def inventory_snapshot(
    events: ir.Table, day_ends: ir.Table, product: ir.Table
) -> ir.Table:
    """End-of-day stock per store, product and *local* day, from the first movement of each pair.

    on hand(d) = on hand(d-1) + sum of quantity changes on d; days without movement are kept
    (the grid is dense), so the running sum is the stock. A day is in the grid only once it has
    ended inside the data (its end, in UTC, is at or before the data's end), so the last local
    day, cut by the end of the data at midnight UTC, has no snapshot. ``product_sk`` is the
    version valid at the last instant of the day.
    """
    daily = events.group_by(["store_id", "product_id", "local_date_key"]).agg(
        quantity_change=events.quantity_change.sum(),
        units_sold=ibis.ifelse(
            events.event_type == "sale", -events.quantity_change, 0
        ).sum(),
    )
    pairs = daily.group_by(["store_id", "product_id"]).agg(
        first_key=daily.local_date_key.min()
    )
    days = day_ends.filter(day_ends.day_end_utc <= ibis.literal(gen.END.item()))
    days = days.mutate(day_key=date_key(days.calendar_date))
    grid = pairs.join(
        days, (days.store_id == pairs.store_id) & (days.day_key >= pairs.first_key)
    ).drop("store_id_right")
    snap = grid.left_join(
        daily,
        [
            grid.store_id == daily.store_id,
            grid.product_id == daily.product_id,
            grid.day_key == daily.local_date_key,
        ],
    )
    snap = snap.select(
        snapshot_date=snap.calendar_date,
        store_id=snap.store_id,
        product_id=snap.product_id,
        quantity_change=snap.quantity_change.fill_null(0),
        units_sold=snap.units_sold.fill_null(0),
        local_date_key=snap.day_key,
        _last_instant=snap.day_end_utc - ibis.interval(microseconds=1),
    )
    on_hand = snap.quantity_change.sum().over(
        ibis.cumulative_window(
            group_by=["store_id", "product_id"], order_by="snapshot_date"
        )
    )
    snap = snap.mutate(quantity_on_hand=on_hand.cast("int64"))
    snap = resolve_key(snap, product, "product_id", "_last_instant", "product_sk")
    return conform(snap, schema.FACT_INVENTORY_SNAPSHOT)


def audience_fact(audience: ir.Table, customer: ir.Table) -> ir.Table:
    return (
        audience.pipe(
            resolve_key, customer, "customer_id", "assigned_at", "customer_sk"
        )
        .mutate(date_key=lambda t: date_key(t.assigned_at))
        .pipe(conform, schema.FACT_CAMPAIGN_AUDIENCE)
    )


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


def create_views(con) -> None:
    """The brief's tables, by their names and with their columns, as views of the model."""
    for name, (table, columns) in schema.BRIEF_VIEWS.items():
        t = con.table(table)
        con.create_view(name, t.select(columns), overwrite=True)


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
    del (
        raw,
        table,
    )  # the data now lives in DuckDB; free the Arrow copies before transforming

    def save(name: str, expr, database: str | None = None) -> ir.Table:
        con.create_table(name, expr, database=database, overwrite=True)
        table = con.table(name, database=database)
        report.tables[f"{database}.{name}" if database else name] = int(
            table.count().execute()
        )
        return table

    def temp(name: str, expr) -> ir.Table:
        con.create_table(name, expr, temp=True, overwrite=True)
        return con.table(name)

    quarantined = []
    loaded: dict[str, int] = {}

    say("staging: order lines, returns, stock movements")
    lines, bad = stage_lines(r["order_line_feed"])
    quarantined.append(_quarantine_rows("order_line_feed", bad, "line_item_id"))
    lines = temp("_stage_order_line", lines)
    returns, bad = stage_by_id(r["order_return_feed"], "return_id", "return_time")
    quarantined.append(_quarantine_rows("order_return_feed", bad, "return_id"))
    events, bad = stage_by_id(
        r["inventory_event_feed"], "inventory_event_id", "event_time"
    )
    quarantined.append(
        _quarantine_rows("inventory_event_feed", bad, "inventory_event_id")
    )
    audience, bad = stage_by_id(
        r["campaign_audience"], ["campaign_id", "customer_id"], "assigned_at"
    )
    quarantined.append(_quarantine_rows("campaign_audience", bad, "customer_id"))

    say("dimensions: date, store, category, campaign, profile, order flags")
    first_day = gen.START.item() - timedelta(
        days=1
    )  # local days start on 31 December 2023
    last_day = gen.END.item() - timedelta(days=1)
    save(
        "dim_date",
        schema.DIM_DATE.with_special_members(
            ibis.memtable(date_dimension(first_day, last_day))
        ),
    )
    seen_stores = ibis.union(
        *[t.select("store_id") for t in (lines, returns, events)], distinct=True
    )
    stores = save(
        "dim_store",
        schema.DIM_STORE.with_special_members(
            infer_members(r["store"], seen_stores, "store_id")
        ),
    )
    offsets = temp(
        "_utc_offsets",
        ibis.memtable(
            utc_offsets(
                gen.ZONES, first_day - timedelta(days=1), last_day + timedelta(days=2)
            )
        ),
    )
    category = category_dimension(r["product_category"])
    save(
        "dim_product_category",
        schema.DIM_PRODUCT_CATEGORY.with_special_members(
            infer_members(
                category, lines.select("product_category_id"), "product_category_id"
            )
        ),
    )
    seen_campaigns = ibis.union(
        lines.filter(lines.campaign_id.notnull()).select("campaign_id"),
        audience.select("campaign_id"),
        distinct=True,
    )
    save(
        "dim_campaign",
        schema.DIM_CAMPAIGN.with_special_members(
            infer_members(r["campaign"], seen_campaigns, "campaign_id")
        ),
    )
    save(
        "dim_customer_profile",
        schema.DIM_CUSTOMER_PROFILE.with_special_members(
            ibis.memtable(profile_dimension())
        ),
    )
    save(
        "dim_order_flags",
        schema.DIM_ORDER_FLAGS.with_special_members(
            ibis.memtable(order_flags_dimension())
        ),
    )

    say("dim_product: SCD2 from the catalogue extract, with inferred members")
    product_changes, bad = stage_changes(r["product_extract"], "product_id")
    quarantined.append(_quarantine_rows("product_extract", bad, "product_id"))
    seen_products = ibis.union(
        *[t.select("product_id") for t in (lines, returns, events)], distinct=True
    )
    product = save("dim_product", product_dimension(product_changes, seen_products))
    loaded["product_extract"] = _count(product_changes)

    say("dim_customer: SCD2 from the account extract, closures kept, inferred members")
    customer_changes, bad = stage_changes(r["customer_extract"], "customer_id")
    quarantined.append(_quarantine_rows("customer_extract", bad, "customer_id"))
    customer_changes = temp("_stage_customer", customer_changes)
    loaded["customer_extract"] = _count(customer_changes)
    first_orders = lines.group_by("customer_id").agg(first_order=lines.order_time.min())
    seen_customers = ibis.union(
        *[t.select("customer_id") for t in (lines, returns, audience)], distinct=True
    )
    customer = save(
        "dim_customer",
        customer_dimension(customer_changes, first_orders, seen_customers),
    )
    profiles = temp("_profile_history", profile_history(customer_changes))

    say("facts: order lines, orders, returns, campaign audiences")
    order_line = save(
        "fact_order_line",
        order_line_fact(lines, customer, product, profiles, stores, offsets),
    )
    save("fact_order", order_fact(order_line, customer))
    save("fact_order_return", return_fact(returns, customer, product, stores, offsets))
    save("fact_campaign_audience", audience_fact(audience, customer))

    say("inventory: events and the daily snapshot derived from them")
    events = save(
        "fact_inventory_event", inventory_event_fact(events, product, stores, offsets)
    )
    day_ends = temp(
        "_store_day_end", ibis.memtable(store_day_ends(stores, first_day, last_day))
    )
    save("fact_inventory_snapshot", inventory_snapshot(events, day_ends, product))

    # rows loaded from each source, counted in what was written
    real = {"dim_store": "store_id", "dim_campaign": "campaign_id"}
    for source, table in (("store", "dim_store"), ("campaign", "dim_campaign")):
        t = con.table(table)
        loaded[source] = _count(t.filter((t[real[table]] >= 0) & ~t.is_inferred))
    t = con.table("dim_product_category")
    loaded["product_category"] = _count(
        t.filter((t.product_category_id >= 0) & ~t.is_inferred)
    )
    for source, table in (
        ("order_line_feed", "fact_order_line"),
        ("order_return_feed", "fact_order_return"),
        ("inventory_event_feed", "fact_inventory_event"),
        ("campaign_audience", "fact_campaign_audience"),
    ):
        loaded[source] = report.tables[table]
    quarantine = save("quarantine", ibis.union(*quarantined))
    _reconcile(report, r, loaded, quarantine)

    say("marts and the brief's views")
    from . import metrics

    save("daily_category_sales", metrics.daily_sales_by_category(con), "mart")
    save("inventory_daily", metrics.inventory_levels(con), "mart")
    save("customer_summary", metrics.customer_summary(con), "mart")
    create_views(con)
    for name in ("_stage_order_line", "_stage_customer", "_profile_history", "_utc_offsets",
                 "_store_day_end"):  # fmt: skip
        con.drop_table(name, force=True)
    say("done")
    return report


def _count(table: ir.Table) -> int:
    return int(table.count().execute())


def _reconcile(
    report: BuildReport,
    raw: dict[str, ir.Table],
    loaded: dict[str, int],
    quarantine: ir.Table,
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
        if (
            loaded.get(name, 0) + bad != rows_in
        ):  # nothing may be dropped (or invented) silently
            raise RuntimeError(
                f"{name}: {rows_in} rows in, {loaded.get(name, 0)} loaded + {bad} quarantined"
            )
