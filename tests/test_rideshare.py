"""The ride-sharing practice: oracles, planted truths, quality, reconciliation, determinism.

Two warehouses per session: ``small`` (20,000 requests) for the exact checks, and ``truths``
(200,000 requests) where the planted effects are large enough to measure within sampling error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from datamodeling import exercises, quality, warehouse
from datamodeling.exercises import check, compare
from datamodeling.rideshare import build, generate, realtime, schema
from datamodeling.rideshare.build import DRIVER_ATTRIBUTES, applied_driver_changes
from datamodeling.rideshare.metrics import EXERCISES, METRICS

TRUTH_ROWS = 200_000
INTERVALS_PER_DAY = 24 * 60 // generate.INTERVAL_MINUTES
# the surge bands, written out here: [lower, upper) of the multiplier the engine computed
BAND_EDGES = [1.05, 1.35, 1.75, 2.25, 3.05]
# one worker builds the two warehouses once for the whole module
pytestmark = pytest.mark.xdist_group("rideshare")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("rideshare") / "small.duckdb")
    report = build(con, scale="small", seed=7)
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def con(built):
    return built[0]


@pytest.fixture(scope="module")
def truths(tmp_path_factory):
    con = warehouse.connect(tmp_path_factory.mktemp("rideshare") / "truths.duckdb")
    build(con, scale=TRUTH_ROWS, seed=42)
    yield con
    con.disconnect()


# ---- every metric equals its hand-written SQL ------------------------------------------------


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_equals_sql(con, name):
    metric = METRICS[name]
    ours = metric.to_pandas(con)
    sql = metric.sql_to_pandas(con)
    assert len(ours) > 0
    assert compare(sql, ours, rtol=1e-9) is None


def test_metric_names_are_the_issues():
    assert set(METRICS) == {
        "ride_metrics",
        "driver_performance",
        "driver_earnings",
        "supply_demand",
        "surge_effectiveness",
        "rider_retention",
    }


def test_supply_demand_other_day(con):
    day = METRICS["supply_demand"].to_pandas(con, day="2025-03-14")
    assert len(day) == generate.N_ZONES * INTERVALS_PER_DAY
    assert day.interval_start.dt.date.astype(str).eq("2025-03-14").all()


# ---- the accumulating snapshot agrees with the event fact -----------------------------------


def test_accumulating_snapshot_agrees_with_events(con):
    events = con.table("fact_trip_events").to_pandas()
    trips = con.table("fact_trips").to_pandas().set_index("trip_id").sort_index()
    milestones = events.pivot_table(
        index="trip_id", columns="event_type", values="event_time", aggfunc="min"
    ).sort_index()
    assert milestones.index.equals(trips.index)
    for kind in [
        "requested",
        "accepted",
        "arrived",
        "started",
        "completed",
        "cancelled",
        "expired",
    ]:
        got = trips[f"{kind}_at"]
        want = milestones[kind] if kind in milestones else pd.Series(pd.NaT, index=trips.index)
        assert got.equals(want.astype(got.dtype)), kind
    lags = {
        "seconds_to_accept": ("requested", "accepted"),
        "seconds_to_arrive": ("accepted", "arrived"),
        "wait_seconds": ("requested", "arrived"),
        "seconds_at_pickup": ("arrived", "started"),
        "trip_seconds": ("started", "completed"),
    }
    for lag, (a, b) in lags.items():
        want = (milestones[b] - milestones[a]).dt.total_seconds()
        assert np.allclose(trips[lag], want, equal_nan=True, atol=1e-6), lag
    declined = events[events.event_type == "declined"].groupby("trip_id").size()
    want = declined.reindex(trips.index, fill_value=0)
    assert (trips.declined_offers == want).all()
    # every request ends one way, and the milestones say which
    outcome = np.select(
        [
            trips.completed_at.notna(),
            trips.cancelled_by.eq("rider"),
            trips.cancelled_by.eq("driver"),
            trips.expired_at.notna(),
        ],
        ["completed", "rider_cancelled", "driver_cancelled", "no_driver"],
        "none",
    )
    assert (trips.outcome == outcome).all()
    done = trips[trips.outcome == "completed"]
    assert done[["accepted_at", "arrived_at", "started_at"]].notna().all().all()
    assert (done.requested_at <= done.accepted_at).all()
    assert (done.accepted_at <= done.arrived_at).all()
    assert (done.arrived_at <= done.started_at).all()
    assert (done.started_at <= done.completed_at).all()


def test_driver_never_on_two_trips_at_once(con):
    t = con.table("fact_trips").to_pandas()
    t = t[t.accepted_at.notna()].copy()
    t["end"] = t.completed_at.fillna(t.cancelled_at)
    t = t.sort_values(["driver_id", "accepted_at"])
    previous_end = t.groupby("driver_id").end.shift()
    assert (previous_end.isna() | (previous_end <= t.accepted_at)).all()


def test_trip_driver_version_is_the_one_valid_at_acceptance(con):
    t = con.table("fact_trips").to_pandas()
    d = con.table("dim_driver").to_pandas()
    t = t[t.driver_id.notna()].merge(d, on="driver_sk", suffixes=("", "_dim"))
    assert (t.driver_id == t.driver_id_dim).all()
    assert ((t.valid_from <= t.accepted_at) & (t.accepted_at < t.valid_to)).all()
    # a driver only drives in the city they are licensed in at the time
    assert (t.city_id == t.city_id_dim).all()
    assert (t.driver_status == "active").all()


# ---- the periodic snapshot and its real-time twin --------------------------------------------


def test_supply_demand_counts_match_trips(con):
    s = con.table("fact_supply_demand").to_pandas()
    t = con.table("fact_trips").to_pandas()
    assert len(s) == generate.N_ZONES * generate.INTERVALS
    assert s.requests.sum() == len(t)
    assert s.unfulfilled_requests.sum() == (t.outcome == "no_driver").sum()
    assert s.completed_trips.sum() == (t.outcome == "completed").sum()
    assert s.waits.sum() == t.wait_seconds.notna().sum()
    assert math.isclose(s.wait_seconds_sum.sum(), t.wait_seconds.sum(), rel_tol=1e-9)
    assert (s.available_drivers <= s.drivers_online).all()


def test_micro_batch_equals_batch_last_day(con):
    assert compare(realtime.batch_result(con), realtime.replay(con)) is None


def test_micro_batch_equals_batch_from_a_checkpoint(con):
    start, end = "2025-03-14 06:00", "2025-03-14 10:00"
    batches = []
    streamed = realtime.replay(con, start, end, on_batch=lambda t, rows: batches.append(len(rows)))
    intervals = int((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(minutes=5))
    assert intervals * generate.INTERVAL_MINUTES == 4 * 60
    assert len(streamed) == generate.N_ZONES * intervals
    assert compare(realtime.batch_result(con, start, end), streamed) is None
    assert len(batches) > intervals  # the watermark keeps batches coming after the window


def test_micro_batch_without_watermark_misses_late_milestones(con):
    start, end = "2025-03-14 06:00", "2025-03-14 10:00"
    early = realtime.replay(con, start, end, watermark=pd.Timedelta(0))
    final = realtime.batch_result(con, start, end)
    assert early.requests.sum() == final.requests.sum()
    assert early.completed_trips.sum() < final.completed_trips.sum()


# ---- planted truths ---------------------------------------------------------------------------


def test_price_elasticity_recovered(truths):
    """Per band the metric estimates -ln(k_surge / k_holdout) / mean ln(m), with k the keep rate
    and mean ln(m) the request-weighted mean of ln(applied multiplier) on the surge side. Both
    come here from fact_supply_demand in plain pandas, not from the metric. Sigma of the log
    ratio (delta method, binomial keeps): sqrt((1-k_s)/(n_s k_s) + (1-k_h)/(n_h k_h)), divided by
    mean ln(m). Bands pooled by inverse variance; tolerance 3 sigma + 0.02 (the log of an average
    keep probability is not the average log: a small Jensen gap)."""
    s = METRICS["surge_effectiveness"].to_pandas(truths).set_index("band")
    sd = truths.table("fact_supply_demand").to_pandas()
    sd = sd[sd.computed_multiplier > 1].copy()
    sd["band"] = pd.cut(sd.computed_multiplier, BAND_EDGES, labels=list(s.index), right=False)
    sd["log_m_requests"] = sd.requests * np.log(sd.surge_multiplier)
    arms = sd.groupby(["band", "is_holdout"], observed=True)[
        ["requests", "abandoned_requests", "log_m_requests"]
    ].sum()
    on, off = arms.xs(False, level="is_holdout"), arms.xs(True, level="is_holdout")
    k_s = 1 - on.abandoned_requests / on.requests
    k_h = 1 - off.abandoned_requests / off.requests
    mean_log_m = on.log_m_requests / on.requests
    assert (mean_log_m > 0).all()
    var_log_ratio = (1 - k_s) / (on.requests * k_s) + (1 - k_h) / (off.requests * k_h)
    var = (var_log_ratio / mean_log_m**2).reindex(s.index)
    w = 1 / var
    assert w.notna().all()
    estimate = float((w * s.price_elasticity).sum() / w.sum())
    se = float(1 / np.sqrt(w.sum()))
    planted = generate.PLANTED["price_elasticity"]
    assert abs(estimate - planted) < 3 * se + 0.02, (estimate, se)


def test_supply_elasticity_recovered(truths):
    """Per band, the standard error comes from the spread of drivers online across zone-hours
    (the unit the engine and the holdout randomise); pooled by inverse variance."""
    s = METRICS["surge_effectiveness"].to_pandas(truths).set_index("band")
    sd = truths.table("fact_supply_demand").to_pandas()
    sd = sd[sd.computed_multiplier > 1]
    sd["hour"] = sd.interval_start.dt.floor("h")
    zh = sd.groupby(["zone_id", "hour"]).agg(
        m=("computed_multiplier", "first"),
        holdout=("is_holdout", "first"),
        drivers=("drivers_online", "mean"),
        applied=("surge_multiplier", "first"),
    )
    bands = pd.cut(zh.m, BAND_EDGES, labels=list(s.index), right=False)
    estimates, weights = [], []
    for band, g in zh.groupby(bands, observed=True):
        on, off = g[~g.holdout], g[g.holdout]
        var_log = on.drivers.var() / (len(on) * on.drivers.mean() ** 2) + off.drivers.var() / (
            len(off) * off.drivers.mean() ** 2
        )
        mean_log_m = np.log(on.applied).mean()
        estimates.append(s.loc[band, "supply_elasticity"])
        weights.append(mean_log_m**2 / var_log)
    w = np.array(weights)
    estimate = float((w * np.array(estimates)).sum() / w.sum())
    se = float(1 / np.sqrt(w.sum()))
    planted = generate.PLANTED["supply_elasticity"]
    assert abs(estimate - planted) < 3 * se, (estimate, se)


def test_monthly_retention_recovered(truths):
    r = METRICS["rider_retention"].to_pandas(truths)
    pooled = r.groupby("months_since_first")[["active_riders", "cohort_riders"]].sum()
    for k, planted in generate.PLANTED["monthly_retention"].items():
        if k == 0:
            continue  # month 0 is 1 by construction: the cohort is who requested that month
        n = pooled.loc[k, "cohort_riders"]
        rate = pooled.loc[k, "active_riders"] / n
        se = math.sqrt(planted * (1 - planted) / n)
        # + 0.005: quarantined requests can hide a rider's only request of a month
        assert abs(rate - planted) <= 3 * se + 0.005, (k, rate, planted)


def test_surge_raises_revenue_per_request_but_lowers_conversion(truths):
    s = METRICS["surge_effectiveness"].to_pandas(truths)
    assert (s.surge_keep_rate < s.holdout_keep_rate).all()
    assert s.surge_revenue_per_request.sum() > s.holdout_revenue_per_request.sum()


# ---- quality, reconciliation, schema ---------------------------------------------------------


def test_model_quality_checks_pass(con):
    # conventions=False until this practice follows book/conventions.md (issue 10)
    report = quality.check_model(con, schema.TABLES, conventions=False)
    assert report.passed, str(report)


def test_tables_have_declared_columns(con):
    for t in schema.TABLES:
        table = con.table(t.name, database=t.database) if t.database else con.table(t.name)
        assert list(table.columns) == t.column_names, t.name


def test_reconciliation(built):
    con, report = built
    assert report.reconciles()
    assert set(report.sources) == set(schema.RAW_TABLES)  # every raw table is accounted for
    q = con.table("quarantine").to_pandas()
    for source, s in report.sources.items():
        assert s["rows_in"] == con.table(source, database="raw").count().execute()
        assert s["quarantined"] == (q.source == source).sum()
        assert s["rows_in"] == s["loaded"] + s["quarantined"]
    assert (
        report.sources["trip_events"]["loaded"] == con.table("fact_trip_events").count().execute()
    )
    reasons = set(q.reason)
    assert {"duplicate_event", "unknown_zone", "completed_without_start"} <= reasons


def _applied_changes(changes: pd.DataFrame, dim: pd.DataFrame) -> int:
    """Oracle in plain pandas: change records whose attributes the dimension version valid at
    the record's time carries (a re-send of unchanged attributes lands in the open version)."""
    c = changes.reset_index(drop=True).rename_axis("record").reset_index()
    m = c.merge(dim, on="driver_id", suffixes=("", "_dim"))
    m = m[(m.valid_from <= m.changed_at) & (m.changed_at < m.valid_to)]
    same = np.logical_and.reduce([m[a].eq(m[f"{a}_dim"]) for a in DRIVER_ATTRIBUTES])
    return m[same].record.nunique()


def test_driver_changes_reconcile(built):
    con, report = built
    changes = con.table("driver_changes", database="raw").to_pandas()
    dim = con.table("dim_driver").to_pandas()
    row = report.sources["driver_changes"]
    assert row["rows_in"] == len(changes)
    assert row["loaded"] == _applied_changes(changes, dim)
    q = con.table("quarantine").to_pandas()
    assert row["quarantined"] == (q.source == "driver_changes").sum()
    assert row["rows_in"] == row["loaded"] + row["quarantined"]
    # the measure can fail: a dimension that lost a version no longer covers its change records
    lost = dim[dim.driver_sk != dim.driver_sk.iloc[0]]
    assert _applied_changes(changes, lost) < len(changes)
    measured = applied_driver_changes(
        con.table("driver_changes", database="raw"),
        con.table("dim_driver").filter(lambda t: t.driver_sk != int(dim.driver_sk.iloc[0])),
    )
    assert measured.count().execute() == _applied_changes(changes, lost)


def test_quarantine_reasons_are_right(con):
    q = con.table("quarantine").to_pandas()
    zones = set(con.table("dim_zone").to_pandas().zone_id)
    quotes = con.table("trip_quotes", database="raw").to_pandas().set_index("trip_id")
    unknown = q[(q.source == "trip_quotes") & (q.reason == "unknown_zone")]
    assert not quotes.loc[unknown.trip_id, "pickup_zone_id"].isin(zones).any()
    raw = con.table("trip_events", database="raw").to_pandas()
    no_start = set(q[q.reason == "completed_without_start"].trip_id)
    kinds = raw[raw.trip_id.isin(no_start)].groupby("trip_id").event_type.agg(set)
    assert all("completed" in k and "started" not in k for k in kinds)
    loaded = con.table("fact_trips").to_pandas()
    assert not loaded.pickup_zone_id.isin(set(quotes.pickup_zone_id) - zones).any()


def test_driver_dimension_is_scd2_of_the_change_log(con):
    changes = con.table("driver_changes", database="raw").to_pandas()
    dim = con.table("dim_driver").to_pandas()
    attrs = DRIVER_ATTRIBUTES
    # oracle in plain pandas: keep a change only when the attributes differ from the previous one
    c = changes.sort_values(["driver_id", "changed_at"])
    changed = c[attrs].ne(c.groupby("driver_id")[attrs].shift()).any(axis=1)
    versions = c[changed]
    assert len(versions) == len(dim)
    assert dim.is_current.sum() == changes.driver_id.nunique()


# ---- determinism and the generator ------------------------------------------------------------


def test_same_seed_same_tables():
    a, b = generate.generate(3000, 11), generate.generate(3000, 11)
    for name in a:
        assert a[name].equals(b[name]), name
    c = generate.generate(3000, 12)
    assert not a["trip_events"].equals(c["trip_events"])


def test_same_seed_same_warehouse(con, tmp_path):
    other = warehouse.connect(tmp_path / "again.duckdb")
    build(other, scale="small", seed=7)
    for t in schema.TABLES:
        name = t.qualified_name
        cols = t.column_names
        key = list(t.primary_key) or cols
        mine = con.sql(f"SELECT * FROM {name}").to_pandas().sort_values(key, ignore_index=True)
        theirs = other.sql(f"SELECT * FROM {name}").to_pandas().sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(mine[cols], theirs[cols], obj=name)
    other.disconnect()


def test_keep_probability_is_the_planted_curve():
    base, elasticity = generate.PLANTED["base_keep_rate"], generate.PLANTED["price_elasticity"]
    assert generate.keep_probability(1.0) == pytest.approx(base)
    assert generate.keep_probability(2.0) == pytest.approx(base * 2**-elasticity)
    assert generate.keep_probability(2.0) < generate.keep_probability(1.5) < base


# ---- exercises ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_exercise_reference_passes_its_own_check(con, name, monkeypatch):
    monkeypatch.setattr(exercises, "_default_con", con)
    reference = EXERCISES[name].answer
    answer = reference(con) if callable(reference) else set(reference)
    assert check(name, answer, con).correct


WRONG = {
    "rideshare.trip_milestones": ["requested", "declined", "accepted", "completed"],
    "rideshare.supply_grain": ["zone_id"],
    "rideshare.snapshot_lags": "SELECT trip_id, seconds_to_arrive AS wait_seconds, trip_seconds "
    "FROM fact_trips WHERE outcome = 'completed'",
    "rideshare.cancellations_by_who": "SELECT city_name, "
    "avg((cancelled_by = 'rider')::INT) AS rider_before_match, 0.0 AS rider_after_match, "
    "avg((cancelled_by = 'driver')::INT) AS driver FROM fact_trips JOIN dim_city USING (city_id) "
    "GROUP BY city_name",
    "rideshare.driver_utilization": "SELECT driver_id, avg((status = 'on_trip')::INT) AS utilization "
    "FROM fact_driver_status GROUP BY driver_id",
    "rideshare.zone_balance": "SELECT zone_id, sum(requests) AS requests, "
    "sum(available_drivers) AS avg_available_drivers, sum(unfulfilled_requests) AS "
    "unfulfilled_requests FROM fact_supply_demand WHERE interval_start >= '2025-06-27 17:00' "
    "AND interval_start < '2025-06-27 19:00' GROUP BY zone_id",
    "rideshare.surge_conversion": "SELECT is_holdout, sum(requests) AS requests, "
    "avg(completed_trips / nullif(requests, 0)) AS conversion FROM fact_supply_demand "
    "WHERE computed_multiplier >= 1.5 GROUP BY is_holdout",
    "rideshare.january_retention": "SELECT date_diff('month', DATE '2025-01-01', "
    "date_trunc('month', requested_at)) AS months_since_first, count(DISTINCT rider_id) / "
    "(SELECT count(*) FROM dim_rider) AS retention_rate FROM fact_trips GROUP BY 1",
    "rideshare.drivers_available_now": "SELECT zone_id, count(*) AS available_drivers "
    "FROM fact_driver_status WHERE status = 'available' AND event_time <= '2025-06-30 18:00' "
    "GROUP BY zone_id",
}


# answers the questions allow that differ from the reference's form
RIGHT = {
    # whole seconds: date_diff counts second boundaries, within 1 s of the exact lag
    "rideshare.snapshot_lags": "WITH m AS (SELECT trip_id, "
    "min(event_time) FILTER (WHERE event_type = 'requested') AS req, "
    "min(event_time) FILTER (WHERE event_type = 'arrived') AS arr, "
    "min(event_time) FILTER (WHERE event_type = 'started') AS sta, "
    "min(event_time) FILTER (WHERE event_type = 'completed') AS com "
    "FROM fact_trip_events GROUP BY trip_id) "
    "SELECT trip_id, date_diff('second', req, arr) AS wait_seconds, "
    "date_diff('second', sta, com) AS trip_seconds FROM m WHERE com IS NOT NULL",
    # every zone, 0 where none
    "rideshare.drivers_available_now": "SELECT z.zone_id, count(s.driver_id) AS "
    "available_drivers FROM dim_zone z LEFT JOIN fact_driver_status s ON s.zone_id = z.zone_id "
    "AND s.status = 'available' AND s.event_time <= TIMESTAMP '2025-06-30 18:00:00' "
    "AND TIMESTAMP '2025-06-30 18:00:00' < s.status_end GROUP BY z.zone_id",
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_other_right_answers_pass(con, name):
    assert check(name, RIGHT[name], con).correct


def test_whole_seconds_are_not_the_exact_lags(con):
    """The whole-second answer passes only through the 1-second tolerance."""
    whole = con.sql(RIGHT["rideshare.snapshot_lags"]).to_pandas().set_index("trip_id")
    exact = EXERCISES["rideshare.snapshot_lags"].answer(con).to_pandas().set_index("trip_id")
    gap = (whole.wait_seconds - exact.wait_seconds.reindex(whole.index)).abs()
    assert gap.max() > 1e-3
    assert gap.max() < 1


def test_available_now_needs_every_zone(con, monkeypatch):
    """Leaving out the zones with no available driver is wrong: some zone has none."""
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    every = con.sql(RIGHT["rideshare.drivers_available_now"]).to_pandas()
    assert len(every) == generate.N_ZONES
    assert (every.available_drivers == 0).any()
    inner = RIGHT["rideshare.drivers_available_now"].replace("LEFT JOIN", "JOIN")
    assert check("rideshare.drivers_available_now", inner, con).correct is False


def test_every_exercise_has_a_wrong_answer():
    assert set(WRONG) == set(EXERCISES)
    assert len(EXERCISES) >= 8


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_answer_fails(con, name, monkeypatch):
    monkeypatch.delenv(exercises.STRICT_ENV, raising=False)
    verdict = check(name, WRONG[name], con)
    assert verdict.correct is False, verdict
    monkeypatch.setenv(exercises.STRICT_ENV, "1")
    with pytest.raises(exercises.WrongAnswer):
        check(name, WRONG[name], con)
