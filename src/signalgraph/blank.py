"""Blank text: empty, spaces only, or only characters that print nothing.

A key such as an external_id made of zero-width characters (U+200B, U+200C, U+200D,
U+2060, U+FEFF) looks empty wherever it is shown and cannot be typed back; it is as
empty as one made of spaces.
"""

from __future__ import annotations

import unicodedata


def is_blank(text: str) -> bool:
    """Return True when text holds nothing visible: only whitespace or format characters."""
    if text.isascii():
        return not text.strip()
    return all(char.isspace() or unicodedata.category(char) == "Cf" for char in text)
