"""A site's disclosure policy: the ``[policy]`` table of the site's TOML file.

Every number has a default taken from practice elsewhere, so that a site that states nothing
gets a defensible policy; a site states its own in the TOML it already uses for ingest::

    [policy]
    min_cell_count = 5
    max_granularity = "count"
    ds_diseases = ["ICD10:I42"]

    [policy.dp]
    epsilon_per_query = 0.5
    epsilon_budget = 5.0

Sources of the defaults (see also ``docs/design.md``, "Governance"):

- ``min_cell_count = 5``: OHDSI's tools suppress counts below 5 by default (``minCellCount``
  in CohortDiagnostics / Achilles result sharing). Stricter regimes exist (CMS: 11).
- ``nfilter_tab = 3``, ``nfilter_subset = 3``, ``nfilter_glm = 0.33``: DataSHIELD's dsBase
  defaults (minimum non-zero cell in a table, minimum subset size, maximum ratio of
  parameters to observations in a GLM); they bound the site's analytic functions.
- ``dp.epsilon_per_query = 0.5``, ``dp.epsilon_budget = 5.0``: see :class:`DifferentialPrivacy`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cardiofabric.errors import InputError

__all__ = ["GRANULARITIES", "DifferentialPrivacy", "Granularity", "SitePolicy"]

Granularity = Literal["boolean", "count", "record"]
#: Granularities from least to most disclosive (Beacon v2 ``returnedGranularity``).
GRANULARITIES: tuple[Granularity, ...] = ("boolean", "count", "record")


class DifferentialPrivacy(BaseModel):
    """Noise on released counts (the discrete Laplace mechanism of OpenDP).

    A count changes by at most 1 when one patient is added or removed (sensitivity 1), so the
    discrete Laplace mechanism with scale ``1/ε`` makes each released count ε-differentially
    private (Dwork & Roth 2014, §3.3; Canonne, Kamath & Steinke 2020 for the discrete form),
    and ``k`` released counts about the same patients at most ``kε`` (sequential composition).

    Why ε = 0.5 per query: the two queries of a differencing attack (cohorts differing by one
    patient) together cost ε = 1, which bounds the attacker's posterior odds about that
    patient at e¹ ≈ 2.7 times the prior (a 50 % guess becomes at most 73 %), while the noise
    (scale 2, standard deviation ≈ 2.8) leaves about 95 % of released counts within ±5 of the
    truth, close to the precision of i2b2/SHRINE's obfuscated feasibility counts (documented
    there as about ±3; quoted from memory, not re-checked). Why a budget of 5.0 per researcher
    per dataset: ten count queries before a steward must raise it. That total is of the order
    of deployed budgets (Apple's published per-day values are 2-8) rather than a proof of
    safety at that total; what it does guarantee is that averaging the noise away from a
    differencing pair, which needs far more queries, is refused
    (tests/governance/test_differencing.py measures both).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    mechanism: Literal["discrete-laplace"] = "discrete-laplace"
    epsilon_per_query: float = Field(default=0.5, gt=0, le=10)
    epsilon_budget: float = Field(default=5.0, gt=0)

    @property
    def scale(self) -> float:
        """The discrete Laplace scale for a sensitivity-1 count: 1/ε."""
        return 1.0 / self.epsilon_per_query


class SitePolicy(BaseModel):
    """What a site releases, to whom, and how coarsely (defaults in the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Counts 1..k-1 are never released as numbers (OHDSI default 5).
    min_cell_count: int = Field(default=5, ge=1)
    #: DataSHIELD dsBase defaults, for the site's analytic functions.
    nfilter_tab: int = Field(default=3, ge=1)
    nfilter_subset: int = Field(default=3, ge=1)
    nfilter_glm: float = Field(default=0.33, gt=0, le=1)
    #: What unauthenticated callers get: booleans (Beacon "public" tier) or nothing.
    anonymous_granularity: Literal["none", "boolean"] = "boolean"
    #: An anonymous boolean says "exists" only at this many patients; default min_cell_count.
    anonymous_min_count: int | None = Field(default=None, ge=1)
    #: The finest answer anyone gets; "record" also needs the contract's "record" action.
    max_granularity: Granularity = "count"
    #: The diseases the site's disease-specific (DS) consents name (see governance.purpose).
    ds_diseases: tuple[str, ...] = ()
    #: The site's country (ISO 3166-1 alpha-2), for the GS (geographic) modifier.
    country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    dp: DifferentialPrivacy = Field(default_factory=lambda: DifferentialPrivacy())

    @model_validator(mode="after")
    def _defaults(self) -> SitePolicy:
        if self.anonymous_min_count is None:
            object.__setattr__(self, "anonymous_min_count", self.min_cell_count)
        if self.country is not None:
            object.__setattr__(self, "country", self.country.upper())
        return self

    @property
    def anonymous_threshold(self) -> int:
        return self.anonymous_min_count or self.min_cell_count

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str | None = None) -> SitePolicy:
        """A policy from a mapping (the ``[policy]`` table), with errors naming the key."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"policy.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise InputError(
                f"the site policy is not valid ({problems})",
                path=source,
                hint="fix the [policy] table; docs/design.md (Governance) lists every key",
            ) from None

    @classmethod
    def from_toml(cls, path: Path | str) -> SitePolicy:
        """The ``[policy]`` table of a site TOML file; the defaults when it has none."""
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("site configuration file not found", path=p) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(
                f"expected a TOML file, found one that does not parse ({exc})", path=p
            ) from None
        table = data.get("policy", {})
        if not isinstance(table, dict):
            raise InputError("expected [policy] to be a table", path=p)
        return cls.from_mapping(table, source=str(p))
