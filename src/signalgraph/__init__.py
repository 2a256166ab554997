"""signalgraph: a PostgreSQL-native intelligence store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signalgraph.client import SignalGraph, connect
    from signalgraph.config import Settings, load_settings
    from signalgraph.errors import SignalgraphError

    __version__: str

__all__ = ["Settings", "SignalGraph", "SignalgraphError", "__version__", "connect", "load_settings"]

# Importing the client pulls in SQLAlchemy, pydantic, numpy and every concept: the CLI's
# start-up (`--version`, `--help`) must not pay for that, so names load on first use (PEP 562).
_LAZY = {
    "SignalGraph": "signalgraph.client",
    "connect": "signalgraph.client",
    "Settings": "signalgraph.config",
    "load_settings": "signalgraph.config",
    "SignalgraphError": "signalgraph.errors",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from signalgraph._version import package_version

        value: Any = package_version()
    elif name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'signalgraph' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
