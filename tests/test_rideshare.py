"""The ride-sharing practice: oracles, planted truths, conventions, reconciliation, determinism.

Two warehouses per session: ``small`` (20,000 requests) for the exact checks, and ``truths``
(200,000 requests) where the planted effects are large enough to measure within sampling error.
"""

from __future__ import annotations

import math

import ibis
import numpy as np
import pandas as pd
import pytest

from datamodeling import exercises, quality, warehouse
from datamodeling.exercises import check, compare
from datamodeling.rideshare import build, generate, realtime, schema
from datamodeling.rideshare.build import (
    DRIVER_ATTRIBUTES,
    applied_driver_changes,
    utc_offsets,
    with_local_keys,
)
from datamodeling.rideshare.metrics import EXERCISES, METRICS

TRUTH_ROWS = 200_000
INTERVALS_PER_DAY = 24 * 60 // generate.INTERVAL_MINUTES
# the surge bands, written out here: [lower, upper) of the multiplier the engine computed
BAND_EDGES = [1.05, 1.35, 1.75, 2.25, 3.05]
MS_PER_HOUR = 3_600_000
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


def trips_with_flags(con) -> pd.DataFrame:
    return con.sql(
        "SELECT * FROM fact_trip JOIN dim_trip_flags USING (trip_flags_key)"
    ).to_pandas()


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
    zones = con.table("dim_zone").to_pandas().set_index("zone_id").time_zone
    local = (
        day.interval_start.dt.tz_localize("UTC")
        .groupby(day.zone_id.map(zones))
        .transform(lambda s: s.dt.tz_convert(s.name).dt.tz_localize(None))
    )
    assert local.dt.date.astype(str).eq("2025-03-14").all()  # each zone's own local day


def test_supply_demand_on_the_spring_change_of_clocks(con):
    """Local 2025-03-09 lasts 23 hours: 276 intervals per zone, not 288."""
    day = METRICS["supply_demand"].to_pandas(con, day="2025-03-09")
    assert len(day) == generate.N_ZONES * (
        INTERVALS_PER_DAY - 60 // generate.INTERVAL_MINUTES
    )
    sql = METRICS["supply_demand"].sql.replace("2025-06-29", "2025-03-09")
    assert compare(con.sql(sql).to_pandas(), day, rtol=1e-9) is None


# ---- driver earnings: one set of trips (issue 10) --------------------------------------------


def test_status_log_on_trip_time_equals_the_trips(con):
    """Every request is loaded, so the app's on-trip time (status log) is the time of the rows
    of fact_trip, to the millisecond. Before, quarantined trips were in the log only: +2.0 h for
    one driver."""
    status = con.sql("""
        SELECT driver_id, sum(duration_ms) AS ms FROM fact_driver_status
        WHERE status = 'on_trip' GROUP BY driver_id""").to_pandas()
    t = con.table("fact_trip").to_pandas()
    t = t[t.driver_id > 0]
    end = t.completed_at.fillna(t.cancelled_at)
    t["ms"] = (end - t.accepted_at) // pd.Timedelta(milliseconds=1)
    trips = t.groupby("driver_id").ms.sum()
    joined = (
        status.set_index("driver_id").ms.to_frame("status").join(trips.rename("trips"))
    )
    assert len(joined) > 0
    assert (joined.status == joined.trips).all()


def test_driver_earnings_reads_one_set_of_trips(con):
    """On-trip hours, completed trips and earnings of each driver come from the same trips: the
    driver's rows of fact_trip, summed here in plain pandas."""
    e = METRICS["driver_earnings"].to_pandas(con).set_index("driver_id")
    t = trips_with_flags(con)
    t = t[t.driver_id > 0]
    end = t.completed_at.fillna(t.cancelled_at)
    t["on_trip_ms"] = (end - t.accepted_at) // pd.Timedelta(milliseconds=1)
    done = t[t.outcome == "completed"]
    per = pd.DataFrame(
        {
            "on_trip_hours": t.groupby("driver_id").on_trip_ms.sum() / MS_PER_HOUR,
            "completed_trips": done.groupby("driver_id").size(),
            "earnings": (done.driver_pay + done.tips).groupby(done.driver_id).sum(),
        }
    ).reindex(e.index)
    assert np.allclose(e.on_trip_hours, per.on_trip_hours.fillna(0), rtol=0, atol=1e-12)
    assert (e.completed_trips == per.completed_trips.fillna(0)).all()
    assert (e.earnings == per.earnings.fillna(0)).all()  # Decimals: exact
    assert (e.utilization <= 1).all() and (e.utilization > 0).all()


# ---- every request is loaded; keys are never NULL (book/conventions.md) ---------------------


def test_every_request_is_loaded(built):
    con, report = built
    quotes = con.table("trip_quotes", database="raw").to_pandas()
    trips = con.table("fact_trip").to_pandas()
    assert set(trips.trip_id) == set(quotes.trip_id)
    assert report.sources["trip_quotes"]["quarantined"] == 0
    q = con.table("quarantine").to_pandas()
    assert set(q.reason) == {"duplicate_event"}  # only rows that are not facts
    # and every request counts in the ride metrics by city
    assert METRICS["ride_metrics"].to_pandas(con).requests.sum() == len(quotes)


def test_what_the_definitions_rely_on(con):
    """Facts the metric definitions state: every completed trip has its fare record (miles and
    fare), and every shift ends within the data, so 'the whole period' is every row."""
    t = trips_with_flags(con)
    done = t[t.outcome == "completed"]
    assert done.base_passenger_fare.notna().all() and done.trip_miles.notna().all()
    status = con.table("fact_driver_status").to_pandas()
    end = pd.Timestamp(generate.END)
    assert (status.event_time <= end).all()
    assert (
        status[status.event_time == status.event_time.max()].status == "offline"
    ).all()
    assert (status[status.status != "offline"].status_end <= end).all()


def test_unknown_and_unlisted_pickup_zones(con):
    quotes = con.table("trip_quotes", database="raw").to_pandas().set_index("trip_id")
    trips = con.table("fact_trip").to_pandas().set_index("trip_id")
    zones = con.table("dim_zone").to_pandas().set_index("zone_id")
    listed = set(con.table("zones", database="raw").to_pandas().zone_id)
    missing = quotes.index[quotes.pickup_zone_id.isna()]
    unlisted = quotes.index[
        quotes.pickup_zone_id.notna() & ~quotes.pickup_zone_id.isin(listed)
    ]
    assert len(missing) > 0 and len(unlisted) > 0  # the planted dirt is there
    assert (trips.loc[missing, "pickup_zone_id"] == -1).all()  # no usable key: Unknown
    ids = trips.loc[unlisted, "pickup_zone_id"]
    assert (ids == quotes.loc[unlisted, "pickup_zone_id"]).all()  # the key is kept
    assert zones.loc[ids.unique(), "is_inferred"].all()  # ... with an inferred member
    assert set(zones.index[zones.is_inferred]) == set(ids)
    # trips never leave their city: the dropoff zone names it
    dropoff_city = trips.loc[[*missing, *unlisted], "dropoff_zone_id"] // 100
    assert (trips.loc[[*missing, *unlisted], "city_id"] == dropoff_city).all()


def test_driver_keys_are_never_null(con):
    t = con.table("fact_trip").to_pandas()
    nobody = t.accepted_at.isna()
    assert nobody.any()
    assert ((t.driver_sk == -2) == nobody).all()  # Not applicable: nobody accepted
    assert ((t.driver_id == -2) == nobody).all()
    e = con.table("fact_trip_event").to_pandas()
    no_driver = e.event_type.isin(["requested", "expired"])
    assert (e.driver_sk[no_driver] == -2).all()
    real = e.driver_id > 0
    assert (
        real.any() and not e.driver_sk[real].isin([-1, -2]).any()
    )  # every driver resolved
    assert ((e.driver_id == -2) == (e.driver_sk == -2)).all()
    assert (e.zone_id[e.event_type != "requested"] == -2).all()


def test_type_7_both_keys_name_the_same_driver(con):
    rows = con.sql("""
        SELECT t.driver_id, v.driver_id AS version_driver, t.accepted_at, v.valid_from, v.valid_to,
               c.is_current
        FROM fact_trip t
        JOIN dim_driver v ON v.driver_sk = t.driver_sk
        JOIN dim_driver c ON c.driver_id = t.driver_id AND c.is_current
        WHERE t.driver_id > 0""").to_pandas()
    assert len(rows) > 0
    assert (rows.driver_id == rows.version_driver).all()
    assert (
        (rows.valid_from <= rows.accepted_at) & (rows.accepted_at < rows.valid_to)
    ).all()


def test_trip_driver_version_is_the_one_valid_at_acceptance(con):
    t = con.table("fact_trip").to_pandas()
    d = con.table("dim_driver").to_pandas()
    t = t[t.driver_id > 0].merge(d, on="driver_sk", suffixes=("", "_dim"))
    assert (t.driver_id == t.driver_id_dim).all()
    assert ((t.valid_from <= t.accepted_at) & (t.accepted_at < t.valid_to)).all()
    # a driver only drives in the city they are licensed in at the time
    assert (t.city_id == t.city_id_dim).all()
    assert (t.driver_status == "active").all()


def test_deleted_driver_keeps_a_final_version_and_later_facts_join_it(con):
    changes = con.table("driver_changes", database="raw").to_pandas()
    deleted = changes[changes.is_deleted]
    assert len(deleted) > 0  # planted: a driver leaves the platform
    dim = con.table("dim_driver").to_pandas()
    status = con.table("fact_driver_status").to_pandas()
    for record in deleted.itertuples():
        versions = dim[dim.driver_id == record.driver_id].sort_values("valid_from")
        last = versions.iloc[-1]
        assert (
            last.is_deleted and last.is_current and last.valid_from == record.changed_at
        )
        before = versions.iloc[-2]
        assert before.valid_to == record.changed_at  # no gap
        assert [last[a] for a in DRIVER_ATTRIBUTES] == [
            before[a] for a in DRIVER_ATTRIBUTES
        ]
        after = status[
            (status.driver_id == record.driver_id)
            & (status.event_time >= record.changed_at)
        ]
        assert (
            len(after) > 0
        )  # the app's last status events come after the deletion ...
        assert (
            after.driver_sk == last.driver_sk
        ).all()  # ... and still find the driver


def test_junk_dimension_flags_come_from_the_milestones(con):
    t = trips_with_flags(con)
    outcome = np.select(
        [
            t.completed_at.notna(),
            t.cancelled_by.eq("rider"),
            t.cancelled_by.eq("driver"),
        ],
        ["completed", "rider_cancelled", "driver_cancelled"],
        "no_driver",
    )
    assert (t.outcome == outcome).all()
    stage = np.where(
        t.cancelled_at.isna(),
        "not cancelled",
        np.where(t.accepted_at.isna(), "before_match", "after_match"),
    )
    assert (t.cancel_stage == stage).all()
    assert (t.is_start_missing == (t.completed_at.notna() & t.started_at.isna())).all()
    assert (t.trip_flags_key > 0).all()  # every combination is a listed one
    assert set(t.trip_flags_key) <= set(range(1, len(schema.TRIP_FLAGS) + 1))


def test_completed_trips_with_a_lost_start_are_loaded_without_duration(con):
    raw = con.table("trip_events", database="raw").to_pandas()
    kinds = raw.groupby("trip_id").event_type.agg(set)
    lost = set(
        kinds.index[kinds.map(lambda k: "completed" in k and "started" not in k)]
    )
    assert len(lost) > 0
    t = trips_with_flags(con).set_index("trip_id")
    assert set(t.index[t.is_start_missing]) == lost
    assert (t.loc[list(lost), "outcome"] == "completed").all()
    assert t.loc[list(lost), "trip_duration_ms"].isna().all()
    assert (
        t.loc[list(lost), "base_passenger_fare"].notna().all()
    )  # the fare still counts


# ---- money, durations, local time (issue 10, points 1 and 5) ---------------------------------


def column_types(con) -> pd.DataFrame:
    return con.sql(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database()"
    ).to_pandas()


def test_money_is_decimal_and_durations_are_integers_end_to_end(con):
    types = column_types(con)
    money = {"base_fare", "per_mile", "per_minute", "quoted_fare", "base_passenger_fare", "tolls",
             "tips", "driver_pay", "earnings", "fares", "trip_miles", "estimated_miles"}  # fmt: skip
    found = types[types.column_name.isin(money)]
    assert set(found.table_schema) == {"raw", "main", "mart"}
    assert (found.data_type == "DECIMAL(18,2)").all(), found[
        found.data_type != "DECIMAL(18,2)"
    ]
    durations = types[
        types.column_name.str.endswith("_ms")
        | types.column_name.str.endswith("_ms_sum")
    ]
    assert len(durations) >= 8 and (durations.data_type == "BIGINT").all()
    assert not types.column_name.str.contains("seconds").any()  # no float seconds left
    marts = types[types.table_schema == "mart"]
    assert not marts.data_type.isin(
        ["DOUBLE", "FLOAT"]
    ).any()  # sums in marts are exact


def test_lags_are_exact_milliseconds(con):
    events = con.table("fact_trip_event").to_pandas()
    assert (events.event_time.dt.microsecond % 1000 == 0).all()
    trips = con.table("fact_trip").to_pandas().set_index("trip_id").sort_index()
    milestones = events.pivot_table(
        index="trip_id", columns="event_type", values="event_time", aggfunc="min"
    ).reindex(trips.index)
    lags = {
        "time_to_accept_ms": ("requested", "accepted"),
        "time_to_arrive_ms": ("accepted", "arrived"),
        "wait_ms": ("requested", "arrived"),
        "time_at_pickup_ms": ("arrived", "started"),
        "trip_duration_ms": ("started", "completed"),
    }
    for lag, (a, b) in lags.items():
        want = (milestones[b] - milestones[a]) // pd.Timedelta(milliseconds=1)
        assert trips[lag].astype("Float64").equals(want.astype("Float64")), lag


def test_local_time_on_boundaries():
    """Hand-written local days and hours around midnight and the spring change of clocks, for
    the build's function and for the generator's offsets."""
    cases = pd.read_csv(
        warehouse.fixture("rideshare/local_time.csv"), parse_dates=["utc"]
    )
    con = ibis.duckdb.connect()
    zones = sorted(set(cases.time_zone) - {"Unknown"})
    offsets = con.create_table("offsets", utc_offsets(zones))
    t = ibis.memtable(cases[["time_zone", "utc"]].assign(row=range(len(cases))))
    got = with_local_keys(t, "utc", offsets).to_pandas().sort_values("row")
    assert got.local_date_key.tolist() == cases.local_date_key.tolist()
    assert got.local_hour.tolist() == cases.local_hour.tolist()
    city_of = {c[6]: i for i, c in enumerate(generate.CITIES)}
    known = cases[cases.time_zone.isin(city_of)]
    hour = (known.utc - pd.Timestamp(generate.START)) // pd.Timedelta(hours=1)
    local = generate.local_hour_index(
        known.time_zone.map(city_of).to_numpy(), hour.to_numpy()
    )
    assert (local % 24 == known.local_hour.to_numpy()).all()


def test_local_keys_of_every_trip_match_pandas(con):
    t = con.sql(
        "SELECT t.requested_at, t.local_date_key, t.local_hour, c.time_zone "
        "FROM fact_trip t JOIN dim_city c USING (city_id)"
    ).to_pandas()
    local = t.groupby("time_zone").requested_at.transform(
        lambda s: s.dt.tz_localize("UTC").dt.tz_convert(s.name).dt.tz_localize(None)
    )
    assert (t.local_hour == local.dt.hour).all()
    assert (t.local_date_key == local.dt.strftime("%Y%m%d").astype(int)).all()


def test_rush_hour_is_local_and_utc_misplaces_it(con):
    """Demand peaks at the planted evening hour on each city's clock; in UTC the three cities'
    peaks land at three different hours."""
    t = con.sql(
        "SELECT c.city_name, t.local_hour, hour(t.requested_at) AS utc_hour "
        "FROM fact_trip t JOIN dim_city c USING (city_id)"
    ).to_pandas()
    peak = int(generate.EVENING_PEAK_HOUR)
    local_peak = t.groupby("city_name").local_hour.agg(
        lambda s: s.value_counts().idxmax()
    )
    utc_peak = t.groupby("city_name").utc_hour.agg(lambda s: s.value_counts().idxmax())
    assert set(local_peak) <= {peak - 1, peak}
    assert utc_peak.nunique() == len(generate.CITIES)


def test_dead_hour_is_local(con):
    """No full-time shift runs from 04:00 to 05:00 on the city's clock: nothing completes."""
    r = METRICS["ride_metrics"].to_pandas(con)
    dead = r[r.local_hour == generate.LAST_SHIFT_END_HOUR]
    assert len(dead) == len(generate.CITIES) and (dead.requests > 0).all()
    assert (dead.completed_trips == 0).all()
    assert (r[r.local_hour != generate.LAST_SHIFT_END_HOUR].completed_trips > 0).all()


# ---- the accumulating snapshot agrees with the event fact -----------------------------------


def test_accumulating_snapshot_agrees_with_events(con):
    events = con.table("fact_trip_event").to_pandas()
    trips = con.table("fact_trip").to_pandas().set_index("trip_id").sort_index()
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
        want = (
            milestones[kind]
            if kind in milestones
            else pd.Series(pd.NaT, index=trips.index)
        )
        assert got.equals(want.astype(got.dtype)), kind
    declined = events[events.event_type == "declined"].groupby("trip_id").size()
    want = declined.reindex(trips.index, fill_value=0)
    assert (trips.declined_offers == want).all()
    done = trips[trips.completed_at.notna() & trips.started_at.notna()]
    assert (done.requested_at <= done.accepted_at).all()
    assert (done.accepted_at <= done.arrived_at).all()
    assert (done.arrived_at <= done.started_at).all()
    assert (done.started_at <= done.completed_at).all()


def test_driver_never_on_two_trips_at_once(con):
    t = con.table("fact_trip").to_pandas()
    t = t[t.accepted_at.notna()].copy()
    t["end"] = t.completed_at.fillna(t.cancelled_at)
    t = t.sort_values(["driver_id", "accepted_at"])
    previous_end = t.groupby("driver_id").end.shift()
    assert (previous_end.isna() | (previous_end <= t.accepted_at)).all()


# ---- the periodic snapshot and its real-time twin --------------------------------------------


def test_supply_demand_counts_match_trips(con):
    s = con.table("fact_supply_demand").to_pandas()
    t = trips_with_flags(con)
    zones = con.table("dim_zone").to_pandas()
    on_board = set(zones.zone_id[(zones.zone_id > 0) & ~zones.is_inferred])
    t = t[t.pickup_zone_id.isin(on_board)]
    assert len(s) == generate.N_ZONES * generate.INTERVALS
    assert s.requests.sum() == len(t)
    assert s.unfulfilled_requests.sum() == (t.outcome == "no_driver").sum()
    assert s.completed_trips.sum() == (t.outcome == "completed").sum()
    assert s.waits.sum() == t.wait_ms.notna().sum()
    assert s.wait_ms_sum.sum() == t.wait_ms.sum()
    assert (s.available_drivers <= s.drivers_online).all()


def test_micro_batch_equals_batch_last_day(con):
    assert compare(realtime.batch_result(con), realtime.replay(con)) is None


def test_micro_batch_equals_batch_from_a_checkpoint(con):
    start, end = "2025-03-14 20:00", "2025-03-15 00:00"  # 16:00-20:00 in Northport
    batches = []
    streamed = realtime.replay(
        con, start, end, on_batch=lambda t, rows: batches.append(len(rows))
    )
    intervals = int((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(minutes=5))
    assert intervals * generate.INTERVAL_MINUTES == 4 * 60
    assert len(streamed) == generate.N_ZONES * intervals
    assert compare(realtime.batch_result(con, start, end), streamed) is None
    assert (
        len(batches) > intervals
    )  # the watermark keeps batches coming after the window


def test_micro_batch_without_watermark_misses_late_milestones(con):
    start, end = "2025-03-14 12:00", "2025-03-14 16:00"
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
    sd["band"] = pd.cut(
        sd.computed_multiplier, BAND_EDGES, labels=list(s.index), right=False
    )
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
        var_log = on.drivers.var() / (
            len(on) * on.drivers.mean() ** 2
        ) + off.drivers.var() / (len(off) * off.drivers.mean() ** 2)
        mean_log_m = np.log(on.applied).mean()
        estimates.append(s.loc[band, "supply_elasticity"])
        weights.append(mean_log_m**2 / var_log)
    w = np.array(weights)
    estimate = float((w * np.array(estimates)).sum() / w.sum())
    se = float(1 / np.sqrt(w.sum()))
    planted = generate.PLANTED["supply_elasticity"]
    assert abs(estimate - planted) < 3 * se, (estimate, se)


def test_monthly_retention_recovered(truths):
    """Pooled over cohorts, the share of a cohort active k months later, within 3 binomial
    standard errors of the planted probability (every request is loaded: no tolerance for
    quarantined requests any more)."""
    r = METRICS["rider_retention"].to_pandas(truths)
    pooled = r.groupby("months_since_first")[["active_riders", "cohort_riders"]].sum()
    for k, planted in generate.PLANTED["monthly_retention"].items():
        if k == 0:
            continue  # month 0 is 1 by construction: the cohort is who requested that month
        n = pooled.loc[k, "cohort_riders"]
        rate = pooled.loc[k, "active_riders"] / n
        se = math.sqrt(planted * (1 - planted) / n)
        assert abs(rate - planted) <= 3 * se, (k, rate, planted, se)


def test_surge_raises_revenue_per_request_but_lowers_conversion(truths):
    s = METRICS["surge_effectiveness"].to_pandas(truths)
    assert (s.surge_keep_rate < s.holdout_keep_rate).all()
    assert s.surge_revenue_per_request.sum() > s.holdout_revenue_per_request.sum()


# ---- quality, reconciliation, schema ---------------------------------------------------------


def test_model_quality_checks_pass(con):
    report = quality.check_model(con, schema.TABLES)  # the book's conventions included
    assert report.passed, str(report)
    names = {r.name for r in report}
    for decl in schema.TABLES:
        if decl.role == "dimension":
            assert f"{decl.name}: Unknown and Not applicable members" in names
        if decl.role == "fact":
            assert f"{decl.name}: no foreign key is NULL" in names


def test_tables_have_declared_columns(con):
    for t in schema.TABLES:
        table = (
            con.table(t.name, database=t.database) if t.database else con.table(t.name)
        )
        assert list(table.columns) == t.column_names, t.name


def test_reconciliation(built):
    con, report = built
    assert report.reconciles()
    assert set(report.sources) == set(
        schema.RAW_TABLES
    )  # every raw table is accounted for
    q = con.table("quarantine").to_pandas()
    for source, s in report.sources.items():
        assert s["rows_in"] == con.table(source, database="raw").count().execute()
        assert s["quarantined"] == (q.source == source).sum()
        assert s["rows_in"] == s["loaded"] + s["quarantined"]
    assert (
        report.sources["trip_events"]["loaded"]
        == con.table("fact_trip_event").count().execute()
    )
    assert report.sources["trip_events"]["quarantined"] > 0  # the planted duplicates
    # a duplicate is a later delivery of an event id that was loaded once
    raw = con.table("trip_events", database="raw").to_pandas()
    copies = raw.groupby("event_id").size()
    assert (copies - 1).sum() == report.sources["trip_events"]["quarantined"]


def _applied_changes(changes: pd.DataFrame, dim: pd.DataFrame) -> int:
    """Oracle in plain pandas: change records whose attributes (and deletion flag) the dimension
    version valid at the record's time carries (a re-send lands in the open version)."""
    c = changes.reset_index(drop=True).rename_axis("record").reset_index()
    m = c.merge(dim, on="driver_id", suffixes=("", "_dim"))
    m = m[(m.valid_from <= m.changed_at) & (m.changed_at < m.valid_to)]
    same = np.logical_and.reduce(
        [m[a].eq(m[f"{a}_dim"]) for a in [*DRIVER_ATTRIBUTES, "is_deleted"]]
    )
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
    real = dim[dim.driver_id > 0]
    lost = dim[dim.driver_sk != real.driver_sk.iloc[0]]
    assert _applied_changes(changes, lost) < len(changes)
    measured = applied_driver_changes(
        con.table("driver_changes", database="raw"),
        con.table("dim_driver").filter(
            lambda t: t.driver_sk != int(real.driver_sk.iloc[0])
        ),
    )
    assert measured.count().execute() == _applied_changes(changes, lost)


def test_driver_dimension_is_scd2_of_the_change_log(con):
    changes = con.table("driver_changes", database="raw").to_pandas()
    dim = con.table("dim_driver").to_pandas()
    dim = dim[(dim.driver_id > 0) & ~dim.is_inferred]
    attrs = [*DRIVER_ATTRIBUTES, "is_deleted"]
    # oracle in plain pandas: keep a change only when the attributes differ from the previous one
    c = changes.sort_values(["driver_id", "changed_at"])
    changed = c[attrs].ne(c.groupby("driver_id")[attrs].shift()).any(axis=1)
    versions = c[changed]
    assert len(versions) == len(dim)
    assert dim.is_current.sum() == changes.driver_id.nunique()
    assert dim.is_deleted.sum() == changes.is_deleted.sum()


# ---- determinism and the generator ------------------------------------------------------------


def test_same_seed_same_tables():
    a, b = generate.generate(3000, 11), generate.generate(3000, 11)
    for name in a:
        assert a[name].equals(b[name]), name
    c = generate.generate(3000, 12)
    assert not a["trip_events"].equals(c["trip_events"])


def _differences(con, a: str, b: str, only: set[str] | None = None) -> dict[str, int]:
    """Rows of each table of catalog ``a`` missing from catalog ``b`` or the other way round
    (``EXCEPT ALL``, which compares every column bit for bit), both attached to ``con``."""

    def tables(catalog):
        return set(
            con.raw_sql(
                "SELECT table_schema, table_name FROM information_schema.tables "
                f"WHERE table_catalog = '{catalog}' AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
            ).fetchall()
        )

    assert tables(a) == tables(b)
    out = {}
    for schema_name, table in sorted(tables(a)):
        if only is not None and f"{schema_name}.{table}" not in only:
            continue
        t = f'{schema_name}."{table}"'
        n = con.raw_sql(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM {a}.{t} EXCEPT ALL SELECT * FROM {b}.{t})) "
            f"+ (SELECT count(*) FROM (SELECT * FROM {b}.{t} EXCEPT ALL SELECT * FROM {a}.{t}))"
        ).fetchone()[0]
        out[f"{schema_name}.{table}"] = n
    return out


def test_two_builds_with_one_seed_are_identical_bit_for_bit(con, tmp_path):
    """A second build with the module's scale and seed equals it, table by table. At this scale
    DuckDB sums in parallel: float sums (the marts before issue 10) differed in the last bits."""
    again, other = tmp_path / "again.duckdb", tmp_path / "other.duckdb"
    for path, scale in [(again, "small"), (other, "tiny")]:
        c = warehouse.connect(path)
        build(c, scale=scale, seed=7)
        c.disconnect()
    mine = con.raw_sql("SELECT current_database()").fetchone()[0]
    con.raw_sql(f"ATTACH '{again}' AS again (READ_ONLY)")
    con.raw_sql(f"ATTACH '{other}' AS other (READ_ONLY)")
    try:
        same = _differences(con, mine, "again")
        different = _differences(
            con, mine, "other", {"main.fact_trip", "mart.city_hourly"}
        )
    finally:
        con.raw_sql("DETACH again")
        con.raw_sql("DETACH other")
    assert len(same) >= len(schema.TABLES) + len(schema.RAW_TABLES)
    assert sum(same.values()) == 0, {k: v for k, v in same.items() if v}
    # the comparison can fail: a build of another size differs in the facts and the marts
    assert different["main.fact_trip"] > 0 and different["mart.city_hourly"] > 0


def test_keep_probability_is_the_planted_curve():
    base, elasticity = (
        generate.PLANTED["base_keep_rate"],
        generate.PLANTED["price_elasticity"],
    )
    assert generate.keep_probability(1.0) == pytest.approx(base)
    assert generate.keep_probability(2.0) == pytest.approx(base * 2**-elasticity)
    assert generate.keep_probability(2.0) < generate.keep_probability(1.5) < base


def test_hundredths_are_exact_decimals():
    from decimal import Decimal

    values = generate.hundredths([1999, -5, 0, 9001998])
    assert values.to_pylist() == [
        Decimal("19.99"),
        Decimal("-0.05"),
        Decimal("0.00"),
        Decimal("90019.98"),
    ]


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
    # the driver's drive to the pickup instead of the rider's wait
    "rideshare.snapshot_lags": "SELECT trip_id, time_to_arrive_ms / 1000 AS wait_seconds, "
    "trip_duration_ms / 1000 AS trip_seconds FROM fact_trip JOIN dim_trip_flags "
    "USING (trip_flags_key) WHERE outcome = 'completed'",
    # every rider cancellation counted as before the match
    "rideshare.cancellations_by_who": "SELECT city_name, "
    "avg((cancelled_by = 'rider')::INT) AS rider_before_match, 0.0 AS rider_after_match, "
    "avg((cancelled_by = 'driver')::INT) AS driver FROM fact_trip "
    "JOIN dim_trip_flags USING (trip_flags_key) JOIN dim_city USING (city_id) GROUP BY city_name",
    # an average of per-row flags weights every status change the same, whatever its length
    "rideshare.driver_utilization": "SELECT driver_id, avg((status = 'on_trip')::INT) AS utilization "
    "FROM fact_driver_status WHERE status <> 'offline' GROUP BY driver_id",
    # the right aggregates on UTC hours: 17:00-19:00 UTC is early afternoon in Northport
    "rideshare.zone_balance": "SELECT zone_id, sum(requests) AS requests, "
    "avg(available_drivers) AS avg_available_drivers, sum(unfulfilled_requests) AS "
    "unfulfilled_requests FROM fact_supply_demand JOIN dim_zone USING (zone_id) "
    "WHERE city_name = 'Northport' AND interval_start >= '2025-06-27 17:00' "
    "AND interval_start < '2025-06-27 19:00' GROUP BY zone_id",
    "rideshare.surge_conversion": "SELECT is_holdout, sum(requests) AS requests, "
    "avg(completed_trips / nullif(requests, 0)) AS conversion FROM fact_supply_demand "
    "WHERE computed_multiplier >= 1.5 GROUP BY is_holdout",
    "rideshare.january_retention": "SELECT date_diff('month', DATE '2025-01-01', "
    "date_trunc('month', requested_at)) AS months_since_first, count(DISTINCT rider_id) / "
    "(SELECT count(*) FROM dim_rider) AS retention_rate FROM fact_trip GROUP BY 1",
    "rideshare.drivers_available_now": "SELECT zone_id, count(*) AS available_drivers "
    "FROM fact_driver_status WHERE status = 'available' AND event_time <= '2025-06-30 18:00' "
    "GROUP BY zone_id",
    # the hour of the UTC timestamp
    "rideshare.local_rush_hour": "SELECT city_name, arg_max(h, n) AS rush_hour, max(n) AS requests "
    "FROM (SELECT city_name, hour(requested_at) AS h, count(*) AS n FROM fact_trip "
    "JOIN dim_city USING (city_id) GROUP BY ALL) GROUP BY city_name",
}


# answers the questions allow that differ from the reference's form
RIGHT = {
    # whole seconds: date_diff counts second boundaries, within 1 s of the exact lag
    "rideshare.snapshot_lags": "WITH m AS (SELECT trip_id, "
    "min(event_time) FILTER (WHERE event_type = 'requested') AS req, "
    "min(event_time) FILTER (WHERE event_type = 'arrived') AS arr, "
    "min(event_time) FILTER (WHERE event_type = 'started') AS sta, "
    "min(event_time) FILTER (WHERE event_type = 'completed') AS com "
    "FROM fact_trip_event GROUP BY trip_id) "
    "SELECT trip_id, date_diff('second', req, arr) AS wait_seconds, "
    "date_diff('second', sta, com) AS trip_seconds FROM m WHERE com IS NOT NULL",
    # every zone, 0 where none
    "rideshare.drivers_available_now": "SELECT z.zone_id, count(s.driver_id) AS "
    "available_drivers FROM dim_zone z LEFT JOIN fact_driver_status s ON s.zone_id = z.zone_id "
    "AND s.status = 'available' AND s.event_time <= TIMESTAMP '2025-06-30 18:00:00' "
    "AND TIMESTAMP '2025-06-30 18:00:00' < s.status_end "
    "WHERE z.zone_id > 0 AND NOT z.is_inferred GROUP BY z.zone_id",
    # local time computed from the UTC timestamp rather than read from the stored key
    "rideshare.local_rush_hour": "SELECT city_name, arg_max(h, n) AS rush_hour, max(n) AS requests "
    "FROM (SELECT city_name, hour((requested_at AT TIME ZONE 'UTC') AT TIME ZONE time_zone) AS h, "
    "count(*) AS n FROM fact_trip JOIN dim_city USING (city_id) GROUP BY ALL) GROUP BY city_name",
    # the local keys of the snapshot, instead of a join to the zone's city
    "rideshare.zone_balance": "SELECT zone_id, sum(requests) AS requests, "
    "avg(available_drivers) AS avg_available_drivers, sum(unfulfilled_requests) AS "
    "unfulfilled_requests FROM fact_supply_demand WHERE zone_id BETWEEN 101 AND 107 "
    "AND local_date_key = 20250627 AND local_time_key >= 170000 AND local_time_key < 190000 "
    "GROUP BY zone_id",
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_other_right_answers_pass(con, name):
    assert check(name, RIGHT[name], con).correct


def test_whole_seconds_are_not_the_exact_lags(con):
    """The whole-second answer passes only through the 1-second tolerance."""
    whole = con.sql(RIGHT["rideshare.snapshot_lags"]).to_pandas().set_index("trip_id")
    exact = (
        EXERCISES["rideshare.snapshot_lags"]
        .answer(con)
        .to_pandas()
        .set_index("trip_id")
    )
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


def test_the_rows_are_the_same_whatever_the_number_of_simulation_threads():
    """At large scales the next months are simulated in threads ahead of the one being turned
    into tables; each month draws from its own random streams, so the rows do not move."""
    serial = list(generate.stream(20_000, 7, threads=0))
    threaded = list(generate.stream(20_000, 7, threads=2))
    assert [name for name, _ in serial] == [name for name, _ in threaded]
    for (name, a), (_, b) in zip(serial, threaded, strict=True):
        assert a == b if name is None else a.equals(b), name
    assert sum(t.num_rows for name, t in serial if name) > 100_000
