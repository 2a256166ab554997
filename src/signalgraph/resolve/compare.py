"""Record profiles and field comparisons: each field of a pair compares to a level.

Levels are small integers, higher meaning closer agreement, or None when either side
lacks the field (a missing value is no evidence either way). The model turns levels
into match weights.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import token_set_ratio

from signalgraph.resolve.identifiers import PLATFORMS, is_unique
from signalgraph.resolve.names import PERSON_TYPES, acronym, fold, soundex, tokens_for

PERSON_FIELDS = (
    "first_name", "last_name", "name", "birth_date", "email", "phone", "address", "city",
    "postcode", "region", "country", "employer", "handle", "other",
)  # fmt: skip
ORG_FIELDS = ("name", "domain", "ticker", "email", "phone", "handle", "country", "city",
              "postcode", "address", "industry", "founded", "other")  # fmt: skip
# Number of levels of each field (level values run 0 .. n-1).
LEVELS = {
    "name": 5,
    "first_name": 4,
    "last_name": 4,
    "birth_date": 4,
    "postcode": 3,
    "city": 3,
    "address": 3,
    "region": 2,
    "country": 2,
    "employer": 2,
    "industry": 2,
    "founded": 2,
    "domain": 2,
    "ticker": 2,
    "email": 2,
    "phone": 2,
    "handle": 2,
    "other": 2,
}
# What each level means, lowest first (fields not named here have two: different, same).
LEVEL_NAMES = {
    "name": ("different", "weakly alike", "alike", "nearly the same", "same"),
    "first_name": ("different", "weakly alike", "nearly the same", "same"),
    "last_name": ("different", "weakly alike", "nearly the same", "same"),
    "birth_date": ("different", "same year", "one digit or day/month apart", "same"),
    "postcode": ("different", "one character apart", "same"),
    "city": ("different", "nearly the same", "same"),
    "address": ("different", "alike", "same"),
}
_TWO_LEVELS = ("different", "same")


def level_name(field: str, level: int | None) -> str:
    """Return what a field's comparison level means ("missing" when either side lacks it)."""
    if level is None:
        return "missing"
    names = LEVEL_NAMES.get(field, _TWO_LEVELS)
    return names[level] if 0 <= level < len(names) else str(level)


STANDARD_PROPERTIES = frozenset(
    {"first_name", "last_name", "birth_date", "email", "phone", "address", "city", "postcode",
     "region", "country", "employer", "website", "industry", "founded"}
)  # fmt: skip


_DIGITS = re.compile(r"\d+")
# Types that may be one thing: a named-entity tagger's ORG is often a company.
_FAMILIES = {"company": "organization", "organization": "organization"}


def family(entity_type: str) -> str:
    """Return the group of types a record of this type may resolve across."""
    return _FAMILIES.get(entity_type, entity_type)


def fields_for(entity_type: str) -> tuple[str, ...]:
    """Return the compared fields of an entity type."""
    return PERSON_FIELDS if entity_type in PERSON_TYPES else ORG_FIELDS


@dataclass(slots=True)
class Profile:
    """What is compared of one record, computed once."""

    record_id: uuid.UUID
    entity_id: uuid.UUID | None
    type: str
    name: str
    norm: str
    tokens: tuple[str, ...]
    norms: frozenset[str]
    unique_ids: dict[str, frozenset[str]]
    ids: dict[str, frozenset[str]]
    props: dict[str, str]
    other: dict[str, str]
    first: str | None = None
    last: str | None = None
    birth: str | None = None
    created_at: Any = None
    keys: list[str] = field(default_factory=list)
    # How telling each name token is (inverse document frequency), set by set_weights;
    # unset, every token counts the same.
    weights: dict[str, float] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = fold(str(value))
    return text or None


def _birth(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) == 8:
        return digits  # YYYYMMDD, possibly invalid (typos are compared as digits)
    try:
        return date.fromisoformat(text[:10]).strftime("%Y%m%d")
    except ValueError:
        return digits or None


def make_profile(
    record_id: uuid.UUID,
    entity_id: uuid.UUID | None,
    entity_type: str,
    name: str,
    aliases: list[str] | tuple[str, ...],
    identifiers: Mapping[str, list[str]],
    properties: Mapping[str, Any],
    created_at: Any = None,
) -> Profile:
    """Build the comparison profile of one record."""
    tokens = tokens_for(name, entity_type)
    norm = " ".join(tokens)
    norms = {norm} | {" ".join(tokens_for(alias, entity_type)) for alias in aliases}
    norms.discard("")
    unique: dict[str, frozenset[str]] = {}
    ids: dict[str, set[str]] = {}
    for scheme, values in identifiers.items():
        group = "handle" if scheme in PLATFORMS else scheme
        target = unique if is_unique(scheme) else None
        if target is not None:
            target[scheme] = frozenset(values)
        else:
            ids.setdefault(group, set()).update(f"{scheme}:{v}" if group == "handle" else v
                                                for v in values)  # fmt: skip
    props: dict[str, str] = {}
    other: dict[str, str] = {}
    for key, value in properties.items():
        if key.startswith("_"):
            continue
        text = _text(value)
        if text is None:
            continue
        if key in STANDARD_PROPERTIES:
            props[key] = text
        else:
            other[key] = text
    profile = Profile(
        record_id=record_id,
        entity_id=entity_id,
        type=entity_type,
        name=name,
        norm=norm,
        tokens=tokens,
        norms=frozenset(norms),
        unique_ids=unique,
        ids={k: frozenset(v) for k, v in ids.items()},
        props=props,
        other=other,
        created_at=created_at,
    )
    if entity_type in PERSON_TYPES:
        first = props.get("first_name")
        last = props.get("last_name")
        if first is None and last is None and len(tokens) >= 2:
            first, last = tokens[0], tokens[-1]
        profile.first = " ".join(tokens_for(first, entity_type)) if first else None
        profile.last = " ".join(tokens_for(last, entity_type)) if last else None
        profile.birth = _birth(properties.get("birth_date"))
    return profile


def blocking_keys(profile: Profile) -> list[str]:
    """Return the record keys that find a record's candidates (and count name frequency)."""
    keys: set[str] = set()
    for scheme, values in profile.unique_ids.items():
        keys.update(f"id:{scheme}:{value}" for value in values)
    for group, values in profile.ids.items():
        keys.update(f"id:{group}:{value}" for value in values)
    for norm in profile.norms:
        keys.add(f"n:{norm}")
    for name, value in profile.other.items():
        if len(value) >= 5 and any(char.isdigit() for char in value):
            keys.add(f"o:{name}:{value}")  # an unknown property that looks like an id
    if profile.type in PERSON_TYPES:
        first, last, birth = profile.first, profile.last, profile.birth
        postcode = profile.props.get("postcode")
        if first:
            keys.add(f"fn:{first}")
        if last:
            keys.add(f"ln:{last}")
            keys.add(f"px:{soundex(last)}|{(first or ' ')[0]}")
        if first and last:
            keys.add(f"pn:{first}|{last}")
            keys.add("ps:" + "|".join(sorted((first, last))))  # swapped first and last names
        if birth:
            keys.add(f"pb:{birth}")
        if birth and last:
            keys.add(f"pl:{last}|{birth}")
        if birth and first:
            keys.add(f"pf:{first}|{birth}")
        if birth and postcode:
            keys.add(f"pd:{birth}|{postcode}")
        if postcode and last:
            keys.add(f"pp:{postcode}|{last[:2]}")
        return sorted(keys)
    tokens = profile.tokens
    if len(tokens) >= 2:
        keys.add("s:" + " ".join(sorted(tokens)))
    keys.update(key for key in map(token_key, tokens) if key)
    if tokens:
        head = tokens[0]
        if len(head) >= 5:
            keys.add(f"p4:{head[:4]}")
            keys.add(f"s4:{head[-4:]}")
        if 4 <= len(head) <= 14 and not head.isdigit():
            # The word and the word with one letter deleted: two spellings one typo apart
            # (a letter changed, swapped, added or lost) share one of these.
            keys.add(f"d:{head}")
            keys.update(f"d:{head[:i]}{head[i + 1 :]}" for i in range(len(head)))
        initials = acronym(tokens)
        if initials:
            keys.add(f"ac:{initials}")
        elif len(tokens) == 1 and 2 <= len(head) <= 5:
            keys.add(f"ac:{head}")
    return sorted(keys)


# -- comparisons ---------------------------------------------------------------------


TOKEN_CLOSE = 0.9  # Jaro-Winkler at which two name tokens count as one word with a typo


def token_key(token: str) -> str | None:
    """Return the record key that counts a name token (None for tokens not counted)."""
    return f"t:{token}" if len(token) >= 3 and not token.isdigit() else None


def set_weights(profile: Profile, counts: Mapping[str, int], population: int) -> None:
    """Give each name token of a profile its weight: rare words tell more than common ones."""
    weights: dict[str, float] = {}
    for norm in profile.norms:
        for token in norm.split():
            if token in weights:
                continue
            key = token_key(token)
            seen = max(counts.get(key, 1), 1) if key else 1
            weights[token] = math.log((population + 1) / seen) + 1.0
    profile.weights = weights


def _token_match(token: str, others: list[str]) -> tuple[str | None, float]:
    best, score = None, 0.0
    for other in others:
        if other == token:
            return other, 1.0
        if token.isdigit() or other.isdigit():
            continue
        similarity = JaroWinkler.similarity(token, other)
        if similarity > score:
            best, score = other, similarity
    return (best, score) if score >= TOKEN_CLOSE else (None, 0.0)


def name_similarity(
    x: str, y: str, weights_x: Mapping[str, float], weights_y: Mapping[str, float]
) -> float:
    """Return how much of two names' weight their shared (or nearly shared) words carry.

    A weighted, typo-tolerant Dice coefficient over words (in the spirit of soft TF-IDF):
    "Century Aluminum" and "Century Communities" share only the common "century", so
    they score low; "Ceyntury Aluminum" and "Century Aluminum" score near one.
    """
    tokens_x, tokens_y = x.split(), y.split()
    if not tokens_x or not tokens_y:
        return 0.0
    own_x = sum(weights_x.get(t, 1.0) for t in tokens_x)
    own_y = sum(weights_y.get(t, 1.0) for t in tokens_y)
    shared_x = shared_y = 0.0
    free = list(tokens_y)
    for token in tokens_x:
        match, score = _token_match(token, free)
        if match is None:
            continue
        free.remove(match)
        shared_x += score * weights_x.get(token, 1.0)
        shared_y += score * weights_y.get(match, 1.0)
    return (shared_x + shared_y) / (own_x + own_y)


def _name_level(a: Profile, b: Profile) -> int | None:
    if not a.norm or not b.norm:
        return None
    if a.norms & b.norms:
        return 4
    best = 0
    for x in a.norms:
        for y in b.norms:
            digits_x, digits_y = _DIGITS.findall(x), _DIGITS.findall(y)
            if digits_x and digits_y and sorted(digits_x) != sorted(digits_y):
                continue  # "Fund 3" is not "Fund 4", however alike the letters
            if x.replace(" ", "") == y.replace(" ", ""):
                return 3  # "Service Now" and "ServiceNow"
            similarity = name_similarity(x, y, a.weights, b.weights)
            if similarity >= 0.9:
                return 3
            initials_x = acronym(tuple(x.split()))
            initials_y = acronym(tuple(y.split()))
            if similarity >= 0.7:
                best = max(best, 2)
            elif (
                similarity >= 0.5
                or (initials_x and initials_x == y)
                or (initials_y and initials_y == x)
            ):
                best = max(best, 1)  # initials are weak: FMC is many companies
    return best


def _first_level(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    if a == b:
        return 3
    jaro = JaroWinkler.similarity(a, b)
    if jaro >= 0.92:
        return 2
    if jaro >= 0.8 or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return 1
    return 0


def _last_level(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    if a == b:
        return 3
    jaro = JaroWinkler.similarity(a, b)
    if jaro >= 0.92:
        return 2
    if jaro >= 0.8 or soundex(a) == soundex(b):
        return 1
    return 0


def _birth_level(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    if a == b:
        return 3
    if len(a) == len(b) == 8:
        swapped = a[:4] + a[6:8] + a[4:6]
        if Levenshtein.distance(a, b) == 1 or swapped == b:
            return 2
        if a[:4] == b[:4]:
            return 1
    elif Levenshtein.distance(a, b) == 1:
        return 2
    return 0


def _exact(a: str | None, b: str | None) -> int | None:
    if a is None or b is None:
        return None
    return 1 if a == b else 0


def _close(a: str | None, b: str | None, levels: int = 3) -> int | None:
    if a is None or b is None:
        return None
    if a == b:
        return levels - 1
    if levels > 2 and JaroWinkler.similarity(a, b) >= 0.9:
        return 1
    return 0


def _postcode(a: str | None, b: str | None) -> int | None:
    if a is None or b is None:
        return None
    if a == b:
        return 2
    return 1 if Levenshtein.distance(a, b) == 1 else 0


def _tokens(a: str | None, b: str | None, levels: int = 3) -> int | None:
    if a is None or b is None:
        return None
    score = token_set_ratio(a, b)
    if levels == 2:
        return 1 if score >= 85 else 0
    if score >= 90:
        return 2
    return 1 if score >= 70 else 0


def _set(a: frozenset[str] | None, b: frozenset[str] | None) -> int | None:
    if not a or not b:
        return None
    return 1 if a & b else 0


def _other(a: dict[str, str], b: dict[str, str]) -> int | None:
    shared = a.keys() & b.keys()
    if not shared:
        return None
    return 1 if all(a[key] == b[key] for key in shared) else 0


def _year(a: str | None, b: str | None) -> int | None:
    if a is None or b is None:
        return None
    return 1 if a[:4] == b[:4] else 0


def compare(a: Profile, b: Profile) -> dict[str, int | None]:
    """Return the level of every compared field for a pair of records."""
    props_a, props_b = a.props, b.props
    levels: dict[str, int | None] = {
        "email": _set(a.ids.get("email"), b.ids.get("email")),
        "phone": _set(a.ids.get("phone"), b.ids.get("phone")),
        "handle": _set(a.ids.get("handle"), b.ids.get("handle")),
        "country": _exact(props_a.get("country"), props_b.get("country")),
        "city": _close(props_a.get("city"), props_b.get("city")),
        "postcode": _postcode(props_a.get("postcode"), props_b.get("postcode")),
        "address": _tokens(props_a.get("address"), props_b.get("address")),
        "other": _other(a.other, b.other),
    }
    if a.type in PERSON_TYPES:
        has_parts = (a.first or a.last) and (b.first or b.last)
        first, last = _first_level(a.first, b.first), _last_level(a.last, b.last)
        if a.first and a.last and b.first and b.last and (first or 0) + (last or 0) < 4:
            # First and last names swapped ("Kydan McCarthy", "McCarthy Kydan") count as
            # close, not exact, agreement.
            swapped_first = _first_level(a.first, b.last) or 0
            swapped_last = _last_level(a.last, b.first) or 0
            if swapped_first + swapped_last > (first or 0) + (last or 0):
                first, last = min(swapped_first, 2), min(swapped_last, 2)
        levels["first_name"] = first
        levels["last_name"] = last
        # The full name only counts when first and last names cannot be compared.
        levels["name"] = None if has_parts else _name_level(a, b)
        levels["birth_date"] = _birth_level(a.birth, b.birth)
        levels["region"] = _exact(props_a.get("region"), props_b.get("region"))
        levels["employer"] = _tokens(props_a.get("employer"), props_b.get("employer"), 2)
    else:
        levels["name"] = _name_level(a, b)
        levels["domain"] = _set(a.ids.get("domain"), b.ids.get("domain"))
        levels["ticker"] = _set(a.ids.get("ticker"), b.ids.get("ticker"))
        levels["industry"] = _tokens(props_a.get("industry"), props_b.get("industry"), 2)
        levels["founded"] = _year(props_a.get("founded"), props_b.get("founded"))
    return levels


def unique_agreement(a: Profile, b: Profile) -> tuple[bool, bool]:
    """Return (shares a unique identifier, differs on a unique scheme both have)."""
    shared = conflict = False
    for scheme, values in a.unique_ids.items():
        other = b.unique_ids.get(scheme)
        if not other:
            continue
        if values & other:
            shared = True
        else:
            conflict = True
    return shared, conflict
