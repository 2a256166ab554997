"""Schema history: Alembic migrations shipped inside the package, driven programmatically."""

from __future__ import annotations

import ast
import functools
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from signalgraph.errors import SchemaError, UsageError
from signalgraph.schema import SCHEMA

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

PARTITION_NAME = re.compile(r"_(p\d{6}|default|detached_p\d{6}(_\d+)?)$")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
# Alembic keeps the running migration context in module globals: one at a time per process.
_ALEMBIC_GLOBALS = threading.Lock()
# Serialises concurrent `db upgrade` runs; the transactional DDL is the real guard.
MIGRATION_LOCK_KEY = 0x5167_0001


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    """Return the packaged migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


_HEADER_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


@functools.cache
def packaged_revisions() -> dict[str, tuple[str, ...]]:
    """Return {revision: the revisions it follows}, read from the migration scripts' headers.

    Every command checks the schema against the head; reading two lines per script spares
    it importing Alembic (and Mako, and Pygments), which costs more than the check.
    tests/migration checks this agrees with Alembic's own reading.
    """
    revisions: dict[str, tuple[str, ...]] = {}
    for script in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        header = dict(_HEADER_LINE.findall(script.read_text(encoding="utf-8")))
        if "revision" not in header:
            continue
        down = ast.literal_eval(header.get("down_revision", "None"))
        follows = () if down is None else (down,) if isinstance(down, str) else tuple(down)
        revisions[ast.literal_eval(header["revision"])] = follows
    return revisions


def head_revision() -> str:
    """Return the single head revision of the packaged migrations."""
    revisions = packaged_revisions()
    followed = {down for downs in revisions.values() for down in downs}
    heads = [revision for revision in revisions if revision not in followed]
    if len(heads) != 1:  # pragma: no cover - the package ships one line of migrations
        raise SchemaError(f"the packaged migrations have {len(heads)} heads, not one")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """Return the database's schema revision, or None when it has no signalgraph schema."""
    exists = connection.execute(
        sa.text("SELECT to_regclass(:name) IS NOT NULL"),
        {"name": f"{SCHEMA}.{VERSION_TABLE}"},
    ).scalar_one()
    if not exists:
        return None
    return connection.execute(
        sa.text("SELECT version_num FROM signalgraph.alembic_version")
    ).scalar_one_or_none()


@dataclass(frozen=True)
class SchemaState:
    """Where the database schema stands relative to this code."""

    current: str | None
    head: str
    state: str  # "missing", "behind", "at_head" or "unknown" (newer than this code)

    @property
    def at_head(self) -> bool:
        """Return True when the schema matches this code."""
        return self.state == "at_head"

    def as_dict(self) -> dict[str, Any]:
        """Return the state as a plain dict."""
        return asdict(self) | {"at_head": self.at_head}

    def problem(self) -> SchemaError | None:
        """Return the error to raise when the schema cannot be used, or None."""
        if self.state == "missing":
            return SchemaError(
                "the database has no signalgraph schema",
                hint="run `signalgraph db upgrade` to create it",
            )
        if self.state == "behind":
            return SchemaError(
                f"the database schema is at revision {self.current}, this code needs {self.head}",
                hint="run `signalgraph db upgrade`",
            )
        if self.state == "unknown":
            return SchemaError(
                f"the database schema is at revision {self.current}, which this version of "
                f"signalgraph does not know (it is newer, or from another branch)",
                hint="upgrade signalgraph, or downgrade the database with the newer version",
            )
        return None


def schema_state(connection: Connection) -> SchemaState:
    """Compare the database's revision with the packaged head."""
    head = head_revision()
    current = current_revision(connection)
    if current is None:
        return SchemaState(current=None, head=head, state="missing")
    if current == head:
        return SchemaState(current=current, head=head, state="at_head")
    known = current in packaged_revisions()
    return SchemaState(current=current, head=head, state="behind" if known else "unknown")


def require_head(connection: Connection) -> None:
    """Raise a SchemaError unless the schema is exactly at this code's head."""
    problem = schema_state(connection).problem()
    if problem is not None:
        raise problem


def _check_target(revision: str) -> None:
    if revision in {"head", "base"} or revision.startswith(("+", "-")):
        return
    scripts = script_directory()
    try:
        scripts.get_revision(revision)
    except Exception as exc:
        known = ", ".join(r.revision for r in scripts.walk_revisions())
        raise UsageError(
            f"unknown revision {revision!r}", hint=f"known revisions: {known}"
        ) from exc


def _lock_schema(connection: Connection) -> None:
    """Wait for any other process changing the schema, then hold the lock until commit."""
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the schema to `revision`; return (before, after)."""
    _check_target(revision)
    with _ALEMBIC_GLOBALS, engine.begin() as connection:
        # Rewriting or indexing a big table takes what it takes: no statement time limit.
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        _lock_schema(connection)
        before = current_revision(connection)
        state = schema_state(connection)
        if state.state == "unknown":
            problem = state.problem()
            assert problem is not None
            raise problem
        from alembic import command

        command.upgrade(alembic_config(connection), revision)
        after = current_revision(connection)
        if connection.execute(sa.text("SELECT to_regclass('audit_event')")).scalar():
            from signalgraph.db.months import ensure_audit_months

            ensure_audit_months(connection)
    return before, after


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Downgrade the schema to `revision` ('base' removes every table); return (before, after)."""
    _check_target(revision)
    with _ALEMBIC_GLOBALS, engine.begin() as connection:
        # Rewriting or indexing a big table takes what it takes: no statement time limit.
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        _lock_schema(connection)
        before = current_revision(connection)
        if before is None:
            raise SchemaError("the database has no signalgraph schema to downgrade")
        from alembic import command

        command.downgrade(alembic_config(connection), revision)
        after = current_revision(connection)
    return before, after


def history() -> list[dict[str, Any]]:
    """Return every packaged revision, oldest first."""
    scripts = script_directory()
    head = scripts.get_current_head()
    revisions = list(scripts.walk_revisions())
    revisions.reverse()
    return [
        {
            "revision": rev.revision,
            "down_revision": rev.down_revision,
            "message": (rev.doc or "").strip(),
            "head": rev.revision == head,
        }
        for rev in revisions
    ]


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Tell autogenerate which database objects belong to the models."""
    if type_ == "table" and name == VERSION_TABLE:
        return False
    # Partitions are created at run time by the code, not declared in the models.
    return not (
        type_ == "table"
        and reflected
        and compare_to is None
        and PARTITION_NAME.search(name or "") is not None
    )


def compare_with_models(connection: Connection) -> list[Any]:
    """Return the differences autogenerate finds between the database and the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from signalgraph.schema import metadata

    context = MigrationContext.configure(
        connection,
        opts={"include_object": include_object, "compare_type": True},
    )
    return list(compare_metadata(context, metadata))
