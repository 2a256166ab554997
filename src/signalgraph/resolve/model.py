"""A Fellegi-Sunter model: match weights from m and u probabilities, trained without labels.

u (how often a level occurs between two random records) is counted on random pairs; m
(how often it occurs between two records of the same entity) is estimated by
expectation maximisation over the candidate pairs that blocking produces, with u held
fixed, as Splink does. Exact-name levels are adjusted for how common the name is
(term frequency): two "John Smith" records are weaker evidence than two "Ezekiel
Quist" ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from signalgraph.resolve.compare import LEVELS

# Defaults before any training: conservative, hand-set from typical data.
DEFAULT_M: dict[str, list[float]] = {
    "name": [0.02, 0.05, 0.13, 0.2, 0.6],
    "first_name": [0.05, 0.1, 0.15, 0.7],
    "last_name": [0.04, 0.08, 0.13, 0.75],
    "birth_date": [0.05, 0.05, 0.15, 0.75],
    "postcode": [0.1, 0.1, 0.8],
    "city": [0.1, 0.1, 0.8],
    "address": [0.15, 0.15, 0.7],
    "region": [0.1, 0.9],
    "country": [0.1, 0.9],
    "employer": [0.2, 0.8],
    "industry": [0.3, 0.7],
    "founded": [0.2, 0.8],
    "domain": [0.1, 0.9],
    "ticker": [0.1, 0.9],
    "email": [0.1, 0.9],
    "phone": [0.1, 0.9],
    "handle": [0.1, 0.9],
    "other": [0.3, 0.7],
}
DEFAULT_U: dict[str, list[float]] = {
    "name": [0.93, 0.05, 0.015, 0.004, 0.001],
    "first_name": [0.95, 0.03, 0.015, 0.005],
    "last_name": [0.96, 0.025, 0.01, 0.005],
    "birth_date": [0.95, 0.045, 0.004, 0.001],
    "postcode": [0.97, 0.02, 0.01],
    "city": [0.9, 0.05, 0.05],
    "address": [0.97, 0.02, 0.01],
    "region": [0.7, 0.3],
    "country": [0.8, 0.2],
    "employer": [0.8, 0.2],
    "industry": [0.6, 0.4],
    "founded": [0.8, 0.2],
    "domain": [0.999, 0.001],
    "ticker": [0.999, 0.001],
    "email": [0.999, 0.001],
    "phone": [0.999, 0.001],
    "handle": [0.999, 0.001],
    "other": [0.6, 0.4],
}
DEFAULT_PRIOR = 0.1
# Exact-match levels that get a term-frequency adjustment, and the record key counted.
TF_FIELDS = {"name": (4, "n"), "first_name": (3, "fn"), "last_name": (3, "ln")}
_FLOOR = 1e-6


@dataclass
class Model:
    """The m and u probabilities of each field level, and the prior among candidates."""

    entity_type: str
    prior: float
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    trained: bool = False
    pairs: int = 0

    @classmethod
    def default(cls, entity_type: str) -> Model:
        """Return the untrained model."""
        return cls(entity_type, DEFAULT_PRIOR, dict(DEFAULT_M), dict(DEFAULT_U))

    @classmethod
    def from_params(cls, entity_type: str, params: Mapping[str, Any], pairs: int) -> Model:
        """Rebuild a stored model (fields missing from it keep their defaults)."""
        m = dict(DEFAULT_M) | {k: list(v) for k, v in params.get("m", {}).items()}
        u = dict(DEFAULT_U) | {k: list(v) for k, v in params.get("u", {}).items()}
        return cls(entity_type, float(params.get("prior", DEFAULT_PRIOR)), m, u, True, pairs)

    def params(self) -> dict[str, Any]:
        """Return the model as JSON-able parameters."""
        return {"prior": self.prior, "m": self.m, "u": self.u}

    def weigh(
        self, levels: Mapping[str, int | None], tf: Mapping[str, float] | None = None
    ) -> tuple[float, dict[str, float]]:
        """Return the total match weight (bits) and each field's contribution."""
        prior = min(max(self.prior, 1e-6), 1 - 1e-6)
        contributions: dict[str, float] = {"prior": math.log2(prior / (1 - prior))}
        for name, level in levels.items():
            if level is None or name not in self.m:
                continue
            m = max(self.m[name][level], _FLOOR)
            u = max(self.u[name][level], _FLOOR)
            tf_field = TF_FIELDS.get(name)
            if tf and tf_field and level == tf_field[0] and name in tf:
                u = max(tf[name], _FLOOR)
            contributions[name] = math.log2(m / u)
        total: float = sum(contributions.values())
        return total, contributions


def probability(weight: float) -> float:
    """Return the match probability of a match weight in bits."""
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    odds = math.pow(2.0, weight)
    return odds / (1 + odds)


def _matrix(rows: Sequence[Mapping[str, int | None]], fields: Sequence[str]) -> np.ndarray:
    matrix = np.full((len(rows), len(fields)), -1, dtype=np.int16)
    for i, row in enumerate(rows):
        for j, name in enumerate(fields):
            level = row.get(name)
            if level is not None:
                matrix[i, j] = level
    return matrix


def estimate_u(
    random_pairs: Sequence[Mapping[str, int | None]], fields: Sequence[str]
) -> dict[str, list[float]]:
    """Return u probabilities counted on random pairs (smoothed; defaults where unseen)."""
    matrix = _matrix(random_pairs, fields)
    u: dict[str, list[float]] = {}
    for j, name in enumerate(fields):
        column = matrix[:, j]
        seen = column[column >= 0]
        if seen.size < 20:
            u[name] = list(DEFAULT_U[name])
            continue
        counts = np.bincount(seen, minlength=LEVELS[name]).astype(float)
        # Half a count of smoothing keeps rare levels from getting infinite weight.
        u[name] = list((counts + 0.5) / (counts.sum() + 0.5 * LEVELS[name]))
    return u


# Training sessions, as in Splink: each takes the candidate pairs that agree exactly on
# some fields (its anchor) and estimates m for the other fields only, so that no field
# is estimated on pairs chosen for agreeing on it. Conditional independence fails on
# blocked pairs (companies sharing a word also share a country), and a single EM over
# every candidate pair can take such a cluster for the matches.
Anchor = tuple[str, tuple[tuple[str, int], ...]]
ANCHORS: dict[str, tuple[Anchor, ...]] = {
    "person": (
        ("names", (("first_name", 3), ("last_name", 3))),
        ("birth", (("birth_date", 3),)),
        ("full name", (("name", 4),)),
    ),
    "other": (
        ("name", (("name", 4),)),
        ("domain", (("domain", 1),)),
        ("ticker", (("ticker", 1),)),
        ("contact", (("email", 1),)),
        ("phone", (("phone", 1),)),
    ),
}
MIN_SESSION_PAIRS = 50
M_FLOOR = 0.01  # at most about -6.6 bits from one field's disagreement
# The share of matches among candidates is learnt from the data at hand; a first load of
# one clean source has almost none, yet the next source may repeat it all. The floor
# keeps an exact, rare name enough to link later sightings.
PRIOR_FLOOR = 0.01


def _em(
    matrix: np.ndarray,
    columns: Sequence[int],
    log_u: Sequence[np.ndarray],
    m_arrays: list[np.ndarray],
    levels: Sequence[int],
    prior: float,
    iterations: int,
    *,
    update_m: bool = True,
    update_u: bool = False,
) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """Run EM over the pairs in `matrix` using `columns`; return m, log u and the prior."""
    m_arrays = [array.copy() for array in m_arrays]
    log_u = [array.copy() for array in log_u]
    for _ in range(iterations):
        logit = np.full(matrix.shape[0], math.log(prior / (1 - prior)))
        for j in columns:
            column = matrix[:, j]
            present = column >= 0
            values = column[present]
            logit[present] += np.log(np.maximum(m_arrays[j], _FLOOR))[values] - log_u[j][values]
        p = 1 / (1 + np.exp(-np.clip(logit, -50, 50)))
        prior = float(np.clip(p.mean(), 1e-4, 0.9999))
        for j in columns:
            column = matrix[:, j]
            present = column >= 0
            if update_m and p[present].sum() >= 1:
                counts = np.bincount(column[present], weights=p[present], minlength=levels[j])
                m_arrays[j] = (counts + 0.01) / (counts.sum() + 0.01 * levels[j])
            if update_u and (1 - p[present]).sum() >= 20:
                counts = np.bincount(column[present], weights=1 - p[present], minlength=levels[j])
                log_u[j] = np.log((counts + 0.5) / (counts.sum() + 0.5 * levels[j]))
    return m_arrays, log_u, prior


def _floored(m: np.ndarray) -> np.ndarray:
    """Keep every level possible among matches: no single field may veto a pair outright."""
    m = np.maximum(m, M_FLOOR)
    return np.asarray(m / m.sum())


def train(
    entity_type: str,
    candidate_pairs: Sequence[Mapping[str, int | None]],
    random_pairs: Sequence[Mapping[str, int | None]],
    fields: Sequence[str],
    *,
    person: bool = False,
    iterations: int = 30,
) -> Model:
    """Estimate u from random pairs, m per anchored session by EM, then the prior."""
    u = estimate_u(random_pairs, fields)
    model = Model(entity_type, DEFAULT_PRIOR, dict(DEFAULT_M), u, True, len(candidate_pairs))
    if len(candidate_pairs) < MIN_SESSION_PAIRS:
        return model
    matrix = _matrix(candidate_pairs, fields)
    index = {name: j for j, name in enumerate(fields)}
    levels = [LEVELS[name] for name in fields]
    log_u = [np.log(np.maximum(np.array(u[name]), _FLOOR)) for name in fields]
    defaults = [np.array(DEFAULT_M[name], dtype=float) for name in fields]
    estimates: dict[int, list[np.ndarray]] = {}
    for _, anchor in ANCHORS["person" if person else "other"]:
        if any(name not in index for name, _ in anchor):
            continue
        chosen = np.ones(matrix.shape[0], dtype=bool)
        for name, level in anchor:
            chosen &= matrix[:, index[name]] == level
        if chosen.sum() < MIN_SESSION_PAIRS:
            continue
        anchored = {index[name] for name, _ in anchor}
        columns = [j for j in range(len(fields)) if j not in anchored]
        m_arrays, _, _ = _em(matrix[chosen], columns, log_u, defaults, levels, 0.5, iterations)
        for j in columns:
            if (matrix[chosen][:, j] >= 0).sum() >= 10:
                estimates.setdefault(j, []).append(m_arrays[j])
    m_final = [
        _floored(np.mean(estimates[j], axis=0)) if j in estimates else defaults[j]
        for j in range(len(fields))
    ]
    # The prior among candidates and u among them, with m fixed. Candidates were chosen
    # for sharing a word or a key, so between two of them that are different entities
    # a shared word is common; u counted on random pairs would overrate it.
    _, log_u_candidates, prior = _em(
        matrix, range(len(fields)), log_u, m_final, levels, 0.2, iterations,
        update_m=False, update_u=True,
    )  # fmt: skip
    model.prior = max(prior, PRIOR_FLOOR)
    model.u = dict(u) | {
        name: [float(x) for x in np.exp(log_u_candidates[j])] for j, name in enumerate(fields)
    }
    model.m = dict(DEFAULT_M) | {name: list(m_final[j]) for j, name in enumerate(fields)}
    model.pairs = len(candidate_pairs)
    return model
