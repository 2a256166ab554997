"""Every signalgraph table, declared once with SQLAlchemy Core."""

from __future__ import annotations

from signalgraph.schema.base import SCHEMA, metadata
from signalgraph.schema.runs import RUN_STATUSES, reject, run
from signalgraph.schema.tenancy import source, workspace

__all__ = ["RUN_STATUSES", "SCHEMA", "metadata", "reject", "run", "source", "workspace"]
