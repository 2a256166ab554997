"""Every signalgraph table, declared once with SQLAlchemy Core."""

from __future__ import annotations

from signalgraph.schema.audit import AUDIT_ACTIONS, audit_event
from signalgraph.schema.base import SCHEMA, metadata
from signalgraph.schema.entities import (
    BUILTIN_ENTITY_TYPES,
    JUDGEMENTS,
    entity,
    entity_record,
    entity_redirect,
    entity_type,
    flag,
    judgement,
    merge,
    record_key,
    resolution_model,
    review_item,
)
from signalgraph.schema.links import LINK_ORIGINS, LINK_STATUSES, LINK_TYPES, signal_link
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
    "AUDIT_ACTIONS",
    "BUILTIN_ENTITY_TYPES",
    "JUDGEMENTS",
    "LINK_ORIGINS",
    "LINK_STATUSES",
    "LINK_TYPES",
    "PARTITIONED_TABLES",
    "RUN_STATUSES",
    "SCHEMA",
    "audit_event",
    "entity",
    "entity_record",
    "entity_redirect",
    "entity_type",
    "fingerprint",
    "flag",
    "judgement",
    "mention",
    "merge",
    "metadata",
    "record_key",
    "reject",
    "resolution_model",
    "review_item",
    "run",
    "signal",
    "signal_key",
    "signal_link",
    "signal_revision",
    "source",
    "workspace",
]
