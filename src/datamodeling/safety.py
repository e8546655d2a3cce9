"""A reader's SQL is one read-only query, on a connection that cannot write, attach or reach files.

Two layers keep a reader's query (a notebook cell, an exercise answer) from changing anything:

1. :func:`check_query` reads the SQL before anything runs: exactly one statement, and a query
   (``SELECT``, ``WITH``, ``VALUES`` or ``FROM``-first). It is parsed twice, by sqlglot and by
   DuckDB's own parser, and refused unless both agree; the refusal names what was found.
2. :func:`lock` sets DuckDB's ``enable_external_access = false`` and then
   ``lock_configuration = true`` on a connection opened read-only: no file can be read or
   written, no database attached, no extension installed or loaded, no setting changed.

:class:`ReaderBackend` is the Ibis DuckDB backend with both layers and a query timeout: its
``sql()`` checks the query, and a query that runs longer than ``query_timeout`` seconds is
interrupted with a clear message. ``warehouse.open_practice`` hands it to every notebook.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb
import sqlglot
from ibis.backends.duckdb import Backend as _DuckDBBackend
from sqlglot import exp
from sqlglot.tokens import TokenType

#: Seconds a reader's query may run before it is stopped: generous, so only a runaway query
#: (a cross join of two facts, say) ever reaches it.
DEFAULT_TIMEOUT = 300.0

_QUERY_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.FROM}
#: Nodes that have no place inside a read-only query, whatever the parser made of the rest.
_FORBIDDEN = tuple(
    getattr(exp, name)
    for name in (
        "Insert Update Delete Merge Create Drop Alter Copy Attach Detach Pragma Set Command "
        "Use Transaction Commit Rollback Install Describe Summarize Show TruncateTable Into"
    ).split()
    if hasattr(exp, name)
)
_ALLOWED = "one read-only query: SELECT, WITH, VALUES or FROM"


class QueryRefused(ValueError):
    """A reader's SQL that is not exactly one read-only query; nothing was run."""


class QueryTimeout(RuntimeError):
    """A reader's query that ran longer than the connection's timeout and was stopped."""


def _refuse(found: str) -> QueryRefused:
    return QueryRefused(
        f"refused: {found}; a reader's SQL must be {_ALLOWED} (nothing was run)"
    )


def _statements(tokens: list) -> list[list]:
    """Tokens grouped into statements at the top-level semicolons; empty statements dropped."""
    groups: list[list] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(token)
    return [g for g in groups if g]


def _keyword(statement: list) -> str:
    """The first word of a statement, as a reader wrote it (``COPY``, ``ATTACH``...)."""
    first = next(
        (t for t in statement if t.token_type != TokenType.L_PAREN), statement[0]
    )
    return first.text.upper()


_parser_con = None
_parser_lock = threading.Lock()


def _duckdb_statements(sql: str) -> list:
    """DuckDB's own reading of ``sql``, on a connection that cannot touch a file.

    DuckDB expands some statements while parsing (``IMPORT DATABASE`` reads files), so this
    never runs on an open connection.
    """
    global _parser_con
    with _parser_lock:
        if _parser_con is None:
            _parser_con = duckdb.connect(config={"enable_external_access": False})
            _parser_con.execute("SET lock_configuration = true")
        return _parser_con.extract_statements(sql)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _raise_if_syntax_error(query: str) -> None:
    try:
        _duckdb_statements(query)
    except duckdb.ParserException as exc:
        raise QueryRefused(
            f"DuckDB cannot parse this SQL: {_first_line(exc)}"
        ) from None
    except (
        duckdb.Error
    ):  # parsed, but expanding it needs a file (IMPORT): refused by the caller
        pass


def check_query(sql: str) -> str:
    """Return ``sql`` ready to run if it is one read-only query; else raise :class:`QueryRefused`.

    Leading and trailing comments, whitespace and semicolons are dropped from the returned text
    (a trailing comment after the semicolon would otherwise read as a second statement), and a
    bare ``VALUES`` list or a query in parentheses is wrapped in ``SELECT * FROM (...)`` so
    Ibis can use it as a table.
    """
    if not isinstance(sql, str):
        raise TypeError(f"a query is a string, got {type(sql).__name__}")
    try:
        tokens = sqlglot.Tokenizer(dialect="duckdb").tokenize(sql)
    except sqlglot.errors.TokenError as exc:
        raise QueryRefused(f"cannot read this SQL: {exc}") from None
    statements = _statements(tokens)
    if not statements:
        raise QueryRefused("refused: the SQL is empty (only comments or semicolons)")
    if len(statements) > 1:
        kinds = ", ".join(_keyword(s) for s in statements)
        raise _refuse(f"found {len(statements)} statements ({kinds})")
    (statement,) = statements
    query = sql[statement[0].start : statement[-1].end + 1]
    first = next((t for t in statement if t.token_type != TokenType.L_PAREN), None)
    if first is None or first.token_type not in _QUERY_STARTS:
        _raise_if_syntax_error(query)  # "SELEC 1" is a typo, not a statement to refuse
        raise _refuse(f"found {_keyword(statement)}")
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.ParseError:
        tree = None  # DuckDB syntax sqlglot does not know: DuckDB's own parser decides below
    if tree is not None:
        if not isinstance(tree, (exp.Query, exp.Values)):
            raise _refuse(f"found {type(tree).__name__.upper()}")
        hidden = next(
            (node for node in tree.walk() if isinstance(node, _FORBIDDEN)), None
        )
        if hidden is not None:
            raise _refuse(f"found {type(hidden).__name__.upper()} inside the query")
    try:
        parsed = _duckdb_statements(query)
    except duckdb.Error as exc:
        raise QueryRefused(
            f"DuckDB cannot parse this SQL: {_first_line(exc)}"
        ) from None
    kinds = [str(s.type).rsplit(".", 1)[-1] for s in parsed]
    if kinds != ["SELECT"]:
        raise _refuse(f"DuckDB reads it as {', '.join(kinds) or 'nothing'}")
    if isinstance(tree, (exp.Values, exp.Subquery)):  # Ibis wants a SELECT at the top
        query = f"SELECT * FROM ({query})"
    return query


def lock(con) -> None:
    """Forbid files, attachments, extensions and setting changes on a DuckDB connection.

    ``con`` is an Ibis DuckDB backend or a raw ``duckdb`` connection. Call it after the warehouse
    is open (opening it is a file access) and after any setting the connection needs.
    """
    raw = getattr(con, "con", con)
    raw.execute("SET enable_external_access = false")
    raw.execute("SET lock_configuration = true")


class ReaderBackend(_DuckDBBackend):
    """The Ibis DuckDB backend handed to readers: checked SQL, a locked engine, a timeout.

    ``con.sql(query)`` runs :func:`check_query` first. Every query the backend runs (``sql``,
    ``table``, ``execute``, ``to_pandas``, ``to_pyarrow``...) is interrupted after
    ``query_timeout`` seconds (``None`` for no limit) with :class:`QueryTimeout`.
    """

    query_timeout: float | None = DEFAULT_TIMEOUT
    _depth = 0

    @contextmanager
    def _deadline(self):
        if self._depth or not self.query_timeout:  # the outermost call owns the timer
            yield
            return
        fired = threading.Event()

        def stop():
            fired.set()
            self.con.interrupt()

        timer = threading.Timer(self.query_timeout, stop)
        timer.daemon = True
        self._depth += 1
        timer.start()
        try:
            yield
        except Exception as exc:
            if fired.is_set():
                raise QueryTimeout(
                    f"the query was stopped after {self.query_timeout:g} s, the reader "
                    "connection's timeout: narrow it (a filter, fewer joins) or raise the limit "
                    "with open_practice(..., timeout=SECONDS)"
                ) from exc
            raise
        finally:
            timer.cancel()
            self._depth -= 1

    def sql(self, query, /, *, schema=None, dialect=None):
        checked = check_query(query) if dialect is None else query
        if dialect is not None:  # another dialect: check the DuckDB SQL it becomes
            checked = check_query(self._transpile_sql(query, dialect=dialect))
        with self._deadline():
            return super().sql(checked, schema=schema)

    def raw_sql(self, query, **kwargs):
        with self._deadline():
            return super().raw_sql(query, **kwargs)

    def execute(self, expr, /, **kwargs):
        with self._deadline():
            return super().execute(expr, **kwargs)

    def to_pyarrow(self, expr, /, **kwargs):
        with self._deadline():
            return super().to_pyarrow(expr, **kwargs)

    def to_pyarrow_batches(self, expr, /, **kwargs):
        with self._deadline():
            return super().to_pyarrow_batches(expr, **kwargs)


def open_reader(path, *, timeout: float | None = DEFAULT_TIMEOUT) -> ReaderBackend:
    """Open a DuckDB file for reading only, locked, as a :class:`ReaderBackend`.

    The file is attached read-only to a fresh in-memory DuckDB and made the default catalog
    (named after the file, as when DuckDB opens it directly). Each reader so has a database of
    its own: two readers of one file in one process (a notebook's setup cell run twice) do not
    share a locked configuration, and a reader opened after a rebuild reads the new file.
    """
    con = ReaderBackend().connect(":memory:")
    # A query over two seconds would draw a progress bar into notebook outputs.
    con.raw_sql("PRAGMA disable_progress_bar")  # SET ... fails in a Jupyter kernel
    stem = Path(path).stem
    alias = _identifier(
        "warehouse" if stem.lower() in {"memory", "temp", "system"} else stem
    )
    con.raw_sql(f"ATTACH {_literal(os.fspath(path))} AS {alias} (READ_ONLY)")
    con.raw_sql(f"USE {alias}")
    lock(con)
    con.query_timeout = timeout
    return con


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
