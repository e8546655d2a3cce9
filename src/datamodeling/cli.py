"""The ``datamodeling`` command: build a practice's warehouse, load a day, compute its metrics,
describe it.

Practices register themselves (see :mod:`datamodeling.registry`), so this file never changes when
a practice is added. Every failure is one line on stderr and no traceback (``--debug`` shows
one): bad input (an unknown practice, scale, seed or metric, a path the tool will not replace, a
machine too small for the scale) exits with 2 and changes nothing; a fault during a build (a
full disk, no memory) exits with 1 and leaves the old warehouse as it was; SIGINT and SIGTERM
exit with 130 and 143 and leave nothing behind.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import signal
import sys
import time
import traceback
from contextlib import contextmanager

from datamodeling import pipeline, registry, safety, synth, warehouse

#: Seconds the CLI waits for a build to unwind after SIGINT or SIGTERM before it removes the
#: temporary files itself and exits.
SIGNAL_GRACE = 4.0


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage block) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"datamodeling: error: {message} (see {self.prog} --help)\n")


def _practice_names() -> list[str]:
    return list(registry.practices())


def _positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least 1, got {text!r}"
        )
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="datamodeling",
        description="Build the book's warehouses, compute their metrics, describe their models.",
        epilog="Practices: " + (", ".join(_practice_names()) or "none registered yet"),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback on errors"
    )
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    scales = "|".join(synth.SCALES)

    build = sub.add_parser(
        "build",
        parents=[debug],
        help="generate data and build a practice's warehouse",
        description="Build a warehouse into a temporary file, verify it, then replace the old "
        "one (only a warehouse this tool built for the same practice is ever replaced).",
    )
    build.add_argument("practice")
    build.add_argument(
        "--scale",
        default=synth.DEFAULT_SCALE,
        help=f"{scales} or a number of main-fact rows up to {synth.MAX_ROWS:,} "
        "(default: %(default)s)",
    )
    build.add_argument(
        "--seed",
        default=str(synth.DEFAULT_SEED),
        help=f"0 to {synth.MAX_SEED:,} (default: %(default)s)",
    )
    build.add_argument(
        "--db",
        help="DuckDB file (default: data/generated/PRACTICE.duckdb at the default scale and "
        "seed, PRACTICE-SCALE.duckdb at another scale)",
    )
    build.add_argument(
        "--backend",
        choices=["duckdb", "pyspark"],
        default="duckdb",
        help="pyspark: the same build on a local Spark session, from the same landing zone, "
        "into the folder PRACTICE[-SCALE]-spark/ beside the DuckDB file",
    )
    build.add_argument(
        "--no-preflight",
        action="store_true",
        help="build even when the estimate says the disk or the memory is short",
    )

    load = sub.add_parser(
        "load",
        parents=[debug],
        help="load one landing day (or a range) into a built warehouse",
        description="Read what landed on the days asked from the landing zone beside the "
        "warehouse (`build` writes it), recompute the facts of those days and of the lookback "
        "days before them, replacing their rows (a day loaded twice changes nothing). A record "
        "that landed later than the lookback is quarantined; load its landing day again with "
        "a longer --lookback to load it (the backfill).",
    )
    load.add_argument("practice")
    days = load.add_mutually_exclusive_group(required=True)
    days.add_argument("--day", help="the landing day YYYY-MM-DD")
    days.add_argument(
        "--from", dest="day_from", help="first landing day of a range (backfill)"
    )
    load.add_argument(
        "--to", dest="day_to", help="last landing day of the range (default: --from)"
    )
    load.add_argument(
        "--lookback",
        type=int,
        default=pipeline.DEFAULT_LOOKBACK_DAYS,
        help="days before each landing day whose facts are recomputed; a record later than "
        "this is quarantined (default: %(default)s)",
    )
    load.add_argument(
        "--scale", default=synth.DEFAULT_SCALE, help="the warehouse of SCALE"
    )
    load.add_argument("--seed", default=str(synth.DEFAULT_SEED), help="... and of SEED")
    load.add_argument("--db", help="DuckDB file (default: the one `build` writes)")
    load.add_argument("--backend", choices=["duckdb", "pyspark"], default="duckdb")

    metrics = sub.add_parser(
        "metrics", parents=[debug], help="compute a practice's metrics on its warehouse"
    )
    metrics.add_argument("practice")
    metrics.add_argument("--db", help="DuckDB file (default: the one `build` writes)")
    metrics.add_argument(
        "--scale", default=synth.DEFAULT_SCALE, help="find the warehouse of SCALE"
    )
    metrics.add_argument(
        "--seed", default=str(synth.DEFAULT_SEED), help="... and of SEED"
    )
    metrics.add_argument("--name", help="one metric (default: all)")
    metrics.add_argument("--format", choices=["table", "csv", "json"], default="table")
    metrics.add_argument(
        "--rows",
        type=_positive_int,
        default=20,
        help="rows shown per metric in table format",
    )

    describe = sub.add_parser(
        "describe",
        parents=[debug],
        help="tables, grain, keys and SCD types of a practice",
    )
    describe.add_argument("practice")

    sub.add_parser(
        "list", parents=[debug], help="the registered practices and their metrics"
    )
    return parser


# ---------------------------------------------------------------------------------------------
# Progress: one readable line per step; on a terminal, a live bar for the running step
# ---------------------------------------------------------------------------------------------
_LITERAL = re.compile(r"\{[^{}]*\}")


def readable(message: str) -> str:
    """A progress message with any dict literal written out: ``(rows in 1,234, loaded 1,200)``."""

    def spell(match: re.Match) -> str:
        try:
            value = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError):
            return match.group(0)
        if not isinstance(value, dict):
            return match.group(0)
        parts = [
            f"{str(k).replace('_', ' ')} {v:,}" if isinstance(v, int) else f"{k} {v}"
            for k, v in value.items()
        ]
        return "(" + ", ".join(parts) + ")"

    return _LITERAL.sub(spell, str(message))


class Progress:
    """Progress on stderr: ``[  12.3s] message`` lines, and a live bar when stderr is a terminal.

    Each message ends the step before it. On a terminal the running step shows a pulsing bar
    with its elapsed time (a build step has no known length); :meth:`track` shows a bar that
    fills as the items of a known list are done.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.bar = None
        self.task = None

    def __enter__(self):
        if self.stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self.bar = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream, highlight=False),
                transient=True,
            )
            self.bar.start()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __call__(self, message: str) -> None:
        message = readable(message)
        line = f"[{time.perf_counter() - self.start:6.1f}s] {message.strip()}"
        if self.bar is None:
            print(line, file=self.stream, flush=True)
            return
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.bar.console.print(line, markup=False)
        self.task = self.bar.add_task(message.strip(), total=None)

    def track(self, items, total: int, description: str):
        """Iterate ``items`` with a filling bar (on a terminal)."""
        if self.bar is None:
            yield from items
            return
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None
        task = self.bar.add_task(description, total=total)
        for item in items:
            yield item
            self.bar.advance(task)
        self.bar.remove_task(task)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def _practice(name: str) -> registry.Practice:
    try:
        return registry.get_practice(name)
    except registry.UnknownPracticeError as exc:
        raise CliError(str(exc)) from None


def _build(args) -> None:
    practice = _practice(args.practice)
    rows, seed = synth.resolve_scale(args.scale), synth.resolve_seed(args.seed)
    path = (
        args.db
        if args.db is not None
        else warehouse.default_db_path(practice.name, rows, seed)
    )
    target = warehouse.check_writable(path, practice.name)
    if args.backend == "pyspark":
        _build_spark(practice, path, rows, seed)
        return
    checked = (
        None if args.no_preflight else warehouse.preflight(practice.name, rows, target)
    )
    shown = warehouse.shown(warehouse.expand(path))
    with Progress() as progress:
        progress(
            f"building {practice.name} at scale {synth.scale_label(rows)} ({rows:,} rows), "
            f"seed {seed}, into {shown}"
        )
        if checked:
            progress(checked)
        report = warehouse.build_database(
            practice.name,
            path,
            scale=rows,
            seed=seed,
            progress=progress,
            preflight_checks=False,  # done above, before the first line of progress
            exit_after=SIGNAL_GRACE,
            landing=True,  # a practice that loads by day writes its landing zone for `load`
        )
        try:
            _after_build(progress, report, shown, target)
        except (
            KeyboardInterrupt
        ) as exc:  # the warehouse is complete: say so, not "nothing written"
            signum = getattr(exc, "signum", signal.SIGINT)
            raise warehouse.Interrupted(signum, written=target) from None


def _build_spark(practice, path, rows, seed) -> None:
    try:
        warehouse.incremental(practice.name)
    except warehouse.LoadUnsupported:
        raise CliError(
            f"--backend pyspark needs a practice that loads by day; {practice.name} does not "
            "yet (its metrics run on Spark: tests/test_spark.py)"
        ) from None
    folder = warehouse.spark_dir(warehouse.expand(path))
    with Progress() as progress:
        progress(
            f"building {practice.name} on Spark at scale {synth.scale_label(rows)} "
            f"({rows:,} rows), seed {seed}, into {warehouse.shown(folder)}"
        )
        report = warehouse.build_spark(
            practice.name, path, scale=rows, seed=seed, progress=progress
        )
        progress(f"wrote {warehouse.shown(folder)}")
    _print_report(report)


def _load(args) -> None:
    practice = _practice(args.practice)
    if args.day and args.day_to:
        raise CliError("--to goes with --from, not with --day")
    day_from = pipeline.as_date(
        args.day or args.day_from
    )  # a bad day is refused before work
    day_to = pipeline.as_date(args.day_to) if args.day_to else day_from
    if day_to < day_from:
        raise pipeline.LoadError(f"--to {day_to} is before --from {day_from}")
    rows, seed = synth.resolve_scale(args.scale), synth.resolve_seed(args.seed)
    path = (
        args.db
        if args.db is not None
        else warehouse.default_db_path(practice.name, rows, seed)
    )
    load = (
        warehouse.load_spark if args.backend == "pyspark" else warehouse.load_database
    )
    with Progress() as progress:
        progress(
            f"loading {practice.name}: landing days {day_from} to {day_to}, lookback "
            f"{args.lookback} days"
        )
        kwargs = {} if args.backend == "pyspark" else {"exit_after": SIGNAL_GRACE}
        report = load(
            practice.name,
            day_from,
            day_to,
            path=path,
            scale=rows,
            seed=seed,
            lookback_days=args.lookback,
            progress=progress,
            **kwargs,
        )
        progress("done")
    _print_report(report)


def _after_build(progress, report, shown, target) -> None:
    where = (
        f" (the symlink's target {warehouse.shown(target)})"
        if shown != str(target)
        else ""
    )
    progress(f"wrote {shown}{where}")
    if report.kept_aside:
        progress(
            "the old warehouse had tables or rows the build did not create: it is kept at "
            + warehouse.shown(report.kept_aside)
        )
    progress.close()
    _print_report(report)


def _print_report(report) -> None:
    width = max(map(len, [*report.tables, *report.sources, "source"]), default=6)
    print(f"{'table':<{width}}  {'rows':>12}")
    for table, count in report.tables.items():
        print(f"{table:<{width}}  {count:>12,}")
    if report.sources:
        print()
        print(
            f"{'source':<{width}}  {'rows in':>12}  {'loaded':>12}  {'quarantined':>12}"
        )
        for source, s in report.sources.items():
            print(
                f"{source:<{width}}  {s['rows_in']:>12,}  {s['loaded']:>12,}  {s['quarantined']:>12,}"
            )


def _metrics(args) -> None:
    import duckdb

    practice = _practice(args.practice)
    if args.db is not None:
        path = warehouse.expand(args.db)
    else:
        path = warehouse.default_db_path(practice.name, args.scale, args.seed)
    shown = warehouse.shown(path)
    chosen = practice.metrics
    if args.name is not None:
        if args.name not in chosen:
            raise CliError(
                f"unknown metric {args.name!r}: choose one of {', '.join(chosen)}"
            )
        chosen = {args.name: chosen[args.name]}
    if not os.path.lexists(path):
        raise CliError(
            f"no warehouse at {shown}: run `datamodeling build {practice.name}` first"
        )
    try:
        info = warehouse.inspect_warehouse(path)
    except warehouse.NotAWarehouse as exc:
        raise CliError(f"cannot read metrics from {shown}: {exc.reason}") from None
    if info.practice != practice.name:
        raise CliError(
            f"{shown} holds the {info.practice} warehouse, not {practice.name}'s: "
            f"pass --db a warehouse built for {practice.name}"
        )
    rebuild = f"rebuild it with `datamodeling build {practice.name}`"
    if info.fingerprint != warehouse.code_fingerprint(practice.name):
        print(
            f"datamodeling: note: {shown} was built by older code; {rebuild}",
            file=sys.stderr,
        )
    con = safety.open_reader(path)
    try:
        with Progress() as progress:
            for name, metric in progress.track(chosen.items(), len(chosen), "metrics"):
                try:
                    df = metric.to_pandas(con)
                except (duckdb.Error, safety.QueryTimeout) as exc:
                    raise CliError(
                        f"metric {name} failed on {shown}: {warehouse._first_line(exc)}; {rebuild}"
                    ) from None
                _print_metric(name, metric, df, args)
    finally:
        con.disconnect()


def _print_metric(name, metric, df, args) -> None:
    if args.format == "csv":
        df.insert(0, "metric", name)
        sys.stdout.write(df.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(
            df.assign(metric=name).to_json(
                orient="records", lines=True, date_format="iso"
            )
        )
    else:
        print(f"== {name}: {first_sentence(metric.definition)} ({len(df):,} rows)")
        print(df.head(args.rows).to_string(index=False))
        print()


def _describe(args) -> None:
    from datamodeling.schema import summary

    practice = _practice(args.practice)
    print(f"{practice.title} ({practice.name})\n")
    for row in summary(practice.tables).to_dict("records"):
        print(
            f"{row['table']}  [{row['role']}{', SCD ' + row['scd'] if row['scd'] else ''}]"
        )
        print(f"  grain: {row['grain']}")
        print(
            f"  primary key: {row['primary key'] or '-'}   business key: {row['business key'] or '-'}"
        )


_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!\bvs)[.!?](?=\s+[A-Z(\[]|\s*$)")


def first_sentence(text: str) -> str:
    """The first sentence of a definition (abbreviations such as "e.g." do not end one)."""
    text = " ".join(str(text).split())
    match = _SENTENCE_END.search(text)
    return text[: match.end()] if match else text


def _list(_args) -> None:
    for name, practice in registry.practices().items():
        print(f"{name}: {practice.title}")
        for metric_name, metric in practice.metrics.items():
            print(f"  {metric_name}: {first_sentence(metric.definition)}")


# ---------------------------------------------------------------------------------------------
# Entry point: every failure is one line
# ---------------------------------------------------------------------------------------------
#: Refusals before anything was written: exit code 2.
_BAD_INPUT = (
    CliError,
    registry.UnknownPracticeError,
    synth.ScaleError,
    synth.SeedError,
    warehouse.WarehousePathError,
    warehouse.PreflightError,
    warehouse.ReconciliationError,
    pipeline.LoadError,
)


@contextmanager
def _sigterm_interrupts():
    """Outside a build (which has its own handler), SIGTERM stops the command like Ctrl-C."""

    def handler(signum, frame):
        raise warehouse.Interrupted(signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    handlers = {
        "build": _build,
        "load": _load,
        "metrics": _metrics,
        "describe": _describe,
        "list": _list,
    }

    def fail(code: int, message: str):
        if debug:
            traceback.print_exc()
        parser.exit(code, f"datamodeling: error: {message}\n")

    try:
        with _sigterm_interrupts():
            handlers[args.command](args)
    except _BAD_INPUT as exc:
        fail(2, warehouse._first_line(exc))
    except warehouse.Interrupted as exc:
        parser.exit(exc.exit_code, f"datamodeling: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "datamodeling: interrupted; nothing was written\n")
    except (
        BrokenPipeError
    ):  # `datamodeling metrics ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (warehouse.BuildFailed, safety.QueryTimeout) as exc:
        fail(1, warehouse._first_line(exc))
    except Exception as exc:
        fail(
            1,
            f"{type(exc).__name__}: {warehouse._first_line(exc)} (run with --debug for details)",
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
