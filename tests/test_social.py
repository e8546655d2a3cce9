"""Tests of the social media practice: generator, build, metrics, exercises.

Oracles are independent of the code under test: hand-written SQL (``metric.sql``), plain
pandas over the cleaned events, and the generator's hidden simulation state.
"""

from __future__ import annotations

import importlib
import math
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from datamodeling import quality
from datamodeling.exercises import WrongAnswer, check, compare
from datamodeling.social import PRACTICE, schema
from datamodeling.social import generate as gen

build_mod = importlib.import_module("datamodeling.social.build")
metrics = importlib.import_module("datamodeling.social.metrics")

TINY = 2_000
PLANTED_ROWS = 30_000  # 3,000 users, ~300k events: enough for 4-sigma bounds under 0.05


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("social") / "social.duckdb"
    con = ibis.duckdb.connect(str(path))
    report = PRACTICE.build(con, scale=TINY, seed=7)
    return con, report


@pytest.fixture(scope="module")
def con(built):
    return built[0]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("social_big") / "social.duckdb"
    con = ibis.duckdb.connect(str(path))
    PRACTICE.build(con, scale=PLANTED_ROWS, seed=11)
    return con


@pytest.fixture(scope="module")
def user_day(con) -> pd.DataFrame:
    """Plain pandas oracle: distinct (user, day) with activity, from the loaded events."""
    e = con.table("fact_content_event").select("viewer_id", "event_date").to_pandas()
    out = e.drop_duplicates().rename(columns={"viewer_id": "user_id"})
    out["event_date"] = pd.to_datetime(out.event_date)
    return out


# ---------------------------------------------------------------------------------------------
# generator
# ---------------------------------------------------------------------------------------------
def test_same_seed_same_tables_and_other_seed_differs():
    a, b, c = gen.generate(TINY, 3), gen.generate(TINY, 3), gen.generate(TINY, 4)
    assert set(a) == {
        "user_changes",
        "content_changes",
        "campaign",
        "device",
        "content_event",
        "ad_event",
    }
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["content_event"].equals(c["content_event"])


def test_chunked_generation_is_deterministic_across_chunks(monkeypatch):
    monkeypatch.setattr(gen, "CHUNK_USERS", 150)  # several chunks at this scale
    a = gen.generate(TINY, 5)
    b = gen.generate(TINY, 5)
    assert a["content_event"].equals(b["content_event"])
    ids = a["content_event"].column("event_id").to_numpy()
    # Repeated ids come only from planted retries: each clean event is resent with probability
    # PLANTED["duplicate_rate"], so retries / distinct ids is a binomial share. Sigma is
    # sqrt(p (1 - p) / n), about 0.0007 at this scale; the bound is 4 sigma.
    distinct = len(np.unique(ids))
    retries = len(ids) - distinct
    assert retries > 0
    p = gen.PLANTED["duplicate_rate"]
    assert _within(retries / distinct, p, distinct), (retries / distinct, p, distinct)


def test_events_per_row_and_period():
    raw = gen.generate(TINY, 1)
    n = raw["content_event"].num_rows
    planted = gen.PLANTED
    # expected: events_per_row clean events per row, plus the planted retries and strangers
    expected = planted["events_per_row"] * TINY * (1 + planted["duplicate_rate"])
    # The spread comes from the users' session rates: Gamma with mean 1 and shape k, so each
    # user's share of the events has a coefficient of variation sqrt(1 / k); summed over
    # TINY / rows_per_user users, the total's relative sigma is sqrt(1 / k / users), about 0.1
    # here (the Poisson noise of sessions and views is an order smaller). Over 24 seeds the
    # observed spread was 0.094. The bound is 4 sigma.
    users = TINY / planted["rows_per_user"]
    sigma = math.sqrt(1 / planted["activity_shape"] / users)
    assert abs(n / expected - 1) <= 4 * sigma, (n, expected, sigma)
    t = raw["content_event"].column("received_at").to_numpy()
    assert t.min() >= gen.START and t.max() < gen.END + np.timedelta64(1, "D")


def test_users_in_data_are_the_simulated_alive_users(con, user_day):
    states = gen.simulated_states(TINY, 7)
    alive = states[states.alive]
    months = user_day.assign(month=user_day.event_date.dt.to_period("M").dt.start_time)
    active = months[["user_id", "month"]].drop_duplicates()
    alive_keys = set(zip(alive.user_id, pd.to_datetime(alive.month), strict=True))
    active_keys = set(zip(active.user_id, active.month, strict=True))
    assert active_keys <= alive_keys  # nobody is active while the simulation says quiet
    # alive but inactive only when every event of that user-month was quarantined: rare
    assert len(alive_keys - active_keys) <= 0.01 * len(alive_keys)


def test_events_of_accounts_the_change_log_misses_load_against_inferred_members(
    con, user_day
):
    states = gen.simulated_states(TINY, 7)
    missing = set(states[states.missing].user_id)
    dim = con.table("dim_user").to_pandas()
    inferred = dim[dim.is_inferred]
    assert inferred.user_id.is_unique and (inferred.valid_to.dt.year == 9999).all()
    assert (inferred.status == "Unknown").all() and inferred.created_at.isna().all()
    active_missing = missing & set(user_day.user_id)
    assert active_missing  # planted, and active at this scale
    assert active_missing <= set(inferred.user_id) <= missing
    # every raw event of theirs is in the fact, except the rows that are not facts
    raw = con.table("content_event", database="raw").to_pandas()
    raw = raw[raw.viewer_id.isin(missing)]
    q = con.table("quarantine").to_pandas()
    refused = q[(q.source == "content_event") & q.user_id.isin(missing)]
    fact = con.table("fact_content_event").to_pandas()
    theirs = fact[fact.viewer_id.isin(missing)]
    assert len(theirs) == len(raw) - len(refused) > 0
    sk = inferred.set_index("user_id").user_sk
    assert (theirs.viewer_sk.to_numpy() == sk.loc[theirs.viewer_id].to_numpy()).all()
    # and they count in DAU
    dau = metrics.METRICS["dau"].to_pandas(con).set_index("activity_date").dau
    day = pd.Timestamp(theirs.event_date.iloc[0])
    everyone = fact[pd.to_datetime(fact.event_date) == day].viewer_id.nunique()
    assert dau.loc[day] == everyone


# ---------------------------------------------------------------------------------------------
# build: quality, reconciliation, quarantine
# ---------------------------------------------------------------------------------------------
def test_report_tables_and_reconciliation(built):
    con, report = built
    assert report.reconciles()
    for t in schema.TABLES:
        assert report.tables[t.qualified_name] > 0, t.name
    q = con.table("quarantine").to_pandas()
    # each source and the rows it made: a change record makes one version; inferred members and
    # the reserved rows come from no source row, so they are not counted
    model = {
        "content_event": ("fact_content_event", None),
        "ad_event": ("fact_ad_event", None),
        "user_changes": ("dim_user", "user_id"),
        "content_changes": ("dim_content", "content_id"),
        "device": ("dim_device", "device_id"),
        "campaign": ("dim_campaign", "campaign_id"),
    }
    assert set(report.sources) == set(model)
    for source, (target, key) in model.items():
        rows_in = con.table(source, database="raw").count().execute()
        t = con.table(target)
        if key:
            t = t.filter(~t.is_inferred & (t[key] >= 0))
        loaded = t.count().execute()
        quarantined = int((q.source == source).sum())
        assert rows_in == loaded + quarantined
        assert quality.reconcile(source, rows_in, loaded, quarantined).passed
        assert report.sources[source] == {
            "rows_in": rows_in,
            "loaded": loaded,
            "quarantined": quarantined,
        }


def test_quarantine_reasons_match_the_rules(con):
    q = con.table("quarantine").to_pandas()
    q = q[q.source.isin(["content_event", "ad_event"])]
    # only rows that are not facts: an unknown user is no reason to refuse a real event
    assert set(q.reason) == {"duplicate_event_id", "future_timestamp"}
    fut = q[q.reason == "future_timestamp"]
    assert (fut.event_time > fut.received_at).all()
    # every quarantined duplicate has a loaded twin with the same id
    for source in ("content_event", "ad_event"):
        dup = set(
            q[(q.reason == "duplicate_event_id") & (q.source == source)].record_id
        )
        loaded = set(con.table(f"fact_{source}").event_id.to_pandas())
        assert dup and dup <= loaded


def test_loaded_events_are_clean(con):
    raw = con.table("content_event", database="raw").to_pandas()
    ce = con.table("fact_content_event").to_pandas()
    assert ce.event_id.is_unique
    assert set(ce.viewer_id) <= set(con.table("dim_user").user_id.to_pandas())
    received = raw.drop_duplicates("event_id").set_index("event_id").received_at
    assert (ce.event_time.to_numpy() <= received.loc[ce.event_id].to_numpy()).all()
    assert (pd.to_datetime(ce.event_date) == ce.event_time.dt.normalize()).all()


def test_check_model_passes_with_the_conventions(con):
    report = quality.check_model(con, schema.TABLES)
    assert report.passed, report.to_frame()[lambda d: ~d.passed]
    names = set(report.to_frame().check)
    # the conventions are among the checks that ran, not skipped
    assert "dim_user: Unknown and Not applicable members" in names
    assert "fact_content_event: no foreign key is NULL" in names


def test_activity_columns_live_outside_the_type2_user_dimension(con, user_day):
    dim = con.table("dim_user").to_pandas()
    assert not dim.user_id.is_unique  # e-mail, phone and status changes made versions
    assert (dim.groupby("user_id").is_current.sum() == 1).all()
    # a fast-changing measurement is no attribute of the Type 2 dimension
    assert not {"last_active_date", "churned_date"} & set(dim.columns)
    # the brief's user view still carries them, read from the cumulative table
    u = con.sql('SELECT * FROM "user"').to_pandas()
    last = user_day.groupby("user_id").event_date.max()
    got = u.drop_duplicates("user_id").set_index("user_id").last_active_date
    got = pd.to_datetime(got.dropna())
    # the users with a last_active_date are exactly those with activity, and there are some
    assert len(got) > 0
    assert set(got.index) == set(last.index)
    assert (got == last.loc[got.index]).all()
    # churned_date: the month after the last active month, once that month has started
    month_after = (last.dt.to_period("M") + 1).dt.start_time
    churned = month_after[month_after <= pd.Timestamp(metrics.LAST_DAY)]
    want = churned.sort_index()
    have = pd.to_datetime(
        u.drop_duplicates("user_id").set_index("user_id").churned_date.dropna()
    )
    assert len(want) > 0
    pd.testing.assert_series_equal(
        have.sort_index(), want, check_names=False, check_dtype=False
    )


def test_redundant_change_records_make_no_version(con):
    raw = con.table("user_changes", database="raw").to_pandas()
    dim = con.table("dim_user").to_pandas()
    dim = dim[~dim.is_inferred & (dim.user_id >= 0)]
    raw = raw.assign(deleted=raw.op == "delete")
    attrs = ["status", "name", "email", "phone", "deleted"]
    raw = raw.sort_values(["user_id", "updated_at"])
    changed = raw[attrs].ne(raw.groupby("user_id")[attrs].shift()).any(axis=1)
    assert raw.deleted.any()  # closed accounts are planted
    assert len(dim) == int(changed.sum())


def test_unversioned_change_records_on_a_fixture():
    t = pd.Timestamp("2026-02-01 09:00")
    log = pd.DataFrame(
        [
            (1, t, "active", "a@x"),  # first record: a version
            (
                1,
                t + pd.Timedelta(days=1),
                "active",
                "a@x",
            ),  # repeats the state: no_change
            (1, t + pd.Timedelta(days=2), "active", "b@x"),  # a change
            (
                1,
                t + pd.Timedelta(days=3),
                "active",
                "a@x",
            ),  # back to an earlier state: a change
            (2, t, "active", "c@x"),  # two records at one instant: one is kept
            (2, t, "active", "d@x"),
            (
                2,
                t + pd.Timedelta(days=1),
                "active",
                "d@x",
            ),  # equals the kept one (d > c)
        ],
        columns=["user_id", "updated_at", "status", "email"],
    )
    got = build_mod.unversioned_changes(
        ibis.memtable(log), "user_id", ["status", "email"]
    )
    got = got.to_pandas()
    assert "is_deleted" not in got  # no deletion column was named
    rows = sorted(
        (r.user_id, str(r.updated_at), r.email, r.reason)
        for r in got.itertuples(index=False)
    )
    assert rows == [
        (1, "2026-02-02 09:00:00", "a@x", "no_change"),
        (2, "2026-02-01 09:00:00", "c@x", "same_instant"),
        (2, "2026-02-02 09:00:00", "d@x", "no_change"),
    ]
    # and the Type 2 build agrees: 7 records in, 4 versions + 3 records that made none
    dim = build_mod.scd2.build_scd2(
        ibis.memtable(log),
        "user_id",
        ["status", "email"],
        at="updated_at",
        deleted=None,
    )
    assert dim.count().execute() == 4


def _with_planted_no_op_records(original):
    """Wrap the generator's user change log: add one no-op record and one same-instant copy."""

    def changes(users, seed):
        log = original(users, seed).to_pandas()
        last = log[log.user_id == 1].iloc[[-1]].copy()
        last["updated_at"] = last.updated_at + pd.Timedelta(
            seconds=1
        )  # same state, later
        first = (
            log[log.user_id == 2].iloc[[0]].copy()
        )  # an exact copy at the same instant
        out = pd.concat([log, last, first], ignore_index=True)
        return pa.Table.from_pandas(out, preserve_index=False)

    return changes


def test_build_quarantines_change_records_that_make_no_version(monkeypatch):
    plain = ibis.duckdb.connect()
    plain_report = PRACTICE.build(plain, scale=TINY, seed=2)
    monkeypatch.setattr(
        gen, "_user_changes", _with_planted_no_op_records(gen._user_changes)
    )
    con = ibis.duckdb.connect()
    report = PRACTICE.build(con, scale=TINY, seed=2)
    s = report.sources["user_changes"]
    assert s["rows_in"] == con.table("user_changes", database="raw").count().execute()
    assert s["rows_in"] == plain_report.sources["user_changes"]["rows_in"] + 2

    def versions(c):
        dim = c.table("dim_user")
        return dim.filter(~dim.is_inferred & (dim.user_id >= 0)).count().execute()

    assert s["loaded"] == versions(con)
    assert s["loaded"] == versions(plain)  # the two records add no version
    q = con.table("quarantine").to_pandas()
    q = q[q.source == "user_changes"]
    assert sorted(zip(q.record_id, q.reason, strict=True)) == [
        (1, "no_change"),
        (2, "same_instant"),
    ]
    assert s["quarantined"] == 2 and report.reconciles()


def test_build_fails_when_a_change_record_is_lost(monkeypatch):
    """Drop one version on purpose: rows in != versions + quarantined, and the build stops."""
    original = build_mod.scd2.merge_scd2

    def lossy(dim, changes, key, *args, **kwargs):
        versions = original(dim, changes, key, *args, **kwargs)
        if key != "user_id":
            return versions
        return versions.filter(~((versions.user_id == 1) & versions.is_current))

    # the daily load merges each day's change records into the type 2 dimension
    monkeypatch.setattr(build_mod.scd2, "merge_scd2", lossy)
    with pytest.raises(RuntimeError, match="user_changes"):
        PRACTICE.build(ibis.duckdb.connect(), scale=TINY, seed=2)


# ---------------------------------------------------------------------------------------------
# metrics: Ibis equals SQL
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(metrics.METRICS))
def test_metric_equals_its_sql(con, name):
    m = metrics.METRICS[name]
    ibis_df = m.to_pandas(con)
    sql_df = m.sql_to_pandas(con)
    assert len(ibis_df) > 0
    assert compare(sql_df, ibis_df, rtol=1e-9) is None


def test_required_metric_names():
    required = {
        "dau",
        "mau",
        "stickiness",
        "engagement_by_content_type",
        "user_growth",
        "churn_rate",
        "ad_performance",
        "device_behavior",
    }
    assert required <= set(metrics.METRICS)
    assert required <= set(PRACTICE.metrics)


# ---------------------------------------------------------------------------------------------
# the cumulative table equals raw events
# ---------------------------------------------------------------------------------------------
def test_cumulative_counts_equal_raw_event_counts(con, user_day):
    days = pd.date_range(str(metrics.FIRST_DAY), str(metrics.LAST_DAY))
    expected = []
    for d in days:
        window = user_day[user_day.event_date <= d]
        expected.append(
            {
                "activity_date": d,
                "dau": (window.event_date == d).sum(),
                "wau": window[
                    window.event_date > d - pd.Timedelta(days=7)
                ].user_id.nunique(),
                "mau": window[
                    window.event_date > d - pd.Timedelta(days=28)
                ].user_id.nunique(),
                "seen": window.user_id.nunique(),
            }
        )
    expected = pd.DataFrame(expected)
    cum = con.table("user_activity_cumulative", database="mart")
    got = (
        cum.group_by("activity_date")
        .aggregate(
            dau=((cum.activity_mask & 1) != 0).sum(),
            wau=((cum.activity_mask & 127) != 0).sum(),
            mau=(cum.activity_mask != 0).sum(),
            seen=cum.count(),
        )
        .to_pandas()
    )
    assert compare(expected, got) is None


def test_cumulative_masks_row_by_row(con, user_day):
    cum = con.table("user_activity_cumulative", database="mart").to_pandas()
    cum["activity_date"] = pd.to_datetime(cum.activity_date)
    pairs = cum[["user_id", "activity_date"]].merge(user_day, on="user_id")
    lag = (pairs.activity_date - pairs.event_date).dt.days
    keep = (lag >= 0) & (lag < 28)
    pairs = pairs[keep].assign(
        bit=np.left_shift(1, lag[keep].to_numpy().astype(np.int64))
    )
    mask = pairs.groupby(["user_id", "activity_date"]).bit.sum()
    got = cum.set_index(["user_id", "activity_date"]).activity_mask
    want = mask.reindex(got.index, fill_value=0)
    assert (got == want).all()
    last = user_day.groupby("user_id").event_date.min()
    assert (
        pd.to_datetime(cum.first_active_date) == last.loc[cum.user_id].to_numpy()
    ).all()


def test_mau_window_boundaries_on_a_fixture():
    """Active once on Jan 1: counted in the 28-day window of Jan 28, not of Jan 29."""
    con = ibis.duckdb.connect()
    state = con.create_table(
        "state", schema=schema.USER_ACTIVITY_CUMULATIVE.ibis_schema()
    )
    day = date(2026, 1, 1)
    masks = {}
    for i in range(30):
        active = [7] if i == 0 else []
        today = ibis.memtable(
            pd.DataFrame({"user_id": pd.Series(active, dtype="int64")})
        )
        nxt = con.create_table(
            "state", build_mod.cumulate_day(state, today, day), overwrite=True
        )
        state = nxt
        masks[day] = int(nxt.activity_mask.execute().iloc[0])
        day += timedelta(days=1)
    assert masks[date(2026, 1, 1)] == 1
    assert (
        masks[date(2026, 1, 28)] == 1 << 27
    )  # [Jan 1, Jan 28] is 28 days: still active
    assert masks[date(2026, 1, 29)] == 0  # the user keeps a row, with an empty mask
    assert pd.Timestamp(state.last_active_date.execute().iloc[0]) == pd.Timestamp(
        "2026-01-01"
    )


# ---------------------------------------------------------------------------------------------
# growth accounting
# ---------------------------------------------------------------------------------------------
def _signup_days(con, user_day: pd.DataFrame) -> pd.Series:
    """Sign-up day per user in plain pandas: dim_user's created_at, else the first active day."""
    dim = con.table("dim_user").select("user_id", "created_at").to_pandas()
    created = dim[dim.user_id >= 0].groupby("user_id").created_at.min().dt.normalize()
    first = user_day.groupby("user_id").event_date.min()
    signup = created.reindex(first.index).fillna(first)
    return signup.where(signup <= first, first)


def _growth_oracle(
    user_day: pd.DataFrame, signup: pd.Series, freq: str
) -> pd.DataFrame:
    """Growth accounting in plain pandas: counts per period from the set of active periods.

    A user active in period i is new (signed up in i), returning (i is the first period and
    they signed up before it), retained (active in i - 1) or resurrected; churned in i when
    active in i - 1 and not in i. The first period's retained, resurrected and churned are
    unknown (None).
    """
    periods = pd.date_range(str(metrics.FIRST_DAY), str(metrics.LAST_DAY), freq=freq)
    position = pd.Series(np.arange(len(periods)), index=periods)

    def index_of(days: pd.Series) -> np.ndarray:
        start = days if freq == "D" else days.dt.to_period("M").dt.start_time
        return np.searchsorted(periods.to_numpy(), start.to_numpy(), side="right") - 1

    act = pd.DataFrame(
        {"user_id": user_day.user_id, "i": index_of(user_day.event_date)}
    )
    act = act.drop_duplicates()
    active = set(zip(act.user_id, act.i, strict=True))
    signup_i = pd.Series(
        index_of(signup), index=signup.index
    )  # -1: before the first period
    rows = []
    for i in range(len(position)):
        now = act[act.i == i].user_id.to_numpy()
        before = act[act.i == i - 1].user_id
        is_new = signup_i.loc[now].to_numpy() == i
        was_active = np.array([(u, i - 1) in active for u in now], dtype=bool)
        censored = i == 0
        rows.append(
            {
                "period_start": periods[i],
                "active": len(now),
                "new": int(is_new.sum()),
                "returning_users": int((~is_new).sum()),
                "retained": None if censored else int((~is_new & was_active).sum()),
                "resurrected": None if censored else int((~is_new & ~was_active).sum()),
                "churned": None
                if censored
                else int(sum((u, i) not in active for u in before)),
            }
        )
    return pd.DataFrame(rows)


def test_growth_accounting_against_a_pandas_classification(con, user_day):
    g = metrics.METRICS["user_growth"].to_pandas(con)
    signup = _signup_days(con, user_day)
    for period, freq in [("day", "D"), ("month", "MS")]:
        want = _growth_oracle(user_day, signup, freq)
        got = g[g.period == period].sort_values("period_start").reset_index(drop=True)
        got = got.assign(period_start=pd.to_datetime(got.period_start))
        assert len(want) == len(
            pd.date_range(str(metrics.FIRST_DAY), str(metrics.LAST_DAY), freq=freq)
        )
        # every state occurs, so a classification that never says one of them fails here
        later = want.iloc[1:]
        assert (later[["new", "retained", "resurrected", "churned"]].sum() > 0).all(), (
            period
        )
        assert (
            want.returning_users.iloc[0] > 0
        )  # users who signed up before the data start
        assert compare(want, got[want.columns]) is None, period
        assert got.is_left_censored.tolist() == [True] + [False] * (len(got) - 1)
        assert got.is_complete.all()  # the generated period ends on a month end


def test_growth_states_on_a_fixture():
    ud = ibis.memtable(
        pd.DataFrame(
            {
                "user_id": [1, 1, 2, 2, 3, 4, 4],
                "event_date": pd.to_datetime(
                    [
                        "2026-01-05",
                        "2026-03-02",
                        "2026-01-09",
                        "2026-02-01",
                        "2026-03-31",
                        "2026-02-11",
                        "2026-03-12",
                    ]
                ),
            }
        ),
        schema={"user_id": "int64", "event_date": "date"},
    )
    signup = ibis.memtable(
        pd.DataFrame(
            {
                "user_id": [1, 2, 3, 4],
                # 1 and 4 signed up before the first loaded month (4 quiet in January)
                "signup_date": pd.to_datetime(
                    ["2025-12-20", "2026-01-09", "2026-03-31", "2025-11-02"]
                ),
            }
        ),
        schema={"user_id": "int64", "signup_date": "date"},
    )
    got = build_mod.churn_stats(
        ud, signup, "month", date(2026, 1, 1), date(2026, 3, 31)
    )
    got = got.to_pandas().sort_values(["user_id", "period_start"])
    rows = [
        (r.user_id, str(pd.Timestamp(r.period_start).date()), r.status)
        for r in got.itertuples()
    ]
    assert rows == [
        (
            1,
            "2026-01-01",
            "returning",
        ),  # signed up before January: not new, state unknown
        (1, "2026-02-01", "churned"),
        (1, "2026-03-01", "resurrected"),
        (2, "2026-01-01", "new"),
        (2, "2026-02-01", "retained"),
        (2, "2026-03-01", "churned"),
        (3, "2026-03-01", "new"),  # no April row: April is not loaded
        (
            4,
            "2026-02-01",
            "resurrected",
        ),  # quiet in January, signed up before it: not new
        (4, "2026-03-01", "retained"),
    ]
    assert got[got.status == "resurrected"].resurrected_flag.all()
    assert got[got.status == "churned"].churned_flag.all()
    assert got[got.status == "returning"].resurrected_flag.isna().all()


def test_brief_churn_query_runs_verbatim_and_agrees_on_complete_months(con):
    seed = con.sql(metrics.SEED_CHURN_SQL).to_pandas()
    ours = metrics.METRICS["churn_rate"].to_pandas(con)
    assert len(seed) == len(ours) + 1
    assert seed.churned_rate.iloc[-1] == 100.0  # the last month has no next month yet
    merged = ours.assign(month=pd.to_datetime(ours.month)).merge(
        seed.assign(month=pd.to_datetime(seed.month)), on="month"
    )
    assert len(merged) == len(ours)
    assert np.allclose(merged.churned_rate / 100, merged.churn_rate)


def test_sessions_split_on_gaps_over_30_minutes():
    t0 = pd.Timestamp("2026-02-01 10:00")
    times = [
        t0,
        t0 + pd.Timedelta(minutes=30),
        t0 + pd.Timedelta(minutes=60, microseconds=1),
        t0 + pd.Timedelta(hours=5),
    ]
    ev = ibis.memtable(
        pd.DataFrame(
            {
                "event_id": [1, 2, 3, 4],
                "event_time": times,
                "viewer_id": 1,
                "device_id": 9,
                "event_type": ["view", "like", "view", "view"],
            }
        )
    )
    got = (
        build_mod.sessionize(ev)
        .order_by("event_id")
        .session_number.to_pandas()
        .tolist()
    )
    assert got == [
        0,
        0,
        1,
        2,
    ]  # exactly 30 minutes stays in the session; a microsecond more splits


# ---------------------------------------------------------------------------------------------
# planted truths, at a larger scale
# ---------------------------------------------------------------------------------------------
def _within(p_hat: float, p: float, n: int, sigmas: float = 4.0) -> bool:
    return abs(p_hat - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_planted_churn_hazard_by_device(big):
    t = metrics.METRICS["churn_rate_by_device"].to_pandas(big)
    pooled = t.groupby("device_type")[["active_users", "churned_users"]].sum()
    for device, hazard in gen.PLANTED["churn_hazard"].items():
        n, k = pooled.loc[device]
        assert _within(k / n, hazard, n), (device, k / n, hazard, n)
    rates = (pooled.churned_users / pooled.active_users).sort_values()
    assert list(rates.index) == ["mobile", "desktop", "tablet"]


def test_planted_resurrection_rate(big):
    t = metrics.METRICS["resurrection_rate"].to_pandas(big)
    n, k = t.dormant_users.sum(), t.resurrected_users.sum()
    assert _within(k / n, gen.PLANTED["resurrection_rate"], n), (k / n, n)


def _resurrection_oracle(con, user_day: pd.DataFrame, months, users=None) -> dict:
    """Per month m, in plain pandas: (users signed up before m, quiet in m - 1, account not
    closed before m; how many of them are active in m). ``users`` restricts the pool."""
    dim = con.table("dim_user").to_pandas()
    dim = dim[dim.user_id >= 0]
    signup = _signup_days(con, user_day)
    created = dim.groupby("user_id").created_at.min().dt.normalize()
    signup = pd.concat(
        [signup, created[~created.index.isin(signup.index)]]
    )  # never active
    closed = dim[dim.is_deleted].groupby("user_id").valid_from.min()
    month_of = user_day.event_date.dt.to_period("M").dt.start_time
    active = set(zip(user_day.user_id, month_of, strict=True))
    pool_users = signup.index if users is None else signup.index.intersection(users)
    out = {}
    for month in months:
        prev = month - pd.DateOffset(months=1)
        pool = [
            u
            for u in pool_users
            if signup[u] < month
            and (u, prev) not in active
            and not (u in closed.index and closed[u] < month)
        ]
        out[month] = (len(pool), sum((u, month) in active for u in pool))
    return out


def test_resurrection_pool_equals_pandas_and_the_simulation(con, user_day):
    t = metrics.METRICS["resurrection_rate"].to_pandas(con)
    months = list(pd.to_datetime(t.month))
    got = {
        m: (int(n), int(k))
        for m, n, k in zip(months, t.dormant_users, t.resurrected_users, strict=True)
    }
    assert got == _resurrection_oracle(con, user_day, months)
    # restricted to the simulated users, the pool is the simulation's hidden one: quiet in
    # m - 1 (signed up before it: a user is alive in the month they sign up), not closed
    states = gen.simulated_states(TINY, 7)
    states = states[
        ~states.missing
    ]  # no sign-up or closing date for them in the warehouse
    st = states.assign(month=pd.to_datetime(states.month)).set_index(
        ["month", "user_id"]
    )
    simulated = {}
    for m in months:
        prev, now = st.loc[m - pd.DateOffset(months=1)], st.loc[m]
        pool = prev.exists & ~prev.alive & ~now.closed
        simulated[m] = (int(pool.sum()), int((pool & now.alive).sum()))
    assert sum(n for n, _ in simulated.values()) > 0
    assert (
        _resurrection_oracle(con, user_day, months, users=states.user_id) == simulated
    )


def test_planted_ctr_and_cvr(big):
    t = metrics.METRICS["ad_performance"].to_pandas(big)
    by = t.groupby("campaign_type")[["impressions", "clicks", "conversions"]].sum()
    for ctype in gen.CAMPAIGN_TYPES:
        imp, clk, conv = by.loc[ctype]
        assert _within(clk / imp, gen.PLANTED["ctr"][ctype], imp), ctype
        assert _within(conv / clk, gen.PLANTED["cvr"][ctype], clk), ctype


def test_planted_engagement_rates(big):
    t = metrics.METRICS["engagement_by_content_type"].to_pandas(big)
    by = t.groupby("content_type")[["views", "likes", "comments", "shares"]].sum()
    for ctype, rates in gen.PLANTED["engagement_rate"].items():
        views = by.loc[ctype, "views"]
        for kind, p in rates.items():
            k = by.loc[ctype, kind + "s"]
            assert _within(k / views, p, views), (ctype, kind, k / views, p)


# ---------------------------------------------------------------------------------------------
# exercises
# ---------------------------------------------------------------------------------------------
def test_at_least_eight_exercises():
    assert len(metrics.EXERCISES) >= 8
    assert all(name.startswith("social.") for name in metrics.EXERCISES)


@pytest.mark.parametrize("name", sorted(metrics.EXERCISES))
def test_exercise_reference_passes_and_wrong_answer_fails(con, name, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    ex = metrics.EXERCISES[name]
    if callable(ex.answer):
        reference = ex.answer(con).to_pandas()
        assert len(reference) > 0
        assert check(name, ex.answer(con), con)
        wrong = reference.copy()
        num = [c for c in wrong.columns if pd.api.types.is_numeric_dtype(wrong[c])]
        col = num[-1]
        wrong[col] = wrong[col].astype("float64")
        wrong.loc[0, col] = wrong.loc[0, col] * 1.5 + 1
        with pytest.raises(WrongAnswer):
            check(name, wrong, con)
    else:
        assert check(name, set(ex.answer), con)
        with pytest.raises(WrongAnswer):
            check(name, sorted(ex.answer)[:-1], con)
    assert check(name, None, con).correct is None


# ---------------------------------------------------------------------------------------------
# the measurement helpers used by notebook 3
# ---------------------------------------------------------------------------------------------
def test_bench_one_day_agrees_and_reads_fewer_rows(tmp_path):
    from datamodeling.social import bench
    from datamodeling.warehouse import build_database, connect

    path = tmp_path / "social.duckdb"
    build_database(
        "social", path, scale=TINY, seed=3
    )  # closed: the bench opens it read-only
    day = date(2026, 6, 15)
    out = bench.compare_one_day(path, day)
    assert list(out.approach) == [
        "incremental (cumulative table)",
        "recount 28 days of events",
    ]
    assert (
        out.mau.nunique() == 1
    )  # both approaches give the same MAU (also asserted inside)
    con = connect(path, read_only=True)
    mau = metrics.METRICS["mau"].to_pandas(con)
    con.disconnect()
    rolling = mau[
        (mau.window_type == "rolling_28d")
        & (pd.to_datetime(mau.window_end) == "2026-06-15")
    ]
    assert int(out.mau[0]) == int(rolling.active_users.iloc[0])
    rows = bench.rows_read_one_day(path, day)
    assert rows["incremental"] < rows["recount"]
    every_day = bench.compare_all_days(
        path
    )  # asserts both give the same DAU and MAU sums
    assert len(every_day) == 2 and (every_day.seconds > 0).all()


# ---------------------------------------------------------------------------------------------
# cleaning rules and UTC days on hand-made fixtures
# ---------------------------------------------------------------------------------------------
def _raw_events(rows):
    cols = ["event_id", "event_time", "received_at", "viewer_id"]
    df = pd.DataFrame(rows, columns=cols)
    df["event_time"] = pd.to_datetime(df.event_time, format="ISO8601")
    df["received_at"] = pd.to_datetime(df.received_at, format="ISO8601")
    for c, v in [
        ("event_type", "view"),
        ("content_id", 1),
        ("creator_id", 1),
        ("device_id", 9),
        ("ip_address", "10.0.0.1"),
    ]:
        df[c] = v
    return ibis.memtable(df)


def test_cleaning_rules_first_match_wins():
    t0, t1, late = "2026-03-01 10:00:00", "2026-03-01 10:00:05", "2026-03-01 10:01:00"
    raw = _raw_events(
        [
            (1, t0, t1, 1),  # first copy: loads
            (1, t0, late, 1),  # client retry: duplicate_event_id
            (2, "2026-09-01 00:00:00", t1, 1),  # clock ahead: future_timestamp
            (
                3,
                t0,
                t1,
                99,
            ),  # a user the app database does not know: a real event, loads
            (4, "2026-09-01 00:00:00", t1, 99),  # clock ahead: future_timestamp
            (
                4,
                "2026-09-01 00:00:00",
                late,
                99,
            ),  # its retry is refused for the same reason
            (5, t0, t1, 2),  # loads
        ]
    )
    rejected = build_mod.rejected_rows(build_mod.suspect_rows(raw))
    got = sorted(
        zip(*rejected.select("event_id", "reason").to_pandas().T.values, strict=True)
    )
    assert got == [
        (1, "duplicate_event_id"),
        (2, "future_timestamp"),
        (4, "future_timestamp"),
        (4, "future_timestamp"),
    ]
    loaded = build_mod.loaded_rows(raw, rejected).to_pandas()
    assert sorted(loaded.event_id) == [1, 3, 5]
    assert "received_at" not in loaded  # load time is not part of the fact
    assert (
        len(loaded) + rejected.count().execute() == 7
    )  # rows in = loaded + quarantined


def test_activity_days_are_utc_calendar_days():
    raw = _raw_events(
        [
            (1, "2026-03-01 23:59:59.999999", "2026-03-02 00:00:01", 1),
            (2, "2026-03-02 00:00:00", "2026-03-02 00:00:01", 2),
        ]
    )
    rejected = build_mod.rejected_rows(build_mod.suspect_rows(raw))
    loaded = build_mod.loaded_rows(raw, rejected)
    days = build_mod.user_days(loaded).to_pandas().sort_values("user_id")
    assert [str(pd.Timestamp(d).date()) for d in days.event_date] == [
        "2026-03-01",
        "2026-03-02",
    ]
    keys = loaded.order_by("event_id").date_key.to_pandas().tolist()
    assert keys == [20260301, 20260302]


def test_ad_events_alone_do_not_make_a_user_active(con, user_day):
    ads = con.table("fact_ad_event").select("user_id", "event_date").to_pandas()
    ads = ads.drop_duplicates()
    ads["event_date"] = pd.to_datetime(ads.event_date)
    ad_only = ads.merge(
        user_day, on=["user_id", "event_date"], how="left", indicator=True
    )
    ad_only = ad_only[ad_only._merge == "left_only"]
    assert len(ad_only) > 0  # sessions that cross midnight leave ad-only user-days
    cum = con.table("user_activity_cumulative", database="mart").to_pandas()
    cum["activity_date"] = pd.to_datetime(cum.activity_date)
    flagged = cum.merge(
        ad_only,
        left_on=["user_id", "activity_date"],
        right_on=["user_id", "event_date"],
    )
    assert len(flagged) > 0  # else the check below would pass on nothing
    assert (flagged.activity_mask & 1).eq(0).all()
