"""The social practice follows the book's conventions (book/conventions.md), and the review's
findings (issue 10) stay fixed.

Most tests load the hand-made fixture in ``data/fixtures/social/``: a handful of users whose
expected states are worked out by hand below, in a period that ends in the middle of March
(2026-01-01 .. 2026-03-15). The others run on a tiny generated warehouse.
"""

from __future__ import annotations

import importlib
from datetime import date

import ibis
import pandas as pd
import pytest

from datamodeling import quality, warehouse
from datamodeling.social import metrics, schema

build_mod = importlib.import_module("datamodeling.social.build")

FIXTURE = warehouse.fixtures_dir() / "social"
FIRST, LAST = date(2026, 1, 1), date(2026, 3, 15)  # the fixture's data ends mid-month
TINY = 2_000


@pytest.fixture(scope="module")
def fx():
    con = ibis.duckdb.connect()
    report = build_mod.build_from_raw(con, build_mod.read_fixture(FIXTURE), FIRST, LAST)
    assert report.reconciles()
    return con


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("social_conventions") / "a.duckdb"
    warehouse.build_database("social", path, scale=TINY, seed=5)
    con = warehouse.connect(path, read_only=True)
    yield con
    con.disconnect()


def _rows(con, sql: str) -> list[tuple]:
    return [tuple(r) for r in con.raw_sql(sql).fetchall()]


# ---------------------------------------------------------------------------------------------
# the fixture's story, and every metric on it
# ---------------------------------------------------------------------------------------------
def test_fixture_reconciles_and_passes_every_check(fx):
    report = quality.check_model(fx, schema.TABLES)
    assert report.passed, report.to_frame()[lambda d: ~d.passed]
    q = fx.table("quarantine").to_pandas()
    assert sorted(zip(q.record_id, q.reason, strict=True)) == [
        (4, "duplicate_event_id"),
        (50, "future_timestamp"),
    ]


@pytest.mark.parametrize("name", sorted(metrics.METRICS))
def test_every_metric_equals_its_sql_when_the_data_ends_mid_month(fx, name):
    from datamodeling.exercises import compare

    m = metrics.METRICS[name]
    got = m.to_pandas(fx)
    assert len(got) > 0
    assert compare(m.sql_to_pandas(fx), got, rtol=1e-9) is None


# ---------------------------------------------------------------------------------------------
# point 6: churn needs the next month complete, not merely started
# ---------------------------------------------------------------------------------------------
def test_churn_keeps_only_months_whose_next_month_is_complete(fx):
    t = metrics.METRICS["churn_rate"].to_pandas(fx)
    # January's next month (February) is complete; February's (March) ends on the 15th: out.
    # The old rule "month + 1 month <= last day" kept February (March 1 <= March 15).
    assert [str(pd.Timestamp(m).date()) for m in t.month] == ["2026-01-01"]
    # active in January: users 1, 3, 4, 6 and 99 (inferred); not back in February: 1, 6, 99
    assert (int(t.active_users[0]), int(t.churned_users[0])) == (5, 3)
    by_device = metrics.METRICS["churn_rate_by_device"].to_pandas(fx)
    assert set(pd.to_datetime(by_device.month)) == {pd.Timestamp("2026-01-01")}
    assert by_device.active_users.sum() == 5


def test_resurrection_needs_both_months_complete_and_skips_closed_accounts(fx):
    t = metrics.METRICS["resurrection_rate"].to_pandas(fx)
    # only February: March is incomplete. Signed up before February and quiet in January:
    # users 2, 7 and 8; user 7 closed the account on January 20, so the pool is 2 and 8, and
    # user 2 came back.
    assert [str(pd.Timestamp(m).date()) for m in t.month] == ["2026-02-01"]
    assert (int(t.dormant_users[0]), int(t.resurrected_users[0])) == (2, 1)


def test_the_brief_churn_query_runs_verbatim_and_misreads_the_partial_month(fx):
    brief = fx.sql(metrics.SEED_CHURN_SQL).to_pandas()
    # January 60 %, February: of users 2, 3, 4 and 5, only 4 was seen in March's first half,
    # and March reads 100 %. Only January is a finished answer.
    rates = dict(
        zip(
            pd.to_datetime(brief.month).dt.strftime("%m"),
            brief.churned_rate,
            strict=True,
        )
    )
    assert rates == pytest.approx({"01": 60.0, "02": 75.0, "03": 100.0})


# ---------------------------------------------------------------------------------------------
# point 7: growth accounting at the window start
# ---------------------------------------------------------------------------------------------
def _states(fx, period: str) -> dict:
    s = fx.table("user_churn_stats", database="mart").to_pandas()
    s = s[s.period == period]
    return {
        (int(r.user_id), str(pd.Timestamp(r.period_start).date())): r.status
        for r in s.itertuples()
    }


def test_new_comes_from_the_sign_up_and_the_first_period_is_left_censored(fx):
    states = _states(fx, "month")
    assert states == {
        (1, "2026-01-01"): "returning",  # signed up in December: not new, state unknown
        (1, "2026-02-01"): "churned",
        (1, "2026-03-01"): "resurrected",
        (
            2,
            "2026-02-01",
        ): "resurrected",  # signed up in November, quiet in January: not new
        (2, "2026-03-01"): "churned",
        (3, "2026-01-01"): "new",
        (3, "2026-02-01"): "retained",
        (3, "2026-03-01"): "churned",
        (4, "2026-01-01"): "returning",
        (4, "2026-02-01"): "retained",
        (4, "2026-03-01"): "retained",
        (5, "2026-02-01"): "new",
        (5, "2026-03-01"): "churned",
        (6, "2026-01-01"): "returning",
        (6, "2026-02-01"): "churned",
        (
            99,
            "2026-01-01",
        ): "new",  # inferred: no sign-up date, the first activity stands in
        (99, "2026-02-01"): "churned",
    }
    g = metrics.METRICS["user_growth"].to_pandas(fx)
    g = g[g.period == "month"].set_index(
        pd.to_datetime(g[g.period == "month"].period_start)
    )
    jan, feb, mar = (
        g.loc[pd.Timestamp(m)] for m in ("2026-01-01", "2026-02-01", "2026-03-01")
    )
    assert (jan.active, jan.new, jan.returning_users) == (5, 2, 3)
    assert jan.is_left_censored and pd.isna(jan.retained) and pd.isna(jan.churned)
    assert pd.isna(jan.quick_ratio)
    assert (feb.new, feb.retained, feb.resurrected, feb.churned) == (1, 2, 1, 3)
    assert not feb.is_left_censored and feb.is_complete
    assert not mar.is_complete  # March's churn is provisional: half of March is loaded
    # the first day is censored too: nobody was active on it
    days = metrics.METRICS["user_growth"].to_pandas(fx)
    first = days[
        (days.period == "day") & (pd.to_datetime(days.period_start) == "2026-01-01")
    ]
    assert first.is_left_censored.all() and first.churned.isna().all()


def test_growth_identities_hold_on_every_uncensored_period(fx):
    g = metrics.METRICS["user_growth"].to_pandas(fx)
    for period in ("day", "month"):
        p = g[g.period == period].sort_values("period_start").reset_index(drop=True)
        assert (p.active == p.new + p.returning_users).all()
        later = p.iloc[1:]
        assert (later.returning_users == later.retained + later.resurrected).all()
        assert (
            later.churned.to_numpy() == (p.active.shift(1) - p.retained).iloc[1:]
        ).all()


# ---------------------------------------------------------------------------------------------
# points 2, 3 and 4: reserved and inferred members, keys on facts, deleted versions
# ---------------------------------------------------------------------------------------------
def test_unknown_references_load_against_inferred_members_and_count(fx):
    users = fx.table("dim_user").to_pandas().set_index("user_id")
    assert users.loc[99].is_inferred and users.loc[99].status == "Unknown"
    device = fx.table("dim_device").to_pandas().set_index("device_id")
    assert device.loc[504].is_inferred and device.loc[504].device_type == "Unknown"
    campaign = fx.table("dim_campaign").to_pandas().set_index("campaign_id")
    assert campaign.loc[799].is_inferred
    # user 99's only event is a DAU on January 25; nothing of theirs was quarantined
    dau = metrics.METRICS["dau"].to_pandas(fx).set_index("activity_date").dau
    assert dau.loc[pd.Timestamp("2026-01-25")] == 1
    assert _rows(fx, "SELECT COUNT(*) FROM quarantine WHERE user_id = 99") == [(0,)]


def test_every_dimension_has_its_reserved_members(fx):
    for decl in [t for t in schema.TABLES if t.role == "dimension"]:
        key = decl.primary_key[0]
        got = _rows(
            fx, f"SELECT {key} FROM {decl.name} WHERE {key} IN (-1, -2) ORDER BY {key}"
        )
        assert got == [(-2,), (-1,)], decl.name
    labels = _rows(fx, "SELECT status, name FROM dim_user WHERE user_sk = -1")
    assert labels == [("Unknown", "Unknown")]
    na = _rows(fx, "SELECT device_type FROM dim_device WHERE device_id = -2")
    assert na == [("Not applicable",)]


def test_fact_keys_are_the_versions_valid_at_the_event(fx):
    # user 4 changed e-mail on January 15 and post 9002 was edited on February 1: the stored
    # keys change with them. An independent as-of join, by hand, gives the same keys.
    got = _rows(
        fx,
        """
        SELECT e.event_id, e.viewer_sk = v.user_sk, e.creator_sk = c.user_sk,
               e.content_sk = p.content_sk
        FROM fact_content_event e
        JOIN dim_user v ON v.user_id = e.viewer_id
             AND v.valid_from <= e.event_time AND e.event_time < v.valid_to
        JOIN dim_user c ON c.user_id = e.creator_id
             AND c.valid_from <= e.event_time AND e.event_time < c.valid_to
        JOIN dim_content p ON p.content_id = e.content_id
             AND p.valid_from <= e.event_time AND e.event_time < p.valid_to
        ORDER BY e.event_id
        """,
    )
    assert len(got) == 13 and all(all(flags) for _, *flags in got)
    emails = _rows(
        fx,
        """
        SELECT e.event_id, u.email FROM fact_content_event e
        JOIN dim_user u ON u.user_sk = e.viewer_sk
        WHERE e.viewer_id = 4 ORDER BY e.event_id
        """,
    )
    assert emails == [
        (7, "user4@example.com"),
        (8, "user4@mail.example.org"),
        (9, "user4@mail.example.org"),
        (10, "user4@mail.example.org"),
    ]


def test_stored_keys_equal_an_as_of_join_on_the_generated_warehouse(tiny):
    bad = _rows(
        tiny,
        """
        SELECT COUNT(*) FILTER (WHERE e.viewer_sk IS DISTINCT FROM v.user_sk),
               COUNT(*) FILTER (WHERE e.creator_sk IS DISTINCT FROM c.user_sk),
               COUNT(*) FILTER (WHERE e.content_sk IS DISTINCT FROM p.content_sk),
               COUNT(*)
        FROM fact_content_event e
        LEFT JOIN dim_user v ON v.user_id = e.viewer_id
             AND v.valid_from <= e.event_time AND e.event_time < v.valid_to
        LEFT JOIN dim_user c ON c.user_id = e.creator_id
             AND c.valid_from <= e.event_time AND e.event_time < c.valid_to
        LEFT JOIN dim_content p ON p.content_id = e.content_id
             AND p.valid_from <= e.event_time AND e.event_time < p.valid_to
        """,
    )
    assert bad[0][:3] == (0, 0, 0) and bad[0][3] > 0
    ads = _rows(
        tiny,
        """
        SELECT COUNT(*) FILTER (WHERE a.user_sk IS DISTINCT FROM u.user_sk), COUNT(*)
        FROM fact_ad_event a
        LEFT JOIN dim_user u ON u.user_id = a.user_id
             AND u.valid_from <= a.event_time AND a.event_time < u.valid_to
        """,
    )
    assert ads[0][0] == 0 and ads[0][1] > 0


def test_a_fact_after_an_account_closed_still_joins(fx, tiny):
    # user 6 closed the account on February 5; their post 9001 was viewed on February 10, 14
    # and 20: each event finds the closed account's final version through creator_sk
    got = _rows(
        fx,
        """
        SELECT e.event_id, u.is_deleted, u.valid_from
        FROM fact_content_event e JOIN dim_user u ON u.user_sk = e.creator_sk
        WHERE e.creator_id = 6 AND e.event_time >= TIMESTAMP '2026-02-05 12:00:00'
        ORDER BY e.event_id
        """,
    )
    assert [(i, d) for i, d, _ in got] == [(3, True), (9, True), (11, True)]
    ranges = _rows(
        fx,
        "SELECT is_deleted, is_current, valid_to FROM dim_user WHERE user_id = 6 "
        "ORDER BY valid_from",
    )
    assert [(d, c) for d, c, _ in ranges] == [(False, False), (True, True)]
    assert ranges[-1][2].year == 9999
    # the generator plants closed accounts too, whose posts are viewed after the closing
    later = _rows(
        tiny,
        """
        SELECT COUNT(*) FROM fact_content_event e JOIN dim_user u ON u.user_sk = e.creator_sk
        WHERE u.is_deleted AND e.event_time >= u.valid_from
        """,
    )
    assert later[0][0] > 0
    # and a closed account's own events all come before the closing
    own = _rows(
        tiny,
        """
        SELECT COUNT(*) FROM fact_content_event e JOIN dim_user u ON u.user_sk = e.viewer_sk
        WHERE u.is_deleted
        """,
    )
    assert own == [(0,)]


def test_creator_and_viewer_are_two_roles_of_the_user_dimension(fx):
    decl = schema.FACT_CONTENT_EVENT
    roles = {fk.cols[0]: (fk.table, fk.ref_cols[0]) for fk in decl.foreign_keys}
    assert roles["creator_sk"] == roles["viewer_sk"] == ("dim_user", "user_sk")
    assert "degenerate" not in decl.column("creator_id").description
    # both roles resolve against the same rows: one event, two users
    got = _rows(
        fx,
        """
        SELECT v.user_id, c.user_id FROM fact_content_event e
        JOIN dim_user v ON v.user_sk = e.viewer_sk
        JOIN dim_user c ON c.user_sk = e.creator_sk
        WHERE e.event_id = 12
        """,
    )
    assert got == [(6, 4)]


# ---------------------------------------------------------------------------------------------
# point 12: the activity columns are not on the Type 2 dimension; the brief's views
# ---------------------------------------------------------------------------------------------
def test_the_brief_user_view_reads_activity_from_the_marts(fx):
    got = _rows(
        fx,
        """
        SELECT DISTINCT user_id, last_active_date, churned_date FROM "user" ORDER BY user_id
        """,
    )
    d = date.fromisoformat
    assert got == [
        (1, d("2026-03-05"), None),  # active in March: not churned
        (2, d("2026-02-14"), d("2026-03-01")),
        (3, d("2026-02-03"), d("2026-03-01")),
        (4, d("2026-03-10"), None),
        (5, d("2026-02-10"), d("2026-03-01")),
        (6, d("2026-01-08"), d("2026-02-01")),
        (7, None, None),  # never active in the loaded period
        (8, None, None),
        (99, d("2026-01-25"), d("2026-02-01")),
    ]
    assert "last_active_date" not in fx.table("dim_user").columns


@pytest.mark.parametrize("brief", schema.SEED_TABLES, ids=lambda t: t.name)
def test_every_brief_table_is_a_view_with_its_columns(fx, brief):
    columns = fx.sql(f"SELECT * FROM {schema.view_name(brief.name)}").columns
    assert list(columns[: len(brief.columns)]) == brief.column_names
    kinds = dict(
        _rows(
            fx,
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'main'",
        )
    )
    assert kinds[brief.name] == "VIEW"
    # the reserved members describe nothing real: the brief's views leave them out
    key = brief.column_names[0]
    if key.endswith("_id") and brief.primary_key:
        negative = _rows(
            fx, f"SELECT COUNT(*) FROM {schema.view_name(brief.name)} WHERE {key} < 0"
        )
        assert negative == [(0,)]


# ---------------------------------------------------------------------------------------------
# point 5: exact types, and two builds with one seed are identical bit for bit
# ---------------------------------------------------------------------------------------------
def test_money_is_decimal_and_durations_are_integers_everywhere(tiny):
    types = dict(
        (f"{s}.{t}.{c}", ty)
        for s, t, c, ty in _rows(
            tiny,
            "SELECT table_schema, table_name, column_name, data_type "
            "FROM information_schema.columns WHERE table_catalog = current_database()",
        )
    )
    for where in ("raw.ad_event", "main.fact_ad_event", "mart.campaign_daily"):
        assert types[f"{where}.revenue"] == types[f"{where}.cost"] == "DECIMAL(18,2)", (
            where
        )
    assert types["mart.session.duration_ms"] == "BIGINT"
    floats = {k for k, v in types.items() if v in ("DOUBLE", "FLOAT", "REAL")}
    assert not floats  # every stored number is exact: rates are computed by the metrics
    m = metrics.METRICS["ad_performance"].table(tiny).schema()
    assert m["cost"].is_decimal() and m["ctr"].is_floating()


def test_two_builds_with_one_seed_are_identical_bit_for_bit(tmp_path):
    import duckdb

    paths = [tmp_path / "a.duckdb", tmp_path / "b.duckdb"]
    for path in paths:
        warehouse.build_database("social", path, scale=TINY, seed=5)
    con = duckdb.connect()
    for alias, path in zip("ab", paths, strict=True):
        con.execute(f"ATTACH '{path}' AS {alias} (READ_ONLY)")
    listed = {
        alias: con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_catalog = '{alias}' AND table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        for alias in "ab"
    }
    assert listed["a"] == listed["b"] and len(listed["a"]) >= len(schema.TABLES) + 6
    for db, name in listed["a"]:
        a, b = f'a."{db}"."{name}"', f'b."{db}"."{name}"'
        only_a, only_b, rows = con.execute(
            f"SELECT (SELECT COUNT(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})),"
            f" (SELECT COUNT(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a})),"
            f" (SELECT COUNT(*) FROM {a})"
        ).fetchone()
        assert (only_a, only_b) == (0, 0), (db, name, only_a, only_b)
        assert rows > 0, (db, name)


# ---------------------------------------------------------------------------------------------
# the generated build at its default settings
# ---------------------------------------------------------------------------------------------
def test_generated_build_passes_the_conventions_with_deletions_and_inferred_members(
    tiny,
):
    report = quality.check_model(tiny, schema.TABLES)
    assert report.passed, report.to_frame()[lambda d: ~d.passed]
    deleted, inferred = _rows(
        tiny,
        "SELECT COUNT(*) FILTER (WHERE is_deleted), COUNT(*) FILTER (WHERE is_inferred) "
        "FROM dim_user",
    )[0]
    assert deleted > 0 and inferred > 0


def test_the_generator_delivers_the_declared_raw_layer(tiny):
    # build() and build_from_raw() share one loader, which reads these columns, and the
    # landing date each row carries (the day its source handed it over)
    for name, columns in build_mod.gen.RAW_SCHEMAS.items():
        got = list(tiny.table(name, database="raw").columns)
        assert got == [*columns, "landing_date"], name
