"""Word pairs of a phrase query: what the index of adjacent word pairs can look up.

Migration 0012 indexes, for each signal, a bucket for every pair of words at adjacent
positions of its search vector. A signal matching `'merger' <-> 'acquisit'` holds that
pair, so the signals listed under its bucket are the only candidates. This module reads
a stemmed query (the text of a tsquery) and says which pairs a match must hold: a list
of alternatives, each a set of pairs, because `|` gives a match more than one way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, array

Pair = tuple[str, str]
Alternatives = tuple[frozenset[Pair], ...]

# More alternatives than this and the condition is not worth it (each is an index search).
MAX_ALTERNATIVES = 16

_TOKEN = re.compile(
    r"\s*(?:'(?P<lexeme>(?:[^'\\]|''|\\.)*)'(?P<suffix>:[*A-D]+)?"
    r"|<(?P<distance>-|\d+)>|(?P<op>[&|!()]))"
)
_NOTHING: Alternatives = (frozenset(),)  # no pair is required


@dataclass(frozen=True)
class _Node:
    kind: str  # "word", "not", "and", "or", "phrase"
    word: str | None = None  # for "word": the lexeme (None when prefix or weighted)
    distance: int = 0  # for "phrase"
    left: _Node | None = None
    right: _Node | None = None


class _Unreadable(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        found = _TOKEN.match(text, at)
        if found is None:
            raise _Unreadable(text[at:])
        at = found.end()
        if found["lexeme"] is not None:
            word = re.sub(r"''|\\(.)", lambda m: m[1] or "'", found["lexeme"])
            tokens.append(("word", None if found["suffix"] else word))
        elif found["distance"] is not None:
            tokens.append(("phrase", 1 if found["distance"] == "-" else int(found["distance"])))
        else:
            tokens.append((found["op"], None))
    return tokens


class _Parser:
    """Precedence as PostgreSQL prints it: ! binds tightest, then <N>, then &, then |."""

    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.at = 0

    def _peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def _take(self) -> tuple[str, Any]:
        if self.at >= len(self.tokens):
            raise _Unreadable("ends early")
        self.at += 1
        return self.tokens[self.at - 1]

    def parse(self) -> _Node:
        node = self._or()
        if self.at != len(self.tokens):
            raise _Unreadable("text after the query")
        return node

    def _or(self) -> _Node:
        node = self._and()
        while self._peek() == "|":
            self._take()
            node = _Node("or", left=node, right=self._and())
        return node

    def _and(self) -> _Node:
        node = self._phrase()
        while self._peek() == "&":
            self._take()
            node = _Node("and", left=node, right=self._phrase())
        return node

    def _phrase(self) -> _Node:
        node = self._unary()
        while self._peek() == "phrase":
            _, distance = self._take()
            node = _Node("phrase", distance=distance, left=node, right=self._unary())
        return node

    def _unary(self) -> _Node:
        kind, value = self._take()
        if kind == "!":
            return _Node("not", left=self._unary())
        if kind == "(":
            node = self._or()
            if self._take()[0] != ")":
                raise _Unreadable("unclosed parenthesis")
            return node
        if kind == "word":
            return _Node("word", word=value)
        raise _Unreadable(f"unexpected {kind}")


def _last_word(node: _Node) -> str | None:
    """Return the word a phrase's match ends with, when it is one word."""
    if node.kind == "word":
        return node.word
    if node.kind == "phrase" and node.right is not None:
        return _last_word(node.right)
    return None


def _both(left: Alternatives, right: Alternatives) -> Alternatives:
    if len(left) * len(right) > MAX_ALTERNATIVES:
        # Requiring one side only is weaker but still true of every match.
        return left if len(left) <= len(right) else right
    return tuple(a | b for a, b in product(left, right))


def _required(node: _Node) -> Alternatives:
    """Return the alternatives of pairs a match of node holds (one empty set: none known)."""
    if node.kind in ("word", "not"):
        return _NOTHING
    assert node.left is not None
    assert node.right is not None
    left, right = _required(node.left), _required(node.right)
    if node.kind == "or":
        either = tuple(dict.fromkeys(left + right))
        return _NOTHING if len(either) > MAX_ALTERNATIVES else either
    both = _both(left, right)
    # "a <-> b" where the left part ends with a word and the right one is a word: the
    # match holds those two words at adjacent positions (the distance is measured from
    # the end of the left part's match).
    first, second = _last_word(node.left), node.right.word
    adjacent = node.kind == "phrase" and node.distance == 1 and node.right.kind == "word"
    if adjacent and first is not None and second is not None:
        return tuple(pairs | {(first, second)} for pairs in both)
    return both


def required_pairs(queries: list[str]) -> Alternatives | None:
    """Return the pairs a signal matching any of the stemmed queries holds (None: unknown).

    Each alternative is a set of (word, next word) pairs; a matching signal holds every
    pair of at least one alternative. None when some match need hold no pair at all (a
    query with a word outside any phrase as one of its `|` branches, say), or when a
    query cannot be read.
    """
    alternatives: dict[frozenset[Pair], None] = {}
    for query in queries:
        try:
            found = _required(_Parser(_tokens(query)).parse())
        except _Unreadable:
            return None
        if any(not pairs for pairs in found):
            return None
        alternatives.update(dict.fromkeys(found))
    if not alternatives or len(alternatives) > MAX_ALTERNATIVES:
        return None
    return tuple(alternatives)


def pairs_condition(
    alternatives: Alternatives, search: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """Return "the signal holds every pair of some alternative", answered by the pair index."""
    buckets = sa.func.word_pair_buckets(search, type_=ARRAY(sa.Integer))
    return sa.or_(
        *[
            buckets.op("@>")(
                array([sa.func.pair_bucket(a, b, type_=sa.Integer) for a, b in sorted(pairs)])
            )
            for pairs in alternatives
        ]
    )
