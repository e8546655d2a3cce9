"""Ride-sharing on the incremental pipeline: generation, builds, one day's load, DuckDB and Spark.

    .venv/bin/python benchmarks/pipeline.py                          # tiny and small, DuckDB
    .venv/bin/python benchmarks/pipeline.py --scales tiny,small,medium,large --spark small,medium
    .venv/bin/python benchmarks/pipeline.py --scales tiny --verify-daily   # every day, one by one
    .venv/bin/python benchmarks/pipeline.py --scales small --check-bytes   # same seed, same bytes
    .venv/bin/python benchmarks/pipeline.py --scales tiny,small --spark tiny --json figures.json

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

``--json FILE`` also writes the figures as JSON (the machine: cores, memory, load average at the
start and end of the run and of each measurement, the date, the versions of Python, DuckDB, Ibis,
PySpark and Java; per engine and scale: raw rows, wall and CPU seconds, peak resident memory, one
day's load and its ratio to the build). The file is rewritten after each measurement, so a run
cut short keeps what it measured; an existing file's other engines and scales are kept (a run
for Spark alone adds to a run for DuckDB), each with the machine's state when it was measured.
On Spark, one day's load runs in the same session after the build (the session's start-up,
measured apart, is in neither) and includes the copy of the warehouse folder the load swaps in.

``--verify-daily`` loads every landing day one by one into a fresh warehouse and compares it with
the full build, every table and every row (EXCEPT ALL both ways), printing the day loads' times.
Figures are printed, never asserted (DESIGN.md: budgets are measured, not tested).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
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
    import importlib, json, os, resource, time
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
        os.sync()  # written means on disk: the kernel's write-back is part of the cost
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
        os.sync()  # done means on disk (else the next measurement pays for this one's writes)
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
        os.sync()  # done means on disk (else the next measurement pays for this one's writes)
        done(seconds=time.perf_counter() - start, cpu=cpu() - cpu0, peak_mb=peak_mb(),
             reconciles=r.reconciles())
        """
    )


def spark_build(zone: Path, folder: Path, day: str) -> dict:
    return child(
        f"""
        import os
        spark = warehouse.connect(backend="pyspark")
        spark._session.sparkContext.setLogLevel("ERROR")
        startup = time.perf_counter() - start  # the JVM and the session, before any job
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
        peak = peak_mb() + jvm_peak_mb()
        rows = sum(r.tables.values())
        # one day's load into the built warehouse, in the same (warm) session
        t, cpu1, jvm1 = time.perf_counter(), cpu(), jvm_cpu()
        d = pipeline.load_spark_directory(
            spark, {str(folder)!r}, lambda b: pipeline.load(b, build.PIPELINE, raw, {day!r})
        )
        day_seconds = time.perf_counter() - t
        day_cpu = cpu() - cpu1 + jvm_cpu() - jvm1
        done(seconds=seconds, cpu=used, peak_mb=peak, startup_seconds=startup, rows=rows,
             trips=r.tables["fact_trip"], reconciles=r.reconciles(),
             day_seconds=day_seconds, day_cpu=day_cpu, day_reconciles=d.reconciles())
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


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages, rounded (runnable processes; 2 cores here)."""
    return [round(x, 2) for x in os.getloadavg()]


def now() -> str:
    """The time in UTC, to the second: when a measurement started and ended (runs may overlap)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def memory_gb() -> float:
    with open("/proc/meminfo") as f:
        kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return round(kb / 1024**2, 1)


def versions() -> dict:
    """The versions of what the figures depend on (None: not installed)."""
    from importlib import metadata

    found = {"python": platform.python_version()}
    for name in ("duckdb", "ibis-framework", "pyarrow", "pyspark"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    try:
        java = subprocess.run(
            ["java", "-version"], capture_output=True, text=True, timeout=60
        )
        found["java"] = (java.stderr or java.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        found["java"] = None
    return found


class Figures:
    """The figures of a run as JSON, rewritten after each measurement (``--json FILE``).

    An existing file's runs for other (engine, scale) pairs are kept (read again before each
    write, so two runs into one file keep each other's figures); its machine and run details
    are replaced by this run's, and each measurement keeps the load average it saw.
    """

    def __init__(self, path: Path | None, argv: list[str], seed: int, day: str):
        self.path = path
        old = {}
        if path is not None and path.is_file():
            old = json.loads(path.read_text())
        self.data = {
            "practice": "rideshare",
            "benchmark": "benchmarks/pipeline.py",
            "command": " ".join(["benchmarks/pipeline.py", *argv]),
            "commands": old.get("commands", []),  # of the runs kept: see add()
            "seed": seed,
            "day": day,
            "date": now(),
            "machine": {
                "cores": os.cpu_count(),
                "memory_gb": memory_gb(),
                "platform": platform.platform(),
                "load_average_start": load_average(),
                "load_average_end": None,
            },
            "versions": versions(),
            "runs": old.get("runs", []),
        }

    def add(self, run: dict) -> None:
        key = run["engine"], run["scale"]
        if (
            self.path is not None and self.path.is_file()
        ):  # another run may have written
            on_disk = json.loads(self.path.read_text())
            self.data["runs"] = on_disk.get("runs", [])
        run = {**run, "command": self.data["command"]}
        runs = [r for r in self.data["runs"] if (r["engine"], r["scale"]) != key]
        order = {s: i for i, s in enumerate(("tiny", "small", "medium", "large"))}
        self.data["runs"] = sorted(
            [*runs, run], key=lambda r: (r["engine"], order.get(r["scale"], 9))
        )
        # the commands that measured the figures kept, not every run that ever wrote here
        self.data["commands"] = list(
            dict.fromkeys(r["command"] for r in self.data["runs"])
        )
        self.write()

    def write(self) -> None:
        if self.path is None:
            return
        self.data["machine"]["load_average_end"] = load_average()
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n")
        os.replace(tmp, self.path)


def lookback_days() -> int:
    """The lookback every load here uses: the pipeline's default (read from this tree's code)."""
    sys.path.insert(0, str(ROOT / "src"))
    from datamodeling.pipeline import DEFAULT_LOOKBACK_DAYS

    return DEFAULT_LOOKBACK_DAYS


def zone_info(zone: Path) -> dict:
    """A landing zone's raw rows and landing days (first, last, how many), from its manifest."""
    manifest = json.loads((zone / "_landing.json").read_text())
    sources = manifest["sources"].values()
    first = min(s["first_day"] for s in sources if s["first_day"])
    last = max(s["last_day"] for s in sources if s["last_day"])
    days = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
    return {
        "raw_rows": sum(s["rows"] for s in sources),
        "first_landing_day": first,
        "last_landing_day": last,
        "landing_days": days,
    }


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
    parser.add_argument(
        "--json",
        type=Path,
        help="also write the figures to this JSON file (kept: its other engines and scales)",
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
    figures = Figures(args.json, sys.argv[1:], args.seed, args.day)
    print(
        f"scratch: {base}  (cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f})"
    )
    duck_seconds = {}
    for scale in dict.fromkeys([*scales, *spark]):
        zone = base / f"rideshare-{scale}" / "raw"
        generation = None
        if args.reuse and (zone / "_landing.json").is_file():
            print(f"{scale:>6} generation: reusing {zone}", flush=True)
        else:
            generation = generate(scale, args.seed, zone, args.workers)
            report_generation(scale, generation)
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
        info = zone_info(zone)
        if scale in scales:
            db = base / f"rideshare-{scale}.duckdb"
            # from empty, even with --reuse
            for old in (db, db.with_name(db.name + ".wal")):
                old.unlink(missing_ok=True)
            load0, started = load_average(), now()
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
            figures.add(
                {
                    "engine": "duckdb",
                    "scale": scale,
                    **info,
                    "lookback_days": lookback_days(),
                    "trips": b["trips"],
                    "modelled_rows": b["rows"],
                    "generation": generation,
                    "wall_s": b["seconds"],
                    "cpu_s": b["cpu"],
                    "peak_rss_mb": b["peak_mb"],
                    "memory_limit": args.memory_limit,
                    "day_load_s": d["seconds"],
                    "day_load_cpu_s": d["cpu"],
                    "day_load_peak_rss_mb": d["peak_mb"],
                    "day_ratio": d["seconds"] / b["seconds"],
                    "day_cpu_ratio": d["cpu"] / b["cpu"],
                    "reconciles": b["reconciles"] and d["reconciles"],
                    "started": started,
                    "finished": now(),
                    "load_average_start": load0,
                    "load_average_end": load_average(),
                }
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
            load0, started = load_average(), now()
            folder = base / f"rideshare-{scale}-spark"
            shutil.rmtree(folder, ignore_errors=True)  # from empty, even with --reuse
            s = spark_build(zone, folder, args.day)
            ratio = ""
            if scale in duck_seconds:
                seconds, cpu = duck_seconds[scale]
                ratio = f", {s['seconds'] / seconds:.1f}x DuckDB's time, {s['cpu'] / cpu:.1f}x its CPU"
            print(
                f"{scale:>6} Spark build: {s['seconds']:.1f} s ({s['cpu']:.1f} CPU s, its JVM "
                f"included){ratio}, peak {s['peak_mb']:.0f} MB (Python + JVM), reconciles: "
                f"{s['reconciles']}; session start-up {s['startup_seconds']:.1f} s (not "
                f"included); one day: {s['day_seconds']:.1f} s = "
                f"{s['day_seconds'] / s['seconds']:.3f} of the build",
                flush=True,
            )
            figures.add(
                {
                    "engine": "spark",
                    "scale": scale,
                    **info,
                    "lookback_days": lookback_days(),
                    "trips": s["trips"],
                    "modelled_rows": s["rows"],
                    "generation": generation if scale not in scales else None,
                    "wall_s": s["seconds"],
                    "cpu_s": s["cpu"],
                    "peak_rss_mb": s["peak_mb"],
                    "startup_s": s["startup_seconds"],
                    "day_load_s": s["day_seconds"],
                    "day_load_cpu_s": s["day_cpu"],
                    "day_ratio": s["day_seconds"] / s["seconds"],
                    "day_cpu_ratio": s["day_cpu"] / s["cpu"],
                    "reconciles": s["reconciles"] and s["day_reconciles"],
                    "started": started,
                    "finished": now(),
                    "load_average_start": load0,
                    "load_average_end": load_average(),
                }
            )
    figures.write()
    if args.json:
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
