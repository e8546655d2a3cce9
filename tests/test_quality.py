"""Each check passes on clean data and catches a planted violation, naming it."""

from datetime import datetime

import ibis
import pandas as pd
import pytest

from datamodeling import quality
from datamodeling.schema import Column, ForeignKey, Table

END = datetime(9999, 12, 31)


def t(**cols):
    return ibis.memtable(pd.DataFrame(cols))


def test_unique():
    assert quality.unique(t(k=[1, 2, 3]), "k").passed
    r = quality.unique(t(k=[1, 2, 2, 3, 3, 3]), "k")
    assert not r.passed and r.failures == 2 and "2 values" in r.detail
    assert sorted(r.sample.k) == [2, 3]


def test_not_null():
    assert quality.not_null(t(a=[1, 2], b=["x", "y"]), ["a", "b"]).passed
    r = quality.not_null(t(a=[1, None, 3], b=["x", "y", None]), ["a", "b"])
    assert not r.passed and r.failures == 2


def test_relationships_finds_orphans_and_ignores_null_keys():
    parent = t(id=[1, 2])
    assert quality.relationships(t(fk=[1, 2, None]), "fk", parent, "id").passed
    r = quality.relationships(t(fk=[1, 7, 7, 9]), "fk", parent, "id")
    assert not r.passed and r.failures == 2
    assert r.sample.set_index("fk").rows.to_dict() == {7: 2, 9: 1}


def test_accepted_values():
    assert quality.accepted_values(t(s=["a", "b", None]), "s", ["a", "b"]).passed
    r = quality.accepted_values(t(s=["a", "zz"]), "s", ["a", "b"])
    assert not r.passed and list(r.sample.s) == ["zz"]


def scd(rows):
    return t(
        k=[r[0] for r in rows],
        valid_from=pd.to_datetime([r[1] for r in rows]),
        valid_to=[r[2] if r[2] is END else pd.Timestamp(r[2]) for r in rows],
        is_current=[r[3] for r in rows],
    )


def test_scd2_ranges_clean():
    clean = scd(
        [
            (1, "2024-01-01", "2024-01-05", False),
            (1, "2024-01-05", END, True),
            (2, "2024-01-02", END, True),
        ]
    )
    assert quality.scd2_ranges(clean, "k").passed


@pytest.mark.parametrize(
    "rows, problem",
    [
        (
            [(1, "2024-01-01", "2024-01-06", False), (1, "2024-01-05", END, True)],
            "overlaps",
        ),
        ([(1, "2024-01-01", "2024-01-04", False), (1, "2024-01-05", END, True)], "gap"),
        ([(1, "2024-01-01", END, True), (1, "2024-01-05", END, True)], "overlaps"),
        ([(1, "2024-01-01", "2024-01-05", True)], "does not end on 9999-12-31"),
        ([(1, "2024-01-03", "2024-01-03", False)], "empty range"),
        ([(1, "2024-01-01", END, False)], "not current"),
    ],
)
def test_scd2_ranges_violations(rows, problem):
    r = quality.scd2_ranges(scd(rows), "k")
    assert not r.passed
    assert r.sample.problem.str.contains(problem).any(), r.sample


def test_reconcile():
    assert quality.reconcile("orders", 10, 8, 2).passed
    r = quality.reconcile("orders", 10, 7, 2)
    assert not r.passed and r.failures == 1 and "+1" in r.detail


def test_split_valid_tags_first_broken_rule_and_keeps_every_row():
    orders = t(
        id=[1, 2, 3, 4], amount=[10.0, -1.0, None, -5.0], customer=[1, 1, None, None]
    )
    valid, bad = quality.split_valid(
        orders,
        {
            "negative amount": orders.amount < 0,
            "no customer": lambda x: x.customer.isnull(),
        },
    )
    assert list(valid.to_pandas().id) == [1]
    reasons = bad.to_pandas().set_index("id").reason.to_dict()
    assert reasons == {2: "negative amount", 3: "no customer", 4: "negative amount"}
    assert valid.count().execute() + bad.count().execute() == 4


def test_check_model_runs_declared_checks_and_reports_failures():
    con = ibis.duckdb.connect()
    con.create_table("dim", pd.DataFrame({"id": [1, 2, 2], "name": ["a", None, "c"]}))
    con.create_table("fact", pd.DataFrame({"id": [1, 3], "dim_id": [1, 5]}))
    tables = [
        Table(
            "dim",
            "dimension",
            "One row per thing.",
            [
                Column("id", "int64", "", nullable=False),
                Column("name", "string", "", nullable=False),
            ],
            primary_key=["id"],
        ),
        Table(
            "fact",
            "fact",
            "One row per event.",
            [Column("id", "int64", "", nullable=False), Column("dim_id", "int64", "")],
            primary_key=["id"],
            foreign_keys=[ForeignKey("dim_id", "dim", "id")],
        ),
    ]
    report = quality.check_model(con, tables)
    failed = {r.name for r in report.failed}
    assert failed == {
        "dim: primary key unique",
        "dim: required columns not null",
        "dim: Unknown and Not applicable members",
        "fact.dim_id → dim",
    }
    assert not report.passed
    with pytest.raises(quality.QualityError, match="dim: primary key unique"):
        report.raise_for_failures()
    assert list(report.to_frame().columns) == ["check", "passed", "failures", "detail"]


def test_check_model_enforces_special_members_and_no_null_fact_foreign_keys():
    """The conventions: a dimension without its reserved rows, a fact with a NULL key, fail."""
    con = ibis.duckdb.connect()
    decl_dim = Table(
        "dim",
        "dimension",
        "One row per thing.",
        [Column("id", "int64", "", nullable=False), Column("name", "string", "")],
        primary_key=["id"],
    )
    decl_fact = Table(
        "fact",
        "fact",
        "One row per event.",
        [Column("id", "int64", "", nullable=False), Column("dim_id", "int64", "")],
        primary_key=["id"],
        foreign_keys=[ForeignKey("dim_id", "dim", "id")],
    )
    real = ibis.memtable(pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}))
    con.create_table("dim", decl_dim.with_special_members(real))
    con.create_table("fact", pd.DataFrame({"id": [1, 2, 3], "dim_id": [1, -1, -2]}))
    assert quality.check_model(con, [decl_dim, decl_fact]).passed
    dim = con.table("dim").to_pandas().set_index("id").name.to_dict()
    assert dim == {1: "a", 2: "b", -1: "Unknown", -2: "Not applicable"}

    con.create_table(
        "fact", pd.DataFrame({"id": [1, 2], "dim_id": [1.0, None]}), overwrite=True
    )
    con.create_table("dim", real, overwrite=True)
    failed = {r.name for r in quality.check_model(con, [decl_dim, decl_fact]).failed}
    assert failed == {
        "dim: Unknown and Not applicable members",
        "fact: no foreign key is NULL",
    }


def test_special_members_keep_declared_decimal_types():
    decl = Table(
        "dim_product",
        "dimension",
        "One row per product.",
        [
            Column("product_id", "int64", "", nullable=False),
            Column("price", "decimal(18, 2)", ""),
        ],
        primary_key=["product_id"],
    )
    con = ibis.duckdb.connect()
    real = ibis.memtable(pd.DataFrame({"product_id": [1], "price": [2.5]}))
    built = decl.with_special_members(real.cast(decl.ibis_schema()))
    assert built.schema()["price"].is_decimal()
    assert sorted(con.execute(built).product_id) == [-2, -1, 1]
