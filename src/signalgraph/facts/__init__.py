"""Facts and relations: append-only statements about entities, with provenance."""

from __future__ import annotations

from signalgraph.facts.api import Facts, Relations

__all__ = ["Facts", "Relations"]
