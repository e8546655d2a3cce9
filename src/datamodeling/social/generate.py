"""Seeded generator of a social platform, as its source systems would hand it over.

What it simulates (all times UTC, naive timestamps), over six months from ``START`` to ``END``:

* **Users** sign up over time (a fifth of them just before the period, the others uniformly
  within it). Each user has one device, whose type drives the user's churn hazard.
* **Monthly life cycle.** A user is *alive* in the month they sign up. At each month boundary an
  alive user goes quiet with probability ``churn_hazard[device_type]`` and a quiet user comes back
  with probability ``resurrection_rate``. An alive user has at least one session in the month
  (one forced session, plus Poisson sessions on every day), a quiet user none. So "active in
  month m" in the data is exactly "alive in month m" in the simulation, and the monthly churn
  rate measured from events recovers the planted hazard.
* **Closed accounts.** A user quiet in a month closes the account during that month with
  probability ``deletion_rate`` (a ``delete`` record in the change log, at least a day into the
  month, after the user's last event). A closed account never comes back, and is left out of the
  users who could; its posts stay up and keep being viewed, so events name a creator whose
  account is closed.
* **Sessions** are bursts of views (``synth.bursty_sessions``); each view may be followed by a
  like, comment or share with a probability that depends on the content type.
* **Content** is posted by creators (a tenth of users); a viewer picks recent content more often.
  Some posts are edited later (Type 2 changes in the ``content_changes`` log).
* **Profiles** change: new e-mail, new phone, and a status change to ``deactivated`` for some users
  who go quiet (back to ``active`` when they return). The app database hands over a change log
  (``user_changes``): one row per change with the full row after it.
* **Ads**: sessions show impressions of running campaigns; an impression is clicked with a
  probability set by the campaign type (CTR), a click converts with a probability set by the type
  (CVR). Clicks cost the campaign's bid (CPC pricing); conversions bring revenue.

Planted dirt, in both event logs: client retries resend an event with the same ``event_id``
(``duplicate_event_id``), and some device clocks are days or months ahead so ``event_time`` is
after the server's ``received_at`` (``future_timestamp``). The app database's change log misses
a few accounts altogether (``missing_account_rate``, a replication gap): their events name a user
id the dimension has never seen, a late-arriving dimension member. The extract is taken at
``END``: events after it are not in the logs.

**The incident** of the metric investigation (``PLANTED["incident"]``, the sixth notebook): on
Tuesday 9 June 2026 an Android release of the app stops logging ``view`` events. Likes, comments
and shares are still logged, and so are ad events, but a user who only viewed content that day
logged nothing, and so is missing from DAU. The views are removed after the dirt is drawn, so no
other event changes.

``PLANTED`` holds the truths the tests and notebooks recover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from datamodeling import synth

START = np.datetime64("2026-01-01T00:00:00", "us")
MONTHS = 6
END = np.datetime64("2026-07-01T00:00:00", "us")
MONTH_STARTS = np.arange("2026-01", "2026-08", dtype="datetime64[M]").astype(
    "datetime64[us]"
)
DAY_US = 86_400_000_000

DEVICE_TYPES = ["mobile", "desktop", "tablet"]
CONTENT_TYPES = ["video", "image", "text", "link"]
CAMPAIGN_TYPES = ["brand", "performance", "retargeting"]
ENGAGEMENTS = ["like", "comment", "share"]

PLANTED = {
    #: Probability that a user active in month m is not active in month m + 1, by device type.
    "churn_hazard": {"mobile": 0.08, "desktop": 0.15, "tablet": 0.25},
    #: Probability that a user who was quiet in month m (signed up before m, account not closed)
    #: is active in month m + 1.
    "resurrection_rate": 0.20,
    #: Probability that a user quiet in a month closes the account during that month.
    "deletion_rate": 0.05,
    #: Engagements per view, by content type.
    "engagement_rate": {
        "video": {"like": 0.10, "comment": 0.020, "share": 0.030},
        "image": {"like": 0.12, "comment": 0.015, "share": 0.010},
        "text": {"like": 0.06, "comment": 0.030, "share": 0.005},
        "link": {"like": 0.04, "comment": 0.010, "share": 0.040},
    },
    #: Clicks per impression and conversions per click, by campaign type.
    "ctr": {"brand": 0.010, "performance": 0.030, "retargeting": 0.060},
    "cvr": {"brand": 0.020, "performance": 0.080, "retargeting": 0.120},
    #: Mean views per session, by device type (sessions are bursts of views).
    "views_per_session": {"mobile": 6.0, "desktop": 3.5, "tablet": 4.5},
    #: Shape of the Gamma(mean 1) spread of users' session rates: small = a few heavy users.
    "activity_shape": 0.5,
    "device_mix": {"mobile": 0.55, "desktop": 0.30, "tablet": 0.15},
    "content_mix": {"video": 0.35, "image": 0.35, "text": 0.20, "link": 0.10},
    "campaign_mix": {"brand": 0.3, "performance": 0.5, "retargeting": 0.2},
    #: Dirt rates, as a share of the clean events of each log.
    "duplicate_rate": 0.010,
    "future_rate": 0.002,
    #: Share of accounts the app database's change log never delivers (their events still come).
    "missing_account_rate": 0.01,
    #: Scale: content events per main-fact row, users per row.
    "events_per_row": 10,
    "rows_per_user": 10,
    #: The metric investigation's planted cause: for one UTC day, the Android app logs no views.
    "incident": {
        "cause": "release",
        "day": "2026-06-09",  # a Tuesday
        "os": "Android",
        "event_type": "view",
    },
}

#: The raw layer: each source's columns and types, as the build reads them (the generator and
#: the hand-made fixtures in ``data/fixtures/social/`` both deliver these).
RAW_SCHEMAS = {
    "user_changes": {
        "user_id": "int64",
        "status": "string",
        "name": "string",
        "email": "string",
        "phone": "string",
        "created_at": "timestamp",
        "updated_at": "timestamp",
        "op": "string",  # insert, update or delete (the account was closed)
    },
    "content_changes": {
        "content_id": "int64",
        "content_type": "string",
        "content_name": "string",
        "content_desc": "string",
        "creator_id": "int64",
        "created_at": "timestamp",
        "updated_at": "timestamp",
        "op": "string",
    },
    "campaign": {
        "campaign_id": "int64",
        "campaign_type": "string",
        "campaign_name": "string",
        "campaign_desc": "string",
        "created_at": "timestamp",
        "starttime": "timestamp",
        "endtime": "timestamp",
    },
    "device": {"device_id": "int64", "device_type": "string", "os": "string"},
    "content_event": {
        "event_id": "int64",
        "event_time": "timestamp",
        "event_type": "string",
        "content_id": "int64",
        "creator_id": "int64",
        "viewer_id": "int64",
        "device_id": "int64",
        "ip_address": "string",
        "received_at": "timestamp",
    },
    "ad_event": {
        "event_id": "int64",
        "event_time": "timestamp",
        "event_type": "string",
        "campaign_id": "int64",
        "user_id": "int64",
        "device_id": "int64",
        "ip_address": "string",
        "revenue": "decimal(18, 2)",
        "cost": "decimal(18, 2)",
        "received_at": "timestamp",
    },
}

OS_BY_DEVICE = {
    "mobile": (["iOS", "Android"], [0.45, 0.55]),
    "desktop": (["Windows", "macOS", "Linux"], [0.6, 0.3, 0.1]),
    "tablet": (["iPadOS", "Android"], [0.6, 0.4]),
}
FIRST = np.array(
    [
        "Ana",
        "Ben",
        "Chen",
        "Dana",
        "Eli",
        "Fatima",
        "Goran",
        "Hana",
        "Ivan",
        "Jia",
        "Kofi",
        "Lena",
        "Mateo",
        "Nia",
        "Omar",
        "Priya",
        "Quinn",
        "Rosa",
        "Sven",
        "Tara",
    ]
)
LAST = np.array(
    [
        "Kim",
        "Smith",
        "Garcia",
        "Okafor",
        "Novak",
        "Silva",
        "Ito",
        "Brown",
        "Rossi",
        "Khan",
        "Muller",
        "Dubois",
        "Lopez",
        "Nguyen",
        "Cohen",
        "Berg",
    ]
)


def _day(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[D]").astype("datetime64[us]")


def _strings(prefix: str, values: np.ndarray, suffix: str = "") -> np.ndarray:
    out = np.char.add(prefix, np.asarray(values).astype(str))
    return np.char.add(out, suffix) if suffix else out


def n_users(rows: int) -> int:
    return max(120, rows // PLANTED["rows_per_user"])


# --------------------------------------------------------------------------------------------
# users, devices and the monthly life cycle
# --------------------------------------------------------------------------------------------
def _users(rows: int, seed: int) -> dict:
    gen = synth.rng(seed, "users")
    n = n_users(rows)
    user_id = np.arange(1, n + 1, dtype=np.int64)
    early = gen.random(n) < 0.2
    signup = np.where(
        early,
        synth.uniform_times(gen, START - np.timedelta64(90, "D"), START, n),
        synth.uniform_times(gen, START, END - np.timedelta64(1, "D"), n),
    )
    dev_type = synth.weighted_choice(
        gen, DEVICE_TYPES, list(PLANTED["device_mix"].values()), n
    )
    os_ = np.empty(n, dtype=object)
    for t, (names, w) in OS_BY_DEVICE.items():
        mask = dev_type == t
        os_[mask] = synth.weighted_choice(gen, names, w, int(mask.sum()))
    device_id = 100_000 + gen.permutation(n).astype(np.int64)  # not equal to user_id
    # how often a user comes back on an alive day: a few heavy users, many light ones (mean 1)
    level = gen.gamma(PLANTED["activity_shape"], 1 / PLANTED["activity_shape"], n)

    # monthly states: alive[u, m]
    month_of = np.clip(
        (signup.astype("datetime64[M]") - START.astype("datetime64[M]")).astype(int),
        0,
        None,
    )
    hazard = np.select(
        [dev_type == t for t in DEVICE_TYPES],
        [PLANTED["churn_hazard"][t] for t in DEVICE_TYPES],
    )
    u = gen.random((n, MONTHS))
    alive = np.zeros((n, MONTHS), dtype=bool)
    # closed accounts: the month of the deletion (MONTHS = never) and its time; their own stream,
    # so the draws above and below do not depend on them
    del_gen = synth.rng(seed, "deletions")
    deleted_month = np.full(n, MONTHS)
    for m in range(MONTHS):
        born = month_of == m
        if m == 0:
            alive[:, 0] = born
        else:
            prev = alive[:, m - 1]
            existed = month_of < m
            gone = deleted_month < m
            stay = prev & (u[:, m] >= hazard)
            back = ~prev & existed & ~gone & (u[:, m] < PLANTED["resurrection_rate"])
            alive[:, m] = born | (existed & (stay | back))
        quiet = (month_of <= m) & ~alive[:, m] & (deleted_month == MONTHS)
        deleted_month[quiet & (del_gen.random(n) < PLANTED["deletion_rate"])] = m
    # accounts the change log never delivers (a replication gap): their own stream too
    missing = (
        synth.rng(seed, "missing_accounts").random(n) < PLANTED["missing_account_rate"]
    )
    # a day into the month (after any event of a session that crossed the month's first
    # midnight), uniformly over the next 26 days
    closed = deleted_month < MONTHS
    deleted_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    deleted_at[closed] = (
        MONTH_STARTS[deleted_month[closed]]
        + np.timedelta64(1, "D")
        + (del_gen.random(int(closed.sum())) * 26 * DAY_US).astype("timedelta64[us]")
    )
    ip = np.char.add(
        np.char.add(
            _strings("10.", gen.integers(0, 256, n)),
            _strings(".", gen.integers(0, 256, n)),
        ),
        _strings(".", gen.integers(1, 255, n)),
    )
    return {
        "n": n,
        "user_id": user_id,
        "signup": signup,
        "month_of": month_of,
        "device_type": dev_type,
        "os": os_,
        "device_id": device_id,
        "alive": alive,
        "deleted_month": deleted_month,
        "deleted_at": deleted_at,
        "missing": missing,
        "ip": ip,
        "level": level,
    }


def _user_changes(users: dict, seed: int) -> pa.Table:
    """The app database's change log: one row per change, full row after the change."""
    gen = synth.rng(seed, "user_changes")
    n, uid, signup = users["n"], users["user_id"], users["signup"]
    alive = users["alive"]
    name = np.char.add(
        np.char.add(FIRST[gen.integers(0, len(FIRST), n)], " "),
        LAST[gen.integers(0, len(LAST), n)],
    )
    parts = [
        pd.DataFrame(
            {
                "user_id": uid,
                "updated_at": signup,
                "status": "active",
                "email": _strings("user", uid, "@example.com"),
                "phone": _strings("+1555", 1_000_000 + uid),
            }
        )
    ]
    span = (END - signup).astype(np.int64)
    for col, rate, make in [
        ("email", 0.15, lambda ids: _strings("user", ids, "@mail.example.org")),
        ("phone", 0.10, lambda ids: _strings("+1666", 1_000_000 + ids)),
    ]:
        pick = gen.random(n) < rate
        when = signup[pick] + (gen.random(int(pick.sum())) * span[pick]).astype(
            "timedelta64[us]"
        )
        parts.append(
            pd.DataFrame(
                {"user_id": uid[pick], "updated_at": when, col: make(uid[pick])}
            )
        )
    # status: some users who go quiet deactivate during the quiet month, and come back active
    for m in range(1, MONTHS):
        went_quiet = alive[:, m - 1] & ~alive[:, m] & (gen.random(n) < 0.3)
        k = int(went_quiet.sum())
        offset = (gen.random(k) * 27 * DAY_US).astype("timedelta64[us]")
        parts.append(
            pd.DataFrame(
                {
                    "user_id": uid[went_quiet],
                    "updated_at": MONTH_STARTS[m] + offset,
                    "status": "deactivated",
                }
            )
        )
    # a deactivated user who is alive again in a later month reactivates at that month's start
    # (the status log is searched without reactivations, so a user can be "reactivated" twice:
    # the second record changes nothing, and the Type 2 build must ignore it)
    status_log = pd.concat([p for p in parts if "status" in p], ignore_index=True)
    status_log = status_log[["user_id", "updated_at", "status"]].sort_values(
        "updated_at"
    )
    react = pd.concat(
        [
            pd.DataFrame(
                {
                    "user_id": uid[~alive[:, m - 1] & alive[:, m]],
                    "updated_at": MONTH_STARTS[m],
                }
            )
            for m in range(2, MONTHS)
        ],
        ignore_index=True,
    )
    state = pd.merge_asof(
        react.sort_values("updated_at"),
        status_log,
        on="updated_at",
        by="user_id",
        allow_exact_matches=False,
    )
    parts.append(state[state.status == "deactivated"].assign(status="active"))
    # closed accounts: a delete record carrying the last state; nothing of theirs after it
    closed = ~np.isnat(users["deleted_at"])
    parts.append(
        pd.DataFrame(
            {
                "user_id": uid[closed],
                "updated_at": users["deleted_at"][closed],
                "op": "delete",
            }
        )
    )
    log = pd.concat(parts, ignore_index=True).sort_values(
        ["user_id", "updated_at"], kind="stable"
    )
    gone = users["deleted_at"][log.user_id.to_numpy() - 1]
    after = ~np.isnat(gone) & (log.updated_at.to_numpy() > gone)
    log = log[~after]
    log[["status", "email", "phone"]] = log.groupby("user_id")[
        ["status", "email", "phone"]
    ].ffill()
    log["name"] = name[log.user_id.to_numpy() - 1]
    log["created_at"] = signup[log.user_id.to_numpy() - 1]
    first = log.updated_at.to_numpy() == log.created_at.to_numpy()
    log["op"] = np.where(
        log.op.to_numpy() == "delete", "delete", np.where(first, "insert", "update")
    )
    log = log[~users["missing"][log.user_id.to_numpy() - 1]]  # the replication gap
    cols = [
        "user_id",
        "status",
        "name",
        "email",
        "phone",
        "created_at",
        "updated_at",
        "op",
    ]
    return pa.Table.from_pandas(log[cols].reset_index(drop=True), preserve_index=False)


# --------------------------------------------------------------------------------------------
# content
# --------------------------------------------------------------------------------------------
def _content(rows: int, seed: int, users: dict) -> dict:
    gen = synth.rng(seed, "content")
    n = max(60, rows // 20)
    creators = users["user_id"][gen.random(users["n"]) < 0.1]
    if len(creators) == 0:
        creators = users["user_id"][:1]
    order = np.argsort(users["signup"][creators - 1], kind="stable")
    creators = creators[order]
    creator_signup = users["signup"][creators - 1]
    created = np.sort(synth.uniform_times(gen, START - np.timedelta64(30, "D"), END, n))
    avail = np.searchsorted(creator_signup, created, side="right")
    pick = np.minimum(
        (gen.random(n) * np.maximum(avail, 1)).astype(np.int64), len(creators) - 1
    )
    creator = creators[pick]
    created = np.maximum(created, creator_signup[pick] + np.timedelta64(1, "s"))
    # a closed account posts nothing after it closed: such a post moves before the closing
    closed_at = users["deleted_at"][creator - 1]
    late = ~np.isnat(closed_at) & (created >= closed_at)
    lived = (closed_at[late] - creator_signup[pick][late]).astype(np.int64)
    created[late] = creator_signup[pick][late] + (
        gen.random(int(late.sum())) * lived
    ).astype("timedelta64[us]")
    order = np.argsort(created, kind="stable")
    created, creator = created[order], creator[order]
    content_id = np.arange(1, n + 1, dtype=np.int64) + 5_000
    code = synth.weighted_choice(
        gen, np.arange(len(CONTENT_TYPES)), list(PLANTED["content_mix"].values()), n
    )
    ctype = np.array(CONTENT_TYPES)[code]
    return {
        "n": n,
        "content_id": content_id,
        "created": created,
        "creator": creator,
        "creator_closed_at": users["deleted_at"][creator - 1],
        "type": ctype,
        "code": code,
    }


def _content_changes(content: dict, seed: int) -> pa.Table:
    gen = synth.rng(seed, "content_changes")
    n, cid = content["n"], content["content_id"]
    first = pd.DataFrame(
        {
            "content_id": cid,
            "content_name": np.char.add(
                np.char.add(content["type"].astype(str), " post #"), cid.astype(str)
            ),
            "content_desc": _strings("Original description of post ", cid),
            "updated_at": content["created"],
        }
    )
    edited = gen.random(n) < 0.2
    # edits stop when the creator's account closes (the post itself stays up)
    closed_at = content["creator_closed_at"][edited]
    until = np.where(np.isnat(closed_at), END, closed_at)
    span = (until - content["created"][edited]).astype(np.int64)
    when = content["created"][edited] + (gen.random(int(edited.sum())) * span).astype(
        "timedelta64[us]"
    )
    second = pd.DataFrame(
        {
            "content_id": cid[edited],
            "content_name": np.char.add(
                first.content_name.to_numpy()[edited].astype(str), " (edited)"
            ),
            "content_desc": _strings("Edited description of post ", cid[edited]),
            "updated_at": when,
        }
    )
    log = pd.concat([first, second], ignore_index=True).sort_values(
        ["content_id", "updated_at"]
    )
    idx = log.content_id.to_numpy() - cid[0]
    log["content_type"] = content["type"][idx]
    log["creator_id"] = content["creator"][idx]
    log["created_at"] = content["created"][idx]
    first_record = log.updated_at.to_numpy() == log.created_at.to_numpy()
    log["op"] = np.where(first_record, "insert", "update")
    cols = [
        "content_id",
        "content_type",
        "content_name",
        "content_desc",
        "creator_id",
        "created_at",
        "updated_at",
        "op",
    ]
    return pa.Table.from_pandas(log[cols].reset_index(drop=True), preserve_index=False)


# --------------------------------------------------------------------------------------------
# sessions and content events
# --------------------------------------------------------------------------------------------
def _session_rate(rows: int, users: dict) -> float:
    """Poisson sessions per alive user-day that give about ``events_per_row * rows`` events."""
    ui, mi = np.nonzero(users["alive"])
    lo = np.maximum(
        MONTH_STARTS[mi], _day(users["signup"])[ui] + np.timedelta64(1, "D")
    )
    days = np.maximum((MONTH_STARTS[mi + 1] - lo).astype(np.int64) // DAY_US, 0)
    views = np.array([PLANTED["views_per_session"][t] for t in DEVICE_TYPES])
    eps = (views * [PLANTED["device_mix"][t] for t in DEVICE_TYPES]).sum()
    eng = sum(
        PLANTED["content_mix"][c] * sum(PLANTED["engagement_rate"][c].values())
        for c in CONTENT_TYPES
    )
    target_sessions = PLANTED["events_per_row"] * rows / (eps * (1 + eng))
    return max(target_sessions - len(ui), 0) / max(days.sum(), 1)


def _session_starts(
    seed: int, users: dict, lam: float, lo_user: int, hi_user: int, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """(user index, start time) of every session of users ``lo_user <= index < hi_user``."""
    gen = synth.rng(seed, "sessions", chunk)
    alive = users["alive"][lo_user:hi_user]
    signup = users["signup"]
    signup_day = _day(signup)
    ui, mi = np.nonzero(alive)
    ui = ui + lo_user
    lo = np.maximum(MONTH_STARTS[mi], signup_day[ui] + np.timedelta64(1, "D"))
    hi = MONTH_STARTS[mi + 1]
    days = np.maximum(((hi - lo).astype(np.int64) // DAY_US), 0)
    # forced session: at sign-up in the sign-up month, else on a random day of the month
    born = (users["month_of"][ui] == mi) & (
        signup[ui] >= START
    )  # early users: not in Dec
    m_lo = np.maximum(MONTH_STARTS[mi], signup_day[ui])
    m_days = ((hi - m_lo).astype(np.int64) // DAY_US).clip(1)
    day_pick = m_lo + (gen.integers(0, 1 << 62, len(ui)) % m_days).astype(
        "timedelta64[D]"
    )
    forced = np.where(
        born,
        signup[ui],
        day_pick + synth.diurnal_offsets(gen, len(ui)).astype("timedelta64[s]"),
    )
    rep = np.repeat(np.arange(len(ui)), days)
    day_index = np.arange(len(rep)) - np.repeat(np.cumsum(days) - days, days)
    day_start = lo[rep] + day_index.astype("timedelta64[D]")
    per_day = gen.poisson(lam * users["level"][ui[rep]])
    s_rep = np.repeat(np.arange(len(rep)), per_day)
    starts = day_start[s_rep] + synth.diurnal_offsets(gen, len(s_rep)).astype(
        "timedelta64[s]"
    )
    user_idx = np.concatenate([ui, ui[rep[s_rep]]]).astype(np.int32)
    start = np.concatenate([forced, starts])
    return user_idx, start


def _content_events(
    seed: int, users: dict, content: dict, sessions: tuple, chunk: int
) -> dict:
    gen = synth.rng(seed, "content_events", chunk)
    user_idx, start = sessions
    dtype_of = users["device_type"][user_idx]
    s_user, t_view = [], []
    for t in DEVICE_TYPES:
        mask = dtype_of == t
        sess, times = synth.bursty_sessions(
            synth.rng(seed, "views", t, chunk),
            start[mask],
            PLANTED["views_per_session"][t],
        )
        s_user.append(user_idx[mask][sess])
        t_view.append(times)
    v_user = np.concatenate(s_user)
    v_time = np.concatenate(t_view)
    # content: recent content more often, never content posted after the view
    avail = np.searchsorted(content["created"], v_time, side="right")
    recent = (gen.random(len(v_time)) ** 3 * np.maximum(avail, 1)).astype(np.int64)
    c_idx = np.clip(avail - 1 - recent, 0, content["n"] - 1)
    ok = avail > 0
    v_user, v_time, c_idx = v_user[ok], v_time[ok], c_idx[ok]
    ccode = content["code"][c_idx]
    kinds = [np.zeros(len(v_time), dtype=np.int8)]
    e_user, e_time, e_cidx = [v_user], [v_time], [c_idx]
    for k, name in enumerate(ENGAGEMENTS, start=1):
        p = np.array([PLANTED["engagement_rate"][c][name] for c in CONTENT_TYPES])[
            ccode
        ]
        hit = gen.random(len(v_time)) < p
        lag = gen.exponential(8e6, int(hit.sum())).astype(np.int64) + 1_000_000
        e_user.append(v_user[hit])
        e_time.append(v_time[hit] + lag.astype("timedelta64[us]"))
        e_cidx.append(c_idx[hit])
        kinds.append(np.full(int(hit.sum()), k, dtype=np.int8))
    ev = {
        "user_idx": np.concatenate(e_user),
        "event_time": np.concatenate(e_time),
        "content_idx": np.concatenate(e_cidx),
        "kind": np.concatenate(kinds),
    }
    keep = ev["event_time"] < END  # the extract is taken at END
    return {k: v[keep] for k, v in ev.items()}


# --------------------------------------------------------------------------------------------
# campaigns and ad events
# --------------------------------------------------------------------------------------------
def _campaigns(rows: int, seed: int) -> pd.DataFrame:
    gen = synth.rng(seed, "campaigns")
    n = 10 + rows // 4000
    ctype = synth.weighted_choice(
        gen, CAMPAIGN_TYPES, list(PLANTED["campaign_mix"].values()), n
    )
    ctype[: len(CAMPAIGN_TYPES)] = CAMPAIGN_TYPES  # one always-on campaign per type
    start = synth.uniform_times(
        gen, START - np.timedelta64(30, "D"), END - np.timedelta64(14, "D"), n
    )
    length = gen.integers(14, 120, n).astype("timedelta64[D]")
    start[: len(CAMPAIGN_TYPES)] = START - np.timedelta64(7, "D")
    end = start + length
    end[: len(CAMPAIGN_TYPES)] = END + np.timedelta64(30, "D")
    created = start - gen.integers(1, 20, n).astype("timedelta64[D]")
    cid = np.arange(1, n + 1, dtype=np.int64) + 700
    return pd.DataFrame(
        {
            "campaign_id": cid,
            "campaign_type": ctype,
            "campaign_name": np.char.add(
                np.char.add(ctype.astype(str), " campaign "), cid.astype(str)
            ),
            "campaign_desc": _strings("Campaign ", cid, " of the synthetic advertiser"),
            "created_at": created,
            "starttime": start,
            "endtime": end,
            "bid": np.round(gen.uniform(0.2, 2.0, n), 2),
        }
    )


def _ad_events(seed: int, campaigns: pd.DataFrame, sessions: tuple, chunk: int) -> dict:
    gen = synth.rng(seed, "ad_events", chunk)
    user_idx, start = sessions
    per = gen.poisson(1.5, len(start))
    rep = np.repeat(np.arange(len(start)), per)
    t_imp = start[rep] + gen.integers(0, 300_000_000, len(rep)).astype(
        "timedelta64[us]"
    )
    u_imp = user_idx[rep]
    c_start = campaigns.starttime.to_numpy()
    c_end = campaigns.endtime.to_numpy()
    n_c = len(campaigns)
    camp = np.full(len(rep), -1)
    for _ in range(8):
        todo = camp < 0
        cand = gen.integers(0, n_c, int(todo.sum()))
        running = (c_start[cand] <= t_imp[todo]) & (t_imp[todo] < c_end[cand])
        camp[np.flatnonzero(todo)[running]] = cand[running]
    todo = camp < 0
    camp[todo] = gen.integers(
        0, len(CAMPAIGN_TYPES), int(todo.sum())
    )  # the always-on ones
    code = pd.Categorical(campaigns.campaign_type, categories=CAMPAIGN_TYPES).codes[
        camp
    ]
    ctr = np.array([PLANTED["ctr"][c] for c in CAMPAIGN_TYPES])[code]
    cvr = np.array([PLANTED["cvr"][c] for c in CAMPAIGN_TYPES])[code]
    click = gen.random(len(rep)) < ctr
    t_click = t_imp[click] + (
        gen.exponential(20e6, int(click.sum())).astype(np.int64) + 500_000
    ).astype("timedelta64[us]")
    conv = gen.random(int(click.sum())) < cvr[click]
    t_conv = t_click[conv] + gen.exponential(600e6, int(conv.sum())).astype(
        np.int64
    ).astype("timedelta64[us]")
    bid = campaigns.bid.to_numpy()
    n_imp, n_click, n_conv = len(rep), int(click.sum()), int(conv.sum())
    ev = {
        "user_idx": np.concatenate([u_imp, u_imp[click], u_imp[click][conv]]),
        "event_time": np.concatenate([t_imp, t_click, t_conv]),
        "camp_idx": np.concatenate([camp, camp[click], camp[click][conv]]),
        "kind": np.concatenate(
            [
                np.zeros(n_imp, np.int8),
                np.ones(n_click, np.int8),
                np.full(n_conv, 2, np.int8),
            ]
        ),
        "revenue": np.concatenate(
            [np.zeros(n_imp + n_click), np.round(gen.lognormal(3.2, 0.6, n_conv), 2)]
        ),
        "cost": np.concatenate([np.zeros(n_imp), bid[camp[click]], np.zeros(n_conv)]),
    }
    keep = ev["event_time"] < END
    return {k: v[keep] for k, v in ev.items()}


# --------------------------------------------------------------------------------------------
# dirt
# --------------------------------------------------------------------------------------------
def _dirty(columns: dict[str, np.ndarray], seed: int, stream: str, chunk: int):
    """Add received_at and the planted dirt to one event log (dict of equal-length arrays)."""
    gen = synth.rng(seed, "dirt", stream, chunk)
    n = len(columns["event_id"])
    received = columns["event_time"] + (
        gen.exponential(2e6, n).astype(np.int64) + 50_000
    ).astype("timedelta64[us]")
    columns = {**columns, "received_at": received}
    dup = np.flatnonzero(gen.random(n) < PLANTED["duplicate_rate"])
    fut = np.flatnonzero(gen.random(n) < PLANTED["future_rate"])
    skew = gen.integers(DAY_US, 400 * DAY_US, len(fut)).astype("timedelta64[us]")
    columns["event_time"] = columns["event_time"].copy()
    columns["event_time"][fut] = columns["event_time"][fut] + skew
    retry = {k: v[dup] for k, v in columns.items()}
    retry["received_at"] = retry["received_at"] + (
        gen.exponential(30e6, len(dup)).astype(np.int64) + 1_000_000
    ).astype("timedelta64[us]")
    out = {k: np.concatenate([columns[k], retry[k]]) for k in columns}
    return out


def _unlogged(columns: dict[str, np.ndarray], users: dict) -> dict[str, np.ndarray]:
    """The incident: drop the events the Android release did not log (retries included)."""
    incident = PLANTED["incident"]
    lost = (
        (columns["kind"] == ["view", *ENGAGEMENTS].index(incident["event_type"]))
        & (users["os"][columns["user_idx"]] == incident["os"])
        & (
            columns["event_time"].astype("datetime64[D]")
            == np.datetime64(incident["day"], "D")
        )
    )
    return {k: v[~lost] for k, v in columns.items()}


#: Users per chunk of events: the generator yields the event logs in chunks so memory stays
#: flat at any scale. Chunks are cut by user, so the same seed gives the same tables.
CHUNK_USERS = 5_000
#: Event ids are ``chunk * ID_STRIDE + n``: unique across chunks, readable in small builds.
ID_STRIDE = 1_000_000_000


def dimensions(rows: int, seed: int) -> tuple[dict, dict[str, pa.Table]]:
    """The simulation state and the small raw tables (change logs, campaigns, devices)."""
    rows = synth.resolve_scale(rows)
    users = _users(rows, seed)
    content = _content(rows, seed, users)
    campaigns = _campaigns(rows, seed)
    state = {
        "rows": rows,
        "users": users,
        "content": content,
        "campaigns": campaigns,
        "lam": _session_rate(rows, users),
    }
    device = pa.table(
        {
            "device_id": users["device_id"],
            "device_type": pa.array(users["device_type"].astype(str)),
            "os": pa.array(users["os"].astype(str)),
        }
    )
    campaign = pa.Table.from_pandas(campaigns.drop(columns="bid"), preserve_index=False)
    tables = {
        "user_changes": _user_changes(users, seed),
        "content_changes": _content_changes(content, seed),
        "campaign": campaign,
        "device": device,
    }
    return state, tables


def event_chunks(state: dict, seed: int):
    """Yield ``{"content_event": ..., "ad_event": ...}`` for each chunk of users."""
    users, content, campaigns = state["users"], state["content"], state["campaigns"]
    ip = pa.array(users["ip"])
    money = pa.decimal128(18, 2)
    for chunk, lo in enumerate(range(0, users["n"], CHUNK_USERS)):
        hi = min(lo + CHUNK_USERS, users["n"])
        sessions = _session_starts(seed, users, state["lam"], lo, hi, chunk)
        ce = _content_events(seed, users, content, sessions, chunk)
        ce_cols = {
            "event_id": chunk * ID_STRIDE
            + np.arange(1, len(ce["kind"]) + 1, dtype=np.int64),
            "event_time": ce["event_time"],
            "kind": ce["kind"],
            "content_idx": ce["content_idx"],
            "viewer_id": users["user_id"][ce["user_idx"]],
            "user_idx": ce["user_idx"],
        }
        del ce
        ce_cols = _dirty(ce_cols, seed, "content_event", chunk)
        ce_cols = _unlogged(ce_cols, users)
        uidx = ce_cols["user_idx"]
        content_event = pa.table(
            {
                "event_id": ce_cols["event_id"],
                "event_time": pa.array(ce_cols["event_time"], pa.timestamp("us")),
                "event_type": pa.array(["view", *ENGAGEMENTS]).take(
                    pa.array(ce_cols["kind"])
                ),
                "content_id": content["content_id"][ce_cols["content_idx"]],
                "creator_id": content["creator"][ce_cols["content_idx"]],
                "viewer_id": ce_cols["viewer_id"],
                "device_id": users["device_id"][uidx],
                "ip_address": ip.take(pa.array(uidx)),
                "received_at": pa.array(ce_cols["received_at"], pa.timestamp("us")),
            }
        )
        del ce_cols, uidx
        ae = _ad_events(seed, campaigns, sessions, chunk)
        ae_cols = {
            "event_id": chunk * ID_STRIDE
            + np.arange(1, len(ae["kind"]) + 1, dtype=np.int64),
            "event_time": ae["event_time"],
            "kind": ae["kind"],
            "camp_idx": ae["camp_idx"],
            "user_id": users["user_id"][ae["user_idx"]],
            "user_idx": ae["user_idx"],
            "revenue": ae["revenue"],
            "cost": ae["cost"],
        }
        del ae
        ae_cols = _dirty(ae_cols, seed, "ad_event", chunk)
        ad_event = pa.table(
            {
                "event_id": ae_cols["event_id"],
                "event_time": pa.array(ae_cols["event_time"], pa.timestamp("us")),
                "event_type": pa.array(["impression", "click", "conversion"]).take(
                    pa.array(ae_cols["kind"])
                ),
                "campaign_id": campaigns.campaign_id.to_numpy()[ae_cols["camp_idx"]],
                "user_id": ae_cols["user_id"],
                "device_id": users["device_id"][ae_cols["user_idx"]],
                "ip_address": ip.take(pa.array(ae_cols["user_idx"])),
                "revenue": pa.array(ae_cols["revenue"]).cast(money),
                "cost": pa.array(ae_cols["cost"]).cast(money),
                "received_at": pa.array(ae_cols["received_at"], pa.timestamp("us")),
            }
        )
        del ae_cols
        yield {"content_event": content_event, "ad_event": ad_event}


def generate(rows: int, seed: int) -> dict[str, pa.Table]:
    """Raw tables as the source systems hand them over, for ``rows`` main-fact rows.

    About ``PLANTED["events_per_row"] * rows`` content events, ``rows / 10`` users. Returns
    ``user_changes``, ``content_changes``, ``campaign``, ``device``, ``content_event`` and
    ``ad_event`` (the event logs with ``received_at`` and the planted dirt). The build uses
    :func:`dimensions` and :func:`event_chunks` instead, to keep memory flat at large scales.
    """
    state, tables = dimensions(rows, seed)
    chunks = list(event_chunks(state, seed))
    for name in ("content_event", "ad_event"):
        tables[name] = pa.concat_tables([c[name] for c in chunks])
    return tables


def simulated_states(rows: int, seed: int) -> pd.DataFrame:
    """The simulation's hidden monthly states, for tests: one row per user and month.

    ``exists``: signed up by the end of the month; ``alive``: active in it; ``closed``: the
    account was closed before the month started (it can never be active again); ``missing``:
    the change log never delivers the account (the warehouse infers it from its events).
    """
    users = _users(synth.resolve_scale(rows), seed)
    n = users["n"]
    month = np.tile(MONTH_STARTS[:MONTHS].astype("datetime64[D]"), n)
    index = np.tile(np.arange(MONTHS), n)
    return pd.DataFrame(
        {
            "user_id": np.repeat(users["user_id"], MONTHS),
            "device_type": np.repeat(users["device_type"].astype(str), MONTHS),
            "month": month,
            "exists": np.repeat(users["month_of"], MONTHS) <= index,
            "alive": users["alive"].ravel(),
            "closed": np.repeat(users["deleted_month"], MONTHS) < index,
            "missing": np.repeat(users["missing"], MONTHS),
        }
    )


# --------------------------------------------------------------------------------------------
# the landing zone: the day each source hands each row over
# --------------------------------------------------------------------------------------------
#: The column holding a raw row's landing date: the UTC day its source handed it over (the
#: ``date=`` partition of the landing zone). Only landing dates are drawn here: no event, no
#: change and no random draw of the simulation above moves.
LANDING = "landing_date"
#: The first landing day: the initial extracts (devices, campaigns, and the change records
#: made before the period) land on it.
FIRST_LANDING_DAY = int(START.astype("datetime64[D]").astype(np.int64))
#: Late deliveries. A phone offline for a while holds back every event of its user's day: they
#: land one to three days after the day they happened (within the default lookback of three
#: days; a lookback of one refuses those two or three days late). The ad server's feed of one
#: day is re-sent a day late. A few change records reach the warehouse a day or two after the
#: change.
LATE = {
    "offline_share": 0.02,
    "offline_days": (1, 3),
    "resent_feed": {"source": "ad_event", "day": "2026-03-10", "days": 1},
    "late_change_share": 0.03,
    "late_change_days": (1, 2),
}


def _mix(seed: int, stream: str, *parts: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per row from ``parts`` (splitmix64): the same row gets the
    same number whatever chunk or order it comes in."""
    import zlib

    h = np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64) ^ np.uint64(
        zlib.crc32(stream.encode())
    )
    out = np.full(len(parts[0]), h, np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            out = out ^ np.asarray(part).astype(np.int64).view(np.uint64)
            out = out + np.uint64(0x9E3779B97F4A7C15)
            out = (out ^ (out >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            out = (out ^ (out >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            out = out ^ (out >> np.uint64(31))
    return (out >> np.uint64(11)).astype(np.float64) / float(2**53)


def _day_numbers(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    us = np.asarray(column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False))
    return us.astype("datetime64[D]").astype(np.int64)


def _delay(u: np.ndarray, share: float, days: tuple[int, int]) -> np.ndarray:
    """0 for most rows; ``days[0]..days[1]`` (uniform) for a share ``share`` of them."""
    lo, hi = days
    late = u < share
    return np.where(late, lo + np.floor(u / share * (hi - lo + 1)), 0).astype(np.int64)


def event_day(event_time: np.ndarray, received: np.ndarray) -> np.ndarray:
    """The day an event belongs to (day numbers): its own, or the day the server received it
    when its clock was ahead (a future time)."""
    return np.minimum(event_time, received)


def with_landing(seed: int, name: str, table: pa.Table) -> pa.Table:
    """``table`` (a raw source) with its ``landing_date`` column (date32)."""
    n = table.num_rows
    if name in ("content_event", "ad_event"):
        happened = event_day(
            _day_numbers(table["event_time"]), _day_numbers(table["received_at"])
        )
        base = _day_numbers(table["received_at"])
        user = table["viewer_id" if name == "content_event" else "user_id"]
        user = np.asarray(user.to_numpy(zero_copy_only=False), np.int64)
        # a phone offline: every event of the user's day, in both logs, held back alike
        u = _mix(seed, "offline", user, happened)
        days = np.maximum(
            base, happened + _delay(u, LATE["offline_share"], LATE["offline_days"])
        )
        feed = LATE["resent_feed"]
        if feed["source"] == name:
            day = int(np.datetime64(feed["day"], "D").astype(np.int64))
            days = np.where(base == day, np.maximum(days, base + feed["days"]), days)
    elif name in ("user_changes", "content_changes"):
        key = table["user_id" if name == "user_changes" else "content_id"]
        key = np.asarray(key.to_numpy(zero_copy_only=False), np.int64)
        at = np.asarray(
            table["updated_at"].cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        ).astype(np.int64)
        happened = at // DAY_US
        u = _mix(seed, "late change", key, at)
        days = happened + _delay(u, LATE["late_change_share"], LATE["late_change_days"])
    else:  # reference extracts: the initial extract, on the first day
        days = np.full(n, FIRST_LANDING_DAY, np.int64)
    days = np.maximum(days, FIRST_LANDING_DAY).astype(np.int32)
    return table.append_column(LANDING, pa.array(days, pa.int32()).cast(pa.date32()))


def landed_chunks(rows: int, seed: int):
    """The raw tables with their landing dates, in pieces: ``(source, table)``, the small
    tables first, then the event logs chunk by chunk (:func:`event_chunks`)."""
    state, small = dimensions(rows, seed)
    for name, table in small.items():
        yield name, with_landing(seed, name, table)
    del small
    for chunk in event_chunks(state, seed):
        for name, table in chunk.items():
            yield name, with_landing(seed, name, table)


def generate_landed(rows: int, seed: int) -> dict[str, pa.Table]:
    """:func:`generate` with every raw row's ``landing_date``."""
    pieces: dict[str, list[pa.Table]] = {}
    for name, table in landed_chunks(rows, seed):
        pieces.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in pieces.items()}
