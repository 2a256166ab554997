"""The command-line interface: a thin layer over the Python API."""

from __future__ import annotations

from signalgraph.cli.app import app, main

__all__ = ["app", "main"]
