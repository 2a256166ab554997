"""Monthly partitions of signals, mentions and revisions, kept in lockstep.

The three tables are range-partitioned on the signal id, a UUIDv7 whose time part is the
published time, so one month is the same id range in each. Ingest creates the months it
needs; rows for months outside the window (absurd dates) go to the default partitions.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection

from signalgraph.db.months import (
    DefaultPartitionInTheWay,
    attach_partition,
    create_month,
    month_bounds,
    month_of,
    next_month,
    partition_name,
    tune_statistics,
)
from signalgraph.errors import SignalgraphError, UsageError
from signalgraph.ids import utcnow, uuid7_time
from signalgraph.schema import PARTITIONED_TABLES

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope

# The column each partitioned table is partitioned on.
PARTITION_KEYS = {"signal": "id", "mention": "signal_id", "signal_revision": "signal_id"}
_MONTH_NAME = re.compile(r"^(?P<table>[a-z_]+?)_p(?P<year>\d{4})(?P<month>\d{2})$")
FIRST_MONTH = (1970, 1)


def month_for_id(signal_id: uuid.UUID) -> tuple[int, int]:
    """Return the partition month an id belongs to."""
    return month_of(uuid7_time(signal_id))


@dataclass(frozen=True)
class PartitionInfo:
    """One partition of the signal table and its lockstep siblings."""

    name: str
    month: str | None
    range_from: datetime | None
    range_to: datetime | None
    rows: int
    bytes: int
    size: str
    mentions: int

    def as_dict(self) -> dict[str, Any]:
        """Return the partition as a plain dict."""
        return asdict(self)


def _sql(template: str, *identifiers: str) -> sa.TextClause:
    """Return a statement whose `{}` placeholders are table or column names, quoted by psycopg.

    Only the names of signalgraph's own tables and columns are passed here; values travel
    as `:name` parameters.
    """
    return sa.text(
        sql.SQL(template).format(*(sql.Identifier(name) for name in identifiers)).as_string(None)
    )


def _attached(connection: Connection, table: str) -> list[str]:
    rows = connection.execute(
        sa.text(
            """
            SELECT c.relname FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = p.relnamespace
            WHERE p.relname = :table AND n.nspname = current_schema()
            ORDER BY c.relname
            """
        ),
        {"table": table},
    ).scalars()
    return list(rows)


def existing_months(connection: Connection) -> set[tuple[int, int]]:
    """Return the months that have a signal partition."""
    months = set()
    for name in _attached(connection, "signal"):
        found = _MONTH_NAME.match(name)
        if found:
            months.add((int(found["year"]), int(found["month"])))
    return months


# Columns whose statistics need a larger sample than the default: the search vector's
# word frequencies decide between walking newest first and a full-text index scan.
STATISTICS_TARGETS = {"signal": (("search", 1000),)}


def _create_month(connection: Connection, year: int, month: int) -> bool:
    """Create one month's partitions; return False when the default partition is in the way."""
    for table in PARTITIONED_TABLES:
        try:
            create_month(
                connection, table, year, month, statistics=STATISTICS_TARGETS.get(table, ())
            )
        except DefaultPartitionInTheWay:
            return False
    return True


@dataclass
class _Months:
    """What this process knows of the signal partitions of one database."""

    known: set[tuple[int, int]] | None = None
    blocked: set[tuple[int, int]] = field(default_factory=set)


class Partitions:
    """Create, list, move and detach the monthly partitions."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        # Months known to have partitions, and months that cannot have one (rows for them
        # sit in the default partition): kept on the scope, for every user of the database.
        self._months: _Months = scope.done.setdefault("signal_months", _Months())

    def window(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Return the first and last month ingest creates partitions for."""
        now = utcnow()
        return FIRST_MONTH, (now.year + self._scope.settings.partition_future_years, 12)

    def ensure_for(self, months: set[tuple[int, int]]) -> list[str]:
        """Make sure each month in the window has its partitions; return the ones created."""
        first, last = self.window()
        wanted = {m for m in months if first <= m <= last}
        if self._months.known is None:
            with self._scope.engine.connect() as connection:
                self._months.known = existing_months(connection)
        missing = sorted(wanted - self._months.known - self._months.blocked)
        created = []
        for year, month in missing:
            with self._scope.engine.begin() as connection:
                # Partition DDL runs in its own short transaction, never inside a batch.
                if _create_month(connection, year, month):
                    created.append(f"{year:04d}-{month:02d}")
                    self._months.known.add((year, month))
                else:
                    self._months.blocked.add((year, month))
        return created

    def ensure_range(self, start: date, end: date) -> list[str]:
        """Create the partitions of every month from start to end (inclusive)."""
        if end < start:
            raise UsageError(f"--to {end} is before --from {start}")
        if start.year < FIRST_MONTH[0]:
            raise UsageError("partitions start in 1970 (UUIDv7 time begins there)")
        months = []
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            months.append((year, month))
            year, month = next_month(year, month)
        if len(months) > 1200:
            raise UsageError(f"{len(months)} months is more than 100 years; give a shorter range")
        created = []
        for year, month in months:
            with self._scope.engine.begin() as connection:
                if (year, month) in existing_months(connection):
                    continue
                if not _create_month(connection, year, month):
                    raise SignalgraphError(
                        f"rows for {year:04d}-{month:02d} are in the default partition",
                        hint="run `signalgraph db partitions move-default` first",
                    )
                created.append(f"{year:04d}-{month:02d}")
        self._months.known = None
        return created

    def list(self, *, exact: bool = False) -> list[PartitionInfo]:
        """Return every signal partition (default included) with its rows and size."""
        with self._scope.engine.connect() as connection:
            self._scope.require_schema(connection)
            names = _attached(connection, "signal")
            infos = []
            for name in names:
                infos.append(self._describe(connection, name, exact=exact))
        return infos

    def _describe(self, connection: Connection, name: str, *, exact: bool) -> PartitionInfo:
        found = _MONTH_NAME.match(name)
        month = None
        range_from = range_to = None
        if found:
            year, number = int(found["year"]), int(found["month"])
            month = f"{year:04d}-{number:02d}"
            range_from = datetime(year, number, 1, tzinfo=UTC)
            end_year, end_month = next_month(year, number)
            range_to = datetime(end_year, end_month, 1, tzinfo=UTC) if end_year <= 9999 else None
        mention_name = name.replace("signal_", "mention_", 1)
        if exact:
            rows = connection.execute(_sql("SELECT count(*) FROM {}", name)).scalar_one()
            mentions = connection.execute(
                _sql("SELECT count(*) FROM {}", mention_name)
            ).scalar_one()
        else:
            rows, mentions = connection.execute(
                sa.text(
                    "SELECT greatest(a.reltuples, 0)::bigint, greatest(b.reltuples, 0)::bigint "
                    "FROM pg_class a, pg_class b "
                    "WHERE a.oid = to_regclass(:a) AND b.oid = to_regclass(:b)"
                ),
                {"a": name, "b": mention_name},
            ).one()
        size = connection.execute(
            sa.text("SELECT pg_total_relation_size(to_regclass(:n))"), {"n": name}
        ).scalar_one()
        from signalgraph.db.admin import pretty_size

        return PartitionInfo(
            name=name,
            month=month,
            range_from=range_from,
            range_to=range_to,
            rows=int(rows),
            bytes=int(size or 0),
            size=pretty_size(int(size or 0)) or "0 B",
            mentions=int(mentions),
        )

    def move_default(self) -> dict[str, Any]:
        """Move every row out of the default partitions into monthly ones, verifying counts."""
        moved: dict[str, int] = {}
        months_done: set[str] = set()
        with self._scope.engine.begin() as connection:
            self._scope.require_schema(connection)
            before = {t: _count(connection, t) for t in PARTITIONED_TABLES}
            months: set[tuple[int, int]] = set()
            for table in PARTITIONED_TABLES:
                months.update(_months_in(connection, f"{table}_default", PARTITION_KEYS[table]))
            # Every month gets all three partitions, so the tables stay in lockstep.
            for year, month in sorted(months):
                for table in PARTITIONED_TABLES:
                    count = _move_month(connection, table, PARTITION_KEYS[table], year, month)
                    moved[table] = moved.get(table, 0) + count
                months_done.add(f"{year:04d}-{month:02d}")
            after = {t: _count(connection, t) for t in PARTITIONED_TABLES}
            left = {t: _count(connection, f"{t}_default") for t in PARTITIONED_TABLES}
            if before != after:
                raise SignalgraphError(
                    f"row counts changed while moving ({before} before, {after} after); "
                    "nothing was moved"
                )
        self._months.known = None
        return {
            "moved": moved,
            "months": sorted(months_done),
            "rows_before": before,
            "rows_after": after,
            "left_in_default": left,
            "verified": True,
        }

    def detach_before(self, before: date) -> dict[str, Any]:
        """Detach (and rename) every monthly partition that ends on or before `before`."""
        cutoff = (before.year, before.month)
        detached: list[str] = []
        forgotten = 0
        with self._scope.engine.begin() as connection:
            self._scope.require_schema(connection)
            for year, month in sorted(existing_months(connection)):
                if (year, month) >= cutoff:
                    continue
                for table in PARTITIONED_TABLES:
                    name = partition_name(table, year, month)
                    target = _free_name(connection, f"{table}_detached_p{year:04d}{month:02d}")
                    connection.execute(_sql("ALTER TABLE {} DETACH PARTITION {}", table, name))
                    connection.execute(_sql("ALTER TABLE {} RENAME TO {}", name, target))
                    detached.append(target)
                low, high = month_bounds(year, month)
                # Keys, fingerprints and the moved list hold live signals only; drop theirs.
                bounds = {"low": low, "high": high}
                for table in ("fingerprint", "signal_moved"):
                    connection.execute(
                        _sql("DELETE FROM {} WHERE signal_id >= :low AND signal_id < :high", table),
                        bounds,
                    )
                # Links into the month wait again (dangling) for their target to come back;
                # links from it go with its keys (ON DELETE CASCADE).
                connection.execute(sa.text(UNRESOLVE_LINKS_INTO_RANGE), bounds)
                removed = connection.execute(sa.text(FORGET_KEYS_IN_RANGE), bounds).rowcount
                forgotten += removed
        self._months.known = None
        return {"detached": detached, "keys_removed": forgotten}


FORGET_KEYS_IN_RANGE = "DELETE FROM signal_key WHERE signal_id >= :low AND signal_id < :high"

UNRESOLVE_LINKS_INTO_RANGE = """
UPDATE signal_link SET status = 'dangling', target_signal_id = NULL, resolution = NULL,
    resolved_by = NULL, resolved_at = NULL, updated_at = now()
WHERE target_signal_id >= :low AND target_signal_id < :high
"""


def _free_name(connection: Connection, wanted: str) -> str:
    """Return `wanted`, or `wanted_2`, `_3`… when a month was detached before."""
    name, suffix = wanted, 1
    while connection.execute(sa.text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar():
        suffix += 1
        name = f"{wanted}_{suffix}"
    return name


def _count(connection: Connection, table: str) -> int:
    return int(connection.execute(_sql("SELECT count(*) FROM {}", table)).scalar_one())


# The months of a table's rows: the first 48 bits of a UUIDv7 are Unix milliseconds.
_MONTHS_IN = """
SELECT DISTINCT date_trunc('month', to_timestamp(
           ('x' || substr(replace({}::text, '-', ''), 1, 12))::bit(48)::bigint
           / 1000.0) AT TIME ZONE 'UTC') AS month
FROM {} ORDER BY 1
"""


def _months_in(connection: Connection, table: str, key: str) -> list[tuple[int, int]]:
    rows = connection.execute(_sql(_MONTHS_IN, key, table)).scalars()
    return [(m.year, m.month) for m in rows]


_LIKE = (
    "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
    "INCLUDING GENERATED)"
)
_STORED_COLUMNS = """
SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)
  AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum
"""
_IN_RANGE = "{key} >= :low AND (CAST(:high AS uuid) IS NULL OR {key} < :high)"
# The DELETE of a move fires the default partition's row trigger and unlists the moved
# rows' re-dated signals; the copy and the attach fire none. They are listed again.
_RELIST_MOVED = """
INSERT INTO signal_moved (workspace_id, signal_id, published_at)
SELECT workspace_id, id, published_at FROM {} WHERE NOT signal_in_place(id, published_at)
ON CONFLICT (workspace_id, signal_id) DO UPDATE SET published_at = excluded.published_at
"""


def _move_month(connection: Connection, table: str, key: str, year: int, month: int) -> int:
    low, high = month_bounds(year, month)
    name = partition_name(table, year, month)
    default = f"{table}_default"
    bounds = {"low": low, "high": high}
    attached = name in _attached(connection, table)
    if attached:  # cannot happen for well-formed data, but never lose rows if it does
        raise SignalgraphError(f"{name} exists while {default} holds rows for its month")
    connection.execute(_sql(_LIKE, name, table))
    # Generated columns (the search vector) are computed again, not copied.
    stored = list(connection.execute(sa.text(_STORED_COLUMNS), {"t": table}).scalars())
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in stored)
    in_range = sql.SQL(_IN_RANGE).format(key=sql.Identifier(key))
    copy = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {}").format(
        sql.Identifier(name), columns, columns, sql.Identifier(default), in_range
    )
    copied = connection.execute(sa.text(copy.as_string(None)), bounds).rowcount
    remove = sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(default), in_range)
    deleted = connection.execute(sa.text(remove.as_string(None)), bounds).rowcount
    if copied != deleted:
        raise SignalgraphError(f"moving {name}: copied {copied} rows but removed {deleted}")
    attach_partition(connection, table, name, year, month)
    if table == "signal":
        connection.execute(_sql(_RELIST_MOVED, name))
    tune_statistics(connection, name, STATISTICS_TARGETS.get(table, ()))
    return int(copied)
