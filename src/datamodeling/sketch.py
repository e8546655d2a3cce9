"""Approximate distinct counts: a HyperLogLog sketch with mergeable registers, in numpy.

A **sketch** is a small summary of a set from which a question about the set can be answered
approximately. A HyperLogLog sketch (Flajolet et al., 2007) answers "how many distinct values?"
with ``m = 2**precision`` small registers, whatever the size of the set:

1. every value is **hashed** to 64 random-looking bits (:func:`hash64`);
2. the first ``precision`` bits choose a **register**; the other ``q = 64 - precision`` bits give
   the value's **rank**, the position of their first 1 bit (1 + the number of leading zeros), a
   number that is ``k`` with probability ``2**-k``;
3. each register keeps the **largest rank** it has seen.

Seeing a rank of 20 in a register takes about ``2**20`` distinct values in that register, so the
registers together estimate the count. Duplicates hash alike and change nothing. The relative
standard error is about ``1.04 / sqrt(m)`` (1.6 % with the default 4,096 registers).

Two sketches built with the same precision and hash seed **merge** by taking the larger register,
one by one, and the merged sketch is exactly the sketch of the union of the two sets. That is what
makes sketches *additive* where distinct counts are not: daily sketches merge into a weekly or
monthly sketch, while daily distinct counts cannot be added.

The estimate is Ertl's improved estimator (O. Ertl, "New cardinality estimation algorithms for
HyperLogLog sketches", 2017; the one Redis uses), accurate from one value to billions with no
switch between regimes; ``method="classic"`` gives the original formula with its linear-counting
correction for small counts, for comparison.

>>> s = HyperLogLog(precision=12, seed=1).add(np.arange(100_000))
>>> abs(s.estimate() / 100_000 - 1) < 4 * s.relative_standard_error
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: Registers ``2**DEFAULT_PRECISION``: 4,096 registers, a relative standard error of 1.6 %.
DEFAULT_PRECISION = 12
MIN_PRECISION = 4
MAX_PRECISION = 18
HASH_BITS = 64

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def relative_standard_error(precision: int) -> float:
    """The theoretical relative standard error of a sketch: ``1.04 / sqrt(2**precision)``."""
    return 1.04 / math.sqrt(1 << _check_precision(precision))


def _check_precision(precision: int) -> int:
    if not isinstance(precision, (int, np.integer)) or isinstance(precision, bool):
        raise TypeError(f"precision must be an integer, not {type(precision).__name__}")
    if not MIN_PRECISION <= precision <= MAX_PRECISION:
        raise ValueError(
            f"precision must be between {MIN_PRECISION} and {MAX_PRECISION}"
        )
    return int(precision)


def _as_uint64(values) -> np.ndarray:
    """Values as unsigned 64-bit integers: integers keep their bits, anything else is hashed."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False).view(np.uint64).ravel()
    if array.dtype.kind == "b":
        return array.astype(np.uint64).ravel()
    # strings, dates, mixed objects: pandas' stable 64-bit hash of each value's content
    return pd.util.hash_array(np.asarray(array, dtype=object).ravel(), categorize=False)


def hash64(values, seed: int = 0) -> np.ndarray:
    """64 random-looking bits for each value, the same for the same value and ``seed``.

    Integers go through the SplitMix64 finaliser after adding a constant that depends on the seed;
    for a given seed it is a bijection of the 64-bit integers, so two distinct integer ids never
    share a hash. Other values (strings, dates) are first turned into 64 bits by
    ``pandas.util.hash_array``.
    """
    z = _as_uint64(values)
    offset = np.uint64(
        (int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64)
    )
    with np.errstate(over="ignore"):
        z = z + offset + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        z = z ^ (z >> np.uint64(31))
    return z


def leading_zeros(words: np.ndarray) -> np.ndarray:
    """The number of leading zero bits of each unsigned 64-bit word (64 for a zero word).

    A float64 holds any integer below ``2**53`` exactly, and ``numpy.frexp`` returns its bit
    length as the exponent; the top 53 bits and the low 11 bits are measured that way.
    """
    x = np.asarray(words, dtype=np.uint64)
    _, high = np.frexp((x >> np.uint64(11)).astype(np.float64))
    _, low = np.frexp((x & np.uint64(0x7FF)).astype(np.float64))
    bit_length = np.where(high > 0, high + 11, low)
    return (64 - bit_length).astype(np.uint8)


def register_and_rank(
    hashes: np.ndarray, precision: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each 64-bit hash: its register (the first ``precision`` bits) and its rank.

    The rank is 1 + the number of leading zeros of the other ``q = 64 - precision`` bits, at most
    ``q + 1`` (when they are all zero).
    """
    p = _check_precision(precision)
    h = np.asarray(hashes, dtype=np.uint64)
    index = (h >> np.uint64(HASH_BITS - p)).astype(np.int64)
    rest = h << np.uint64(
        p
    )  # the q low bits, moved to the top; zeros come in from the right
    q = HASH_BITS - p
    rank = np.minimum(leading_zeros(rest), q) + 1
    return index, rank.astype(np.uint8)


def registers_by_group(
    groups, hashes, n_groups: int | None = None, precision: int = DEFAULT_PRECISION
) -> np.ndarray:
    """One sketch per group, built in one pass: an array of shape ``(n_groups, 2**precision)``.

    ``groups`` are integer codes ``0 .. n_groups - 1`` (e.g. a day's number), ``hashes`` the
    64-bit hashes of the values (:func:`hash64`), aligned with ``groups``. Row ``g`` is the
    registers of the sketch of group ``g``'s values.
    """
    p = _check_precision(precision)
    groups = np.asarray(groups, dtype=np.int64)
    if groups.shape != np.shape(hashes):
        raise ValueError("groups and hashes must have the same length")
    if n_groups is None:
        n_groups = int(groups.max()) + 1 if groups.size else 0
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"group codes must be in 0 .. {n_groups - 1}")
    index, rank = register_and_rank(hashes, p)
    registers = np.zeros((n_groups, 1 << p), dtype=np.uint8)
    np.maximum.at(registers, (groups, index), rank)
    return registers


def merge_registers(registers: np.ndarray, axis: int = 0) -> np.ndarray:
    """Merge sketches stacked along ``axis``: the largest value of each register."""
    return np.max(np.asarray(registers, dtype=np.uint8), axis=axis)


def rolling_registers(registers: np.ndarray, window: int) -> np.ndarray:
    """The merged sketch of every ``window`` consecutive rows (e.g. the 28 days ending on a day).

    ``registers`` has one sketch per row, in order; row ``i`` of the result merges rows
    ``i .. i + window - 1``, so it has ``len(registers) - window + 1`` rows.
    """
    registers = np.asarray(registers, dtype=np.uint8)
    if not 1 <= window <= len(registers):
        raise ValueError(f"window must be between 1 and {len(registers)}")
    windows = np.lib.stride_tricks.sliding_window_view(registers, window, axis=0)
    return windows.max(axis=-1)


def _sigma(x: np.ndarray) -> np.ndarray:
    """Ertl's sigma(x) = x + sum_k x**(2**k) * 2**(k-1), infinite at x = 1."""
    x = np.asarray(x, dtype=float)
    total = x.copy()
    y = np.ones_like(x)
    power = x.copy()
    for _ in range(64):
        power = power * power
        total = total + power * y
        y = y + y
    return np.where(x >= 1.0, np.inf, total)


def _tau(x: np.ndarray) -> np.ndarray:
    """Ertl's tau(x) = (1 - x - sum_k (1 - x**(2**-k))**2 * 2**-k) / 3, zero at 0 and 1."""
    x = np.asarray(x, dtype=float)
    total = 1.0 - x
    y = np.ones_like(x)
    root = x.copy()
    for _ in range(64):
        root = np.sqrt(root)
        y = 0.5 * y
        total = total - (1.0 - root) ** 2 * y
    return np.where((x <= 0.0) | (x >= 1.0), 0.0, total / 3.0)


def _alpha(m: int) -> float:
    return {16: 0.673, 32: 0.697, 64: 0.709}.get(m, 0.7213 / (1 + 1.079 / m))


def estimate(registers: np.ndarray, method: str = "improved") -> np.ndarray | float:
    """The estimated number of distinct values of each sketch (the last axis holds registers).

    ``method="improved"`` is Ertl's estimator from the histogram of register values;
    ``"classic"`` is Flajolet's ``alpha * m**2 / sum(2**-register)``, replaced by linear counting
    ``m * ln(m / empty registers)`` when that is at most ``2.5 * m`` and a register is empty.
    A 1-d array gives a float, a 2-d array one estimate per row.
    """
    r = np.asarray(registers, dtype=np.uint8)
    single = r.ndim == 1
    r = np.atleast_2d(r)
    m = r.shape[-1]
    if m & (m - 1) or not MIN_PRECISION <= m.bit_length() - 1 <= MAX_PRECISION:
        raise ValueError(f"a sketch has 2**precision registers, not {m}")
    p = m.bit_length() - 1
    q = HASH_BITS - p
    if method == "improved":
        rows = r.shape[0]
        offsets = np.arange(rows, dtype=np.int64)[:, None] * (q + 2)
        histogram = np.bincount(
            (offsets + r).ravel(), minlength=rows * (q + 2)
        ).reshape(rows, q + 2)
        z = m * _tau(1.0 - histogram[:, q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + histogram[:, k])
        z = z + m * _sigma(histogram[:, 0] / m)
        with np.errstate(divide="ignore"):
            result = np.where(np.isinf(z), 0.0, m * m / (2.0 * math.log(2.0) * z))
    elif method == "classic":
        raw = _alpha(m) * m * m / np.sum(np.exp2(-r.astype(float)), axis=-1)
        empty = np.sum(r == 0, axis=-1)
        with np.errstate(divide="ignore"):
            linear = m * np.log(m / np.maximum(empty, 1))
        result = np.where((raw <= 2.5 * m) & (empty > 0), linear, raw)
    else:
        raise ValueError(f"unknown method {method!r}: choose improved or classic")
    return float(result[0]) if single else result


class HyperLogLog:
    """A HyperLogLog sketch: ``2**precision`` registers of one byte, mergeable.

    >>> a = HyperLogLog(seed=7).add([1, 2, 3])
    >>> b = HyperLogLog(seed=7).add([3, 4])
    >>> round((a | b).estimate())
    4
    """

    def __init__(
        self, precision: int = DEFAULT_PRECISION, seed: int = 0, registers=None
    ):
        self.precision = _check_precision(precision)
        self.seed = int(seed)
        if registers is None:
            self.registers = np.zeros(1 << self.precision, dtype=np.uint8)
        else:
            registers = np.asarray(registers, dtype=np.uint8)
            if registers.shape != (1 << self.precision,):
                raise ValueError(
                    f"expected {1 << self.precision} registers, got {registers.shape}"
                )
            self.registers = registers.copy()

    @property
    def m(self) -> int:
        """The number of registers."""
        return 1 << self.precision

    @property
    def relative_standard_error(self) -> float:
        return relative_standard_error(self.precision)

    def add(self, values: Iterable) -> HyperLogLog:
        """Add values (hashed with this sketch's seed); returns the sketch itself."""
        return self.add_hashes(
            hash64(np.asarray(list(values) if _lazy(values) else values), self.seed)
        )

    def add_hashes(self, hashes) -> HyperLogLog:
        """Add values already hashed to 64 bits (by :func:`hash64`, or by a database's hash)."""
        index, rank = register_and_rank(
            np.asarray(hashes, dtype=np.uint64).ravel(), self.precision
        )
        np.maximum.at(self.registers, index, rank)
        return self

    def _compatible(self, other: HyperLogLog) -> None:
        if not isinstance(other, HyperLogLog):
            raise TypeError(f"cannot merge a sketch with {type(other).__name__}")
        if (other.precision, other.seed) != (self.precision, self.seed):
            raise ValueError(
                "sketches merge only with the same precision and hash seed: "
                f"({self.precision}, {self.seed}) vs ({other.precision}, {other.seed})"
            )

    def merge(self, *others: HyperLogLog) -> HyperLogLog:
        """A new sketch of the union of this sketch's values and the others'."""
        merged = self.registers.copy()
        for other in others:
            self._compatible(other)
            np.maximum(merged, other.registers, out=merged)
        return HyperLogLog(self.precision, self.seed, merged)

    __or__ = merge

    def estimate(self, method: str = "improved") -> float:
        """The estimated number of distinct values added."""
        return estimate(self.registers, method)

    def to_bytes(self) -> bytes:
        """The registers as bytes, e.g. to store one sketch per day in a BLOB column."""
        return self.registers.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, seed: int = 0) -> HyperLogLog:
        """The sketch whose registers are ``data`` (its length gives the precision)."""
        n = len(data)
        if n == 0 or n & (n - 1):
            raise ValueError(f"a sketch has 2**precision registers, not {n} bytes")
        return cls(n.bit_length() - 1, seed, np.frombuffer(data, dtype=np.uint8))

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, HyperLogLog)
            and (self.precision, self.seed) == (other.precision, other.seed)
            and bool(np.array_equal(self.registers, other.registers))
        )

    def __repr__(self) -> str:
        return (
            f"HyperLogLog(precision={self.precision}, seed={self.seed}, "
            f"estimate={self.estimate():,.0f})"
        )


def _lazy(values) -> bool:
    """True for iterables numpy cannot turn into an array directly (generators, sets)."""
    return not hasattr(values, "__len__") or isinstance(values, (set, frozenset))
