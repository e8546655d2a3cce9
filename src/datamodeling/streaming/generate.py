"""Synthetic sources for the video streaming practice, with planted truths and planted dirt.

``rows`` is the number of playback sessions (the practice's main fact); the player's event log
holds about ten events per session, so ``medium`` (1 M sessions) gives about 10 M viewing events.

What the sources hand over (all times UTC, naive):

* ``users`` and ``devices``: extracts of the accounts database (with each account's home time
  zone) and of the device registry. The registry extract was taken on
  :data:`REGISTRY_EXTRACT_AT`: devices registered after it are missing from it, although their
  viewers play on them (a late-arriving dimension);
* ``genres``, ``creators`` and ``content_changes``: the content management system, whose change
  log re-tags some titles into another genre on one day (:data:`RETAG_AT`), renames a few,
  repeats unchanged images (no-op updates) and withdraws a few titles when their licence ends
  (a record flagged ``is_deleted``). A title lists one to three genres (``genre_list``, the
  primary genre first; ``genre_id`` is the primary one). Plays and recommendations of a
  withdrawn title go on after the withdrawal: downloaded copies stay playable for
  :data:`DOWNLOAD_GRACE_DAYS` days, and the recommender's catalogue cache lags;
* ``recommendation_events``: every recommendation shown, by two algorithms, clicked or not;
* ``viewing_events``: the player's log: ``play``, ``pause``, ``seek``, ``heartbeat`` (every six
  minutes of playback) and ``stop``, with the playhead position. A ``seek`` carries the position
  the viewer left; the player then sends a ``play`` at the new position;
* ``quality_events``: ``startup`` (time to first frame), ``rebuffer`` (a stall and its length)
  and ``bitrate_change``, with the app version running the stream.

Planted truths (in :data:`PLANTED`, read by tests and notebooks):

* the ``personalized`` algorithm's click-through rate is 4 points above ``trending`` (12 % vs
  8 %); three in four clicks start a playback; personalized views complete 10 points more often;
* a stream that rebuffers at least once completes 20 points less often (55 % → 35 % for
  organic views), whatever the device;
* each user segment chooses genres with a set affinity (:data:`GENRE_AFFINITY`) for organic views,
  using the genre the title was filed under at the time;
* app version ``5.2.0`` rebuffers 1.8 times as often as the others;
* people watch in the evening of their own clock: visits and browsing start at a local hour
  drawn from :func:`datamodeling.synth.diurnal_offsets` with peaks at :data:`PEAK_LOCAL_HOURS`,
  in the viewer's home time zone (:data:`TIME_ZONES`), so the pattern is sharp by local hour and
  smeared by UTC hour;
* **the incident** of the metric investigation (``PLANTED["incident"]``, the sixth notebook): a
  TV-only patch, app version ``5.3.1``, is live for one UTC day (Tuesday 25 March 2025). Each TV
  installs it within about an hour of the release; on the patch, playback stops when the end
  credits begin (84-89 % of the title), so a stream that would have gone past that point ends
  there, short of the completion threshold. Stalls are unchanged: the patch is not a bad release
  in the sense of :data:`BAD_APP_VERSION`. Its draws come from a stream of their own, so only the
  patched streams (and the dirt drawn over the player's log) change.

Planted dirt, all handled by the build:

* events that arrive late, so arrival order (``event_id``) differs from event order within a
  session (ordered by ``event_time``);
* duplicate heartbeats (a retry: the same event again with a new ``event_id``) → quarantined;
* sessions with a ``stop`` and no ``play`` → quarantined;
* a ``stop`` reported a few seconds past the end of the title → position capped at the duration;
* impressions logged twice → quarantined; rebuffer events with a negative duration → quarantined.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from datamodeling import calendar, synth

START = np.datetime64("2025-01-01T00:00:00", "us")
DAYS = 90
END = START + np.timedelta64(DAYS, "D")
#: The device registry extract was taken then; devices registered later are missing from it.
REGISTRY_EXTRACT_AT = np.datetime64("2024-12-01T00:00:00", "us")
#: Share of devices registered after the extract (their events name an unknown device).
LATE_DEVICE_SHARE = 0.02
#: Share of titles withdrawn (licence ended) in the window's last :data:`WITHDRAW_DAYS` days.
WITHDRAWN_SHARE = 0.04
WITHDRAW_DAYS = 30
DOWNLOAD_GRACE_DAYS = 30
#: Extra genres a title is listed under, beyond its primary one: P(0), P(1), P(2).
EXTRA_GENRE_P = [0.50, 0.35, 0.15]
#: Local hours around which visits and browsing start (see synth.diurnal_offsets).
PEAK_LOCAL_HOURS = (13, 21)
#: Each account's home time zone, by billing country, with weights.
TIME_ZONES = {
    "US": {
        "America/New_York": 0.47,
        "America/Chicago": 0.29,
        "America/Denver": 0.07,
        "America/Los_Angeles": 0.17,
    },
    "GB": {"Europe/London": 1.0},
    "DE": {"Europe/Berlin": 1.0},
    "FR": {"Europe/Paris": 1.0},
    "BR": {"America/Sao_Paulo": 1.0},
    "IN": {"Asia/Kolkata": 1.0},
}
COUNTRIES = list(TIME_ZONES)
COUNTRY_WEIGHTS = [40, 12, 10, 10, 14, 14]
#: The catalogue team re-tags some titles into another genre at this instant.
RETAG_AT = np.datetime64("2025-02-15T06:00:00", "us")
HEARTBEAT_SECONDS = 360
COMPLETION_THRESHOLD = 0.90

GENRES = [
    "Drama",
    "Comedy",
    "Action",
    "Thriller",
    "Documentary",
    "Kids",
    "Sci-Fi",
    "Romance",
    "Horror",
    "Animation",
]
SEGMENTS = ["family", "thrill_seeker", "story_lover", "factual"]
SEGMENT_WEIGHTS = [0.25, 0.30, 0.30, 0.15]
#: P(genre | segment) for an organic view, in the order of :data:`GENRES`.
GENRE_AFFINITY = {
    "family": [0.05, 0.15, 0.05, 0.02, 0.05, 0.35, 0.03, 0.04, 0.01, 0.25],
    "thrill_seeker": [0.08, 0.07, 0.25, 0.20, 0.03, 0.02, 0.15, 0.03, 0.15, 0.02],
    "story_lover": [0.30, 0.15, 0.05, 0.10, 0.08, 0.02, 0.05, 0.20, 0.02, 0.03],
    "factual": [0.15, 0.10, 0.05, 0.05, 0.40, 0.03, 0.10, 0.05, 0.03, 0.04],
}
ALGORITHMS = ["personalized", "trending"]
CTR = {"personalized": 0.12, "trending": 0.08}
WATCH_GIVEN_CLICK = 0.75
BASE_COMPLETION = 0.55
PERSONALIZED_COMPLETION_LIFT = 0.10
REBUFFER_COMPLETION_DROP = 0.20
DEVICE_TYPES = ["tv", "mobile", "tablet", "web"]
DEVICE_WEIGHTS = [0.35, 0.35, 0.15, 0.15]
OS_BY_DEVICE = {
    "tv": ["tvOS", "Android TV", "Tizen", "webOS"],
    "mobile": ["iOS", "Android"],
    "tablet": ["iPadOS", "Android"],
    "web": ["Windows", "macOS", "ChromeOS"],
}
REBUFFER_PROBABILITY = {"tv": 0.10, "mobile": 0.32, "tablet": 0.22, "web": 0.18}
STARTUP_MEDIAN_MS = {"tv": 1200, "mobile": 2200, "tablet": 1600, "web": 1800}
BASE_BITRATE_LEVEL = {"tv": 4, "mobile": 2, "tablet": 3, "web": 3}
BITRATE_LADDER = np.array([800, 1600, 2500, 4000, 6000, 8000])
APP_VERSIONS = ["5.0.0", "5.1.0", "5.2.0", "5.3.0"]
APP_RELEASES = np.array(
    ["2024-10-01", "2025-01-20", "2025-02-20", "2025-03-12"], dtype="datetime64[us]"
)
BAD_APP_VERSION = "5.2.0"
BAD_APP_REBUFFER_FACTOR = 1.8
#: The metric investigation's planted cause: a TV-only patch, live for one day, that ends
#: playback when the end credits begin.
INCIDENT = {
    "cause": "release",
    "device_type": "tv",
    "app_version": "5.3.1",
    "released_at": "2025-03-25T00:00:00",
    "rolled_back_at": "2025-03-26T00:00:00",
    "install_hours": 1.0,  # mean delay before a TV installs the patch (exponential)
    "credits_start": [
        0.84,
        0.89,
    ],  # where the end credits begin, as a share of the title
}
#: Every app version a stream can run: the regular releases, then the incident's patch.
VERSION_LABELS = [*APP_VERSIONS, INCIDENT["app_version"]]
ACTIONS = ["play", "pause", "seek", "heartbeat", "stop"]
PLAY, PAUSE, SEEK, HEARTBEAT, STOP = range(5)
CHUNK_SESSIONS = (
    100_000  # sessions per chunk of the player's log (fixed: same seed, same data)
)
QUALITY_TYPES = ["startup", "rebuffer", "bitrate_change"]

#: Dirt rates.
LATE_EVENT_SESSION_SHARE = 0.03
DUPLICATE_HEARTBEAT_SHARE = 0.02
ORPHAN_STOP_SHARE = 0.005
OVERSHOOT_STOP_SHARE = 0.3  # of sessions that play to the very end
DUPLICATE_IMPRESSION_SHARE = 0.005
NEGATIVE_REBUFFER_SHARE = 0.003

PLANTED = {
    "window_start": str(START.astype("datetime64[s]")),
    "window_days": DAYS,
    "retag_at": str(RETAG_AT.astype("datetime64[s]")),
    "completion_threshold": COMPLETION_THRESHOLD,
    "ctr": dict(CTR),
    "ctr_margin": CTR["personalized"] - CTR["trending"],
    "watch_given_click": WATCH_GIVEN_CLICK,
    "base_completion": BASE_COMPLETION,
    "personalized_completion_lift": PERSONALIZED_COMPLETION_LIFT,
    "rebuffer_completion_drop": REBUFFER_COMPLETION_DROP,
    "genre_affinity": {
        s: dict(zip(GENRES, w, strict=True)) for s, w in GENRE_AFFINITY.items()
    },
    "rebuffer_probability": dict(REBUFFER_PROBABILITY),
    "bad_app_version": BAD_APP_VERSION,
    "bad_app_rebuffer_factor": BAD_APP_REBUFFER_FACTOR,
    "heartbeat_seconds": HEARTBEAT_SECONDS,
    "recommended_share": 0.20,
    "peak_local_hours": list(PEAK_LOCAL_HOURS),
    "late_device_share": LATE_DEVICE_SHARE,
    "withdrawn_share": WITHDRAWN_SHARE,
    "extra_genre_p": list(EXTRA_GENRE_P),
    "incident": INCIDENT,
}

_FIRST = np.array(
    [
        "Ada",
        "Ben",
        "Chloe",
        "Dev",
        "Ema",
        "Farid",
        "Gia",
        "Hugo",
        "Iris",
        "Jon",
        "Kemi",
        "Lena",
    ]
)
_LAST = np.array(
    ["Abe", "Baker", "Costa", "Diaz", "Eze", "Fox", "Gupta", "Holm", "Ito", "Jung"]
)
_WORDS = np.array(
    [
        "Night",
        "River",
        "Last",
        "Blue",
        "Iron",
        "Quiet",
        "Lost",
        "Golden",
        "Wild",
        "Hidden",
    ]
)
_NOUNS = np.array(
    ["City", "Garden", "Signal", "Empire", "Road", "Island", "House", "Code"]
)


def _dict_array(codes: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int8)), pa.array(list(values))
    )


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[us]"), type=pa.timestamp("us"))


def _group_starts(counts: np.ndarray) -> np.ndarray:
    return np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)


def _within_group_index(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... inside each group of consecutive rows of the given sizes."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(_group_starts(counts), counts)


def _exclusive_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sum of the previous rows of the same group (groups are consecutive rows)."""
    cs = np.cumsum(values)
    excl = cs - values
    return excl - np.repeat(excl[_group_starts(counts)], counts)


def _sizes(rows: int) -> dict[str, int]:
    n_content = int(np.clip(rows // 40, 120, 4000))
    return {
        "users": max(100, rows // 20),
        "content": n_content,
        "creators": max(20, n_content // 6),
    }


def _genre_pools(genre_by_title: np.ndarray, popularity: np.ndarray):
    """Cumulative popularity keys so that ``searchsorted(keys, g + u)`` draws a title of genre g."""
    order = np.lexsort((np.arange(len(genre_by_title)), genre_by_title))
    g = genre_by_title[order]
    w = popularity[order]
    counts = np.bincount(g, minlength=len(GENRES))
    if (counts == 0).any():
        raise ValueError("every genre needs at least one title")
    cum = np.cumsum(w)
    before = np.repeat((cum - w)[_group_starts(counts)], counts)
    total = np.repeat(np.add.reduceat(w, _group_starts(counts)), counts)
    keys = g + (cum - before) / total
    keys[np.r_[_group_starts(counts)[1:] - 1, len(keys) - 1]] = (
        g[np.r_[_group_starts(counts)[1:] - 1, len(keys) - 1]] + 1.0
    )
    return keys, order


def _draw_titles(
    gen, genre: np.ndarray, keys: np.ndarray, order: np.ndarray
) -> np.ndarray:
    u = gen.random(len(genre)) * (1 - 1e-12)
    idx = np.searchsorted(keys, genre + u, side="right")
    return order[np.minimum(idx, len(order) - 1)]


def _app_version_index(
    adopt: np.ndarray, device: np.ndarray, at: np.ndarray
) -> np.ndarray:
    """Latest app version the device had adopted at time ``at`` (index into APP_VERSIONS)."""
    adopted = adopt[device] <= at[:, None]
    adopted[:, 0] = True
    return (len(APP_VERSIONS) - 1 - np.argmax(adopted[:, ::-1], axis=1)).astype(np.int8)


def _local_to_utc(local: np.ndarray, zone: np.ndarray, zones: list[str]) -> np.ndarray:
    """UTC instants of naive local times, ``zone`` indexing ``zones`` (IANA names).

    The offset is looked up at the UTC guess and looked up again once, which settles every local
    time but the hour that a spring-forward skips (those land an hour off, as a clock would).
    """
    periods = calendar.utc_offsets(
        zones, START - np.timedelta64(15, "D"), END + np.timedelta64(15, "D")
    )
    local_us = local.astype("datetime64[us]").astype(np.int64)
    out = np.empty(len(local_us), dtype=np.int64)
    for z, name in enumerate(zones):
        mask = zone == z
        if not mask.any():
            continue
        p = periods[periods.time_zone == name]
        starts = p.utc_from.to_numpy().astype("datetime64[us]").astype(np.int64)
        offsets = p.utc_offset_seconds.to_numpy().astype(np.int64) * 1_000_000
        guess = local_us[mask] - offsets[0]
        for _ in range(2):
            i = np.clip(
                np.searchsorted(starts, guess, side="right") - 1, 0, len(starts) - 1
            )
            guess = local_us[mask] - offsets[i]
        out[mask] = guess
    return out.astype("datetime64[us]")


def _local_evening_starts(
    g, size: int, zone: np.ndarray, zones: list[str]
) -> np.ndarray:
    """UTC start times of visits: a local day of the window and a local hour of the diurnal cycle.

    A start that falls outside the UTC window moves by a week, which keeps its local weekday and
    hour, so every UTC day of the window is complete and the local pattern is the planted one.
    """
    day = g.integers(0, DAYS, size).astype("timedelta64[D]").astype("timedelta64[us]")
    offset = (synth.diurnal_offsets(g, size, PEAK_LOCAL_HOURS) * 1_000_000).astype(
        "timedelta64[us]"
    )
    utc = _local_to_utc(START + day + offset, zone, zones)
    week = np.timedelta64(7, "D")
    utc = np.where(utc < START, utc + week, utc)
    return np.where(utc >= END, utc - week, utc)


def generate(rows: int, seed: int) -> dict[str, pa.Table]:
    """Raw source tables for ``rows`` playback sessions (see the module docstring)."""
    tables, chunks = generate_parts(rows, seed)
    tables = dict(tables)
    tables["viewing_events"] = pa.concat_tables(list(chunks))
    return tables


def generate_parts(rows: int, seed: int):
    """``(tables, viewing_event_chunks)``: every raw table but the player's log, and an iterator
    over the log in chunks of sessions, so a large build never holds it all in memory."""
    rows = int(rows)
    if rows <= 0:
        raise ValueError("rows must be positive")
    n = _sizes(rows)
    out: dict[str, pa.Table] = {}

    # ---- users -------------------------------------------------------------------------
    g = synth.rng(seed, "users")
    n_users = n["users"]
    user_id = np.arange(1, n_users + 1, dtype=np.int64)
    segment = g.choice(len(SEGMENTS), size=n_users, p=np.array(SEGMENT_WEIGHTS))
    activity = g.gamma(1.5, 1.0, size=n_users)
    first = _FIRST[g.integers(0, len(_FIRST), n_users)]
    last = _LAST[g.integers(0, len(_LAST), n_users)]
    name = np.char.add(np.char.add(first, " "), last)
    email = np.char.add(np.char.add("user", user_id.astype(str)), "@example.com")
    signup = synth.uniform_times(
        g, np.datetime64("2019-01-01"), np.datetime64("2024-12-31"), n_users
    ).astype("datetime64[D]")
    country = synth.weighted_choice(g, COUNTRIES, COUNTRY_WEIGHTS, n_users)
    plan = synth.weighted_choice(
        g, ["basic", "standard", "premium"], [35, 45, 20], n_users
    )
    zones = sorted({z for by_country in TIME_ZONES.values() for z in by_country})
    user_zone = np.empty(n_users, dtype=np.int64)
    for code, by_country in TIME_ZONES.items():
        mask = country == code
        names = list(by_country)
        picked = synth.weighted_choice(
            g, names, list(by_country.values()), int(mask.sum())
        )
        user_zone[mask] = [zones.index(z) for z in picked]
    out["users"] = pa.table(
        {
            "user_id": user_id,
            "name": name,
            "email": email,
            "signup_date": pa.array(signup, type=pa.date32()),
            "country": country,
            "plan": plan,
            "segment": np.array(SEGMENTS)[segment],
            "time_zone": np.array(zones)[user_zone],
        }
    )

    # ---- devices -----------------------------------------------------------------------
    g = synth.rng(seed, "devices")
    dev_count = np.minimum(1 + g.poisson(0.8, size=n_users), 4)
    n_dev = int(dev_count.sum())
    dev_first = _group_starts(dev_count)
    device_user = np.repeat(np.arange(n_users), dev_count)
    device_id = np.arange(1, n_dev + 1, dtype=np.int64)
    dtype_code = g.choice(len(DEVICE_TYPES), size=n_dev, p=np.array(DEVICE_WEIGHTS))
    os_name = np.empty(n_dev, dtype=object)
    for code, kind in enumerate(DEVICE_TYPES):
        mask = dtype_code == code
        os_name[mask] = np.array(OS_BY_DEVICE[kind])[
            g.integers(0, len(OS_BY_DEVICE[kind]), mask.sum())
        ]
    # Each device adopts each app release after its own delay (days).
    delay = g.exponential(6.0, size=(n_dev, len(APP_VERSIONS))) * 86_400e6
    adopt = APP_RELEASES[None, :] + delay.astype(np.int64).astype("timedelta64[us]")
    registered = synth.uniform_times(
        g, np.datetime64("2020-01-01"), np.datetime64("2024-12-01"), n_dev
    )
    # devices registered after the registry extract was taken are missing from it
    late_device = g.random(n_dev) < LATE_DEVICE_SHARE
    registered = np.where(
        late_device,
        synth.uniform_times(g, REGISTRY_EXTRACT_AT, START, n_dev),
        registered,
    )
    latest_version = _app_version_index(adopt, np.arange(n_dev), np.full(n_dev, END))
    out["devices"] = pa.table(
        {
            "device_id": device_id,
            "user_id": user_id[device_user],
            "device_type": np.array(DEVICE_TYPES)[dtype_code],
            "os": os_name.astype(str),
            "app_version": np.array(APP_VERSIONS)[latest_version],
            "registered_at": _ts(registered),
        }
    ).filter(pa.array(~late_device))

    # ---- catalogue ---------------------------------------------------------------------
    g = synth.rng(seed, "catalogue")
    n_content, n_creators = n["content"], n["creators"]
    out["genres"] = pa.table(
        {
            "genre_id": np.arange(1, len(GENRES) + 1, dtype=np.int64),
            "genre_name": GENRES,
        }
    )
    creator_id = np.arange(1, n_creators + 1, dtype=np.int64)
    out["creators"] = pa.table(
        {
            "creator_id": creator_id,
            "creator_name": np.char.add("Studio ", creator_id.astype(str)),
            "country": synth.weighted_choice(
                g, ["US", "GB", "KR", "FR", "IN"], [5, 2, 1, 1, 1], n_creators
            ),
        }
    )
    content_id = np.arange(1, n_content + 1, dtype=np.int64)
    genre0 = g.permutation(np.arange(n_content) % len(GENRES))
    creator = g.choice(
        n_creators, size=n_content, p=synth.zipf_weights(n_creators, 0.8)
    )
    is_movie = g.random(n_content) < 0.4
    duration = np.where(
        is_movie,
        np.clip(g.normal(6300, 1200, n_content), 4800, 9600),
        np.clip(g.normal(2700, 600, n_content), 1200, 4200),
    ).astype(np.int64)
    release = synth.uniform_times(
        g, np.datetime64("2020-01-01"), np.datetime64("2024-12-31"), n_content
    ).astype("datetime64[D]")
    titles = np.char.add(
        np.char.add(
            np.char.add(_WORDS[g.integers(0, len(_WORDS), n_content)], " "),
            _NOUNS[g.integers(0, len(_NOUNS), n_content)],
        ),
        np.char.add(" ", content_id.astype(str)),
    )
    popularity = synth.zipf_weights(n_content, 1.0)[g.permutation(n_content)]
    # Re-tagging: 8 % of titles move to another genre at RETAG_AT.
    retag = g.random(n_content) < 0.08
    genre1 = np.where(
        retag, (genre0 + g.integers(1, len(GENRES), n_content)) % len(GENRES), genre0
    )
    for k in range(len(GENRES)):  # keep every genre non-empty in both epochs
        if not (genre1 == k).any():
            genre1[np.flatnonzero(genre0 == k)[0]] = k
    retag = genre1 != genre0
    rename = g.random(n_content) < 0.03
    rename_at = synth.uniform_times(g, START, END, n_content)
    noop = g.random(n_content) < 0.10
    noop_at = synth.uniform_times(g, START, END, n_content)
    added_at = release.astype("datetime64[us]")
    new_title = np.char.add(titles, " (Director's Cut)")
    # extra genres (beyond the primary one), distinct from it and from each other
    n_extra = g.choice(len(EXTRA_GENRE_P), size=n_content, p=np.array(EXTRA_GENRE_P))
    extra1 = (genre0 + g.integers(1, len(GENRES), n_content)) % len(GENRES)
    extra2 = (genre0 + g.integers(1, len(GENRES), n_content)) % len(GENRES)
    for _ in range(50):
        clash = extra2 == extra1
        if not clash.any():
            break
        extra2[clash] = (
            genre0[clash] + g.integers(1, len(GENRES), int(clash.sum()))
        ) % len(GENRES)
    extras = [
        [int(e) for e, keep in ((a, k >= 1), (b, k >= 2)) if keep]
        for a, b, k in zip(extra1, extra2, n_extra, strict=True)
    ]

    def genre_list(title_index: np.ndarray, primary: np.ndarray) -> np.ndarray:
        """The CMS's genre list: the primary genre, then the extras (1-based ids)."""
        return np.array(
            [
                ",".join(str(x + 1) for x in [p, *[e for e in extras[i] if e != p]])
                for i, p in zip(title_index, primary, strict=True)
            ],
            dtype=object,
        )

    # withdrawals: a title leaves the catalogue when its licence ends; no change after that
    withdrawn = g.random(n_content) < WITHDRAWN_SHARE
    withdraw_at = synth.uniform_times(
        g, END - np.timedelta64(WITHDRAW_DAYS, "D"), END, n_content
    )
    live_at = np.where(withdrawn, withdraw_at, END)
    rename &= rename_at < live_at
    noop &= noop_at < live_at
    # change log: initial image, re-tag, rename, no-op, withdrawal
    parts = [
        (content_id, titles, genre0, added_at),
        (
            content_id[retag],
            titles[retag],
            genre1[retag],
            np.full(retag.sum(), RETAG_AT),
        ),
    ]
    # a rename after the re-tag keeps the new genre; before it, the old one
    rn = np.flatnonzero(rename)
    rn_genre = np.where(rename_at[rn] >= RETAG_AT, genre1[rn], genre0[rn])
    parts.append((content_id[rn], new_title[rn], rn_genre, rename_at[rn]))
    nz = np.flatnonzero(noop)
    nz_title = np.where(
        rename[nz] & (noop_at[nz] >= rename_at[nz]), new_title[nz], titles[nz]
    )
    nz_genre = np.where(noop_at[nz] >= RETAG_AT, genre1[nz], genre0[nz])
    parts.append((content_id[nz], nz_title, nz_genre, noop_at[nz]))
    wd = np.flatnonzero(withdrawn)
    wd_title = np.where(rename[wd], new_title[wd], titles[wd])
    wd_genre = np.where(withdraw_at[wd] >= RETAG_AT, genre1[wd], genre0[wd])
    parts.append((content_id[wd], wd_title, wd_genre, withdraw_at[wd]))
    cc_deleted = np.r_[
        np.zeros(sum(len(p[0]) for p in parts[:-1]), dtype=bool),
        np.ones(len(wd), dtype=bool),
    ]
    cc_id = np.concatenate([p[0] for p in parts])
    cc_title = np.concatenate([p[1].astype(str) for p in parts])
    cc_genre = np.concatenate([p[2] for p in parts])
    cc_at = np.concatenate([p[3] for p in parts])
    order = np.lexsort((cc_id, cc_at))
    idx = cc_id[order] - 1
    out["content_changes"] = pa.table(
        {
            "content_id": cc_id[order],
            "title": cc_title[order],
            "genre_id": cc_genre[order].astype(np.int64) + 1,
            "genre_list": pa.array(genre_list(idx, cc_genre[order]), type=pa.string()),
            "creator_id": creator_id[creator[idx]],
            "release_date": pa.array(release[idx], type=pa.date32()),
            "content_type": np.where(is_movie[idx], "movie", "episode"),
            "duration_seconds": duration[idx],
            "changed_at": _ts(cc_at[order]),
            "is_deleted": cc_deleted[order],
            "change_seq": np.arange(1, len(order) + 1, dtype=np.int64),
        }
    )
    pools = [_genre_pools(genre0, popularity), _genre_pools(genre1, popularity)]
    affinity = np.array([GENRE_AFFINITY[s] for s in SEGMENTS])
    affinity = affinity / affinity.sum(axis=1, keepdims=True)
    affinity_cum = np.cumsum(affinity, axis=1)

    def draw_genre(gen, seg):
        u = gen.random(len(seg))
        return np.minimum((u[:, None] > affinity_cum[seg]).sum(axis=1), len(GENRES) - 1)

    def draw_by_affinity(gen, users, at):
        genre = draw_genre(gen, segment[users])
        title = np.empty(len(users), dtype=np.int64)
        late = at >= RETAG_AT
        for epoch, mask in ((0, ~late), (1, late)):
            keys, order_ = pools[epoch]
            title[mask] = _draw_titles(gen, genre[mask], keys, order_)
        return title

    user_p = activity / activity.sum()

    # ---- recommendations ---------------------------------------------------------------
    g = synth.rng(seed, "recommendations")
    target_rec = PLANTED["recommended_share"] * rows
    n_imp_target = target_rec / (np.mean(list(CTR.values())) * WATCH_GIVEN_CLICK)
    mean_burst = 6.0
    n_browse = max(1, int(n_imp_target / mean_burst))
    browse_user = g.choice(n_users, size=n_browse, p=user_p)
    browse_start = _local_evening_starts(g, n_browse, user_zone[browse_user], zones)
    b_idx, shown_at = synth.bursty_sessions(
        g, browse_start, mean_burst, mean_gap_seconds=8.0
    )
    n_imp = len(b_idx)
    imp_user = browse_user[b_idx]
    algo = g.integers(0, len(ALGORITHMS), n_imp)
    imp_content = draw_by_affinity(g, imp_user, shown_at)
    trending = algo == ALGORITHMS.index("trending")
    imp_content[trending] = g.choice(n_content, size=int(trending.sum()), p=popularity)
    ctr = np.array([CTR[a] for a in ALGORITHMS])[algo]
    clicked = g.random(n_imp) < ctr
    clicked_at = shown_at + (g.exponential(20.0, n_imp) * 1e6 + 1e6).astype(
        "timedelta64[us]"
    )
    watched = clicked & (g.random(n_imp) < WATCH_GIVEN_CLICK)
    rec_event_id = np.arange(1, n_imp + 1, dtype=np.int64) + 10_000_000
    # impressions logged twice (a retry of the logging call)
    dup = np.flatnonzero(g.random(n_imp) < DUPLICATE_IMPRESSION_SHARE)
    r_ids = np.r_[
        rec_event_id, np.arange(len(dup), dtype=np.int64) + rec_event_id[-1] + 1
    ]
    r_src = np.r_[np.arange(n_imp), dup]
    clicked_col = np.where(clicked, clicked_at, np.datetime64("NaT"))
    out["recommendation_events"] = pa.table(
        {
            "rec_event_id": r_ids,
            "user_id": user_id[imp_user[r_src]],
            "content_id": content_id[imp_content[r_src]],
            "algorithm": _dict_array(algo[r_src], ALGORITHMS),
            "shown_at": _ts(shown_at[r_src]),
            "clicked_at": pa.array(
                clicked_col[r_src].astype("datetime64[us]"),
                type=pa.timestamp("us"),
                mask=~clicked[r_src],
            ),
        }
    )

    del b_idx, shown_at, trending, ctr, clicked, dup, r_ids, r_src, clicked_col
    del browse_user, browse_start

    # ---- playback sessions -------------------------------------------------------------
    g = synth.rng(seed, "sessions")
    w_idx = np.flatnonzero(watched)
    n_rec = min(len(w_idx), rows)
    w_idx = w_idx[:n_rec]
    n_org = rows - n_rec
    # organic sessions come in binge visits: 1 + Poisson(1) titles back to back
    per_visit = 1 + g.poisson(1.0, size=n_org)
    per_visit = per_visit[: int(np.searchsorted(np.cumsum(per_visit), n_org)) + 1]
    per_visit[-1] -= int(per_visit.sum()) - n_org
    per_visit = per_visit[per_visit > 0]
    n_visit = len(per_visit)
    visit_user = g.choice(n_users, size=n_visit, p=user_p)
    visit_device = dev_first[visit_user] + (
        g.random(n_visit) * dev_count[visit_user]
    ).astype(np.int64)
    visit_start = _local_evening_starts(g, n_visit, user_zone[visit_user], zones)
    s_visit = np.repeat(np.arange(n_visit), per_visit)
    org_user = visit_user[s_visit]
    org_device = visit_device[s_visit]
    org_anchor = visit_start[s_visit]
    org_content = draw_by_affinity(g, org_user, org_anchor)
    rec_user = imp_user[w_idx]
    rec_device = dev_first[rec_user] + (g.random(n_rec) * dev_count[rec_user]).astype(
        np.int64
    )
    rec_anchor = clicked_at[w_idx] + (g.integers(2, 10, n_rec) * 1_000_000).astype(
        "timedelta64[us]"
    )
    s_user = np.r_[org_user, rec_user]
    s_device = np.r_[org_device, rec_device]
    s_content = np.r_[org_content, imp_content[w_idx]]
    anchor = np.r_[org_anchor, rec_anchor]
    s_algo = np.r_[np.full(n_org, -1), algo[w_idx]]
    s_rec_id = np.r_[np.full(n_org, -1), rec_event_id[w_idx]]
    del org_user, org_device, org_content, rec_user, rec_device, rec_anchor
    del imp_user, algo, imp_content, clicked_at, watched, rec_event_id, w_idx
    del visit_user, visit_device, visit_start, s_visit
    ns = rows
    dev_type = dtype_code[s_device]
    version = _app_version_index(adopt, s_device, anchor)
    # the incident: TVs install the one-day patch within about an hour (a stream of its own)
    gi = synth.rng(seed, "incident")
    released = np.datetime64(INCIDENT["released_at"], "us")
    installed = released + (
        gi.exponential(INCIDENT["install_hours"] * 3600e6, n_dev)
    ).astype("timedelta64[us]")
    on_patch = (
        (dev_type == DEVICE_TYPES.index(INCIDENT["device_type"]))
        & (anchor >= installed[s_device])
        & (anchor < np.datetime64(INCIDENT["rolled_back_at"], "us"))
    )
    version = np.where(
        on_patch, VERSION_LABELS.index(INCIDENT["app_version"]), version
    ).astype(np.int8)
    p_rebuf = np.array([REBUFFER_PROBABILITY[t] for t in DEVICE_TYPES])[dev_type]
    p_rebuf = np.where(
        version == APP_VERSIONS.index(BAD_APP_VERSION),
        np.minimum(p_rebuf * BAD_APP_REBUFFER_FACTOR, 0.95),
        p_rebuf,
    )
    rebuffered = g.random(ns) < p_rebuf
    p_complete = (
        BASE_COMPLETION
        + PERSONALIZED_COMPLETION_LIFT * (s_algo == ALGORITHMS.index("personalized"))
        - REBUFFER_COMPLETION_DROP * rebuffered
    )
    completed = g.random(ns) < p_complete
    dur = duration[s_content]
    to_end = completed & (g.random(ns) < 0.3)
    frac = np.where(completed, g.uniform(0.93, 1.0, ns), g.uniform(0.02, 0.85, ns))
    furthest = np.where(to_end, dur, np.maximum((frac * dur).astype(np.int64), 30))
    furthest = np.minimum(furthest, dur)
    # on the patch, playback stops where the end credits begin
    credits = (gi.uniform(*INCIDENT["credits_start"], ns) * dur).astype(np.int64)
    furthest = np.where(on_patch & (furthest > credits), credits, furthest)
    del gi, installed, on_patch, credits

    # segments of continuous playback: checkpoints 0 < c_1 < ... < c_k = furthest
    k = 1 + g.poisson(1.2, size=ns)
    n_seg = int(k.sum())
    seg_session = np.repeat(np.arange(ns), k)
    seg_j = _within_group_index(k)
    last_seg = seg_j == np.repeat(k - 1, k)
    raw_cp = g.random(n_seg)
    raw_cp[last_seg] = 2.0  # the last checkpoint is the furthest position
    cp_order = np.lexsort((raw_cp, seg_session))
    cp = raw_cp[cp_order]
    cp = np.where(cp > 1.0, 1.0, cp)
    c = (cp * furthest[seg_session]).astype(np.int64)
    c[last_seg] = furthest[seg_session[last_seg]]
    del raw_cp, cp_order, cp, p_rebuf, p_complete, completed, to_end, frac, furthest
    # how each segment ends: pause, forward seek, backward seek; the last one with a stop
    trans = g.choice(3, size=n_seg, p=[0.55, 0.15, 0.30])
    trans[last_seg] = 3
    prev_c = np.r_[0, c[:-1]]
    prev_trans = np.r_[0, trans[:-1]]
    next_c = c
    first_seg = seg_j == 0
    gap_fwd = (g.random(n_seg) * 0.5 * np.maximum(next_c - prev_c, 0)).astype(np.int64)
    rewind = g.integers(10, 180, n_seg)
    s = np.select(
        [first_seg, prev_trans == 1, prev_trans == 2],
        [0, prev_c + gap_fwd, np.maximum(prev_c - rewind, 0)],
        prev_c,
    )
    s = np.minimum(s, c)
    played = c - s
    gap_after = np.select(
        [trans == 0, trans == 3],
        [(g.exponential(90.0, n_seg) + 1).astype(np.int64), 0],
        1,
    )
    del prev_c, prev_trans, next_c, first_seg, gap_fwd, rewind, seg_j, last_seg
    # a segment lasts at least a second of wall clock, so no two events of a session tie
    seg_wall = np.maximum(played, 1) + gap_after
    seg_start = _exclusive_cumsum(seg_wall, k)
    session_wall = np.bincount(seg_session, weights=seg_wall, minlength=ns).astype(
        np.int64
    )

    # session start times: binge visits back to back; recommended ones at the click
    visit_gap = (g.exponential(60.0, n_org) + 5).astype(np.int64)
    org_len = session_wall[:n_org] + visit_gap
    org_offset = _exclusive_cumsum(org_len, per_visit)
    started = anchor.copy()
    started[:n_org] = org_anchor + (org_offset * 1_000_000).astype("timedelta64[us]")
    ended = started + (session_wall * 1_000_000).astype("timedelta64[us]")
    del seg_wall, gap_after, visit_gap, org_len, org_offset, org_anchor, anchor, s_algo

    session_id = np.arange(1, ns + 1, dtype=np.int64) + 1_000_000
    seg_first = np.r_[_group_starts(k), n_seg]

    def event_chunk(a: int, b: int, chunk: int) -> dict[str, np.ndarray]:
        """Events of sessions [a, b): play at s, a heartbeat every HEARTBEAT_SECONDS of
        playback, then pause/seek/stop at c; with late arrivals and duplicate heartbeats."""
        g = synth.rng(seed, "events", chunk)
        lo, hi = seg_first[a], seg_first[b]
        per_seg = 2 + np.maximum(played[lo:hi] - 1, 0) // HEARTBEAT_SECONDS
        n_ev = int(per_seg.sum())
        ev_seg = np.repeat(np.arange(lo, hi, dtype=np.int64), per_seg)
        m = _within_group_index(per_seg)
        is_end = m == np.repeat(per_seg - 1, per_seg)
        s_e = s[ev_seg]
        position = np.where(is_end, c[ev_seg], s_e + m * HEARTBEAT_SECONDS)
        end_action = np.array([PAUSE, SEEK, SEEK, STOP], dtype=np.int8)[trans[ev_seg]]
        action = np.where(m == 0, PLAY, np.where(is_end, end_action, HEARTBEAT)).astype(
            np.int8
        )
        ev_session = seg_session[ev_seg]
        del m, s_e
        offset_s = seg_start[ev_seg] + np.where(
            is_end, np.maximum(position - s[ev_seg], 1), position - s[ev_seg]
        )
        event_time = started[ev_session] + (offset_s * 1_000_000).astype(
            "timedelta64[us]"
        )
        # a stop reported a few seconds past the end of the title
        over = (action == STOP) & (position == dur[ev_session])
        over &= g.random(n_ev) < OVERSHOOT_STOP_SHARE
        position = position + over * g.integers(1, 20, n_ev)
        # late arrivals: in some sessions one event arrives minutes late
        arrival = event_time.astype(np.int64) + (g.exponential(0.3, n_ev) * 1e6).astype(
            np.int64
        )
        late = np.flatnonzero(g.random(b - a) < LATE_EVENT_SESSION_SHARE)
        per_session = np.bincount(ev_session - a, minlength=b - a)
        first = _group_starts(per_session)
        pick = first[late] + (
            g.random(len(late)) * np.maximum(per_session[late] - 1, 1)
        ).astype(np.int64)
        arrival[pick] += g.integers(120, 1800, len(pick)) * 1_000_000
        # duplicate heartbeats: the same event again, a few seconds later
        dup = np.flatnonzero(
            (action == HEARTBEAT) & (g.random(n_ev) < DUPLICATE_HEARTBEAT_SHARE)
        )
        src = np.r_[np.arange(n_ev), dup]
        arrival = np.r_[arrival, arrival[dup] + g.integers(1, 5, len(dup)) * 1_000_000]
        order = src[np.argsort(arrival, kind="stable")]
        sess = ev_session[order]
        return {
            "session": sess,
            "event_time": event_time[order],
            "action": action[order],
            "position": position[order],
        }

    def orphan_chunk() -> dict[str, np.ndarray]:
        """Sessions with a stop and no play."""
        g = synth.rng(seed, "orphans")
        n_orphan = max(3, int(ORPHAN_STOP_SHARE * rows))
        o_user = g.integers(0, n_users, n_orphan)
        o_content = g.integers(0, n_content, n_orphan)
        o_time = np.sort(synth.uniform_times(g, START, END, n_orphan))
        return {
            "session_id": np.arange(1, n_orphan + 1, dtype=np.int64) + session_id[-1],
            "event_time": o_time,
            "user": o_user,
            "device": dev_first[o_user],
            "content": o_content,
            "action": np.full(n_orphan, STOP, dtype=np.int8),
            "position": (g.random(n_orphan) * duration[o_content]).astype(np.int64),
            "rec": np.full(n_orphan, -1, dtype=np.int64),
        }

    def viewing_event_chunks():
        first_id = 1
        bounds = list(range(0, ns, CHUNK_SESSIONS)) + [ns]
        for chunk, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            e = event_chunk(a, b, chunk)
            sess = e.pop("session")
            e.update(
                session_id=session_id[sess],
                user=s_user[sess],
                device=s_device[sess],
                content=s_content[sess],
                rec=s_rec_id[sess],
            )
            table = _viewing_table(e, first_id, user_id, content_id, device_id)
            first_id += table.num_rows
            yield table
        yield _viewing_table(orphan_chunk(), first_id, user_id, content_id, device_id)

    # ---- quality events ----------------------------------------------------------------
    g = synth.rng(seed, "quality")
    n_rebuf = np.where(rebuffered, 1 + g.poisson(1.0, ns), 0)
    n_bitrate = g.poisson(1.2, ns)
    q_count = 1 + n_rebuf + n_bitrate
    q_session = np.repeat(np.arange(ns), q_count)
    q_m = _within_group_index(q_count)
    q_type = np.where(
        q_m == 0, 0, np.where(q_m <= np.repeat(n_rebuf, q_count), 1, 2)
    ).astype(np.int8)
    span = (ended - started).astype(np.int64)[q_session]
    q_off = np.where(
        q_m == 0,
        0,
        (g.random(len(q_session)) * np.maximum(span - 1, 1)).astype(np.int64),
    )
    q_time = started[q_session] + q_off.astype("timedelta64[us]")
    order = np.lexsort((q_m, q_time, q_session))
    q_session, q_type, q_time = q_session[order], q_type[order], q_time[order]
    q_dev = dev_type[q_session]
    startup_ms = np.array([STARTUP_MEDIAN_MS[t] for t in DEVICE_TYPES])[
        q_dev
    ] * g.lognormal(0, 0.35, len(q_session))
    stall_ms = g.exponential(3000.0, len(q_session)) + 200
    duration_ms = np.where(
        q_type == 0, startup_ms, np.where(q_type == 1, stall_ms, 0)
    ).astype(np.int64)
    base_level = np.array([BASE_BITRATE_LEVEL[t] for t in DEVICE_TYPES])[q_dev]
    level = np.clip(
        base_level + g.integers(-2, 2, len(q_session)), 0, len(BITRATE_LADDER) - 1
    )
    # a rebuffer keeps the bitrate in effect: carry the last start-up/bitrate-change level forward
    sets_level = q_type != 1
    last_set = np.maximum.accumulate(np.where(sets_level, np.arange(len(q_session)), 0))
    # a bitrate change always changes the bitrate: nudge any that repeat the previous level
    setters = np.flatnonzero(sets_level)
    lv = level[setters]
    change = q_type[setters] == 2
    for _ in range(20):
        same = change & (lv == np.r_[-1, lv[:-1]])
        if not same.any():
            break
        lv[same] = np.where(
            lv[same] < len(BITRATE_LADDER) - 1, lv[same] + 1, lv[same] - 1
        )
    level[setters] = lv
    level = level[last_set]
    q_bitrate = BITRATE_LADDER[level]
    # rebuffer rows with a negative duration (a client clock bug), extra rows
    n_neg = max(2, int(NEGATIVE_REBUFFER_SHARE * ns))
    neg_session = (
        g.choice(ns, size=n_neg, replace=False) if n_neg <= ns else np.arange(ns)
    )
    neg_time = started[neg_session] + np.timedelta64(1, "s")
    q_session = np.r_[q_session, neg_session]
    q_type = np.r_[q_type, np.ones(len(neg_session), dtype=np.int8)]
    q_time = np.r_[q_time, neg_time]
    duration_ms = np.r_[duration_ms, -g.integers(500, 5000, len(neg_session))]
    q_bitrate = np.r_[q_bitrate, np.full(len(neg_session), BITRATE_LADDER[2])]
    q_arrival = np.argsort(
        q_time.astype(np.int64)
        + (g.exponential(0.3, len(q_time)) * 1e6).astype(np.int64),
        kind="stable",
    )
    out["quality_events"] = pa.table(
        {
            "quality_event_id": np.arange(1, len(q_arrival) + 1, dtype=np.int64)
            + 50_000_000,
            "session_id": session_id[q_session[q_arrival]],
            "event_time": _ts(q_time[q_arrival]),
            "user_id": user_id[s_user[q_session[q_arrival]]],
            "content_id": content_id[s_content[q_session[q_arrival]]],
            "device_id": device_id[s_device[q_session[q_arrival]]],
            "app_version": _dict_array(version[q_session[q_arrival]], VERSION_LABELS),
            "event_type": _dict_array(q_type[q_arrival], QUALITY_TYPES),
            "duration_ms": duration_ms[q_arrival].astype(np.int64),
            "bitrate_kbps": q_bitrate[q_arrival].astype(np.int64),
        }
    )
    return out, viewing_event_chunks()


def _viewing_table(e, first_id, user_id, content_id, device_id) -> pa.Table:
    n = len(e["session_id"])
    rec = e["rec"]
    return pa.table(
        {
            "event_id": np.arange(first_id, first_id + n, dtype=np.int64),
            "session_id": e["session_id"],
            "event_time": _ts(e["event_time"]),
            "user_id": user_id[e["user"]],
            "content_id": content_id[e["content"]],
            "device_id": device_id[e["device"]],
            "action_type": _dict_array(e["action"], ACTIONS),
            "position_seconds": e["position"].astype(np.int64),
            "is_recommended": rec >= 0,
            "rec_event_id": pa.array(rec, type=pa.int64(), mask=rec < 0),
        }
    )


# ---------------------------------------------------------------------------------------------
# Landing dates: the day each source hands each record over
# ---------------------------------------------------------------------------------------------
#: Share of sessions whose device went offline part-way (a phone on a plane, in a tunnel): the
#: events from that moment on are held on the device and uploaded when it is back online.
OFFLINE_SESSION_SHARE = 0.03
#: Days after the session's start day that a held-back tail is uploaded, with their weights.
#: Every delay is within the default lookback (3 days); those of 2 or 3 days exceed a lookback
#: of 1.
OFFLINE_DELAY_DAYS = {1: 0.5, 2: 0.3, 3: 0.2}
#: Hours of the recommendation service's impression feed that failed and were re-sent the next
#: day, per 90 days of data.
RESENT_FEED_HOURS = 6
_LANDING_SALT = 0x5DEECE66D


def _unit(ids: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """A uniform draw in [0, 1) per id, from the id alone (splitmix64): the same for an id in
    every table and every chunk, so a session's viewing and quality events agree."""
    with np.errstate(over="ignore"):
        x = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((int(seed) * 1_000_003 + salt * _LANDING_SALT) % 2**64)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


def _days_of(times: np.ndarray) -> np.ndarray:
    return times.astype("datetime64[D]")


def session_landing_dates(
    session_id: np.ndarray, event_time: np.ndarray, seed: int
) -> np.ndarray:
    """Landing day of each event of a player or quality log (``datetime64[D]``).

    An event is uploaded the day it happens. In :data:`OFFLINE_SESSION_SHARE` of sessions the
    device goes offline part-way (somewhere in the first two hours): the events from then on land
    together :data:`OFFLINE_DELAY_DAYS` days after the session's start day (or on their own day,
    if that is later). A session's first event always lands on time, and every event of a
    session lands within three days of its start. ``event_time`` is ``datetime64[us]``; the rows
    of a session must all be in the arrays (its start is their earliest time).
    """
    event_time = event_time.astype("datetime64[us]")
    own = _days_of(event_time)
    if len(session_id) == 0:
        return own
    import pandas as pd

    start = (
        pd.Series(event_time.astype(np.int64))
        .groupby(session_id)
        .transform("min")
        .to_numpy()
        .astype("datetime64[us]")
    )
    offline = _unit(session_id, seed, 1) < OFFLINE_SESSION_SHARE
    fraction = 0.05 + 0.9 * _unit(session_id, seed, 2)
    offline_at = start + (fraction * 2 * 3600e6).astype(np.int64).astype(
        "timedelta64[us]"
    )
    cum = np.cumsum(list(OFFLINE_DELAY_DAYS.values()))
    delay = np.array(list(OFFLINE_DELAY_DAYS))[
        np.searchsorted(cum / cum[-1], _unit(session_id, seed, 3), side="right")
    ]
    held = offline & (event_time >= offline_at)
    uploaded = _days_of(start) + delay.astype("timedelta64[D]")
    return np.where(held, np.maximum(own, uploaded), own)


def recommendation_landing_dates(shown_at: np.ndarray, seed: int) -> np.ndarray:
    """Landing day of each impression: the day it was shown, except those of the
    :data:`RESENT_FEED_HOURS` hours whose feed was re-sent the next day."""
    shown_at = shown_at.astype("datetime64[us]")
    own = _days_of(shown_at)
    g = synth.rng(seed, "landing", "feed")
    hours = int(DAYS * 24)
    resent = g.choice(
        hours, size=min(hours, max(1, RESENT_FEED_HOURS * DAYS // 90)), replace=False
    )
    hour = (shown_at - START).astype("timedelta64[h]").astype(np.int64)
    late = np.isin(hour, resent)
    return np.where(late, own + np.timedelta64(1, "D"), own)


def _with_landing(table: pa.Table, days: np.ndarray) -> pa.Table:
    return table.append_column(
        "landing_date", pa.array(days.astype("datetime64[D]"), type=pa.date32())
    )


def _times(table: pa.Table, column: str) -> np.ndarray:
    return table[column].to_numpy().astype("datetime64[us]")


def land(source: str, table: pa.Table, seed: int) -> pa.Table:
    """``table`` with its ``landing_date`` column (see :func:`landed_parts`)."""
    first = np.datetime64(START, "D")
    if source in ("viewing_events", "quality_events"):
        days = session_landing_dates(
            table["session_id"].to_numpy(), _times(table, "event_time"), seed
        )
    elif source == "recommendation_events":
        days = recommendation_landing_dates(_times(table, "shown_at"), seed)
    elif source == "content_changes":
        days = np.maximum(_days_of(_times(table, "changed_at")), first)
    else:  # the extracts of the accounts database, the device registry and the CMS lists
        days = np.full(table.num_rows, first)
    return _with_landing(table, days)


def landed_parts(rows: int, seed: int):
    """``(source, table)`` pieces of the raw sources, each row with its ``landing_date``.

    The extracts (users, devices, genres, creators) land on the first day of the window, when the
    warehouse starts; the CMS change log on the day of each change (the changes before the
    window, with the first extract); impressions on the day shown (a few hours re-sent a day
    late); player and quality events on the day they happen, except the held-back tails of
    devices that went offline (:func:`session_landing_dates`). Only landing dates are added:
    every other value is what :func:`generate` gives.
    """
    tables, chunks = generate_parts(rows, seed)
    for name, table in tables.items():
        yield name, land(name, table, seed)
    for chunk in chunks:
        yield "viewing_events", land("viewing_events", chunk, seed)


def generate_landed(rows: int, seed: int) -> dict[str, pa.Table]:
    """:func:`generate` with each table's ``landing_date`` column (:func:`landed_parts`)."""
    out: dict[str, list[pa.Table]] = {}
    for name, table in landed_parts(rows, seed):
        out.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in out.items()}
