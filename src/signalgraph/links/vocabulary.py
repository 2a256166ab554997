"""The words a link may use: its types, statuses and origins (no database imports, so the CLI
can show them in `--help` without loading SQLAlchemy)."""

from __future__ import annotations

LINK_TYPES = ("amends", "supersedes", "replies_to", "references", "attachment_of")
LINK_STATUSES = ("resolved", "dangling", "ambiguous")
LINK_ORIGINS = ("record", "user")
