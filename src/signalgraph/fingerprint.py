"""Fingerprints: content hash, normalised URL and its hash, 64-bit simhash with 16-bit bands.

This module holds the definitions (one text, one URL at a time). `fingerprint_batch`
computes the same content hashes and simhashes for a whole batch at once, vectorised.

Near-duplicate search relies on the pigeonhole principle: split a 64-bit simhash into
four 16-bit bands; two hashes within Hamming distance 3 differ in at most three bands,
so they share at least one band exactly, and an index on each band finds them.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

BANDS = 4
BAND_BITS = 16
_BAND_MASK = (1 << BAND_BITS) - 1

# Query parameters that identify a click or a campaign, never the content.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "ref",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "spm",
        "cmpid",
        "s_kwcid",
        "ito",
        "sr_share",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


# After NFKC, these are the only non-ASCII characters str.split() treats as whitespace.
_UNICODE_SPACES = str.maketrans({"\x85": " ", "\u1680": " ", "\u2028": " ", "\u2029": " "})
# ASCII whitespace as str.split() sees it (\x1c-\x1f included).
_ASCII_WHITESPACE = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "


def fold(text: str) -> str:
    """Return text NFKC-normalised and casefolded, with every whitespace character ASCII."""
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = text.translate(_UNICODE_SPACES)
    return text.casefold()


def normalize_text(text: str) -> tuple[str, list[str]]:
    """Return the text NFKC-normalised, casefolded and whitespace-collapsed, with its tokens."""
    tokens = fold(text).split()
    return " ".join(tokens), tokens


def content_hash(normalized: str) -> bytes:
    """Return the sha256 of normalised text."""
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).digest()


def is_tracking_parameter(name: str) -> bool:
    """Return True for query parameters that only track clicks or campaigns."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str | None:
    """Return a canonical form of an absolute URL, or None if it is not one.

    Lowercases scheme and host, strips `www.`, drops default ports, fragments and
    tracking parameters, sorts the query and trims a trailing slash. Query parameters
    are kept as written (not re-encoded), so normalising twice changes nothing.
    """
    text = url.strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    netloc = host
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    query = ""
    if parts.query:
        kept = [
            pair
            for pair in parts.query.split("&")
            if pair and not is_tracking_parameter(unquote_plus(pair.split("=", 1)[0]))
        ]
        kept.sort()
        query = "&".join(kept)
    if query:
        return f"{scheme}://{netloc}{path}?{query}"
    return f"{scheme}://{netloc}{path}"


def url_hash(normalized_url: str) -> bytes:
    """Return the sha256 of a normalised URL."""
    return hashlib.sha256(normalized_url.encode("utf-8", "surrogatepass")).digest()


def bands(simhash: int) -> tuple[int, int, int, int]:
    """Return the four 16-bit bands of a 64-bit simhash (lowest bits first)."""
    value = simhash & 0xFFFF_FFFF_FFFF_FFFF
    return (
        value & _BAND_MASK,
        (value >> 16) & _BAND_MASK,
        (value >> 32) & _BAND_MASK,
        (value >> 48) & _BAND_MASK,
    )


def hamming(a: int, b: int) -> int:
    """Return the number of differing bits between two 64-bit values."""
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()


def to_signed(value: int) -> int:
    """Return a 64-bit unsigned value as PostgreSQL's signed bigint."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    """Return a signed bigint as the unsigned 64-bit value it stores."""
    return value & 0xFFFF_FFFF_FFFF_FFFF


# -- simhash definition ------------------------------------------------------------
#
# Features are the distinct words of the folded text, each counted once, so that
# frequent function words do not make unrelated texts look alike. A word (token) is a
# maximal run of non-whitespace characters; it is hashed from its first 16 UTF-8 bytes
# and its length, which keeps the vectorised batch version simple and fast.

MASK64 = 0xFFFF_FFFF_FFFF_FFFF
_K_LENGTH = 0x165667B19E3779F9
_K_HIGH = 0xC2B2AE3D27D4EB4F
DEFAULT_MIN_TOKENS = 32


def mix64(value: int) -> int:
    """Return the splitmix64 finaliser of a 64-bit value."""
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & MASK64
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def token_hash(token: bytes) -> int:
    """Return the 64-bit hash of one token's UTF-8 bytes."""
    head = token[:16].ljust(16, b"\0")
    low = int.from_bytes(head[:8], "little")
    high = int.from_bytes(head[8:], "little")
    return mix64((mix64(low ^ ((len(token) * _K_LENGTH) & MASK64)) + high * _K_HIGH) & MASK64)


def simhash(text: str, *, min_tokens: int = DEFAULT_MIN_TOKENS) -> int | None:
    """Return the 64-bit simhash of a text, or None when it has fewer than min_tokens words."""
    tokens = [token.encode("utf-8", "surrogatepass") for token in fold(text).split()]
    if len(tokens) < min_tokens:
        return None
    features = {token_hash(token) for token in tokens}
    votes = [0] * 64
    for feature in features:
        for bit in range(64):
            votes[bit] += 1 if feature >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if votes[bit] > 0)


# -- word sketch: the confirmation of a near-duplicate pair --------------------------
#
# Templated texts (the same press release about two companies, this quarter's results
# against last quarter's) share almost all their words, and their simhashes can be a
# bit or two apart. What tells them apart is their names and figures. A short text's
# sketch holds a 32-bit hash of each of its distinct words (casefolded), each marked
# when the word is a name or a figure: it has both capitals and small letters
# ("Tidewater", "McKay", "The") or a digit ("120", "Q3"). Two texts are NOT near
# duplicates when each has a name or figure that the other lacks altogether: a copy may
# add or drop a sentence (names on one side only), not trade its names for others.
#
# A text with no mixed-case word (all capitals or all small letters: a re-cased copy)
# tells no names from other words, so against a text that does, all its words count as
# names. Words are maximal runs of letters, digits and underscores (Python's `\w`)
# after NFKC normalisation, so punctuation never makes two words differ, except that a
# number keeps its separators ("100,250", "4.5"): "$100,100" is not part of "$100,250".
#
# The sketch keeps the SKETCH_WORDS smallest hashes: texts of up to SKETCH_MAX_TOKENS
# words (the only ones sketched) rarely have more distinct words than that, and when
# one does, words are compared below the smaller of the two sketches' largest hashes,
# where both sketches are complete (a difference found there is a real one).

SKETCH_WORDS = 64
SKETCH_MAX_TOKENS = 128
_SKETCH_CASED = 1  # header flag: the text has mixed-case words
_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+")
_DIGIT = re.compile(r"\d")
_HASH_MASK = 0xFFFF_FFFE  # the low bit of each value marks a name or figure


def word_sketch(text: str) -> bytes:
    """Return the sketch of a text's words: a flag byte, then sorted big-endian uint32s."""
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    words = set(_WORD.findall(text))
    names = set()
    cased = False
    for word in words:
        if word.islower() and word.isalpha():
            continue
        if word.upper() != word and word.lower() != word:
            cased = True
            names.add(word.casefold())
        elif _DIGIT.search(word):
            names.add(word.casefold())
    values = sorted(
        (zlib.crc32(word.encode("utf-8", "surrogatepass")) & _HASH_MASK) | (word in names)
        for word in {word.casefold() for word in words}
    )[:SKETCH_WORDS]
    header = _SKETCH_CASED if cased else 0
    return bytes((header,)) + struct.pack(f">{len(values)}I", *values)


_COMPLETE = 1 << 32  # the limit of a sketch that holds every word of its text


@dataclass(frozen=True, slots=True)
class WordSketch:
    """A stored word sketch, read for comparison: word hashes, names and figures among them."""

    cased: bool
    words: frozenset[int]
    names: frozenset[int]
    limit: int  # every word of the text whose hash is at most this is in `words`

    @classmethod
    def read(cls, sketch: bytes) -> WordSketch:
        """Return the stored sketch (word_sketch's bytes) ready to compare."""
        values = struct.unpack_from(f">{(len(sketch) - 1) // 4}I", sketch, 1)
        limit = values[-1] >> 1 if len(values) >= SKETCH_WORDS else _COMPLETE
        return cls(
            cased=bool(sketch[0] & _SKETCH_CASED),
            words=frozenset(map(operator.rshift, values, itertools.repeat(1))),
            names=frozenset(value >> 1 for value in values if value & 1),
            limit=limit,
        )

    def lacks_a_name_of(self, other: WordSketch, limit: int) -> bool:
        """Return True when `other` has a name or figure (at most `limit`) this text lacks."""
        # A re-cased text tells no names: against a cased one, all its words count.
        names = other.words if not other.cased and self.cased else other.names
        if limit == _COMPLETE:
            return not names <= self.words
        return any(name <= limit and name not in self.words for name in names)


def sketches_agree(first: WordSketch | None, second: WordSketch | None) -> bool:
    """Return False when each text has a name or figure the other lacks (None: no sketch)."""
    if first is None or second is None:
        return True
    limit = min(first.limit, second.limit)
    return not (first.lacks_a_name_of(second, limit) and second.lacks_a_name_of(first, limit))
