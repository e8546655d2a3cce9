"""Ride-sharing on the incremental pipeline: generation, builds, one day's load, DuckDB and Spark.

    .venv/bin/python benchmarks/pipeline.py                          # tiny and small, DuckDB
    .venv/bin/python benchmarks/pipeline.py --scales tiny,small,medium,large --spark small,medium
    .venv/bin/python benchmarks/pipeline.py --scales tiny --verify-daily   # every day, one by one
    .venv/bin/python benchmarks/pipeline.py --scales small --check-bytes   # same seed, same bytes

Prints, per scale (each measurement in a fresh child process, so its peak memory is its own):

* generation: raw rows written to the landing zone (Parquet by source and day) per second, wall
  and per CPU second (the machine may be shared: CPU time says what the code costs);
* build: an empty DuckDB warehouse + every landing day as one range, from the files: time and
  peak resident memory (DuckDB's included: it runs in the process);
* one day: loading one mid-period landing day again into the built warehouse (what the nightly
  job does for a new day: the window of the day and its lookback is recomputed), and its ratio
  to the full build (target: under 1/20 at ``large``);
* Spark: the same build on a local Spark session from the same files, and its ratio to DuckDB.
  Spark's memory is its JVM's (a child of the measuring process).

``--verify-daily`` loads every landing day one by one into a fresh warehouse and compares it with
the full build, every table and every row (EXCEPT ALL both ways), printing the day loads' times.
Figures are printed, never asserted (DESIGN.md: budgets are measured, not tested).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-06-15"  # a typical mid-period day for the incremental load

PRELUDE = textwrap.dedent(
    """
    import importlib, json, resource, time
    from datamodeling import pipeline, warehouse
    build = importlib.import_module("datamodeling.rideshare.build")

    def cpu():
        self_, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
        return self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime

    def peak_mb():
        self_, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                        resource.RUSAGE_CHILDREN))
        return max(self_.ru_maxrss, kids.ru_maxrss) / 1024

    def done(**figures):
        print("RESULT " + json.dumps(figures))

    start, cpu0 = time.perf_counter(), cpu()
    """
)


def child(code: str, timeout: float | None = None) -> dict:
    """Run ``code`` (after the prelude) in a fresh Python process; return what it reports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def generate(scale: str, seed: int, zone: Path, workers: int) -> dict:
    return child(
        f"""
        m = build.write_landing({str(zone)!r}, scale={scale!r}, seed={seed}, workers={workers})
        rows = sum(s["rows"] for s in m["sources"].values())
        done(rows=rows, files=sum(s["days"] for s in m["sources"].values()),
             seconds=time.perf_counter() - start, cpu=cpu() - cpu0, peak_mb=peak_mb())
        """
    )


def digest(zone: Path) -> str:
    """One SHA-256 over every file of a landing zone (its path and bytes), in path order."""
    h = hashlib.sha256()
    for path in sorted(p for p in zone.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(zone)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def duckdb_build(zone: Path, db: Path, memory_limit: str) -> dict:
    return child(
        f"""
        con = warehouse.connect({str(db)!r})
        r = pipeline.build(con, build.PIPELINE, pipeline.ParquetLayer({str(zone)!r}),
                           memory_limit={memory_limit!r})
        con.disconnect()
        done(seconds=time.perf_counter() - start, cpu=cpu() - cpu0, peak_mb=peak_mb(),
             rows=sum(r.tables.values()), reconciles=r.reconciles(),
             trips=r.tables["fact_trip"])
        """
    )


def duckdb_day(zone: Path, db: Path, day: str, memory_limit: str) -> dict:
    return child(
        f"""
        con = warehouse.connect({str(db)!r})
        r = pipeline.load(con, build.PIPELINE, pipeline.ParquetLayer({str(zone)!r}), {day!r},
                          memory_limit={memory_limit!r})
        con.disconnect()
        done(seconds=time.perf_counter() - start, cpu=cpu() - cpu0, peak_mb=peak_mb(),
             reconciles=r.reconciles())
        """
    )


def spark_build(zone: Path, folder: Path) -> dict:
    return child(
        f"""
        import os
        spark = warehouse.connect(backend="pyspark")
        spark._session.sparkContext.setLogLevel("ERROR")
        jvm = spark._session.sparkContext._gateway.proc.pid  # Spark runs in this child JVM
        tick = os.sysconf("SC_CLK_TCK")

        def jvm_cpu():
            fields = open(f"/proc/{{jvm}}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick

        def jvm_peak_mb():
            status = open(f"/proc/{{jvm}}/status").read()
            return int(status.split("VmHWM:")[1].split()[0]) / 1024

        raw = pipeline.ParquetLayer({str(zone)!r})
        start, cpu0, jvm0 = time.perf_counter(), cpu(), jvm_cpu()  # not the session's start-up
        r = pipeline.load_spark_directory(
            spark, {str(folder)!r}, lambda b: pipeline.build(b, build.PIPELINE, raw)
        )
        seconds = time.perf_counter() - start
        used = cpu() - cpu0 + jvm_cpu() - jvm0
        done(seconds=seconds, cpu=used, peak_mb=peak_mb() + jvm_peak_mb(),
             reconciles=r.reconciles())
        spark._session.stop()
        """
    )


def verify_daily(zone: Path, full: Path, daily: Path) -> dict:
    return child(
        f"""
        import datetime as dt, duckdb
        from datamodeling import landing
        raw = pipeline.ParquetLayer({str(zone)!r})
        first, last = raw.days()
        con = warehouse.connect({str(daily)!r})
        times = []
        for day in landing.day_range(first, last):
            t = time.perf_counter()
            r = pipeline.load(con, build.PIPELINE, raw, day)
            times.append(time.perf_counter() - t)
            assert r.reconciles(), day
        con.disconnect()
        c = duckdb.connect()
        c.execute("ATTACH '{full}' AS a (READ_ONLY)")
        c.execute("ATTACH '{daily}' AS b (READ_ONLY)")
        tables = c.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'a'"
        ).fetchall()
        differing = {{}}
        for s, t in tables:
            q = f'"{{s}}"."{{t}}"'
            n = c.execute(f"SELECT (SELECT count(*) FROM (FROM a.{{q}} EXCEPT ALL FROM b.{{q}}))"
                          f" + (SELECT count(*) FROM (FROM b.{{q}} EXCEPT ALL FROM a.{{q}}))").fetchone()[0]
            if n:
                differing[f"{{s}}.{{t}}"] = n
        done(days=len(times), tables=len(tables), differing=differing,
             median_day_seconds=sorted(times)[len(times) // 2], total_seconds=sum(times),
             cpu=cpu() - cpu0)
        """
    )


def report_generation(scale: str, g: dict) -> None:
    print(
        f"{scale:>6} generation: {g['rows']:,} raw rows in {g['files']:,} files, "
        f"{g['seconds']:.1f} s = {g['rows'] / g['seconds'] / 1e6:.2f} M rows/s "
        f"(target 3; {g['rows'] / g['cpu'] / 1e6:.2f} M rows per CPU second), "
        f"peak {g['peak_mb']:.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default="tiny,small", help="DuckDB scales (comma-separated)"
    )
    parser.add_argument("--spark", default="", help="Spark scales (comma-separated)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers", type=int, default=2, help="landing-zone writer threads"
    )
    parser.add_argument("--memory-limit", default="2.5GB", help="DuckDB memory_limit")
    parser.add_argument(
        "--day", default=DAY, help="the landing day loaded incrementally"
    )
    parser.add_argument(
        "--dir", type=Path, help="scratch folder (default: a temporary one)"
    )
    parser.add_argument("--verify-daily", action="store_true")
    parser.add_argument(
        "--check-bytes",
        action="store_true",
        help="generate each landing zone a second time (one writer) and compare every file",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a landing zone already in --dir (no generation)",
    )
    args = parser.parse_args()
    scales = [s for s in args.scales.split(",") if s]
    spark = [s for s in args.spark.split(",") if s]
    base = args.dir or Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    print(
        f"scratch: {base}  (cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f})"
    )
    duck_seconds = {}
    for scale in dict.fromkeys([*scales, *spark]):
        zone = base / f"rideshare-{scale}" / "raw"
        if args.reuse and (zone / "_landing.json").is_file():
            print(f"{scale:>6} generation: reusing {zone}", flush=True)
        else:
            report_generation(scale, generate(scale, args.seed, zone, args.workers))
            if (
                args.check_bytes
            ):  # the same seed again, with one writer thread: same bytes?
                again = base / f"rideshare-{scale}-again" / "raw"
                generate(scale, args.seed, again, 1)
                first, second = digest(zone), digest(again)
                print(
                    f"{scale:>6} same seed, {args.workers} writers then 1: every file "
                    f"{'byte for byte the same' if first == second else 'DIFFERENT'} "
                    f"(sha256 {first[:16]})",
                    flush=True,
                )
                shutil.rmtree(again.parent)
        if scale in scales:
            db = base / f"rideshare-{scale}.duckdb"
            b = duckdb_build(zone, db, args.memory_limit)
            duck_seconds[scale] = b["seconds"], b["cpu"]
            print(
                f"{scale:>6} DuckDB build: {b['trips']:,} trips, {b['rows']:,} modelled rows, "
                f"{b['seconds']:.1f} s ({b['cpu']:.1f} CPU s), peak {b['peak_mb']:.0f} MB, "
                f"reconciles: {b['reconciles']}",
                flush=True,
            )
            d = duckdb_day(zone, db, args.day, args.memory_limit)
            print(
                f"{scale:>6} one day ({args.day}): {d['seconds']:.1f} s ({d['cpu']:.1f} CPU s), "
                f"peak {d['peak_mb']:.0f} MB, {d['seconds'] / b['seconds']:.3f} of the full "
                f"build's time, {d['cpu'] / b['cpu']:.3f} of its CPU (target under 0.05), "
                f"reconciles: {d['reconciles']}",
                flush=True,
            )
            if args.verify_daily:
                v = verify_daily(zone, db, base / f"rideshare-{scale}-daily.duckdb")
                print(
                    f"{scale:>6} every day one by one: {v['days']} loads, median "
                    f"{v['median_day_seconds']:.1f} s, total {v['total_seconds']:.0f} s; "
                    f"{v['tables']} tables compared with the full build, differing: "
                    f"{v['differing'] or 'none'}",
                    flush=True,
                )
        if scale in spark:
            s = spark_build(zone, base / f"rideshare-{scale}-spark")
            ratio = ""
            if scale in duck_seconds:
                seconds, cpu = duck_seconds[scale]
                ratio = f", {s['seconds'] / seconds:.1f}x DuckDB's time, {s['cpu'] / cpu:.1f}x its CPU"
            print(
                f"{scale:>6} Spark build: {s['seconds']:.1f} s ({s['cpu']:.1f} CPU s, its JVM "
                f"included){ratio}, peak {s['peak_mb']:.0f} MB (Python + JVM), reconciles: "
                f"{s['reconciles']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
