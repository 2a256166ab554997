"""Rejected input records: listed with their reasons, exported verbatim to be fixed."""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.db.engine import transaction
from signalgraph.errors import SignalgraphError
from signalgraph.schema import reject

if TYPE_CHECKING:
    from signalgraph.client import SignalGraph


@dataclass
class Reject:
    """One refused record and why."""

    id: uuid.UUID
    run_id: uuid.UUID
    file: str | None
    line: int | None
    field: str | None
    reason: str
    raw: bytes
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Return the reject with its raw bytes as text (invalid bytes escaped)."""
        data = asdict(self)
        data["raw"] = self.raw.decode("utf-8", errors="backslashreplace")
        return data


class Rejects:
    """List and export the rejected records of the client's workspace."""

    def __init__(self, client: SignalGraph) -> None:
        self._client = client

    def list(
        self,
        *,
        run_id: str | uuid.UUID | None = None,
        limit: int = 100,
        connection: Connection | None = None,
    ) -> list[Reject]:
        """Return rejects (of one run, or the newest), in input order within a run."""
        with transaction(self._client.engine, connection) as conn:
            workspace_id = self._client.workspace_id_in(conn)
            query = sa.select(reject).where(reject.c.workspace_id == workspace_id)
            if run_id is not None:
                found = self._client.runs.get(run_id, connection=conn)
                query = query.where(reject.c.run_id == found.id).order_by(
                    reject.c.file, reject.c.line, reject.c.id
                )
            else:
                query = query.order_by(
                    reject.c.created_at.desc(), reject.c.run_id, reject.c.file, reject.c.line
                )
            rows = conn.execute(query.limit(limit)).all()
        return [
            Reject(r.id, r.run_id, r.file, r.line, r.field, r.reason, bytes(r.raw), r.created_at)
            for r in rows
        ]

    def export(self, run_id: str | uuid.UUID, target: Path | IO[bytes]) -> dict[str, Any]:
        """Write a run's rejected records back out as they arrived, ready to fix and re-ingest."""
        found = self._client.runs.get(run_id)
        inputs = found.params.get("inputs") or []
        headers = {i.get("name"): i.get("csv_header") for i in inputs if i.get("csv_header")}
        delimiters = {i.get("name"): i.get("csv_delimiter") or "," for i in inputs}
        with ExitStack() as stack:
            if isinstance(target, Path):
                try:
                    handle: IO[bytes] = stack.enter_context(target.open("wb"))
                except OSError as exc:
                    raise SignalgraphError(f"cannot write {target}: {exc.strerror or exc}") from exc
            else:
                handle = target
            conn = stack.enter_context(self._client.engine.connect())
            rows = conn.execute(
                sa.select(reject.c.file, reject.c.raw)
                .where(
                    reject.c.workspace_id == self._client.workspace_id_in(conn),
                    reject.c.run_id == found.id,
                )
                .order_by(reject.c.file, reject.c.line, reject.c.id)
                .execution_options(yield_per=1000)
            )
            written = skipped = 0
            header_written = False
            for file, raw in rows:
                data = bytes(raw)
                if not data:
                    skipped += 1  # a malformed CSV row whose bytes could not be recovered
                    continue
                if file in headers and not header_written:
                    delimiter = delimiters.get(file, ",")
                    cells = (_csv_cell(h, delimiter) for h in headers[file])
                    handle.write(delimiter.join(cells).encode() + b"\n")
                    header_written = True
                handle.write(data + b"\n")
                written += 1
        return {
            "run_id": found.id,
            "written": written,
            "skipped_without_bytes": skipped,
            "format": "csv" if headers else "ndjson",
        }


def _csv_cell(value: str, delimiter: str) -> str:
    if any(char in value for char in f'{delimiter}"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value
