"""Name normalisation, field comparisons, blocking keys and the match model, without a database."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from signalgraph.resolve.compare import (
    Profile,
    blocking_keys,
    compare,
    fields_for,
    make_profile,
    name_similarity,
    set_weights,
)
from signalgraph.resolve.model import PRIOR_FLOOR, Model, probability, train
from signalgraph.resolve.names import fold, normalize_name, org_tokens, soundex


def profile(name: str, kind: str = "company", **properties: Any) -> Profile:
    identifiers = properties.pop("identifiers", {})
    return make_profile(uuid.uuid4(), None, kind, name, [], identifiers, properties)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Société Générale S.A.", "societe generale"),
        ("ACME Robotics, Inc.", "acme robotics"),
        ("Acme Gorup Holdngs Ltd", "acme"),  # misspelt noise words after the first go too
        ("Groupon Inc", "groupon"),  # a first word is never taken for noise
        ("Truist Finl Corp", "truist financial"),
        ("Johnson & Johnson", "johnson johnson"),
        ("Novo Nordisk A/S", "novo nordisk"),
        ("Inc", "inc"),  # nothing else left: keep what there is
    ],
)
def test_organisation_names_normalise(raw: str, expected: str) -> None:
    assert normalize_name(raw, "company") == expected


def test_fold_handles_accents_case_and_punctuation() -> None:
    assert fold("  Zürich—Bank_AG  ") == "zurich bank ag"
    assert fold("A&B") == "a & b"
    assert soundex("Robert") == soundex("Rupert") == "R163"
    assert org_tokens("The Acme Group") == ("acme",)


def test_rare_shared_words_weigh_more_than_common_ones() -> None:
    names = ["century aluminum", "century communities", "ceyntury aluminum"]
    profiles = [profile(n) for n in names]
    # "century" is common in this workspace, the other words are rare.
    counts = {"t:century": 40, "t:aluminum": 2, "t:communities": 3, "t:ceyntury": 1}
    for p in profiles:
        set_weights(p, counts, 1000)
    a, b, typo = profiles
    different = name_similarity(a.norm, b.norm, a.weights, b.weights)
    misspelt = name_similarity(a.norm, typo.norm, a.weights, typo.weights)
    unweighted = name_similarity(a.norm, b.norm, {}, {})
    assert different < unweighted == pytest.approx(0.5)
    assert misspelt > 0.9
    assert compare(a, typo)["name"] == 3
    assert compare(a, b)["name"] == 0


def test_numbers_in_names_must_agree() -> None:
    levels = compare(profile("Horizon Fund 3"), profile("Horizon Fund 4"))
    assert levels["name"] == 0
    assert compare(profile("Horizon Fund 3"), profile("Horizon Fund III 3"))["name"] >= 1


def test_initials_are_weak_evidence() -> None:
    assert compare(profile("FMC"), profile("Fresenius Medical Care"))["name"] == 1


def test_person_comparisons_tolerate_swaps_and_typos() -> None:
    a = profile("Kydan McCarthy", "person", birth_date="1972-05-18", postcode="6415")
    b = profile("McCarthy Kydan", "person", birth_date="1972-18-05", postcode="6415")
    levels = compare(a, b)
    assert levels["first_name"] == 2
    assert levels["last_name"] == 2
    assert levels["birth_date"] == 2  # day and month swapped
    assert levels["postcode"] == 2
    assert levels["name"] is None  # first and last names are compared instead
    c = profile("Kydan McCarthy", "person", birth_date="1990-01-01")
    assert compare(a, c)["birth_date"] == 0


def test_blocking_keys_find_typos_swaps_and_ids() -> None:
    for typo in ("Tesal Energy", "Tsla Energy", "Teslla Energy", "Tesna Energy"):  # one typo
        shared = set(blocking_keys(profile(typo))) & set(blocking_keys(profile("Tesla Energy")))
        assert any(key.startswith("d:") for key in shared), typo
    swapped = profile("Smith John", "person", birth_date="1980-02-03")
    straight = profile("John Smith", "person", birth_date="1980-02-03")
    shared = set(blocking_keys(swapped)) & set(blocking_keys(straight))
    assert "ps:john|smith" in shared
    assert "pb:19800203" in shared
    vendor = profile("Anyone", "person", soc_sec_id="1323712")
    assert "o:soc_sec_id:1323712" in blocking_keys(vendor)
    short = profile("Anyone", "person", status="active")
    assert not any(key.startswith("o:") for key in blocking_keys(short))


def _levels(name: int, country: int | None, domain: int | None) -> dict[str, int | None]:
    return {"name": name, "country": country, "domain": domain}


def test_training_is_not_fooled_by_correlated_candidates() -> None:
    """Candidates that share a country but not a name must not be taken for matches."""
    rng = random.Random(5)
    candidates: list[dict[str, int | None]] = []
    for _ in range(400):  # true matches: names agree, domains agree when both known
        candidates.append(_levels(rng.choice([3, 4, 4]), 1, rng.choice([1, None, None])))
    for _ in range(1600):  # blocked non-matches: same country, different names and domains
        candidates.append(_levels(rng.choice([0, 0, 1]), 1, rng.choice([0, None, None])))
    randoms = [
        _levels(rng.choice([0] * 98 + [1, 2]), rng.choice([0, 1]), rng.choice([0, None]))
        for _ in range(5000)
    ]
    model = train("company", candidates, randoms, ["name", "country", "domain"])
    assert model.m["name"][0] < 0.05  # matches rarely have unrelated names
    assert 0.1 < model.prior < 0.35  # about a fifth of the candidates match
    same, _ = model.weigh(_levels(4, 1, None))
    different, _ = model.weigh(_levels(0, 1, 0))
    assert probability(same) > 0.95
    assert probability(different) < 0.05


def test_a_first_clean_load_keeps_a_usable_prior() -> None:
    rng = random.Random(9)
    candidates = [_levels(rng.choice([0, 1]), 1, None) for _ in range(500)]
    randoms = [_levels(0, rng.choice([0, 1]), None) for _ in range(1000)]
    model = train("company", candidates, randoms, ["name", "country", "domain"])
    assert model.prior == PRIOR_FLOOR
    assert Model.default("company").prior > PRIOR_FLOOR


def test_fields_for_types() -> None:
    assert "birth_date" in fields_for("person")
    assert "ticker" in fields_for("company")
    assert "birth_date" not in fields_for("company")
