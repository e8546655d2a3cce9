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

The build is a load of every day (:mod:`datamodeling.pipeline`): each raw row carries the day
it landed (:func:`.generate.landing_dates`), and a load reads the days it is given. A fact's
event day is the UTC day of its event (an order line's order, a return, a stock movement, an
audience's assignment); a load recomputes the fact rows of its window's event days, rebuilds the
type 2 dimensions from every change record landed so far (re-keying the facts outside the window
whose versions moved), rolls the stock snapshot forward from the day before, and refreshes the
marts for the days, customers and stock rows it touched. A record that lands later than the
lookback is quarantined with ``pipeline.LATE`` until its backfill.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from datamodeling import landing, pipeline
from datamodeling.backends import STAGE
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


def with_special_members(decl, table: ir.Table) -> ir.Table:
    """``decl.with_special_members(table)``, written so that Spark can run it too.

    The reserved rows reach the engine as an in-memory table; Spark converts it through pandas,
    which cannot hold a NULL ``DECIMAL``. Decimal columns travel as ``DOUBLE`` and are cast back
    to their declared type in the query (the reserved rows' amounts are NULL or whole numbers,
    exact in a double), so both engines get the same rows and types.
    """
    declared = decl.ibis_schema().to_pyarrow()
    fields = [
        pa.field(f.name, pa.float64()) if pa.types.is_decimal(f.type) else f
        for f in declared
    ]
    members = decl.special_members()
    rows = members.astype(object).where(members.notna(), None).to_dict("records")
    for row in rows:
        for f in declared:
            if pa.types.is_decimal(f.type) and row[f.name] is not None:
                row[f.name] = float(row[f.name])
    special = ibis.memtable(pa.Table.from_pylist(rows, schema=pa.schema(fields)))
    special = special.cast(decl.ibis_schema())
    return table.select(decl.column_names).cast(decl.ibis_schema()).union(special)


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
    return with_special_members(schema.DIM_CUSTOMER, conform(dim, schema.DIM_CUSTOMER))


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
    dim = with_special_members(schema.DIM_PRODUCT, conform(dim, schema.DIM_PRODUCT))
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
    """The quarantined rows of one source: its name, the row's key as text, the reason, the
    record's event day and the day it landed (``bad`` carries ``event_date`` and
    ``landing_date``).

    A change record is identified by its key and source time (``customer_id@updated_at``); a
    record without a key by its extract date and source time.
    """
    record = bad[key].cast("string")
    if "updated_at" in bad.columns:
        at = bad.updated_at.cast("string")
        record = record.concat("@", at).fill_null(
            ibis.literal("extract ").concat(bad.extract_date.cast("string"), "@", at)
        )
    return bad.select(
        source=ibis.literal(source),
        record_id=record,
        reason=bad.reason,
        event_date=bad.event_date.cast("date"),
        landing_date=bad[landing.LANDING].cast("date"),
    )


def create_views(target) -> None:
    """The brief's tables, by their names and with their columns, as views of the model.

    ``target`` is an Ibis connection or a load's :class:`datamodeling.pipeline.Context` (its
    backend writes the views the way its engine does)."""
    backend = getattr(target, "backend", None)
    for name, (table, columns) in schema.BRIEF_VIEWS.items():
        if backend is not None and hasattr(backend, "create_view"):
            backend.create_view(name, backend.table(table).select(columns))
        else:
            con = backend.con if backend is not None else target
            con.create_view(name, con.table(table).select(columns), overwrite=True)


# ---------------------------------------------------------------------------------------------
# the load: the steps of the pipeline (datamodeling.pipeline runs them, for one day or a range)
# ---------------------------------------------------------------------------------------------
LANDING = landing.LANDING
#: Record key of each source of the landing zone: the order of the rows in a day's file.
KEYS = {
    "customer_extract": ["customer_id", "updated_at", "is_deleted", "extract_date"],
    "product_extract": ["product_id", "updated_at", "extract_date"],
    "product_category": ["product_category_id"],
    "store": ["store_id"],
    "campaign": ["campaign_id"],
    "campaign_audience": ["campaign_id", "customer_id"],
    "order_line_feed": ["line_item_id", "loaded_at"],
    "order_return_feed": ["return_id"],
    "inventory_event_feed": ["inventory_event_id"],
}
#: The fact feeds and the time of each record's event: its *event day* is that time's UTC day
#: (the day of ``date_key``; an order line belongs to its order's day).
EVENT_TIME = {
    "order_line_feed": "order_time",
    "order_return_feed": "return_time",
    "inventory_event_feed": "event_time",
    "campaign_audience": "assigned_at",
}
#: The column that names a quarantined record of each feed.
RECORD_ID = {
    "order_line_feed": "line_item_id",
    "order_return_feed": "return_id",
    "inventory_event_feed": "inventory_event_id",
    "campaign_audience": "customer_id",
}
#: The change extracts of the type 2 dimensions, and their business keys.
EXTRACTS = {"customer_extract": "customer_id", "product_extract": "product_id"}
#: Local days start on 31 December 2023 (UTC midnight of 1 January is the evening before in
#: America) and end on 31 December 2025.
FIRST_DAY = gen.START.item() - timedelta(days=1)
LAST_DAY = gen.END.item() - timedelta(days=1)


def init(ctx: pipeline.Context) -> None:
    """A new warehouse: every table empty with its declared columns, and the fixed dimensions
    (dates, age bands, order flags)."""
    ctx.backend.create_database("mart")
    for decl in schema.TABLES:
        ctx.create(decl.name, pipeline.empty(decl), decl.database)
    dates = date_dimension(FIRST_DAY, LAST_DAY)
    ctx.create("dim_date", with_special_members(schema.DIM_DATE, ibis.memtable(dates)))
    ctx.create(
        "dim_customer_profile",
        with_special_members(
            schema.DIM_CUSTOMER_PROFILE, ibis.memtable(profile_dimension())
        ),
    )
    ctx.create(
        "dim_order_flags",
        with_special_members(
            schema.DIM_ORDER_FLAGS, ibis.memtable(order_flags_dimension())
        ),
    )


def step_stage(ctx: pipeline.Context) -> None:
    """Stage the records of the window's event days (duplicates and impossible values to
    quarantine), the whole change extracts, and the records later than the lookback."""
    w = ctx.window
    first = ibis.date(w.first_event_day)

    def window_records(
        source: str,
    ) -> ir.Table:  # a record lands on or after its event day
        t = ctx.raw(source)
        t = t.filter(t[LANDING] >= first)
        t = t.mutate(event_date=t[EVENT_TIME[source]].date())
        t = t.filter(w.event_days(t.event_date))
        return ctx.accepted(t, "event_date")

    parts = []
    staged = {
        "order_line_feed": ("lines", stage_lines),
        "order_return_feed": (
            "returns",
            lambda t: stage_by_id(t, "return_id", "return_time"),
        ),
        "inventory_event_feed": (
            "events",
            lambda t: stage_by_id(t, "inventory_event_id", "event_time"),
        ),
        "campaign_audience": (
            "audience",
            lambda t: stage_by_id(t, ["campaign_id", "customer_id"], "assigned_at"),
        ),
    }
    for source, (name, split) in staged.items():
        good, bad = split(window_records(source))
        ctx.stage(name, good.drop("event_date", LANDING))
        parts.append(_quarantine_rows(source, bad, RECORD_ID[source]))
    for source, key in EXTRACTS.items():
        t = ctx.raw(source)
        changes, bad = stage_changes(t, key)
        ctx.stage(f"{source}_changes", changes.drop(LANDING))
        parts.append(
            _quarantine_rows(source, bad.mutate(event_date=bad.updated_at.date()), key)
        )
    for source, at in EVENT_TIME.items():
        t = ctx.landed(source)
        late = ctx.too_late(t.mutate(event_date=t[at].date()), "event_date")
        late = late.mutate(reason=ibis.literal(pipeline.LATE))
        parts.append(_quarantine_rows(source, late, RECORD_ID[source]))
    rows = ibis.union(*parts, distinct=False)
    quarantine = ctx.stage("quarantine", conform(rows, schema.QUARANTINE))
    feeds, extracts = list(EVENT_TIME), list(EXTRACTS)

    def replaced(q: ir.Table) -> ir.BooleanValue:
        late = q.reason == pipeline.LATE
        return (
            q.source.isin(extracts)
            | (q.source.isin(feeds) & ~late & w.event_days(q.event_date))
            | (q.source.isin(feeds) & late & w.landed(q.landing_date))
        )

    ctx.replace("quarantine", quarantine, replaced)


def _seen(ctx: pipeline.Context, dim: str, key: str, *tables: ir.Table) -> ir.Table:
    """The keys a dimension must hold: its inferred members so far and the keys the window's
    records name (staged: the dimension is replaced next)."""
    old = ctx.table(dim)
    known = old.filter(old.is_inferred & (old[key] >= 0)).select(
        **{key: old[key].cast("int64")}
    )
    parts = [known, *[t.select(**{key: t[key].cast("int64")}) for t in tables]]
    return ctx.stage(f"seen_{dim}", ibis.union(*parts, distinct=True))


def _versions_moved(
    ctx: pipeline.Context, dim: str, key: str, sk: str, build, also: ir.Table
) -> None:
    """Replace ``dim`` with ``build()`` and stage ``moved_<dim>``: the keys whose versions moved
    (their facts outside the window get their keys again) and those of ``also``."""
    cols = [key, sk, "valid_from", "valid_to"]
    old = ctx.stage(f"old_{dim}", ctx.table(dim).select(cols))
    ctx.create(dim, build())
    new = ctx.table(dim).select(cols).cast(old.schema())
    moved = old.difference(new).union(new.difference(old))
    moved = moved.filter(moved[key] >= 0).select(**{key: moved[key].cast("int64")})
    also = also.select(**{key: also[key].cast("int64")})
    ctx.stage(f"moved_{dim}", moved.union(also).distinct())


def step_dimensions(ctx: pipeline.Context) -> None:
    """Store, category and campaign from their extracts with inferred members; the customer and
    product type 2 dimensions from every change record landed so far (by source time, so a late
    change lands in its place), and the keys whose versions moved."""
    w = ctx.window
    lines, returns, events, audience = (
        ctx.table(name, STAGE) for name in ("lines", "returns", "events", "audience")
    )
    seen = _seen(ctx, "dim_store", "store_id", lines, returns, events)
    stores = pipeline.latest(ctx.raw("store"), "store_id")
    ctx.create(
        "dim_store",
        with_special_members(schema.DIM_STORE, infer_members(stores, seen, "store_id")),
    )
    seen = _seen(ctx, "dim_product_category", "product_category_id", lines)
    category = category_dimension(
        pipeline.latest(ctx.raw("product_category"), "product_category_id")
    )
    ctx.create(
        "dim_product_category",
        with_special_members(
            schema.DIM_PRODUCT_CATEGORY,
            infer_members(category, seen, "product_category_id"),
        ),
    )
    seen = _seen(
        ctx,
        "dim_campaign",
        "campaign_id",
        lines.filter(lines.campaign_id.notnull()),
        audience,
    )
    campaigns = pipeline.latest(ctx.raw("campaign"), "campaign_id")
    ctx.create(
        "dim_campaign",
        with_special_members(
            schema.DIM_CAMPAIGN, infer_members(campaigns, seen, "campaign_id")
        ),
    )

    product_changes = ctx.table("product_extract_changes", STAGE)
    seen_products = _seen(ctx, "dim_product", "product_id", lines, returns, events)
    landed = ctx.landed("product_extract")
    _versions_moved(
        ctx,
        "dim_product",
        "product_id",
        "product_sk",
        lambda: product_dimension(product_changes, seen_products),
        landed.filter(landed.product_id.notnull()),
    )

    customer_changes = ctx.table("customer_extract_changes", STAGE)
    facts = ctx.table("fact_order_line")
    facts = facts.filter(~w.event_keys(facts.date_key))
    types = lines.select("customer_id", "order_time").schema()
    firsts = (
        facts.select("customer_id", "order_time")
        .cast(types)
        .union(lines.select("customer_id", "order_time"), distinct=False)
    )
    first_orders = ctx.stage(
        "first_orders",
        firsts.group_by("customer_id").agg(first_order=firsts.order_time.min()),
    )
    seen_customers = _seen(ctx, "dim_customer", "customer_id", lines, returns, audience)
    landed = ctx.landed("customer_extract")
    _versions_moved(
        ctx,
        "dim_customer",
        "customer_id",
        "customer_sk",
        lambda: customer_dimension(customer_changes, first_orders, seen_customers),
        landed.filter(landed.customer_id.notnull()),
    )
    ctx.stage("profiles", profile_history(customer_changes))


def rekey(ctx: pipeline.Context, fact: str, keys, outside) -> None:
    """Resolve the surrogate keys again for the rows of ``fact`` outside the window whose
    customer or product versions moved (a late change that moves a version boundary).

    ``keys``: ``(business key, dimension, key column, time column, moved keys)`` per key."""
    t = ctx.table(fact)

    def chosen(x):
        hit = ibis.or_(*[x[k].isin(moved[k]) for k, _, _, _, moved in keys])
        return hit & outside(x)

    rows = t.filter(chosen(t))
    if rows.count().execute() == 0:
        return
    fixed = rows.drop(*sorted({sk for _, _, sk, _, _ in keys}))
    for key, dim, sk, at, _ in keys:
        fixed = resolve_key(fixed, dim, key, at, sk)
    ctx.replace(fact, ctx.stage(f"rekeyed_{fact}", fixed.select(t.columns)), chosen)


def step_facts(ctx: pipeline.Context) -> None:
    """Order lines, returns, stock movements and audiences of the window's event days, replaced;
    the orders of every customer with a line in the window (a late first order changes the
    flags of the next); rows outside the window whose versions moved, re-keyed."""
    w = ctx.window
    customer, product, stores = (
        ctx.table("dim_customer"),
        ctx.table("dim_product"),
        ctx.table("dim_store"),
    )
    profiles = ctx.table("profiles", STAGE)
    moved_c = ctx.table("moved_dim_customer", STAGE)
    moved_p = ctx.table("moved_dim_product", STAGE)
    offsets = ctx.stage(
        "utc_offsets",
        utc_offsets(
            gen.ZONES, FIRST_DAY - timedelta(days=1), LAST_DAY + timedelta(days=2)
        ),
    )

    def in_window(t):
        return w.event_keys(t.date_key)

    def outside(t):
        return ~in_window(t)

    by_customer = ("customer_id", customer, "customer_sk")
    by_product = ("product_id", product, "product_sk")
    by_profile = ("customer_id", profiles, "customer_profile_key")

    def keyed(at, *parts):
        moved = {"customer_id": moved_c, "product_id": moved_p}
        return [(k, dim, sk, at, moved[k]) for k, dim, sk in parts]

    lines = ctx.table("lines", STAGE)
    new = ctx.stage(
        "new_order_line",
        order_line_fact(lines, customer, product, profiles, stores, offsets),
    )
    rekey(ctx, "fact_order_line", keyed("order_time", by_customer, by_product,
                                        by_profile), outside)  # fmt: skip
    ctx.replace("fact_order_line", new, in_window)

    touched = ctx.stage(
        "touched_customers",
        lines.select("customer_id").union(moved_c.select("customer_id")).distinct(),
    )
    fol = ctx.table("fact_order_line")

    def theirs(t):
        return t.customer_id.isin(touched.customer_id) | in_window(t)

    orders = ctx.stage("new_order", order_fact(fol.filter(theirs(fol)), customer))
    ctx.replace("fact_order", orders, theirs)

    new = return_fact(ctx.table("returns", STAGE), customer, product, stores, offsets)
    new = ctx.stage("new_order_return", new)
    rekey(ctx, "fact_order_return", keyed("return_time", by_customer, by_product),
          outside)  # fmt: skip
    ctx.replace("fact_order_return", new, in_window)

    new = ctx.stage(
        "new_campaign_audience", audience_fact(ctx.table("audience", STAGE), customer)
    )
    rekey(ctx, "fact_campaign_audience", keyed("assigned_at", by_customer), outside)
    ctx.replace("fact_campaign_audience", new, in_window)

    new = inventory_event_fact(ctx.table("events", STAGE), product, stores, offsets)
    new = ctx.stage("new_inventory_event", new)
    rekey(ctx, "fact_inventory_event", keyed("event_time", by_product), outside)
    # the (store, product) pairs whose movements the window may change: their stock is rolled
    # forward again from the window on, the others' only over the days not yet in the snapshot
    old = ctx.table("fact_inventory_event")
    old = old.filter(in_window(old))
    ctx.stage(
        "stock_pairs",
        old.select(_pair=pair_code(old))
        .union(new.select(_pair=pair_code(new)))
        .distinct(),
    )
    ctx.replace("fact_inventory_event", new, in_window)


def pair_code(t: ir.Table) -> ir.IntegerValue:
    """One integer per (store, product) pair, for ``isin`` tests."""
    return t.store_id.cast("int64") * 1_000_000_000 + t.product_id.cast("int64")


def _key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def rolled_snapshot(
    events: ir.Table,
    day_ends: ir.Table,
    product: ir.Table,
    starts: ir.Table,
    carry: ir.Table,
    limit: datetime,
) -> ir.Table:
    """The daily stock snapshot of each pair from its start day, rolled forward from ``carry``.

    ``starts`` (``store_id``, ``product_id``, ``_start``) gives each pair's first day to
    compute, ``carry`` (``store_id``, ``product_id``, ``_carry``) its stock at the end of the
    day before, ``events`` the stock movements of those days (at least). A pair's grid runs from
    its start (a pair with stock carried in) or from its first movement, to the last local day
    that has ended by ``limit`` (UTC). The rules are those of :func:`inventory_snapshot`, which
    is this function from the first day with nothing carried.
    """
    starts = starts.select(
        store_id=starts.store_id.cast("int64"),
        product_id=starts.product_id.cast("int64"),
        _start=starts._start,
        _start_key=date_key(starts._start),
    )
    events = events.join(starts, ["store_id", "product_id"])
    events = events.filter(events.local_date_key >= events._start_key)
    daily = events.group_by(["store_id", "product_id", "local_date_key"]).agg(
        quantity_change=events.quantity_change.sum(),
        units_sold=ibis.ifelse(
            events.event_type == "sale", -events.quantity_change, 0
        ).sum(),
    )
    firsts = daily.select(
        store_id=daily.store_id.cast("int64"),
        product_id=daily.product_id.cast("int64"),
        first_key=daily.local_date_key.cast("int64"),
    )
    held = carry.join(starts, ["store_id", "product_id"])
    held = held.select(
        store_id=held.store_id.cast("int64"),
        product_id=held.product_id.cast("int64"),
        first_key=held._start_key.cast("int64"),
    )
    pairs = firsts.union(held, distinct=False)
    pairs = pairs.group_by(["store_id", "product_id"]).agg(
        first_key=pairs.first_key.min()
    )
    days = day_ends.filter(day_ends.day_end_utc <= ibis.literal(limit))
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
    snap = snap.left_join(carry, ["store_id", "product_id"]).drop(
        "store_id_right", "product_id_right"
    )
    on_hand = snap.quantity_change.sum().over(
        ibis.cumulative_window(
            group_by=["store_id", "product_id"], order_by="snapshot_date"
        )
    )
    snap = snap.mutate(
        quantity_on_hand=(snap._carry.fill_null(0) + on_hand).cast("int64")
    )
    snap = resolve_key(snap, product, "product_id", "_last_instant", "product_sk")
    return conform(snap, schema.FACT_INVENTORY_SNAPSHOT)


def step_snapshot(ctx: pipeline.Context) -> None:
    """The daily stock snapshot rolled forward from the stock at the end of the day before.

    The pairs whose movements the window touched are computed again from the day before the
    window's first event day (local days lag UTC ones in America); every pair gets the days that
    have ended since the last load (up to the high-water mark). Earlier rows are re-keyed where
    product versions moved."""
    w = ctx.window
    snap = ctx.table("fact_inventory_snapshot")
    per_store = snap.group_by("store_id").agg(last=snap.snapshot_date.max())
    last = per_store.aggregate(last=per_store["last"].min()).to_pyarrow()
    last = last["last"][0].as_py()
    first_day = FIRST_DAY.date()
    if last is None:  # nothing yet: every pair from the first day
        start, last = first_day, first_day - timedelta(days=1)
    else:
        start = w.first_event_day - timedelta(days=2)
        start = max(min(start, last + timedelta(days=1)), first_day)
    limit = min(
        gen.END.item(),
        datetime.combine(w.high_water + timedelta(days=1), datetime.min.time()),
    )
    day_ends = ctx.stage(
        "store_day_end", store_day_ends(ctx.table("dim_store"), FIRST_DAY, LAST_DAY)
    )
    product = ctx.table("dim_product")
    moved = ctx.table("moved_dim_product", STAGE)
    touched = ctx.table("stock_pairs", STAGE)

    def recomputed(t):
        again = pair_code(t).isin(touched._pair) & (
            t.snapshot_date >= ibis.literal(start)
        )
        return again | (t.snapshot_date > ibis.literal(last))

    def chosen(t):
        return t.product_id.isin(moved.product_id) & ~recomputed(t)

    rows = snap.filter(chosen(snap))
    if rows.count().execute():
        ends = day_ends.select(
            "store_id",
            snapshot_date="calendar_date",
            _last_instant=day_ends.day_end_utc - ibis.interval(microseconds=1),
        )
        fixed = rows.drop("product_sk").join(ends, ["store_id", "snapshot_date"])
        fixed = resolve_key(fixed, product, "product_id", "_last_instant", "product_sk")
        fixed = ctx.stage("rekeyed_snapshot", fixed.select(snap.columns))
        ctx.replace("fact_inventory_snapshot", fixed, chosen)

    # every pair known so far or moving from the start on, and the day it is computed from
    events = ctx.table("fact_inventory_event")
    events = events.filter(events.local_date_key >= _key(start))
    known = snap.select("store_id", "product_id").distinct()
    pairs = known.union(events.select("store_id", "product_id"), distinct=True)
    pairs = pairs.mutate(
        _start=ibis.ifelse(
            pair_code(pairs).isin(touched._pair),
            ibis.literal(start),
            ibis.literal(last + timedelta(days=1)),
        )
    )
    starts = ctx.stage("stock_starts", pairs)
    held = snap.join(starts, ["store_id", "product_id"])
    held = held.filter(held.snapshot_date < held._start)
    rank = ibis.row_number().over(
        group_by=["store_id", "product_id"], order_by=ibis.desc("snapshot_date")
    )
    held = held.mutate(_rank=rank)
    carry = held.filter(held._rank == 0).select(
        "store_id", "product_id", _carry=held.quantity_on_hand
    )
    new = ctx.stage(
        "new_snapshot",
        rolled_snapshot(events, day_ends, product, starts, carry, limit),
    )
    ctx.replace("fact_inventory_snapshot", new, recomputed)
    ctx.state["snapshot"] = (start, last, recomputed)


class _Tables:
    """The warehouse's tables as a load's step sees them, for functions written for a
    connection (``con.table(name)``): the marts of :mod:`.metrics`. ``only`` narrows some
    tables (name -> function of the table), so a mart is computed for the days or the
    customers a load touched."""

    def __init__(self, ctx: pipeline.Context, **only):
        self.ctx = ctx
        self.only = only

    def table(self, name: str, database: str | None = None) -> ir.Table:
        t = self.ctx.table(name, database)
        return self.only[name](t) if name in self.only else t


def step_marts(ctx: pipeline.Context) -> None:
    """The marts of :mod:`.metrics` for what the load touched (the local days of the window,
    the customers with an order, a return or a moved version in it, the stock rows rolled
    forward), and the brief's views."""
    from . import metrics

    w = ctx.window
    # daily sales: local days lag UTC days in America, so the window's lines fall on its
    # local days from the day before its first event day
    lo, hi = w.first_event_day - timedelta(days=1), w.day_to
    ctx.replace(
        "daily_category_sales",
        metrics.daily_sales_by_category(
            _Tables(
                ctx,
                fact_order_line=lambda t: t.filter(
                    t.local_date_key.between(_key(lo), _key(hi))
                ),
            )
        ),
        lambda t: t.order_date.between(ibis.literal(lo), ibis.literal(hi)),
        "mart",
    )
    # stock: the rows the snapshot step rolled forward, each with its 28 days before
    start, last, recomputed = ctx.state["snapshot"]
    touched = ctx.table("stock_pairs", STAGE)

    def inputs(t):
        early = pair_code(t).isin(touched._pair) & (
            t.snapshot_date >= ibis.literal(start - timedelta(days=27))
        )
        return t.filter(
            early | (t.snapshot_date > ibis.literal(last - timedelta(days=27)))
        )

    levels = metrics.inventory_levels(_Tables(ctx, fact_inventory_snapshot=inputs))
    ctx.replace(
        "inventory_daily", levels.filter(recomputed(levels)), recomputed, "mart"
    )
    # customers: every order and return of the customers touched
    returns = ctx.table("returns", STAGE)
    customers = ctx.stage(
        "mart_customers",
        ibis.union(
            *[
                t.select(customer_id=t.customer_id.cast("int64"))
                for t in (ctx.table("touched_customers", STAGE), returns)
            ],
            distinct=True,
        ),
    )

    def theirs(t):
        return t.filter(t.customer_id.isin(customers.customer_id))

    summary = metrics.customer_summary(
        _Tables(
            ctx,
            fact_order=theirs,
            dim_customer=theirs,
            fact_order_return=lambda t: t.filter(
                t.order_id.isin(theirs(ctx.table("fact_order")).order_id)
            ),
        )
    )
    ctx.replace(
        "customer_summary",
        summary,
        lambda t: t.customer_id.isin(customers.customer_id),
        "mart",
    )
    create_views(ctx)


def report(ctx: pipeline.Context, report: BuildReport) -> None:
    """Per source: rows landed = rows loaded + rows quarantined (stop if a row is lost); rows
    per table."""
    raw = {name: ctx.raw(name) for name in KEYS}
    q = ctx.table("quarantine")
    per_source = q.group_by("source").aggregate(n=q.count()).to_pyarrow().to_pylist()
    refused = {r["source"]: int(r["n"]) for r in per_source}

    def real(name: str, key: str) -> ir.Table:  # the rows that came from the source
        t = ctx.table(name)
        return t.filter((t[key] >= 0) & ~t.is_inferred)

    loaded = {
        # the change records the dimensions are built from (the stage is gone by now)
        **{name: stage_changes(raw[name], key)[0] for name, key in EXTRACTS.items()},
        "product_category": real("dim_product_category", "product_category_id"),
        "store": real("dim_store", "store_id"),
        "campaign": real("dim_campaign", "campaign_id"),
        "campaign_audience": ctx.table("fact_campaign_audience"),
        "order_line_feed": ctx.table("fact_order_line"),
        "order_return_feed": ctx.table("fact_order_return"),
        "inventory_event_feed": ctx.table("fact_inventory_event"),
    }
    counts = pipeline.count_rows(
        {
            **{f"in {name}": t for name, t in raw.items()},
            **{f"loaded {name}": t for name, t in loaded.items()},
            **{d.qualified_name: ctx.table(d.name, d.database) for d in schema.TABLES},
        }
    )
    for name in sorted(KEYS):
        rows_in, done, bad = (
            counts[f"in {name}"],
            counts[f"loaded {name}"],
            refused.get(name, 0),
        )
        report.add_source(name, rows_in, done, bad)
        if done + bad != rows_in:  # nothing may be dropped (or invented) silently
            raise RuntimeError(
                f"{name}: {rows_in} rows in, {done} loaded + {bad} quarantined"
            )
    report.tables.clear()
    for decl in schema.TABLES:
        report.tables[decl.qualified_name] = counts[decl.qualified_name]


PIPELINE = pipeline.Pipeline(
    practice="ecommerce",
    keys=KEYS,
    steps=[
        pipeline.Step(
            "stage", step_stage, "staging: duplicates and late records to quarantine"
        ),
        pipeline.Step(
            "dimensions",
            step_dimensions,
            "dimensions: store, category, campaign, product and customer (type 2)",
        ),
        pipeline.Step(
            "facts", step_facts, "facts: order lines, orders, returns, audiences, stock"
        ),
        pipeline.Step(
            "snapshot", step_snapshot, "inventory: the daily snapshot rolled forward"
        ),
        pipeline.Step("marts", step_marts, "marts and the brief's views"),
    ],
    init=init,
    report=report,
)


def write_landing(
    root, scale=None, seed=None, workers: int | None = None, progress=None
) -> dict:
    """Generate the raw data and write it as the landing zone at ``root``; return its manifest."""
    start = BuildReport.start("ecommerce", scale, seed)
    tables = gen.generate_landing(start.scale_rows, start.seed)
    manifest = {
        "practice": "ecommerce",
        "scale_rows": start.scale_rows,
        "seed": start.seed,
    }
    return landing.write_landing_zone(
        root, tables, KEYS, workers=workers, manifest=manifest
    )


def build(
    con,
    scale=None,
    seed=None,
    progress=None,
    *,
    landing_root=None,
    lookback_days: int = pipeline.DEFAULT_LOOKBACK_DAYS,
) -> BuildReport:
    """Generate the raw data for ``scale`` and ``seed`` and load every day of it into ``con``.

    With ``landing_root`` the raw data is written there first, as the landing zone (Parquet by
    source and day), and read back day by day as a nightly load would. Without it the same rows
    stay in memory (the fast path of the book's small warehouse): the load is the same.
    """
    report, raw = pipeline.raw_for_build(
        "ecommerce",
        scale,
        seed,
        gen.generate_landing,
        write_landing,
        landing_root=landing_root,
        progress=progress,
        what="order lines",
    )
    say = progress or (lambda message: None)
    pipeline.build(
        con,
        PIPELINE,
        raw,
        lookback_days=lookback_days,
        progress=progress,
        report=report,
    )
    say("done")
    return report


def load(
    con, day_from, day_to=None, *, landing_root, lookback_days=None, progress=None
) -> BuildReport:
    """Load the days ``day_from``..``day_to`` of the landing zone at ``landing_root``."""
    return pipeline.load_landing(
        con,
        PIPELINE,
        day_from,
        day_to,
        landing_root=landing_root,
        lookback_days=lookback_days,
        progress=progress,
    )
