"""Rejected input records: listed with their reasons, exported verbatim to be fixed."""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signalgraph.db.engine import transaction
from signalgraph.errors import SignalgraphError, UsageError
from signalgraph.runs import Run, find_run
from signalgraph.schema import reject

if TYPE_CHECKING:
    from signalgraph.db.scope import Scope


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

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def list(
        self,
        *,
        run_id: str | uuid.UUID | None = None,
        limit: int = 100,
        connection: Connection | None = None,
    ) -> list[Reject]:
        """Return rejects (of one run, or the newest), in input order within a run."""
        with transaction(self._scope.engine, connection) as conn:
            workspace_id = self._scope.workspace_id_in(conn)
            query = sa.select(reject).where(reject.c.workspace_id == workspace_id)
            if run_id is not None:
                found = self._run(conn, workspace_id, run_id)
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

    def _run(self, conn: Connection, workspace_id: uuid.UUID, value: str | uuid.UUID) -> Run:
        return find_run(
            conn, workspace_id, value, stale_after=self._scope.settings.run_stale_after,
            workspace_flag=self._scope.workspace_flag,
        )  # fmt: skip

    def export(self, run_id: str | uuid.UUID, target: Path | IO[bytes]) -> dict[str, Any]:
        """Write a run's rejected records back out as they arrived, one file per format.

        Records keep their bytes, so they are written in the format they came in: NDJSON
        lines (also for Parquet rows and Python objects, kept as JSON), and CSV rows under
        their input's header. When a run's rejects came in more than one format (or CSV
        header), each goes to its own file named after `target` (see `export_paths`).
        """
        with self._scope.transaction() as conn:
            found = self._run(conn, self._scope.workspace_id_in(conn), run_id)
        inputs = found.params.get("inputs") or []
        with ExitStack() as stack:
            conn = stack.enter_context(self._scope.engine.connect())
            workspace_id = self._scope.workspace_id_in(conn)
            of_run = (reject.c.workspace_id == workspace_id, reject.c.run_id == found.id)
            files = conn.execute(sa.select(reject.c.file).where(*of_run).group_by(reject.c.file))
            layouts = export_layouts(inputs, set(files.scalars()))
            outputs = _open_outputs(stack, found.id, layouts, target, inputs)
            by_file = {file: output for output in outputs for file in output.layout.files}
            rows = conn.execute(
                sa.select(reject.c.file, reject.c.raw)
                .where(*of_run)
                .order_by(reject.c.file, reject.c.line, reject.c.id)
                .execution_options(yield_per=1000)
            )
            skipped = 0
            for file, raw in rows:
                data = bytes(raw)
                if not data:
                    skipped += 1  # a malformed CSV row whose bytes could not be recovered
                    continue
                output = by_file[file]
                output.handle.write(data + b"\n")
                output.written += 1
        return {
            "run_id": found.id,
            "written": sum(output.written for output in outputs),
            "skipped_without_bytes": skipped,
            "files": [output.as_dict() for output in outputs],
        }


@dataclass
class _Output:
    layout: Layout
    path: str
    handle: IO[bytes]
    written: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.layout.format,
            "written": self.written,
            "inputs": [name or "<python objects>" for name in self.layout.files],
        }


@dataclass
class Layout:
    """How some of a run's rejects are written: one format, one CSV header, one file."""

    format: str  # ndjson, csv or tsv
    header: list[str] | None
    delimiter: str
    files: list[str | None]

    @property
    def label(self) -> str:
        """Return the format and the inputs, for messages."""
        names = ", ".join(name or "<python objects>" for name in self.files)
        return f"{self.format.upper()} from {names}"


# File name extensions that say a format: an export is named so that ingest reads it back.
_SUFFIXES = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".csv": "csv",
             ".tsv": "tsv"}  # fmt: skip


def export_layouts(inputs: list[dict[str, Any]], files: set[str | None]) -> list[Layout]:
    """Group the files that had rejects by how their records are written, in input order."""
    order = {info.get("name"): index for index, info in enumerate(inputs)}
    by_name = {info.get("name"): info for info in inputs}
    layouts: dict[tuple[Any, ...], Layout] = {}
    for name in sorted(files, key=lambda f: (order.get(f, len(order)), f or "")):
        info = by_name.get(name, {})
        header = info.get("csv_header")
        if info.get("format") == "csv" and header:
            delimiter = info.get("csv_delimiter") or ","
            key: tuple[Any, ...] = ("csv", delimiter, tuple(header))
            fmt = "tsv" if delimiter == "\t" else "csv"
            layouts.setdefault(key, Layout(fmt, header, delimiter, [])).files.append(name)
        else:  # NDJSON lines; Parquet rows and Python objects are kept as JSON too
            layouts.setdefault(("ndjson",), Layout("ndjson", None, ",", [])).files.append(name)
    return list(layouts.values())


def export_paths(
    target: Path, layouts: list[Layout], *, inputs: list[Path], run_id: uuid.UUID
) -> list[Path]:
    """Return the file each layout is written to, named after target.

    One layout goes to target itself, unless its extension names another format; several
    go to target's name with each format's extension: fix.csv -> fix.ndjson, fix.csv,
    fix-2.csv (a second CSV header). A run's own inputs are never overwritten.
    """
    named = _SUFFIXES.get(target.suffix.lower())
    if len(layouts) == 1 and named in (None, layouts[0].format):
        paths = [target]
    else:
        base = target.with_suffix("") if named else target
        seen: Counter[str] = Counter()
        paths = []
        for layout in layouts:
            suffix = target.suffix if named == layout.format else f".{layout.format}"
            seen[suffix.lower()] += 1
            number = f"-{seen[suffix.lower()]}" if seen[suffix.lower()] > 1 else ""
            paths.append(base.with_name(f"{base.name}{number}{suffix}"))
    taken = {path.resolve() for path in inputs}
    for path in paths:
        if path.resolve() in taken:
            raise UsageError(
                f"{path} is an input of run {run_id}; the export would overwrite it",
                hint="give another file name",
            )
    return paths


def _open_outputs(
    stack: ExitStack,
    run_id: uuid.UUID,
    layouts: list[Layout],
    target: Path | IO[bytes],
    inputs: list[dict[str, Any]],
) -> list[_Output]:
    """Open one output per layout (an empty target when nothing was rejected)."""
    if not isinstance(target, Path):
        if len(layouts) > 1:
            raise UsageError(
                f"the rejects of run {run_id} need {len(layouts)} files, one per format "
                f"({'; '.join(layout.label for layout in layouts)})",
                hint="give a file name instead of -; the files are named after it",
            )
        return [_Output(layout, "-", target) for layout in layouts]
    if not layouts:
        layouts = [Layout(_SUFFIXES.get(target.suffix.lower(), "ndjson"), None, ",", [])]
    paths = export_paths(target, layouts, inputs=_input_paths(inputs), run_id=run_id)
    outputs = []
    for layout, path in zip(layouts, paths, strict=True):
        try:
            handle = stack.enter_context(path.open("wb"))
        except OSError as exc:
            raise SignalgraphError(f"cannot write {path}: {exc.strerror or exc}") from exc
        if layout.header is not None:
            cells = (_csv_cell(name, layout.delimiter) for name in layout.header)
            handle.write(layout.delimiter.join(cells).encode() + b"\n")
        outputs.append(_Output(layout, str(path), handle))
    return outputs


def _input_paths(inputs: list[dict[str, Any]]) -> list[Path]:
    return [Path(i["name"]) for i in inputs if i.get("name") and i["name"] != "<stdin>"]


def _csv_cell(value: str, delimiter: str) -> str:
    if any(char in value for char in f'{delimiter}"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value
