"""Type 2 slowly changing dimensions: full rebuild, incremental merge, and the as-of join.

Conventions (DESIGN.md):

* one row per *version* of a business key, with a surrogate key ``<entity>_sk``;
* ``valid_from`` inclusive, ``valid_to`` exclusive (half-open ranges), ``9999-12-31`` on the
  current row, and ``is_current``;
* ranges of one business key never overlap.

Input is a *change log*: one row per change record, holding the business key, the full image of
the tracked attributes after the change, the time it took effect (``changed_at``), whether the key
was deleted (``is_deleted``) and, optionally, an arrival sequence to break ties between records
with the same time (the later arrival wins). Daily snapshots turn into a change log with
:func:`changes_from_snapshots`.

Rules, the same for the full rebuild and the incremental merge:

* a record whose attributes equal the state just before it creates no version;
* several records of one key at the same instant collapse to the last arrival;
* records are placed by the time they took effect, not by arrival, so a late record lands in its
  right place in history;
* a deletion closes the open version and opens a final version flagged ``is_deleted``, with the
  last attributes, from the deletion time on. Facts that arrive after the deletion (a refund after
  the account was closed, a late event) still find the version they belong to, and "what was
  deleted, and when" is a plain filter. A key that comes back later starts a new version at that
  time, so the ranges of a key stay contiguous from its first record: no gaps, ever. A deletion
  with nothing open (a key never seen, or already deleted) changes nothing;
* the surrogate key is a hash of the business key and ``valid_from``: the same version gets the
  same key whether it was built by a rebuild or by a merge, on any day, in any order, and on any
  engine (:func:`surrogate_key`: the first 60 bits of an MD5, which DuckDB and Spark compute
  alike; each engine's own ``hash`` differs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import ibis
import ibis.expr.types as ir

END_OF_TIME = datetime(9999, 12, 31)
#: ``valid_from`` of the reserved Unknown / Not applicable members and of inferred members.
BEGINNING_OF_TIME = datetime(1900, 1, 1)

_AT, _DEL, _ORD = "_scd_at", "_scd_deleted", "_scd_order"


#: Hex digits of the MD5 kept by :func:`surrogate_key`: 15 (60 bits), so the key is a positive
#: BIGINT on every engine, far from the reserved members' -1 and -2.
KEY_HEX_DIGITS = 15


def surrogate_key(*parts: ir.Value) -> ir.IntegerValue:
    """A deterministic integer key from values: the first 60 bits of the MD5 of their text.

    ``parts`` are cast to strings and joined with ``|``; both DuckDB and Spark print integers
    and timestamps the same way (``2025-01-01 04:30:00.123``), and both compute MD5, so a
    version gets the same key on either engine. The hex digits become an integer with plain
    arithmetic (no engine's ``conv`` or ``hex`` parsing): digit ``d`` is ``ascii - 48`` for
    ``0-9`` and ``ascii - 87`` for ``a-f``. Collisions: with n keys, about n^2 / 2^61 (for a
    million versions, 4e-7).
    """
    text = ibis.literal("|").join([p.cast("string") for p in parts])
    digest = text.hexdigest("md5")
    total = None
    for i in range(KEY_HEX_DIGITS):
        code = digest.substr(i, 1).ascii_str().cast("int64")
        digit = ibis.ifelse(code < 58, code - 48, code - 87)
        term = digit * ibis.literal(16 ** (KEY_HEX_DIGITS - 1 - i), type="int64")
        total = term if total is None else total + term
    return total


def _keys(key: str | Sequence[str]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


def changes_from_snapshots(
    snapshots: ir.Table,
    key: str | Sequence[str],
    attributes: Sequence[str],
    at: str = "snapshot_date",
) -> ir.Table:
    """Turn full daily snapshots into a change log.

    Every snapshot row becomes a record at its snapshot time (unchanged ones are dropped later by
    :func:`build_scd2`); a key present in one snapshot and missing from the next becomes a
    deletion at the next snapshot's time.
    """
    keys = _keys(key)
    rows = snapshots.select(
        *keys, *attributes, changed_at=snapshots[at].cast("timestamp")
    )
    dates = rows.select("changed_at").distinct()
    dates = dates.mutate(
        next_snapshot=dates.changed_at.lead().over(ibis.window(order_by="changed_at"))
    )
    rows = rows.mutate(
        next_seen=rows.changed_at.lead().over(
            ibis.window(group_by=keys, order_by="changed_at")
        )
    ).join(dates, "changed_at")
    present = rows.select(
        *keys, *attributes, "changed_at", is_deleted=ibis.literal(False)
    )
    gone = rows.filter(
        rows.next_snapshot.notnull()
        & (rows.next_seen.isnull() | (rows.next_seen != rows.next_snapshot))
    )
    deletions = gone.select(
        *keys, *attributes, changed_at=gone.next_snapshot, is_deleted=ibis.literal(True)
    )
    return present.union(deletions)


def _normalise(
    changes: ir.Table,
    keys: list[str],
    attributes: Sequence[str],
    at: str,
    deleted: str | None,
    order: str | None,
) -> ir.Table:
    return changes.select(
        *keys,
        *attributes,
        **{
            _AT: changes[at].cast("timestamp"),
            _DEL: changes[deleted].cast("boolean") if deleted else ibis.literal(False),
            _ORD: changes[order].cast("int64")
            if order
            else ibis.literal(0, type="int64"),
        },
    )


def _versions(
    events: ir.Table, keys: list[str], attributes: Sequence[str], sk: str
) -> ir.Table:
    """The SCD2 rows from normalised events (see the module's rules)."""
    # Several records of one key at one instant: keep the last arrival (ties: deletion, then
    # the attributes, so the result never depends on the engine's row order).
    latest_first = ibis.window(
        group_by=[*keys, _AT],
        order_by=[
            ibis.desc(_ORD),
            ibis.desc(_DEL),
            *[ibis.desc(a) for a in attributes],
        ],
    )
    events = events.mutate(_rank=ibis.row_number().over(latest_first))
    events = events.filter(events._rank == 0).drop("_rank")

    by_time = ibis.window(group_by=keys, order_by=_AT)
    # A deletion counts only right after a live record: one with nothing open, or a repeated
    # deletion, changes nothing. Dropping those in one pass keeps the first deletion of a run.
    # (Window values become columns before a filter reads them: Spark cannot filter on a window.)
    events = events.mutate(_prev_del=events[_DEL].lag().over(by_time))
    events = events.filter(
        ~events[_DEL] | (events._prev_del.notnull() & ~events._prev_del)
    )
    events = events.drop("_prev_del")
    # The deleted version keeps the last live attributes (the record before it is live).
    events = events.mutate(
        **{
            a: ibis.ifelse(events[_DEL], events[a].lag().over(by_time), events[a])
            for a in attributes
        }
    )
    same_as_previous = ibis.and_(
        events[_DEL].identical_to(events[_DEL].lag().over(by_time)),
        *[events[a].identical_to(events[a].lag().over(by_time)) for a in attributes],
    )
    events = events.mutate(_same=same_as_previous)
    kept = events.filter(~events._same).drop("_same")
    next_start = kept[_AT].lead().over(ibis.window(group_by=keys, order_by=_AT))
    valid_to = next_start.fill_null(ibis.literal(END_OF_TIME))
    return kept.select(
        surrogate_key(*[kept[k] for k in keys], kept[_AT]).name(sk),
        *keys,
        *attributes,
        valid_from=kept[_AT],
        valid_to=valid_to,
        is_current=next_start.isnull(),
        is_deleted=kept[_DEL],
    )


def build_scd2(
    changes: ir.Table,
    key: str | Sequence[str],
    attributes: Sequence[str],
    *,
    at: str = "changed_at",
    deleted: str | None = "is_deleted",
    order: str | None = None,
    sk: str = "sk",
) -> ir.Table:
    """Full rebuild: the whole Type 2 dimension from the whole change log.

    ``order`` names an arrival sequence; give it when two records of a key can share a time.
    """
    keys = _keys(key)
    events = _normalise(changes, keys, attributes, at, deleted, order)
    return _versions(events, keys, attributes, sk)


def merge_scd2(
    dim: ir.Table,
    changes: ir.Table,
    key: str | Sequence[str],
    attributes: Sequence[str],
    *,
    at: str = "changed_at",
    deleted: str | None = "is_deleted",
    order: str | None = None,
    sk: str = "sk",
    history: ir.Table | None = None,
) -> ir.Table:
    """Incremental merge: the dimension after applying one batch of change records.

    Keys not in the batch keep their rows untouched. The versions of keys in the batch are
    turned back into events (each version starts with a change, a deleted version with a
    deletion), joined with the new records, and replayed with the same rules as
    :func:`build_scd2`. New records win ties with old ones at the same instant.

    A record the dimension absorbed as "unchanged" leaves no trace in it. When a late record lands
    before such a record, only the change log knows the state came back: pass the earlier change
    records as ``history`` (the raw layer keeps them) and the merge equals a full rebuild for any
    arrival order. Without ``history`` it equals a rebuild whenever records arrive in time order.
    """
    keys = _keys(key)
    new = _normalise(changes, keys, attributes, at, deleted, order)
    types = new.schema()
    # A dimension read back from a database has TIMESTAMP(6) ranges, an empty one may be untyped:
    # align both with the change log so the union below type-checks.
    dim = dim.cast(
        {
            **{c: types[c] for c in [*keys, *attributes]},
            "valid_from": types[_AT],
            "valid_to": types[_AT],
        }
    )
    if (
        "is_deleted" not in dim.columns
    ):  # a dimension built before deletions were versions
        dim = dim.mutate(is_deleted=ibis.literal(False))
    touched = new.select(*keys).distinct()
    untouched = dim.join(touched, keys, how="anti")
    old = dim.join(touched, keys, how="semi")

    oldest = ibis.literal(-(2**62), type="int64")  # older than any new arrival
    was_deleted = old.is_deleted
    starts = old.select(
        *keys, *attributes, **{_AT: old.valid_from, _DEL: was_deleted, _ORD: oldest}
    )
    events = starts.union(new)
    if history is not None:
        past = _normalise(history, keys, attributes, at, deleted, order)
        events = events.union(past.join(touched, keys, how="semi"))
    replayed = _versions(events, keys, attributes, sk)
    untouched = untouched.cast(replayed.schema()).select(replayed.columns)
    return untouched.union(replayed)


def as_of_join(
    fact: ir.Table,
    dim: ir.Table,
    key: str | Sequence[str],
    at: str,
    columns: Sequence[str] | None = None,
    *,
    valid_from: str = "valid_from",
    valid_to: str = "valid_to",
) -> ir.Table:
    """Attach to each fact row the dimension version valid at ``fact[at]``.

    A left join on the business key and ``valid_from <= at < valid_to``. Because ranges of a key
    never overlap, every fact row matches at most one version: the fact's row count is preserved
    (rows with no valid version get nulls). ``columns`` picks the dimension columns to bring
    (default: all but the key and the validity columns).
    """
    keys = _keys(key)
    skip = {*keys, valid_from, valid_to, "is_current"}
    wanted = (
        list(columns)
        if columns is not None
        else [c for c in dim.columns if c not in skip]
    )
    clash = sorted(set(wanted) & set(fact.columns))
    if clash:
        raise ValueError(
            f"as_of_join: columns {clash} exist in both tables; rename one first"
        )
    right = dim.select(
        *[dim[k].name(f"_dim_{k}") for k in keys],
        dim[valid_from].name("_dim_from"),
        dim[valid_to].name("_dim_to"),
        *wanted,
    )
    at_value = fact[at].cast("timestamp")
    predicates = [fact[k] == right[f"_dim_{k}"] for k in keys]
    predicates += [right._dim_from <= at_value, at_value < right._dim_to]
    joined = fact.left_join(right, predicates)
    return joined.select(*fact.columns, *wanted)


def resolve_key(
    fact: ir.Table,
    dim: ir.Table,
    key: str | Sequence[str],
    at: str,
    sk: str,
    *,
    name: str | None = None,
    missing: int = -2,
    unmatched: int = -1,
) -> ir.Table:
    """Add the surrogate key of the version valid at ``fact[at]``, never NULL (DESIGN.md).

    The book's rule for a fact's foreign key: a NULL business key means the relationship does not
    apply and gets the Not applicable member (``missing``, -2); a business key with no version
    valid at the fact's time gets the Unknown member (``unmatched``, -1). Builds that know the
    key should create an inferred member first (:func:`add_inferred_members`), so that Unknown is
    left for keys that cannot be resolved at all. ``name`` is the fact's column (default ``sk``).
    """
    keys = _keys(key)
    target = name or sk
    joined = as_of_join(
        fact, dim.select(*keys, "valid_from", "valid_to", **{target: dim[sk]}), keys, at
    )
    key_missing = ibis.or_(*[joined[k].isnull() for k in keys])
    resolved = ibis.ifelse(
        key_missing,
        ibis.literal(missing, type="int64"),
        joined[target].cast("int64").fill_null(ibis.literal(unmatched, type="int64")),
    )
    return joined.mutate(**{target: resolved})


def add_inferred_members(
    dim: ir.Table,
    seen: ir.Table,
    key: str | Sequence[str],
    sk: str,
    *,
    label: str = "Unknown",
) -> ir.Table:
    """Add an inferred member for every business key in ``seen`` that ``dim`` lacks.

    Kimball's late-arriving dimension: a fact names a customer, product or zone whose record has
    not arrived. Rather than drop the fact or file it under Unknown, the build creates a row for
    that key, valid for all time, with string attributes ``label``, other attributes NULL, and
    ``is_inferred`` true, so the fact keeps its key and its row. Existing rows get
    ``is_inferred`` false. The inferred row's surrogate key hashes the key and
    ``BEGINNING_OF_TIME``, so a rebuild gives it the same key; where the business key is the
    dimension's key (``sk`` names a key column, as in a type 1 dimension), it is kept as is.
    """
    keys = _keys(key)
    if "is_inferred" not in dim.columns:
        dim = dim.mutate(is_inferred=ibis.literal(False))
    missing = seen.select(*keys).distinct().anti_join(dim, keys)
    start = ibis.literal(BEGINNING_OF_TIME)
    fill = {}
    for column, dtype in dim.schema().items():
        if column in keys or column == sk:
            continue
        if column == "valid_from":
            fill[column] = start.cast(dtype)
        elif column == "valid_to":
            fill[column] = ibis.literal(END_OF_TIME).cast(dtype)
        elif column in ("is_current", "is_inferred"):
            fill[column] = ibis.literal(True)
        elif column == "is_deleted":
            fill[column] = ibis.literal(False)
        elif dtype.is_string():
            fill[column] = ibis.literal(label)
        else:
            fill[column] = ibis.null(dtype)
    key_columns = {k: missing[k] for k in keys}
    if (
        sk not in keys
    ):  # a type 2 dimension: the version key hashes the key and its start
        key_columns[sk] = surrogate_key(*[missing[k] for k in keys], start).cast(
            dim.schema()[sk]
        )
    inferred = missing.select(**key_columns, **fill)
    return dim.union(inferred.select(dim.columns))
