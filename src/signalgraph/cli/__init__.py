"""The command-line interface: a thin layer over the Python API."""

from __future__ import annotations

from signalgraph.cli.app import app, main, run

__all__ = ["app", "main", "run"]
