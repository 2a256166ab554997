"""Signals: reading them back (`api`) and loading them (`loader`, `writer`, `records`…)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signalgraph.signals.api import Signal, Signals

__all__ = ["Signal", "Signals"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the load path (`signals.loader`, `signals.writer`) does not need
    # the read API and its query modules.
    if name in __all__:
        from signalgraph.signals import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'signalgraph.signals' has no attribute {name!r}")
