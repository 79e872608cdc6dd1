"""Disclosure control of one count: small-cell suppression and differential-privacy noise.

How a count leaves the site (``release_count``), in this order:

1. **Noise first.** With DP on (the default for researchers' booleans and counts), the
   discrete Laplace mechanism (OpenDP ``make_laplace`` on an integer domain, scale ``1/ε``)
   draws ``noisy = count + Z``. Everything below reads ``noisy`` only, so the whole answer is
   a post-processing of an ε-DP value and is itself ε-DP (Dwork & Roth 2014, Prop. 2.1).
   Suppressing on the *true* count instead would not be: cohorts of k and k-1 patients (a
   differencing pair at the threshold) would be told apart with certainty.
2. **Bands, never a small number.** ``noisy >= k`` (k = ``min_cell_count``): the number is
   released. ``1 <= noisy < k``: "exists, fewer than k" (Beacon-style: ``exists`` true, count
   omitted, ``suppressed`` true). ``noisy <= 0``: "none" (``exists`` false, count 0). A
   released number is therefore never in 1..k-1, and it is never the true count.
3. **Zero is not special.** OHDSI releases zeros because a zero alone discloses nothing; but
   an exact zero beside noised non-zeros would be a side channel (the cohorts {x} and {} would
   be told apart by whether the answer is exactly 0), so a true zero goes through the noise
   like any count and is mostly, not always, reported as "none".
4. **Booleans** of researchers are the same bands without the number (and cost the same ε).
   **Anonymous booleans** (no identity, so no budget and no noise) say "exists" only from
   ``anonymous_min_count`` patients (default k): a single carrier of a rare allele is not
   announced to the world, the defence Raisaro et al. (JAMIA 2017) propose against Beacon
   re-identification (Shringarpure & Bustamante 2015). They are deterministic, so repeating a
   question teaches nothing new.
5. **Records** (exact, for the ``record`` action where the site allows it) are released only
   for k patients or more; fewer are reported as "fewer than k" with no records.
6. With DP off (a site's choice), counts are exact with the same bands on the true count.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from cardiofabric.errors import InputError, MissingDependencyError
from cardiofabric.governance.policy import GRANULARITIES, Granularity, SitePolicy

__all__ = [
    "NoiseSampler",
    "OpenDPLaplace",
    "Released",
    "SeededLaplace",
    "release_count",
]


@dataclass(frozen=True)
class Released:
    """What leaves the site for one count: ``count`` is None when not released."""

    exists: bool
    count: int | None
    granularity: Granularity
    suppressed: bool  # a "fewer than threshold" answer
    threshold: int  # k: a released count is never in 1..k-1
    noise: dict[str, Any] = field(default_factory=dict)  # mechanism, ε, scale; {} when exact
    #: ``seq`` of the audit entry that recorded this answer; the gate sets it when it appends
    #: the entry (None for a value made by :func:`release_count` alone, before auditing).
    audit_seq: int | None = None

    @property
    def noised(self) -> bool:
        return bool(self.noise)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class NoiseSampler(Protocol):
    """Adds integer noise of a discrete Laplace ``scale`` to a count; says how (for the log)."""

    def __call__(self, count: int, scale: float) -> int: ...

    def describe(self, scale: float) -> dict[str, Any]: ...


class OpenDPLaplace:
    """The discrete Laplace mechanism of OpenDP (its ``make_laplace`` on ``i64`` counts).

    OpenDP samples from the operating system's cryptographic random source and cannot be
    seeded, which is what a release needs; tests that must reproduce use :class:`SeededLaplace`.
    """

    def __init__(self) -> None:
        try:
            import opendp.prelude as dp
        except ImportError:
            raise MissingDependencyError("opendp", "node", "differential privacy") from None
        # make_laplace is in OpenDP's "contrib" set (not yet vetted by its committee).
        dp.enable_features("contrib")
        self._dp = dp
        self._measurements: dict[float, Any] = {}
        self._described: dict[float, dict[str, Any]] = {}

    def _measurement(self, scale: float) -> Any:
        m = self._measurements.get(scale)
        if m is None:
            dp = self._dp
            m = dp.m.make_laplace(dp.atom_domain(T="i64"), dp.absolute_distance(T="i64"), scale)
            self._measurements[scale] = m
        return m

    def __call__(self, count: int, scale: float) -> int:
        return int(self._measurement(scale)(int(count)))

    def describe(self, scale: float) -> dict[str, Any]:
        info = self._described.get(scale)
        if info is None:
            try:
                lib = f"opendp {version('opendp')}"
            except PackageNotFoundError:  # pragma: no cover - installed without metadata
                lib = "opendp"
            # The privacy map of the measurement itself: ε for a sensitivity-1 count.
            eps = float(self._measurement(scale).map(1))
            info = {"mechanism": "discrete-laplace", "scale": scale, "epsilon": eps, "library": lib}
            self._described[scale] = info
        return dict(info)


class SeededLaplace:
    """The same distribution from a seeded NumPy generator: for tests and simulations only.

    A discrete Laplace variable with scale s is the difference of two independent geometric
    variables with success probability 1 - exp(-1/s) (Inusah & Kozubowski 2006).
    """

    def __init__(self, seed: int) -> None:
        import numpy as np

        self._rng = np.random.default_rng(seed)

    def __call__(self, count: int, scale: float) -> int:
        p = 1.0 - math.exp(-1.0 / scale)
        return int(count) + int(self._rng.geometric(p)) - int(self._rng.geometric(p))

    def describe(self, scale: float) -> dict[str, Any]:
        return {
            "mechanism": "discrete-laplace",
            "scale": scale,
            "epsilon": 1.0 / scale,
            "library": "numpy (seeded; not for release)",
        }


def _bands(value: int, k: int, granularity: Granularity, noise: dict[str, Any]) -> Released:
    if value >= k:
        count = value if granularity != "boolean" else None
        return Released(True, count, granularity, False, k, noise)
    if value >= 1:
        return Released(True, None, granularity, True, k, noise)
    return Released(False, 0 if granularity != "boolean" else None, granularity, False, k, noise)


def release_count(
    true_count: int,
    policy: SitePolicy,
    *,
    granularity: Granularity,
    anonymous: bool = False,
    sampler: NoiseSampler | None = None,
) -> Released:
    """Disclosure control of one count (rules in the module docstring).

    Noise is drawn when ``policy.dp.enabled`` and the answer is a researcher's boolean or
    count; ``sampler`` defaults to :class:`OpenDPLaplace`. The caller charges the budget
    (see :class:`~cardiofabric.governance.gate.Gate`) before calling.
    """
    if isinstance(true_count, bool) or not isinstance(true_count, int) or true_count < 0:
        raise InputError(f"expected a count of 0 or more, found {true_count!r}")
    if granularity not in GRANULARITIES:
        raise InputError(f"expected a granularity among {GRANULARITIES}, found {granularity!r}")
    k = policy.min_cell_count
    if anonymous:
        if granularity != "boolean":
            raise InputError("anonymous answers are booleans only")
        t = policy.anonymous_threshold
        return Released(true_count >= t, None, "boolean", False, t, {})
    if granularity == "record" or not policy.dp.enabled:
        return _bands(true_count, k, granularity, {})
    sampler = sampler or _default_sampler()
    scale = policy.dp.scale
    noisy = sampler(true_count, scale)
    return _bands(noisy, k, granularity, sampler.describe(scale))


_SAMPLER: OpenDPLaplace | None = None


def _default_sampler() -> OpenDPLaplace:
    global _SAMPLER
    if _SAMPLER is None:
        _SAMPLER = OpenDPLaplace()
    return _SAMPLER
