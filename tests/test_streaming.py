"""The streaming practice: metrics equal their hand-written SQL, the build equals a plain-pandas
reconstruction of the raw log, planted truths come back within sampling error, dirt is
quarantined with a reason and nothing is dropped silently, the same seed gives the same tables.
"""

from __future__ import annotations

import importlib
import math
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from datamodeling import warehouse
from datamodeling.exercises import WrongAnswer, check
from datamodeling.quality import check_model
from datamodeling.streaming import PRACTICE, build
from datamodeling.streaming import generate as gen
from datamodeling.streaming.metrics import EXERCISES, METRICS
from datamodeling.streaming.schema import TABLES

TINY = 3_000
PLANTED_ROWS = 60_000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("streaming") / "streaming.duckdb"
    con = warehouse.connect(path)
    report = build(con, scale=TINY, seed=7)
    yield con, report
    con.disconnect()


@pytest.fixture(scope="module")
def con(built):
    return built[0]


@pytest.fixture(scope="module")
def big():
    """A larger warehouse for planted truths (tolerances are derived from its sample sizes)."""
    c = warehouse.connect()
    build(c, scale=PLANTED_ROWS, seed=11)
    yield c
    c.disconnect()


def sql(con, query: str) -> pd.DataFrame:
    return con.raw_sql(query).df()


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame, keys, rtol=1e-9):
    assert sorted(left.columns) == sorted(right.columns)
    cols = sorted(left.columns)
    left = left[cols].sort_values(list(keys), ignore_index=True)
    right = right[cols].sort_values(list(keys), ignore_index=True)
    assert len(left) == len(right)
    for c in cols:
        a, b = left[c], right[c]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            np.testing.assert_allclose(
                a.astype(float).to_numpy(),
                b.astype(float).to_numpy(),
                rtol=rtol,
                atol=1e-9,
                err_msg=c,
            )
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), c


# ------------------------------------------------------------------------------------------
# Registry and metric names
# ------------------------------------------------------------------------------------------
def test_practice_registers_the_required_metrics():
    assert PRACTICE.name == "streaming"
    required = {
        "viewing_time",
        "completion_rate",
        "user_preferences",
        "recommendation_effectiveness",
        "streaming_quality",
        "content_performance",
    }
    assert required <= set(METRICS)
    assert len(EXERCISES) >= 8
    assert all(name.startswith("streaming.") for name in EXERCISES)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_metric_equals_its_sql(con, name):
    metric = METRICS[name]
    ibis_df = metric.to_pandas(con)
    sql_df = metric.sql_to_pandas(con)
    assert len(ibis_df) > 0
    assert_same_rows(ibis_df, sql_df, metric.order_by)


# ------------------------------------------------------------------------------------------
# The build against a plain-pandas reconstruction of the raw log
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pandas_sessions(con):
    """seconds played and furthest position per session, rebuilt from raw with pandas."""
    raw = sql(con, "SELECT * FROM raw.viewing_events")
    changes = sql(con, "SELECT content_id, duration_seconds FROM raw.content_changes")
    duration = changes.drop_duplicates("content_id").set_index("content_id").duration_seconds
    raw = raw.sort_values("event_id")
    dup = raw.duplicated(["session_id", "action_type", "event_time", "position_seconds"])
    ev = raw[~dup]
    has_play = ev.groupby("session_id").action_type.apply(lambda s: (s == "play").any())
    ev = ev[ev.session_id.map(has_play)].copy()
    ev["position"] = np.minimum(ev.position_seconds, ev.content_id.map(duration))
    ev = ev.sort_values(["session_id", "event_time", "action_type", "position_seconds", "event_id"])
    prev_action = ev.groupby("session_id").action_type.shift()
    prev_pos = ev.groupby("session_id").position.shift()
    ev["played"] = np.where(prev_action.isin(["play", "heartbeat"]), ev.position - prev_pos, 0)
    out = ev.groupby("session_id").agg(
        seconds_played=("played", "sum"),
        furthest_position=("position", "max"),
        events=("event_id", "size"),
    )
    return out, int(dup.sum()), int((~has_play).sum()), len(raw)


def test_sessions_equal_pandas_reconstruction(con, pandas_sessions):
    expected = pandas_sessions[0]
    got = sql(
        con,
        "SELECT session_id, seconds_played, furthest_position, event_count AS events "
        "FROM playback_session",
    ).set_index("session_id")
    assert len(got) == TINY
    pd.testing.assert_frame_equal(
        got.sort_index(), expected.sort_index(), check_dtype=False, check_names=False
    )


def test_event_order_matters_and_is_event_time(con, pandas_sessions):
    """Some sessions arrive out of order; ordering by arrival (event_id) would change results."""
    out_of_order = sql(
        con,
        """
        SELECT COUNT(*) AS n FROM (
            SELECT session_id,
                   event_time < LAG(event_time) OVER (PARTITION BY session_id ORDER BY event_id)
                       AS back
            FROM viewing_event) WHERE back
        """,
    ).n[0]
    assert out_of_order > 0
    by_arrival = (
        sql(
            con,
            """
        SELECT session_id, SUM(d) AS s FROM (
            SELECT session_id,
                   CASE WHEN LAG(action_type) OVER w IN ('play', 'heartbeat')
                        THEN position_seconds - LAG(position_seconds) OVER w ELSE 0 END AS d
            FROM viewing_event WINDOW w AS (PARTITION BY session_id ORDER BY event_id))
        GROUP BY session_id
        """,
        )
        .set_index("session_id")
        .s
    )
    expected = pandas_sessions[0].seconds_played
    assert (by_arrival.sort_index() != expected.sort_index()).sum() > 0


def test_event_invariants(con):
    bad = sql(
        con,
        """
        SELECT
          SUM(CASE WHEN position_seconds > duration_seconds THEN 1 ELSE 0 END) AS over_end,
          SUM(CASE WHEN viewing_duration < 0 THEN 1 ELSE 0 END)               AS negative,
          SUM(CASE WHEN completion_percentage > 100 THEN 1 ELSE 0 END)        AS over_100
        FROM viewing_event
        """,
    )
    assert bad.iloc[0].tolist() == [0, 0, 0]
    raw_over = sql(
        con,
        "SELECT COUNT(*) AS n FROM raw.viewing_events v JOIN content c "
        "ON c.content_id = v.content_id AND c.is_current WHERE v.position_seconds > c.duration_seconds",
    ).n[0]
    assert raw_over > 0  # the planted overshoot exists and was capped


def test_viewing_fact_totals_equal_event_totals(con):
    events = sql(
        con,
        "SELECT date_key, user_id AS user_key, content_id, device_id AS device_key, "
        "SUM(viewing_duration) AS viewing_duration, COUNT(DISTINCT session_id) AS session_count "
        "FROM viewing_event GROUP BY ALL",
    )
    fact = sql(
        con,
        "SELECT date_key, user_key, content_id, device_key, viewing_duration, session_count "
        "FROM viewing_fact",
    )
    assert_same_rows(fact, events, ["date_key", "user_key", "content_id", "device_key"])
    totals = sql(
        con,
        "SELECT (SELECT SUM(viewing_duration) FROM viewing_fact) AS f, "
        "(SELECT SUM(viewing_duration) FROM viewing_event) AS e, "
        "(SELECT SUM(seconds_played) FROM playback_session) AS s",
    ).iloc[0]
    assert totals.f == totals.e == totals.s > 0


def test_marts_equal_their_sql(con):
    """The two marts against hand-written SQL over the facts, and no session lost on the way."""
    quality = sql(
        con,
        """
        SELECT s.date_key, d.device_type, d.os, s.app_version,
               COUNT(*) AS sessions,
               SUM(s.seconds_played) AS play_seconds,
               SUM(s.rebuffer_seconds) AS rebuffer_seconds
        FROM playback_session s JOIN device d ON d.device_id = s.device_id
        GROUP BY ALL
        """,
    )
    got = sql(con, "SELECT * FROM mart.quality_daily")
    assert_same_rows(got, quality, ["date_key", "device_type", "os", "app_version"])
    content = sql(
        con,
        """
        SELECT date_key, content_id, COUNT(*) AS sessions, COUNT(DISTINCT user_id) AS viewers,
               SUM(seconds_played) / 3600.0 AS hours_played,
               SUM(CASE WHEN is_completed THEN 1 ELSE 0 END) AS completions
        FROM playback_session GROUP BY ALL
        """,
    )
    got = sql(con, "SELECT * FROM mart.content_daily")
    assert_same_rows(got, content, ["date_key", "content_id"])
    n = sql(con, "SELECT COUNT(*) AS n FROM playback_session").n[0]
    assert sql(con, "SELECT SUM(sessions) AS n FROM mart.quality_daily").n[0] == n > 0
    assert sql(con, "SELECT SUM(sessions) AS n FROM mart.content_daily").n[0] == n


def test_content_is_scd2_with_retags(con):
    versions = sql(con, "SELECT content_id, COUNT(*) AS n FROM content GROUP BY 1")
    changes = sql(
        con,
        "SELECT content_id, title, genre_id, changed_at FROM raw.content_changes "
        "ORDER BY content_id, changed_at, change_seq",
    )
    # a new version whenever (title, genre) differs from the previous record: pandas oracle
    prev = changes.groupby("content_id")[["title", "genre_id"]].shift()
    new = prev.title.isna() | (prev.title != changes.title) | (prev.genre_id != changes.genre_id)
    expected = changes[new].groupby("content_id").size()
    got = versions.set_index("content_id").n
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert (got > 1).any()
    assert len(changes) > int(expected.sum())  # no-op records created no version
    # each no-op record is quarantined with its reason; none arrive at the same instant here
    assert not changes.duplicated(["content_id", "changed_at"]).any()
    q = sql(
        con,
        "SELECT reason, COUNT(*) AS n FROM quarantine WHERE source = 'content_changes' GROUP BY 1",
    ).set_index("reason")
    assert q.n.to_dict() == {"unchanged": int((~new).sum())}


def test_seed_tables_and_columns_are_kept(con):
    """Every table and column of the seed's schema exists in the built warehouse by name."""
    from datamodeling.streaming.schema import SEED_TABLES

    for seed_table in SEED_TABLES:
        built = set(con.table(seed_table.name).columns)
        missing = set(seed_table.column_names) - built
        assert not missing, (seed_table.name, missing)


def test_check_model_passes(con):
    # conventions=False until this practice follows book/conventions.md (issue 10)
    report = check_model(con, TABLES, conventions=False)
    assert report.passed, str(report)
    assert len(report) > 40


# ------------------------------------------------------------------------------------------
# Quarantine and reconciliation
# ------------------------------------------------------------------------------------------
def test_reconciliation(con, built):
    report = built[1]
    assert report.reconciles()
    for source, counts in report.sources.items():
        raw_rows = sql(con, f"SELECT COUNT(*) AS n FROM raw.{source}").n[0]
        assert counts["rows_in"] == raw_rows, source
    q = sql(con, "SELECT source, COUNT(*) AS n FROM quarantine GROUP BY 1").set_index("source").n
    sources = ("content_changes", "viewing_events", "quality_events", "recommendation_events")
    for source in sources:
        counts = report.sources[source]
        assert counts["quarantined"] == q.get(source, 0) > 0
    loaded = {
        "users": "user",
        "devices": "device",
        "genres": "genre",
        "creators": "creator",
        "content_changes": "content",
        "viewing_events": "viewing_event",
        "quality_events": "streaming_quality_event",
        "recommendation_events": "recommendation_event",
    }
    for source, table in loaded.items():
        assert report.sources[source]["loaded"] == sql(con, f"SELECT COUNT(*) n FROM {table}").n[0]


def test_reconciliation_fails_when_a_content_version_is_lost(monkeypatch):
    """Loaded change records are counted from the dimension, not assumed: drop a version and the
    report no longer reconciles."""
    build_module = importlib.import_module("datamodeling.streaming.build")
    whole = build_module.content_dimension

    def one_version_lost(changes):
        dim = whole(changes)
        first = dim.content_sk.min()
        return dim.filter(dim.content_sk != first)

    monkeypatch.setattr(build_module, "content_dimension", one_version_lost)
    other = warehouse.connect()
    report = build(other, scale=TINY, seed=7)
    other.disconnect()
    counts = report.sources["content_changes"]
    assert counts["rows_in"] == counts["loaded"] + counts["quarantined"] + 1
    assert not report.reconciles()


def test_quarantine_reasons_match_an_independent_count(con, pandas_sessions):
    _, duplicates, orphan_sessions, _ = pandas_sessions
    q = sql(
        con,
        "SELECT reason, COUNT(*) AS n, COUNT(DISTINCT session_id) AS sessions FROM quarantine "
        "WHERE source = 'viewing_events' GROUP BY 1",
    ).set_index("reason")
    assert q.loc["duplicate_event", "n"] == duplicates > 0
    assert q.loc["session_without_play", "sessions"] == orphan_sessions
    # the sessions without a play are the stop-only sessions of the raw log
    actions = sql(con, "SELECT session_id, action_type FROM raw.viewing_events")
    stop_only = (actions.action_type == "stop").groupby(actions.session_id).all()
    assert orphan_sessions == int(stop_only.sum()) > 0
    neg = sql(con, "SELECT COUNT(*) AS n FROM raw.quality_events WHERE duration_ms < 0").n[0]
    qn = sql(con, "SELECT COUNT(*) AS n FROM quarantine WHERE reason = 'negative_duration'").n[0]
    assert qn == neg > 0
    raw_r = sql(con, "SELECT * FROM raw.recommendation_events")
    dupes = raw_r.sort_values("rec_event_id").duplicated(
        ["user_id", "content_id", "algorithm", "shown_at"]
    )
    qr = sql(con, "SELECT COUNT(*) AS n FROM quarantine WHERE reason = 'duplicate_impression'")
    assert qr.n[0] == dupes.sum() > 0


# ------------------------------------------------------------------------------------------
# Determinism
# ------------------------------------------------------------------------------------------
def test_same_seed_same_tables():
    a, b, c = gen.generate(1_500, 5), gen.generate(1_500, 5), gen.generate(1_500, 6)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["viewing_events"].equals(c["viewing_events"])


def test_same_seed_same_built_tables(con):
    other = warehouse.connect()
    names = ("memory_limit", "preserve_insertion_order", "enable_progress_bar")

    def settings():
        return [other.raw_sql(f"SELECT current_setting('{n}')").fetchone()[0] for n in names]

    other.raw_sql("SET enable_progress_bar = true")
    before = settings()
    build(other, scale=TINY, seed=7)
    assert settings() == before  # the build's settings are lifted after
    for table in ("playback_session", "viewing_fact", "content", "recommendation_event"):
        key = {
            "playback_session": "session_id",
            "viewing_fact": "date_key, user_key, content_key, device_key",
            "content": "content_sk",
            "recommendation_event": "rec_event_id",
        }[table]
        left = con.raw_sql(f"SELECT * FROM {table} ORDER BY {key}").df()
        right = other.raw_sql(f"SELECT * FROM {table} ORDER BY {key}").df()
        pd.testing.assert_frame_equal(left, right)
    other.disconnect()


def test_event_log_chunks_add_up_to_the_whole_log():
    """The build streams the player's log in chunks; together they are exactly ``generate``'s."""
    rows = gen.CHUNK_SESSIONS + 500  # two chunks of sessions, plus the orphans
    tables, chunks = gen.generate_parts(rows, 3)
    pieces = list(chunks)
    assert len(pieces) == 3
    whole = gen.generate(rows, 3)["viewing_events"]
    assert pa.concat_tables(pieces).equals(whole)
    ids = whole.column("event_id").to_numpy()
    assert (np.diff(ids) == 1).all() and ids[0] == 1
    log = whole.select(["session_id", "action_type"]).to_pandas()
    is_play = (log.action_type == "play").groupby(log.session_id)
    is_stop = (log.action_type == "stop").groupby(log.session_id)
    # every session is a played one (one per requested row) or a stop-only orphan
    assert int(is_play.any().sum()) == rows
    orphans = is_stop.all()
    assert int(orphans.sum()) == log.session_id.nunique() - rows > 0


# ------------------------------------------------------------------------------------------
# Planted truths
# ------------------------------------------------------------------------------------------
def _se(p: float, n: float) -> float:
    return math.sqrt(p * (1 - p) / n)


def test_recommendation_margin_recovered(big):
    df = METRICS["recommendation_effectiveness"].to_pandas(big).set_index("algorithm")
    p, t = df.loc["personalized"], df.loc["trending"]
    margin = p.ctr - t.ctr
    se = math.sqrt(_se(p.ctr, p.impressions) ** 2 + _se(t.ctr, t.impressions) ** 2)
    assert abs(margin - gen.PLANTED["ctr_margin"]) < 4 * se
    for algo, row in ((a, df.loc[a]) for a in gen.ALGORITHMS):
        want = gen.CTR[algo] * gen.WATCH_GIVEN_CLICK
        assert abs(row.watch_rate - want) < 4 * _se(want, row.impressions), algo
    organic = df.loc["organic"]
    lift = p.completion_rate - organic.completion_rate
    se = math.sqrt(
        _se(p.completion_rate, p.views) ** 2 + _se(organic.completion_rate, organic.views) ** 2
    )
    assert abs(lift - gen.PERSONALIZED_COMPLETION_LIFT) < 4 * se


def test_rebuffering_lowers_completion_by_the_planted_amount(big):
    df = METRICS["completion_by_quality"].to_pandas(big).set_index("quality_band")
    none = df.loc["none"]
    stalled = df.loc[["low", "high"]]
    n_stalled = stalled.sessions.sum()
    rate_stalled = (stalled.completion_rate * stalled.sessions).sum() / n_stalled
    drop = none.completion_rate - rate_stalled
    se = math.sqrt(
        _se(none.completion_rate, none.sessions) ** 2 + _se(rate_stalled, n_stalled) ** 2
    )
    assert abs(drop - gen.REBUFFER_COMPLETION_DROP) < 4 * se


def test_genre_affinity_per_segment_recovered(big):
    df = METRICS["user_preferences"].to_pandas(big)
    by = df.groupby(["segment", "genre_name"]).organic_sessions.sum().unstack(fill_value=0)
    for segment, planted in gen.PLANTED["genre_affinity"].items():
        n = by.loc[segment].sum()
        total = sum(planted.values())
        for genre, weight in planted.items():
            p = weight / total
            share = by.loc[segment].get(genre, 0) / n
            assert abs(share - p) < 4 * _se(p, n) + 1e-9, (segment, genre, share, p)


def test_rebuffer_probability_by_device_and_bad_release(big):
    df = METRICS["streaming_quality"].to_pandas(big)
    good = df[df.app_version != gen.BAD_APP_VERSION]
    per = good.groupby("device_type")[["rebuffered_sessions", "sessions"]].sum()
    for device, p in gen.REBUFFER_PROBABILITY.items():
        n = per.loc[device, "sessions"]
        share = per.loc[device, "rebuffered_sessions"] / n
        assert abs(share - p) < 4 * _se(p, n), device
    # The bad release multiplies each device's probability by the planted factor. Per device d,
    # R_d = share_bad / share_good; by the delta method, with the planted probabilities,
    # var(log R_d) = (1 - p_bad) / (n_bad p_bad) + (1 - p_good) / (n_good p_good). The devices'
    # log R_d are pooled with inverse-variance weights: sigma = 1 / sqrt(sum of the weights)
    # (about 0.013 at PLANTED_ROWS and seed 11, so 4 sigma is about +-5 % around the factor).
    bad = df[df.app_version == gen.BAD_APP_VERSION]
    per_bad = bad.groupby("device_type")[["rebuffered_sessions", "sessions"]].sum()
    weighted, weights = 0.0, 0.0
    for device, p_good in gen.REBUFFER_PROBABILITY.items():
        p_bad = min(p_good * gen.BAD_APP_REBUFFER_FACTOR, 0.95)
        n_good, n_bad = per.loc[device, "sessions"], per_bad.loc[device, "sessions"]
        share_good = per.loc[device, "rebuffered_sessions"] / n_good
        share_bad = per_bad.loc[device, "rebuffered_sessions"] / n_bad
        var = (1 - p_bad) / (n_bad * p_bad) + (1 - p_good) / (n_good * p_good)
        weighted += math.log(share_bad / share_good) / var
        weights += 1 / var
    sigma = 1 / math.sqrt(weights)
    log_factor = weighted / weights
    assert abs(log_factor - math.log(gen.BAD_APP_REBUFFER_FACTOR)) < 4 * sigma, (
        math.exp(log_factor),
        sigma,
    )


def test_as_of_genre_differs_from_current_genre_for_retagged_titles(big):
    """Before the re-tag day, the current genre misfiles views of re-tagged titles."""
    diff = sql(
        big,
        """
        SELECT COUNT(*) AS n FROM playback_session s
        JOIN content v_then ON v_then.content_sk = s.content_sk
        JOIN content cur  ON cur.content_id = s.content_id AND cur.is_current
        WHERE v_then.genre_id <> cur.genre_id
        """,
    ).n[0]
    # pandas oracle from the raw change log: the last record in effect at the session's start
    # (ties in time: the later arrival) against the title's last record
    changes = sql(
        big, "SELECT content_id, genre_id, changed_at, change_seq FROM raw.content_changes"
    ).sort_values(["changed_at", "change_seq"])
    sessions = sql(big, "SELECT session_id, content_id, started_at FROM playback_session")
    sessions["started_at"] = sessions.started_at.astype(changes.changed_at.dtype)
    then = pd.merge_asof(
        sessions.sort_values("started_at"),
        changes[["content_id", "genre_id", "changed_at"]],
        left_on="started_at",
        right_on="changed_at",
        by="content_id",
        direction="backward",
    )
    assert then.genre_id.notna().all()
    current = changes.groupby("content_id").genre_id.last()
    expected = int((then.genre_id != then.content_id.map(current)).sum())
    early = (sessions.started_at < pd.Timestamp(gen.PLANTED["retag_at"])).sum()
    assert diff == expected
    assert 0 < expected < early


# ------------------------------------------------------------------------------------------
# Exercises
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_exercise_reference_passes_and_a_wrong_answer_fails(con, name, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    exercise = EXERCISES[name]
    reference = exercise.answer
    if isinstance(reference, set):
        assert check(name, sorted(reference), con=con)
        wrong = sorted(reference)[:-1]
    else:
        right = reference(con).to_pandas()
        assert check(name, right, con=con)
        wrong = right.copy()
        numeric = [c for c in wrong.columns if pd.api.types.is_numeric_dtype(wrong[c])]
        wrong[numeric[-1]] = wrong[numeric[-1]] * 1.5 + 1
    with pytest.raises(WrongAnswer):
        check(name, wrong, con=con)


def test_unanswered_exercise_never_raises(con, monkeypatch):
    monkeypatch.setenv("DATAMODELING_STRICT", "1")
    verdict = check("streaming.rewinds", None, con=con)
    assert verdict.correct is None


def test_cli_build_and_metrics(tmp_path, capsys):
    from datamodeling import cli

    db = tmp_path / "s.duckdb"
    assert cli.main(["build", "streaming", "--scale", "1500", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "viewing_event" in out and "quarantined" in out
    assert (
        cli.main(
            [
                "metrics",
                "streaming",
                "--db",
                str(db),
                "--name",
                "completion_by_quality",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("metric,quality_band")
    assert os.path.getsize(db) > 0
