"""The differencing attack, under the site's default policy.

An attacker wants to know whether patient x has LDL > 4 mmol/L. They ask two counts whose
cohorts differ by x alone: A = "LDL > 4" and B = "LDL > 4 and not x". Without protection
A - B is x's attribute. With the default policy (noise first, then small-cell bands; ε = 0.5
per count; a budget of 5.0) we show, with fixed seeds:

1. exactly (by enumerating the noise) that the best possible guess from the two answers is
   right with probability at most e^ε / (1 + e^ε) (the ε-DP bound for a balanced prior; B's
   answer is the same in both worlds, so only A's ε counts), also at the suppression
   threshold, where suppressing on the true count would give the answer away;
2. through the real gate (tokens, consent filter, budget, audit), many independent attackers
   each within their budget: their success rate matches the exact figure and stays under the
   bound;
3. that averaging the noise away needs far more repetitions than the budget allows, and that
   the gate refuses them (429).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import pytest
from gov_support import DATASET, SITE, Keys, ldl_count, pseudonym

from cardiofabric.errors import AccessError
from cardiofabric.governance import (
    Gate,
    OpenDPLaplace,
    Released,
    SeededLaplace,
    SitePolicy,
    TrustStore,
    release_count,
)
from cardiofabric.governance.audit import verify
from cardiofabric.governance.policy import DifferentialPrivacy
from cardiofabric.store import SiteStore

POLICY = SitePolicy()  # the site's default policy
EPS = POLICY.dp.epsilon_per_query
K = POLICY.min_cell_count
BOUND = math.exp(EPS) / (1 + math.exp(EPS))  # ≈ 0.622 for ε = 0.5
Outcome = int | str


def _outcome(r: Released) -> Outcome:
    return r.count if r.count is not None else ("few" if r.suppressed else "none")


def _value(o: Outcome) -> float:
    """The attacker's numeric reading of an answer: "fewer than k" as its middle."""
    return float(o) if isinstance(o, int) else (K / 2 if o == "few" else 0.0)


def _distribution(n: int, policy: SitePolicy = POLICY) -> dict[Outcome, float]:
    """The exact distribution of the released answer for a true count n (noise enumerated)."""
    a = math.exp(-policy.dp.epsilon_per_query)
    dist: dict[Outcome, float] = defaultdict(float)
    for z in range(-120, 121):  # the tail beyond |z| = 120 has mass below e^-60
        noisy = n + z
        o: Outcome = noisy if noisy >= K else ("few" if noisy >= 1 else "none")
        dist[o] += (1 - a) / (1 + a) * a ** abs(z)
    return dist


def _best_accuracy(n: int) -> float:
    """The optimal attacker (prior 1/2): 1/2 + TV/2 between A's answers in the two worlds."""
    p1, p0 = _distribution(n + 1), _distribution(n)
    tv = 0.5 * sum(abs(p1.get(o, 0.0) - p0.get(o, 0.0)) for o in set(p1) | set(p0))
    return 0.5 + 0.5 * tv


def _attacker_accuracy(n: int) -> float:
    """This test's attacker exactly: guess "has it" when value(A) > value(B), a coin on ties."""
    p1, p0, pb = _distribution(n + 1), _distribution(n), _distribution(n)
    right = 0.0
    for b, qb in pb.items():
        for a, q in p1.items():  # world 1: x has the attribute
            d = _value(a) - _value(b)
            right += 0.5 * q * qb * (1.0 if d > 0 else 0.5 if d == 0 else 0.0)
        for a, q in p0.items():  # world 0
            d = _value(a) - _value(b)
            right += 0.5 * q * qb * (1.0 if d < 0 else 0.5 if d == 0 else 0.0)
    return right


@pytest.mark.parametrize("n", [0, K - 1, 9, 40])
def test_the_best_guess_is_within_the_dp_bound(n: int) -> None:
    best = _best_accuracy(n)
    assert 0.5 < best <= BOUND + 1e-12
    assert _attacker_accuracy(n) <= best + 1e-12


def test_suppressing_the_true_count_would_give_the_patient_away() -> None:
    """Why noise comes before the bands: exact counts with suppression at k are told apart."""
    exact = SitePolicy(dp=DifferentialPrivacy(enabled=False))
    a = release_count(K, exact, granularity="count")
    b = release_count(K - 1, exact, granularity="count")
    assert _outcome(a) != _outcome(b)  # certainty, whatever the suppression
    assert _best_accuracy(K - 1) <= BOUND + 1e-12  # the default policy at the same threshold


def _pair(gate: Gate, token: str, target: str) -> tuple[Outcome, Outcome]:
    a = gate.answer(f"Bearer {token}", action="discover-count", endpoint="/individuals",
                    query={"cohort": "A"}, count=ldl_count(gate), dataset=DATASET)  # fmt: skip
    b = gate.answer(f"Bearer {token}", action="discover-count", endpoint="/individuals",
                    query={"cohort": "B"}, count=ldl_count(gate, exclude=(target,)),
                    dataset=DATASET)  # fmt: skip
    return _outcome(a), _outcome(b)


def _guess(a: Outcome, b: Outcome, rng: np.random.Generator) -> bool:
    d = _value(a) - _value(b)
    return d > 0 if d != 0 else bool(rng.random() < 0.5)


def test_attackers_through_the_gate_do_no_better_than_dp_allows(
    store: SiteStore, trust: TrustStore, keys: Keys
) -> None:
    """200 attackers, each its own researcher within its own budget, half of them targeting
    a patient with LDL > 4 (pt-0000) and half one without (pt-0001)."""
    gate = Gate(store, POLICY, trust, site=SITE, datasets=[DATASET], sampler=SeededLaplace(2024))
    rng = np.random.default_rng(99)
    # The true counts, for the record: A = 10 consenting patients with LDL > 4.
    n = ldl_count(gate)(gate.authorise(gate.authenticate(f"Bearer {keys.contract()}"),
                                       action="discover-count"))  # fmt: skip
    assert n == 10
    trials = 200
    right = 0
    for i in range(trials):
        has_it = i % 2 == 0
        target = pseudonym(0) if has_it else pseudonym(1)
        token = keys.contract(researcher=f"attacker-{i}")
        a, b = _pair(gate, token, target)
        right += _guess(a, b, rng) == has_it
    accuracy = right / trials
    expected = _attacker_accuracy(n - 1)  # world 1: A = n, B = n - 1 (world 0: n and n)
    se = math.sqrt(expected * (1 - expected) / trials)
    assert abs(accuracy - expected) < 4 * se, (accuracy, expected)
    assert accuracy < BOUND + 3 * se, (accuracy, BOUND)
    assert verify(store.connection).entries == 2 * trials


def test_many_seeded_attackers_match_the_exact_figure() -> None:
    """20,000 attackers on the release step alone (seeded): tight agreement with the exact
    success rate, and clearly under the bound."""
    sampler, rng = SeededLaplace(31), np.random.default_rng(32)
    trials, right = 20_000, 0
    for i in range(trials):
        has_it = i % 2 == 0
        a = release_count(9 + has_it, POLICY, granularity="count", sampler=sampler)
        b = release_count(9, POLICY, granularity="count", sampler=sampler)
        right += _guess(_outcome(a), _outcome(b), rng) == has_it
    expected = _attacker_accuracy(9)
    se = math.sqrt(expected * (1 - expected) / trials)
    assert abs(right / trials - expected) < 4 * se
    assert right / trials < BOUND - 10 * se


def test_opendp_noise_gives_the_same_attack_success() -> None:
    """The same attack with the production sampler (OpenDP cannot be seeded: wide margin)."""
    sampler = OpenDPLaplace()
    rng = np.random.default_rng(5)
    trials, right = 2000, 0
    for i in range(trials):
        has_it = i % 2 == 0
        a = release_count(9 + has_it, POLICY, granularity="count", sampler=sampler)
        b = release_count(9, POLICY, granularity="count", sampler=sampler)
        right += _guess(_outcome(a), _outcome(b), rng) == has_it
    expected = _attacker_accuracy(9)
    se = math.sqrt(expected * (1 - expected) / trials)
    assert abs(right / trials - expected) < 5 * se


def _averaging_accuracy(pairs: int, attackers: int, seed: int) -> float:
    """Attackers who repeat the pair ``pairs`` times and average the differences."""
    sampler, rng = SeededLaplace(seed), np.random.default_rng(seed)
    right = 0
    for i in range(attackers):
        has_it = i % 2 == 0
        diffs = [
            _value(
                _outcome(release_count(9 + has_it, POLICY, granularity="count", sampler=sampler))
            )
            - _value(_outcome(release_count(9, POLICY, granularity="count", sampler=sampler)))
            for _ in range(pairs)
        ]
        mean = sum(diffs) / pairs
        guess = mean > 0.5 if mean != 0.5 else bool(rng.random() < 0.5)
        right += guess == has_it
    return right / attackers


def test_the_budget_refuses_the_repetitions_that_would_average_the_noise_out(
    gate: Gate, keys: Keys
) -> None:
    allowed_queries = round(POLICY.dp.epsilon_budget / EPS)
    allowed_pairs = allowed_queries // 2
    # The gate: one researcher gets `allowed_pairs` pairs, then 429.
    token = keys.contract(researcher="mallory")
    for _ in range(allowed_pairs):
        _pair(gate, token, pseudonym(0))
    with pytest.raises(AccessError) as info:
        _pair(gate, token, pseudonym(0))
    assert info.value.status == 429 and "ask the data steward" in str(info.value.hint)
    # What the whole budget buys an averaging attacker: under the bound for the answers about
    # x it allows (allowed_pairs answers of A: ε = allowed_pairs x 0.5).
    with_budget = _averaging_accuracy(allowed_pairs, 2000, seed=1)
    full_bound = math.exp(allowed_pairs * EPS) / (1 + math.exp(allowed_pairs * EPS))
    assert with_budget < full_bound
    # The repetitions averaging needs for a 95 % sure guess (normal approximation of the mean
    # difference; the variance of the discrete Laplace is 2a/(1-a)^2, a = e^-ε) ...
    a = math.exp(-EPS)
    sd_pair = math.sqrt(2 * 2 * a / (1 - a) ** 2)
    needed = math.ceil((1.645 * sd_pair / 0.5) ** 2)
    assert needed > 10 * allowed_pairs
    # ... and, without a budget, averaging does get there: the budget is what stops it.
    assert _averaging_accuracy(needed, 200, seed=2) > 0.9 > with_budget


def test_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """The numbers docs/design.md quotes (printed with -s)."""
    rows: list[tuple[str, Callable[[], float]]] = [
        ("bound e^ε/(1+e^ε), ε=0.5", lambda: BOUND),
        ("best guess, counts 10 vs 9", lambda: _best_accuracy(9)),
        ("best guess, counts 5 vs 4 (threshold)", lambda: _best_accuracy(K - 1)),
        ("best guess, counts 1 vs 0", lambda: _best_accuracy(0)),
        ("difference attacker, 10 vs 9", lambda: _attacker_accuracy(9)),
    ]
    with capsys.disabled():
        for label, f in rows:
            print(f"  {label:<40} {f():.3f}")
    assert all(0.5 < f() <= BOUND + 1e-12 for _, f in rows)
