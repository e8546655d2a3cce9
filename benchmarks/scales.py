"""Measure each named scale of each practice: rows, file size, build time, peak memory.

    .venv/bin/python benchmarks/scales.py                         # tiny, small, medium; all practices
    .venv/bin/python benchmarks/scales.py social --scales large   # one practice, one scale

Each build runs in a fresh child process (``warehouse.build_database``, as the CLI does, without
the preflight check), so its peak resident memory is its own. Prints a Markdown table for the
README and, per practice, a straight line (a base and bytes per main-fact row) through the two
largest scales measured, for the file size and for the peak memory: the figures
``warehouse.FOOTPRINT`` holds for the preflight check.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from datamodeling import registry, synth

CHILD = """
import json, os, resource, sys, time
from datamodeling import warehouse
practice, path, scale = sys.argv[1], sys.argv[2], sys.argv[3]
start = time.perf_counter()
report = warehouse.build_database(practice, path, scale=scale, preflight_checks=False)
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "rows": report.scale_rows,
    "modelled_rows": sum(report.tables.values()),
    "raw_rows": sum(s["rows_in"] for s in report.sources.values()),
    "file_bytes": os.path.getsize(path),
    "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
"""

BASELINE = """
import resource
import datamodeling.warehouse, ibis, duckdb, pyarrow, numpy, pandas
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def measure(practice: str, scale: str, folder: Path) -> dict:
    path = folder / f"{practice}-{scale}.duckdb"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, practice, str(path), scale],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    path.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("practices", nargs="*", help="default: every practice")
    parser.add_argument("--scales", nargs="+", default=["tiny", "small", "medium"])
    parser.add_argument("--dir", help="where to build (default: a temporary folder)")
    args = parser.parse_args()
    names = args.practices or list(registry.practices())
    baseline = int(
        subprocess.run(
            [sys.executable, "-c", BASELINE], capture_output=True, text=True, check=True
        ).stdout
    )
    print(
        f"interpreter with the libraries loaded: {baseline / 1e6:,.0f} MB; {os.cpu_count()} cores"
    )
    print()
    print(
        "| practice | scale | main-fact rows | raw rows | modelled rows | file | build time "
        "| peak memory |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    measured: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for name in names:
            for scale in args.scales:
                m = measure(name, scale, Path(tmp))
                if "error" in m:
                    print(
                        f"| {name} | {scale} | {synth.resolve_scale(scale):,} | failed: "
                        f"{m['error']} | | | | |",
                        flush=True,
                    )
                    continue
                print(
                    f"| {name} | {scale} | {m['rows']:,} | {m['raw_rows']:,} | "
                    f"{m['modelled_rows']:,} | {m['file_bytes'] / 1e6:,.1f} MB | "
                    f"{m['seconds']:,.1f} s | {m['peak_bytes'] / 1e6:,.0f} MB |",
                    flush=True,
                )
                measured.setdefault(name, []).append(m)
    print()
    print("A line through the two largest scales measured, for warehouse.FOOTPRINT:")
    print("(file base bytes, file bytes per row, memory base bytes, memory bytes per row)")
    for name, runs in measured.items():
        if len(runs) < 2:
            continue
        small, big = sorted(runs, key=lambda m: m["rows"])[-2:]
        rows = big["rows"] - small["rows"]
        disk = (big["file_bytes"] - small["file_bytes"]) / rows
        memory = (big["peak_bytes"] - small["peak_bytes"]) / rows
        print(
            f"    {name!r}: ({small['file_bytes'] - disk * small['rows']:,.0f}, {disk:,.0f}, "
            f"{small['peak_bytes'] - memory * small['rows']:,.0f}, {memory:,.0f}),"
        )


if __name__ == "__main__":
    main()
