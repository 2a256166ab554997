"""Signal ingestion: readers, record validation, batch writing and the run that drives them."""

from __future__ import annotations

from signalgraph.ingest.pipeline import Ingest, IngestProgress, IngestResult, ingest

__all__ = ["Ingest", "IngestProgress", "IngestResult", "ingest"]
