"""The few table operations an incremental load needs, on DuckDB and on Spark.

Every transform of a load is portable Ibis. What differs between engines is how a table is
*written*: DuckDB deletes and inserts rows inside a transaction; Spark cannot overwrite a table it
is reading from, has no transaction, and keeps its tables as folders of Parquet files. This
module hides those differences behind one small interface, :class:`Backend`:

``create(name, expr)``
    Create or replace a whole table (``expr`` must not read it: stage it first).
``replace(name, new, where)``
    Delete the rows for which ``where(table)`` is true, then insert ``new``: a day's partition
    replaced, never appended twice. ``new`` must not read the table it replaces (DuckDB deletes
    before it inserts): stage it first when it does.
``stage(name, expr)``
    A materialised scratch table for the rest of the load (dropped at its end).
``create_view(name, expr)``
    A view over the warehouse's tables (the brief's table names). Spark keeps views in its
    session only, so its warehouse directory keeps their SQL in ``_views/`` for the next one.
``begin`` / ``commit`` / ``rollback``
    A load is one transaction on DuckDB. On Spark the runner builds into a fresh directory and
    swaps it in (see :func:`datamodeling.pipeline.load`).

The Spark warehouse is a directory: ``<root>/<database>/<table>/`` holds a table's Parquet
files. Tables are registered in the session's catalog as external tables over those folders, so
the directory can be reopened by any later session (:meth:`SparkBackend.open`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot
import sqlglot.expressions as sge

#: The scratch schema of a load: staged inputs, dropped when the load ends.
STAGE = "stage"
#: Where a Spark warehouse keeps the SQL of its views (a folder under its root).
VIEWS = "_views"

Where = Callable[[ir.Table], ir.BooleanValue]


class Backend:
    """Table writes for one warehouse on one engine (see the module's docstring)."""

    name: str = "abstract"
    #: The database holding the model's own tables (DuckDB's ``main``, Spark's ``default``).
    main: str = "main"

    def __init__(self, con):
        self.con = con

    # -- reading ---------------------------------------------------------------------------
    def table(self, name: str, database: str | None = None) -> ir.Table:
        if database in (None, self.main):
            return self.con.table(name)
        return self.con.table(name, database=database)

    def exists(self, name: str, database: str | None = None) -> bool:
        db = None if database in (None, self.main) else database
        try:
            return name in self.con.list_tables(database=db)
        except Exception:  # the database itself does not exist
            return False

    def read_parquet(self, files: Sequence[Path], partition: str) -> ir.Table:
        """The rows of Hive-partitioned Parquet ``files``, with the partition column."""
        raise NotImplementedError

    def from_arrow(self, name: str, table: pa.Table) -> ir.Table:
        """An Arrow table as an Ibis table of this engine (registered, not copied, if it can)."""
        raise NotImplementedError

    # -- writing ---------------------------------------------------------------------------
    def create_database(self, database: str) -> None:
        raise NotImplementedError

    def create(self, name: str, obj, database: str | None = None) -> ir.Table:
        raise NotImplementedError

    def replace(
        self, name: str, new: ir.Table | None, where: Where, database=None
    ) -> None:
        raise NotImplementedError

    def stage(self, name: str, obj) -> ir.Table:
        return self.create(name, obj, database=STAGE)

    def create_view(self, name: str, expr: ir.Table) -> None:
        """A view ``name`` of the main database over the warehouse's tables (e.g. the brief's
        table names): an Ibis expression, so each engine gets its own SQL."""
        raise NotImplementedError

    def drop_stage(self) -> None:
        raise NotImplementedError

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def _not_deleted(t: ir.Table, where: Where) -> ir.BooleanValue:
    """Rows ``where`` does not select; a NULL verdict keeps the row (as SQL's DELETE does)."""
    return ~where(t).fill_null(False)


class DuckDBBackend(Backend):
    """DuckDB: ``DELETE`` + ``INSERT`` in one transaction; scratch tables in a ``stage`` schema."""

    name = "duckdb"
    main = "main"

    def create_database(self, database: str) -> None:
        self.con.raw_sql(f'CREATE SCHEMA IF NOT EXISTS "{database}"')

    def __init__(self, con):
        super().__init__(con)
        self._registered: list[str] = []

    def read_parquet(self, files, partition: str) -> ir.Table:
        t = self.con.read_parquet([str(f) for f in files], hive_partitioning=True)
        return t

    def from_arrow(self, name: str, table: pa.Table) -> ir.Table:
        self.con.con.register(name, table)
        self._registered.append(name)
        return self.con.table(name)

    def create_view(self, name: str, expr: ir.Table) -> None:
        self.con.create_view(name, expr, overwrite=True)

    def create(self, name: str, obj, database: str | None = None) -> ir.Table:
        if database not in (None, self.main):
            self.create_database(database)
        db = None if database in (None, self.main) else database
        self.con.raw_sql(f'DROP TABLE IF EXISTS "{database or self.main}"."{name}"')
        if not isinstance(obj, ir.Table) and len(obj) == 0:
            # No rows: create from the schema. Inserting an empty Arrow scan into a table makes
            # DuckDB 1.5 lose a later large insert into it in the same transaction.
            schema = ibis.memtable(obj).schema()
            self.con.create_table(name, schema=schema, database=db)
        else:
            self.con.create_table(name, obj, database=db)
        return self.table(name, database)

    def replace(
        self, name: str, new: ir.Table | None, where: Where, database=None
    ) -> None:
        target = self.table(name, database)
        selected = target.filter(where(target))
        query = sqlglot.parse_one(
            ibis.to_sql(selected, dialect="duckdb"), read="duckdb"
        )
        condition = query.args.get("where")
        source = (query.args.get("from_") or query.args.get("from")).this
        cte = query.args.get("with_") or query.args.get("with")  # sqlglot renamed it
        if cte or query.args.get("joins") or condition is None:
            raise ValueError(f"replace({name}): the condition must be a plain filter")
        alias = source.alias_or_name
        delete = sge.Delete(
            this=sge.Table(
                this=sge.to_identifier(name, quoted=True),
                db=sge.to_identifier(database or self.main, quoted=True),
                alias=sge.TableAlias(this=sge.to_identifier(alias, quoted=True)),
            ),
            where=condition,
        )
        self.con.raw_sql(delete.sql(dialect="duckdb"))
        if new is not None:
            self.con.insert(
                name,
                new.select(target.columns).cast(target.schema()),
                database=None if database in (None, self.main) else database,
            )

    def drop_stage(self) -> None:
        # Table by table: DROP SCHEMA ... CASCADE inside a transaction makes DuckDB 1.5 refuse
        # the commit when another schema holds a modified table of the same name ("another
        # transaction has dropped this table").
        tables = self.con.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? "
            "AND database_name = current_database()",
            [STAGE],
        ).fetchall()
        for (name,) in tables:
            self.con.raw_sql(f'DROP TABLE "{STAGE}"."{name}"')
        self.con.raw_sql(f'DROP SCHEMA IF EXISTS "{STAGE}"')
        for name in self._registered:
            self.con.con.unregister(name)
        self._registered.clear()

    def begin(self) -> None:
        self.con.raw_sql("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.con.raw_sql("COMMIT")

    def rollback(self) -> None:
        try:
            self.con.raw_sql("ROLLBACK")
        except (
            Exception
        ):  # no transaction open (it failed before BEGIN or was already undone)
            pass


class SparkBackend(Backend):
    """Spark: each table a folder of Parquet files under ``root``, registered as external.

    ``replace`` and ``create`` write the new content into ``<table>.next/`` (Spark cannot
    overwrite files it is reading), then swap the folders and register the table again.
    """

    name = "pyspark"
    main = "default"

    def __init__(self, con, root: str | Path):
        super().__init__(con)
        self.session = con._session
        # pandas and Arrow tables reach Spark as Arrow batches, not row by row
        self.session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def folder(self, name: str, database: str | None) -> Path:
        return self.root / (database or "main") / name

    def exists(self, name: str, database: str | None = None) -> bool:
        """A table of this warehouse: its folder is under ``root`` (the session's catalog may
        also hold the tables of another warehouse the same session built)."""
        return self.folder(name, database).is_dir() and super().exists(name, database)

    def _sql_name(self, name: str, database: str | None) -> str:
        return f"`{database or self.main}`.`{name}`"

    def create_database(self, database: str) -> None:
        self.session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")

    def read_parquet(self, files, partition: str) -> ir.Table:
        base = Path(files[0]).parent.parent
        df = self.session.read.option("basePath", str(base)).parquet(
            *[str(f) for f in files]
        )
        view = f"landing_{abs(hash(tuple(map(str, files)))):x}"
        df.createOrReplaceTempView(view)
        return self.con.table(view)

    def from_arrow(self, name: str, table: pa.Table) -> ir.Table:
        df = self.session.createDataFrame(table.to_pandas(types_mapper=None))
        df.createOrReplaceTempView(name)
        return self.con.table(name)

    def _register(self, name: str, database: str | None, folder: Path) -> None:
        db = database or self.main
        self.create_database(db)
        self.session.sql(f"DROP TABLE IF EXISTS {self._sql_name(name, database)}")
        self.session.sql(
            f"CREATE TABLE {self._sql_name(name, database)} USING parquet LOCATION '{folder}'"
        )

    def create_view(self, name: str, expr: ir.Table) -> None:
        """A Spark view lives in the session, not in the files: its SQL is kept in
        ``_views/NAME.sql`` under ``root``, and :meth:`open` creates it again."""
        sql = self.con.compile(expr)
        folder = self.root / VIEWS
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.sql").write_text(sql + "\n")
        self._create_view(name, sql)

    def _create_view(self, name: str, sql: str) -> None:
        # a view of the main database, not a temporary view: Spark lists a temporary view in
        # every database, so ``raw.campaign`` would seem to exist beside a view ``campaign``
        self.session.sql(
            f"CREATE OR REPLACE VIEW {self._sql_name(name, None)} AS {sql}"
        )

    def create(self, name: str, obj, database: str | None = None) -> ir.Table:
        if not isinstance(obj, ir.Table) and len(obj) == 0:
            return self._create_empty(name, ibis.memtable(obj).schema(), database)
        if not isinstance(obj, ir.Table):
            obj = ibis.memtable(obj)
        folder = self.folder(name, database)
        nxt = folder.with_name(folder.name + ".next")
        shutil.rmtree(nxt, ignore_errors=True)
        self.con._register_in_memory_tables(obj)
        df = self.session.sql(self.con.compile(obj))
        df.write.mode("overwrite").parquet(str(nxt))
        self.session.sql(f"DROP TABLE IF EXISTS {self._sql_name(name, database)}")
        shutil.rmtree(folder, ignore_errors=True)
        nxt.rename(folder)
        self._register(name, database, folder)
        return self.table(name, database)

    def _create_empty(
        self, name: str, schema: ibis.Schema, database: str | None
    ) -> ir.Table:
        """An empty table from its schema: an empty folder, no Spark job."""
        from ibis.backends.pyspark.datatypes import PySparkSchema

        folder = self.folder(name, database)
        self.create_database(database or self.main)
        self.session.sql(f"DROP TABLE IF EXISTS {self._sql_name(name, database)}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.session.catalog.createTable(
            f"{database or self.main}.{name}",
            path=str(folder),
            source="parquet",
            schema=PySparkSchema.from_ibis(schema),
        )
        return self.table(name, database)

    def replace(
        self, name: str, new: ir.Table | None, where: Where, database=None
    ) -> None:
        target = self.table(name, database)
        kept = target.filter(_not_deleted(target, where))
        if new is not None:
            kept = kept.union(new.select(target.columns).cast(target.schema()))
        self.create(name, kept, database)

    def drop_stage(self) -> None:
        self.session.sql(f"DROP DATABASE IF EXISTS `{STAGE}` CASCADE")
        shutil.rmtree(self.root / STAGE, ignore_errors=True)

    def open(self) -> None:
        """Register every table folder under ``root`` (a warehouse written by another session)."""
        for db_folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if db_folder.name in (STAGE, VIEWS):
                continue
            database = None if db_folder.name == "main" else db_folder.name
            for table in sorted(p for p in db_folder.iterdir() if p.is_dir()):
                if not table.name.endswith(".next"):
                    self._register(table.name, database, table)
        for view in sorted((self.root / VIEWS).glob("*.sql")):
            self._create_view(view.stem, view.read_text())


def backend_for(con, spark_root: str | Path | None = None) -> Backend:
    """The :class:`Backend` of an Ibis connection (Spark needs the warehouse directory)."""
    if con.name == "duckdb":
        return DuckDBBackend(con)
    if con.name == "pyspark":
        if spark_root is None:
            raise ValueError("a Spark warehouse needs its directory (spark_root)")
        return SparkBackend(con, spark_root)
    raise ValueError(f"no load backend for {con.name!r}")
