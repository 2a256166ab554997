"""How `entities explain` and `review show` print the evidence for a pair."""

from __future__ import annotations

from typing import Any

from signalgraph.cli.output import print_table


def print_evidence(best: dict[str, Any]) -> None:
    """Print each compared field with what its level means and the weight it gave."""
    from signalgraph.resolve.compare import level_name

    levels = best.get("levels", {})
    rows = [
        # The prior is a weight of its own, not a compared field.
        {
            "field": name,
            "level": level_name(name, levels[name]) if name in levels else "-",
            "weight": weight,
        }
        for name, weight in best.get("weights", {}).items()
    ]
    print_table(rows, ["field", "level", "weight"], title="evidence")
