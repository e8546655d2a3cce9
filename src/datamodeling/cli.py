"""The ``datamodeling`` command: build a practice's warehouse, compute its metrics, describe it.

Practices register themselves (see :mod:`datamodeling.registry`), so this file never changes when
a practice is added. Bad input (unknown practice, scale or metric, unwritable path) ends with a
one-line error and exit code 2, and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from datamodeling import registry, synth, warehouse


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def _practice_names() -> list[str]:
    return list(registry.practices())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datamodeling",
        description="Build the book's warehouses, compute their metrics, describe their models.",
        epilog="Practices: " + (", ".join(_practice_names()) or "none registered yet"),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="generate data and build a practice's warehouse")
    build.add_argument("practice")
    build.add_argument(
        "--scale",
        default=synth.DEFAULT_SCALE,
        help=f"{'|'.join(synth.SCALES)} or a number of main-fact rows (default: %(default)s)",
    )
    build.add_argument("--seed", type=int, default=synth.DEFAULT_SEED, help="default: %(default)s")
    build.add_argument(
        "--db", type=Path, help="DuckDB file (default: data/generated/PRACTICE.duckdb)"
    )
    build.add_argument("--backend", choices=["duckdb", "pyspark"], default="duckdb")

    metrics = sub.add_parser("metrics", help="compute a practice's metrics on its warehouse")
    metrics.add_argument("practice")
    metrics.add_argument(
        "--db", type=Path, help="DuckDB file (default: data/generated/PRACTICE.duckdb)"
    )
    metrics.add_argument("--name", help="one metric (default: all)")
    metrics.add_argument("--format", choices=["table", "csv", "json"], default="table")
    metrics.add_argument(
        "--rows", type=int, default=20, help="rows shown per metric in table format"
    )

    describe = sub.add_parser("describe", help="tables, grain, keys and SCD types of a practice")
    describe.add_argument("practice")

    sub.add_parser("list", help="the registered practices and their metrics")
    return parser


def _practice(name: str) -> registry.Practice:
    try:
        return registry.get_practice(name)
    except registry.UnknownPracticeError as exc:
        raise CliError(str(exc)) from None


def _build(args) -> None:
    practice = _practice(args.practice)
    try:
        rows = synth.resolve_scale(args.scale)
        path = warehouse.check_writable(args.db or warehouse.default_db_path(practice.name))
    except (synth.ScaleError, warehouse.WarehousePathError) as exc:
        raise CliError(str(exc)) from None
    if args.backend != "duckdb":
        raise CliError(
            "--backend pyspark is not supported by `build` yet: the toolkit's transforms run on "
            "PySpark (tests/test_spark.py), but the practices load their raw layer with DuckDB"
        )
    start = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    progress(f"building {practice.name} at scale {args.scale} ({rows:,} rows), seed {args.seed}")
    try:
        report = warehouse.build_database(
            practice.name, path, scale=rows, seed=args.seed, progress=progress
        )
    except warehouse.ReconciliationError as exc:
        raise CliError(f"{exc}; nothing was written") from None
    progress(f"wrote {path}")
    width = max(map(len, report.tables), default=5)
    print(f"{'table':<{width}}  {'rows':>12}")
    for table, count in report.tables.items():
        print(f"{table:<{width}}  {count:>12,}")
    if report.sources:
        print()
        print(f"{'source':<{width}}  {'rows in':>12}  {'loaded':>12}  {'quarantined':>12}")
        for source, s in report.sources.items():
            print(
                f"{source:<{width}}  {s['rows_in']:>12,}  {s['loaded']:>12,}  {s['quarantined']:>12,}"
            )


def _metrics(args) -> None:
    practice = _practice(args.practice)
    path = args.db or warehouse.default_db_path(practice.name)
    if not Path(path).is_file():
        raise CliError(f"no warehouse at {path}: run `datamodeling build {practice.name}` first")
    chosen = practice.metrics
    if args.name:
        if args.name not in chosen:
            raise CliError(f"unknown metric {args.name!r}: choose one of {', '.join(chosen)}")
        chosen = {args.name: chosen[args.name]}
    con = warehouse.connect(path, read_only=True)
    for name, metric in chosen.items():
        df = metric.to_pandas(con)
        if args.format == "csv":
            df.insert(0, "metric", name)
            sys.stdout.write(df.to_csv(index=False))
        elif args.format == "json":
            sys.stdout.write(
                df.assign(metric=name).to_json(orient="records", lines=True, date_format="iso")
            )
        else:
            print(f"== {name}: {metric.requirement} ({len(df):,} rows)")
            print(df.head(args.rows).to_string(index=False))
            print()


def _describe(args) -> None:
    from datamodeling.schema import summary

    practice = _practice(args.practice)
    print(f"{practice.title} ({practice.name})\n")
    for row in summary(practice.tables).to_dict("records"):
        print(f"{row['table']}  [{row['role']}{', SCD ' + row['scd'] if row['scd'] else ''}]")
        print(f"  grain: {row['grain']}")
        print(
            f"  primary key: {row['primary key'] or '-'}   business key: {row['business key'] or '-'}"
        )


def _list(_args) -> None:
    for name, practice in registry.practices().items():
        print(f"{name}: {practice.title}")
        for metric_name, metric in practice.metrics.items():
            print(f"  {metric_name}: {metric.requirement}")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"build": _build, "metrics": _metrics, "describe": _describe, "list": _list}
    try:
        handlers[args.command](args)
    except CliError as exc:
        parser.exit(2, f"datamodeling: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "datamodeling: interrupted; nothing was written\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
