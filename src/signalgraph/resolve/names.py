"""Name normalisation and blocking keys for people and organisations."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

# Legal-form words, stripped from organisation names (compared after punctuation removal,
# so "A/S" is "a s" and "S.A." is "s a").
LEGAL_FORMS = frozenset(
    """
    inc incorporated corp corporation co company cos ltd limited llc llp lp plc
    gmbh mbh ag kg kgaa se sa sas sasu sarl sl slu spa srl bv nv ab as a/s aps oy oyj
    asa kk pty pte bhd sdn nl cv sab de cv ohg ug ltda eirl sca scs scrl
    """.split()
)
# Multi-word forms after punctuation removal.
_LEGAL_PHRASES = (
    ("a", "s"),
    ("s", "a"),
    ("n", "v"),
    ("b", "v"),
    ("s", "p", "a"),
    ("s", "a", "s"),
    ("s", "r", "l"),
    ("s", "l"),
    ("l", "l", "c"),
    ("p", "l", "c"),
    ("a", "g"),
    ("s", "e"),
    ("co", "ltd"),
    ("pty", "ltd"),
    ("sdn", "bhd"),
    ("sa", "de", "cv"),
    ("s", "a", "b", "de", "c", "v"),
)
ORG_NOISE = frozenset({"the", "group", "holding", "holdings"})
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "jr", "sr"})
ABBREVIATIONS = {
    "intl": "international",
    "int": "international",
    "tech": "technologies",
    "technology": "technologies",
    "mfg": "manufacturing",
    "svcs": "services",
    "svc": "services",
    "sys": "systems",
    "natl": "national",
    "assoc": "associates",
    "bros": "brothers",
    "ind": "industries",
    "inds": "industries",
    "pharma": "pharmaceuticals",
    "pharmaceutical": "pharmaceuticals",
    "labs": "laboratories",
    "lab": "laboratories",
    "mgmt": "management",
    "dev": "development",
    "fin": "financial",
    "hldgs": "holdings",
    "grp": "group",
    "ctr": "center",
    "finl": "financial",
    "fincl": "financial",
    "res": "resources",
    "props": "properties",
    "mtn": "mountain",
    "elec": "electric",
    "comms": "communications",
    "amer": "american",
    "ins": "insurance",
    "assn": "association",
    "eng": "engineering",
    "inv": "investment",
    "invt": "investment",
    "semi": "semiconductor",
    "solns": "solutions",
    "ent": "entertainment",
    "chem": "chemical",
    "univ": "university",
    "mgt": "management",
    "centre": "center",
    "and": "&",
}
PERSON_TYPES = frozenset({"person"})
_PUNCT = re.compile(r"[^\w&]+", re.UNICODE)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Return text without accents, casefolded, with punctuation as spaces, collapsed."""
    if text.isascii():
        stripped = text  # nothing to decompose (the common case, and much faster)
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    cleaned = _PUNCT.sub(" ", stripped.casefold().replace("&", " & "))
    return " ".join(cleaned.replace("_", " ").split())


_PHRASES_BY_LAST: dict[str, list[tuple[str, ...]]] = {}
for _phrase in _LEGAL_PHRASES:
    _PHRASES_BY_LAST.setdefault(_phrase[-1], []).append(_phrase)


def _strip_legal_phrases(tokens: list[str]) -> list[str]:
    changed = True
    while changed and tokens:
        changed = False
        for phrase in _PHRASES_BY_LAST.get(tokens[-1], ()):
            size = len(phrase)
            if len(tokens) > size and tuple(tokens[-size:]) == phrase:
                tokens = tokens[:-size]
                changed = True
                break
        if tokens and len(tokens) > 1 and tokens[-1] in LEGAL_FORMS:
            tokens = tokens[:-1]
            changed = True
    return tokens


@lru_cache(maxsize=65536)
def org_tokens(name: str) -> tuple[str, ...]:
    """Return an organisation name's tokens: folded, abbreviations expanded, forms stripped."""
    tokens = [ABBREVIATIONS.get(token, token) for token in fold(name).split()]
    tokens = [token for token in tokens if token != "&"]
    tokens = _strip_legal_phrases(tokens)
    # Legal forms in the middle ("Acme Inc. International") and noise words go too,
    # also misspelt ones after the first word ("Acme Gorup"), unless nothing else would
    # be left.
    core = [
        t
        for i, t in enumerate(tokens)
        if t not in LEGAL_FORMS and t not in ORG_NOISE and not (i and _misspelt_noise(t))
    ]
    return tuple(core or tokens)


_LONG_NOISE = tuple(
    sorted(word for word in LEGAL_FORMS | ORG_NOISE if len(word) >= 5 and word.isalpha())
)


def _misspelt_noise(token: str) -> bool:
    """Tell whether a word is one typo away from a legal form or noise word of 5+ letters."""
    if len(token) < 4:
        return False
    return extractOne(token, _LONG_NOISE, scorer=OSA.distance, score_cutoff=1) is not None


@lru_cache(maxsize=65536)
def person_tokens(name: str) -> tuple[str, ...]:
    """Return a person's name tokens: folded, honorifics removed."""
    tokens = [token for token in fold(name).split() if token not in HONORIFICS and token != "&"]
    return tuple(tokens)


def tokens_for(name: str, entity_type: str) -> tuple[str, ...]:
    """Return the comparison tokens of a name for an entity type."""
    return person_tokens(name) if entity_type in PERSON_TYPES else org_tokens(name)


def normalize_name(name: str, entity_type: str) -> str:
    """Return the normalised form of a name (what exact name matching compares)."""
    return " ".join(tokens_for(name, entity_type))


def acronym(tokens: tuple[str, ...]) -> str | None:
    """Return the initials of a multi-word name (IBM for International Business Machines)."""
    if len(tokens) < 3:
        return None
    return "".join(token[0] for token in tokens if token)


_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


def soundex(word: str) -> str:
    """Return the American Soundex code of a word (R163 for Robert)."""
    letters = [char for char in fold(word) if char.isalpha() and char.isascii()]
    if not letters:
        return ""
    first = letters[0].upper()
    digits = []
    previous = letters[0].translate(_SOUNDEX)
    for char in letters[1:]:
        code = char.translate(_SOUNDEX)
        if code.isdigit() and code != previous:
            digits.append(code)
        if char not in "hw":
            previous = code
    return (first + "".join(digits) + "000")[:4]
