"""Templated news for the near-duplicate benchmark: distinct stories and light re-wordings.

Every story fills one of a dozen templates with its own names (companies, people,
places, products) and figures, so distinct stories share most of their words, as
templated news does. A re-wording of a story keeps its names and figures and changes
what a copy desk or a syndication feed changes: punctuation, one word, a sentence added
or removed, the casing, a boilerplate line appended.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

TEMPLATES = [
    "{company} acquires smaller rival {rival} for {amount}. The deal, announced on {day} in "
    "{city}, expands {company}'s network across the region. Chief executive {person} said the "
    "combined business would serve more customers and cut costs within two years. Shares of "
    "the company rose {percent} in early trading after the announcement.",
    "{company} raises {amount} in a funding round led by {investor}. The startup, based in "
    "{city}, plans to use the money to hire engineers and expand into new markets. Founder "
    "{person} said on {day} that demand for its products had grown {percent} over the past "
    "year. The company now employs about {count} people.",
    "{company} names {person} as its new chief financial officer. {person} joins from "
    "{rival}, where the executive led the finance team for several years. The appointment "
    "takes effect on {day}, the company said in a statement from {city}. The shares were "
    "up {percent} after the news.",
    "{company} launches {product}, a new platform for small businesses. The product, "
    "unveiled on {day} at an event in {city}, costs {amount} a year for each customer. "
    "Product chief {person} said early users had cut their costs by {percent}. Analysts "
    "said the launch puts pressure on {rival}.",
    "{company} reports quarterly revenue of {amount}, up {percent} from a year earlier. The "
    "results, published on {day}, beat what analysts had expected. Chief executive {person} "
    "said strong demand in {city} and abroad drove the growth. The company raised its "
    "forecast for the full year.",
    "{company} opens a new plant in {city} that will employ {count} workers. The site, "
    "which cost {amount} to build, will make parts for electric vehicles. Operations head "
    "{person} said on {day} that production would reach full capacity next year. Local "
    "officials welcomed the investment.",
    "{company} is sued by {rival} over a patent dispute. The lawsuit, filed on {day} in a "
    "court in {city}, seeks damages of {amount}. A spokesperson for {company} said the "
    "claims were without merit. Lawyer {person} is representing {rival} in the case.",
    "{company} agrees a partnership with {rival} to develop new software. The companies said "
    "on {day} that they would invest {amount} in the project over three years. The joint "
    "team will be based in {city} and led by {person}. The news sent shares up {percent}.",
    "{company} cuts {count} jobs as sales slow. The company said on {day} that it would "
    "close its office in {city} and save {amount} a year. Chief executive {person} called "
    "the decision painful but necessary. Revenue fell {percent} in the last quarter.",
    "{company} wins a contract worth {amount} from the government. The agreement, signed on "
    "{day} in {city}, covers the supply of equipment for five years. Sales director {person} "
    "said the contract was the largest in the company's history. It beat {rival} for the "
    "work.",
    "{company} recalls {count} units of {product} after reports of faults. The recall, "
    "announced on {day}, affects customers in {city} and nearby areas. Safety manager "
    "{person} said no injuries had been reported. The repairs are expected to cost "
    "{amount}.",
    "{company} appoints {person} to lead its expansion in {city}. The company plans to "
    "spend {amount} on new offices and hire {count} staff there. The move, disclosed on "
    "{day}, follows a similar push by {rival}. Shares closed up {percent}.",
]

PREFIXES = (
    "Tidewater Opal Harbor Summit Cedar Ironwood Bluestone Northwind Quartz Meridian Falcon "
    "Granite Juniper Lumen Maple Nimbus Orchid Pioneer Redwood Sable Silverline Solstice "
    "Sterling Tamarack Vantage Willow Zenith Aurora Beacon Cobalt Crescent Delta Ember Fjord "
    "Garnet Helix Indigo Jasper Kestrel Lantern Marble Nova Onyx Pinnacle Quill Riverbend "
    "Sapphire Thistle Umber Verdant Wavecrest Yarrow Alder Birch Copper Dune Elm Flint"
).split()
SECTORS = (
    "Logistics Health Energy Robotics Software Foods Capital Materials Systems Labs Motors "
    "Pharma Networks Analytics Foundry Biotech Aerospace Textiles Mining Retail"
).split()
FIRST = (
    "Jane John Maria Ahmed Li Sofia Lucas Emma Noah Olivia Liam Ava Mateo Mia Ethan Amara "
    "Kenji Priya Omar Elena Tomas Ines Kwame Hana Ravi Zara Felix Nadia Oscar Leila Victor "
    "Chloe Samuel Aisha Daniel Yara Hugo Lena Marcus Ingrid"
).split()
LAST = (
    "Smith Garcia Chen Okafor Novak Rossi Tanaka Patel Silva Muller Dubois Kowalski Haddad "
    "Larsen Moreau Ivanova Nguyen Costa Fischer Alvarez Sato Mensah Brennan Varga Lindqvist "
    "Petrov Romano Kaur Herrera Jansen Bakker Ortiz Yilmaz Eriksen Park Walsh Adeyemi Sousa"
).split()
CITIES = (
    "Baltimore Rotterdam Lyon Austin Osaka Denver Leeds Porto Gdansk Nairobi Seville Tampere "
    "Brisbane Calgary Turin Bilbao Dresden Malmo Cork Lille Ghent Bergen Pune Accra Quito "
    "Perth Halifax Graz Aarhus Tucson"
).split()
DAYS = "Monday Tuesday Wednesday Thursday Friday".split()
INVESTORS = (
    "Northgate Ventures, Bright Harbor Capital, Elmstreet Partners, Sequoia Ridge, "
    "Blue Anchor Fund, Keystone Growth, Halcyon Ventures, Fairwind Capital"
).split(", ")
PRODUCTS = (
    "Atlas Pro, Beacon One, Cirrus Hub, Drift Max, Echo Desk, Forge Lite, Glide Suite, "
    "Halo Core, Iris Flow, Jet Board, Kite Link, Loom Studio"
).split(", ")

# A word changed by a copy desk: never a name or a figure.
SYNONYMS = {
    "acquires": "buys",
    "smaller": "small",
    "rival": "competitor",
    "announced": "revealed",
    "expands": "extends",
    "said": "stated",
    "plans": "intends",
    "hire": "recruit",
    "new": "fresh",
    "costs": "expenses",
    "strong": "robust",
    "expected": "forecast",
    "build": "construct",
    "workers": "employees",
    "lawsuit": "suit",
    "damages": "compensation",
    "develop": "build",
    "decision": "move",
    "largest": "biggest",
    "faults": "defects",
    "spend": "invest",
    "early": "morning",
    "growth": "increase",
    "agreement": "accord",
}
ADDED_SENTENCES = [
    "The company did not respond to a request for further comment.",
    "Analysts at several banks said they would review their forecasts.",
    "The news was first reported by local media earlier in the week.",
    "Trading volumes were higher than usual for the time of year.",
]
BOILERPLATE = [
    "Reporting by the business desk; editing by the night team.",
    "Copyright 2025 Wire Services. All rights reserved. This material may not be published.",
    "Sign up for our morning newsletter to get the latest business news in your inbox.",
    "Follow us for more updates on markets, companies and the economy.",
]
EDITS = ("punctuation", "word", "sentence_added", "sentence_removed", "casing", "boilerplate")


@dataclass(frozen=True)
class Story:
    """One generated text with its story (the label) and how it was made."""

    story: int
    text: str
    edits: tuple[str, ...] = ()


def _company(rng: random.Random) -> str:
    return f"{rng.choice(PREFIXES)} {rng.choice(SECTORS)}"


def story_slots(rng: random.Random) -> dict[str, str]:
    """Return the names and figures of one story, drawn at random."""
    company = _company(rng)
    rival = _company(rng)
    while rival == company:
        rival = _company(rng)
    return {
        "company": company,
        "rival": rival,
        "person": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "amount": f"${rng.randint(2, 950)} million",
        "percent": f"{rng.randint(2, 40)}%",
        "count": f"{rng.randint(2, 60) * 50:,}",
        "day": rng.choice(DAYS),
        "city": rng.choice(CITIES),
        "investor": rng.choice(INVESTORS),
        "product": rng.choice(PRODUCTS),
    }


def sibling_slots(rng: random.Random, slots: dict[str, str], template: str) -> dict[str, str]:
    """Return a distinct story's slots: one name or figure the template uses changed."""
    used = [name for name in slots if "{" + name + "}" in template]
    name = rng.choice(used)
    fresh = dict(slots)
    while fresh[name] == slots[name]:
        fresh[name] = story_slots(rng)[name]
    return fresh


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def reword(rng: random.Random, text: str, edits: tuple[str, ...]) -> str:
    """Return the text lightly re-worded by the given edits, applied in order."""
    for edit in edits:
        if edit == "punctuation":
            choice = rng.randrange(3)
            if choice == 0 and ", " in text:
                text = text.replace(", ", " ", 1)
            elif choice == 1:
                text = text.replace(". ", "; ", 1)
            else:
                text = text.replace("said", "said:", 1).replace(".", " .", 1)
        elif edit == "word":
            present = [word for word in SYNONYMS if re.search(rf"\b{word}\b", text)]
            if present:
                word = rng.choice(present)
                text = re.sub(rf"\b{word}\b", SYNONYMS[word], text, count=1)
        elif edit == "sentence_added":
            sentences = _SENTENCE.split(text)
            sentences.insert(rng.randint(1, len(sentences)), rng.choice(ADDED_SENTENCES))
            text = " ".join(sentences)
        elif edit == "sentence_removed":
            sentences = _SENTENCE.split(text)
            if len(sentences) > 3:
                # Never the first: it holds the headline's names.
                del sentences[rng.randint(1, len(sentences) - 1)]
            text = " ".join(sentences)
        elif edit == "casing":
            text = rng.choice((str.upper, str.lower))(text)
        elif edit == "boilerplate":
            text = f"{text} {rng.choice(BOILERPLATE)}"
    return text


def labelled_set(
    stories: int, *, seed: int, copies: float = 0.35, siblings: float = 0.3
) -> list[Story]:
    """Return distinct templated stories and light re-wordings of some, in arrival order.

    A share of the stories (`siblings`) repeat a recent story with one name or figure
    changed; `copies` is the share of stories that get one or two re-wordings.

    A re-wording arrives after its story, within a few hundred texts (a syndicated copy
    hours later), so some share the story's batch and some do not.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    originals: list[Story] = []
    drawn: list[tuple[str, dict[str, str]]] = []
    while len(originals) < stories:
        if drawn and rng.random() < siblings:
            # The same event with one name or figure changed (the next quarter's results,
            # another company's press release): a distinct story, the hardest to tell.
            template, slots = drawn[rng.randrange(max(0, len(drawn) - 300), len(drawn))]
            slots = sibling_slots(rng, slots, template)
        else:
            template, slots = TEMPLATES[len(originals) % len(TEMPLATES)], story_slots(rng)
        text = template.format(**slots)
        if text not in seen:  # distinct stories only
            seen.add(text)
            drawn.append((template, slots))
            originals.append(Story(len(originals), text))
    arrivals: list[tuple[float, int, Story]] = []
    for position, story in enumerate(originals):
        arrivals.append((position, 0, story))
        if rng.random() < copies:
            for copy in range(1, 1 + rng.choice((1, 1, 2))):
                edits = tuple(rng.sample(EDITS, rng.choice((1, 1, 2))))
                if edits == ("casing",):  # casing alone folds to the same text: an exact copy
                    edits = ("casing", rng.choice(EDITS[:4]))
                text = reword(rng, story.text, edits)
                later = position + rng.uniform(1, 600)
                arrivals.append((later, copy, Story(story.story, text, edits)))
    arrivals.sort(key=lambda arrival: (arrival[0], arrival[1]))
    return [story for _, _, story in arrivals]


def similar_texts(count: int, *, seed: int) -> list[str]:
    """Return short texts from a small vocabulary: one story, only its amount changes.

    Every pair shares a simhash band and half of all pairs are within distance 3 (the
    shape of the issue's reproduction: 20,000 texts, over 19,000 marked near duplicates
    before, each compared with every earlier one).
    """
    rng = random.Random(seed)
    return [
        TEMPLATES[0].format(
            company="Tidewater Logistics",
            rival="Harbor Foods",
            person="Jane Smith",
            amount=f"${rng.randint(100, 999_999):,} thousand",
            percent="4%",
            day="Tuesday",
            city="Baltimore",
        )
        for _ in range(count)
    ]
