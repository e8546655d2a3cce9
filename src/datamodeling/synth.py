"""Seeded, vectorised random helpers for the data generators.

Every generator takes a ``seed`` and a ``scale``. Randomness comes from numpy generators derived
from the seed and a named *stream* (``rng(seed, "orders")``), so adding a new stream never shifts
the numbers of another one, and the same seed always gives identical tables.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

#: Rows of the practice's main fact (order lines, trips) for each preset. Event-heavy practices
#: multiply this by their events-per-row ratio (``medium`` = 1 M order lines or 10 M events).
SCALES: dict[str, int] = {
    "tiny": 2_000,
    "small": 20_000,
    "medium": 1_000_000,
    "large": 10_000_000,
}
DEFAULT_SCALE = "small"
DEFAULT_SEED = 42


#: The largest ``--scale``: ten times ``large``. The generators hold a source's rows in memory
#: before loading them, and builds beyond this size are untested; the Spark chapter shows how
#: the same model runs on a cluster for more.
MAX_ROWS = 100_000_000
#: Seeds are 32-bit, as numpy's legacy seeding and most tools expect.
MAX_SEED = 2**32 - 1


class ScaleError(ValueError):
    """An unknown scale name, or a row count that is not positive or is over :data:`MAX_ROWS`."""


class SeedError(ValueError):
    """A seed that is not a whole number from 0 to :data:`MAX_SEED`."""


_DIGITS = re.compile(
    r"[0-9][0-9_,]*"
)  # ASCII digits only: "²" or "٣" are not row counts


def resolve_scale(scale: str | int | None) -> int:
    """Turn ``tiny|small|medium|large`` or a row count into a number of main-fact rows.

    A count may use ``_`` or ``,`` between digits (``1_000_000``). It must be positive and at most
    :data:`MAX_ROWS`.
    """
    if scale is None:
        scale = DEFAULT_SCALE
    if isinstance(scale, (int, np.integer)) and not isinstance(scale, bool):
        rows = int(scale)
    elif isinstance(scale, str) and _DIGITS.fullmatch(scale.strip()):
        rows = int(scale.strip().replace("_", "").replace(",", ""))
    elif isinstance(scale, str) and scale.strip().lower() in SCALES:
        return SCALES[scale.strip().lower()]
    else:
        choices = ", ".join(SCALES)
        raise ScaleError(
            f"unknown scale {scale!r}: choose one of {choices} or a positive row count"
        )
    if rows <= 0:
        raise ScaleError(f"scale must be a positive row count, got {rows:,}")
    if rows > MAX_ROWS:
        raise ScaleError(
            f"scale {rows:,} is over the limit of {MAX_ROWS:,} rows (10 x large): the generators "
            "hold a source's rows in memory and larger builds are untested"
        )
    return rows


def scale_label(rows: int) -> str:
    """The preset name of a row count (``"tiny"``), or the count itself (``"5000"``)."""
    names = {v: k for k, v in SCALES.items()}
    return names.get(rows, str(rows))


def resolve_seed(seed: int | str | None) -> int:
    """The default seed for ``None``; else a whole number from 0 to :data:`MAX_SEED`."""
    if seed is None:
        return DEFAULT_SEED
    if isinstance(seed, str) and _DIGITS.fullmatch(seed.strip()):
        seed = int(seed.strip().replace("_", "").replace(",", ""))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise SeedError(
            f"seed must be a whole number from 0 to {MAX_SEED:,}, got {seed!r}"
        )
    if not 0 <= int(seed) <= MAX_SEED:
        raise SeedError(
            f"seed must be a whole number from 0 to {MAX_SEED:,}, got {int(seed):,}"
        )
    return int(seed)


def _stream_id(name: str | int) -> int:
    return name if isinstance(name, int) else zlib.crc32(name.encode())


def rng(seed: int, *streams: str | int) -> np.random.Generator:
    """A numpy Generator for ``seed`` and a named stream: ``rng(42, "orders", chunk)``."""
    return np.random.default_rng([int(seed), *(_stream_id(s) for s in streams)])


def weighted_choice(
    gen: np.random.Generator, values: Sequence, weights: Sequence[float], size: int
) -> np.ndarray:
    """Draw ``size`` values with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return np.asarray(values)[gen.choice(len(p), size=size, p=p / p.sum())]


def zipf_weights(n: int, exponent: float = 1.1) -> np.ndarray:
    """Popularity weights for ``n`` items: a few are very popular, most are not."""
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def uniform_times(
    gen: np.random.Generator, start: np.datetime64, end: np.datetime64, size: int
) -> np.ndarray:
    """``size`` timestamps (microseconds) uniformly in ``[start, end)``."""
    lo = np.datetime64(start, "us").astype(np.int64)
    hi = np.datetime64(end, "us").astype(np.int64)
    return gen.integers(lo, hi, size=size).astype("datetime64[us]")


def diurnal_offsets(
    gen: np.random.Generator, size: int, peak_hours=(12, 20)
) -> np.ndarray:
    """Seconds since midnight following a day/night cycle with peaks at ``peak_hours``."""
    hours = np.arange(24)
    weight = 0.15 + sum(np.exp(-0.5 * ((hours - h) / 2.5) ** 2) for h in peak_hours)
    hour = gen.choice(24, size=size, p=weight / weight.sum())
    return hour * 3600 + gen.integers(0, 3600, size=size)


def bursty_sessions(
    gen: np.random.Generator,
    session_starts: np.ndarray,
    mean_events: float,
    mean_gap_seconds: float = 40.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Expand session start times into bursts of events, as people use products.

    Returns ``(session_index, event_time)``: each session gets ``1 + Poisson(mean_events - 1)``
    events separated by exponential gaps (mean ``mean_gap_seconds``).
    """
    starts = np.asarray(session_starts).astype("datetime64[us]")
    counts = 1 + gen.poisson(max(mean_events - 1.0, 0.0), size=len(starts))
    session = np.repeat(np.arange(len(starts)), counts)
    gaps = gen.exponential(mean_gap_seconds * 1e6, size=len(session)).astype(np.int64)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    gaps[first] = 0  # the first event of each session starts it
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[first], counts)
    return session, starts[session] + offset.astype("timedelta64[us]")
