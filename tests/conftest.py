"""Test harness: a real PostgreSQL server, a migrated template database, a clone per test.

The server is the embedded one (a private cluster for tests) unless
SIGNALGRAPH_TEST_DATABASE_URL names another; xdist workers share it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

import signalgraph
from signalgraph.client import SignalGraph

TEST_URL_ENV = "SIGNALGRAPH_TEST_DATABASE_URL"
PACKAGE_DIR = Path(signalgraph.__file__).parent
TEMPLATE_LOCK = 0x5167_7E57


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """Return `url` pointing at another database on the same server."""
    return _plain(make_url(url).set(database=database).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def server_url() -> str:
    """Return an admin URL on the test server (starting the embedded one if needed)."""
    given = os.environ.get(TEST_URL_ENV)
    if given:
        return _plain(given)
    from signalgraph.embedded import EmbeddedServer

    home = Path(
        os.environ.get("SIGNALGRAPH_TEST_HOME")
        or Path(platformdirs.user_cache_dir("signalgraph", appauthor=False)) / "test-server"
    )
    return EmbeddedServer(home).ensure()


def _schema_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((PACKAGE_DIR / "db" / "migrations").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def template_name(server_url: str) -> str:
    """Return the name of a database migrated to head, made once per schema version."""
    name = f"sg_template_{_schema_digest()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                building = f"{name}_building"
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(building)
                    )
                )
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                client = signalgraph.connect(url=with_database(server_url, building))
                try:
                    from signalgraph.db.migrate import upgrade

                    upgrade(client.engine)
                finally:
                    client.close()
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(name)
                    )
                )
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))
    return name


@dataclass
class DatabaseFactory:
    """Creates throw-away databases on the test server and drops them afterwards."""

    server_url: str
    template: str
    created: list[str]

    def clone(self) -> str:
        """Return the URL of a fresh copy of the migrated template."""
        return self._create(self.template)

    def empty(self) -> str:
        """Return the URL of a new database with no signalgraph schema."""
        return self._create("template0")

    def _create(self, template: str) -> str:
        name = f"sg_test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        self.created.append(name)
        return with_database(self.server_url, name)

    def drop_all(self) -> None:
        """Drop every database this factory made."""
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            for name in self.created:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


@pytest.fixture
def databases(server_url: str, template_name: str) -> Iterator[DatabaseFactory]:
    """Yield a factory of throw-away databases."""
    factory = DatabaseFactory(server_url, template_name, [])
    yield factory
    factory.drop_all()


@pytest.fixture
def database_url(databases: DatabaseFactory) -> str:
    """Return the URL of a fresh database at the schema head."""
    return databases.clone()


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the user's configuration, home and current directory."""
    for key in list(os.environ):
        if key.startswith("SIGNALGRAPH_") and key not in {TEST_URL_ENV, "SIGNALGRAPH_TEST_HOME"}:
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SIGNALGRAPH_HOME", str(home))
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


@pytest.fixture
def sg(database_url: str) -> Iterator[SignalGraph]:
    """Yield a client on a fresh database, bound to the default workspace."""
    client = signalgraph.connect(url=database_url, pool_size=2, max_overflow=2)
    yield client
    client.close()


@dataclass
class CliResult:
    """What one CLI invocation printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        """Parse stdout as JSON."""
        import orjson

        return orjson.loads(self.stdout)


@pytest.fixture
def cli(capfd: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Return a function that runs the real CLI entry point in-process."""
    from signalgraph.cli import main

    def run(*args: str) -> CliResult:
        capfd.readouterr()
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capfd.readouterr()
        return CliResult(code, out, err)

    return run


def console_script() -> Path:
    """Return the installed `signalgraph` console script next to this interpreter."""
    return Path(sys.executable).parent / "signalgraph"
