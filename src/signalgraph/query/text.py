"""Full-text queries: a web-style query stemmed in each language the signals are in."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import OID, TSQUERY
from sqlalchemy.engine import Connection

from signalgraph.db.phrase_index import PHRASE_INDEX
from signalgraph.errors import UsageError
from signalgraph.query.phrases import Alternatives, pairs_condition, required_pairs
from signalgraph.schema import SCHEMA, signal

# A language code of each text search configuration `ts_config(lang)` maps to (migration
# 0008; "" is the word-for-word one). A signal's words are stemmed in its own language,
# so a query without a language is stemmed in each and matched against the signals of
# that language only: phrases and -exclusions then mean the same in every language.
SEARCH_LANGUAGES = (
    "", "en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "no", "fi", "ru", "tr", "hu", "ro",
)  # fmt: skip
MAX_QUERY_CHARS = 1000


def _checked(text: str) -> str:
    query = text.strip()
    if not query:
        raise UsageError("give some words to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(f"the search query is {len(query)} characters; at most 1000 allowed")
    if "\x00" in query:
        raise UsageError("the search query contains a NUL character")
    return query


@dataclass(frozen=True)
class TextQuery:
    """A full-text query stemmed per language: each distinct tsquery and its languages."""

    # Each tsquery (as text) with the text search configurations (their oids) it is for:
    # bound as parameters, so every query of the same shape reuses one compiled statement.
    groups: tuple[tuple[str, tuple[int, ...]], ...]
    # For a phrase: the word pairs every match holds (see query/phrases.py), if known.
    pairs: Alternatives | None = None

    @property
    def has_phrase(self) -> bool:
        """Return whether the query holds a phrase (its matches are not known from the index)."""
        return any("<" in query for query, _ in self.groups)

    def condition(
        self,
        search: sa.ColumnElement[Any] = signal.c.search,
        lang: sa.ColumnElement[Any] = signal.c.lang,
        *,
        by_pairs: bool = False,
    ) -> sa.ColumnElement[bool]:
        """Return "the signal matches": its words match the query stemmed in its language.

        With by_pairs (and a phrase whose pairs are known), the candidates come from the
        index of word pairs and only they are checked; without, from the words' index.
        """
        if not self.groups:
            return sa.false()
        config = sa.cast(sa.func.ts_config(lang), OID)
        own_language = sa.case(
            *[
                (
                    config.in_(configs),
                    search.op("@@")(sa.cast(query, TSQUERY)),
                )
                for query, configs in self.groups
            ],
            else_=sa.false(),
        )
        if by_pairs and self.pairs is not None:
            # The check is written so that no index can answer it: the words' index would
            # list every signal holding the phrase's words, the pair index already has
            # the few holding its pairs.
            if self._same_everywhere():
                return sa.and_(
                    pairs_condition(self.pairs, search),
                    sa.func.ts_match_vq(search, self._combined(), type_=sa.Boolean),
                )
            return sa.and_(pairs_condition(self.pairs, search), own_language)
        # One index search for any language's form of the query: each candidate row is
        # rechecked once (phrases need the word positions, so candidates are rechecked
        # against the vector), and only the rows that match some form are then checked
        # against their own language's.
        matches_any = search.op("@@")(self._combined())
        if self._same_everywhere():
            return matches_any  # the same in every language: no language test
        return sa.and_(matches_any, own_language)

    def _same_everywhere(self) -> bool:
        return len(self.groups) == 1 and len(self.groups[0][1]) == len(SEARCH_LANGUAGES)

    def _combined(self) -> sa.ColumnElement[Any]:
        return sa.cast(" | ".join(f"({query})" for query, _ in self.groups), TSQUERY)

    def rank(self, search: sa.ColumnElement[Any] = signal.c.search) -> sa.ColumnElement[float]:
        """Return the relevance of a signal (ts_rank against any of the stemmed queries)."""
        return sa.func.ts_rank(search, self._combined(), type_=sa.Float)


# The query stemmed in each language (its text search configuration's oid), and whether
# the phrase index exists.
_STEMMED = """
SELECT CAST(ts_config(l) AS oid), CAST(websearch_to_tsquery(ts_config(l), :q) AS text),
       to_regclass(:pairs) IS NOT NULL
FROM unnest(CAST(:languages AS text[])) AS l
"""


def text_query(connection: Connection, text: str, lang: str | None) -> TextQuery:
    """Stem a web-style query (quotes, OR, -word) in the signals' languages, or in `lang`."""
    query = _checked(text)
    languages = [lang] if lang is not None else list(SEARCH_LANGUAGES)
    rows = connection.execute(
        sa.text(_STEMMED),
        {"q": query, "languages": languages, "pairs": f"{SCHEMA}.{PHRASE_INDEX}"},
    ).all()
    grouped: dict[str, list[int]] = {}
    for config, stemmed, _ in rows:
        if stemmed:  # only stop words: nothing to match in that language
            grouped.setdefault(stemmed, []).append(config)
    stemmed_query = TextQuery(tuple((q, tuple(configs)) for q, configs in grouped.items()))
    # Pairs only with their index (see db/phrase_index.py): without it, the condition
    # would hash every candidate's pairs as it is read.
    if stemmed_query.has_phrase and rows[0][2]:
        return replace(stemmed_query, pairs=required_pairs(list(grouped)))
    return stemmed_query
