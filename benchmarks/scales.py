"""Measure each named scale of each practice: rows, file size, peak disk, time, peak memory.

    .venv/bin/python benchmarks/scales.py                         # tiny, small, medium; all practices
    .venv/bin/python benchmarks/scales.py social --scales large   # one practice, one scale

Each build runs in a fresh child process (``warehouse.build_database``, as the CLI does, without
the preflight check), so its peak resident memory is its own; the folder is sampled meanwhile for
the peak disk use (the temporary file, its write-ahead log and DuckDB's spill files). Prints a
Markdown table for the README and, per practice, a straight line (a base and bytes per main-fact
row) through the two largest scales measured, for the peak disk and for the peak memory: the
figures ``warehouse.FOOTPRINT`` holds for the preflight check.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
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


def _bytes_under(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # removed while we looked
            pass
    return total


def measure(practice: str, scale: str, folder: Path) -> dict:
    """Build in a child process; sample the folder's size meanwhile for the peak disk use.

    The peak counts the temporary database, its write-ahead log and DuckDB's spill folder:
    what the disk must hold while the old warehouse still exists.
    """
    path = folder / f"{practice}-{scale}.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, practice, str(path), scale],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_disk = 0
    while child.poll() is None:
        peak_disk = max(peak_disk, _bytes_under(folder))
        time.sleep(0.2)
    out, err = child.communicate()
    if child.returncode != 0:
        return {"error": (err.strip().splitlines() or ["?"])[-1]}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_disk_bytes"] = max(peak_disk, result["file_bytes"])
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
        "| practice | scale | main-fact rows | raw rows | modelled rows | file | peak disk "
        "| build time | peak memory |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    measured: dict[str, list[dict]] = {}
    if args.dir:  # a folder that does not exist yet is made
        Path(args.dir).expanduser().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=args.dir and Path(args.dir).expanduser()
    ) as tmp:
        for name in names:
            for scale in args.scales:
                m = measure(name, scale, Path(tmp))
                if "error" in m:
                    print(
                        f"| {name} | {scale} | {synth.resolve_scale(scale):,} | failed: "
                        f"{m['error']} | | | | | |",
                        flush=True,
                    )
                    continue
                print(
                    f"| {name} | {scale} | {m['rows']:,} | {m['raw_rows']:,} | "
                    f"{m['modelled_rows']:,} | {m['file_bytes'] / 1e6:,.1f} MB | "
                    f"{m['peak_disk_bytes'] / 1e6:,.1f} MB | {m['seconds']:,.1f} s | "
                    f"{m['peak_bytes'] / 1e6:,.0f} MB |",
                    flush=True,
                )
                measured.setdefault(name, []).append(m)
    print()
    print("A line through the two largest scales measured, for warehouse.FOOTPRINT:")
    print(
        "(disk base bytes, disk bytes per row, memory base bytes, memory bytes per row),"
    )
    print(
        "the disk being the peak during the build (file, write-ahead log and spill files)"
    )
    for name, runs in measured.items():
        if len(runs) < 2:
            continue
        small, big = sorted(runs, key=lambda m: m["rows"])[-2:]
        fit = []
        for key in ("peak_disk_bytes", "peak_bytes"):
            slope = (big[key] - small[key]) / (big["rows"] - small["rows"])
            fit += [small[key] - slope * small["rows"], slope]
        print(f"    {name!r}: ({', '.join(f'{v:_.0f}' for v in fit)}),")


if __name__ == "__main__":
    main()
