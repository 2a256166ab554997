"""Every signalgraph table, declared once with SQLAlchemy Core."""

from __future__ import annotations

from signalgraph.schema.base import SCHEMA, metadata
from signalgraph.schema.runs import RUN_STATUSES, reject, run
from signalgraph.schema.signals import (
    PARTITIONED_TABLES,
    fingerprint,
    mention,
    signal,
    signal_key,
    signal_revision,
)
from signalgraph.schema.tenancy import source, workspace

__all__ = [
    "PARTITIONED_TABLES",
    "RUN_STATUSES",
    "SCHEMA",
    "fingerprint",
    "mention",
    "metadata",
    "reject",
    "run",
    "signal",
    "signal_key",
    "signal_revision",
    "source",
    "workspace",
]
