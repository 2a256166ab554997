"""Fingerprints of signal rows: content hash, normalised URL and its hash, simhash, sketch."""

from __future__ import annotations

from collections.abc import Sequence

from signalgraph.fingerprint import SKETCH_MAX_TOKENS, normalize_url, url_hash, word_sketch
from signalgraph.fingerprint_batch import fingerprint_batch
from signalgraph.signals.rows import SignalRow

FINGERPRINT_SLICE = 1000
FINGERPRINT_SLICE_BYTES = 2 << 20


def fingerprint_rows(rows: Sequence[SignalRow], *, min_tokens: int) -> None:
    """Fill in content hash, normalised URL and hash, simhash and tokens for each row."""
    todo = [row for row in rows if not row.fingerprinted]
    # Slices bound the vectorised work's temporary arrays (tens of bytes per byte of
    # text) whatever the batch size and the size of each text.
    chunk: list[SignalRow] = []
    size = 0
    for row in todo:
        length = len(row.record.text or row.record.title or "")
        if chunk and (len(chunk) >= FINGERPRINT_SLICE or size + length > FINGERPRINT_SLICE_BYTES):
            _fingerprint_slice(chunk, min_tokens)
            chunk, size = [], 0
        chunk.append(row)
        size += length
    if chunk:
        _fingerprint_slice(chunk, min_tokens)


def _fingerprint_slice(todo: Sequence[SignalRow], min_tokens: int) -> None:
    texts = [row.record.text or row.record.title for row in todo]
    prints = fingerprint_batch(texts, min_tokens=min_tokens)
    for row, text, printed in zip(todo, texts, prints, strict=True):
        if printed is not None:
            row.content_hash = printed.content_hash
            row.simhash = printed.simhash
            row.tokens = printed.tokens
            if text and printed.simhash is not None and printed.tokens <= SKETCH_MAX_TOKENS:
                row.sketch = word_sketch(text)
        if row.record.url:
            row.url_normalized = normalize_url(row.record.url)
            if row.url_normalized is not None:
                row.url_hash = url_hash(row.url_normalized)
        row.fingerprinted = True
