"""The installed package's version, looked up once on demand."""

from __future__ import annotations


def package_version() -> str:
    """Return the installed signalgraph version (0.0.0 when run from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("signalgraph")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"
