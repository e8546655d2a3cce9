"""The HyperLogLog sketch: its error is the theory's, merging is union, and it is deterministic.

The oracles are independent of the code under test: Python's ``int.bit_length`` for the leading
zeros, sets whose distinct count is known by construction (or counted with ``set`` and
``numpy.unique``), a pure-Python SplitMix64 for the hash, the theory's
``1.04 / sqrt(m)`` for the error, and the geometric law ``P(rank = k) = 2**-k`` for the ranks.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from datamodeling import sketch
from datamodeling.sketch import HyperLogLog


@functools.cache
def _relative_errors(precision: int, n: int, trials: int) -> dict[str, np.ndarray]:
    """Relative errors of ``trials`` independent sketches of ``n`` distinct ids, by method.

    Trial ``t`` counts the ids ``t * 2**40 .. t * 2**40 + n - 1`` (``n`` distinct values by
    construction) with hash seed ``t``: a fresh set and a fresh hash function each time.
    """
    errors = {"improved": [], "classic": []}
    for trial in range(trials):
        ids = np.arange(n, dtype=np.int64) + trial * 2**40
        s = HyperLogLog(precision, seed=trial).add(ids)
        for method, found in errors.items():
            found.append(s.estimate(method) / n - 1.0)
    return {method: np.array(found) for method, found in errors.items()}


# ---------------------------------------------------------------------------------------------
# The error is within the theory
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["improved", "classic"])
@pytest.mark.parametrize("precision", [8, 10, 12])
def test_error_matches_the_theory_on_large_sets(precision, method):
    """On sets much larger than the number of registers, the relative error of the estimate has
    mean 0 and standard deviation 1.04 / sqrt(m): the root mean square error of 120 independent
    sketches is within 15 % of the theory (the RMSE of 120 draws varies by about 6.5 %), their
    mean is within 3.5 standard errors of zero, and no sketch is off by more than 4.5 sigma."""
    theory = sketch.relative_standard_error(precision)
    trials = 120
    errors = _relative_errors(precision, 20 * (1 << precision), trials)[method]
    rmse = float(np.sqrt(np.mean(errors**2)))
    assert 0.85 * theory < rmse < 1.15 * theory, (rmse, theory)
    assert abs(errors.mean()) < 3.5 * theory / math.sqrt(trials), (
        errors.mean(),
        theory,
    )
    assert np.abs(errors).max() < 4.5 * theory


@pytest.mark.parametrize("n", [1, 10, 200, 3_000, 20_000])
def test_improved_estimator_is_within_the_theory_at_every_size(n):
    """Ertl's estimator needs no switch between a small-count and a large-count formula: from one
    value to five times the number of registers, its error stays within the theory."""
    precision = 12
    errors = _relative_errors(precision, n, 60)["improved"]
    assert float(np.sqrt(np.mean(errors**2))) < 1.15 * sketch.relative_standard_error(
        precision
    )


def test_small_counts_are_nearly_exact():
    """With many more registers than values, almost every value has a register of its own, and
    the estimate is within one or two of the exact count."""
    for n in [0, 1, 2, 5, 17, 60]:
        ids = np.arange(n) * 7919
        s = HyperLogLog(14, seed=3).add(ids)
        assert abs(s.estimate() - n) <= max(1.0, 0.02 * n), (n, s.estimate())


def test_an_empty_sketch_estimates_zero():
    assert HyperLogLog().estimate() == 0.0
    assert HyperLogLog().estimate("classic") == 0.0


# ---------------------------------------------------------------------------------------------
# Merging is union
# ---------------------------------------------------------------------------------------------


def test_merging_two_sketches_equals_the_sketch_of_the_union():
    gen = np.random.default_rng(11)
    a = gen.integers(0, 50_000, size=30_000)
    b = gen.integers(25_000, 90_000, size=40_000)  # overlaps a
    sa = HyperLogLog(12, seed=5).add(a)
    sb = HyperLogLog(12, seed=5).add(b)
    union = HyperLogLog(12, seed=5).add(np.concatenate([a, b]))
    merged = sa | sb
    assert np.array_equal(merged.registers, union.registers)
    assert merged == union
    assert merged.estimate() == union.estimate()
    # the merge is commutative, associative and idempotent, and leaves its inputs alone
    sc = HyperLogLog(12, seed=5).add(gen.integers(0, 10**9, size=5_000))
    assert sa | sb == sb | sa
    assert (sa | sb) | sc == sa | (sb | sc) == sa.merge(sb, sc)
    assert sa | sa == sa
    assert sa == HyperLogLog(12, seed=5).add(a)


def test_daily_sketches_merge_into_the_period_while_daily_counts_overcount():
    """The point of the chapter, on a synthetic month: the sum of daily distinct counts is far
    above the month's distinct count; the merged daily sketches estimate the month."""
    gen = np.random.default_rng(2026)
    users_per_day = [gen.choice(20_000, size=3_000, replace=False) for _ in range(28)]
    exact_month = len(set(np.concatenate(users_per_day).tolist()))
    sum_of_daily = sum(len(set(day.tolist())) for day in users_per_day)
    daily = [HyperLogLog(12, seed=1).add(day) for day in users_per_day]
    month = daily[0].merge(*daily[1:])
    assert month == HyperLogLog(12, seed=1).add(np.concatenate(users_per_day))
    assert sum_of_daily > 4 * exact_month
    assert abs(month.estimate() / exact_month - 1) < 4 * month.relative_standard_error


def test_only_sketches_of_the_same_precision_and_seed_merge():
    with pytest.raises(ValueError, match="same precision and hash seed"):
        HyperLogLog(12, seed=1) | HyperLogLog(11, seed=1)
    with pytest.raises(ValueError, match="same precision and hash seed"):
        HyperLogLog(12, seed=1) | HyperLogLog(12, seed=2)
    with pytest.raises(TypeError):
        HyperLogLog(12).merge({1, 2})


def test_grouped_and_rolling_registers_equal_sketches_built_one_by_one():
    gen = np.random.default_rng(8)
    days = gen.integers(0, 10, size=20_000)
    users = gen.integers(0, 3_000, size=20_000)
    grouped = sketch.registers_by_group(days, sketch.hash64(users, 4), 10, precision=10)
    for day in range(10):
        alone = HyperLogLog(10, seed=4).add(users[days == day])
        assert np.array_equal(grouped[day], alone.registers)
    rolling = sketch.rolling_registers(grouped, 3)
    assert rolling.shape == (8, 1 << 10)
    for start in range(8):
        window = (days >= start) & (days < start + 3)
        assert np.array_equal(
            rolling[start], HyperLogLog(10, seed=4).add(users[window]).registers
        )
    # estimates of many sketches at once equal the estimates one by one
    many = sketch.estimate(grouped)
    assert many.shape == (10,)
    assert all(many[d] == sketch.estimate(grouped[d]) for d in range(10))
    assert np.array_equal(sketch.merge_registers(grouped), grouped.max(axis=0))


# ---------------------------------------------------------------------------------------------
# Deterministic for a seed
# ---------------------------------------------------------------------------------------------


def test_the_estimate_is_deterministic_for_a_seed():
    ids = np.random.default_rng(1).integers(0, 10**12, size=50_000)
    first = HyperLogLog(12, seed=9).add(ids)
    again = HyperLogLog(12, seed=9).add(ids)
    assert first == again and first.estimate() == again.estimate()
    # the order of the values, duplicates, and how they are split into batches do not matter
    shuffled = np.random.default_rng(2).permutation(np.concatenate([ids, ids[:1_000]]))
    batched = HyperLogLog(12, seed=9)
    for part in np.array_split(shuffled, 7):
        batched.add(part)
    assert batched == first
    # another seed is another hash function: other registers, an estimate just as good
    other = HyperLogLog(12, seed=10).add(ids)
    assert not np.array_equal(other.registers, first.registers)
    exact = len(np.unique(ids))
    for s in (first, other):
        assert abs(s.estimate() / exact - 1) < 4 * s.relative_standard_error


def test_the_hash_is_fixed_by_its_seed_and_spreads_ids_evenly():
    ids = np.arange(1 << 16)
    h = sketch.hash64(ids, seed=42)
    assert np.array_equal(h, sketch.hash64(ids.tolist(), seed=42))
    # the same bits as SplitMix64's finaliser written with Python integers (the published
    # algorithm), so a change of the hash, which would silently change every stored sketch, fails
    for seed in (0, 42):
        values = [0, 1, -1, 2**40 + 7, -(2**63)]
        assert [int(v) for v in sketch.hash64(values, seed=seed)] == [
            _splitmix64(v, seed) for v in values
        ]
    assert len(np.unique(h)) == len(
        ids
    )  # a bijection of the 64-bit integers: no collision
    # consecutive ids fill the registers evenly: a chi-square test on 256 registers
    counts = np.bincount((h >> np.uint64(56)).astype(np.int64), minlength=256)
    expected = len(ids) / 256
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 255 + 5 * math.sqrt(2 * 255)  # mean 255, sd sqrt(510)


def _splitmix64(value: int, seed: int) -> int:
    mask = (1 << 64) - 1
    z = (
        value + seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019 + 0x9E3779B97F4A7C15
    ) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_strings_and_ints_are_counted():
    words = [f"user-{i}" for i in range(5_000)] * 2
    s = HyperLogLog(12, seed=0).add(words)
    assert abs(s.estimate() / 5_000 - 1) < 4 * s.relative_standard_error
    assert HyperLogLog(12).add(iter(range(100))) == HyperLogLog(12).add(np.arange(100))


# ---------------------------------------------------------------------------------------------
# The parts
# ---------------------------------------------------------------------------------------------


def test_leading_zeros_agree_with_python_bit_length():
    gen = np.random.default_rng(5)
    words = gen.integers(0, 2**63, size=20_000, dtype=np.uint64) * np.uint64(2)
    words = words >> gen.integers(0, 64, size=20_000).astype(np.uint64)
    edges = [
        0,
        1,
        2,
        3,
        2047,
        2048,
        2049,
        2**53 - 1,
        2**53,
        2**53 + 1,
        2**63,
        2**64 - 1,
    ]
    words = np.concatenate([words, np.array(edges, dtype=np.uint64)])
    found = sketch.leading_zeros(words)
    assert [int(z) for z in found] == [64 - int(w).bit_length() for w in words]


def test_ranks_follow_the_geometric_law():
    """A rank is k with probability 2**-k: half the hashes have rank 1, a quarter rank 2..."""
    h = sketch.hash64(np.arange(1 << 20), seed=1)
    index, rank = sketch.register_and_rank(h, 10)
    assert index.min() >= 0 and index.max() < 1 << 10
    assert rank.min() >= 1 and rank.max() <= 64 - 10 + 1
    n = len(rank)
    for k in range(1, 8):
        share = float(np.mean(rank == k))
        sd = math.sqrt(2.0**-k * (1 - 2.0**-k) / n)
        assert abs(share - 2.0**-k) < 5 * sd, (k, share)
    # a hash whose low bits are all zero gets the largest rank, q + 1
    index, rank = sketch.register_and_rank(np.array([0, 2**63], dtype=np.uint64), 10)
    assert list(rank) == [55, 55] and list(index) == [0, 512]


def test_bytes_round_trip_and_bad_input():
    s = HyperLogLog(10, seed=3).add(range(1_000))
    data = s.to_bytes()
    assert len(data) == 1 << 10
    assert HyperLogLog.from_bytes(data, seed=3) == s
    with pytest.raises(ValueError):
        HyperLogLog.from_bytes(b"\x00" * 1000)
    with pytest.raises(ValueError):
        HyperLogLog(3)
    with pytest.raises(TypeError):
        HyperLogLog(12.0)
    with pytest.raises(ValueError):
        sketch.estimate(np.zeros(100, dtype=np.uint8))
    with pytest.raises(ValueError):
        sketch.estimate(s.registers, method="median")
    with pytest.raises(ValueError):
        sketch.rolling_registers(np.zeros((3, 16), dtype=np.uint8), 4)
    with pytest.raises(ValueError):
        sketch.registers_by_group(
            [0, 5], sketch.hash64([1, 2]), n_groups=3, precision=4
        )
