"""Measure the budgets of DESIGN.md and print figures and ratios (never asserted in tests).

    .venv/bin/python benchmarks/run.py                       # every practice, default scale
    .venv/bin/python benchmarks/run.py ecommerce --medium    # also the medium scale (slow)
    .venv/bin/python benchmarks/run.py --notebooks           # also time every notebook

For each practice: the default-scale build time and its generation rate, the time of every metric
in Ibis and in its hand-written SQL on the same DuckDB file (ratio Ibis / SQL, budget 1.1), and
with ``--medium`` the medium build's time and peak memory (measured in a child process). With
``--notebooks``, each notebook's execution time from a clean kernel.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ibis

from datamodeling import registry, warehouse

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
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
        print(
            "  metric: end to end (Ibis builds and compiles the expression each time) and engine "
            "only (Ibis's compiled SQL vs the hand-written SQL, both run by DuckDB directly)"
        )
        for metric_name, metric in practice.metrics.items():
            ibis_s = timed(lambda m=metric: m.table(con).to_pyarrow())
            sql_s = timed(lambda m=metric: con.sql(m.sql).to_pyarrow())
            compiled = str(ibis.to_sql(metric.table(con), dialect="duckdb"))
            engine_ibis = timed(lambda q=compiled: con.raw_sql(q).to_arrow_table())
            engine_sql = timed(lambda q=metric.sql: con.raw_sql(q).to_arrow_table())
            print(
                f"  {metric_name:<30} end to end {ibis_s * 1000:7.1f} / {sql_s * 1000:7.1f} ms"
                f" = {ibis_s / sql_s:4.2f}   engine {engine_ibis * 1000:7.1f} /"
                f" {engine_sql * 1000:7.1f} ms = {engine_ibis / engine_sql:4.2f} (budget 1.10)"
            )
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
    parser.add_argument("--medium", action="store_true", help="also build the medium scale")
    parser.add_argument("--notebooks", action="store_true", help="also time every notebook")
    args = parser.parse_args()
    names = args.practices or list(registry.practices())
    for name in names:
        bench_practice(name, args.medium)
    if args.notebooks:
        print("notebooks (warehouses already built):")
        for name in names:
            warehouse.open_practice(name).disconnect()
        bench_notebooks(
            [ROOT / "notebooks" / "foundations", *(ROOT / "notebooks" / n for n in names)]
        )


if __name__ == "__main__":
    main()
