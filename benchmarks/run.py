"""Measure the budgets of DESIGN.md and print figures and ratios (never asserted in tests).

    .venv/bin/python benchmarks/run.py                       # every practice, default scale
    .venv/bin/python benchmarks/run.py ecommerce --medium    # also the medium scale (slow)
    .venv/bin/python benchmarks/run.py --notebooks           # also time every notebook
    .venv/bin/python benchmarks/run.py social --ratios DIR   # ratios on DIR/social-medium.duckdb
    .venv/bin/python benchmarks/run.py --ratios DIR --repeat 5 \
        --out notebooks/scaling/02_fast_queries_ratios.json # the book's table (every practice)

For each practice: the default-scale build time and its generation rate, the engine-only time of
every metric in Ibis and in hand-written SQL reading the same tables (ratio Ibis / SQL, budget
1.1; see :func:`like_with_like`), and
with ``--medium`` the medium build's time and peak memory (measured in a child process). With
``--notebooks``, each notebook's execution time from a clean kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import ibis

from datamodeling import registry, warehouse

ROOT = Path(__file__).resolve().parents[1]


def timed_pair(a, b, repeat: int = 3) -> tuple[float, float]:
    """Medians of ``a()`` and ``b()`` run alternately (a, b, a, b, ...) after one warm-up each."""
    a(), b()
    ta, tb = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        a()
        ta.append(time.perf_counter() - start)
        start = time.perf_counter()
        b()
        tb.append(time.perf_counter() - start)
    return statistics.median(ta), statistics.median(tb)


def tables_read(sql: str) -> set[str]:
    """The stored tables a query reads (CTE names left out), as ``schema.table`` or ``table``."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    found = set()
    for t in tree.find_all(exp.Table):
        if t.name and t.name not in ctes:
            found.add(f"{t.db}.{t.name}" if t.db else t.name)
    return found


def like_with_like(practice, name: str, metric, con) -> list[tuple[str, str, str]]:
    """(label, Ibis's compiled SQL, hand-written SQL) pairs, labelled by what they read.

    A metric whose Ibis function reads a derived table and whose SQL reads the facts is measured
    twice where the practice provides the other side (``source="facts"`` and ``MART_SQL``): both
    from the facts, and both from the marts. Otherwise the pair is "same tables" when both read
    the same stored tables, and says which tables differ when they do not, so that its ratio is
    not read as the engine's.
    """
    module = practice.module("metrics")
    compiled = str(ibis.to_sql(metric.table(con), dialect="duckdb"))
    mart_sql = getattr(module, "MART_SQL", {}).get(name)
    if mart_sql is not None:
        facts = str(ibis.to_sql(metric.table(con, source="facts"), dialect="duckdb"))
        return [
            ("both from facts", facts, metric.sql),
            ("both from marts", compiled, mart_sql),
        ]
    ibis_tables, sql_tables = tables_read(compiled), tables_read(metric.sql)
    if ibis_tables == sql_tables:
        return [("same tables", compiled, metric.sql)]
    only = []
    if ibis_tables - sql_tables:
        only.append("only Ibis reads " + ", ".join(sorted(ibis_tables - sql_tables)))
    if sql_tables - ibis_tables:
        only.append("only SQL reads " + ", ".join(sorted(sql_tables - ibis_tables)))
    return [("NOT like with like: " + "; ".join(only), compiled, metric.sql)]


def print_ratios(practice, con, repeat: int = 3) -> list[dict]:
    """Engine-only Ibis / SQL ratio of every metric, both sides reading the same tables."""
    print(
        "  engine only (Ibis's compiled SQL and the hand-written SQL, both run by DuckDB, "
        f"alternately, median of {repeat}); budget Ibis <= 1.10 x SQL; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    rows = []
    for name, metric in practice.metrics.items():
        for label, ibis_sql, sql in like_with_like(practice, name, metric, con):
            t_ibis, t_sql = timed_pair(
                lambda q=ibis_sql: con.raw_sql(q).to_arrow_table(),
                lambda q=sql: con.raw_sql(q).to_arrow_table(),
                repeat,
            )
            ratio = t_ibis / t_sql
            flag = "" if ratio <= 1.10 else "  over budget"
            print(
                f"  {name:<30} {label:<18} Ibis {t_ibis * 1000:8.1f} ms / SQL "
                f"{t_sql * 1000:8.1f} ms = {ratio:4.2f}{flag}"
            )
            rows.append(
                {
                    "metric": name,
                    "pair": label,
                    "ibis_s": t_ibis,
                    "sql_s": t_sql,
                    "ratio": ratio,
                    "load_average": os.getloadavg()[0],  # 1 minute, as the pair ends
                }
            )
    print(f"  (load average after: {os.getloadavg()[0]:.1f})")
    return rows


def build_in_child(practice: str, scale: str, db: Path) -> dict:
    """Build in a fresh process; return its wall time and its own peak resident memory."""
    code = (
        "import json, resource, time\n"
        "from datamodeling import warehouse\n"
        "start = time.perf_counter()\n"
        f"r = warehouse.build_database({practice!r}, {str(db)!r}, scale={scale!r})\n"
        "print(json.dumps({'seconds': time.perf_counter() - start, 'rows': sum(r.tables.values()),"
        " 'raw_rows': sum(s['rows_in'] for s in r.sources.values()),"
        " 'peak_memory_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_practice(name: str, medium: bool) -> None:
    practice = registry.get_practice(name)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / f"{name}.duckdb"
        small = build_in_child(name, "small", db)
        print(
            f"{name}: default build {small['seconds']:.2f} s (budget 10 s, ratio "
            f"{small['seconds'] / 10:.2f}), {small['raw_rows']:,} raw rows, "
            f"{small['rows']:,} modelled rows, peak {small['peak_memory_mb']:.0f} MB"
        )
        con = warehouse.connect(db, read_only=True)
        print_ratios(practice, con)
        con.disconnect()
        if medium:
            big = build_in_child(name, "medium", Path(tmp) / f"{name}-medium.duckdb")
            rate = big["raw_rows"] / big["seconds"]
            print(
                f"  medium build {big['seconds']:.1f} s (budget 60 s, ratio "
                f"{big['seconds'] / 60:.2f}), peak {big['peak_memory_mb']:.0f} MB (budget 2048, "
                f"ratio {big['peak_memory_mb'] / 2048:.2f}), {big['raw_rows']:,} raw rows, "
                f"{rate / 1e6:.2f} M raw rows/s end to end"
            )


def bench_notebooks(folders: list[Path]) -> None:
    import nbformat
    from nbclient import NotebookClient

    for folder in folders:
        for path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            start = time.perf_counter()
            NotebookClient(
                nb, timeout=300, resources={"metadata": {"path": str(path.parent)}}
            ).execute()
            seconds = time.perf_counter() - start
            print(
                f"  {path.relative_to(ROOT)}: {seconds:.1f} s (budget 15 s, ratio {seconds / 15:.2f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("practices", nargs="*", help="default: every practice")
    parser.add_argument(
        "--medium", action="store_true", help="also build the medium scale"
    )
    parser.add_argument(
        "--notebooks", action="store_true", help="also time every notebook"
    )
    parser.add_argument(
        "--ratios",
        type=Path,
        metavar="DIR",
        help="only the Ibis/SQL ratios, on the warehouses DIR/PRACTICE-SCALE.duckdb",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="with --ratios: runs per side"
    )
    parser.add_argument(
        "--scale", default="medium", help="with --ratios (default medium)"
    )
    parser.add_argument(
        "--out", type=Path, help="with --ratios: also write them as JSON"
    )
    args = parser.parse_args()
    names = args.practices or list(registry.practices())
    if args.ratios:
        rows = []
        loads = [os.getloadavg()[0]]
        for name in names:
            db = args.ratios / f"{name}-{args.scale}.duckdb"
            print(f"{name} ({db}):")
            con = warehouse.connect(db, read_only=True)
            rows += [
                {"practice": name, **r}
                for r in print_ratios(registry.get_practice(name), con, args.repeat)
            ]
            con.disconnect()
            loads.append(os.getloadavg()[0])
        if args.out:
            meta = {
                "scale": args.scale,
                "repeat": args.repeat,
                "cores": os.cpu_count(),
                "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "load_average": loads,
                "command": "PYTHONPATH=src python benchmarks/run.py "
                + " ".join(sys.argv[1:]),
            }
            args.out.write_text(
                json.dumps({"meta": meta, "ratios": rows}, indent=1) + "\n"
            )
            print(f"wrote {args.out}")
        return
    for name in names:
        bench_practice(name, args.medium)
    if args.notebooks:
        print("notebooks (warehouses already built):")
        for name in names:
            warehouse.open_practice(name).disconnect()
        bench_notebooks(
            [
                ROOT / "notebooks" / "foundations",
                *(ROOT / "notebooks" / n for n in names),
            ]
        )


if __name__ == "__main__":
    main()
