"""Content hashes and simhashes for a whole batch of texts at once, vectorised with numpy.

Produces exactly what `signalgraph.fingerprint` defines one text at a time (the tests
hold the two against each other), without a Python step per word: the batch is one
byte array, whitespace is collapsed with masks, tokens are hashed from 16-byte windows,
each text's distinct token hashes are found with one sort, and simhash votes are
counted with one histogram per byte of the feature hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signalgraph.fingerprint import (
    _ASCII_WHITESPACE,
    _K_HIGH,
    _K_LENGTH,
    DEFAULT_MIN_TOKENS,
    fold,
)

_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[list(_ASCII_WHITESPACE)] = True
_SEPARATOR = 0  # texts never contain NUL (ingest rejects or strips it first)
_BIT_TABLE = np.unpackbits(
    np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little"
).astype(np.float64)
_U = np.uint64
# _LOW_BYTES[k] keeps the low k bytes of a little-endian 64-bit word.
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


@dataclass(frozen=True, slots=True)
class TextFingerprint:
    """The fingerprint of one text."""

    content_hash: bytes
    simhash: int | None
    tokens: int


def _mix64(values: np.ndarray) -> np.ndarray:
    """Apply the splitmix64 finaliser in place (values must be a fresh uint64 array)."""
    scratch = np.empty_like(values)
    np.right_shift(values, _U(30), out=scratch)
    values ^= scratch
    values *= _U(0xBF58476D1CE4E5B9)
    np.right_shift(values, _U(27), out=scratch)
    values ^= scratch
    values *= _U(0x94D049BB133111EB)
    np.right_shift(values, _U(31), out=scratch)
    values ^= scratch
    return values


def fingerprint_batch(
    texts: Sequence[str | None], *, min_tokens: int = DEFAULT_MIN_TOKENS
) -> list[TextFingerprint | None]:
    """Return the fingerprint of each text (None for missing or blank texts)."""
    result: list[TextFingerprint | None] = [None] * len(texts)
    chunks: list[bytes] = []
    positions: list[int] = []
    for position, text in enumerate(texts):
        if text:
            chunks.append(fold(text).encode("utf-8", "surrogatepass"))
            positions.append(position)
    if not chunks:
        return result
    # A separator before every text and after the last; padding for 16-byte windows.
    buffer = b"\x00" + b"\x00".join(chunks) + b"\x00" + bytes(16)
    data = np.frombuffer(buffer, dtype=np.uint8)
    if len(chunks) >= 1 << 20:
        raise ValueError("fingerprint_batch takes fewer than 1,048,576 texts at a time")
    with np.errstate(over="ignore"):
        fingerprints = _fingerprint_buffer(data, len(chunks), max(min_tokens, 1))
    for position, fingerprint in zip(positions, fingerprints, strict=True):
        if fingerprint.tokens:
            result[position] = fingerprint
    return result


def _fingerprint_buffer(padded: np.ndarray, count: int, min_tokens: int) -> list[TextFingerprint]:
    data = padded[:-16]
    size = data.shape[0]
    is_space = _WHITESPACE[data]
    is_separator = data == _SEPARATOR
    is_token = ~is_space & ~is_separator

    before = np.empty(size, dtype=bool)
    before[0] = False
    before[1:] = is_token[:-1]
    after = np.empty(size, dtype=bool)
    after[-1] = False
    after[:-1] = is_token[1:]
    starts = np.flatnonzero(is_token & ~before)
    ends = np.flatnonzero(is_token & ~after) + 1
    separators = np.flatnonzero(is_separator)
    token_doc = np.searchsorted(separators, starts) - 1

    # Collapse whitespace: keep a run's first byte (as a space) only between two tokens
    # of the same text. The buffer starts and ends with a separator, so run +-1 is safe.
    space_before = np.empty(size, dtype=bool)
    space_before[0] = False
    space_before[1:] = is_space[:-1]
    space_after = np.empty(size, dtype=bool)
    space_after[-1] = False
    space_after[:-1] = is_space[1:]
    run_starts = np.flatnonzero(is_space & ~space_before)
    run_ends = np.flatnonzero(is_space & ~space_after)
    run_starts = run_starts[is_token[run_starts - 1] & is_token[run_ends + 1]]
    keep = is_token | is_separator
    keep[run_starts] = True
    collapsed = data.copy()
    collapsed[run_starts] = 32
    collapsed = collapsed[keep]
    bounds = np.flatnonzero(collapsed == _SEPARATOR)
    view = memoryview(collapsed)
    hashes = [hashlib.sha256(view[bounds[i] + 1 : bounds[i + 1]]).digest() for i in range(count)]

    tokens_per_doc = np.bincount(token_doc, minlength=count)
    token_hashes = _token_hashes(padded, starts, ends)
    eligible = tokens_per_doc >= min_tokens
    keep = eligible[token_doc]
    features, feature_doc = _distinct_per_doc(token_hashes[keep], token_doc[keep])
    simhashes = _simhash_votes(features, feature_doc, count)

    return [
        TextFingerprint(
            content_hash=hashes[i],
            simhash=int(simhashes[i]) if eligible[i] else None,
            tokens=int(tokens_per_doc[i]),
        )
        for i in range(count)
    ]


def _token_hashes(padded: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    lengths = ends - starts
    windows = np.lib.stride_tricks.sliding_window_view(padded, 16)
    words = np.ascontiguousarray(windows[starts]).view("<u8")
    low = words[:, 0] & _LOW_BYTES[np.minimum(lengths, 8)]
    high = words[:, 1] & _LOW_BYTES[np.clip(lengths - 8, 0, 8)]
    seed = lengths.astype(np.uint64)
    seed *= _U(_K_LENGTH)
    seed ^= low
    seeded = _mix64(seed)
    high *= _U(_K_HIGH)
    seeded += high
    return _mix64(seeded)


def _distinct_per_doc(hashes: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each (doc, token hash) pair once: the doc in the high bits, 44 hash bits below."""
    if hashes.size == 0:
        return hashes, docs
    key = docs.astype(np.uint64) << _U(44)
    key |= hashes >> _U(20)
    _, first = np.unique(key, return_index=True)
    return hashes[first], docs[first]


def _simhash_votes(features: np.ndarray, docs: np.ndarray, count: int) -> np.ndarray:
    """Return one simhash per doc: bit b set when most of its features have bit b set."""
    totals = np.bincount(docs, minlength=count)
    ones = np.zeros((count, 64), dtype=np.float64)
    as_bytes = features.view(np.uint8).reshape(-1, 8)
    base = docs.astype(np.int64) * 256
    for byte in range(8):
        histogram = np.bincount(base + as_bytes[:, byte], minlength=count * 256)
        # Counts are far below 2**53, so float64 is exact and the product uses BLAS.
        ones[:, byte * 8 : byte * 8 + 8] = histogram.reshape(count, 256) @ _BIT_TABLE
    bits = (ones * 2 > totals[:, None]).astype(np.uint8)
    return np.packbits(bits, axis=1, bitorder="little").view("<u8").ravel()
