"""Generate the demo's sample of company-news signals (deterministic; output is committed).

    python scripts/make_sample_signals.py > src/signalgraph/data/sample_signals.ndjson

Fictional companies, people and investors; realistic shapes: funding rounds,
acquisitions, launches, hires, trial results, partnerships. Some articles are
syndicated verbatim (exact duplicates), some re-published with a tracking URL, some
lightly edited (near duplicates), and a few lines are broken on purpose.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

import orjson

COMPANIES = [
    ("Northwind Robotics", "northwind-robotics.com", None, "Austin"),
    ("Helix Therapeutics", "helixtx.com", "HLXT", "Boston"),
    ("Bluefin Analytics", "bluefin.ai", None, "London"),
    ("Quarry Health", "quarryhealth.io", None, "Berlin"),
    ("Cobalt Grid", "cobaltgrid.energy", "CBGD", "Denver"),
    ("Lumen Foods", "lumenfoods.com", None, "Amsterdam"),
    ("Vantage Orbital", "vantageorbital.space", None, "Toulouse"),
    ("Parallax Security", "parallaxsec.com", "PRLX", "Tel Aviv"),
    ("Meridian Bio", "meridianbio.com", "MRDB", "San Diego"),
    ("Tessellate", "tessellate.dev", None, "Stockholm"),
    ("Ostrava Materials", "ostravamaterials.cz", None, "Prague"),
    ("Kestrel Logistics", "kestrel-logistics.com", None, "Rotterdam"),
]
NAME_VARIANTS = {
    "Helix Therapeutics": ["Helix Therapeutics Inc.", "HELIX THERAPEUTICS", "Helix Tx"],
    "Northwind Robotics": ["Northwind Robotics Ltd", "Northwind"],
    "Cobalt Grid": ["Cobalt Grid Corp.", "CobaltGrid"],
    "Meridian Bio": ["Meridian Bio, Inc.", "Meridian Biosciences"],
}
INVESTORS = [
    "Foxglove Ventures",
    "Granite Peak Capital",
    "Atlas Growth Partners",
    "Seaborne Ventures",
    "Juniper Road Capital",
]
PEOPLE = [
    ("Maya Lindqvist", "chief executive"),
    ("Daniel Okafor", "chief technology officer"),
    ("Priya Raman", "chief financial officer"),
    ("Tomás Herrera", "head of research"),
    ("Elena Petrova", "chief operating officer"),
    ("Samuel Achterberg", "general partner"),
]
OUTLETS = ["wire.example.com", "techdesk.example.org", "biotechdaily.example.net"]
FILLER = [
    "The company said the proceeds would fund hiring across engineering and sales.",
    "Analysts noted that the sector has seen steady investment over the past year.",
    "Customers in logistics, healthcare and manufacturing are among its early adopters.",
    "The firm did not disclose its valuation, but people familiar with the matter "
    "described it as substantially higher than in its previous round.",
    "Regulators in several markets are expected to review similar deals more closely.",
    "Its platform combines sensor data with forecasting models to cut costs for operators.",
    "The announcement follows a year in which revenue roughly doubled, according to the company.",
    "Competition in the segment remains intense, "
    "with several larger incumbents expanding their offerings.",
    "Employees were told of the plans at an all-hands meeting earlier in the week.",
    "The company expects to close the transaction in the coming quarter, "
    "subject to customary conditions.",
    "Shares of listed peers moved little on the news.",
    "A spokesperson declined to comment on future fundraising plans.",
    "The team has grown to more than a hundred people across three offices.",
    "Industry groups welcomed the move, citing a shortage of capacity in the region.",
    "Earlier this year the company signed its first multi-year contract with a utility.",
    "The board said it would review its strategy once the integration is complete.",
    "Critics have questioned whether the pricing can be sustained at scale.",
    "The startup was founded by former engineers from two large research labs.",
    "It plans to open a second manufacturing site before the end of next year.",
    "Investors in earlier rounds also took part in the financing.",
    "Trading volumes in the sector rose sharply after the announcement.",
    "The company said the new funds extend its runway well into the next decade.",
    "Several customers have already migrated their workloads to the platform.",
    "The deal values the combined business at several times last year's revenue.",
    "Management reiterated its full-year guidance in a short statement.",
]


def mention(kind: str, text: str, article: str, **identifiers: str) -> dict[str, object]:
    start = article.find(text)
    return {
        "type": kind,
        "text": text,
        "identifiers": {k: v for k, v in identifiers.items() if v},
        "start": start if start >= 0 else None,
        "end": start + len(text) if start >= 0 else None,
        "confidence": 0.97 if start >= 0 else 0.6,
    }


def company_name(rng: random.Random, name: str) -> str:
    variants = NAME_VARIANTS.get(name, [])
    return rng.choice(variants) if variants and rng.random() < 0.35 else name


def article(rng: random.Random, index: int) -> dict[str, object]:
    name, domain, ticker, city = rng.choice(COMPANIES)
    shown = company_name(rng, name)
    person, role = rng.choice(PEOPLE)
    investor = rng.choice(INVESTORS)
    other = rng.choice([c for c in COMPANIES if c[0] != name])
    amount = rng.choice([8, 12, 20, 35, 50, 75, 120, 250])
    kind = rng.choice(["funding", "acquisition", "launch", "hire", "trial", "partnership"])
    if kind == "funding":
        title = f"{shown} raises ${amount}M to expand in {city}"
        lead = (
            f"{shown} has raised ${amount} million in a round led by {investor}, "
            f"{person}, its {role}, said on {rng.choice(['Monday', 'Tuesday', 'Thursday'])}."
        )
    elif kind == "acquisition":
        title = f"{other[0]} agrees to buy {shown}"
        lead = (
            f"{other[0]} has agreed to acquire {shown} for about ${amount * 4} million, "
            f"the companies said, in a deal backed by {investor}."
        )
    elif kind == "launch":
        title = f"{shown} launches new platform for operators"
        lead = (
            f"{shown} unveiled a new product on its site {domain} aimed at large operators, "
            f"and {person} said pilots were already running in {city}."
        )
    elif kind == "hire":
        title = f"{shown} names {person} as {role}"
        lead = (
            f"{shown} appointed {person} as {role}, effective immediately, "
            f"as the {city}-based company prepares for its next stage of growth."
        )
    elif kind == "trial":
        title = f"{shown} reports positive mid-stage trial results"
        lead = (
            f"{shown} said its lead candidate met the primary endpoint in a phase 2 study, "
            f"sending shares{f' ({ticker})' if ticker else ''} sharply higher in early trading."
        )
    else:
        title = f"{shown} and {other[0]} announce partnership"
        lead = (
            f"{shown} and {other[0]} will jointly develop products for customers in {city}, "
            f"{person} said in a statement."
        )
    body = " ".join(rng.sample(FILLER, k=5))
    text = f"{lead} {body}"
    published = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 300))
    outlet = rng.choice(OUTLETS)
    mentions = [mention("company", shown, text, domain=domain, ticker=ticker or "")]
    if person in text:
        mentions.append(mention("person", person, text))
    if investor in text:
        mentions.append(mention("organization", investor, text))
    if other[0] in text:
        mentions.append(mention("company", other[0], text, domain=other[1], ticker=other[2] or ""))
    return {
        "external_id": f"nw-{index:05d}",
        "kind": "article",
        "title": title,
        "text": text,
        "url": f"https://{outlet}/{published:%Y/%m/%d}/{index}-{name.lower().replace(' ', '-')}",
        "author": rng.choice(["Staff reporter", "A. Novak", "J. Mbeki", "R. Castillo"]),
        "lang": "en",
        "published_at": published.isoformat().replace("+00:00", "Z"),
        "metadata": {"outlet": outlet, "topic": kind, "sentiment": round(rng.uniform(-1, 1), 2)},
        "mentions": mentions,
    }


def main() -> None:
    rng = random.Random(20261127)
    lines: list[bytes] = []
    originals = [article(rng, i) for i in range(260)]
    records: list[dict[str, object]] = list(originals)
    for n, source in enumerate(rng.sample(originals, 18)):  # syndicated verbatim elsewhere
        copy = dict(source, external_id=f"nw-syn-{n:03d}")
        copy["url"] = f"https://syndicate.example.com/story/{n}"
        records.append(copy)
    for n, source in enumerate(rng.sample(originals, 8)):  # same URL, tracking parameters
        copy = dict(source, external_id=f"nw-trk-{n:03d}", title=f"{source['title']} (update)")
        copy["text"] = f"{source['text']} This story has been updated."
        copy["url"] = f"{source['url']}?utm_source=newsletter&utm_medium=email&fbclid=abc{n}"
        records.append(copy)
    for n, source in enumerate(rng.sample(originals, 12)):  # lightly edited copies
        text = str(source["text"])
        edited = f"{text} (Reuters)" if n % 2 else text.replace(" the ", " a ", 1)
        copy = dict(source, external_id=f"nw-ed-{n:03d}", text=edited)
        copy["url"] = f"https://mirror.example.net/{n}"
        records.append(copy)
    rng.shuffle(records)
    for record in records:
        lines.append(orjson.dumps(record))
    lines.insert(
        40, b'{"external_id": "nw-broken-1", "title": "Truncated record", "text": "cut off'
    )
    lines.insert(120, b'{"title": "A record without an external_id", "published_at": "2026-03-01"}')
    lines.insert(
        200, b'{"external_id": "nw-bad-date", "title": "Bad date", "published_at": "31/02/2026"}'
    )
    sys.stdout.buffer.write(b"\n".join(lines) + b"\n")


if __name__ == "__main__":
    main()
