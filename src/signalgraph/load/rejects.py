"""Refused records, stored verbatim with their reason in the run's rejects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from signalgraph.ids import uuid7
from signalgraph.load.batches import RejectRow

COPY_REJECTS = """
COPY reject (workspace_id, id, run_id, file, line, field, reason, raw) FROM STDIN (FORMAT BINARY)
"""
_REJECT_TYPES = ["uuid", "uuid", "uuid", "text", "int8", "text", "text", "bytea"]


def copy_rejects(
    conn: psycopg.Connection[Any],
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    rejects: Sequence[RejectRow],
) -> None:
    """COPY rejected records, verbatim, into the reject table."""
    with conn.cursor().copy(COPY_REJECTS) as copy:
        copy.set_types(_REJECT_TYPES)
        for reject in rejects:
            copy.write_row(
                (
                    workspace_id,
                    uuid7(),
                    run_id,
                    reject.file,
                    reject.line,
                    reject.field,
                    reject.reason,
                    reject.raw,
                )
            )
