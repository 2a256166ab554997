"""A password planted in the database URL never shows: not in messages, reprs or tracebacks.

Each URL is planted through every way a URL reaches signalgraph (the --database-url
flag, SIGNALGRAPH_DATABASE_URL, signalgraph.toml, `signalgraph.connect(url=...)`), and
everything printed or raised is searched for the password in any spelling.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.engine import make_url

import signalgraph
from signalgraph.errors import SignalgraphError
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

PLANTED = "PLANTED-s3cr3t"
EVERY_BYTE_ENCODED = "".join(f"%{byte:02X}" for byte in PLANTED.encode())
# The spellings a leak could take: as written, %-encoded as a URL renders it, every byte
# %-encoded as a user may write it; the core word catches partial leaks.
SPELLINGS = ("s3cr3t", quote(PLANTED, safe=""), EVERY_BYTE_ENCODED, "%73%33%63%72%33%74")

UNPARSEABLE = {
    "port not a number": f"postgresql://postgres:{PLANTED}@localhost:5432x/db",
    "unclosed IPv6 bracket": f"postgresql://postgres:{PLANTED}@[::1/db",
    "space in the scheme": f"postgres ql://postgres:{PLANTED}@localhost/db",
    "no host: password read as the port": f"postgresql://postgres:{PLANTED}/db",
    "unencoded @ in the password": f"postgresql://postgres:x@{PLANTED}@localhost/db",
    "odd characters": f"postgresql://postgres:{PLANTED}%ZZ:[]/@@/db?x=%",
    "no scheme": f"postgres:{PLANTED}@localhost/db",
    "port parameter not a number": f"postgresql://postgres@localhost/db?password={PLANTED}&port=x",
}
NOT_POSTGRES = {"another database": f"mysql://root:{PLANTED}@localhost/db"}
UNREACHABLE = {
    "password in the user info": f"postgresql://postgres:{PLANTED}@127.0.0.1:1/db",
    "password in the query": f"postgresql://postgres@127.0.0.1:1/db?password={PLANTED}",
    "sslpassword in the query": f"postgresql://postgres@127.0.0.1:1/db?sslpassword={PLANTED}",
    "every byte %-encoded": f"postgresql://postgres:{EVERY_BYTE_ENCODED}@127.0.0.1:1/db",
    "odd characters in the password": (
        f"postgresql://postgres:{PLANTED}%20%3A%2F%40%25%23@127.0.0.1:1/db"
    ),
    "host that does not resolve": f"postgresql://postgres:{PLANTED}@signalgraph-test.invalid/db",
}
EVERY_URL = {**UNPARSEABLE, **NOT_POSTGRES, **UNREACHABLE}
COMMANDS = (("db", "check"), ("--debug", "workspace", "list"), ("config", "show", "--json"))


def leaked(text: str) -> list[str]:
    """Return the spellings of the planted password found in `text`."""
    lowered = text.lower()
    return [spelling for spelling in SPELLINGS if spelling.lower() in lowered]


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Yield str, repr and the formatted traceback of `exc` and of every exception behind it,
    including the context a `raise ... from None` hides from tracebacks."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield "".join(traceback.format_exception(current))
        pending.extend([current.__cause__, current.__context__])


def expected_failure(url: str) -> tuple[int, str]:
    """Return the exit code and message a command needing the database must fail with."""
    if url in UNPARSEABLE.values():
        return 2, "is not a URL"
    if url in NOT_POSTGRES.values():
        return 2, "which is not PostgreSQL"
    return 1, "cannot reach PostgreSQL"


def plant(how: str, url: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Put `url` where `how` says and return the global options that go with it."""
    if how == "flag":
        return ["--database-url", url]
    if how == "env":
        monkeypatch.setenv("SIGNALGRAPH_DATABASE_URL", url)
        return []
    assert "'" not in url
    assert "\n" not in url
    Path("signalgraph.toml").write_text(f"database_url = '{url}'\n", encoding="utf-8")
    return []


@pytest.mark.parametrize("how", ["flag", "env", "file"])
@pytest.mark.parametrize("url", EVERY_URL.values(), ids=list(EVERY_URL))
def test_no_command_shows_a_planted_password(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, how: str, url: str
) -> None:
    monkeypatch.setenv("SIGNALGRAPH_CONNECT_TIMEOUT", "2")
    options = plant(how, url, monkeypatch)
    code, message = expected_failure(url)
    for command in COMMANDS:
        result = cli(*options, *command)
        shown = result.stdout + result.stderr
        assert not leaked(shown), (command, shown)
        if "config" in command:  # needs no database: shows the URL, masked
            assert result.exit_code == 0, (command, shown)
            assert "database_url" in result.stdout
            continue
        assert result.exit_code == code, (command, shown)
        assert message in result.stderr, (command, shown)
        if command[:2] == ("--debug", "workspace"):
            assert "Traceback" in result.stderr  # so the traceback itself was searched


@pytest.mark.parametrize("url", EVERY_URL.values(), ids=list(EVERY_URL))
def test_the_library_shows_no_planted_password(url: str) -> None:
    client = signalgraph.connect(url=url, connect_timeout=2)
    shown = [repr(client), str(client), repr(client.settings), str(client.settings)]
    with pytest.raises(SignalgraphError) as raised:
        client.workspaces.list()
    shown.extend(exception_texts(raised.value))
    if url in UNREACHABLE.values():
        shown.append(repr(client.engine))
    client.close()
    found = [(text, leaked(text)) for text in shown if leaked(text)]
    assert not found
    assert expected_failure(url)[1] in str(raised.value)


def test_config_show_masks_every_password_and_keeps_the_rest(cli: Cli) -> None:
    url = f"postgresql://intel:{PLANTED}@db.internal:6543/intel?sslpassword={PLANTED}&x=1"
    shown = cli("--database-url", url, "config", "show", "--json")
    rows = {row["name"]: row for row in shown.json()["settings"]}  # type: ignore[index]
    assert rows["database_url"]["value"] == (
        "postgresql://intel:***@db.internal:6543/intel?sslpassword=***&x=1"
    )
    assert rows["database_url"]["origin"] == "flag"


@pytest.mark.parametrize(
    "content",
    [
        f"database_url = 'postgresql://postgres:{PLANTED}@localhost/db\n",  # unterminated
        f"database_url = ['postgresql://postgres:{PLANTED}@localhost/db']\n",  # not text
        f"database_ur = 'postgresql://postgres:{PLANTED}@localhost/db'\n",  # misspelt key
    ],
    ids=["not TOML", "wrong type", "unknown key"],
)
def test_a_broken_config_file_is_reported_without_its_password(
    cli: Cli, tmp_path: Path, content: str
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(content, encoding="utf-8")
    for debug in ([], ["--debug"]):
        result = cli(*debug, "--config", str(config), "db", "check")
        assert result.exit_code == 2, result.stderr
        assert re.search(r"not valid TOML|database_url|database_ur", result.stderr)
        assert not leaked(result.stdout + result.stderr), result.stderr


def test_a_reachable_server_shows_no_password(cli: Cli, database_url: str) -> None:
    # The test server trusts local connections, so a planted password is accepted.
    url = make_url(database_url).set(password=PLANTED).render_as_string(hide_password=False)
    for command in (("db", "check"), ("db", "info", "--json"), ("db", "connections", "--json")):
        result = cli("--database-url", url, *command)
        assert result.exit_code == 0, result.stderr
        assert not leaked(result.stdout + result.stderr), (command, result.stdout)
    wrong_role = make_url(url).set(username="nobody_here").render_as_string(hide_password=False)
    result = cli("--debug", "--database-url", wrong_role, "db", "check")
    assert result.exit_code == 1
    assert "nobody_here" in result.stderr
    assert not leaked(result.stdout + result.stderr), result.stderr
