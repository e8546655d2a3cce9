"""Synthetic source data for the e-commerce practice, as the source systems hand it over.

The warehouse's data starts on 1 January 2024 at 00:00 UTC and runs to 1 January 2026 00:00 UTC
(exclusive). The shop is older: a share of its customers signed up in the year before the data
starts, so their history before 2024 is not in the data (*left-censored*). Everything is vectorised
numpy, seeded per stream with :func:`datamodeling.synth.rng`, so the same seed gives identical
tables. Money is generated in integer cents and handed over as ``DECIMAL(18, 2)``.

Raw tables (the ``raw`` schema):

* ``customer_extract`` - a daily delta extract of the account system: one row per change, the
  full image of the customer after it, ``created_at`` (sign-up), ``updated_at`` (source time),
  ``is_deleted`` (the account was closed) and ``extract_date``. Customers who signed up before
  the data start arrive once, in the first extract, with their state on 1 January 2024. The
  account system recomputes ``customer_age`` on every birthday, and sends that as a change.
* ``product_extract`` - the same for the catalogue (price, category, title changes).
* ``product_category`` - the category tree (top level -> leaves); ``store`` (with its IANA time
  zone); ``campaign`` (window, channel and spend).
* ``campaign_audience`` - the marketing tool's audience of each campaign: every customer signed up
  (and not closed) at the campaign's start, randomly split into treatment and a holdout group that
  is not contacted.
* ``order_line_feed`` - order lines from the checkout, in daily load batches (``loaded_at``); the
  order's shipping charge is repeated on every line (``order_shipping_amt``).
* ``order_return_feed`` - returned lines, with the refund split into net amount and tax.
* ``inventory_event_feed`` - receipts, sales, returns, transfers and adjustments per store.

Planted truths (``PLANTED``), which the metrics must recover:

* customers belong to hidden segments with daily order rates ``segment_rates`` (shares
  ``segment_shares``); :func:`customer_truth` gives each customer's segment;
* each campaign multiplies the order rate of its *treated* customers by ``campaign_lift`` during
  its 14-day window (overlapping campaigns multiply); the holdout group keeps its rate, so
  treated / holdout orders per customer in the window estimate the lift. Sign-ups are lifted too
  (acquisition, which no holdout measures). ``pull_forward_share`` of the extra orders are pulled
  forward from the 28 days after the window: treated customers' repeat orders there are thinned;
* campaign spend is ``cost_per_contact`` of the channel times the treated customers;
* ``click_share_baseline`` of the treated customers' orders that would have happened anyway, and
  ``click_share_signup`` of sign-up orders in a window, carry the campaign_id;
* repeat orders come in bursty sessions of ``1 + Poisson(orders_per_session - 1)`` orders a few
  minutes apart (:func:`datamodeling.synth.bursty_sessions`), so order counts are over-dispersed
  by ``E[K^2] / E[K]`` relative to a Poisson count (the tests' tolerances use it);
* physical stores trade from 10:00 to 21:00 *local* time, the web shop follows a day-and-evening
  cycle in its own (Eastern) time; order intensity is planted per UTC day;
* ``closure_share`` of customers close their account 2-20 days after their last order; for
  ``refund_after_closure_share`` of them, a line of that last order comes back *after* the
  closure (a refund still owed to a closed account);
* **the incident** of the metric investigation (``PLANTED["incident"]``, the sixth notebook): the
  web shop's order lines of Friday 10 October 2025 land three days late, with Monday's load,
  so the daily report that runs at 07:00 UTC the next morning misses them. No order is lost or
  moved: by order time the day is a normal Friday, and only ``loaded_at`` (and ``batch_id``)
  of those lines change. No random draw is added, so every other number stays as it was.

Planted dirt (``DIRT``), which the build must handle:

* ``duplicate_line_share`` of lines are loaded twice by a retried batch (same line_item_id);
* ``late_line_share`` of lines arrive one or two nights late (with the load 2 or 3 days after
  the order day, within the default lookback of the daily loads);
* a few lines name a product the catalogue extract does not list yet, a few have a count <= 0;
* ``late_change_share`` of the customer change records followed by a newer change arrive after
  it, in a later extract (out of order); ``resent_share`` of extract rows are sent twice; some rows lack the key;
* ``late_registration_share`` of customers appear in the extract only days after their first order,
  and ``never_extracted_share`` never appear at all (inferred members);
* a new pop-up store (``UNLISTED_STORE``) receives stock in December 2025 before the store list
  names it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from datamodeling import synth
from datamodeling.calendar import utc_offsets

START = np.datetime64("2024-01-01T00:00:00", "us")
END = np.datetime64("2026-01-01T00:00:00", "us")  # exclusive
DAYS = int((END - START) / np.timedelta64(1, "D"))  # 731
DAY_US = 86_400_000_000
HISTORY_DAYS = 365  # the shop ran for a year before the data starts

EXISTING_SHARE = (
    0.2  # customers who signed up in the year before the data start (about)
)
LINES_PER_ORDER_EXTRA = 1.2  # lines per order = 1 + Poisson(1.2)
CAMPAIGN_DAYS = 14
CAMPAIGN_FIRST_DAY = 42
CAMPAIGN_SPACING = 63
#: campaigns outside the regular schedule: (first day, end day), as day numbers from START
EXTRA_WINDOWS = [(364, 378)]  # campaign 12 runs over the last week of campaign 6
BASELINE_DAYS = 28
RETURN_WINDOW_DAYS = 30  # the shop takes goods back for 30 days
TAX_RATE = 0.08
FREE_SHIPPING_FROM_CENTS = 7_500
SHIPPING_FEE_CENTS = 599
CAMPAIGN_DISCOUNT = 0.10
OPENING_HOURS = (10, 21)  # physical stores, local time
UNLISTED_STORE = 7
NO_CLOSURE = np.iinfo(np.int64).max

PLANTED = {
    "segment_names": ["loyal", "regular", "occasional"],
    "segment_shares": [0.10, 0.30, 0.60],
    "segment_rates": [1.5 / 30, 0.5 / 30, 0.15 / 30],  # orders per customer per day
    "campaign_lift": [
        1.30,
        1.15,
        1.50,
        1.00,
        1.25,
        1.40,
        1.10,
        1.60,
        1.20,
        1.35,
        1.05,
        1.20,
    ],
    "campaign_days": CAMPAIGN_DAYS,
    "baseline_days": BASELINE_DAYS,
    "holdout_share": 0.20,
    "pull_forward_share": 0.30,
    "cost_per_contact": {
        "email": 0.40,
        "paid_social": 3.50,
        "search": 5.00,
        "affiliate": 2.00,
    },
    "click_share_baseline": 0.10,
    "click_share_signup": 0.30,
    "orders_per_session": 1.15,  # repeat orders come in sessions of 1 + Poisson(0.15) orders
    "return_share": 0.04,
    "closure_share": 0.05,
    "refund_after_closure_share": 0.5,
    "existing_share": EXISTING_SHARE,
    "tax_rate": TAX_RATE,
    #: The metric investigation's planted cause: one store's partition of one day lands late.
    "incident": {
        "cause": "late partition",
        "order_date": "2025-10-10",  # a Friday, outside every campaign window
        "store_id": 1,
        "store_name": "Web shop",
        #: the web shop's lines of that day are loaded with Monday's batch, not Saturday's
        "landed_at": "2025-10-13T02:00:00",
        #: the daily report runs at this hour (UTC) on the morning after the day it reports
        "report_hour": 7,
    },
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
    "unlisted_store_events": 5,
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

#: id, name, type, city, state, country, IANA time zone, share of orders
STORES = [
    (1, "Web shop", "online", "Columbus", "OH", "US", "America/New_York", 0.50),
    (2, "Boston Downtown", "physical", "Boston", "MA", "US", "America/New_York", 0.12),
    (3, "Chicago Loop", "physical", "Chicago", "IL", "US", "America/Chicago", 0.10),
    (4, "Denver Union", "physical", "Denver", "CO", "US", "America/Denver", 0.08),
    (5, "Austin South", "physical", "Austin", "TX", "US", "America/Chicago", 0.08),
    (
        6,
        "Seattle Center",
        "physical",
        "Seattle",
        "WA",
        "US",
        "America/Los_Angeles",
        0.12,
    ),
]
ZONES = sorted({s[6] for s in STORES})
_STORE_ZONE = np.array([ZONES.index(s[6]) for s in STORES])
_STORE_PHYSICAL = np.array([s[2] == "physical" for s in STORES])
_STORE_SHARE = np.array([s[-1] for s in STORES]) / sum(s[-1] for s in STORES)
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
# sizes, windows, money and local time
# ----------------------------------------------------------------------------------------------
def _expected_orders_per_customer() -> float:
    shares, rates = (
        np.array(PLANTED["segment_shares"]),
        np.array(PLANTED["segment_rates"]),
    )
    mean_exposure = EXISTING_SHARE * DAYS + (1 - EXISTING_SHARE) * DAYS / 2
    lift = 1 + np.sum(np.array(PLANTED["campaign_lift"]) - 1) * CAMPAIGN_DAYS / DAYS
    return (1 - EXISTING_SHARE) + float(np.sum(shares * rates)) * mean_exposure * lift


def sizes(rows: int) -> dict[str, int]:
    """How many customers, products... give about ``rows`` order lines."""
    lines_per_customer = (1 + LINES_PER_ORDER_EXTRA) * _expected_orders_per_customer()
    return {
        "customers": max(30, round(rows / lines_per_customer)),
        "products": int(np.clip(rows // 400, 60, 1000)),
        "campaigns": len(PLANTED["campaign_lift"]),
        "stores": len(STORES),
    }


def campaign_windows() -> list[tuple[int, int]]:
    """(first day, end day exclusive) of each campaign, as day numbers from START."""
    regular = len(PLANTED["campaign_lift"]) - len(EXTRA_WINDOWS)
    windows = [
        (
            CAMPAIGN_FIRST_DAY + k * CAMPAIGN_SPACING,
            CAMPAIGN_FIRST_DAY + k * CAMPAIGN_SPACING + CAMPAIGN_DAYS,
        )
        for k in range(regular)
    ]
    return windows + list(EXTRA_WINDOWS)


def campaign_channel(campaign_index: int) -> str:
    return CHANNELS[campaign_index % len(CHANNELS)]


def money(cents: np.ndarray) -> pa.Array:
    """Integer cents as an Arrow ``DECIMAL(18, 2)`` array, exactly (no float on the way)."""
    cents = np.asarray(cents, dtype=np.int64)
    words = np.zeros(
        (len(cents), 2), dtype=np.int64
    )  # 128-bit little-endian two's complement
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(
        pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words.tobytes())]
    )


@lru_cache(maxsize=1)
def _offset_periods() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per zone of ZONES: (UTC start of each period in us, its UTC offset in seconds)."""
    frame = utc_offsets(
        ZONES,
        START - np.timedelta64(HISTORY_DAYS + 2, "D"),
        END + np.timedelta64(3, "D"),
    )
    out = []
    for zone in ZONES:
        rows = frame[frame.time_zone == zone]
        starts = rows.utc_from.to_numpy().astype("datetime64[us]").astype(np.int64)
        out.append((starts, rows.utc_offset_seconds.to_numpy().astype(np.int64)))
    return tuple(out)


def utc_offset_seconds(zone: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    """The UTC offset (seconds; local = UTC + offset) of zone index ``zone`` at UTC instants."""
    out = np.zeros(len(t_us), np.int64)
    for z, (starts, offsets) in enumerate(_offset_periods()):
        pick = zone == z
        i = np.searchsorted(starts, t_us[pick], side="right") - 1
        out[pick] = offsets[np.clip(i, 0, None)]
    return out


def _draw_store(gen, n: int) -> np.ndarray:
    """Store ids drawn with the stores' shares of orders."""
    return gen.choice(len(STORES), size=n, p=_STORE_SHARE) + 1


def _local_seconds(gen, physical: np.ndarray) -> np.ndarray:
    """Seconds since local midnight: opening hours for a shop, a day-and-evening cycle online."""
    n = len(physical)
    web = synth.diurnal_offsets(gen, n).astype(np.int64)
    hours = np.arange(*OPENING_HOURS)
    weight = (
        0.5
        + np.exp(-0.5 * ((hours - 13) / 2.0) ** 2)
        + np.exp(-0.5 * ((hours - 18) / 2.0) ** 2)
    )
    shop = gen.choice(hours, size=n, p=weight / weight.sum()) * 3600 + gen.integers(
        0, 3600, n
    )
    return np.where(physical, shop, web)


def _at(gen, days: np.ndarray, store: np.ndarray) -> np.ndarray:
    """Instants on UTC day ``days`` (numbers from START) at a local time of day of ``store``.

    The UTC day is kept, so every intensity planted per UTC day holds exactly; the local time of
    day follows the store's clock, so a Seattle store's 20:00 sale lands at 04:00 UTC.
    """
    days = np.asarray(days, dtype=np.int64)
    local = _local_seconds(gen, _STORE_PHYSICAL[store - 1])
    day_start = START.astype(np.int64) + days * DAY_US
    offset = utc_offset_seconds(_STORE_ZONE[store - 1], day_start + 12 * 3_600_000_000)
    seconds = (local - offset) % 86_400
    us = seconds * 1_000_000 + gen.integers(0, 1_000_000, len(days))
    return (day_start + us).astype("datetime64[us]")


def _date(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[D]")


# ----------------------------------------------------------------------------------------------
# customers
# ----------------------------------------------------------------------------------------------
def _signup_weights() -> np.ndarray:
    """Sign-up day weights over days -HISTORY_DAYS .. DAYS - 1 (negative: before the data)."""
    w = np.concatenate(
        [
            np.full(HISTORY_DAYS, EXISTING_SHARE / HISTORY_DAYS),
            np.full(DAYS, (1 - EXISTING_SHARE) / DAYS),
        ]
    )
    for (a, b), lift in zip(campaign_windows(), PLANTED["campaign_lift"], strict=True):
        w[HISTORY_DAYS + a : HISTORY_DAYS + b] *= lift
    return w / w.sum()


def customer_truth(rows: int, seed: int) -> dict[str, np.ndarray]:
    """The hidden truth of each customer: segment, order rate, sign-up (ids 1..n, in sign-up order).

    ``signup_day`` counts days from START and is negative for a customer who signed up before the
    data starts; ``store`` is the store of the sign-up order (a customer signs up at checkout).
    """
    n = sizes(rows)["customers"]
    gen = synth.rng(seed, "customers")
    segment = gen.choice(3, size=n, p=PLANTED["segment_shares"])
    rate = np.asarray(PLANTED["segment_rates"])[segment]
    signup_day = (
        gen.choice(HISTORY_DAYS + DAYS, size=n, p=_signup_weights()) - HISTORY_DAYS
    )
    store = _draw_store(gen, n)
    signup = _at(gen, signup_day, store)
    order = np.argsort(signup, kind="stable")  # customer ids follow sign-up order
    return {
        "customer_id": np.arange(1, n + 1, dtype=np.int64),
        "segment": np.asarray(PLANTED["segment_names"])[segment[order]],
        "rate": rate[order],
        "signup_day": signup_day[order],
        "signup": signup[order],
        "store": store[order],
        "existing": signup_day[order] < 0,
    }


def _birthdays(gen, signup: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner index, instant) of every birthday after sign-up: the first falls uniformly in the
    year after sign-up, the next ones a calendar year apart; recomputed by a 03:00 UTC job."""
    n = len(signup)
    first = _date(signup) + gen.integers(1, 366, n).astype("timedelta64[D]")
    month = first.astype("datetime64[M]")
    day_of_month = first - month.astype("datetime64[D]")
    owners, times = [], []
    for k in range(
        4
    ):  # sign-up at most HISTORY_DAYS before the data, plus DAYS of data
        day = (month + np.timedelta64(12 * k, "M")).astype(
            "datetime64[D]"
        ) + day_of_month
        owners.append(np.arange(n))
        times.append(day.astype("datetime64[us]") + np.timedelta64(3, "h"))
    return np.concatenate(owners), np.concatenate(times).astype(np.int64)


def _customer_extract(truth, closure: np.ndarray, seed: int):
    """The account system's delta extract: one row per change, with the image after it."""
    n = len(truth["customer_id"])
    gen = synth.rng(seed, "customer_changes")
    ids = truth["customer_id"]
    first = FIRST_NAMES[gen.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[gen.integers(0, len(LAST_NAMES), n)]
    age = gen.integers(18, 80, n)
    signup_us = truth["signup"].astype(np.int64)
    end_us = END.astype(np.int64)
    stop_us = np.minimum(closure, end_us)  # no change after the account is closed
    exposure_days = (stop_us - signup_us) / DAY_US
    # changes: moves (0.35 a year), email changes (0.25 a year), no-op touches (0.2 a year)
    kinds = [np.zeros(n, dtype=np.int8)]  # the sign-up record itself
    owner = [np.arange(n)]
    for k, per_year in ((1, 0.35), (2, 0.25), (3, 0.20)):
        counts = gen.poisson(per_year * exposure_days / 365)
        owner.append(np.repeat(np.arange(n), counts))
        kinds.append(np.full(counts.sum(), k, dtype=np.int8))
    owner, kind = np.concatenate(owner), np.concatenate(kinds)
    t = signup_us[owner] + (
        gen.random(len(owner)) * (stop_us - signup_us)[owner]
    ).astype(np.int64)
    registered = signup_us.copy()
    late_reg = ~truth["existing"] & (gen.random(n) < DIRT["late_registration_share"])
    registered[late_reg] += gen.integers(1, 4, late_reg.sum()) * DAY_US
    t = np.where(kind == 0, registered[owner], t)
    # birthdays (kind 5): the account system recomputes customer_age and sends the change
    b_owner, b_t = _birthdays(gen, truth["signup"])
    alive = b_t < stop_us[b_owner]
    # the closure (kind 4): a deletion record, with the last image
    closed = np.flatnonzero(closure < NO_CLOSURE)
    owner = np.concatenate([owner, b_owner[alive], closed])
    kind = np.concatenate(
        [kind, np.full(alive.sum(), 5, np.int8), np.full(len(closed), 4, np.int8)]
    )
    t = np.concatenate([t, b_t[alive], closure[closed]])
    order = np.lexsort((kind, t, owner))
    owner, kind, t = owner[order], kind[order], t[order]
    # the state after each record: moves, email changes and birthdays so far
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    lengths = np.diff(np.r_[starts, len(owner)])

    def so_far(flags):
        c = np.cumsum(flags)
        return c - np.repeat(c[starts] - flags[starts], lengths)

    cum_move = so_far((kind == 1).astype(np.int64))
    cum_mail = so_far((kind == 2).astype(np.int64))
    cum_bday = so_far((kind == 5).astype(np.int64))
    home = gen.integers(0, len(CITIES), n)
    city_idx = (home[owner] + cum_move * 7) % len(CITIES)
    city = np.array([c for c, _ in CITIES])[city_idx]
    state = np.array([s for _, s in CITIES])[city_idx]
    domains = np.array(
        ["example.com", "mail.example.org", "inbox.example.net", "post.example.io"]
    )
    first_o, last_o = first[owner], last[owner]
    local = np.char.lower(np.char.add(np.char.add(first_o, "."), last_o))
    email = np.char.add(
        np.char.add(np.char.add(local, ids[owner].astype(str)), "@"),
        domains[cum_mail % len(domains)],
    )
    phone = np.char.add("+1-555-", (1_000_000 + ids * 7919 % 9_000_000).astype(str))[
        owner
    ]
    # customers older than the data arrive once, in the first extract, with their state then
    start_us = START.astype(np.int64)
    before = t < start_us
    next_before = np.r_[before[1:] & (owner[1:] == owner[:-1]), False]
    keep = ~before | ~next_before
    ts = t.astype("datetime64[us]")
    extract_date = np.where(before, _date(START), _date(ts) + np.timedelta64(1, "D"))
    # a late record arrives after the customer's next change (out of order)
    has_next = np.r_[owner[1:] == owner[:-1], False]
    late = (
        (kind != 0)
        & ~before
        & has_next
        & (gen.random(len(owner)) < DIRT["late_change_share"])
    )
    after_next = np.r_[extract_date[1:], extract_date[-1:]]
    extract_date[late] = after_next[late] + gen.integers(1, 6, late.sum()).astype(
        "timedelta64[D]"
    )
    keep &= ~np.isin(
        owner, np.flatnonzero(gen.random(n) < DIRT["never_extracted_share"])
    )
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
        "customer_age": (age[owner] + cum_bday).astype(np.int64),
        "created_at": truth["signup"][owner],
        "updated_at": ts,
        "is_deleted": kind == 4,
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
    """Every version of every product: (product index, valid_from us, category, price in cents, title)."""
    gen = synth.rng(seed, "products")
    leaf = gen.integers(0, len(leaf_ids), n)
    base_price = np.asarray(CATEGORY_PRICE)[leaf_top[leaf]] * gen.lognormal(0, 0.6, n)
    brand = BRANDS[gen.integers(0, len(BRANDS), n)]
    noun = NOUNS[gen.integers(0, len(NOUNS), n)]
    created = (START - np.timedelta64(365, "D")).astype(np.int64) + gen.integers(
        0, 360 * DAY_US, n
    )
    n_price = gen.poisson(2.0, n)
    n_recat = (gen.random(n) < 0.08).astype(np.int64)
    n_title = (gen.random(n) < 0.05).astype(np.int64)
    owner = np.concatenate(
        [np.arange(n)]
        + [np.repeat(np.arange(n), c) for c in (n_price, n_recat, n_title)]
    )
    kind = np.concatenate(
        [np.zeros(n, np.int8)]
        + [
            np.full(c.sum(), k, np.int8)
            for k, c in ((1, n_price), (2, n_recat), (3, n_title))
        ]
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
    # whole dollars minus a cent ($24.99), in integer cents so that money stays exact
    price = np.maximum(np.round(base_price[owner] * np.exp(log_f), 0) * 100 - 1, 199)
    recat = running((kind == 2).astype(np.int64))
    shift = gen.integers(
        1, len(leaf_ids), n
    )  # recategorised products move to another leaf
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
        "price_cents": price.astype(np.int64),
        "title": title,
        "brand": brand[owner],
        "created": created[owner],
    }


# ----------------------------------------------------------------------------------------------
# orders, campaigns and their audiences
# ----------------------------------------------------------------------------------------------
def _orders(truth, seed: int):
    """Order headers, account closures and campaign audiences.

    Returns ``(orders, closure, audience)``: orders as customer index, time (us), campaign (0 =
    none), store; ``closure`` the closing instant of each customer (``NO_CLOSURE`` if open); the
    audience of each campaign with its holdout flag.
    """
    gen = synth.rng(seed, "orders")
    n = len(truth["customer_id"])
    rate, sday = truth["rate"], truth["signup_day"]
    start_us, end_us = START.astype(np.int64), END.astype(np.int64)
    signup_us = truth["signup"].astype(np.int64)
    first_day = np.maximum(sday + 1, 0)
    exposure = DAYS - first_day
    # sign-up orders: a new customer signs up at checkout
    new = np.flatnonzero(~truth["existing"])
    cust, times, stores, kind = (
        [new],
        [signup_us[new]],
        [truth["store"][new]],
        [np.zeros(len(new))],
    )
    # repeat orders: shopping sessions spread evenly over the days after sign-up; a session
    # holds 1 + Poisson(m - 1) orders minutes apart (the "forgot something" second checkout)
    per_session = PLANTED["orders_per_session"]
    k = gen.poisson(rate * exposure / per_session)
    c = np.repeat(np.arange(n), k)
    days = first_day[c] + (gen.random(len(c)) * exposure[c]).astype(np.int64)
    session_store = _draw_store(gen, len(c))
    session, t = synth.bursty_sessions(
        gen, _at(gen, days, session_store), per_session, 600.0
    )
    t = t.astype(np.int64)
    inside = t < end_us
    cust.append(c[session][inside])
    times.append(t[inside])
    stores.append(session_store[session][inside])
    kind.append(np.ones(int(inside.sum())))
    cust, t, store, kind = map(np.concatenate, (cust, times, stores, kind))
    # closures: some customers close their account a few days after their last order
    last = np.full(n, -1, np.int64)
    np.maximum.at(last, cust, t)
    closing = (gen.random(n) < PLANTED["closure_share"]) & (last >= 0)
    closure = last + gen.integers(2 * DAY_US, 20 * DAY_US, n)
    closure = np.where(closing & (closure < end_us), closure, NO_CLOSURE)
    # audiences: customers signed up and not closed at the start, split at random
    windows = campaign_windows()
    lifts = PLANTED["campaign_lift"]
    w_start = np.array([start_us + a * DAY_US for a, _ in windows])
    audience = (signup_us[None, :] < w_start[:, None]) & (
        closure[None, :] > w_start[:, None]
    )
    holdout = gen.random((len(windows), n)) < PLANTED["holdout_share"]
    treated = audience & ~holdout
    # pull-forward: treated customers' repeat orders in the 28 days after a window are thinned
    day = (t - start_us) // DAY_US
    keep = np.ones(len(t), bool)
    for i, ((_, b), lift) in enumerate(zip(windows, lifts, strict=True)):
        after = (kind == 1) & (day >= b) & (day < b + BASELINE_DAYS) & treated[i, cust]
        p = PLANTED["pull_forward_share"] * (lift - 1) * CAMPAIGN_DAYS / BASELINE_DAYS
        keep &= ~(after & (gen.random(len(t)) < p))
    cust, t, store, kind = cust[keep], t[keep], store[keep], kind[keep]
    camp = np.zeros(len(t), np.int64)
    # campaign orders: within a stretch of days where the same campaigns run, a treated
    # customer's rate is multiplied by the lifts of every campaign treating it
    bounds = sorted({d for w in windows for d in w})
    extra_c, extra_t, extra_s, extra_camp = [], [], [], []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        running = [i for i, (a, b) in enumerate(windows) if a <= lo and hi <= b]
        if not running:
            continue
        multiplier = np.ones(n)
        for i in running:
            multiplier *= np.where(treated[i], lifts[i], 1.0)
        k = gen.poisson(rate * (multiplier - 1) * (hi - lo))
        c = np.repeat(np.arange(n), k)
        days = lo + (gen.random(len(c)) * (hi - lo)).astype(np.int64)
        s = _draw_store(gen, len(c))
        cid = np.zeros(len(c), np.int64)
        for i in running:  # the newest campaign that treats the customer gets the click
            cid = np.where(treated[i, c], i + 1, cid)
        extra_c.append(c)
        extra_t.append(_at(gen, days, s).astype(np.int64))
        extra_s.append(s)
        extra_camp.append(cid)
    cust = np.concatenate([cust, *extra_c])
    t = np.concatenate([t, *extra_t])
    store = np.concatenate([store, *extra_s])
    camp = np.concatenate([camp, *extra_camp])
    kind = np.concatenate([kind, np.full(len(t) - len(kind), 2.0)])
    open_then = t < closure[cust]  # a closed account places no order
    cust, t, store, camp, kind = (a[open_then] for a in (cust, t, store, camp, kind))
    # orders that would have happened anyway: some clicked the campaign's link too
    day = (t - start_us) // DAY_US
    for i, (a, b) in enumerate(windows):
        inside = (camp == 0) & (day >= a) & (day < b)
        share = np.where(
            kind == 0,
            PLANTED["click_share_signup"],
            np.where(treated[i, cust], PLANTED["click_share_baseline"], 0.0),
        )
        camp[inside & (gen.random(len(camp)) < share)] = i + 1
    order = np.lexsort((cust, t))
    orders = {
        "customer_id": truth["customer_id"][cust[order]],
        "t": t[order].astype("datetime64[us]"),
        "campaign_id": camp[order],
        "store_id": store[order].astype(np.int64),
    }
    members = np.argwhere(audience)  # (campaign index, customer index), campaign-major
    audience_table = {
        "campaign_id": members[:, 0].astype(np.int64) + 1,
        "customer_id": truth["customer_id"][members[:, 1]],
        "is_holdout": holdout[members[:, 0], members[:, 1]],
        "assigned_at": w_start[members[:, 0]].astype("datetime64[us]"),
    }
    return orders, closure, audience_table


def _lines(orders, versions, n_products: int, seed: int):
    """Order lines, money in integer cents."""
    gen = synth.rng(seed, "lines")
    n_orders = len(orders["t"])
    n_lines = 1 + gen.poisson(LINES_PER_ORDER_EXTRA, n_orders)
    o = np.repeat(np.arange(n_orders), n_lines)
    line_number = (
        np.arange(len(o)) - np.repeat(np.r_[0, np.cumsum(n_lines)[:-1]], n_lines) + 1
    )
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
    lkey = product.astype(np.int64) * span + (
        t.astype(np.int64) - START.astype(np.int64) + 4 * 10**13
    )
    v = np.searchsorted(vkey, lkey, side="right") - 1
    price = versions["price_cents"][v]
    category = versions["category"][v]
    amt = count * price
    campaign = orders["campaign_id"][o]
    pct = np.where(gen.random(len(o)) < 0.15, gen.uniform(0.05, 0.20, len(o)), 0.0)
    pct = np.where(campaign > 0, CAMPAIGN_DISCOUNT, pct)
    discount = np.rint(amt * pct).astype(np.int64)
    net = amt - discount
    tax = np.rint(net * TAX_RATE).astype(np.int64)
    order_net = np.bincount(o, weights=net, minlength=n_orders)
    web = orders["store_id"] == 1
    shipping = np.where(
        web & (order_net < FREE_SHIPPING_FROM_CENTS), SHIPPING_FEE_CENTS, 0
    )
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
        "amt": amt.astype(np.int64),
        "discount": discount,
        "unit_price_at_purchase": price.astype(np.int64),
        "tax_amt": tax,
        "order_shipping_amt": shipping[o].astype(np.int64),
        "line_number": line_number.astype(np.int64),
    }


MONEY_COLUMNS = {
    "amt",
    "discount",
    "unit_price_at_purchase",
    "tax_amt",
    "order_shipping_amt",
    "return_net_amt",
    "refund_tax_amt",
    "refund_amt",
    "unit_price",
    "spend_amt",
}


def _line_feed(lines, n_products: int, seed: int) -> pa.Table:
    gen = synth.rng(seed, "line_feed")
    n = len(lines["order_id"])
    cols = {k: v for k, v in lines.items() if k != "order_index"}
    cols["line_item_id"] = np.arange(1, n + 1, dtype=np.int64) + 5_000_000
    t = lines["order_time"]
    loaded = (_date(t) + np.timedelta64(1, "D")).astype(
        "datetime64[us]"
    ) + np.timedelta64(2, "h")
    late = gen.random(n) < DIRT["late_line_share"]
    # a late batch comes with the next night's load or the one after (1 or 2 days late, so
    # 2 or 3 days after the order: within the warehouse's default lookback). The draw is the
    # one the generator always made, so every later draw of this stream stays as it was.
    delay = gen.integers(2, 11, late.sum())
    loaded[late] += (1 + delay % 2).astype("timedelta64[D]")
    # the incident: one store's partition of one day lands with a later load (no draw added)
    incident = PLANTED["incident"]
    hit = (lines["store_id"] == incident["store_id"]) & (
        _date(t) == np.datetime64(incident["order_date"], "D")
    )
    loaded[hit] = np.maximum(loaded[hit], np.datetime64(incident["landed_at"], "us"))
    cols["loaded_at"] = loaded
    cols["batch_id"] = _date(loaded).astype(np.int64)
    # odd rows: a product the catalogue does not list yet, a count <= 0 (single-line orders of
    # their own); then duplicates: a retried batch loads some rows again, a few hours later.
    n_new_p = max(1, int(n * DIRT["unknown_product_share"]))
    n_bad_c = max(1, int(n * DIRT["bad_count_share"]))
    src = gen.integers(0, n, n_new_p + n_bad_c)
    m = n + len(src)
    again = np.flatnonzero(gen.random(m) < DIRT["duplicate_line_share"])
    base = np.concatenate([np.arange(n), src])
    cols = {k: v[np.concatenate([base, base[again]])] for k, v in cols.items()}
    odd = slice(n, m)
    cols["product_id"][n : n + n_new_p] = 90_000 + n_products
    cols["count"][n + n_new_p : m] = gen.integers(-1, 1, n_bad_c)
    cols["line_item_id"][odd] = np.arange(1, len(src) + 1, dtype=np.int64) + 9_000_000
    cols["order_id"][odd] = np.arange(1, len(src) + 1, dtype=np.int64) + 8_000_000
    cols["line_number"][odd] = 1
    for v in cols.values():  # copies of odd rows carry the odd values
        v[m:] = v[again]
    cols["loaded_at"][m:] += np.timedelta64(3, "h")
    cols["batch_id"][m:] += 1_000_000
    order = ["line_item_id", "order_id", "order_time", "customer_id", "campaign_id", "store_id",
             "product_id", "product_category_id", "count", "amt", "discount",
             "unit_price_at_purchase", "tax_amt", "order_shipping_amt", "line_number",
             "batch_id", "loaded_at"]  # fmt: skip
    rows = np.lexsort((cols["line_item_id"], cols["loaded_at"]))  # in load order
    cols = {k: v[rows] for k, v in cols.items()}
    arrays = {}
    for k in order:
        if k == "campaign_id":
            arrays[k] = pa.array(
                cols[k], mask=cols[k] == 0
            )  # no campaign: NULL in the source
        elif k in MONEY_COLUMNS:
            arrays[k] = money(cols[k])
        else:
            arrays[k] = cols[k]
    return pa.table(arrays)


def _returns(lines, closure: np.ndarray, seed: int):
    """Returned lines: a share of all lines, plus lines of closed accounts returned after closing."""
    gen = synth.rng(seed, "returns")
    n = len(lines["order_id"])
    t = lines["order_time"].astype(np.int64)
    returned = gen.random(n) < PLANTED["return_share"]
    when = t + gen.integers(3 * DAY_US, RETURN_WINDOW_DAYS * DAY_US, n)
    # a closed account's last order: its first line comes back after the closure
    customer = lines["customer_id"] - 1
    last = np.full(len(closure), -1, np.int64)
    np.maximum.at(last, customer, t)
    closed = closure[customer] < NO_CLOSURE
    final = closed & (t == last[customer]) & (lines["line_number"] == 1)
    refund_late = final & (gen.random(n) < PLANTED["refund_after_closure_share"])
    after = closure[customer] + gen.integers(DAY_US, 10 * DAY_US, n)
    returned |= refund_late
    when = np.where(refund_late, after, when)
    returned &= when < END.astype(np.int64)
    idx = np.flatnonzero(returned)
    net = lines["amt"][idx] - lines["discount"][idx]
    return {
        "return_id": np.arange(1, len(idx) + 1, dtype=np.int64) + 700_000,
        "line_item_id": idx.astype(np.int64) + 5_000_001,
        "order_id": lines["order_id"][idx],
        "customer_id": lines["customer_id"][idx],
        "return_time": when[idx].astype("datetime64[us]"),
        "store_id": lines["store_id"][idx],
        "product_id": lines["product_id"][idx],
        "quantity": lines["count"][idx],
        "return_net_amt": net,
        "refund_tax_amt": lines["tax_amt"][idx],
        "refund_amt": net + lines["tax_amt"][idx],
    }


# ----------------------------------------------------------------------------------------------
# inventory
# ----------------------------------------------------------------------------------------------
LOCAL_START = START - np.timedelta64(
    1, "D"
)  # local day 0 of the stock replay: 2023-12-31
LOCAL_DAYS = DAYS + 1


def _local_day(store: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    """Day number (from LOCAL_START) of a UTC instant in the store's own time zone."""
    local = t_us + utc_offset_seconds(_STORE_ZONE[store - 1], t_us) * 1_000_000
    return (local - LOCAL_START.astype(np.int64)) // DAY_US


def _local_instant(
    gen, store: np.ndarray, days: np.ndarray, hour_lo: int, hour_hi: int
):
    """UTC instants at a local hour in [hour_lo, hour_hi) of local day ``days`` of the store."""
    seconds = gen.integers(hour_lo * 3600, hour_hi * 3600, len(days))
    local = (
        LOCAL_START.astype(np.int64)
        + days.astype(np.int64) * DAY_US
        + seconds * 1_000_000
    )
    return local - utc_offset_seconds(_STORE_ZONE[store - 1], local) * 1_000_000


def _inventory(lines, returns, n_products: int, seed: int) -> pa.Table:
    """Stock movements per store and product: a reorder-point policy replayed day by day.

    The days are each store's own (local) days, so "stock at the end of the day" means the end of
    the store's trading day. The loop runs over days; each step is vectorised over every (store,
    product) pair. Sales the shelf cannot cover are covered by a same-day transfer from another
    store, which leaves the shelf at zero: a stock-out day. Opening stock is received at the data
    start; movements after the data's end are not in the data.
    """
    gen = synth.rng(seed, "inventory")
    n_stores = len(STORES)
    pairs = n_stores * n_products
    pair_of = lambda store, product: (store - 1) * n_products + (product - 1)  # noqa: E731
    sale_time = lines["order_time"].astype(np.int64)
    sale_pair = pair_of(lines["store_id"], lines["product_id"])
    sale_day = _local_day(lines["store_id"], sale_time)
    sales = np.bincount(
        sale_pair * LOCAL_DAYS + sale_day,
        weights=lines["count"],
        minlength=pairs * LOCAL_DAYS,
    )
    sales = sales.reshape(pairs, LOCAL_DAYS).astype(np.int64)
    sales_by_day = np.ascontiguousarray(sales.T)
    ret_time = returns["return_time"].astype(np.int64)
    ret_pair = pair_of(returns["store_id"], returns["product_id"])
    ret_day = _local_day(returns["store_id"], ret_time)
    back = np.bincount(
        ret_pair * LOCAL_DAYS + ret_day,
        weights=returns["quantity"],
        minlength=pairs * LOCAL_DAYS,
    )
    back = back.reshape(pairs, LOCAL_DAYS).astype(np.int64)
    back_by_day = np.ascontiguousarray(back.T)

    daily = np.maximum(sales.sum(axis=1) / DAYS, 0.05)
    lead = gen.integers(3, 8, pairs)
    safety = gen.uniform(0.0, 8.0, pairs)
    reorder_point = np.ceil(daily * (lead + safety)).astype(np.int64)
    quantity = np.maximum(3, np.ceil(daily * 21)).astype(np.int64)
    on_hand = quantity.copy()  # opening stock, received at the data start
    pending_qty = np.zeros(pairs, np.int64)
    pending_day = np.full(pairs, -1)
    receipt_day, receipt_pair, receipt_qty = [], [], []
    transfers, shrinks = [], []  # (pair, day, quantity)
    shrink_draw = gen.random((LOCAL_DAYS, pairs)) < 0.002
    for d in range(LOCAL_DAYS):
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
        order_now &= arrive < LOCAL_DAYS
        idx = np.flatnonzero(order_now)
        pending_qty[idx] = quantity[idx]
        pending_day[idx] = arrive[idx]
        (
            receipt_day.append(arrive[idx]),
            receipt_pair.append(idx),
            receipt_qty.append(quantity[idx]),
        )
    r_day, r_pair, r_qty = map(np.concatenate, (receipt_day, receipt_pair, receipt_qty))

    def stack(parts):
        if not parts:
            return (np.zeros(0, np.int64),) * 3
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))

    def store_of(pair):
        return pair // n_products + 1

    t_pair, t_day, t_qty = stack(transfers)
    s_pair, s_day, s_qty = stack(shrinks)
    opening = np.full(pairs, START.astype(np.int64))
    parts = [
        ("receipt", opening, np.arange(pairs), quantity, np.zeros(pairs, np.int64)),
        (
            "receipt",
            _local_instant(gen, store_of(r_pair), r_day, 6, 8),
            r_pair,
            r_qty,
            np.zeros(len(r_day), np.int64),
        ),
        ("sale", sale_time, sale_pair, -lines["count"], lines["order_id"]),
        ("return", ret_time, ret_pair, returns["quantity"], returns["order_id"]),
        (
            "transfer_in",
            _local_instant(gen, store_of(t_pair), t_day, 22, 23),
            t_pair,
            t_qty,
            np.zeros(len(t_day), np.int64),
        ),
        (
            "adjustment",
            _local_instant(gen, store_of(s_pair), s_day, 20, 22),
            s_pair,
            s_qty,
            np.zeros(len(s_day), np.int64),
        ),
    ]
    type_names = ["receipt", "sale", "return", "transfer_in", "adjustment"]
    etype = np.concatenate(
        [np.full(len(p[1]), type_names.index(p[0]), np.int8) for p in parts]
    )
    etime = np.concatenate([p[1] for p in parts]).astype(np.int64)
    epair = np.concatenate([p[2] for p in parts])
    eqty = np.concatenate([p[3] for p in parts]).astype(np.int64)
    eref = np.concatenate([p[4] for p in parts]).astype(np.int64)
    store = store_of(epair)
    product = epair % n_products + 1
    inside = (etime >= START.astype(np.int64)) & (etime < END.astype(np.int64))
    etype, etime, store, product, eqty, eref = (
        a[inside] for a in (etype, etime, store, product, eqty, eref)
    )
    # a pop-up store the store list does not name yet receives stock in late December 2025
    k = DIRT["unlisted_store_events"]
    new_day = DAYS - 1 - np.arange(k)
    etype = np.concatenate([etype, np.zeros(k, np.int8)])
    etime = np.concatenate(
        [etime, START.astype(np.int64) + new_day * DAY_US + 15 * 3_600_000_000]
    )
    store = np.concatenate([store, np.full(k, UNLISTED_STORE)])
    product = np.concatenate([product, gen.integers(1, n_products + 1, k)])
    eqty = np.concatenate([eqty, gen.integers(10, 31, k)])
    eref = np.concatenate([eref, np.zeros(k, np.int64)])
    order = np.lexsort((eqty, etype, product, store, etime))
    etype, etime, store, product, eqty, eref = (
        a[order] for a in (etype, etime, store, product, eqty, eref)
    )
    return pa.table(
        {
            "inventory_event_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "event_type": pa.DictionaryArray.from_arrays(etype, type_names).cast(
                pa.string()
            ),
            "event_time": etime.astype("datetime64[us]"),
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
    orders, closure, audience = _orders(truth, seed)
    lines = _lines(orders, versions, n_products, seed)
    returns = _returns(lines, closure, seed)

    gen = synth.rng(seed, "product_feed")
    pv = versions
    vt = pv["t"].astype("datetime64[us]")
    product_cols = {
        "product_id": pv["owner"].astype(np.int64) + 1,
        "product_title": pv["title"],
        "product_brand": pv["brand"],
        "product_category_id": pv["category"].astype(np.int64),
        "unit_price": pv["price_cents"],
        "sku": np.char.add("SKU-", (pv["owner"] + 10_001).astype(str)),
        "created_at": pv["created"].astype("datetime64[us]"),
        "updated_at": vt,
        "extract_date": np.maximum(_date(vt), _date(START) - np.timedelta64(1, "D"))
        + np.timedelta64(1, "D"),
    }
    product_cols = _resend(gen, product_cols, "extract_date", DIRT["resent_share"])
    product_cols["unit_price"] = money(product_cols["unit_price"])

    windows = campaign_windows()
    lifts = PLANTED["campaign_lift"]
    channels = [campaign_channel(i) for i in range(len(windows))]
    treated = np.bincount(
        audience["campaign_id"][~audience["is_holdout"]] - 1, minlength=len(windows)
    )
    cost_cents = np.array([PLANTED["cost_per_contact"][c] * 100 for c in channels])
    campaign = pa.table(
        {
            "campaign_id": np.arange(1, len(windows) + 1, dtype=np.int64),
            "campaign_name": [
                f"{channels[i].replace('_', ' ').title()} push {i + 1:02d}"
                for i in range(len(windows))
            ],
            "campaign_start_time": np.array(
                [START + np.timedelta64(a, "D") for a, _ in windows]
            ),
            "campaign_end_time": np.array(
                [START + np.timedelta64(b, "D") for _, b in windows]
            ),
            "campaign_description": [
                f"{b - a}-day {channels[i]} campaign, 10% off, 20% holdout"
                for i, (a, b) in enumerate(windows)
            ],
            "channel": channels,
            "spend_amt": money(np.rint(cost_cents * treated).astype(np.int64)),
        }
    )
    assert len(lifts) == len(windows)
    store = pa.table(
        {
            "store_id": np.array([s[0] for s in STORES], np.int64),
            "store_name": [s[1] for s in STORES],
            "store_type": [s[2] for s in STORES],
            "city": [s[3] for s in STORES],
            "state": [s[4] for s in STORES],
            "country": [s[5] for s in STORES],
            "time_zone": [s[6] for s in STORES],
        }
    )
    return_cols = {k: money(v) if k in MONEY_COLUMNS else v for k, v in returns.items()}
    return {
        "customer_extract": _customer_extract(truth, closure, seed),
        "product_extract": pa.table(product_cols).sort_by(
            [("extract_date", "ascending"), ("product_id", "ascending")]
        ),
        "product_category": categories,
        "store": store,
        "campaign": campaign,
        "campaign_audience": pa.table(audience),
        "order_line_feed": _line_feed(lines, n_products, seed),
        "order_return_feed": pa.table(return_cols),
        "inventory_event_feed": _inventory(lines, returns, n_products, seed),
    }


# ----------------------------------------------------------------------------------------------
# the landing zone: the day each source hands each record over
# ----------------------------------------------------------------------------------------------
#: The column holding a raw row's landing date: the UTC day its source handed it over (the
#: ``date=`` partition of the landing zone, :mod:`datamodeling.landing`).
LANDING = "landing_date"
#: The first landing day: the initial extracts of the reference tables and of the accounts and
#: products older than the data.
FIRST_LANDING_DAY = _date(START)
#: Late deliveries of the event feeds (landing dates only; no event changes):
LATE_DELIVERY = {
    #: the returns feed is a nightly export; a share of its files is re-sent one or two nights late
    "late_return_share": 0.03,
    #: a store's till goes offline for a day: that store-day's stock movements upload 1-3 days late
    "offline_till_share": 0.03,
}


def landing_dates(tables: dict[str, pa.Table], seed: int) -> dict[str, pa.Table]:
    """Add each raw row's landing date (``landing_date``, date32): the day its source hands it over.

    * The account and catalogue extracts land on their ``extract_date`` (a resent or out-of-order
      record lands with the later extract that carries it).
    * The order line feed lands on the day of its load (``loaded_at``): the night after the
      order, one or two nights later for a late batch, Monday for the incident's Friday.
    * The returns feed is exported the night after the return; ``late_return_share`` of its
      records come with the next night's export or the one after (2 or 3 days after the return).
    * Stock movements are uploaded by each store's till on the day they happen; on
      ``offline_till_share`` of the store-days the till is offline and the day's movements upload
      1 to 3 days later.
    * Campaign audiences land on the day the campaign starts (when the tool assigns them); the
      store list, the category tree and the campaign table land in the initial extract.

    Only landing dates are drawn (from their own random stream): every event stays as it was.
    """
    day = np.timedelta64(1, "D")

    def date_of(table: pa.Table, column: str) -> np.ndarray:
        return _date(table[column].to_numpy().astype("datetime64[us]"))

    out = {}
    for name, table in tables.items():
        n = table.num_rows
        if name in ("customer_extract", "product_extract"):
            days = table["extract_date"].to_numpy().astype("datetime64[D]")
        elif name == "order_line_feed":
            days = date_of(table, "loaded_at")
        elif name == "order_return_feed":
            gen = synth.rng(seed, "landing", "returns")
            late = gen.random(n) < LATE_DELIVERY["late_return_share"]
            extra = np.where(late, gen.integers(1, 3, n), 0)
            days = date_of(table, "return_time") + (1 + extra) * day
        elif name == "inventory_event_feed":
            gen = synth.rng(seed, "landing", "tills")
            event_day = date_of(table, "event_time")
            store = table["store_id"].to_numpy()
            # one draw per store and day of the data, so a store-day's events share their fate
            index = (event_day - _date(START)).astype(np.int64) * (
                len(STORES) + 2
            ) + store
            size = (DAYS + 2) * (len(STORES) + 2)
            offline = gen.random(size) < LATE_DELIVERY["offline_till_share"]
            delay = gen.integers(1, 4, size)
            index = np.clip(index, 0, size - 1)
            days = event_day + np.where(offline[index], delay[index], 0) * day
        elif name == "campaign_audience":
            days = date_of(table, "assigned_at")
        else:  # reference tables: the initial extract
            days = np.full(n, FIRST_LANDING_DAY)
        days = np.maximum(days.astype("datetime64[D]"), FIRST_LANDING_DAY)
        out[name] = table.append_column(LANDING, pa.array(days, pa.date32()))
    return out


def generate_landing(rows: int, seed: int) -> dict[str, pa.Table]:
    """:func:`generate` with each row's landing date (:func:`landing_dates`)."""
    return landing_dates(generate(rows, seed), seed)
