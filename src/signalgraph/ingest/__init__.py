"""Signal ingestion: readers, record validation, batch writing and the run that drives them."""

from __future__ import annotations

from signalgraph.ingest.pipeline import (
    Ingest,
    IngestOptions,
    IngestProgress,
    IngestResult,
    ingest,
)

__all__ = ["Ingest", "IngestOptions", "IngestProgress", "IngestResult", "ingest"]
