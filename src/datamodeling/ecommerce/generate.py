"""Synthetic source data for the e-commerce practice, as the source systems hand it over.

The shop opens on 1 January 2024; the data runs to the end of 31 December 2025 (UTC). Everything is
vectorised numpy, seeded per stream with :func:`datamodeling.synth.rng`, so the same seed gives
identical tables.

Raw tables (the ``raw`` schema):

* ``customer_extract`` - a daily delta extract of the account system: one row per change, the
  full image of the customer after it, ``updated_at`` (source time) and ``extract_date``.
* ``product_extract`` - the same for the catalogue (price, category, title changes).
* ``product_category`` - the category tree (top level -> leaves), ``store``, ``campaign``.
* ``order_line_feed`` - order lines from the checkout, in daily load batches (``loaded_at``); the
  order's shipping charge is repeated on every line (``order_shipping_amt``).
* ``order_return_feed`` - returned lines.
* ``inventory_event_feed`` - receipts, sales, returns, transfers and adjustments per store.

Planted truths (``PLANTED``), which the metrics must recover:

* customers belong to hidden segments with daily order rates ``segment_rates`` (shares
  ``segment_shares``); :func:`customer_truth` gives each customer's segment;
* each campaign multiplies the order rate (repeat orders and sign-ups) by ``campaign_lift`` during
  its 14-day window; lift is measured against the 28 days before and the 28 days after;
* ``click_share_baseline`` of the orders that would have happened anyway carry the campaign_id;
* repeat orders come in bursty sessions of ``1 + Poisson(orders_per_session - 1)`` orders a few
  minutes apart (:func:`datamodeling.synth.bursty_sessions`), so order counts are over-dispersed
  by ``E[K^2] / E[K]`` relative to a Poisson count (the tests' tolerances use it).

Planted dirt (``DIRT``), which the build must handle:

* ``duplicate_line_share`` of lines are loaded twice by a retried batch (same line_item_id);
* ``late_line_share`` of lines arrive 2-10 days late;
* a few lines reference an unknown product (a point-of-sale test item) or have a count <= 0;
* ``late_change_share`` of customer change records arrive in a later extract than newer changes
  (out of order); ``resent_share`` of extract rows are sent twice; some rows lack the key;
* ``late_registration_share`` of customers appear in the extract only days after their first order,
  and ``never_extracted_share`` never appear at all (inferred members);
* a few inventory events come from an unknown store (99).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from datamodeling import synth

START = np.datetime64("2024-01-01T00:00:00", "us")
END = np.datetime64("2026-01-01T00:00:00", "us")  # exclusive
DAYS = int((END - START) / np.timedelta64(1, "D"))  # 731
DAY_US = 86_400_000_000

LAUNCH_SHARE = 0.2  # customers who sign up in the opening week
LINES_PER_ORDER_EXTRA = 1.2  # lines per order = 1 + Poisson(1.2)
CAMPAIGN_DAYS = 14
CAMPAIGN_FIRST_DAY = 42
CAMPAIGN_SPACING = 63
BASELINE_DAYS = 28
TAX_RATE = 0.08
FREE_SHIPPING_FROM = 75.0
SHIPPING_FEE = 5.99
CAMPAIGN_DISCOUNT = 0.10

PLANTED = {
    "segment_names": ["loyal", "regular", "occasional"],
    "segment_shares": [0.10, 0.30, 0.60],
    "segment_rates": [1.5 / 30, 0.5 / 30, 0.15 / 30],  # orders per customer per day
    "campaign_lift": [1.30, 1.15, 1.50, 1.00, 1.25, 1.40, 1.10, 1.60, 1.20, 1.35, 1.05],
    "campaign_days": CAMPAIGN_DAYS,
    "baseline_days": BASELINE_DAYS,
    "click_share_baseline": 0.10,
    "orders_per_session": 1.15,  # repeat orders come in sessions of 1 + Poisson(0.15) orders
    "click_share_signup": 0.30,
    "return_share": 0.04,
    "tax_rate": TAX_RATE,
}

DIRT = {
    "duplicate_line_share": 0.01,
    "late_line_share": 0.02,
    "unknown_product_share": 0.001,
    "bad_count_share": 0.0005,
    "late_change_share": 0.05,
    "resent_share": 0.01,
    "missing_key_rows": 3,
    "late_registration_share": 0.02,
    "never_extracted_share": 0.005,
    "unknown_store_events": 5,
}

CATEGORY_TREE = {
    "Electronics": ["Phones", "Laptops", "Audio", "Accessories"],
    "Home & Kitchen": ["Cookware", "Furniture", "Decor"],
    "Fashion": ["Women's Clothing", "Men's Clothing", "Shoes"],
    "Sports & Outdoors": ["Fitness", "Camping", "Cycling"],
    "Beauty": ["Skincare", "Makeup", "Fragrance"],
    "Books & Media": ["Books", "Games", "Music"],
}
# median price of a top-level category
CATEGORY_PRICE = [180.0, 45.0, 40.0, 55.0, 22.0, 15.0]

STORES = [
    (1, "Web shop", "online", "Columbus", "OH", "US", 0.60),
    (2, "Boston Downtown", "physical", "Boston", "MA", "US", 0.12),
    (3, "Chicago Loop", "physical", "Chicago", "IL", "US", 0.10),
    (4, "Denver Union", "physical", "Denver", "CO", "US", 0.07),
    (5, "Austin South", "physical", "Austin", "TX", "US", 0.06),
    (6, "Seattle Center", "physical", "Seattle", "WA", "US", 0.05),
]
CHANNELS = ["email", "paid_social", "search", "affiliate"]

CITIES = [
    ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"),
    ("Phoenix", "AZ"), ("Philadelphia", "PA"), ("San Antonio", "TX"), ("San Diego", "CA"),
    ("Dallas", "TX"), ("Austin", "TX"), ("Seattle", "WA"), ("Denver", "CO"), ("Boston", "MA"),
    ("Miami", "FL"), ("Atlanta", "GA"), ("Portland", "OR"), ("Columbus", "OH"),
    ("Nashville", "TN"), ("Detroit", "MI"), ("Minneapolis", "MN"),
]  # fmt: skip
FIRST_NAMES = np.array(
    "Ava Liam Emma Noah Olivia James Sophia Lucas Mia Ethan Amelia Mason Harper Logan Ella "
    "Aiden Chloe Jacob Grace Henry Zoe Daniel Nora Samuel Lily Owen Aria Leo Maya Julian".split()
)
LAST_NAMES = np.array(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Clark Lewis Robinson Walker Young".split()
)
BRANDS = np.array(
    "Acme Northwind Contoso Fabrikam Globex Initech Umbrella Stark Wayne Tyrell Hooli Vandelay "
    "Soylent Cyberdyne Wonka Gringotts".split()
)
NOUNS = np.array(
    "Essential Pro Classic Lite Max Studio Travel Everyday Premium Compact Ultra Smart".split()
)


# ----------------------------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------------------------
def _expected_orders_per_customer() -> float:
    shares, rates = np.array(PLANTED["segment_shares"]), np.array(PLANTED["segment_rates"])
    mean_exposure = LAUNCH_SHARE * DAYS + (1 - LAUNCH_SHARE) * DAYS / 2
    lift = 1 + np.sum(np.array(PLANTED["campaign_lift"]) - 1) * CAMPAIGN_DAYS / DAYS
    return 1 + float(np.sum(shares * rates)) * mean_exposure * lift


def sizes(rows: int) -> dict[str, int]:
    """How many customers, products... give about ``rows`` order lines."""
    lines_per_customer = (1 + LINES_PER_ORDER_EXTRA) * _expected_orders_per_customer()
    return {
        "customers": max(30, round(rows / lines_per_customer)),
        "products": int(np.clip(rows // 200, 60, 1000)),
        "campaigns": len(PLANTED["campaign_lift"]),
        "stores": len(STORES),
    }


def campaign_windows() -> list[tuple[int, int]]:
    """(first day, end day exclusive) of each campaign, as day numbers from START."""
    return [
        (
            CAMPAIGN_FIRST_DAY + k * CAMPAIGN_SPACING,
            CAMPAIGN_FIRST_DAY + k * CAMPAIGN_SPACING + CAMPAIGN_DAYS,
        )
        for k in range(len(PLANTED["campaign_lift"]))
    ]


def _day_time(gen, days: np.ndarray) -> np.ndarray:
    """Timestamps on the given day numbers, at a time of day with a diurnal cycle."""
    offsets = synth.diurnal_offsets(gen, len(days)).astype(np.int64) * 1_000_000
    offsets += gen.integers(0, 1_000_000, len(days))
    return START + (days.astype(np.int64) * DAY_US + offsets).astype("timedelta64[us]")


def _date(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[D]")


# ----------------------------------------------------------------------------------------------
# customers
# ----------------------------------------------------------------------------------------------
def _signup_weights() -> np.ndarray:
    w = np.full(DAYS, (1 - LAUNCH_SHARE) / DAYS)
    w[:7] += LAUNCH_SHARE / 7
    for (a, b), lift in zip(campaign_windows(), PLANTED["campaign_lift"], strict=True):
        w[a:b] *= lift
    return w / w.sum()


def customer_truth(rows: int, seed: int) -> dict[str, np.ndarray]:
    """The hidden truth of each customer: segment, order rate, sign-up time (ids 1..n)."""
    n = sizes(rows)["customers"]
    gen = synth.rng(seed, "customers")
    segment = gen.choice(3, size=n, p=PLANTED["segment_shares"])
    rate = np.asarray(PLANTED["segment_rates"])[segment]
    signup_day = gen.choice(DAYS, size=n, p=_signup_weights())
    signup = _day_time(gen, signup_day)
    order = np.argsort(signup, kind="stable")  # customer ids follow sign-up order
    return {
        "customer_id": np.arange(1, n + 1, dtype=np.int64),
        "segment": np.asarray(PLANTED["segment_names"])[segment[order]],
        "rate": rate[order],
        "signup_day": signup_day[order],
        "signup": signup[order],
    }


def _customer_extract(truth, seed: int):
    n = len(truth["customer_id"])
    gen = synth.rng(seed, "customer_changes")
    ids = truth["customer_id"]
    first = FIRST_NAMES[gen.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[gen.integers(0, len(LAST_NAMES), n)]
    age = gen.integers(18, 80, n)
    exposure_days = DAYS - truth["signup_day"]
    # changes: moves (0.35 a year), email changes (0.25 a year), no-op touches (0.2 a year)
    n_moves = gen.poisson(0.35 * exposure_days / 365)
    n_email = gen.poisson(0.25 * exposure_days / 365)
    n_touch = gen.poisson(0.20 * exposure_days / 365)
    kinds = [np.zeros(n, dtype=np.int8)]  # the sign-up record itself
    owner = [np.arange(n)]
    for k, counts in ((1, n_moves), (2, n_email), (3, n_touch)):
        owner.append(np.repeat(np.arange(n), counts))
        kinds.append(np.full(counts.sum(), k, dtype=np.int8))
    owner, kind = np.concatenate(owner), np.concatenate(kinds)
    signup_us = truth["signup"].astype(np.int64)
    end_us = END.astype(np.int64)
    t = signup_us[owner] + (gen.random(len(owner)) * (end_us - signup_us[owner])).astype(np.int64)
    registered = signup_us.copy()
    late_reg = gen.random(n) < DIRT["late_registration_share"]
    registered[late_reg] += gen.integers(1, 4, late_reg.sum()) * DAY_US
    t = np.where(kind == 0, registered[owner], t)
    order = np.lexsort((t, owner))
    owner, kind, t = owner[order], kind[order], t[order]
    # the state after each record: count moves and email changes so far
    is_move, is_mail = (kind == 1).astype(np.int64), (kind == 2).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    cum_move = np.cumsum(is_move) - np.repeat(
        np.cumsum(is_move)[starts] - is_move[starts], np.diff(np.r_[starts, len(owner)])
    )
    cum_mail = np.cumsum(is_mail) - np.repeat(
        np.cumsum(is_mail)[starts] - is_mail[starts], np.diff(np.r_[starts, len(owner)])
    )
    home = gen.integers(0, len(CITIES), n)
    city_idx = (home[owner] + cum_move * 7) % len(CITIES)
    city = np.array([c for c, _ in CITIES])[city_idx]
    state = np.array([s for _, s in CITIES])[city_idx]
    domains = np.array(["example.com", "mail.example.org", "inbox.example.net", "post.example.io"])
    first_o, last_o = first[owner], last[owner]
    local = np.char.lower(np.char.add(np.char.add(first_o, "."), last_o))
    email = np.char.add(
        np.char.add(np.char.add(local, ids[owner].astype(str)), "@"),
        domains[cum_mail % len(domains)],
    )
    phone = np.char.add("+1-555-", (1_000_000 + ids * 7919 % 9_000_000).astype(str))[owner]
    ts = t.astype("datetime64[us]")
    extract_date = _date(ts) + np.timedelta64(1, "D")
    late = (kind != 0) & (gen.random(len(owner)) < DIRT["late_change_share"])
    extract_date[late] += gen.integers(3, 11, late.sum()).astype("timedelta64[D]")
    keep = ~np.isin(owner, np.flatnonzero(gen.random(n) < DIRT["never_extracted_share"]))
    keep &= extract_date < _date(END) + np.timedelta64(1, "D")
    cols = {
        "customer_id": ids[owner],
        "first_name": first_o,
        "last_name": last_o,
        "email": email,
        "phone": phone,
        "city": city,
        "state": state,
        "country": np.full(len(owner), "US"),
        "customer_age": age[owner],
        "updated_at": ts,
        "extract_date": extract_date,
    }
    cols = {k: v[keep] for k, v in cols.items()}
    cols = _resend(gen, cols, "extract_date", DIRT["resent_share"])
    table = pa.table(cols)
    # a few rows without a key: quarantined by the build
    bad = table.slice(0, DIRT["missing_key_rows"]).to_pydict()
    bad["customer_id"] = [None] * len(bad["customer_id"])
    table = pa.concat_tables([table, pa.table(bad, schema=table.schema)])
    return table.sort_by([("extract_date", "ascending"), ("customer_id", "ascending")])


def _resend(gen, cols: dict, date_col: str, share: float) -> dict:
    """Send ``share`` of the rows a second time in a later extract (a re-run of the job)."""
    n = len(next(iter(cols.values())))
    again = np.flatnonzero(gen.random(n) < share)
    out = {k: np.concatenate([v, v[again]]) for k, v in cols.items()}
    out[date_col][n:] += gen.integers(1, 6, len(again)).astype("timedelta64[D]")
    return out


# ----------------------------------------------------------------------------------------------
# catalogue
# ----------------------------------------------------------------------------------------------
def _categories():
    ids, names, parents, leaf_ids, leaf_top = [], [], [], [], []
    for i, (top, leaves) in enumerate(CATEGORY_TREE.items(), start=1):
        ids.append(i), names.append(top), parents.append(None)
        for j, leaf in enumerate(leaves, start=1):
            ids.append(i * 100 + j), names.append(leaf), parents.append(i)
            leaf_ids.append(i * 100 + j), leaf_top.append(i - 1)
    table = pa.table(
        {
            "product_category_id": pa.array(ids, pa.int64()),
            "category_name": names,
            "parent_category_id": pa.array(parents, pa.int64()),
        }
    )
    return table, np.array(leaf_ids), np.array(leaf_top)


def _product_versions(n: int, seed: int, leaf_ids, leaf_top):
    """Every version of every product: (product index, valid_from us, category, price, title)."""
    gen = synth.rng(seed, "products")
    leaf = gen.integers(0, len(leaf_ids), n)
    base_price = np.asarray(CATEGORY_PRICE)[leaf_top[leaf]] * gen.lognormal(0, 0.6, n)
    brand = BRANDS[gen.integers(0, len(BRANDS), n)]
    noun = NOUNS[gen.integers(0, len(NOUNS), n)]
    created = (START - np.timedelta64(365, "D")).astype(np.int64) + gen.integers(0, 360 * DAY_US, n)
    n_price = gen.poisson(2.0, n)
    n_recat = (gen.random(n) < 0.08).astype(np.int64)
    n_title = (gen.random(n) < 0.05).astype(np.int64)
    owner = np.concatenate(
        [np.arange(n)] + [np.repeat(np.arange(n), c) for c in (n_price, n_recat, n_title)]
    )
    kind = np.concatenate(
        [np.zeros(n, np.int8)]
        + [np.full(c.sum(), k, np.int8) for k, c in ((1, n_price), (2, n_recat), (3, n_title))]
    )
    start_us, end_us = START.astype(np.int64), END.astype(np.int64)
    t = start_us + gen.integers(0, end_us - start_us, len(owner))
    t = np.where(kind == 0, created[owner], t)
    order = np.lexsort((t, owner))
    owner, kind, t = owner[order], kind[order], t[order]
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    lengths = np.diff(np.r_[starts, len(owner)])

    def running(flags):  # count of flags up to and including each row, within a product
        c = np.cumsum(flags)
        return c - np.repeat(c[starts] - flags[starts], lengths)

    factor = np.where(kind == 1, gen.uniform(0.85, 1.15, len(owner)), 1.0)
    log_f = np.cumsum(np.log(factor))
    log_f -= np.repeat(log_f[starts] - np.log(factor[starts]), lengths)
    price = np.round(base_price[owner] * np.exp(log_f), 0) - 0.01
    price = np.maximum(price, 1.99)
    recat = running((kind == 2).astype(np.int64))
    shift = gen.integers(1, len(leaf_ids), n)  # recategorised products move to another leaf
    leaf_now = (leaf[owner] + recat * shift[owner]) % len(leaf_ids)
    retitled = running((kind == 3).astype(np.int64))
    title = np.char.add(np.char.add(np.char.add(brand[owner], " "), noun[owner]), " ")
    title = np.char.add(
        title, np.char.add(np.where(retitled > 0, "II-", ""), (owner + 1).astype(str))
    )
    return {
        "owner": owner,
        "t": t,
        "category": leaf_ids[leaf_now],
        "price": price,
        "title": title,
        "brand": brand[owner],
        "created": created[owner],
    }


# ----------------------------------------------------------------------------------------------
# orders
# ----------------------------------------------------------------------------------------------
def _orders(truth, seed: int):
    """Order headers: customer, time (us), campaign (0 = none), store."""
    gen = synth.rng(seed, "orders")
    n = len(truth["customer_id"])
    rate, sday = truth["rate"], truth["signup_day"]
    exposure = DAYS - 1 - sday
    # sign-up order
    cust = [np.arange(n)]
    times = [truth["signup"].astype(np.int64)]
    camp = [np.zeros(n, np.int64)]
    # repeat orders: shopping sessions spread evenly over the days after sign-up; a session
    # holds 1 + Poisson(m - 1) orders minutes apart (the "forgot something" second checkout)
    per_session = PLANTED["orders_per_session"]
    k = gen.poisson(rate * np.maximum(exposure, 0) / per_session)
    c = np.repeat(np.arange(n), k)
    days = sday[c] + 1 + (gen.random(len(c)) * exposure[c]).astype(np.int64)
    session, t = synth.bursty_sessions(gen, _day_time(gen, days), per_session, 600.0)
    c = c[session]
    inside = t < END
    cust.append(c[inside])
    times.append(t[inside].astype(np.int64))
    camp.append(np.zeros(int(inside.sum()), np.int64))
    windows = campaign_windows()
    for cid, ((a, b), lift) in enumerate(
        zip(windows, PLANTED["campaign_lift"], strict=True), start=1
    ):
        lo = np.maximum(a, sday + 1)
        overlap = np.clip(b - lo, 0, None)
        k = gen.poisson((lift - 1) * rate * overlap)
        c = np.repeat(np.arange(n), k)
        days = lo[c] + (gen.random(len(c)) * overlap[c]).astype(np.int64)
        (
            cust.append(c),
            times.append(_day_time(gen, days).astype(np.int64)),
            camp.append(np.full(len(c), cid)),
        )
    cust, t, camp = np.concatenate(cust), np.concatenate(times), np.concatenate(camp)
    is_first = np.zeros(len(cust), bool)
    is_first[:n] = True
    # orders that would have happened anyway: a share clicked the campaign link too
    day = (t - START.astype(np.int64)) // DAY_US
    for cid, (a, b) in enumerate(windows, start=1):
        inside = (camp == 0) & (day >= a) & (day < b)
        share = np.where(is_first, PLANTED["click_share_signup"], PLANTED["click_share_baseline"])
        camp[inside & (gen.random(len(camp)) < share)] = cid
    store_w = np.array([s[-1] for s in STORES])
    store = np.asarray([s[0] for s in STORES])[
        gen.choice(len(STORES), len(cust), p=store_w / store_w.sum())
    ]
    order = np.lexsort((cust, t))
    return {
        "customer_id": truth["customer_id"][cust[order]],
        "t": t[order],
        "campaign_id": camp[order],
        "store_id": store[order],
    }


def _lines(orders, versions, n_products: int, seed: int):
    gen = synth.rng(seed, "lines")
    n_orders = len(orders["t"])
    n_lines = 1 + gen.poisson(LINES_PER_ORDER_EXTRA, n_orders)
    o = np.repeat(np.arange(n_orders), n_lines)
    line_number = np.arange(len(o)) - np.repeat(np.r_[0, np.cumsum(n_lines)[:-1]], n_lines) + 1
    popularity = synth.zipf_weights(n_products, 0.9)
    popularity = popularity[gen.permutation(n_products)]
    product = gen.choice(n_products, size=len(o), p=popularity)
    # a cart holds a product once (with a count): redraw a product already on an earlier line
    for _ in range(4):
        dup = np.zeros(len(o), bool)
        for k in range(1, 6):
            dup[k:] |= (o[k:] == o[:-k]) & (product[k:] == product[:-k])
        if not dup.any():
            break
        product[dup] = gen.choice(n_products, size=int(dup.sum()), p=popularity)
    count = 1 + gen.poisson(0.3, len(o))
    t = orders["t"][o]
    # the product version valid at order time
    span = np.int64(10**14)
    vkey = versions["owner"].astype(np.int64) * span + (
        versions["t"] - START.astype(np.int64) + 4 * 10**13
    )
    lkey = product.astype(np.int64) * span + (t - START.astype(np.int64) + 4 * 10**13)
    v = np.searchsorted(vkey, lkey, side="right") - 1
    price = versions["price"][v]
    category = versions["category"][v]
    amt = np.round(count * price, 2)
    campaign = orders["campaign_id"][o]
    pct = np.where(gen.random(len(o)) < 0.15, gen.uniform(0.05, 0.20, len(o)), 0.0)
    pct = np.where(campaign > 0, CAMPAIGN_DISCOUNT, pct)
    discount = np.round(amt * pct, 2)
    net = amt - discount
    tax = np.round(net * TAX_RATE, 2)
    order_net = np.bincount(o, weights=net, minlength=n_orders)
    web = orders["store_id"] == 1
    shipping = np.where(web & (order_net < FREE_SHIPPING_FROM), SHIPPING_FEE, 0.0)
    return {
        "order_index": o,
        "order_id": o.astype(np.int64) + 100_001,
        "order_time": t.astype("datetime64[us]"),
        "customer_id": orders["customer_id"][o],
        "campaign_id": campaign,
        "store_id": orders["store_id"][o],
        "product_id": product.astype(np.int64) + 1,
        "product_category_id": category,
        "count": count.astype(np.int64),
        "amt": amt,
        "discount": discount,
        "unit_price_at_purchase": price,
        "tax_amt": tax,
        "order_shipping_amt": shipping[o],
        "line_number": line_number.astype(np.int64),
    }


def _line_feed(lines, n_products: int, seed: int) -> pa.Table:
    gen = synth.rng(seed, "line_feed")
    n = len(lines["order_id"])
    cols = {k: v for k, v in lines.items() if k != "order_index"}
    cols["line_item_id"] = np.arange(1, n + 1, dtype=np.int64) + 5_000_000
    t = lines["order_time"]
    loaded = (_date(t) + np.timedelta64(1, "D")).astype("datetime64[us]") + np.timedelta64(2, "h")
    late = gen.random(n) < DIRT["late_line_share"]
    loaded[late] += gen.integers(2, 11, late.sum()).astype("timedelta64[D]")
    cols["loaded_at"] = loaded
    cols["batch_id"] = _date(loaded).astype(np.int64)
    # bad rows: an unknown product, a count <= 0 (single-line orders of their own); then
    # duplicates: a retried batch loads some rows again, a few hours later. One gather builds both.
    n_bad_p = max(1, int(n * DIRT["unknown_product_share"]))
    n_bad_c = max(1, int(n * DIRT["bad_count_share"]))
    src = gen.integers(0, n, n_bad_p + n_bad_c)
    m = n + len(src)
    again = np.flatnonzero(gen.random(m) < DIRT["duplicate_line_share"])
    base = np.concatenate([np.arange(n), src])
    cols = {k: v[np.concatenate([base, base[again]])] for k, v in cols.items()}
    bad = slice(n, m)
    cols["product_id"][n : n + n_bad_p] = 90_000 + n_products
    cols["count"][n + n_bad_p : m] = gen.integers(-1, 1, n_bad_c)
    cols["line_item_id"][bad] = np.arange(1, len(src) + 1, dtype=np.int64) + 9_000_000
    cols["order_id"][bad] = np.arange(1, len(src) + 1, dtype=np.int64) + 8_000_000
    cols["line_number"][bad] = 1
    for v in cols.values():  # copies of bad rows carry the bad values
        v[m:] = v[again]
    cols["loaded_at"][m:] += np.timedelta64(3, "h")
    cols["batch_id"][m:] += 1_000_000
    campaign = cols["campaign_id"]
    order = ["line_item_id", "order_id", "order_time", "customer_id", "campaign_id", "store_id",
             "product_id", "product_category_id", "count", "amt", "discount",
             "unit_price_at_purchase", "tax_amt", "order_shipping_amt", "line_number",
             "batch_id", "loaded_at"]  # fmt: skip
    rows = np.lexsort((cols["line_item_id"], cols["loaded_at"]))  # in load order
    cols = {k: v[rows] for k, v in cols.items()}
    campaign = campaign[rows]
    cols["campaign_id"] = pa.array(campaign, mask=campaign == 0)
    return pa.table({k: cols[k] for k in order})


def _returns(lines, seed: int):
    gen = synth.rng(seed, "returns")
    n = len(lines["order_id"])
    returned = np.flatnonzero(gen.random(n) < PLANTED["return_share"])
    when = lines["order_time"][returned] + gen.integers(
        3 * DAY_US, 30 * DAY_US, len(returned)
    ).astype("timedelta64[us]")
    keep = when < END
    returned, when = returned[keep], when[keep]
    qty = lines["count"][returned]
    refund = np.round(
        lines["amt"][returned] - lines["discount"][returned] + lines["tax_amt"][returned], 2
    )
    return {
        "return_id": np.arange(1, len(returned) + 1, dtype=np.int64) + 700_000,
        "line_item_id": returned.astype(np.int64) + 5_000_001,
        "order_id": lines["order_id"][returned],
        "return_time": when,
        "store_id": lines["store_id"][returned],
        "product_id": lines["product_id"][returned],
        "quantity": qty,
        "refund_amt": refund,
    }


# ----------------------------------------------------------------------------------------------
# inventory
# ----------------------------------------------------------------------------------------------
def _inventory(lines, returns, n_products: int, seed: int) -> pa.Table:
    """Stock movements per store and product: a reorder-point policy replayed day by day.

    The loop runs over days; each step is vectorised over every (store, product) pair. Sales
    the shelf cannot cover are covered by a same-day transfer from another store, which leaves
    the shelf at zero: a stock-out day.
    """
    gen = synth.rng(seed, "inventory")
    n_stores = len(STORES)
    pairs = n_stores * n_products
    pair_of = lambda store, product: (store - 1) * n_products + (product - 1)  # noqa: E731
    sale_pair = pair_of(lines["store_id"], lines["product_id"])
    sale_day = ((lines["order_time"] - START) // np.timedelta64(1, "D")).astype(np.int64)
    sales = np.bincount(sale_pair * DAYS + sale_day, weights=lines["count"], minlength=pairs * DAYS)
    sales = sales.reshape(pairs, DAYS).astype(np.int64)
    sales_by_day = np.ascontiguousarray(sales.T)
    ret_pair = pair_of(returns["store_id"], returns["product_id"])
    ret_day = ((returns["return_time"] - START) // np.timedelta64(1, "D")).astype(np.int64)
    back = np.bincount(
        ret_pair * DAYS + ret_day, weights=returns["quantity"], minlength=pairs * DAYS
    )
    back = back.reshape(pairs, DAYS).astype(np.int64)
    back_by_day = np.ascontiguousarray(back.T)

    daily = np.maximum(sales.sum(axis=1) / DAYS, 0.05)
    lead = gen.integers(3, 8, pairs)
    safety = gen.uniform(0.0, 8.0, pairs)
    reorder_point = np.ceil(daily * (lead + safety)).astype(np.int64)
    quantity = np.maximum(3, np.ceil(daily * 21)).astype(np.int64)
    on_hand = quantity.copy()  # opening stock, received on day 0
    pending_qty = np.zeros(pairs, np.int64)
    pending_day = np.full(pairs, -1)
    receipt_day, receipt_pair, receipt_qty = (
        [np.zeros(pairs, np.int64)],
        [np.arange(pairs)],
        [quantity.copy()],
    )
    transfers, shrinks = [], []  # (pair, day, quantity)
    shrink_draw = gen.random((DAYS, pairs)) < 0.002
    for d in range(DAYS):
        arriving = pending_day == d
        on_hand += np.where(arriving, pending_qty, 0)
        pending_qty[arriving] = 0
        pending_day[arriving] = -1
        on_hand += back_by_day[d] - sales_by_day[d]
        short = np.flatnonzero(on_hand < 0)
        if len(short):
            transfers.append((short, np.full(len(short), d), -on_hand[short]))
            on_hand[short] = 0
        lose = np.flatnonzero(shrink_draw[d] & (on_hand > 0))
        if len(lose):
            shrinks.append((lose, np.full(len(lose), d), np.full(len(lose), -1)))
            on_hand[lose] -= 1
        order_now = (pending_day < 0) & (on_hand <= reorder_point)
        arrive = d + lead
        order_now &= arrive < DAYS
        idx = np.flatnonzero(order_now)
        pending_qty[idx] = quantity[idx]
        pending_day[idx] = arrive[idx]
        receipt_day.append(arrive[idx]), receipt_pair.append(idx), receipt_qty.append(quantity[idx])
    r_day, r_pair, r_qty = map(np.concatenate, (receipt_day, receipt_pair, receipt_qty))

    def at(days, hour_lo, hour_hi):
        sec = gen.integers(hour_lo * 3600, hour_hi * 3600, len(days))
        return START + (days.astype(np.int64) * DAY_US + sec * 1_000_000).astype("timedelta64[us]")

    def stack(parts):
        if not parts:
            return (np.zeros(0, np.int64),) * 3
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

    t_pair, t_day, t_qty = stack(transfers)
    s_pair, s_day, s_qty = stack(shrinks)
    parts = [
        ("receipt", at(r_day, 6, 8), r_pair, r_qty, np.zeros(len(r_day), np.int64)),
        ("sale", lines["order_time"], sale_pair, -lines["count"], lines["order_id"]),
        ("return", returns["return_time"], ret_pair, returns["quantity"], returns["order_id"]),
        (
            "transfer_in",
            at(t_day, 22, 23),
            t_pair,
            t_qty,
            np.zeros(len(t_day), np.int64),
        ),
        (
            "adjustment",
            at(s_day, 20, 22),
            s_pair,
            s_qty,
            np.zeros(len(s_day), np.int64),
        ),
    ]
    type_names = [p[0] for p in parts]
    etype = np.concatenate([np.full(len(p[1]), i, np.int8) for i, p in enumerate(parts)])
    etime = np.concatenate([p[1] for p in parts])
    epair = np.concatenate([p[2] for p in parts])
    eqty = np.concatenate([p[3] for p in parts]).astype(np.int64)
    eref = np.concatenate([p[4] for p in parts]).astype(np.int64)
    store = epair // n_products + 1
    product = epair % n_products + 1
    # dirt: a few events from a store that does not exist
    k = DIRT["unknown_store_events"]
    pick = gen.integers(0, len(etype), k)
    etype, etime, product, eqty, eref = (
        np.concatenate([a, a[pick]]) for a in (etype, etime, product, eqty, eref)
    )
    store = np.concatenate([store, np.full(k, 99)])
    order = np.lexsort((product, store, etime))
    etype, etime, store, product, eqty, eref = (
        a[order] for a in (etype, etime, store, product, eqty, eref)
    )
    return pa.table(
        {
            "inventory_event_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "event_type": pa.DictionaryArray.from_arrays(etype, type_names).cast(pa.string()),
            "event_time": etime,
            "store_id": store.astype(np.int64),
            "product_id": product.astype(np.int64),
            "quantity_change": eqty,
            "reference_order_id": pa.array(eref, mask=eref == 0),
        }
    )


# ----------------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------------
def generate(rows: int, seed: int) -> dict[str, pa.Table]:
    """The raw tables for about ``rows`` order lines."""
    size = sizes(rows)
    n_products = size["products"]
    categories, leaf_ids, leaf_top = _categories()
    versions = _product_versions(n_products, seed, leaf_ids, leaf_top)
    truth = customer_truth(rows, seed)
    orders = _orders(truth, seed)
    lines = _lines(orders, versions, n_products, seed)
    returns = _returns(lines, seed)

    gen = synth.rng(seed, "product_feed")
    pv = versions
    vt = pv["t"].astype("datetime64[us]")
    product_cols = {
        "product_id": pv["owner"].astype(np.int64) + 1,
        "product_title": pv["title"],
        "product_brand": pv["brand"],
        "product_category_id": pv["category"].astype(np.int64),
        "unit_price": pv["price"],
        "sku": np.char.add("SKU-", (pv["owner"] + 10_001).astype(str)),
        "created_at": pv["created"].astype("datetime64[us]"),
        "updated_at": vt,
        "extract_date": np.maximum(_date(vt), _date(START) - np.timedelta64(1, "D"))
        + np.timedelta64(1, "D"),
    }
    product_cols = _resend(gen, product_cols, "extract_date", DIRT["resent_share"])

    windows = campaign_windows()
    lifts = PLANTED["campaign_lift"]
    campaign = pa.table(
        {
            "campaign_id": np.arange(1, len(windows) + 1, dtype=np.int64),
            "campaign_name": [
                f"{CHANNELS[i % 4].replace('_', ' ').title()} push {i + 1:02d}"
                for i in range(len(windows))
            ],
            "campaign_start_time": np.array([START + np.timedelta64(a, "D") for a, _ in windows]),
            "campaign_end_time": np.array([START + np.timedelta64(b, "D") for _, b in windows]),
            "campaign_description": [
                f"{CAMPAIGN_DAYS}-day {CHANNELS[i % 4]} campaign, 10% off"
                for i in range(len(lifts))
            ],
            "channel": [CHANNELS[i % 4] for i in range(len(windows))],
        }
    )
    store = pa.table(
        {
            "store_id": np.array([s[0] for s in STORES], np.int64),
            "store_name": [s[1] for s in STORES],
            "store_type": [s[2] for s in STORES],
            "city": [s[3] for s in STORES],
            "state": [s[4] for s in STORES],
            "country": [s[5] for s in STORES],
        }
    )
    return {
        "customer_extract": _customer_extract(truth, seed),
        "product_extract": pa.table(product_cols).sort_by(
            [("extract_date", "ascending"), ("product_id", "ascending")]
        ),
        "product_category": categories,
        "store": store,
        "campaign": campaign,
        "order_line_feed": _line_feed(lines, n_products, seed),
        "order_return_feed": pa.table(returns),
        "inventory_event_feed": _inventory(lines, returns, n_products, seed),
    }
