"""The scaling figures of ``notebooks/scaling/03_incremental_loads_and_table_formats.ipynb``.

The page reads ``03_pipeline_scaling.json``, written by ``benchmarks/pipeline.py --json``, so the
book build does not rerun a benchmark of many minutes. Nothing here is timed (speed is measured by
the benchmark, and its figures are printed). Three kinds of check:

* the file holds every engine and scale the page plots, each with the machine's load average and
  a warehouse that reconciled; the two engines read the same landing zone at each scale and built
  the same number of rows (a consistency check the benchmark does not make itself);
* the page's claims hold for the figures in the file, computed here in plain Python from the raw
  figures (the log-log slopes, the ratios), independently of the page's pandas;
* the benchmark's JSON writer: a second run keeps the first run's other engines and scales, and a
  landing zone's days are read from its manifest.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "notebooks" / "scaling" / "03_pipeline_scaling.json"
SCALES = ["tiny", "small", "medium", "large"]
#: What the page plots: every DuckDB scale, and Spark up to medium.
PLOTTED = {
    "duckdb": ["tiny", "small", "medium", "large"],
    "spark": ["tiny", "small", "medium"],
}


@pytest.fixture(scope="module")
def figures() -> dict:
    return json.loads(FIGURES.read_text())


@pytest.fixture(scope="module")
def runs(figures) -> dict:
    return {(r["engine"], r["scale"]): r for r in figures["runs"]}


def slope(a: dict, b: dict, column: str = "wall_s") -> float:
    """The log-log slope from run ``a`` to run ``b``: how the figure grows with the raw rows."""
    return math.log(b[column] / a[column]) / math.log(b["raw_rows"] / a["raw_rows"])


def test_every_plotted_engine_and_scale_is_measured(figures, runs):
    for engine, scales in PLOTTED.items():
        for scale in scales:
            assert (engine, scale) in runs, (engine, scale)
    machine = figures["machine"]
    assert machine["cores"] >= 1 and machine["memory_gb"] > 0
    assert len(machine["load_average_start"]) == 3
    assert figures["versions"]["duckdb"] and figures["versions"]["pyspark"]
    assert figures["commands"] and all(
        c.startswith("benchmarks/pipeline.py") for c in figures["commands"]
    )
    for run in runs.values():
        for field in ("wall_s", "cpu_s", "peak_rss_mb", "day_load_s", "raw_rows"):
            assert run[field] > 0, (run["engine"], run["scale"], field)
        assert len(run["load_average_start"]) == 3 and len(run["load_average_end"]) == 3
        assert run["reconciles"] is True, (run["engine"], run["scale"])
        assert run["day_ratio"] == pytest.approx(run["day_load_s"] / run["wall_s"])


def test_the_engines_read_the_same_landing_zone_and_build_the_same_rows(runs):
    for scale in PLOTTED["spark"]:
        duck, spark = runs["duckdb", scale], runs["spark", scale]
        assert spark["raw_rows"] == duck["raw_rows"], scale
        assert spark["trips"] == duck["trips"], scale
        assert spark["modelled_rows"] == duck["modelled_rows"], scale


def test_the_raw_rows_grow_with_the_scale(runs):
    rows = [runs["duckdb", s]["raw_rows"] for s in PLOTTED["duckdb"]]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    # the scales are 2 k, 20 k, 1 M and 10 M trips: raw rows follow within a factor of two
    trips = [2_000, 20_000, 1_000_000, 10_000_000]
    per_trip = [r / t for r, t in zip(rows, trips, strict=True)]
    assert max(per_trip) < 2 * min(per_trip)


def test_duckdb_time_is_flat_at_the_small_end_and_near_linear_at_the_large_end(runs):
    """The page's reading of the log-log plot (CPU seconds, which the machine's load hardly
    changes): a fixed cost, then time in proportion to the rows."""
    duck = [runs["duckdb", s] for s in PLOTTED["duckdb"]]
    # about ten times the rows, far less than ten times the time
    assert slope(duck[0], duck[1], "cpu_s") < 0.4
    # ten times the rows, about ten times the time
    assert 0.8 < slope(duck[-2], duck[-1], "cpu_s") < 1.2
    # and the build's time grows with the rows at every step, on the clock too
    for column in ("cpu_s", "wall_s"):
        times = [r[column] for r in duck]
        assert times == sorted(times), column


def test_spark_is_slower_than_duckdb_on_one_machine(runs):
    for scale in PLOTTED["spark"]:
        assert runs["spark", scale]["wall_s"] > runs["duckdb", scale]["wall_s"], scale
        assert runs["spark", scale]["cpu_s"] > runs["duckdb", scale]["cpu_s"], scale


def test_spark_s_cpu_gap_to_duckdb_narrows_as_the_rows_grow(runs):
    ratio = [
        runs["spark", s]["cpu_s"] / runs["duckdb", s]["cpu_s"] for s in PLOTTED["spark"]
    ]
    assert ratio[-1] < ratio[0]


def test_one_day_costs_less_than_the_build_and_its_share_falls_with_scale(runs):
    for run in runs.values():
        assert run["day_load_s"] < run["wall_s"], (run["engine"], run["scale"])
        assert run["day_load_cpu_s"] < run["cpu_s"], (run["engine"], run["scale"])
    duck = [runs["duckdb", s] for s in PLOTTED["duckdb"]]
    assert duck[-1]["day_cpu_ratio"] < duck[0]["day_cpu_ratio"] / 2
    assert (
        duck[0]["day_cpu_ratio"] > 1 / 3
    )  # the fixed cost dominates at tiny (the page's Pitfall)
    # the target at large: one day under a twentieth of the build, clock and CPU
    assert duck[-1]["day_ratio"] < 1 / 20 and duck[-1]["day_cpu_ratio"] < 1 / 20
    # the page: the CPU share tends towards, and stays above, what the lookback re-reads
    for run in duck:
        if "landing_days" in run:
            floor = (run["lookback_days"] + 1) / run["landing_days"]
            assert run["day_cpu_ratio"] > floor, run["scale"]
    # Spark's day stays a large share of its build at every scale (the page says why)
    for scale in PLOTTED["spark"]:
        assert runs["spark", scale]["day_cpu_ratio"] > 4 * duck[-1]["day_cpu_ratio"]


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "pipeline_benchmark", ROOT / "benchmarks" / "pipeline.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_json_writer_keeps_other_runs_and_the_latest_of_each(tmp_path):
    bench = _benchmark()
    path = tmp_path / "figures.json"
    first = bench.Figures(path, ["--scales", "tiny"], 42, "2025-06-15")
    first.add({"engine": "duckdb", "scale": "small", "wall_s": 2.0})
    first.add({"engine": "duckdb", "scale": "tiny", "wall_s": 1.0})
    again = bench.Figures(path, ["--spark", "tiny"], 42, "2025-06-15")
    again.add({"engine": "spark", "scale": "tiny", "wall_s": 9.0})
    again.add({"engine": "duckdb", "scale": "tiny", "wall_s": 1.5})  # measured again
    written = json.loads(path.read_text())
    assert [(r["engine"], r["scale"], r["wall_s"]) for r in written["runs"]] == [
        ("duckdb", "tiny", 1.5),
        ("duckdb", "small", 2.0),
        ("spark", "tiny", 9.0),
    ]
    # each figure names the command that measured it; the file lists those commands
    assert [r["command"] for r in written["runs"]] == [
        "benchmarks/pipeline.py --spark tiny",
        "benchmarks/pipeline.py --scales tiny",
        "benchmarks/pipeline.py --spark tiny",
    ]
    assert written["commands"] == [
        "benchmarks/pipeline.py --spark tiny",
        "benchmarks/pipeline.py --scales tiny",
    ]
    assert len(written["machine"]["load_average_end"]) == 3
    # a run started before another wrote keeps the other's figures
    both = bench.Figures(path, ["--scales", "small"], 42, "2025-06-15")
    bench.Figures(path, ["--spark", "small"], 42, "2025-06-15").add(
        {"engine": "spark", "scale": "small", "wall_s": 20.0}
    )
    both.add({"engine": "duckdb", "scale": "small", "wall_s": 2.5})
    written = json.loads(path.read_text())
    assert {(r["engine"], r["scale"]): r["wall_s"] for r in written["runs"]} == {
        ("duckdb", "tiny"): 1.5,
        ("duckdb", "small"): 2.5,
        ("spark", "tiny"): 9.0,
        ("spark", "small"): 20.0,
    }
    # "--scales tiny" measured only duckdb small, now measured again: its command is gone
    assert written["commands"] == [
        "benchmarks/pipeline.py --spark tiny",
        "benchmarks/pipeline.py --scales small",
        "benchmarks/pipeline.py --spark small",
    ]


def test_a_landing_zone_s_days_come_from_its_manifest(tmp_path):
    bench = _benchmark()
    (tmp_path / "_landing.json").write_text(
        json.dumps(
            {
                "sources": {
                    "a": {
                        "rows": 5,
                        "first_day": "2025-01-02",
                        "last_day": "2025-01-03",
                    },
                    "b": {
                        "rows": 7,
                        "first_day": "2025-01-01",
                        "last_day": "2025-01-10",
                    },
                    "empty": {"rows": 0, "first_day": None, "last_day": None},
                }
            }
        )
    )
    assert bench.zone_info(tmp_path) == {
        "raw_rows": 12,
        "first_landing_day": "2025-01-01",
        "last_landing_day": "2025-01-10",
        "landing_days": 10,
    }
