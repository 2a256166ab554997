"""Facts and relations: append-only statements about entities, with provenance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signalgraph.facts.api import Facts, Relations

__all__ = ["Facts", "Relations"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: importing a light submodule (`facts.derived`, whose SQL `db check`
    # runs) must not import the whole facts API and, through it, ingest and numpy.
    if name in __all__:
        from signalgraph.facts import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'signalgraph.facts' has no attribute {name!r}")
