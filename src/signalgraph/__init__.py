"""signalgraph: a PostgreSQL-native intelligence store."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from signalgraph.client import SignalGraph, connect
from signalgraph.config import Settings, load_settings
from signalgraph.errors import SignalgraphError

try:
    __version__ = version("signalgraph")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["Settings", "SignalGraph", "SignalgraphError", "__version__", "connect", "load_settings"]
