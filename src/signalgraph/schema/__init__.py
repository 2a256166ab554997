"""Every signalgraph table, declared once with SQLAlchemy Core."""

from __future__ import annotations

from signalgraph.links.vocabulary import LINK_ORIGINS, LINK_STATUSES, LINK_TYPES
from signalgraph.schema.audit import AUDIT_ACTIONS, audit_event
from signalgraph.schema.base import SCHEMA, metadata
from signalgraph.schema.curation import (
    FIELD_TYPES,
    annotation,
    annotation_comment,
    annotation_field,
    curated_list,
    list_member,
)
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
from signalgraph.schema.facts import (
    PROPERTY_TYPES,
    fact,
    fact_current,
    fact_daily,
    fact_property,
    relation,
)
from signalgraph.schema.links import signal_link
from signalgraph.schema.runs import RUN_STATUSES, reject, run
from signalgraph.schema.signals import (
    PARTITIONED_TABLES,
    fingerprint,
    mention,
    signal,
    signal_key,
    signal_moved,
    signal_revision,
)
from signalgraph.schema.tenancy import source, workspace

__all__ = [
    "AUDIT_ACTIONS",
    "BUILTIN_ENTITY_TYPES",
    "FIELD_TYPES",
    "JUDGEMENTS",
    "LINK_ORIGINS",
    "LINK_STATUSES",
    "LINK_TYPES",
    "PARTITIONED_TABLES",
    "PROPERTY_TYPES",
    "RUN_STATUSES",
    "SCHEMA",
    "annotation",
    "annotation_comment",
    "annotation_field",
    "audit_event",
    "curated_list",
    "entity",
    "entity_record",
    "entity_redirect",
    "entity_type",
    "fact",
    "fact_current",
    "fact_daily",
    "fact_property",
    "fingerprint",
    "flag",
    "judgement",
    "list_member",
    "mention",
    "merge",
    "metadata",
    "record_key",
    "reject",
    "relation",
    "resolution_model",
    "review_item",
    "run",
    "signal",
    "signal_key",
    "signal_link",
    "signal_moved",
    "signal_revision",
    "source",
    "workspace",
]
