"""Every list command prints one JSON shape: {"items": [...], "next_cursor": cursor or null}."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer.main

from signalgraph.cli import app
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

# Each list command with the arguments that make it list something in the populated
# workspace ({entity}: an entity with facts and relations, {signal}: a signal id).
LIST_COMMANDS: dict[str, tuple[str, ...]] = {
    "workspace list": (),
    "source list": (),
    "runs list": (),
    "signals list": (),
    "signals search": ("acquires",),
    "signals duplicates": (),
    "rejects list": (),
    "entities list": (),
    "entities search": ("--type", "company"),
    "entities types": (),
    "review list": (),
    "flags list": (),
    "audit list": (),
    "lists": (),
    "lists list": (),
    "lists show": ("Deal flow",),
    "annotations fields": (),
    "facts properties": (),
    "facts history": ("{entity}", "headcount"),
    "facts series": ("headcount",),
    "facts percentile": ("momentum_score",),
    "facts match": ("headcount > 0",),
    "relations list": ("{entity}",),
    "links list": (),
    "db partitions list": (),
    "db history": (),
    "db stats": (),
    "db indexes": (),
    "db connections": (),
}
# Keys a listing prints beside the two, as docs/operations.md ("JSON output") says.
EXTRA_KEYS = {"lists show": {"list"}}
# Commands that look like listings but print something else, and why.
NOT_LISTS = {
    "db query": "a result set: columns, rows, whether it was cut, and the status",
    "entities clusters": "writes NDJSON or CSV lines, has no --json",
}


def _leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name, child in getattr(command, "commands", {}).items():
        yield " ".join((*path, name)), child
        yield from _leaves(child, (*path, name))


COMMANDS = dict(_leaves(typer.main.get_command(app)))


def _options(command: Any) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", ())}


def _looks_like_a_listing(path: str, command: Any) -> bool:
    if getattr(command, "commands", None):
        return False  # a group ("List and show runs"); `lists` alone is named above
    return (
        path.rsplit(maxsplit=1)[-1] == "list"
        or (command.help or "").startswith("List")
        or bool(_options(command) & {"--limit", "--cursor"})
    )


def test_the_list_commands_named_here_are_every_listing_of_the_app() -> None:
    assert set(LIST_COMMANDS) | set(NOT_LISTS) <= set(COMMANDS)
    unnamed = {
        path
        for path, command in COMMANDS.items()
        if _looks_like_a_listing(path, command) and path not in LIST_COMMANDS | NOT_LISTS
    }
    assert unnamed == set(), "add these to LIST_COMMANDS (or NOT_LISTS, saying why)"


def _populate(cli: Cli, base: list[str], tmp_path: Path) -> dict[str, str]:
    def ok(*args: str) -> Any:
        result = cli(*base, *args)
        assert result.exit_code == 0, (args, result.stderr)
        return result.json() if result.stdout.lstrip().startswith(("{", "[")) else None

    ok("demo", "--json")
    demo = [*base, "-w", "demo"]
    base[:] = demo
    # The demo has no review item, flag, custom field or link: add one of each kind.
    records = tmp_path / "vendor.ndjson"
    records.write_text(
        json.dumps({"external_id": "v2", "type": "company", "name": "Helix Therapeutics"}) + "\n"
    )
    again = tmp_path / "crm.ndjson"
    again.write_text(
        json.dumps({"external_id": "c2", "type": "company", "name": "Helix Therapeutcs Inc"}) + "\n"
    )
    ok("entities", "ingest", str(records), "--source", "vendor", "--create-source")
    ok("entities", "ingest", str(again), "--source", "crm", "--create-source")
    ok("resolve")
    entity = ok("entities", "list", "--type", "company", "--json")["items"][0]["id"]
    signals = ok("signals", "list", "--limit", "2", "--json")["items"]
    ok("flags", "add", entity, "--kind", "stale", "--message", "old revenue")
    ok("annotations", "define", "valuation", "--type", "number")
    for signal in signals:
        ok("links", "add", signal["id"], "references", "--reference", "the 2021 agreement")
    return {"entity": entity}


def test_every_list_command_prints_items_and_next_cursor(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    ids = _populate(cli, base, tmp_path)
    wrong: dict[str, Any] = {}
    for path, args in LIST_COMMANDS.items():
        given = [arg.format(**ids) for arg in args]
        result = cli(*base, *path.split(), *given, "--json")
        if result.exit_code != 0:
            wrong[path] = result.stderr
            continue
        printed = result.json()
        if not isinstance(printed, dict):
            wrong[path] = f"printed a {type(printed).__name__}"
            continue
        keys = set(printed)
        if keys != {"items", "next_cursor"} | EXTRA_KEYS.get(path, set()):
            wrong[path] = f"keys {sorted(keys)}"
        elif not isinstance(printed["items"], list) or not printed["items"]:
            wrong[path] = f"items {str(printed['items'])[:80]}"
        elif not isinstance(printed["next_cursor"], str | None):
            wrong[path] = f"next_cursor {printed['next_cursor']!r}"
    assert wrong == {}


def test_paged_list_commands_hand_out_a_cursor_that_reads_the_next_page(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", database_url]
    ids = _populate(cli, base, tmp_path)
    paged = [path for path in LIST_COMMANDS if "--cursor" in _options(COMMANDS[path])]
    assert len(paged) >= 5
    for path in paged:
        given = [arg.format(**ids) for arg in LIST_COMMANDS[path]]
        first = cli(*base, *path.split(), *given, "--limit", "1", "--json").json()
        assert isinstance(first, dict)
        assert isinstance(first["next_cursor"], str), path
        second = cli(
            *base, *path.split(), *given, "--limit", "1", "--cursor", first["next_cursor"], "--json"
        ).json()
        assert isinstance(second, dict)
        assert len(second["items"]) == 1, path
        assert second["items"] != first["items"], path
