"""How `signalgraph entities show` prints a dossier on a terminal."""

from __future__ import annotations

from typing import Any

from signalgraph.cli.output import print_record, print_table


def _summary(dossier: dict[str, Any]) -> dict[str, Any]:
    notes = dossier.get("annotations") or {}
    summary: dict[str, Any] = {
        "id": dossier["id"],
        "type": dossier["type"],
        "name": dossier["name"],
        "also known as": ", ".join(dossier["names"][1:6]) or "-",
        "identifiers": "; ".join(f"{k}: {', '.join(v)}" for k, v in dossier["identifiers"].items())
        or "-",
        "mentions": dossier["mentions"],
        "merged ids": ", ".join(str(i) for i in dossier["merged_ids"]) or "-",
        "lists": ", ".join(item["name"] for item in dossier.get("lists", [])) or "-",
    }
    if dossier["archived_at"]:
        summary["archived"] = f"{dossier['archived_at']} {dossier['archive_reason'] or ''}"
    for key in ("rank", "stage", "hidden"):
        if notes.get(key) is not None:
            summary[key] = notes[key]
    if notes.get("tags"):
        summary["tags"] = ", ".join(notes["tags"])
    for name, value in (notes.get("fields") or {}).items():
        summary[name] = value
    return summary


def fact_value(statement: dict[str, Any]) -> Any:
    """Return a fact's value as shown on a terminal (money as `1,000 USD`)."""
    value = statement.get("value")
    if isinstance(value, dict) and {"amount", "currency"} <= value.keys():
        amount = value["amount"]
        shown = f"{amount:,}" if isinstance(amount, int | float) else str(amount)
        return f"{shown} {value['currency']}"
    return value


def print_dossier(dossier: dict[str, Any]) -> None:
    """Print every section of an entity's dossier (empty sections are left out)."""
    print_record(_summary(dossier), title=f"entity {dossier['name']}")
    facts = dossier.get("facts") or {}
    print_table(
        [
            {"property": name} | value | {"value": fact_value(value)}
            for name, value in facts.items()
        ],
        ["property", "value", "unit", "as_of", "source", "confidence"],
        title="facts",
        empty="",
    )
    print_table(
        dossier.get("relations") or [],
        ["predicate", "direction", "other_name", "valid_from", "valid_to", "source"],
        title="relations",
        empty="",
    )
    print_table(
        dossier["records"],
        ["source", "external_id", "name", "method", "probability"],
        title="records",
    )
    print_table(
        dossier["recent_signals"], ["published_at", "title", "as"], title="recent signals", empty=""
    )
    comments = (dossier.get("annotations") or {}).get("comments") or []
    print_table(comments, ["created_at", "author", "text"], title="comments", empty="")
    print_table(
        dossier["judgements"],
        ["decision", "entity_a", "entity_b", "actor", "reason"],
        title="judgements",
        empty="",
    )
    print_table(
        dossier["merge_history"],
        ["kind", "survivor_id", "absorbed_id", "actor", "created_at", "undone_at"],
        title="merges",
        empty="",
    )
    print_table(
        dossier["open_flags"],
        ["kind", "severity", "message", "created_at"],
        title="open flags",
        empty="",
    )
    print_table(
        dossier["audit"],
        ["at", "actor", "action", "object", "changed"],
        title="last changes",
        empty="",
    )
